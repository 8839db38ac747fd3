//! The keyspace: DEL, EXISTS, TYPE, RENAME, COPY, MOVE, expiry commands, OBJECT, SCAN, KEYS.

use bytes::Bytes;

use super::multikey::{notify_here, on_key, split_run, Merge};
use super::numbers::parse_i64;
use crate::command::table::TableBuilder;
use crate::command::{ExecCtx, LocalBoxFuture};
use crate::error::{CmdError, CmdResult};
use crate::protocol::Reply;
use crate::pubsub::notify::class as nc;
use crate::shard::access;
use crate::shard::db::Entry;

pub fn register(t: &mut TableBuilder) {
    t.multi("del", del, |db, a| sum_cross(db, a));
    t.multi("unlink", del, |db, a| sum_cross(db, a));
    t.multi("exists", exists, |db, a| sum_cross(db, a));
    t.multi("touch", touch, |db, a| sum_cross(db, a));
    t.keyed("type", type_cmd);
    t.multi("rename", rename, rename_cross);
    t.multi("renamenx", rename, rename_cross);
    t.multi("copy", copy, copy_cross);
    t.keyed("move", move_cmd);
    t.keyed("expire", expire);
    t.keyed("pexpire", expire);
    t.keyed("expireat", expire);
    t.keyed("pexpireat", expire);
    t.keyed("ttl", ttl);
    t.keyed("pttl", ttl);
    t.keyed("expiretime", ttl);
    t.keyed("pexpiretime", ttl);
    t.keyed("persist", persist);
    t.keyed("object|encoding", object);
    t.keyed("object|freq", object);
    t.keyed("object|idletime", object);
    t.keyed("object|refcount", object);
    t.conn_sync("object|help", object_help);
    t.keyed("memory|usage", memory_usage);
}

fn sum_cross(db: u16, args: Vec<Bytes>) -> LocalBoxFuture<'static, Reply> {
    Box::pin(split_run(db, args, 1, Merge::Sum))
}

fn del(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let mut n = 0;
    for k in &a[1..] {
        if ctx.delete(k) {
            ctx.notify(nc::GENERIC, "del", k);
            n += 1;
        }
    }
    Ok(Reply::Int(n))
}

fn exists(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let mut n = 0;
    for k in &a[1..] {
        if ctx.lookup_notouch(k).is_some() {
            n += 1;
        }
    }
    Ok(Reply::Int(n))
}

fn touch(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let mut n = 0;
    for k in &a[1..] {
        if ctx.lookup_read(k).is_some() {
            n += 1;
        }
    }
    Ok(Reply::Int(n))
}

fn type_cmd(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let t = match ctx.peek(&a[1]) {
        Some(e) => e.value.type_name(),
        None => "none",
    };
    Ok(Reply::simple(t))
}

fn is_nx(a: &[Bytes]) -> bool {
    a[0].eq_ignore_ascii_case(b"renamenx")
}

fn rename(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let nx = is_nx(a);
    let (src, dst) = (&a[1], &a[2]);
    let Some(entry) = ctx.lookup_write(src).map(|e| e.clone()) else {
        return Err(CmdError::NoSuchKey);
    };
    if src == dst {
        return Ok(if nx { Reply::Int(0) } else { Reply::Ok });
    }
    if nx && ctx.exists(dst) {
        return Ok(Reply::Int(0));
    }
    ctx.delete(src);
    put_entry(ctx, dst, entry);
    ctx.notify(nc::GENERIC, "rename_from", src);
    ctx.notify(nc::GENERIC, "rename_to", dst);
    Ok(if nx { Reply::Int(1) } else { Reply::Ok })
}

/// Store a whole entry (value, expiry, encoding) under `key`, replacing what was there.
/// Like Redis (delete, then add), a replaced key is a new one: `new` fires either way.
fn put_entry(ctx: &mut ExecCtx, key: &Bytes, entry: Entry) {
    ctx.delete(key);
    let at = entry.expire_at;
    ctx.set_value_ext(key, entry.value, at, false, entry.enc);
}

fn rename_cross(db: u16, args: Vec<Bytes>) -> LocalBoxFuture<'static, Reply> {
    Box::pin(async move {
        let nx = is_nx(&args);
        let (src, dst) = (args[1].clone(), args[2].clone());
        if nx {
            // Redis looks the source up first: a missing (or just expired) source is an
            // error even for NX, and the destination is then never looked at.
            if !on_key(db, src.clone(), |ctx, k| ctx.lookup_write(k).is_some()).await {
                return Reply::error(&CmdError::NoSuchKey);
            }
            if on_key(db, dst.clone(), |ctx, k| ctx.exists(k)).await {
                return Reply::Int(0);
            }
        }
        let taken = on_key(db, src.clone(), |ctx, k| {
            let e = ctx.lookup_write(k).map(|e| e.clone());
            if e.is_some() {
                ctx.delete(k);
            }
            e
        })
        .await;
        let Some(entry) = taken else {
            return Reply::error(&CmdError::NoSuchKey);
        };
        on_key(db, dst.clone(), move |ctx, k| put_entry(ctx, k, entry)).await;
        // Redis's order: the destination's `new`, then `rename_from`, then `rename_to`.
        notify_here(db, nc::GENERIC, "rename_from", &src);
        notify_here(db, nc::GENERIC, "rename_to", &dst);
        if nx {
            Reply::Int(1)
        } else {
            Reply::Ok
        }
    })
}

struct CopyOpts {
    dst_db: Option<u16>,
    replace: bool,
}

fn copy_opts(a: &[Bytes], ndb: usize) -> CmdResult<CopyOpts> {
    let mut o = CopyOpts {
        dst_db: None,
        replace: false,
    };
    let mut i = 3;
    while i < a.len() {
        if a[i].eq_ignore_ascii_case(b"replace") {
            o.replace = true;
        } else if a[i].eq_ignore_ascii_case(b"db") && i + 1 < a.len() {
            let d = parse_i64(&a[i + 1])?;
            if d < 0 || d as usize >= ndb {
                return Err(CmdError::err("DB index is out of range"));
            }
            o.dst_db = Some(d as u16);
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    Ok(o)
}

fn copy(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let o = copy_opts(a, ctx.shard.dbs.len())?;
    let dst_db = o.dst_db.unwrap_or(ctx.db);
    if a[1] == a[2] && dst_db == ctx.db {
        return Err(CmdError::err("source and destination objects are the same"));
    }
    // A read lookup, as in Redis: a missing source fires `keymiss`.
    let Some(entry) = ctx.lookup_read(&a[1]).map(|e| e.clone()) else {
        return Ok(Reply::Int(0));
    };
    let src_db = ctx.db;
    ctx.db = dst_db;
    let exists = ctx.exists(&a[2]);
    if exists && !o.replace {
        ctx.db = src_db;
        return Ok(Reply::Int(0));
    }
    put_entry(ctx, &a[2], entry);
    ctx.notify(nc::GENERIC, "copy_to", &a[2]);
    ctx.db = src_db;
    Ok(Reply::Int(1))
}

fn copy_cross(db: u16, args: Vec<Bytes>) -> LocalBoxFuture<'static, Reply> {
    Box::pin(async move {
        let ndb = crate::server::server().config().databases();
        let o = match copy_opts(&args, ndb) {
            Ok(o) => o,
            Err(e) => return Reply::error(&e),
        };
        let Some(entry) = super::multikey::read_entry(db, args[1].clone()).await else {
            return Reply::Int(0);
        };
        let dst_db = o.dst_db.unwrap_or(db);
        let replace = o.replace;
        Reply::Int(
            on_key(dst_db, args[2].clone(), move |ctx, k| {
                if ctx.exists(k) && !replace {
                    return 0;
                }
                put_entry(ctx, k, entry);
                ctx.notify(nc::GENERIC, "copy_to", k);
                1
            })
            .await,
        )
    })
}

fn move_cmd(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let d =
        parse_i64(&a[2]).map_err(|_| CmdError::err("value is not an integer or out of range"))?;
    if d < 0 || d as usize >= ctx.shard.dbs.len() {
        return Err(CmdError::err("DB index is out of range"));
    }
    let d = d as u16;
    if d == ctx.db {
        return Err(CmdError::err("source and destination objects are the same"));
    }
    let Some(entry) = ctx.lookup_write(&a[1]).map(|e| e.clone()) else {
        return Ok(Reply::Int(0));
    };
    let src = ctx.db;
    ctx.db = d;
    if ctx.exists(&a[1]) {
        ctx.db = src;
        return Ok(Reply::Int(0));
    }
    put_entry(ctx, &a[1], entry);
    ctx.db = src;
    ctx.delete(&a[1]);
    ctx.notify(nc::GENERIC, "move_from", &a[1]);
    ctx.notify_db(nc::GENERIC, "move_to", d, &a[1]);
    Ok(Reply::Int(1))
}

fn expire(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let name = String::from_utf8_lossy(&a[0]).to_ascii_lowercase();
    let (secs, abs) = match name.as_str() {
        "expire" => (true, false),
        "pexpire" => (false, false),
        "expireat" => (true, true),
        _ => (false, true),
    };
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for o in &a[3..] {
        if o.eq_ignore_ascii_case(b"nx") {
            nx = true;
        } else if o.eq_ignore_ascii_case(b"xx") {
            xx = true;
        } else if o.eq_ignore_ascii_case(b"gt") {
            gt = true;
        } else if o.eq_ignore_ascii_case(b"lt") {
            lt = true;
        } else {
            return Err(CmdError::Custom(format!(
                "ERR Unsupported option {}",
                String::from_utf8_lossy(o)
            )));
        }
    }
    if nx && (xx || gt || lt) {
        return Err(CmdError::err(
            "NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if gt && lt {
        return Err(CmdError::err(
            "GT and LT options at the same time are not compatible",
        ));
    }
    let v = parse_i64(&a[2])?;
    let invalid = || CmdError::Custom(format!("ERR invalid expire time in '{name}' command"));
    let ms = if secs {
        v.checked_mul(1000).ok_or_else(invalid)?
    } else {
        v
    };
    let when = if abs {
        ms
    } else {
        ms.checked_add(ctx.now as i64).ok_or_else(invalid)?
    };
    let key = &a[1];
    let Some(e) = ctx.lookup_write(key) else {
        return Ok(Reply::Int(0));
    };
    let cur = e.expire_at;
    if (nx && cur != 0) || (xx && cur == 0) {
        return Ok(Reply::Int(0));
    }
    if gt && (cur == 0 || when <= cur as i64) {
        return Ok(Reply::Int(0));
    }
    if lt && cur != 0 && when >= cur as i64 {
        return Ok(Reply::Int(0));
    }
    if when <= ctx.now as i64 {
        ctx.delete(key);
        ctx.notify(nc::GENERIC, "del", key);
        ctx.propagate_as(vec![Bytes::from_static(b"DEL"), key.clone()]);
        return Ok(Reply::Int(1));
    }
    ctx.db().set_expire(key, when as u64);
    ctx.modified(key);
    ctx.notify(nc::GENERIC, "expire", key);
    ctx.propagate_as(vec![
        Bytes::from_static(b"PEXPIREAT"),
        key.clone(),
        Bytes::from(when.to_string()),
    ]);
    Ok(Reply::Int(1))
}

fn ttl(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let name = a[0].to_ascii_lowercase();
    let now = ctx.now;
    let Some(e) = ctx.peek(&a[1]) else {
        return Ok(Reply::Int(-2));
    };
    if e.expire_at == 0 {
        return Ok(Reply::Int(-1));
    }
    let at = e.expire_at;
    let left = at.saturating_sub(now);
    Ok(Reply::Int(match name.as_slice() {
        b"ttl" => ((left + 500) / 1000) as i64,
        b"pttl" => left as i64,
        b"expiretime" => ((at + 500) / 1000) as i64,
        _ => at as i64,
    }))
}

fn persist(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let Some(e) = ctx.lookup_write(&a[1]) else {
        return Ok(Reply::Int(0));
    };
    if e.expire_at == 0 {
        return Ok(Reply::Int(0));
    }
    ctx.db().set_expire(&a[1], 0);
    ctx.modified(&a[1]);
    ctx.notify(nc::GENERIC, "persist", &a[1]);
    Ok(Reply::Int(1))
}

fn object(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let sub = a[1].to_ascii_lowercase();
    let tun = ctx.shard.tun;
    // Small integers are shared objects in Redis unless an LRU/LFU policy needs
    // per-key access data.
    let policy = ctx.shard.cfg.maxmemory_policy();
    let shared_ints = tun.maxmemory == 0 || !(policy.contains("lru") || policy.contains("lfu"));
    let Some(e) = ctx.peek(&a[2]) else {
        return Ok(Reply::Nil);
    };
    Ok(match sub.as_slice() {
        b"encoding" => Reply::Bulk(Bytes::from_static(e.encoding().as_bytes())),
        b"refcount" => {
            let small = match &e.value {
                crate::shard::value::Value::Str(s) => {
                    e.encoding() == "int"
                        && crate::shard::value::parse_strict_i64(s)
                            .is_some_and(|v| (0..10_000).contains(&v))
                }
                _ => false,
            };
            Reply::Int(if small && shared_ints { 2147483647 } else { 1 })
        }
        b"idletime" => {
            if tun.lfu {
                return Err(CmdError::err("An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."));
            }
            Reply::Int(access::idle_secs(e.access) as i64)
        }
        _ => {
            if !tun.lfu {
                return Err(CmdError::err("An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."));
            }
            Reply::Int(access::lfu_decayed(e.access, tun.lfu_decay_time) as i64)
        }
    })
}

fn object_help(_c: &mut crate::net::client::Client, _a: &[Bytes]) -> Reply {
    super::help::help("object")
}

fn memory_usage(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    if a.len() > 3 {
        if a.len() != 5 || !a[3].eq_ignore_ascii_case(b"samples") {
            return Err(CmdError::Syntax);
        }
        if parse_i64(&a[4])? < 0 {
            return Err(CmdError::Syntax);
        }
    }
    let Some(e) = ctx.peek(&a[2]) else {
        return Ok(Reply::Nil);
    };
    // dict entry + key + entry header + payload, rounded like an allocator would.
    let n = 24 + a[2].len() + std::mem::size_of::<Entry>() + e.value.mem_usage();
    Ok(Reply::Int(((n + 7) & !7) as i64))
}
