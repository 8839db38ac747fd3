//! Sets: SADD SREM SMEMBERS SISMEMBER SMISMEMBER SCARD SPOP SRANDMEMBER SSCAN, and the
//! multi-key SINTER SINTERCARD SUNION SDIFF (+STORE) SMOVE, which also run across shards.

use std::collections::HashSet;

use bytes::Bytes;
use rand::rngs::SmallRng;
use rand::Rng;

use super::keyspace::{parse_cursor, parse_scan_opts, ScanOpts};
use super::multikey::{hold_here, on_key, per_key};
use super::numbers::parse_i64;
use crate::command::table::TableBuilder;
use crate::command::{ExecCtx, LocalBoxFuture};
use crate::error::{CmdError, CmdResult};
use crate::protocol::Reply;
use crate::pubsub::notify::class as nc;
use crate::pubsub::notify::Held;
use crate::shard::db::Entry;
use crate::shard::value::Value;
use crate::types::set::{self, Limits, Set};
use crate::util::glob_match;

pub fn register(t: &mut TableBuilder) {
    t.keyed("sadd", sadd);
    t.keyed("srem", srem);
    t.keyed("smembers", smembers);
    t.keyed("sismember", sismember);
    t.keyed("smismember", smismember);
    t.keyed("scard", scard);
    t.keyed("spop", spop);
    t.keyed("srandmember", srandmember);
    t.keyed("sscan", sscan);
    t.multi("sinter", sinter, sinter_cross);
    t.multi("sunion", sunion, sunion_cross);
    t.multi("sdiff", sdiff, sdiff_cross);
    t.multi("sinterstore", sinterstore, sinterstore_cross);
    t.multi("sunionstore", sunionstore, sunionstore_cross);
    t.multi("sdiffstore", sdiffstore, sdiffstore_cross);
    t.multi("sintercard", sintercard, sintercard_cross);
    t.multi("smove", smove, smove_cross);
}

fn limits(ctx: &ExecCtx) -> Limits {
    ctx.shard.tun.set_limits
}

/// The set at `key` for reading (stats, LRU): None if missing, WRONGTYPE if another type.
fn read_set<'c>(ctx: &'c mut ExecCtx, key: &[u8]) -> CmdResult<Option<&'c mut Set>> {
    match ctx.lookup_read(key) {
        None => Ok(None),
        Some(e) => match &mut e.value {
            Value::Set(s) => Ok(Some(&mut **s)),
            _ => Err(CmdError::WrongType),
        },
    }
}

/// The set at `key` for writing.
fn write_set<'c>(ctx: &'c mut ExecCtx, key: &[u8]) -> CmdResult<Option<&'c mut Set>> {
    match ctx.lookup_write(key) {
        None => Ok(None),
        Some(e) => match &mut e.value {
            Value::Set(s) => Ok(Some(&mut **s)),
            _ => Err(CmdError::WrongType),
        },
    }
}

/// After removals: delete the key if its set became empty (Redis keeps no empty
/// collections), and mark it changed.
fn after_remove(ctx: &mut ExecCtx, key: &[u8], event: &'static str) {
    ctx.notify(nc::SET, event, key);
    let empty =
        matches!(ctx.peek(key), Some(e) if matches!(&e.value, Value::Set(s) if s.is_empty()));
    if empty {
        ctx.delete(key);
        ctx.notify(nc::GENERIC, "del", key);
    } else {
        ctx.modified(key);
    }
}

/// The set at `key` (type already checked) and the shard's rng, borrowed side by side.
fn set_and_rng<'c>(ctx: &'c mut ExecCtx, key: &[u8]) -> Option<(&'c mut Set, &'c mut SmallRng)> {
    let db = ctx.db as usize;
    let sh = &mut *ctx.shard;
    match sh.dbs[db].get_raw_mut(key) {
        Some(Entry {
            value: Value::Set(s),
            ..
        }) => Some((&mut **s, &mut sh.rng)),
        _ => None,
    }
}

fn bulks(v: Vec<Bytes>) -> Vec<Reply> {
    v.into_iter().map(Reply::Bulk).collect()
}

fn set_reply(s: &Set) -> Reply {
    Reply::Set(bulks(s.members()))
}

fn sadd(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let lim = limits(ctx);
    let key = &a[1];
    let added = match write_set(ctx, key)? {
        Some(s) => {
            let n = a[2..].iter().filter(|m| s.add(m, &lim)).count();
            if n > 0 {
                ctx.modified(key);
            }
            n
        }
        None => {
            let mut s = Set::new_for(&a[2]);
            let n = a[2..].iter().filter(|m| s.add(m, &lim)).count();
            ctx.set_value(key, Value::Set(Box::new(s)), 0, false);
            n
        }
    };
    if added > 0 {
        ctx.notify(nc::SET, "sadd", key);
    }
    Ok(Reply::Int(added as i64))
}

fn srem(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let key = &a[1];
    let Some(s) = write_set(ctx, key)? else {
        return Ok(Reply::Int(0));
    };
    let mut removed = 0;
    for m in &a[2..] {
        if s.remove(m) {
            removed += 1;
            if s.is_empty() {
                break;
            }
        }
    }
    if removed > 0 {
        after_remove(ctx, key, "srem");
    }
    Ok(Reply::Int(removed))
}

fn smembers(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    Ok(read_set(ctx, &a[1])?.map_or(Reply::Set(Vec::new()), |s| set_reply(s)))
}

fn sismember(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let hit = read_set(ctx, &a[1])?.is_some_and(|s| s.contains(&a[2]));
    Ok(Reply::Int(hit as i64))
}

fn smismember(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let s = read_set(ctx, &a[1])?;
    let out = a[2..]
        .iter()
        .map(|m| Reply::Int(s.as_ref().is_some_and(|s| s.contains(m)) as i64))
        .collect();
    Ok(Reply::Array(out))
}

fn scard(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Int(
        read_set(ctx, &a[1])?.map_or(0, |s| s.len() as i64),
    ))
}

/// SPOP/SRANDMEMBER take at most one extra argument.
fn check_count_arity(a: &[Bytes]) -> CmdResult<()> {
    if a.len() > 3 {
        return Err(CmdError::Syntax);
    }
    Ok(())
}

fn spop(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    check_count_arity(a)?;
    let key = &a[1];
    if a.len() == 2 {
        write_set(ctx, key)?;
        let Some((s, rng)) = set_and_rng(ctx, key) else {
            return Ok(Reply::Nil);
        };
        let Some(m) = s.pop_random(rng) else {
            return Ok(Reply::Nil);
        };
        after_remove(ctx, key, "spop");
        ctx.propagate_as(vec![Bytes::from_static(b"SREM"), key.clone(), m.clone()]);
        return Ok(Reply::Bulk(m));
    }
    let count = positive_count(&a[2])?;
    write_set(ctx, key)?;
    let Some((s, rng)) = set_and_rng(ctx, key) else {
        return Ok(Reply::Set(Vec::new()));
    };
    if count == 0 {
        return Ok(Reply::Set(Vec::new()));
    }
    let popped = if count >= s.len() {
        let all = s.members();
        *s = Set::new_intset();
        all
    } else {
        (0..count).filter_map(|_| s.pop_random(rng)).collect()
    };
    after_remove(ctx, key, "spop");
    let mut effect = vec![Bytes::from_static(b"SREM"), key.clone()];
    effect.extend(popped.iter().cloned());
    ctx.propagate_as(effect);
    Ok(Reply::Set(bulks(popped)))
}

/// SPOP's count: Redis's `getPositiveLongFromObjectOrReply`.
fn positive_count(arg: &[u8]) -> CmdResult<usize> {
    match parse_i64(arg) {
        Ok(n) if n >= 0 => Ok(n as usize),
        _ => Err(CmdError::err("value is out of range, must be positive")),
    }
}

fn srandmember(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    check_count_arity(a)?;
    if a.len() == 2 {
        read_set(ctx, &a[1])?;
        let m = set_and_rng(ctx, &a[1]).and_then(|(s, rng)| s.random(rng));
        return Ok(m.map_or(Reply::Nil, Reply::Bulk));
    }
    let count = parse_i64(&a[2])?;
    if count == i64::MIN {
        return Err(CmdError::err(
            "value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    read_set(ctx, &a[1])?;
    let Some((s, rng)) = set_and_rng(ctx, &a[1]) else {
        return Ok(Reply::Array(Vec::new()));
    };
    Ok(Reply::Array(bulks(sample(s, count, rng))))
}

/// SRANDMEMBER's members: `count` distinct ones (all when count >= size), or with
/// repetitions when `count` is negative.
fn sample<R: Rng>(s: &Set, count: i64, rng: &mut R) -> Vec<Bytes> {
    let size = s.len();
    if count < 0 {
        let n = count.unsigned_abs() as usize;
        let mut out = Vec::with_capacity(n.min(1 << 16));
        if let Set::Big(_) = s {
            out.extend((0..n).filter_map(|_| s.random(rng)));
        } else {
            let all = s.members();
            out.extend((0..n).map(|_| all[rng.gen_range(0..all.len())].clone()));
        }
        return out;
    }
    let n = count as usize;
    if n >= size {
        return s.members();
    }
    if matches!(s, Set::Big(_)) && n * 3 < size {
        let mut seen = HashSet::with_capacity(n);
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            if let Some(m) = s.random(rng) {
                if seen.insert(m.clone()) {
                    out.push(m);
                }
            }
        }
        return out;
    }
    let mut all = s.members();
    for i in 0..n {
        let j = rng.gen_range(i..all.len());
        all.swap(i, j);
    }
    all.truncate(n);
    all
}

fn sscan(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let cursor = parse_cursor(&a[2]).ok_or_else(|| CmdError::err("invalid cursor"))?;
    let empty = || {
        Reply::Array(vec![
            Reply::Bulk(Bytes::from_static(b"0")),
            Reply::Array(Vec::new()),
        ])
    };
    let Some(s) = read_set(ctx, &a[1])? else {
        return Ok(empty());
    };
    let ScanOpts { count, pattern, .. } = parse_scan_opts(&a[3..], false)?;
    let mut out = Vec::new();
    let next = s.scan(cursor, count, |m| {
        if pattern.is_none_or(|p| glob_match(p, m, false)) {
            out.push(Reply::Bulk(Bytes::copy_from_slice(m)));
        }
    });
    Ok(Reply::Array(vec![
        Reply::Bulk(Bytes::from(next.to_string())),
        Reply::Array(out),
    ]))
}

// ---- multi-key commands ------------------------------------------------------------

#[derive(Clone, Copy, PartialEq)]
enum Op {
    Inter,
    Union,
    Diff,
}

fn compute(op: Op, sets: &[Option<&Set>], lim: &Limits) -> Set {
    match op {
        Op::Inter => set::inter(sets, lim),
        Op::Union => set::union(sets, lim),
        Op::Diff => set::diff(sets, lim),
    }
}

/// Run `f` over the sets at `keys` on this shard (None: missing), after checking every
/// key's type as Redis 7.0 does (WRONGTYPE wins over a missing key). Inputs are read
/// lookups also for the *STORE forms, as in Redis: a missing one counts as a keyspace
/// miss and fires `keymiss`.
fn with_sets<R>(
    ctx: &mut ExecCtx,
    keys: &[Bytes],
    f: impl FnOnce(&[Option<&Set>]) -> R,
) -> CmdResult<R> {
    for k in keys {
        read_set(ctx, k)?;
    }
    let db = &ctx.shard.dbs[ctx.db as usize];
    let sets: Vec<Option<&Set>> = keys
        .iter()
        .map(|k| {
            db.get_raw(k).and_then(|e| match &e.value {
                Value::Set(s) => Some(&**s),
                _ => None,
            })
        })
        .collect();
    Ok(f(&sets))
}

/// Copies of the sets at `keys`, wherever they live.
async fn fetch_sets(db: u16, keys: Vec<Bytes>) -> CmdResult<Vec<Option<Set>>> {
    per_key(db, keys, move |ctx, k| read_set(ctx, k).map(|s| s.cloned()))
        .await
        .into_iter()
        .collect()
}

/// SINTER's reply lists the members in the order the smallest set holds them.
fn inter_reply(sets: &[Option<&Set>]) -> Reply {
    let mut out = Vec::new();
    set::inter_each(sets, 0, |m| {
        out.push(Reply::Bulk(Bytes::copy_from_slice(m)))
    });
    Reply::Set(out)
}

fn op_reply(op: Op, sets: &[Option<&Set>], lim: &Limits) -> Reply {
    match op {
        Op::Inter => inter_reply(sets),
        _ => set_reply(&compute(op, sets, lim)),
    }
}

fn read_op(ctx: &mut ExecCtx, a: &[Bytes], op: Op) -> CmdResult<Reply> {
    let lim = limits(ctx);
    with_sets(ctx, &a[1..], |sets| op_reply(op, sets, &lim))
}

fn sinter(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    read_op(ctx, a, Op::Inter)
}

fn sunion(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    read_op(ctx, a, Op::Union)
}

fn sdiff(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    read_op(ctx, a, Op::Diff)
}

/// The thresholds, read on whichever shard runs the hop (configuration is global).
async fn cross_limits(db: u16, key: Bytes) -> Limits {
    on_key(db, key, |ctx, _| limits(ctx)).await
}

fn read_op_cross(db: u16, a: Vec<Bytes>, op: Op) -> LocalBoxFuture<'static, Reply> {
    Box::pin(async move {
        let lim = cross_limits(db, a[1].clone()).await;
        match fetch_sets(db, a[1..].to_vec()).await {
            Ok(sets) => {
                let refs: Vec<Option<&Set>> = sets.iter().map(|s| s.as_ref()).collect();
                op_reply(op, &refs, &lim)
            }
            Err(e) => Reply::error(&e),
        }
    })
}

fn sinter_cross(db: u16, a: Vec<Bytes>) -> LocalBoxFuture<'static, Reply> {
    read_op_cross(db, a, Op::Inter)
}

fn sunion_cross(db: u16, a: Vec<Bytes>) -> LocalBoxFuture<'static, Reply> {
    read_op_cross(db, a, Op::Union)
}

fn sdiff_cross(db: u16, a: Vec<Bytes>) -> LocalBoxFuture<'static, Reply> {
    read_op_cross(db, a, Op::Diff)
}

/// Store a *STORE result: an empty one deletes the destination. Returns the size.
fn store_result(ctx: &mut ExecCtx, dst: &Bytes, s: Set, op: Op) -> i64 {
    let n = s.len() as i64;
    if n == 0 {
        ctx.delete_store_target(dst);
    } else {
        ctx.set_value(dst, Value::Set(Box::new(s)), 0, false);
        let event = match op {
            Op::Inter => "sinterstore",
            Op::Union => "sunionstore",
            Op::Diff => "sdiffstore",
        };
        ctx.notify(nc::SET, event, dst);
    }
    n
}

fn store_op(ctx: &mut ExecCtx, a: &[Bytes], op: Op) -> CmdResult<Reply> {
    let lim = limits(ctx);
    let out = with_sets(ctx, &a[2..], |sets| compute(op, sets, &lim))?;
    Ok(Reply::Int(store_result(ctx, &a[1], out, op)))
}

fn sinterstore(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    store_op(ctx, a, Op::Inter)
}

fn sunionstore(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    store_op(ctx, a, Op::Union)
}

fn sdiffstore(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    store_op(ctx, a, Op::Diff)
}

fn store_op_cross(db: u16, a: Vec<Bytes>, op: Op) -> LocalBoxFuture<'static, Reply> {
    Box::pin(async move {
        let lim = cross_limits(db, a[1].clone()).await;
        let sets = match fetch_sets(db, a[2..].to_vec()).await {
            Ok(s) => s,
            Err(e) => return Reply::error(&e),
        };
        let refs: Vec<Option<&Set>> = sets.iter().map(|s| s.as_ref()).collect();
        let out = compute(op, &refs, &lim);
        drop(refs);
        drop(sets);
        Reply::Int(
            on_key(db, a[1].clone(), move |ctx, k| {
                store_result(ctx, k, out, op)
            })
            .await,
        )
    })
}

fn sinterstore_cross(db: u16, a: Vec<Bytes>) -> LocalBoxFuture<'static, Reply> {
    store_op_cross(db, a, Op::Inter)
}

fn sunionstore_cross(db: u16, a: Vec<Bytes>) -> LocalBoxFuture<'static, Reply> {
    store_op_cross(db, a, Op::Union)
}

fn sdiffstore_cross(db: u16, a: Vec<Bytes>) -> LocalBoxFuture<'static, Reply> {
    store_op_cross(db, a, Op::Diff)
}

/// SINTERCARD's numkeys and LIMIT (0: none), with Redis's error texts.
fn parse_sintercard(a: &[Bytes]) -> CmdResult<(usize, usize)> {
    let numkeys = match parse_i64(&a[1]) {
        Ok(n) if n >= 1 => n as usize,
        _ => return Err(CmdError::err("numkeys should be greater than 0")),
    };
    if numkeys > a.len() - 2 {
        return Err(CmdError::err(
            "Number of keys can't be greater than number of args",
        ));
    }
    let mut limit = 0usize;
    let mut i = 2 + numkeys;
    while i < a.len() {
        if a[i].eq_ignore_ascii_case(b"limit") && i + 1 < a.len() {
            limit = match parse_i64(&a[i + 1]) {
                Ok(n) if n >= 0 => n as usize,
                _ => return Err(CmdError::err("LIMIT can't be negative")),
            };
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok((numkeys, limit))
}

fn count_inter(sets: &[Option<&Set>], limit: usize) -> Reply {
    let mut n = 0i64;
    set::inter_each(sets, limit, |_| n += 1);
    Reply::Int(n)
}

fn sintercard(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let (numkeys, limit) = parse_sintercard(a)?;
    with_sets(ctx, &a[2..2 + numkeys], |sets| count_inter(sets, limit))
}

fn sintercard_cross(db: u16, a: Vec<Bytes>) -> LocalBoxFuture<'static, Reply> {
    Box::pin(async move {
        let (numkeys, limit) = match parse_sintercard(&a) {
            Ok(p) => p,
            Err(e) => return Reply::error(&e),
        };
        match fetch_sets(db, a[2..2 + numkeys].to_vec()).await {
            Ok(sets) => {
                let refs: Vec<Option<&Set>> = sets.iter().map(|s| s.as_ref()).collect();
                count_inter(&refs, limit)
            }
            Err(e) => Reply::error(&e),
        }
    })
}

fn smove(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let (src, dst, m) = (&a[1], &a[2], &a[3]);
    let lim = limits(ctx);
    // Redis looks both keys up before anything else (either may expire lazily here); a
    // missing source is then 0 whatever the destination holds.
    let src_found = ctx.lookup_write(src).is_some();
    ctx.lookup_write(dst);
    if !src_found {
        return Ok(Reply::Int(0));
    }
    write_set(ctx, src)?;
    write_set(ctx, dst)?;
    if src == dst {
        let hit = write_set(ctx, src)?.is_some_and(|s| s.contains(m));
        return Ok(Reply::Int(hit as i64));
    }
    if !write_set(ctx, src)?.is_some_and(|s| s.remove(m)) {
        return Ok(Reply::Int(0));
    }
    after_remove(ctx, src, "srem");
    add_member(ctx, dst, m, &lim)?;
    Ok(Reply::Int(1))
}

/// SMOVE's arrival: create the destination as SADD would, then add.
fn add_member(ctx: &mut ExecCtx, dst: &Bytes, m: &Bytes, lim: &Limits) -> CmdResult<()> {
    match write_set(ctx, dst)? {
        Some(s) => {
            if s.add(m, lim) {
                ctx.modified(dst);
                ctx.notify(nc::SET, "sadd", dst);
            }
        }
        None => {
            let mut s = Set::new_for(m);
            s.add(m, lim);
            ctx.set_value(dst, Value::Set(Box::new(s)), 0, false);
            ctx.notify(nc::SET, "sadd", dst);
        }
    }
    Ok(())
}

/// SMOVE across shards: check both types before changing anything (as Redis does),
/// then add on the destination's shard and remove on the source's. The dispatcher's
/// locks make the three hops one atomic step.
fn smove_cross(db: u16, a: Vec<Bytes>) -> LocalBoxFuture<'static, Reply> {
    Box::pin(async move {
        let (src, dst, m) = (a[1].clone(), a[2].clone(), a[3].clone());
        let m2 = m.clone();
        let present = on_key(db, src.clone(), move |ctx, k| {
            write_set(ctx, k).map(|s| s.map(|s| s.contains(&m2)))
        })
        .await;
        let present = match present {
            Ok(Some(p)) => p,
            stop => {
                // Redis looks the destination up too before answering 0 or WRONGTYPE.
                on_key(db, dst, |ctx, k| {
                    ctx.lookup_write(k);
                })
                .await;
                return match stop {
                    Err(e) => Reply::error(&e),
                    _ => Reply::Int(0),
                };
            }
        };
        let m2 = m.clone();
        // Redis looks the destination up now (an expired one sends `expired` here), and
        // sends `srem` (and `del` of an emptied source) before `sadd`: the add's
        // notifications wait for the removal.
        let (added, add_events) = on_key(db, dst, move |ctx, k| {
            if let Err(e) = write_set(ctx, k) {
                return (Err(e), Held::default());
            }
            if !present {
                return (Ok(false), Held::default());
            }
            hold_here(ctx, |ctx| {
                let lim = limits(ctx);
                add_member(ctx, k, &m2, &lim).map(|()| true)
            })
        })
        .await;
        match added {
            Ok(true) => {}
            Ok(false) => return Reply::Int(0),
            Err(e) => return Reply::error(&e),
        }
        on_key(db, src, move |ctx, k| {
            if let Ok(Some(s)) = write_set(ctx, k) {
                if s.remove(&m) {
                    after_remove(ctx, k, "srem");
                }
            }
        })
        .await;
        add_events.publish();
        Reply::Int(1)
    })
}

#[cfg(test)]
#[path = "sets_tests.rs"]
mod tests;
