//! Lists (non-blocking): LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP LLEN LRANGE LINDEX LSET LREM
//! LTRIM LINSERT LPOS LMOVE RPOPLPUSH LMPOP.
//!
//! The order of checks (arguments, key lookup, type) follows Redis's t_list.c for each
//! command, because it decides which error a bad call gets.

use bytes::Bytes;

use super::multikey::{on_key, on_key_held};
use super::numbers::parse_i64;
use crate::command::table::TableBuilder;
use crate::command::{ExecCtx, LocalBoxFuture};
use crate::error::{CmdError, CmdResult};
use crate::protocol::encode::BulkArray;
use crate::protocol::Reply;
use crate::pubsub::notify::class as nc;
use crate::shard::db::Entry;
use crate::shard::value::Value;
use crate::types::list::{End, List};

pub fn register(t: &mut TableBuilder) {
    t.keyed("lpush", lpush);
    t.keyed("rpush", rpush);
    t.keyed("lpushx", lpushx);
    t.keyed("rpushx", rpushx);
    t.keyed("lpop", lpop);
    t.keyed("rpop", rpop);
    t.keyed("llen", llen);
    t.keyed("lrange", lrange);
    t.keyed("lindex", lindex);
    t.keyed("lset", lset);
    t.keyed("lrem", lrem);
    t.keyed("ltrim", ltrim);
    t.keyed("linsert", linsert);
    t.keyed("lpos", lpos);
    t.multi("lmove", lmove, lmove_cross);
    t.multi("rpoplpush", rpoplpush, rpoplpush_cross);
    t.multi("lmpop", lmpop, lmpop_cross);
}

fn fill(ctx: &ExecCtx) -> i64 {
    ctx.shard.tun.list_fill
}

/// The list at `key` for writing: None if missing, WRONGTYPE if another type.
pub(crate) fn list_mut<'c>(ctx: &'c mut ExecCtx, key: &[u8]) -> CmdResult<Option<&'c mut List>> {
    match ctx.lookup_write(key) {
        None => Ok(None),
        Some(Entry {
            value: Value::List(l),
            ..
        }) => Ok(Some(l)),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// The list at `key` for reading (hit/miss stats).
fn list_read<'c>(ctx: &'c mut ExecCtx, key: &[u8]) -> CmdResult<Option<&'c mut List>> {
    match ctx.lookup_read(key) {
        None => Ok(None),
        Some(Entry {
            value: Value::List(l),
            ..
        }) => Ok(Some(l)),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// After a change: notify `event`, then delete the key if the list became empty
/// (notifying `del`, as Redis does) or else mark it modified.
fn after_change(ctx: &mut ExecCtx, key: &[u8], event: &'static str) {
    ctx.notify(nc::LIST, event, key);
    let empty = matches!(ctx.peek(key), Some(Entry { value: Value::List(l), .. }) if l.is_empty());
    if empty {
        ctx.delete(key);
        ctx.notify(nc::GENERIC, "del", key);
    } else {
        ctx.modified(key);
    }
}

fn push_event(end: End) -> &'static str {
    if end == End::Left {
        "lpush"
    } else {
        "rpush"
    }
}

fn pop_event(end: End) -> &'static str {
    if end == End::Left {
        "lpop"
    } else {
        "rpop"
    }
}

pub(crate) fn parse_end(a: &[u8]) -> CmdResult<End> {
    if a.eq_ignore_ascii_case(b"left") {
        Ok(End::Left)
    } else if a.eq_ignore_ascii_case(b"right") {
        Ok(End::Right)
    } else {
        Err(CmdError::Syntax)
    }
}

/// Push `items` at `end`, creating the list unless `only_existing`; the new length.
fn push_items(
    ctx: &mut ExecCtx,
    key: &Bytes,
    items: &[Bytes],
    end: End,
    only_existing: bool,
) -> CmdResult<i64> {
    let fill = fill(ctx);
    match list_mut(ctx, key)? {
        Some(l) => {
            for v in items {
                l.push(end, v, fill);
            }
            let n = l.len() as i64;
            ctx.modified(key);
            ctx.notify(nc::LIST, push_event(end), key);
            Ok(n)
        }
        None if only_existing => Ok(0),
        None => {
            let mut l = List::new();
            for v in items {
                l.push(end, v, fill);
            }
            let n = l.len() as i64;
            ctx.set_value(key, Value::List(Box::new(l)), 0, false);
            ctx.notify(nc::LIST, push_event(end), key);
            Ok(n)
        }
    }
}

fn lpush(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Int(push_items(
        ctx,
        &a[1],
        &a[2..],
        End::Left,
        false,
    )?))
}

fn rpush(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Int(push_items(
        ctx,
        &a[1],
        &a[2..],
        End::Right,
        false,
    )?))
}

fn lpushx(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Int(push_items(
        ctx,
        &a[1],
        &a[2..],
        End::Left,
        true,
    )?))
}

fn rpushx(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Int(push_items(
        ctx,
        &a[1],
        &a[2..],
        End::Right,
        true,
    )?))
}

/// Pop up to `count` elements from `end`; None if the key is missing.
pub(crate) fn pop_n(
    ctx: &mut ExecCtx,
    key: &[u8],
    end: End,
    count: usize,
) -> CmdResult<Option<Vec<Bytes>>> {
    let out = pop_n_deferred(ctx, key, end, count)?;
    if out.as_ref().is_some_and(|v| !v.is_empty()) {
        after_change(ctx, key, pop_event(end));
    }
    Ok(out)
}

/// `pop_n` leaving `after_change` (events, removal of an emptied list) to the caller.
fn pop_n_deferred(
    ctx: &mut ExecCtx,
    key: &[u8],
    end: End,
    count: usize,
) -> CmdResult<Option<Vec<Bytes>>> {
    let Some(l) = list_mut(ctx, key)? else {
        return Ok(None);
    };
    let mut out = Vec::with_capacity(count.min(l.len()));
    while out.len() < count {
        match l.pop(end) {
            Some(v) => out.push(v),
            None => break,
        }
    }
    Ok(Some(out))
}

fn pop_generic(ctx: &mut ExecCtx, a: &[Bytes], end: End) -> CmdResult<Reply> {
    if a.len() > 3 {
        return Err(CmdError::WrongArity(
            String::from_utf8_lossy(&a[0]).to_lowercase(),
        ));
    }
    let count = match a.get(2) {
        Some(c) => Some(parse_positive(
            c,
            "ERR value is out of range, must be positive",
        )?),
        None => None,
    };
    match count {
        None => Ok(match pop_n(ctx, &a[1], end, 1)? {
            Some(mut v) if !v.is_empty() => Reply::Bulk(v.remove(0)),
            _ => Reply::Nil,
        }),
        Some(c) => Ok(match pop_n(ctx, &a[1], end, c as usize)? {
            None => Reply::NilArray,
            Some(v) => Reply::Array(v.into_iter().map(Reply::Bulk).collect()),
        }),
    }
}

/// A non-negative integer; `msg` for both bad syntax and negatives (Redis's
/// getPositiveLongFromObjectOrReply with a message).
fn parse_positive(a: &[u8], msg: &str) -> CmdResult<i64> {
    match parse_i64(a) {
        Ok(n) if n >= 0 => Ok(n),
        _ => Err(CmdError::Custom(msg.to_string())),
    }
}

fn lpop(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    pop_generic(ctx, a, End::Left)
}

fn rpop(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    pop_generic(ctx, a, End::Right)
}

fn llen(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    Ok(Reply::Int(
        list_read(ctx, &a[1])?.map_or(0, |l| l.len() as i64),
    ))
}

/// Redis's start/end clamping (LRANGE, LTRIM): inclusive `[start, end]`, or None if empty.
fn clamp_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let start = if start < 0 {
        (start.saturating_add(len)).max(0)
    } else {
        start
    };
    let end = if end < 0 {
        end.saturating_add(len)
    } else {
        end
    };
    if start > end || start >= len {
        return None;
    }
    Some((start as usize, end.min(len - 1) as usize))
}

fn lrange(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let (start, end) = (parse_i64(&a[2])?, parse_i64(&a[3])?);
    let Some(l) = list_read(ctx, &a[1])? else {
        return Ok(Reply::Array(vec![]));
    };
    Ok(match clamp_range(start, end, l.len()) {
        Some((s, e)) => {
            let mut out = BulkArray::new(e + 1 - s, (e + 1 - s) * 8);
            l.range_each(s, e, |v| out.push(v));
            out.finish()
        }
        None => Reply::Array(vec![]),
    })
}

fn lindex(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let Some(l) = list_read(ctx, &a[1])? else {
        return Ok(Reply::Nil);
    };
    let i = parse_i64(&a[2])?;
    Ok(match l.index(i).and_then(|i| l.get(i)) {
        Some(v) => Reply::Bulk(Bytes::copy_from_slice(v)),
        None => Reply::Nil,
    })
}

fn lset(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let fill = fill(ctx);
    let Some(l) = list_mut(ctx, &a[1])? else {
        return Err(CmdError::NoSuchKey);
    };
    let i = parse_i64(&a[2])?;
    match l.index(i) {
        Some(i) => {
            l.set(i, &a[3], fill);
            ctx.modified(&a[1]);
            ctx.notify(nc::LIST, "lset", &a[1]);
            Ok(Reply::Ok)
        }
        None => Err(CmdError::err("index out of range")),
    }
}

fn lrem(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let count = parse_i64(&a[2])?;
    let fill = fill(ctx);
    let Some(l) = list_mut(ctx, &a[1])? else {
        return Ok(Reply::Int(0));
    };
    let target = &a[3][..];
    let len = l.len();
    // Indexes of the elements to drop: the first |count| matches from the chosen end.
    let limit = if count == 0 {
        usize::MAX
    } else {
        count.unsigned_abs() as usize
    };
    let mut hits: Vec<usize> = Vec::new();
    if count >= 0 {
        for (i, v) in l.iter().enumerate() {
            if hits.len() >= limit {
                break;
            }
            if v == target {
                hits.push(i);
            }
        }
    } else {
        for (i, v) in l.iter().rev().enumerate() {
            if hits.len() >= limit {
                break;
            }
            if v == target {
                hits.push(len - 1 - i);
            }
        }
        hits.reverse();
    }
    let removed = hits.len();
    if removed == 0 {
        return Ok(Reply::Int(0));
    }
    if removed == 1 {
        l.remove(hits[0], fill);
    } else {
        let mut h = hits.iter().peekable();
        l.retain(
            |i, _| {
                if h.peek() == Some(&&i) {
                    h.next();
                    false
                } else {
                    true
                }
            },
            fill,
        );
    }
    after_change(ctx, &a[1], "lrem");
    Ok(Reply::Int(removed as i64))
}

fn ltrim(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let (start, end) = (parse_i64(&a[2])?, parse_i64(&a[3])?);
    let Some(l) = list_mut(ctx, &a[1])? else {
        return Ok(Reply::Ok);
    };
    match clamp_range(start, end, l.len()) {
        Some((s, e)) => l.retain_range(s, e + 1),
        None => l.retain_range(0, 0),
    }
    after_change(ctx, &a[1], "ltrim");
    Ok(Reply::Ok)
}

fn linsert(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let after = if a[2].eq_ignore_ascii_case(b"after") {
        true
    } else if a[2].eq_ignore_ascii_case(b"before") {
        false
    } else {
        return Err(CmdError::Syntax);
    };
    let fill = fill(ctx);
    let Some(l) = list_mut(ctx, &a[1])? else {
        return Ok(Reply::Int(0));
    };
    let Some(pos) = l.iter().position(|v| v == &a[3][..]) else {
        return Ok(Reply::Int(-1));
    };
    l.insert(if after { pos + 1 } else { pos }, &a[4], fill);
    let n = l.len() as i64;
    ctx.modified(&a[1]);
    ctx.notify(nc::LIST, "linsert", &a[1]);
    Ok(Reply::Int(n))
}

fn lpos(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let (mut rank, mut count, mut maxlen) = (1i64, None::<i64>, 0i64);
    let mut i = 3;
    while i < a.len() {
        let o = &a[i];
        let more = i + 1 < a.len();
        if o.eq_ignore_ascii_case(b"rank") && more {
            i += 1;
            rank = parse_i64(&a[i])?;
            if rank == 0 {
                return Err(CmdError::err(
                    "RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
                ));
            }
        } else if o.eq_ignore_ascii_case(b"count") && more {
            i += 1;
            count = Some(parse_positive(&a[i], "ERR COUNT can't be negative")?);
        } else if o.eq_ignore_ascii_case(b"maxlen") && more {
            i += 1;
            maxlen = parse_positive(&a[i], "ERR MAXLEN can't be negative")?;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    let Some(l) = list_read(ctx, &a[1])? else {
        return Ok(if count.is_some() {
            Reply::Array(vec![])
        } else {
            Reply::Nil
        });
    };
    let target = &a[2][..];
    let want = match count {
        Some(0) => usize::MAX,
        Some(c) => c as usize,
        None => 1,
    };
    let scan = if maxlen == 0 {
        usize::MAX
    } else {
        maxlen as usize
    };
    // Redis negates the rank in a C long: LONG_MIN stays negative, so every match from
    // the tail counts, as with RANK -1.
    let mut skip = if rank == i64::MIN {
        0
    } else {
        rank.unsigned_abs() - 1
    };
    let mut found = Vec::new();
    let len = l.len();
    let mut visit = |i: usize, v: &[u8]| -> bool {
        if v == target {
            if skip > 0 {
                skip -= 1;
            } else {
                found.push(i as i64);
                return found.len() < want;
            }
        }
        true
    };
    if rank > 0 {
        for (i, v) in l.iter().enumerate().take(scan) {
            if !visit(i, v) {
                break;
            }
        }
    } else {
        for (i, v) in l.iter().rev().enumerate().take(scan) {
            if !visit(len - 1 - i, v) {
                break;
            }
        }
    }
    Ok(match count {
        Some(_) => Reply::Array(found.into_iter().map(Reply::Int).collect()),
        None => found.first().map_or(Reply::Nil, |&i| Reply::Int(i)),
    })
}

/// Check LMOVE's source and destination, then move one element (same shard).
pub(crate) fn move_local(
    ctx: &mut ExecCtx,
    src: &Bytes,
    dst: &Bytes,
    from: End,
    to: End,
) -> CmdResult<Reply> {
    if list_mut(ctx, src)?.is_none() {
        return Ok(Reply::Nil);
    }
    list_mut(ctx, dst)?;
    let Some(mut v) = pop_n_deferred(ctx, src, from, 1)? else {
        return Ok(Reply::Nil);
    };
    let Some(v) = v.pop() else {
        return Ok(Reply::Nil);
    };
    // Redis's order: the push on the destination, then the pop on the source (and its
    // removal if it became empty).
    push_items(ctx, dst, std::slice::from_ref(&v), to, false)?;
    after_change(ctx, src, pop_event(from));
    Ok(Reply::Bulk(v))
}

fn lmove(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let (from, to) = (parse_end(&a[3])?, parse_end(&a[4])?);
    move_local(ctx, &a[1], &a[2], from, to)
}

fn rpoplpush(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    move_local(ctx, &a[1], &a[2], End::Right, End::Left)
}

/// LMOVE over two shards: the dispatcher holds both keys' locks, so the checks, the pop
/// and the push are one atomic step to every other client.
pub(crate) async fn move_cross(db: u16, src: Bytes, dst: Bytes, from: End, to: End) -> Reply {
    let src_state = on_key(db, src.clone(), |ctx, k| {
        list_mut(ctx, k).map(|l| l.is_some())
    })
    .await;
    match src_state {
        Err(e) => return Reply::error(&e),
        Ok(false) => return Reply::Nil,
        Ok(true) => {}
    }
    if let Err(e) = on_key(db, dst.clone(), |ctx, k| list_mut(ctx, k).map(|_| ())).await {
        return Reply::error(&e);
    }
    // Redis's order is the push on the destination, then the pop on the source (and the
    // `del` of an emptied source): the pop's notifications wait for the push.
    let (popped, pop_events) = on_key_held(db, src, move |ctx, k| pop_n(ctx, k, from, 1)).await;
    let v = match popped {
        Ok(Some(mut v)) => match v.pop() {
            Some(v) => v,
            None => return Reply::Nil,
        },
        Ok(None) => return Reply::Nil,
        Err(e) => return Reply::error(&e),
    };
    let pushed = v.clone();
    let r = on_key(db, dst, move |ctx, k| {
        push_items(ctx, k, &[pushed], to, false)
    })
    .await;
    pop_events.publish();
    match r {
        Ok(_) => Reply::Bulk(v),
        Err(e) => Reply::error(&e),
    }
}

fn lmove_cross(db: u16, a: Vec<Bytes>) -> LocalBoxFuture<'static, Reply> {
    Box::pin(async move {
        let (from, to) = match (parse_end(&a[3]), parse_end(&a[4])) {
            (Ok(f), Ok(t)) => (f, t),
            _ => return Reply::error(&CmdError::Syntax),
        };
        move_cross(db, a[1].clone(), a[2].clone(), from, to).await
    })
}

fn rpoplpush_cross(db: u16, a: Vec<Bytes>) -> LocalBoxFuture<'static, Reply> {
    Box::pin(move_cross(
        db,
        a[1].clone(),
        a[2].clone(),
        End::Right,
        End::Left,
    ))
}

/// LMPOP's parsed arguments: keys, end, count.
pub(crate) fn parse_lmpop(a: &[Bytes]) -> CmdResult<(Vec<Bytes>, End, usize)> {
    let bad_numkeys = || CmdError::err("numkeys should be greater than 0");
    let numkeys = parse_i64(&a[1]).map_err(|_| bad_numkeys())?;
    if numkeys <= 0 {
        return Err(bad_numkeys());
    }
    let where_at = (numkeys as u64).saturating_add(2);
    if where_at >= a.len() as u64 {
        return Err(CmdError::Syntax);
    }
    let where_at = where_at as usize;
    let end = parse_end(&a[where_at])?;
    let mut count = None;
    let mut i = where_at + 1;
    while i < a.len() {
        if count.is_none() && a[i].eq_ignore_ascii_case(b"count") && i + 1 < a.len() {
            i += 1;
            let bad = || CmdError::err("count should be greater than 0");
            let c = parse_i64(&a[i]).map_err(|_| bad())?;
            if c <= 0 {
                return Err(bad());
            }
            count = Some(c as usize);
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    Ok((a[2..where_at].to_vec(), end, count.unwrap_or(1)))
}

/// Pop from `key` if it holds a list, propagated as LPOP/RPOP key count.
pub(crate) fn mpop_one(
    ctx: &mut ExecCtx,
    key: &Bytes,
    end: End,
    count: usize,
) -> CmdResult<Option<Reply>> {
    match pop_n(ctx, key, end, count)? {
        Some(v) if !v.is_empty() => {
            let name = if end == End::Left { "LPOP" } else { "RPOP" };
            let n = v.len().to_string();
            ctx.propagate_as(vec![
                Bytes::from_static(name.as_bytes()),
                key.clone(),
                Bytes::from(n),
            ]);
            let items = v.into_iter().map(Reply::Bulk).collect();
            Ok(Some(Reply::Array(vec![
                Reply::Bulk(key.clone()),
                Reply::Array(items),
            ])))
        }
        _ => Ok(None),
    }
}

fn lmpop(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let (keys, end, count) = parse_lmpop(a)?;
    for k in &keys {
        if let Some(r) = mpop_one(ctx, k, end, count)? {
            return Ok(r);
        }
    }
    Ok(Reply::NilArray)
}

fn lmpop_cross(db: u16, a: Vec<Bytes>) -> LocalBoxFuture<'static, Reply> {
    Box::pin(async move {
        match parse_lmpop(&a) {
            Ok((keys, end, count)) => mpop_cross(db, keys, end, count).await,
            Err(e) => Reply::error(&e),
        }
    })
}

/// LMPOP's pop over keys on several shards (BLMPOP too): keys in order, one hop each;
/// the first non-empty list wins, as in Redis.
pub(crate) async fn mpop_cross(db: u16, keys: Vec<Bytes>, end: End, count: usize) -> Reply {
    for k in keys {
        match on_key(db, k, move |ctx, k| mpop_one(ctx, k, end, count)).await {
            Ok(Some(r)) => return r,
            Ok(None) => {}
            Err(e) => return Reply::error(&e),
        }
    }
    Reply::NilArray
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamp() {
        assert_eq!(clamp_range(0, -1, 3), Some((0, 2)));
        assert_eq!(clamp_range(-100, 100, 3), Some((0, 2)));
        assert_eq!(clamp_range(2, 1, 3), None);
        assert_eq!(clamp_range(3, 5, 3), None);
        assert_eq!(clamp_range(i64::MIN, i64::MAX, 3), Some((0, 2)));
        assert_eq!(clamp_range(0, -4, 3), None);
    }

    #[test]
    fn lmpop_args() {
        let v = |s: &str| {
            s.split(' ')
                .map(|x| Bytes::copy_from_slice(x.as_bytes()))
                .collect::<Vec<_>>()
        };
        let (k, e, c) = parse_lmpop(&v("lmpop 2 a b left count 3")).expect("ok");
        assert_eq!((k.len(), e, c), (2, End::Left, 3));
        assert!(parse_lmpop(&v("lmpop 0 a left")).is_err());
        assert!(parse_lmpop(&v("lmpop 3 a left")).is_err());
        assert!(parse_lmpop(&v("lmpop 1 a up")).is_err());
        assert!(parse_lmpop(&v("lmpop 1 a left count 0")).is_err());
        assert!(parse_lmpop(&v("lmpop 1 a left count 1 count 1")).is_err());
    }
}

#[cfg(test)]
mod shard_tests {
    use crate::slot::shard_of_key;

    /// The differential script "list lmove rpoplpush across shards" relies on these keys
    /// being spread over three shards.
    #[test]
    fn cross_shard_script_keys_span_shards() {
        let keys: [&[u8]; 6] = [b"src1", b"dst1", b"dst2", b"dst3", b"dst4", b"str1"];
        let shards: std::collections::BTreeSet<usize> =
            keys.iter().map(|k| shard_of_key(k, 3)).collect();
        assert!(shards.len() >= 2);
        let lmpop: [&[u8]; 3] = [b"la", b"lb", b"lc"];
        let s: std::collections::BTreeSet<usize> =
            lmpop.iter().map(|k| shard_of_key(k, 3)).collect();
        assert!(s.len() >= 2);
    }
}
