//! Hashes: HSET and friends over [`crate::types::Hash`].

use std::collections::HashSet;

use bytes::Bytes;
use rand::seq::SliceRandom;

use super::keyspace::{parse_cursor, parse_scan_opts, ScanOpts};
use super::numbers::{parse_i64, string2ll, LongDouble};
use crate::command::table::TableBuilder;
use crate::command::ExecCtx;
use crate::error::{CmdError, CmdResult};
use crate::protocol::Reply;
use crate::pubsub::notify::class as nc;
use crate::shard::db::Entry;
use crate::shard::value::Value;
use crate::types::hash::{Hash, Limits};
use crate::util::glob_match;

pub fn register(t: &mut TableBuilder) {
    t.keyed("hset", hset);
    t.keyed("hmset", hmset);
    t.keyed("hsetnx", hsetnx);
    t.keyed("hget", hget);
    t.keyed("hmget", hmget);
    t.keyed("hgetall", hgetall);
    t.keyed("hkeys", hkeys);
    t.keyed("hvals", hvals);
    t.keyed("hdel", hdel);
    t.keyed("hlen", hlen);
    t.keyed("hstrlen", hstrlen);
    t.keyed("hexists", hexists);
    t.keyed("hincrby", hincrby);
    t.keyed("hincrbyfloat", hincrbyfloat);
    t.keyed("hrandfield", hrandfield);
    t.keyed("hscan", hscan);
}

fn limits(ctx: &ExecCtx) -> Limits {
    ctx.shard.tun.hash_limits
}

/// Run `f` on the hash at `key` for reading; `missing` answers for an absent key.
fn read(
    ctx: &mut ExecCtx,
    key: &[u8],
    missing: Reply,
    f: impl FnOnce(&Hash) -> Reply,
) -> CmdResult<Reply> {
    match ctx.lookup_read(key) {
        None => Ok(missing),
        Some(Entry {
            value: Value::Hash(h),
            ..
        }) => Ok(f(h)),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// Run `f` on the hash at `key` for writing, creating it when missing (it is stored only
/// if `f` leaves it non-empty). `f` returns its reply and whether it changed the hash;
/// a hash left empty is deleted, as Redis never keeps empty keys. A change notifies
/// `event` (then `del` if the hash is gone).
fn write(
    ctx: &mut ExecCtx,
    key: &Bytes,
    event: &'static str,
    f: impl FnOnce(&mut Hash, Limits) -> CmdResult<(Reply, bool)>,
) -> CmdResult<Reply> {
    let lim = limits(ctx);
    match ctx.lookup_write(key) {
        Some(Entry {
            value: Value::Hash(h),
            ..
        }) => {
            let (reply, changed) = f(h, lim)?;
            let empty = h.is_empty();
            if changed {
                ctx.notify(nc::HASH, event, key);
            }
            if empty {
                ctx.delete(key);
                ctx.notify(nc::GENERIC, "del", key);
            } else if changed {
                ctx.modified(key);
            }
            Ok(reply)
        }
        Some(_) => Err(CmdError::WrongType),
        None => {
            let mut h = Hash::new();
            let (reply, changed) = f(&mut h, lim)?;
            if !h.is_empty() {
                ctx.set_value(key, Value::Hash(Box::new(h)), 0, false);
                if changed {
                    ctx.notify(nc::HASH, event, key);
                }
            }
            Ok(reply)
        }
    }
}

/// Set every field/value pair of a[2..]; the number of new fields.
fn set_pairs(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<i64> {
    super::check_pairs(a, 2)?;
    let mut added = 0;
    write(ctx, &a[1], "hset", |h, lim| {
        let pairs = &a[2..];
        h.reserve(pairs);
        for fv in pairs.chunks_exact(2) {
            added += i64::from(h.set(&fv[0], &fv[1], lim));
        }
        h.shrink();
        Ok((Reply::Ok, true))
    })?;
    Ok(added)
}

fn hset(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    set_pairs(ctx, a).map(Reply::Int)
}

fn hmset(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    set_pairs(ctx, a).map(|_| Reply::Ok)
}

fn hsetnx(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    write(ctx, &a[1], "hset", |h, lim| {
        if h.contains(&a[2]) {
            return Ok((Reply::Int(0), false));
        }
        h.set(&a[2], &a[3], lim);
        Ok((Reply::Int(1), true))
    })
}

fn bulk(b: &[u8]) -> Reply {
    Reply::Bulk(Bytes::copy_from_slice(b))
}

fn hget(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    read(ctx, &a[1], Reply::Nil, |h| {
        h.get(&a[2]).map_or(Reply::Nil, bulk)
    })
}

fn hmget(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let fields = &a[2..];
    let missing = Reply::Array(vec![Reply::Nil; fields.len()]);
    read(ctx, &a[1], missing, |h| {
        Reply::Array(
            fields
                .iter()
                .map(|f| h.get(f).map_or(Reply::Nil, bulk))
                .collect(),
        )
    })
}

fn hgetall(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    read(ctx, &a[1], Reply::Map(Vec::new()), |h| {
        Reply::Map(h.iter().map(|(f, v)| (bulk(f), bulk(v))).collect())
    })
}

fn hkeys(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    read(ctx, &a[1], Reply::Array(Vec::new()), |h| {
        Reply::Array(h.iter().map(|(f, _)| bulk(f)).collect())
    })
}

fn hvals(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    read(ctx, &a[1], Reply::Array(Vec::new()), |h| {
        Reply::Array(h.iter().map(|(_, v)| bulk(v)).collect())
    })
}

fn hdel(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    // A missing key has nothing to delete (and nothing must be created).
    match ctx.lookup_write(&a[1]) {
        None => return Ok(Reply::Int(0)),
        Some(Entry {
            value: Value::Hash(_),
            ..
        }) => {}
        Some(_) => return Err(CmdError::WrongType),
    }
    write(ctx, &a[1], "hdel", |h, _| {
        let mut n = 0;
        for f in &a[2..] {
            n += i64::from(h.remove(f));
            if h.is_empty() {
                break;
            }
        }
        Ok((Reply::Int(n), n > 0))
    })
}

fn hlen(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    read(ctx, &a[1], Reply::Int(0), |h| Reply::Int(h.len() as i64))
}

fn hstrlen(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    read(ctx, &a[1], Reply::Int(0), |h| {
        Reply::Int(h.get(&a[2]).map_or(0, |v| v.len() as i64))
    })
}

fn hexists(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    read(ctx, &a[1], Reply::Int(0), |h| {
        Reply::Int(i64::from(h.contains(&a[2])))
    })
}

fn hincrby(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let incr = parse_i64(&a[3])?;
    write(ctx, &a[1], "hincrby", |h, lim| {
        let cur = match h.get(&a[2]) {
            Some(v) => string2ll(v).ok_or_else(|| CmdError::err("hash value is not an integer"))?,
            None => 0,
        };
        let new = cur
            .checked_add(incr)
            .ok_or_else(|| CmdError::err("increment or decrement would overflow"))?;
        h.set(&a[2], new.to_string().as_bytes(), lim);
        Ok((Reply::Int(new), true))
    })
}

fn hincrbyfloat(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let incr = LongDouble::parse(&a[3]).ok_or(CmdError::NotFloat)?;
    if !incr.is_finite() {
        return Err(CmdError::err("value is NaN or Infinity"));
    }
    let mut text = Bytes::new();
    let reply = write(ctx, &a[1], "hincrbyfloat", |h, lim| {
        let cur = match h.get(&a[2]) {
            Some(v) => {
                LongDouble::parse(v).ok_or_else(|| CmdError::err("hash value is not a float"))?
            }
            None => LongDouble::ZERO,
        };
        let sum = cur
            .checked_add(incr)
            .ok_or_else(|| CmdError::err("increment would produce NaN or Infinity"))?;
        text = Bytes::from(sum.to_human());
        h.set(&a[2], &text, lim);
        Ok((Reply::Bulk(text.clone()), true))
    })?;
    // Replicas must not recompute the float: the effect is the resulting value.
    ctx.propagate_as(vec![
        Bytes::from_static(b"HSET"),
        a[1].clone(),
        a[2].clone(),
        text,
    ]);
    Ok(reply)
}

/// HRANDFIELD key [count [WITHVALUES]].
fn hrandfield(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    if a.len() == 2 {
        // Stats, access time and the type check first.
        read(ctx, &a[1], Reply::Nil, |_| Reply::Nil)?;
        let (hash, rng) = hash_of(ctx, &a[1]);
        return Ok(hash
            .and_then(|h| h.random(rng))
            .map_or(Reply::Nil, |(f, _)| bulk(f)));
    }
    let count = parse_i64(&a[2])?;
    if count == i64::MIN {
        return Err(CmdError::err(
            "value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    let withvalues = match a.len() {
        3 => false,
        4 if a[3].eq_ignore_ascii_case(b"withvalues") => true,
        _ => return Err(CmdError::Syntax),
    };
    if withvalues && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
        return Err(CmdError::err("value is out of range"));
    }
    // Stats, access time and the type check first.
    read(ctx, &a[1], Reply::Nil, |_| Reply::Nil)?;
    let (hash, rng) = hash_of(ctx, &a[1]);
    let Some(h) = hash else {
        return Ok(Reply::Array(Vec::new()));
    };
    let out = |pairs: Vec<(&[u8], &[u8])>| -> Reply {
        if withvalues {
            Reply::Pairs(pairs.into_iter().map(|(f, v)| (bulk(f), bulk(v))).collect())
        } else {
            Reply::Array(pairs.into_iter().map(|(f, _)| bulk(f)).collect())
        }
    };
    let size = h.len();
    if count < 0 {
        // Repetitions allowed: each pick is independent.
        let n = count.unsigned_abs() as usize;
        let picks = (0..n).filter_map(|_| h.random(rng)).collect();
        return Ok(out(picks));
    }
    let count = count as usize;
    if count >= size {
        return Ok(out(h.iter().collect()));
    }
    if count * 3 > size {
        // Close to the whole hash: shuffle it and keep a prefix.
        let mut all: Vec<_> = h.iter().collect();
        all.partial_shuffle(rng, count);
        all.truncate(count);
        return Ok(out(all));
    }
    // Far fewer than the whole hash: random picks until `count` distinct fields.
    let mut seen = HashSet::with_capacity(count);
    let mut picks = Vec::with_capacity(count);
    while picks.len() < count {
        let Some((f, v)) = h.random(rng) else { break };
        if seen.insert(f) {
            picks.push((f, v));
        }
    }
    Ok(out(picks))
}

/// The hash at `key` (already type checked) alongside the shard's rng.
fn hash_of<'c>(
    ctx: &'c mut ExecCtx,
    key: &[u8],
) -> (Option<&'c Hash>, &'c mut rand::rngs::SmallRng) {
    let db = ctx.db as usize;
    let crate::shard::Shard { dbs, rng, .. } = &mut *ctx.shard;
    let h = match dbs[db].get_raw(key) {
        Some(Entry {
            value: Value::Hash(h),
            ..
        }) => Some(&**h),
        _ => None,
    };
    (h, rng)
}

/// HSCAN key cursor [MATCH pattern] [COUNT count].
fn hscan(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let cursor = parse_cursor(&a[2]).ok_or_else(|| CmdError::err("invalid cursor"))?;
    let empty = Reply::Array(vec![
        Reply::Bulk(Bytes::from_static(b"0")),
        Reply::Array(Vec::new()),
    ]);
    read(ctx, &a[1], empty.clone(), |_| Reply::Nil)?;
    let (hash, _) = hash_of(ctx, &a[1]);
    let Some(h) = hash else { return Ok(empty) };
    // Options are parsed after the lookup, as Redis does.
    let ScanOpts { count, pattern, .. } = parse_scan_opts(&a[3..], false)?;
    let mut items = Vec::new();
    let next = h.scan(cursor, count, |f, v| {
        if pattern.is_none_or(|p| glob_match(p, f, false)) {
            items.push(bulk(f));
            items.push(bulk(v));
        }
    });
    Ok(Reply::Array(vec![
        Reply::Bulk(Bytes::from(next.to_string())),
        Reply::Array(items),
    ]))
}

#[cfg(test)]
#[path = "hashes_tests.rs"]
mod tests;
