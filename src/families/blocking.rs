//! Blocking list commands: BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP.
//!
//! Each runs first as its non-blocking form (atomically, across shards too). When that
//! finds nothing, and the client is not inside MULTI/EXEC, the dispatcher turns the call
//! into a `PendingBlock` (see `pending`) and the connection waits (`net::blocked`),
//! queued on every key's shard, until a shard serves it with the same non-blocking
//! command (`shard::blocking`).

use bytes::Bytes;

use super::lists::{
    list_mut, move_cross, move_local, mpop_cross, mpop_one, parse_end, parse_lmpop,
};
use super::multikey::on_key;
use super::numbers::LongDouble;
use crate::command::table::{self, TableBuilder};
use crate::command::{Command, ExecCtx, LocalBoxFuture};
use crate::error::{CmdError, CmdResult};
use crate::net::blocked::PendingBlock;
use crate::protocol::Reply;
use crate::shard::blocking::{BlockSpec, Want, Wrap};
use crate::types::list::End;

pub fn register(t: &mut TableBuilder) {
    t.multi("blpop", blpop, blpop_cross);
    t.multi("brpop", brpop, brpop_cross);
    t.multi("blmove", blmove, blmove_cross);
    t.multi("brpoplpush", brpoplpush, brpoplpush_cross);
    t.multi("blmpop", blmpop, blmpop_cross);
}

/// Redis 7.0's timeout argument: seconds as a long double, times 1000, truncated to a
/// C `long long` (an out-of-range value becomes negative, as it does there). 0 waits
/// forever.
pub fn timeout_ms(arg: &[u8]) -> CmdResult<u64> {
    let secs = match LongDouble::parse(arg) {
        Some(LongDouble::Finite { neg, mant, exp }) => {
            let v = mant as f64 * 2f64.powi(exp);
            if neg {
                -v
            } else {
                v
            }
        }
        Some(LongDouble::Inf { neg }) => {
            if neg {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            }
        }
        None => return Err(CmdError::err("timeout is not a float or out of range")),
    };
    let ms = secs * 1000.0;
    let ms = if ms.is_finite() && ms.abs() < 9.223_372_036_854_775_807e18 {
        ms.trunc() as i64
    } else {
        i64::MIN
    };
    if ms < 0 {
        return Err(CmdError::err("timeout is negative"));
    }
    Ok(ms as u64)
}

fn b(s: &'static str) -> Bytes {
    Bytes::from_static(s.as_bytes())
}

/// The first non-empty list among `keys`: pop one element as `[key, element]`.
/// WRONGTYPE if a key of another type comes first.
fn pop_first(ctx: &mut ExecCtx, key: &Bytes, end: End) -> CmdResult<Option<Reply>> {
    if list_mut(ctx, key)?.is_none() {
        return Ok(None);
    }
    let Some(Reply::Array(mut kv)) = mpop_one(ctx, key, end, 1)? else {
        return Ok(None);
    };
    let elem = match kv.pop() {
        Some(Reply::Array(mut v)) => v.pop().unwrap_or(Reply::Nil),
        _ => Reply::Nil,
    };
    let name = if end == End::Left { "LPOP" } else { "RPOP" };
    ctx.propagate_as(vec![b(name), key.clone()]);
    Ok(Some(Reply::Array(vec![Reply::Bulk(key.clone()), elem])))
}

/// `key [key ...] timeout` (BLPOP, BZPOPMIN ...) run as its non-blocking form: the
/// first key `pop` takes something from answers; none gives a null array (the caller
/// then blocks).
pub(super) fn first_pop(
    ctx: &mut ExecCtx,
    a: &[Bytes],
    pop: impl Fn(&mut ExecCtx, &Bytes) -> CmdResult<Option<Reply>>,
) -> CmdResult<Reply> {
    let n = a.len();
    timeout_ms(&a[n - 1])?;
    for k in &a[1..n - 1] {
        if let Some(r) = pop(ctx, k)? {
            return Ok(r);
        }
    }
    Ok(Reply::NilArray)
}

/// `first_pop` with keys on several shards.
pub(super) fn first_pop_cross<P>(db: u16, a: Vec<Bytes>, pop: P) -> LocalBoxFuture<'static, Reply>
where
    P: Fn(&mut ExecCtx, &Bytes) -> CmdResult<Option<Reply>> + Copy + Send + 'static,
{
    Box::pin(async move {
        let n = a.len();
        if let Err(e) = timeout_ms(&a[n - 1]) {
            return Reply::error(&e);
        }
        // Keys in order, one hop each, under the locks the dispatcher holds.
        for k in a[1..n - 1].iter().cloned() {
            match on_key(db, k, pop).await {
                Ok(Some(r)) => return r,
                Ok(None) => {}
                Err(e) => return Reply::error(&e),
            }
        }
        Reply::NilArray
    })
}

fn bpop(ctx: &mut ExecCtx, a: &[Bytes], end: End) -> CmdResult<Reply> {
    first_pop(ctx, a, |ctx, k| pop_first(ctx, k, end))
}

fn bpop_cross(db: u16, a: Vec<Bytes>, end: End) -> LocalBoxFuture<'static, Reply> {
    first_pop_cross(db, a, move |ctx, k| pop_first(ctx, k, end))
}

fn blpop(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    bpop(ctx, a, End::Left)
}

fn brpop(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    bpop(ctx, a, End::Right)
}

fn blpop_cross(db: u16, a: Vec<Bytes>) -> LocalBoxFuture<'static, Reply> {
    bpop_cross(db, a, End::Left)
}

fn brpop_cross(db: u16, a: Vec<Bytes>) -> LocalBoxFuture<'static, Reply> {
    bpop_cross(db, a, End::Right)
}

/// BLMOVE's directions and timeout, checked in Redis's order.
fn blmove_args(a: &[Bytes]) -> CmdResult<(End, End)> {
    let from = parse_end(&a[3])?;
    let to = parse_end(&a[4])?;
    timeout_ms(&a[5])?;
    Ok((from, to))
}

fn end_name(e: End) -> Bytes {
    b(if e == End::Left { "LEFT" } else { "RIGHT" })
}

fn blmove(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let (from, to) = blmove_args(a)?;
    let r = move_local(ctx, &a[1], &a[2], from, to)?;
    if matches!(r, Reply::Bulk(_)) {
        ctx.propagate_as(vec![
            b("LMOVE"),
            a[1].clone(),
            a[2].clone(),
            end_name(from),
            end_name(to),
        ]);
    }
    Ok(r)
}

fn blmove_cross(db: u16, a: Vec<Bytes>) -> LocalBoxFuture<'static, Reply> {
    Box::pin(async move {
        match blmove_args(&a) {
            Ok((from, to)) => move_cross(db, a[1].clone(), a[2].clone(), from, to).await,
            Err(e) => Reply::error(&e),
        }
    })
}

fn brpoplpush(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    timeout_ms(&a[3])?;
    let r = move_local(ctx, &a[1], &a[2], End::Right, End::Left)?;
    if matches!(r, Reply::Bulk(_)) {
        ctx.propagate_as(vec![b("RPOPLPUSH"), a[1].clone(), a[2].clone()]);
    }
    Ok(r)
}

fn brpoplpush_cross(db: u16, a: Vec<Bytes>) -> LocalBoxFuture<'static, Reply> {
    Box::pin(async move {
        if let Err(e) = timeout_ms(&a[3]) {
            return Reply::error(&e);
        }
        move_cross(db, a[1].clone(), a[2].clone(), End::Right, End::Left).await
    })
}

fn blmpop_args(a: &[Bytes]) -> CmdResult<(Vec<Bytes>, End, usize)> {
    timeout_ms(&a[1])?;
    // LMPOP's syntax after the timeout: numkeys key... LEFT|RIGHT [COUNT n].
    parse_lmpop(&a[1..])
}

fn blmpop(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let (keys, end, count) = blmpop_args(a)?;
    for k in &keys {
        if let Some(r) = mpop_one(ctx, k, end, count)? {
            return Ok(r);
        }
    }
    Ok(Reply::NilArray)
}

fn blmpop_cross(db: u16, a: Vec<Bytes>) -> LocalBoxFuture<'static, Reply> {
    Box::pin(async move {
        match blmpop_args(&a) {
            Ok((keys, end, count)) => mpop_cross(db, keys, end, count).await,
            Err(e) => Reply::error(&e),
        }
    })
}

fn cmd(name: &str) -> Option<&'static Command> {
    table::lookup(name.as_bytes())
}

/// After a blocking command ran as its non-blocking form: if it found nothing, the wait
/// it turns into. `None`: the reply stands (data, an error, or not a blocking command).
pub fn pending(db: u16, c: &'static Command, a: &[Bytes], reply: &Reply) -> Option<PendingBlock> {
    let n = a.len();
    let list = |name: &str, template: Vec<Bytes>, key_at, wrap, dst: Option<Bytes>| {
        Some(BlockSpec {
            want: Want::List,
            cmd: cmd(name)?,
            template,
            key_at,
            wrap,
            dst,
        })
    };
    let (keys, timeout, nil, spec) = match (c.name, reply) {
        ("blpop" | "brpop", Reply::NilArray) => {
            let name = if c.name == "blpop" { "lpop" } else { "rpop" };
            let spec = list(name, vec![b(name), Bytes::new()], 1, Wrap::KeyValue, None)?;
            (a[1..n - 1].to_vec(), &a[n - 1], Reply::NilArray, spec)
        }
        ("blmove", Reply::Nil) => {
            let t = vec![
                b("lmove"),
                a[1].clone(),
                a[2].clone(),
                a[3].clone(),
                a[4].clone(),
            ];
            let spec = list("lmove", t, 1, Wrap::AsIs, Some(a[2].clone()))?;
            (vec![a[1].clone()], &a[5], Reply::Nil, spec)
        }
        ("brpoplpush", Reply::Nil) => {
            let t = vec![b("rpoplpush"), a[1].clone(), a[2].clone()];
            let spec = list("rpoplpush", t, 1, Wrap::AsIs, Some(a[2].clone()))?;
            (vec![a[1].clone()], &a[3], Reply::Nil, spec)
        }
        ("blmpop", Reply::NilArray) => {
            let (keys, end, count) = blmpop_args(a).ok()?;
            let t = vec![
                b("lmpop"),
                b("1"),
                Bytes::new(),
                end_name(end),
                b("COUNT"),
                Bytes::from(count.to_string()),
            ];
            let spec = list("lmpop", t, 2, Wrap::AsIs, None)?;
            (keys, &a[1], Reply::NilArray, spec)
        }
        ("bzpopmin" | "bzpopmax" | "bzmpop", Reply::NilArray) => {
            return super::blocking_zset::pending(db, c.name, a)
        }
        _ => return None,
    };
    let retry = spec.dst.as_ref().map(|_| (spec.cmd, spec.template.clone()));
    Some(PendingBlock {
        db,
        keys,
        timeout_ms: timeout_ms(timeout).ok()?,
        nil,
        retry,
        spec,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_like_redis_7_0() {
        assert_eq!(timeout_ms(b"0").ok(), Some(0));
        assert_eq!(timeout_ms(b"0.01").ok(), Some(10));
        assert_eq!(timeout_ms(b"1.5e-3").ok(), Some(1));
        // Below a millisecond truncates to 0: wait forever (as 7.0 does).
        assert_eq!(timeout_ms(b"0.0001").ok(), Some(0));
        assert_eq!(timeout_ms(b"2").ok(), Some(2000));
        let neg = Some("ERR timeout is negative".to_string());
        let bad = Some("ERR timeout is not a float or out of range".to_string());
        let e = |s: &[u8]| timeout_ms(s).err().map(|e| e.to_string());
        assert_eq!(e(b"-1"), neg);
        assert_eq!(e(b"1e30"), neg);
        assert_eq!(e(b"inf"), neg);
        assert_eq!(e(b"abc"), bad);
        assert_eq!(e(b" 1"), bad);
        assert_eq!(e(b"nan"), bad);
        assert_eq!(e(b""), bad);
    }
}
