//! Sorted sets: ZADD ZINCRBY ZREM ZSCORE ZMSCORE ZCARD ZCOUNT ZLEXCOUNT ZRANK ZREVRANK
//! ZPOPMIN ZPOPMAX ZRANDMEMBER ZSCAN and the ZREMRANGEBY* commands. Ranges (ZRANGE and
//! its older forms, ZRANGESTORE) are in `zsets_range.rs`; the multi-key algebra (ZUNION
//! ZINTER ZDIFF, their STORE forms, ZINTERCARD) and ZMPOP in `zsets_store.rs`.

use bytes::Bytes;
use rand::rngs::SmallRng;
use rand::Rng;

use super::keyspace::{parse_cursor, parse_scan_opts, ScanOpts};
use super::numbers::{parse_i64, string2d};
use crate::command::table::TableBuilder;
use crate::command::ExecCtx;
use crate::error::{CmdError, CmdResult};
use crate::protocol::encode::format_double;
use crate::protocol::Reply;
use crate::pubsub::notify::class as nc;
use crate::shard::db::Entry;
use crate::shard::value::Value;
use crate::types::zset::{LexBound, LexRange, Limits, ScoreRange, ZSet};
use crate::util::glob_match;

pub use super::zsets_store::{zmpop_core, ZmpopArgs};

pub fn register(t: &mut TableBuilder) {
    t.keyed("zadd", zadd);
    t.keyed("zincrby", zincrby);
    t.keyed("zrem", zrem);
    t.keyed("zscore", zscore);
    t.keyed("zmscore", zmscore);
    t.keyed("zcard", zcard);
    t.keyed("zcount", zcount);
    t.keyed("zlexcount", zlexcount);
    t.keyed("zrank", zrank);
    t.keyed("zrevrank", zrevrank);
    t.keyed("zremrangebyrank", zremrangebyrank);
    t.keyed("zremrangebyscore", zremrangebyscore);
    t.keyed("zremrangebylex", zremrangebylex);
    t.keyed("zpopmin", zpopmin);
    t.keyed("zpopmax", zpopmax);
    t.keyed("zrandmember", zrandmember);
    t.keyed("zscan", zscan);
    super::zsets_range::register(t);
    super::zsets_store::register(t);
}

/// The thresholds from the configuration (`zset-max-listpack-*`).
pub fn limits(ctx: &ExecCtx) -> Limits {
    ctx.shard.tun.zset_limits
}

/// The sorted set at `key` for reading: None if missing, WRONGTYPE if another type.
pub fn read_zset<'c>(ctx: &'c mut ExecCtx, key: &[u8]) -> CmdResult<Option<&'c mut ZSet>> {
    match ctx.lookup_read(key) {
        None => Ok(None),
        Some(e) => match &mut e.value {
            Value::ZSet(z) => Ok(Some(&mut **z)),
            _ => Err(CmdError::WrongType),
        },
    }
}

/// The sorted set at `key` for writing.
pub fn write_zset<'c>(ctx: &'c mut ExecCtx, key: &[u8]) -> CmdResult<Option<&'c mut ZSet>> {
    match ctx.lookup_write(key) {
        None => Ok(None),
        Some(e) => match &mut e.value {
            Value::ZSet(z) => Ok(Some(&mut **z)),
            _ => Err(CmdError::WrongType),
        },
    }
}

/// After removals: announce `event`, delete the key if its set became empty (Redis
/// keeps no empty sorted sets), and mark it changed.
pub fn after_remove(ctx: &mut ExecCtx, key: &[u8], event: &'static str) {
    ctx.notify(nc::ZSET, event, key);
    let empty =
        matches!(ctx.peek(key), Some(e) if matches!(&e.value, Value::ZSet(z) if z.is_empty()));
    if empty {
        ctx.delete(key);
        ctx.notify(nc::GENERIC, "del", key);
    } else {
        ctx.modified(key);
    }
}

/// A score as text, as Redis writes it in ZSCAN and RESP2 replies.
pub fn score_text(s: f64) -> Bytes {
    let mut v = Vec::with_capacity(24);
    format_double(s, &mut v);
    Bytes::from(v)
}

/// Members with scores: pairs in RESP3, a flat list in RESP2.
pub fn pairs_reply(v: Vec<(Bytes, f64)>) -> Reply {
    Reply::Pairs(
        v.into_iter()
            .map(|(m, s)| (Reply::Bulk(m), Reply::Double(s)))
            .collect(),
    )
}

/// Members only.
pub fn members_reply(v: Vec<(Bytes, f64)>) -> Reply {
    Reply::Array(v.into_iter().map(|(m, _)| Reply::Bulk(m)).collect())
}

// ---- argument parsing ----------------------------------------------------------------

/// C `isspace`.
fn is_c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// A range bound's number as Redis reads it (`strtod` then "all consumed, not NaN"):
/// the empty string is 0, leading spaces are allowed, overflow gives +-inf.
fn strtod_full(s: &[u8]) -> Option<f64> {
    if s.is_empty() {
        return Some(0.0);
    }
    let start = s.iter().position(|&c| !is_c_space(c))?;
    let t = &s[start..];
    if let Some(v) = string2d(t) {
        return Some(v);
    }
    // Out-of-range decimals (1e400) or spellings string2d refuses but strtod accepts.
    let text = std::str::from_utf8(t).ok()?;
    if text.starts_with(['+', '-']) && text[1..].starts_with(['+', '-']) {
        return None;
    }
    match text.parse::<f64>() {
        Ok(v) if !v.is_nan() => Some(v),
        _ => None,
    }
}

/// One end of a score range: `1.5`, `(1.5`, `-inf`, `+inf`.
fn parse_score_bound(s: &[u8]) -> Option<(f64, bool)> {
    match s.first() {
        Some(b'(') => strtod_full(&s[1..]).map(|v| (v, true)),
        _ => strtod_full(s).map(|v| (v, false)),
    }
}

/// ZCOUNT / ZRANGEBYSCORE's min and max, with Redis's error.
pub fn parse_score_range(min: &[u8], max: &[u8]) -> CmdResult<ScoreRange> {
    let err = || CmdError::err("min or max is not a float");
    let (min, min_excl) = parse_score_bound(min).ok_or_else(err)?;
    let (max, max_excl) = parse_score_bound(max).ok_or_else(err)?;
    Ok(ScoreRange {
        min,
        max,
        min_excl,
        max_excl,
    })
}

fn parse_lex_bound(s: &Bytes) -> Option<LexBound> {
    match s.first() {
        Some(b'+') if s.len() == 1 => Some(LexBound::PosInf),
        Some(b'-') if s.len() == 1 => Some(LexBound::NegInf),
        Some(b'[') => Some(LexBound::Incl(s.slice(1..))),
        Some(b'(') => Some(LexBound::Excl(s.slice(1..))),
        _ => None,
    }
}

/// ZLEXCOUNT / ZRANGEBYLEX's min and max, with Redis's error.
pub fn parse_lex_range(min: &Bytes, max: &Bytes) -> CmdResult<LexRange> {
    let err = || CmdError::err("min or max not valid string range item");
    Ok(LexRange {
        min: parse_lex_bound(min).ok_or_else(err)?,
        max: parse_lex_bound(max).ok_or_else(err)?,
    })
}

/// Redis's rank arithmetic: negative indexes count from the end; the clamped
/// `start..end` (exclusive) ranks, empty when out of range.
pub fn rank_span(start: i64, stop: i64, len: usize) -> (usize, usize) {
    let len = len as i64;
    let mut start = if start < 0 { start + len } else { start };
    let mut stop = if stop < 0 { stop + len } else { stop };
    if start < 0 {
        start = 0;
    }
    if start > stop || start >= len {
        return (0, 0);
    }
    if stop >= len {
        stop = len - 1;
    }
    (start as usize, stop as usize + 1)
}

// ---- ZADD ----------------------------------------------------------------------------

/// ZADD's options.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ZaddFlags {
    pub nx: bool,
    pub xx: bool,
    pub gt: bool,
    pub lt: bool,
    pub ch: bool,
    pub incr: bool,
}

impl ZaddFlags {
    /// Redis's checks, in its order.
    pub fn check(&self, pairs: usize) -> CmdResult<()> {
        if self.nx && self.xx {
            return Err(CmdError::err(
                "XX and NX options at the same time are not compatible",
            ));
        }
        if (self.gt && self.nx) || (self.lt && self.nx) || (self.gt && self.lt) {
            return Err(CmdError::err(
                "GT, LT, and/or NX options at the same time are not compatible",
            ));
        }
        if self.incr && pairs > 1 {
            return Err(CmdError::err(
                "INCR option supports a single increment-element pair",
            ));
        }
        Ok(())
    }
}

/// The ZADD core (GEOADD reuses it): apply `pairs` (score, member) to the sorted set at
/// `key` under `flags` (already checked with [`ZaddFlags::check`]). Replies as ZADD:
/// the number added (or changed, with CH), or with INCR the new score / nil.
pub fn zadd_generic(
    ctx: &mut ExecCtx,
    key: &Bytes,
    flags: ZaddFlags,
    pairs: &[(f64, Bytes)],
) -> CmdResult<Reply> {
    let lim = limits(ctx);
    let created = match write_zset(ctx, key)? {
        Some(_) => false,
        None => {
            if flags.xx || pairs.is_empty() {
                return Ok(if flags.incr {
                    Reply::Nil
                } else {
                    Reply::Int(0)
                });
            }
            let z = ZSet::new_for(pairs[0].1.len(), &lim);
            ctx.set_value(key, Value::ZSet(Box::new(z)), 0, false);
            true
        }
    };
    let Some(z) = write_zset(ctx, key)? else {
        return Ok(Reply::Int(0));
    };
    let (mut added, mut updated) = (0i64, 0i64);
    let mut last: Option<f64> = None;
    let mut failure = None;
    for (score, m) in pairs {
        match z.score(m) {
            Some(cur) => {
                if flags.nx {
                    continue;
                }
                let new = if flags.incr {
                    let v = cur + score;
                    if v.is_nan() {
                        failure = Some(CmdError::err("resulting score is not a number (NaN)"));
                        break;
                    }
                    v
                } else {
                    *score
                };
                if (flags.lt && new >= cur) || (flags.gt && new <= cur) {
                    continue;
                }
                last = Some(new);
                if new != cur {
                    z.insert(m, new, &lim);
                    updated += 1;
                }
            }
            None => {
                if flags.xx {
                    continue;
                }
                z.insert(m, *score, &lim);
                last = Some(*score);
                added += 1;
            }
        }
    }
    let empty = z.is_empty();
    if added + updated > 0 {
        ctx.notify(nc::ZSET, if flags.incr { "zincr" } else { "zadd" }, key);
    }
    if empty {
        ctx.delete(key);
    } else if (added + updated > 0) && !created {
        ctx.modified(key);
    }
    if let Some(e) = failure {
        return Err(e);
    }
    Ok(if flags.incr {
        last.map_or(Reply::Nil, Reply::Double)
    } else if flags.ch {
        Reply::Int(added + updated)
    } else {
        Reply::Int(added)
    })
}

/// Scores of `score member` pairs starting at `a[from]`.
fn parse_pairs(a: &[Bytes], from: usize) -> CmdResult<Vec<(f64, Bytes)>> {
    a[from..]
        .chunks(2)
        .map(|p| {
            let s = string2d(&p[0]).ok_or(CmdError::NotFloat)?;
            Ok((s, p[1].clone()))
        })
        .collect()
}

fn zadd(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let mut f = ZaddFlags::default();
    let mut i = 2;
    while i < a.len() {
        let o = &a[i];
        if o.eq_ignore_ascii_case(b"nx") {
            f.nx = true;
        } else if o.eq_ignore_ascii_case(b"xx") {
            f.xx = true;
        } else if o.eq_ignore_ascii_case(b"gt") {
            f.gt = true;
        } else if o.eq_ignore_ascii_case(b"lt") {
            f.lt = true;
        } else if o.eq_ignore_ascii_case(b"ch") {
            f.ch = true;
        } else if o.eq_ignore_ascii_case(b"incr") {
            f.incr = true;
        } else {
            break;
        }
        i += 1;
    }
    let rest = a.len() - i;
    if rest == 0 || rest % 2 != 0 {
        return Err(CmdError::Syntax);
    }
    f.check(rest / 2)?;
    let pairs = parse_pairs(a, i)?;
    zadd_generic(ctx, &a[1], f, &pairs)
}

fn zincrby(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let pairs = parse_pairs(a, 2)?;
    let f = ZaddFlags {
        incr: true,
        ..ZaddFlags::default()
    };
    zadd_generic(ctx, &a[1], f, &pairs)
}

// ---- simple reads and removals -------------------------------------------------------

fn zrem(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let key = &a[1];
    let Some(z) = write_zset(ctx, key)? else {
        return Ok(Reply::Int(0));
    };
    let mut removed = 0;
    for m in &a[2..] {
        if z.remove(m) {
            removed += 1;
            if z.is_empty() {
                break;
            }
        }
    }
    if removed > 0 {
        after_remove(ctx, key, "zrem");
    }
    Ok(Reply::Int(removed))
}

fn zscore(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let s = read_zset(ctx, &a[1])?.and_then(|z| z.score(&a[2]));
    Ok(s.map_or(Reply::Nil, Reply::Double))
}

fn zmscore(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let z = read_zset(ctx, &a[1])?;
    let out = a[2..]
        .iter()
        .map(|m| {
            z.as_ref()
                .and_then(|z| z.score(m))
                .map_or(Reply::Nil, Reply::Double)
        })
        .collect();
    Ok(Reply::Array(out))
}

fn zcard(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Int(
        read_zset(ctx, &a[1])?.map_or(0, |z| z.len() as i64),
    ))
}

fn zcount(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let r = parse_score_range(&a[2], &a[3])?;
    let n = read_zset(ctx, &a[1])?.map_or(0, |z| {
        let (lo, hi) = z.score_ranks(&r);
        hi - lo
    });
    Ok(Reply::Int(n as i64))
}

fn zlexcount(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let r = parse_lex_range(&a[2], &a[3])?;
    let n = read_zset(ctx, &a[1])?.map_or(0, |z| {
        let (lo, hi) = z.lex_ranks(&r);
        hi - lo
    });
    Ok(Reply::Int(n as i64))
}

fn rank_of(ctx: &mut ExecCtx, a: &[Bytes], rev: bool) -> CmdResult<Reply> {
    let Some(z) = read_zset(ctx, &a[1])? else {
        return Ok(Reply::Nil);
    };
    let n = z.len();
    Ok(match z.rank(&a[2]) {
        Some(r) => Reply::Int(if rev { n - 1 - r } else { r } as i64),
        None => Reply::Nil,
    })
}

fn zrank(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    rank_of(ctx, a, false)
}

fn zrevrank(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    rank_of(ctx, a, true)
}

/// Remove the ranks `span(z)` picks; replies with how many went.
fn remove_span(
    ctx: &mut ExecCtx,
    key: &Bytes,
    event: &'static str,
    span: impl FnOnce(&ZSet) -> (usize, usize),
) -> CmdResult<Reply> {
    let Some(z) = write_zset(ctx, key)? else {
        return Ok(Reply::Int(0));
    };
    let (lo, hi) = span(z);
    let n = z.remove_ranks(lo, hi);
    if n > 0 {
        after_remove(ctx, key, event);
    }
    Ok(Reply::Int(n as i64))
}

fn zremrangebyrank(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let (start, stop) = (parse_i64(&a[2])?, parse_i64(&a[3])?);
    remove_span(ctx, &a[1], "zremrangebyrank", |z| {
        rank_span(start, stop, z.len())
    })
}

fn zremrangebyscore(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let r = parse_score_range(&a[2], &a[3])?;
    remove_span(ctx, &a[1], "zremrangebyscore", |z| z.score_ranks(&r))
}

fn zremrangebylex(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let r = parse_lex_range(&a[2], &a[3])?;
    remove_span(ctx, &a[1], "zremrangebylex", |z| z.lex_ranks(&r))
}

// ---- pops ----------------------------------------------------------------------------

/// The pop core (ZPOPMIN/ZPOPMAX, ZMPOP, the blocking forms): remove up to `count`
/// entries from the low end (high end when `max`) of the set at `key`, deleting the key
/// when it empties and journaling the pop as a ZREM. None if the key is missing.
pub fn zpop(
    ctx: &mut ExecCtx,
    key: &Bytes,
    max: bool,
    count: usize,
) -> CmdResult<Option<Vec<(Bytes, f64)>>> {
    let Some(z) = write_zset(ctx, key)? else {
        return Ok(None);
    };
    let out = z.pop(max, count);
    if !out.is_empty() {
        after_remove(ctx, key, if max { "zpopmax" } else { "zpopmin" });
        let mut effect = vec![Bytes::from_static(b"ZREM"), key.clone()];
        effect.extend(out.iter().map(|(m, _)| m.clone()));
        ctx.propagate_as(effect);
    }
    Ok(Some(out))
}

fn zpop_cmd(ctx: &mut ExecCtx, a: &[Bytes], max: bool) -> CmdResult<Reply> {
    if a.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let count = match a.get(2) {
        None => None,
        Some(c) => match parse_i64(c) {
            Ok(n) if n >= 0 => Some(n as usize),
            _ => return Err(CmdError::err("value is out of range, must be positive")),
        },
    };
    let popped = zpop(ctx, &a[1], max, count.unwrap_or(1))?.unwrap_or_default();
    Ok(match (count, popped.len()) {
        (_, 0) => Reply::Array(Vec::new()),
        (None, _) => {
            let mut v = Vec::with_capacity(2);
            for (m, s) in popped {
                v.push(Reply::Bulk(m));
                v.push(Reply::Double(s));
            }
            Reply::Array(v)
        }
        (Some(_), _) => pairs_reply(popped),
    })
}

fn zpopmin(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    zpop_cmd(ctx, a, false)
}

fn zpopmax(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    zpop_cmd(ctx, a, true)
}

// ---- ZRANDMEMBER and ZSCAN ------------------------------------------------------------

/// The sorted set at `key` (type already checked) and the shard's rng, side by side.
fn zset_and_rng<'c>(ctx: &'c mut ExecCtx, key: &[u8]) -> Option<(&'c ZSet, &'c mut SmallRng)> {
    let db = ctx.db as usize;
    let sh = &mut *ctx.shard;
    match sh.dbs[db].get_raw_mut(key) {
        Some(Entry {
            value: Value::ZSet(z),
            ..
        }) => Some((&**z, &mut sh.rng)),
        _ => None,
    }
}

fn zrandmember(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    if a.len() == 2 {
        read_zset(ctx, &a[1])?;
        let m = zset_and_rng(ctx, &a[1]).and_then(|(z, rng)| z.random(rng));
        return Ok(m.map_or(Reply::Nil, |(m, _)| Reply::Bulk(m)));
    }
    let count = parse_i64(&a[2])?;
    if count == i64::MIN {
        return Err(CmdError::err(
            "value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    let withscores = match a.len() {
        3 => false,
        4 if a[3].eq_ignore_ascii_case(b"withscores") => true,
        _ => return Err(CmdError::Syntax),
    };
    if withscores && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
        return Err(CmdError::err("value is out of range"));
    }
    read_zset(ctx, &a[1])?;
    let Some((z, rng)) = zset_and_rng(ctx, &a[1]) else {
        return Ok(Reply::Array(Vec::new()));
    };
    let picked = sample(z, count, rng);
    Ok(if withscores {
        pairs_reply(picked)
    } else {
        members_reply(picked)
    })
}

/// ZRANDMEMBER's entries: `count` distinct ones (all, highest first, when count >= size), or
/// `|count|` with repetitions when negative.
fn sample<R: Rng>(z: &ZSet, count: i64, rng: &mut R) -> Vec<(Bytes, f64)> {
    let size = z.len();
    if count < 0 {
        let n = count.unsigned_abs() as usize;
        return (0..n).filter_map(|_| z.random(rng)).collect();
    }
    let n = count as usize;
    if n >= size {
        // Redis hands back the whole set walking it from the top.
        let mut all = z.to_vec();
        all.reverse();
        return all;
    }
    let mut ranks: Vec<usize> = if n * 3 < size {
        let mut seen = std::collections::HashSet::with_capacity(n);
        while seen.len() < n {
            seen.insert(rng.gen_range(0..size));
        }
        seen.into_iter().collect()
    } else {
        let mut all: Vec<usize> = (0..size).collect();
        for i in 0..n {
            let j = rng.gen_range(i..size);
            all.swap(i, j);
        }
        all.truncate(n);
        all
    };
    // Shuffled order, like Redis's.
    for i in (1..ranks.len()).rev() {
        let j = rng.gen_range(0..=i);
        ranks.swap(i, j);
    }
    ranks.iter().filter_map(|&r| z.nth(r)).collect()
}

fn zscan(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let cursor = parse_cursor(&a[2]).ok_or_else(|| CmdError::err("invalid cursor"))?;
    let Some(z) = read_zset(ctx, &a[1])? else {
        return Ok(Reply::Array(vec![
            Reply::Bulk(Bytes::from_static(b"0")),
            Reply::Array(Vec::new()),
        ]));
    };
    let ScanOpts { count, pattern, .. } = parse_scan_opts(&a[3..], false)?;
    let mut out = Vec::new();
    let next = z.scan(cursor, count, |m, s| {
        if pattern.is_none_or(|p| glob_match(p, m, false)) {
            out.push(Reply::Bulk(Bytes::copy_from_slice(m)));
            out.push(Reply::Bulk(score_text(s)));
        }
    });
    Ok(Reply::Array(vec![
        Reply::Bulk(Bytes::from(next.to_string())),
        Reply::Array(out),
    ]))
}

#[cfg(test)]
#[path = "zsets_tests.rs"]
mod tests;
