//! HyperLogLog: PFADD PFCOUNT PFMERGE PFDEBUG PFSELFTEST. Values are plain strings in
//! Redis's HLL format (see `types::hll`); PFCOUNT over several keys and PFMERGE also run
//! across shards.

use bytes::Bytes;

use super::multikey::{on_key, per_key};
use crate::command::table::TableBuilder;
use crate::command::{ExecCtx, LocalBoxFuture};
use crate::error::{CmdError, CmdResult};
use crate::protocol::Reply;
use crate::shard::value::CBytes;
use crate::types::hll::{self, Corrupt, REGISTERS};

pub fn register(t: &mut TableBuilder) {
    t.keyed("pfadd", pfadd);
    t.multi("pfcount", pfcount, pfcount_cross);
    t.multi("pfmerge", pfmerge, pfmerge_cross);
    t.keyed("pfdebug", pfdebug);
    t.keyed("pfselftest", pfselftest);
}

fn not_hll() -> CmdError {
    CmdError::Custom("WRONGTYPE Key is not a valid HyperLogLog string value.".into())
}

impl From<Corrupt> for CmdError {
    fn from(_: Corrupt) -> CmdError {
        CmdError::Custom("INVALIDOBJ Corrupted HLL object detected".into())
    }
}

fn max_bytes(ctx: &ExecCtx) -> usize {
    ctx.shard.tun.hll_sparse_max
}

/// The HLL at `key` as an editable copy, without read stats: None if missing,
/// WRONGTYPE (either text) if it is not an HLL.
fn load_write(ctx: &mut ExecCtx, key: &[u8]) -> CmdResult<Option<Vec<u8>>> {
    match ctx.peek_str(key)? {
        None => Ok(None),
        Some(s) if hll::is_valid_hll(s) => Ok(Some(s.to_vec())),
        Some(_) => Err(not_hll()),
    }
}

/// The HLL at `key` for reading (stats, access time).
fn load_read(ctx: &mut ExecCtx, key: &[u8]) -> CmdResult<Option<Bytes>> {
    match ctx.get_str(key)? {
        None => Ok(None),
        Some(s) if hll::is_valid_hll(&s) => Ok(Some(s)),
        Some(_) => Err(not_hll()),
    }
}

/// Store an edited HLL back (keeps the TTL; `raw` like every HLL in Redis).
fn store(ctx: &mut ExecCtx, key: &Bytes, v: Vec<u8>) {
    ctx.put_str(key, CBytes::from_vec(v), true);
}

fn pfadd(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let key = &a[1];
    let limit = max_bytes(ctx);
    if dense_unchanged(ctx, key, &a[2..])? {
        return Ok(Reply::Int(0));
    }
    let (mut h, mut updated) = match load_write(ctx, key)? {
        Some(h) => (h, false),
        None => (hll::new_sparse(), true),
    };
    let created = updated;
    for e in &a[2..] {
        match hll::add(&mut h, e, limit) {
            Ok(changed) => updated |= changed,
            Err(c) => {
                // Redis keeps what was added before the corrupt part, cache untouched.
                if updated && !created {
                    store(ctx, key, h);
                }
                return Err(c.into());
            }
        }
    }
    if updated {
        hll::invalidate_cache(&mut h);
        store(ctx, key, h);
        ctx.notify(crate::pubsub::notify::class::STRING, "pfadd", key);
    }
    Ok(Reply::Int(updated as i64))
}

/// True when `key` holds a dense HLL that none of `elems` would change: PFADD then
/// answers 0 without copying the 12 KiB value. (Errors as `load_write` gives them.)
fn dense_unchanged(ctx: &mut ExecCtx, key: &[u8], elems: &[Bytes]) -> CmdResult<bool> {
    match ctx.peek_str(key)? {
        Some(s) if hll::is_valid_hll(s) => {
            if s[4] != hll::DENSE || elems.is_empty() {
                return Ok(false);
            }
            let regs = &s[hll::HDR..];
            Ok(elems.iter().all(|e| {
                let (i, c) = hll::pattern(e);
                hll::dense_get(regs, i) >= c
            }))
        }
        Some(_) => Err(not_hll()),
        None => Ok(false),
    }
}

/// Fold each loaded HLL into the union, in key order: the first error (type, format or
/// corruption) wins, as when Redis walks the keys.
fn union_of(loaded: Vec<CmdResult<Option<Bytes>>>) -> CmdResult<(Box<[u8; REGISTERS]>, bool)> {
    let mut max = Box::new([0u8; REGISTERS]);
    let mut any_dense = false;
    for h in loaded {
        if let Some(h) = h? {
            any_dense |= h[4] == hll::DENSE;
            hll::merge_into(&mut max, &h)?;
        }
    }
    Ok((max, any_dense))
}

fn pfcount(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    if a.len() > 2 {
        let loaded = a[1..].iter().map(|k| load_read(ctx, k)).collect();
        let (max, _) = union_of(loaded)?;
        return Ok(Reply::Int(hll::count_raw(&max) as i64));
    }
    let key = &a[1];
    // A valid cache answers without copying the value.
    match ctx.peek_str(key)? {
        None => return Ok(Reply::Int(0)),
        Some(s) if hll::is_valid_hll(s) && hll::cache_valid(s) => {
            return Ok(Reply::Int(hll::cached_card(s) as i64));
        }
        Some(_) => {}
    }
    let Some(mut h) = load_write(ctx, key)? else {
        return Ok(Reply::Int(0));
    };
    // Caching the estimate changes the string: a write, journaled like Redis does.
    let card = hll::count(&h)?;
    hll::set_cached_card(&mut h, card);
    store(ctx, key, h);
    Ok(Reply::Int(card as i64))
}

fn pfcount_cross(db: u16, a: Vec<Bytes>) -> LocalBoxFuture<'static, Reply> {
    Box::pin(async move {
        let loaded = per_key(db, a[1..].to_vec(), |ctx, k| load_read(ctx, k)).await;
        match union_of(loaded) {
            Ok((max, _)) => Reply::Int(hll::count_raw(&max) as i64),
            Err(e) => Reply::error(&e),
        }
    })
}

/// Write a union into `dest` (created if missing, made dense if any input was dense).
fn write_union(
    ctx: &mut ExecCtx,
    dest: &Bytes,
    max: &[u8; REGISTERS],
    any_dense: bool,
) -> CmdResult<Reply> {
    let limit = max_bytes(ctx);
    let mut h = load_write(ctx, dest)?.unwrap_or_else(hll::new_sparse);
    if any_dense {
        hll::to_dense(&mut h)?;
    }
    for (i, &v) in max.iter().enumerate() {
        if v != 0 {
            hll::set_register(&mut h, i, v, limit)?;
        }
    }
    hll::invalidate_cache(&mut h);
    store(ctx, dest, h);
    ctx.notify(crate::pubsub::notify::class::STRING, "pfadd", dest);
    Ok(Reply::Ok)
}

fn pfmerge(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let loaded = a[1..].iter().map(|k| load_read(ctx, k)).collect();
    let (max, any_dense) = union_of(loaded)?;
    write_union(ctx, &a[1], &max, any_dense)
}

fn pfmerge_cross(db: u16, a: Vec<Bytes>) -> LocalBoxFuture<'static, Reply> {
    Box::pin(async move {
        let loaded = per_key(db, a[1..].to_vec(), |ctx, k| load_read(ctx, k)).await;
        let (max, any_dense) = match union_of(loaded) {
            Ok(u) => u,
            Err(e) => return Reply::error(&e),
        };
        on_key(db, a[1].clone(), move |ctx, k| {
            write_union(ctx, k, &max, any_dense).into()
        })
        .await
    })
}

/// PFDEBUG GETREG|DECODE|ENCODING|TODENSE key.
fn pfdebug(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let key = &a[2];
    let Some(mut h) = load_write(ctx, key)? else {
        return Err(CmdError::err("The specified key does not exist"));
    };
    let sub = a[1].to_ascii_lowercase();
    match sub.as_slice() {
        b"getreg" => {
            if h[4] == hll::SPARSE {
                hll::to_dense(&mut h)?;
                store(ctx, key, h.clone());
            }
            let regs = &h[hll::HDR..];
            let out = (0..REGISTERS)
                .map(|i| Reply::Int(hll::dense_get(regs, i) as i64))
                .collect();
            Ok(Reply::Array(out))
        }
        b"decode" => {
            if h[4] != hll::SPARSE {
                return Err(CmdError::err("HLL encoding is not sparse"));
            }
            Ok(Reply::Bulk(Bytes::from(hll::decode_sparse(&h)?)))
        }
        b"encoding" => Ok(Reply::simple(if h[4] == hll::DENSE {
            "dense"
        } else {
            "sparse"
        })),
        b"todense" => {
            let conv = h[4] == hll::SPARSE;
            if conv {
                hll::to_dense(&mut h)?;
                store(ctx, key, h);
            }
            Ok(Reply::Int(conv as i64))
        }
        _ => Err(CmdError::Custom(format!(
            "ERR Unknown PFDEBUG subcommand '{}'",
            String::from_utf8_lossy(&a[1])
        ))),
    }
}

/// PFSELFTEST: check the register packing and the estimator's error on this build.
fn pfselftest(_ctx: &mut ExecCtx, _a: &[Bytes]) -> CmdResult<Reply> {
    match hll::selftest() {
        Ok(()) => Ok(Reply::Ok),
        Err(msg) => Err(CmdError::Custom(format!("ERR {msg}"))),
    }
}

#[cfg(test)]
#[path = "hll_tests.rs"]
mod tests;
