//! Strings: GET/SET and friends, counters, ranges, MGET/MSET, LCS.

use bytes::Bytes;

use super::bitops;
use super::multikey::{fetch_strings, notifying, on_key, per_key, split_run, Merge};
use super::numbers::{incrbyfloat, parse_i64};
use crate::command::table::TableBuilder;
use crate::command::{ExecCtx, LocalBoxFuture};
use crate::error::{CmdError, CmdResult};
use crate::protocol::Reply;
use crate::pubsub::notify::class as nc;
use crate::shard::value::{CBytes, Value};

pub fn register(t: &mut TableBuilder) {
    t.keyed("get", get);
    t.keyed("set", set);
    t.keyed("setnx", setnx);
    t.keyed("setex", setex);
    t.keyed("psetex", psetex);
    t.keyed("getset", getset);
    t.keyed("getex", getex);
    t.keyed("getdel", getdel);
    t.multi("mget", mget, mget_cross);
    t.multi("mset", mset, mset_cross);
    t.multi("msetnx", msetnx, msetnx_cross);
    t.keyed("append", append);
    t.keyed("strlen", strlen);
    t.keyed("incr", incr);
    t.keyed("decr", decr);
    t.keyed("incrby", incrby);
    t.keyed("decrby", decrby);
    t.keyed("incrbyfloat", incrbyfloat_cmd);
    t.keyed("getrange", getrange);
    t.keyed("substr", getrange);
    t.keyed("setrange", setrange);
    t.multi("lcs", lcs, lcs_cross);
}

fn get(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::from_opt_bytes(ctx.get_str(&a[1])?))
}

/// Expiry options shared by SET and GETEX.
#[derive(Clone, Copy, PartialEq)]
enum Ttl {
    None,
    At(u64),
    Keep,
    Persist,
}

/// Parse `EX|PX|EXAT|PXAT <n>` at a[i]; returns the absolute ms time.
fn parse_expire(ctx: &ExecCtx, unit: &[u8], n: &[u8], cmd: &str) -> CmdResult<u64> {
    let v = parse_i64(n)?;
    let invalid = || CmdError::Custom(format!("ERR invalid expire time in '{cmd}' command"));
    if v <= 0 {
        return Err(invalid());
    }
    let ms = if unit.eq_ignore_ascii_case(b"ex") || unit.eq_ignore_ascii_case(b"exat") {
        v.checked_mul(1000).ok_or_else(invalid)?
    } else {
        v
    };
    let abs = if unit.eq_ignore_ascii_case(b"ex") || unit.eq_ignore_ascii_case(b"px") {
        (ctx.now as i64).checked_add(ms).ok_or_else(invalid)?
    } else {
        ms
    };
    Ok(abs as u64)
}

/// Which of EX/PX/EXAT/PXAT an option is.
fn expire_unit(o: &[u8]) -> Option<usize> {
    ["ex", "px", "exat", "pxat"]
        .iter()
        .position(|u| o.eq_ignore_ascii_case(u.as_bytes()))
}

fn set(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let (mut nx, mut xx, mut get, mut keep) = (false, false, false, false);
    // (unit, argument index): the same unit may repeat (the last wins), two different
    // ones may not; the number is checked once every option has been read.
    let mut expire: Option<(usize, usize)> = None;
    let mut i = 3;
    while i < a.len() {
        let o = &a[i];
        let has_next = i + 1 < a.len();
        if o.eq_ignore_ascii_case(b"nx") && !xx {
            nx = true;
        } else if o.eq_ignore_ascii_case(b"xx") && !nx {
            xx = true;
        } else if o.eq_ignore_ascii_case(b"get") {
            get = true;
        } else if o.eq_ignore_ascii_case(b"keepttl") && expire.is_none() {
            keep = true;
        } else if let Some(u) =
            expire_unit(o).filter(|u| !keep && expire.is_none_or(|(e, _)| e == *u) && has_next)
        {
            expire = Some((u, i + 1));
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    let ttl = match expire {
        Some((_, at)) => Ttl::At(parse_expire(ctx, &a[at - 1], &a[at], "set")?),
        None if keep => Ttl::Keep,
        None => Ttl::None,
    };
    let key = &a[1];
    let old = if get { Some(ctx.get_str(key)?) } else { None };
    let exists = match &old {
        Some(o) => o.is_some(),
        None => ctx.exists(key),
    };
    if (nx && exists) || (xx && !exists) {
        return Ok(match old {
            Some(o) => Reply::from_opt_bytes(o),
            None => Reply::Nil,
        });
    }
    let (at, keep) = match ttl {
        Ttl::At(t) => (t, false),
        Ttl::Keep => (0, true),
        _ => (0, false),
    };
    ctx.set_value(key, Value::str(&a[2]), at, keep);
    notify_set(ctx, key, at);
    Ok(match old {
        Some(o) => Reply::from_opt_bytes(o),
        None => Reply::Ok,
    })
}

/// Redis's events of a string write: `set`, and `expire` when it set a TTL.
fn notify_set(ctx: &mut ExecCtx, key: &[u8], expire_at: u64) {
    ctx.notify(nc::STRING, "set", key);
    if expire_at != 0 {
        ctx.notify(nc::GENERIC, "expire", key);
    }
}

fn setnx(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    if ctx.exists(&a[1]) {
        return Ok(Reply::Int(0));
    }
    ctx.set_value(&a[1], Value::str(&a[2]), 0, false);
    notify_set(ctx, &a[1], 0);
    Ok(Reply::Int(1))
}

fn setex_generic(ctx: &mut ExecCtx, a: &[Bytes], unit: &[u8], name: &str) -> CmdResult<Reply> {
    let at = parse_expire(ctx, unit, &a[2], name)?;
    ctx.set_value(&a[1], Value::str(&a[3]), at, false);
    notify_set(ctx, &a[1], at);
    Ok(Reply::Ok)
}

fn setex(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    setex_generic(ctx, a, b"ex", "setex")
}

fn psetex(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    setex_generic(ctx, a, b"px", "psetex")
}

fn getset(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let old = ctx.get_str(&a[1])?;
    ctx.set_value(&a[1], Value::str(&a[2]), 0, false);
    notify_set(ctx, &a[1], 0);
    Ok(Reply::from_opt_bytes(old))
}

fn getex(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let mut persist = false;
    let mut expire: Option<(usize, usize)> = None;
    let mut i = 2;
    while i < a.len() {
        let o = &a[i];
        if let Some(u) = expire_unit(o)
            .filter(|u| !persist && expire.is_none_or(|(e, _)| e == *u) && i + 1 < a.len())
        {
            expire = Some((u, i + 1));
            i += 1;
        } else if o.eq_ignore_ascii_case(b"persist") && expire.is_none() {
            persist = true;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    let key = &a[1];
    // Redis looks the key up before it checks the expire time.
    let Some(v) = ctx.get_str(key)? else {
        return Ok(Reply::Nil);
    };
    let ttl = match expire {
        Some((_, at)) => Ttl::At(parse_expire(ctx, &a[at - 1], &a[at], "getex")?),
        None if persist => Ttl::Persist,
        None => Ttl::None,
    };
    match ttl {
        Ttl::At(t) if t <= ctx.now => {
            ctx.delete(key);
            ctx.notify(nc::GENERIC, "del", key);
        }
        Ttl::At(t) => {
            ctx.db().set_expire(key, t);
            ctx.modified(key);
            ctx.notify(nc::GENERIC, "expire", key);
        }
        Ttl::Persist => {
            if ctx.db().get_raw(key).is_some_and(|e| e.expire_at != 0) {
                ctx.db().set_expire(key, 0);
                ctx.modified(key);
                ctx.notify(nc::GENERIC, "persist", key);
            }
        }
        _ => {}
    }
    Ok(Reply::Bulk(v))
}

fn getdel(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let v = ctx.get_str(&a[1])?;
    if v.is_some() {
        ctx.delete(&a[1]);
        ctx.notify(nc::GENERIC, "del", &a[1]);
    }
    Ok(Reply::from_opt_bytes(v))
}

fn mget(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let mut out = Vec::with_capacity(a.len() - 1);
    for k in &a[1..] {
        // MGET answers nil for a key of another type.
        out.push(Reply::from_opt_bytes(ctx.get_str(k).unwrap_or(None)));
    }
    Ok(Reply::Array(out))
}

fn mget_cross(db: u16, args: Vec<Bytes>) -> LocalBoxFuture<'static, Reply> {
    Box::pin(split_run(db, args, 1, Merge::Concat))
}

/// MSET and MSETNX take key/value pairs from a[1].
fn check_pairs(a: &[Bytes]) -> CmdResult<()> {
    super::check_pairs(a, 1)
}

fn mset(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    check_pairs(a)?;
    for kv in a[1..].chunks_exact(2) {
        ctx.set_value(&kv[0], Value::str(&kv[1]), 0, false);
        notify_set(ctx, &kv[0], 0);
    }
    Ok(Reply::Ok)
}

fn mset_cross(db: u16, args: Vec<Bytes>) -> LocalBoxFuture<'static, Reply> {
    Box::pin(async move {
        if let Err(e) = check_pairs(&args) {
            return Reply::error(&e);
        }
        split_run(db, args, 2, Merge::Ok).await
    })
}

fn msetnx(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    check_pairs(a)?;
    for kv in a[1..].chunks_exact(2) {
        if ctx.exists(&kv[0]) {
            return Ok(Reply::Int(0));
        }
    }
    for kv in a[1..].chunks_exact(2) {
        ctx.set_value(&kv[0], Value::str(&kv[1]), 0, false);
        notify_set(ctx, &kv[0], 0);
    }
    Ok(Reply::Int(1))
}

fn msetnx_cross(db: u16, args: Vec<Bytes>) -> LocalBoxFuture<'static, Reply> {
    Box::pin(async move {
        if let Err(e) = check_pairs(&args) {
            return Reply::error(&e);
        }
        // Locks are held: the existence check and the writes are one atomic step. The
        // check is MSETNX's own, as on one shard: no `keymiss`, no hit/miss stats.
        let keys: Vec<Bytes> = args[1..].iter().step_by(2).cloned().collect();
        let found = if notifying() {
            // Redis looks the keys up in order and stops at the first that exists: a key
            // after it is not looked at, so its lazy expiry (`expired`) comes later.
            let mut any = false;
            for k in keys {
                if on_key(db, k, |ctx, k| ctx.exists(k)).await {
                    any = true;
                    break;
                }
            }
            any
        } else {
            per_key(db, keys, |ctx, k| ctx.exists(k))
                .await
                .contains(&true)
        };
        if found {
            return Reply::Int(0);
        }
        let mut mset_args = args;
        mset_args[0] = Bytes::from_static(b"MSET");
        match split_run(db, mset_args, 2, Merge::Ok).await {
            Reply::Ok => Reply::Int(1),
            other => other,
        }
    })
}

fn append(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let max = ctx.shard.cfg.get_i64("proto-max-bulk-len") as u64;
    let key = &a[1];
    match ctx.peek_str(key)? {
        Some(s) => {
            bitops::check_string_length(s.len(), a[2].len(), max)?;
            let mut v = Vec::with_capacity(s.len() + a[2].len());
            v.extend_from_slice(s);
            v.extend_from_slice(&a[2]);
            let len = v.len();
            ctx.put_str(key, CBytes::from_vec(v), true);
            ctx.notify(nc::STRING, "append", key);
            Ok(Reply::Int(len as i64))
        }
        None => {
            ctx.set_value(key, Value::str(&a[2]), 0, false);
            ctx.notify(nc::STRING, "append", key);
            Ok(Reply::Int(a[2].len() as i64))
        }
    }
}

fn strlen(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Int(
        ctx.get_str(&a[1])?.map_or(0, |v| v.len() as i64),
    ))
}

fn incr_by(ctx: &mut ExecCtx, key: &Bytes, by: i64) -> CmdResult<Reply> {
    let cur = match ctx.peek_str(key)? {
        Some(s) => super::numbers::string2ll(s).ok_or(CmdError::NotInteger)?,
        None => 0,
    };
    let new = cur.checked_add(by).ok_or(CmdError::Overflow)?;
    let mut buf = itoa::Buffer::new();
    ctx.put_str(key, CBytes::from_slice(buf.format(new).as_bytes()), false);
    ctx.notify(nc::STRING, "incrby", key);
    Ok(Reply::Int(new))
}

fn incr(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    incr_by(ctx, &a[1], 1)
}

fn decr(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    incr_by(ctx, &a[1], -1)
}

fn incrby(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let by = parse_i64(&a[2])?;
    incr_by(ctx, &a[1], by)
}

fn decrby(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let by = parse_i64(&a[2])?;
    let by = by
        .checked_neg()
        .ok_or_else(|| CmdError::err("decrement would overflow"))?;
    incr_by(ctx, &a[1], by)
}

fn incrbyfloat_cmd(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let key = &a[1];
    let cur = ctx.peek_str(key)?.map(|s| s.to_bytes());
    let text = Bytes::from(incrbyfloat(cur.as_deref(), &a[2])?);
    ctx.set_value_ext(
        key,
        Value::Str(CBytes::from_slice(&text)),
        0,
        true,
        crate::shard::value::Enc::NoInt,
    );
    ctx.notify(nc::STRING, "incrbyfloat", key);
    // Replicas must not recompute the float: the effect is the resulting value.
    ctx.propagate_as(vec![
        Bytes::from_static(b"SET"),
        key.clone(),
        text.clone(),
        Bytes::from_static(b"KEEPTTL"),
    ]);
    Ok(Reply::Bulk(text))
}

fn getrange(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let start = parse_i64(&a[2])?;
    let end = parse_i64(&a[3])?;
    let v = ctx.get_str(&a[1])?.unwrap_or_default();
    let r = bitops::getrange(&v, start, end);
    Ok(Reply::Bulk(v.slice_ref(r)))
}

fn setrange(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let key = &a[1];
    let offset = bitops::parse_setrange_offset(&a[2])?;
    let data = &a[3];
    let max = ctx.shard.cfg.get_i64("proto-max-bulk-len") as u64;
    match ctx.peek_str(key)? {
        Some(s) => {
            if data.is_empty() {
                return Ok(Reply::Int(s.len() as i64));
            }
            bitops::check_string_length(offset, data.len(), max)?;
            let mut v = s.to_vec();
            bitops::setrange(&mut v, offset, data);
            let len = v.len();
            ctx.put_str(key, CBytes::from_vec(v), true);
            ctx.notify(nc::STRING, "setrange", key);
            Ok(Reply::Int(len as i64))
        }
        None => {
            if data.is_empty() {
                return Ok(Reply::Int(0));
            }
            bitops::check_string_length(offset, data.len(), max)?;
            let mut v = Vec::new();
            bitops::setrange(&mut v, offset, data);
            let len = v.len();
            ctx.put_str(key, CBytes::from_vec(v), true);
            ctx.notify(nc::STRING, "setrange", key);
            Ok(Reply::Int(len as i64))
        }
    }
}

fn lcs_wrongtype(e: CmdError) -> CmdError {
    match e {
        CmdError::WrongType => CmdError::Custom(super::lcs::LCS_WRONGTYPE.into()),
        other => other,
    }
}

fn lcs(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let x = ctx
        .get_str(&a[1])
        .map_err(lcs_wrongtype)?
        .unwrap_or_default();
    let y = ctx
        .get_str(&a[2])
        .map_err(lcs_wrongtype)?
        .unwrap_or_default();
    super::lcs::lcs(&x, &y, &a[3..])
}

fn lcs_cross(db: u16, args: Vec<Bytes>) -> LocalBoxFuture<'static, Reply> {
    Box::pin(async move {
        let vals = match fetch_strings(db, vec![args[1].clone(), args[2].clone()]).await {
            Ok(v) => v,
            Err(e) => return Reply::error(&lcs_wrongtype(e)),
        };
        let x = vals[0].clone().unwrap_or_default();
        let y = vals[1].clone().unwrap_or_default();
        super::lcs::lcs(&x, &y, &args[3..]).into()
    })
}

#[cfg(test)]
#[path = "strings_model_tests.rs"]
mod model_tests;
