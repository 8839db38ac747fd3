//! Blocking sorted-set pops: BZPOPMIN BZPOPMAX BZMPOP. Same scheme as the blocking list
//! commands (see `blocking`): the non-blocking form first, then a wait served by ZMPOP.

use bytes::Bytes;

use super::blocking::{first_pop, first_pop_cross, timeout_ms};
use super::zsets::{read_zset, zpop};
use super::zsets_store::{zmpop_core, zmpop_keys_cross, zmpop_reply, ZmpopArgs};
use crate::command::table::{self, TableBuilder};
use crate::command::{ExecCtx, LocalBoxFuture};
use crate::error::CmdResult;
use crate::net::blocked::PendingBlock;
use crate::protocol::Reply;
use crate::shard::blocking::{BlockSpec, Want, Wrap};

pub fn register(t: &mut TableBuilder) {
    t.multi("bzpopmin", bzpopmin, bzpopmin_cross);
    t.multi("bzpopmax", bzpopmax, bzpopmax_cross);
    t.multi("bzmpop", bzmpop, bzmpop_cross);
}

/// `[key, member, score]` from the first non-empty sorted set, as BZPOPMIN replies.
fn pop_one(ctx: &mut ExecCtx, key: &Bytes, max: bool) -> CmdResult<Option<Reply>> {
    if read_zset(ctx, key)?.is_none() {
        return Ok(None);
    }
    let Some(mut v) = zpop(ctx, key, max, 1)? else {
        return Ok(None);
    };
    let Some((m, s)) = v.pop() else {
        return Ok(None);
    };
    let name: &'static [u8] = if max { b"ZPOPMAX" } else { b"ZPOPMIN" };
    ctx.propagate_as(vec![Bytes::from_static(name), key.clone()]);
    Ok(Some(Reply::Array(vec![
        Reply::Bulk(key.clone()),
        Reply::Bulk(m),
        Reply::Double(s),
    ])))
}

fn bzpop(ctx: &mut ExecCtx, a: &[Bytes], max: bool) -> CmdResult<Reply> {
    first_pop(ctx, a, |ctx, k| pop_one(ctx, k, max))
}

fn bzpop_cross(db: u16, a: Vec<Bytes>, max: bool) -> LocalBoxFuture<'static, Reply> {
    first_pop_cross(db, a, move |ctx, k| pop_one(ctx, k, max))
}

fn bzpopmin(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    bzpop(ctx, a, false)
}

fn bzpopmax(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    bzpop(ctx, a, true)
}

fn bzpopmin_cross(db: u16, a: Vec<Bytes>) -> LocalBoxFuture<'static, Reply> {
    bzpop_cross(db, a, false)
}

fn bzpopmax_cross(db: u16, a: Vec<Bytes>) -> LocalBoxFuture<'static, Reply> {
    bzpop_cross(db, a, true)
}

fn bzmpop_args(a: &[Bytes]) -> CmdResult<ZmpopArgs> {
    timeout_ms(&a[1])?;
    ZmpopArgs::parse(a, 2)
}

fn bzmpop(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let args = bzmpop_args(a)?;
    Ok(zmpop_reply(zmpop_core(ctx, &args)?))
}

fn bzmpop_cross(db: u16, a: Vec<Bytes>) -> LocalBoxFuture<'static, Reply> {
    Box::pin(async move {
        match bzmpop_args(&a) {
            Ok(args) => zmpop_keys_cross(db, args).await,
            Err(e) => Reply::error(&e),
        }
    })
}

/// The wait a BZPOPMIN / BZPOPMAX / BZMPOP that found nothing turns into.
pub fn pending(db: u16, name: &str, a: &[Bytes]) -> Option<PendingBlock> {
    let n = a.len();
    let b = |s: &'static str| Bytes::from_static(s.as_bytes());
    let (keys, timeout, max, count, wrap) = match name {
        "bzpopmin" | "bzpopmax" => (
            a[1..n - 1].to_vec(),
            &a[n - 1],
            name == "bzpopmax",
            1,
            Wrap::KeyMemberScore,
        ),
        "bzmpop" => {
            let args = bzmpop_args(a).ok()?;
            (args.keys, &a[1], args.max, args.count, Wrap::AsIs)
        }
        _ => return None,
    };
    let template = vec![
        b("zmpop"),
        b("1"),
        Bytes::new(),
        b(if max { "MAX" } else { "MIN" }),
        b("COUNT"),
        Bytes::from(count.to_string()),
    ];
    let spec = BlockSpec {
        want: Want::ZSet,
        cmd: table::lookup(b"zmpop")?,
        template,
        key_at: 2,
        wrap,
        dst: None,
    };
    Some(PendingBlock {
        db,
        keys,
        timeout_ms: timeout_ms(timeout).ok()?,
        nil: Reply::NilArray,
        retry: None,
        spec,
    })
}
