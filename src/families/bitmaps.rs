//! Bitmaps: SETBIT GETBIT BITCOUNT BITPOS BITOP BITFIELD BITFIELD_RO.

use bytes::Bytes;

use super::bitops;
use super::multikey::{fetch_strings, on_key};
use crate::command::table::TableBuilder;
use crate::command::{ExecCtx, LocalBoxFuture};
use crate::error::CmdResult;
use crate::protocol::Reply;
use crate::pubsub::notify::class as nc;
use crate::shard::value::CBytes;

pub fn register(t: &mut TableBuilder) {
    t.keyed("setbit", setbit);
    t.keyed("getbit", getbit);
    t.keyed("bitcount", bitcount);
    t.keyed("bitpos", bitpos);
    t.multi("bitop", bitop, bitop_cross);
    t.keyed("bitfield", bitfield);
    t.keyed("bitfield_ro", bitfield_ro);
}

fn max_len(ctx: &ExecCtx) -> u64 {
    ctx.shard.cfg.get_i64("proto-max-bulk-len") as u64
}

fn setbit(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let off = bitops::parse_bit_offset_ext(&a[2], None, max_len(ctx))?;
    let on = bitops::parse_setbit_value(&a[3])?;
    let key = &a[1];
    let mut v = ctx.peek_str(key)?.map(|s| s.to_vec()).unwrap_or_default();
    let len = v.len();
    let old = bitops::setbit(&mut v, off, on);
    // Like Redis, a SETBIT that neither grows the string nor flips the bit is no write,
    // though the value still becomes `raw` (Redis unshares it before looking).
    if v.len() != len || (old == 1) != on {
        store(ctx, key, v);
        ctx.notify(nc::STRING, "setbit", key);
    } else if let Some(e) = ctx.peek(key) {
        e.enc = crate::shard::value::Enc::Raw;
    }
    Ok(Reply::Int(old as i64))
}

/// Write back a modified bitmap (keeping the TTL) and mark the key changed.
fn store(ctx: &mut ExecCtx, key: &Bytes, v: Vec<u8>) {
    ctx.put_str(key, CBytes::from_vec(v), true);
}

fn getbit(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let off = bitops::parse_bit_offset_ext(&a[2], None, max_len(ctx))?;
    let v = ctx.get_str(&a[1])?.unwrap_or_default();
    Ok(Reply::Int(bitops::getbit(&v, off) as i64))
}

fn bitcount(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let v = ctx.get_str(&a[1])?;
    Ok(Reply::Int(bitops::bitcount(v.as_deref(), &a[2..])?))
}

fn bitpos(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    // Redis checks the bit argument before the key's type.
    bitops::parse_bitpos_bit(&a[2..])?;
    let v = ctx.get_str(&a[1])?;
    Ok(Reply::Int(bitops::bitpos(v.as_deref(), &a[2..])?))
}

fn bitop(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let op = bitops::parse_bitop(&a[1], a.len() - 3)?;
    let mut srcs = Vec::with_capacity(a.len() - 3);
    for k in &a[3..] {
        srcs.push(ctx.get_str(k)?);
    }
    let refs: Vec<Option<&[u8]>> = srcs.iter().map(|s| s.as_deref()).collect();
    let out = bitops::bitop_apply(op, &refs);
    Ok(Reply::Int(store_dest(ctx, &a[2], out)))
}

fn store_dest(ctx: &mut ExecCtx, dest: &Bytes, out: Vec<u8>) -> i64 {
    let len = out.len() as i64;
    if out.is_empty() {
        ctx.delete_store_target(dest);
    } else {
        ctx.set_value_ext(
            dest,
            crate::shard::value::Value::Str(CBytes::from_vec(out)),
            0,
            false,
            crate::shard::value::Enc::Raw,
        );
        ctx.notify(nc::STRING, "set", dest);
    }
    len
}

fn bitop_cross(db: u16, a: Vec<Bytes>) -> LocalBoxFuture<'static, Reply> {
    Box::pin(async move {
        let op = match bitops::parse_bitop(&a[1], a.len() - 3) {
            Ok(op) => op,
            Err(e) => return Reply::error(&e),
        };
        let srcs = match fetch_strings(db, a[3..].to_vec()).await {
            Ok(s) => s,
            Err(e) => return Reply::error(&e),
        };
        let refs: Vec<Option<&[u8]>> = srcs.iter().map(|s| s.as_deref()).collect();
        let out = bitops::bitop_apply(op, &refs);
        Reply::Int(on_key(db, a[2].clone(), move |ctx, k| store_dest(ctx, k, out)).await)
    })
}

fn bitfield_generic(ctx: &mut ExecCtx, a: &[Bytes], ro: bool) -> CmdResult<Reply> {
    let ops = bitops::parse_bitfield_ext(&a[2..], ro, max_len(ctx))?;
    let key = &a[1];
    if !bitops::bitfield_has_writes(&ops) {
        let mut v = ctx.get_str(key)?.map(|b| b.to_vec()).unwrap_or_default();
        let (replies, _) = bitops::apply_bitfield(&mut v, &ops);
        return Ok(Reply::Array(replies));
    }
    let mut v = ctx.peek_str(key)?.map(|s| s.to_vec()).unwrap_or_default();
    // Like Redis, any SET/INCRBY creates or grows the key, even when OVERFLOW FAIL
    // skipped the write itself.
    let (replies, changed) = bitops::apply_bitfield(&mut v, &ops);
    store(ctx, key, v);
    if changed {
        ctx.notify(nc::STRING, "setbit", key);
    }
    Ok(Reply::Array(replies))
}

fn bitfield(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    bitfield_generic(ctx, a, false)
}

fn bitfield_ro(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    bitfield_generic(ctx, a, true)
}
