//! Keyspace-wide commands: DBSIZE FLUSHDB FLUSHALL SWAPDB KEYS SCAN RANDOMKEY.
//! Each takes every shard's lock first (outside EXEC), so it is atomic server-wide.

use bytes::Bytes;

use super::numbers::parse_i64;
use crate::command::table::TableBuilder;
use crate::error::CmdError;
use crate::net::client::Client;
use crate::protocol::Reply;
use crate::shard::mesh::{call, call_all, shard_count};
use crate::util::{glob_match, now_ms};

pub fn register(t: &mut TableBuilder) {
    t.conn("dbsize", |c, _| Box::pin(dbsize(c)));
    t.conn("flushdb", |c, a| Box::pin(flush(c, a, false)));
    t.conn("flushall", |c, a| Box::pin(flush(c, a, true)));
    t.conn("swapdb", |c, a| Box::pin(swapdb(c, a)));
    t.conn("keys", |c, a| Box::pin(keys(c, a)));
    t.conn("scan", |c, a| Box::pin(scan(c, a)));
    t.conn("randomkey", |c, _| Box::pin(randomkey(c)));
}

/// Whole-shard locks on every shard unless the caller (EXEC) already holds them.
async fn lock_unless_in_tx(c: &Client) -> Option<crate::tx::LockGuard> {
    if c.in_exec || shard_count() == 1 {
        None
    } else {
        Some(crate::tx::lock_all().await)
    }
}

async fn dbsize(c: &mut Client) -> Reply {
    let db = c.db as usize;
    let n: usize = call_all(move |s| s.dbs[db].len()).await.into_iter().sum();
    Reply::Int(n as i64)
}

async fn flush(c: &mut Client, a: &[Bytes], all: bool) -> Reply {
    if a.len() > 2
        || (a.len() == 2
            && !a[1].eq_ignore_ascii_case(b"async")
            && !a[1].eq_ignore_ascii_case(b"sync"))
    {
        return Reply::error(&CmdError::Syntax);
    }
    let guard = lock_unless_in_tx(c).await;
    let db = c.db;
    call_all(move |s| {
        let dbs: Vec<usize> = if all {
            (0..s.dbs.len()).collect()
        } else {
            vec![db as usize]
        };
        for d in dbs {
            s.touch_existing(d as u16, None);
            if !s.dbs[d].is_empty() {
                s.dbs[d].clear();
            }
        }
        let name = if all { "FLUSHALL" } else { "FLUSHDB" };
        s.record_effect(db, &[Bytes::from_static(name.as_bytes())]);
    })
    .await;
    drop(guard);
    Reply::Ok
}

async fn swapdb(c: &mut Client, a: &[Bytes]) -> Reply {
    let ndb = crate::server::server().config().databases();
    let Ok(x) = parse_i64(&a[1]) else {
        return Reply::error(&CmdError::err("invalid first DB index"));
    };
    let Ok(y) = parse_i64(&a[2]) else {
        return Reply::error(&CmdError::err("invalid second DB index"));
    };
    if x < 0 || y < 0 || x as usize >= ndb || y as usize >= ndb {
        return Reply::error(&CmdError::err("DB index is out of range"));
    }
    let guard = lock_unless_in_tx(c).await;
    let (x, y) = (x as usize, y as usize);
    call_all(move |s| {
        if x != y {
            s.touch_existing(x as u16, Some(y as u16));
            s.touch_existing(y as u16, Some(x as u16));
            s.dbs.swap(x, y);
        }
        s.record_effect(
            0,
            &[
                Bytes::from_static(b"SWAPDB"),
                Bytes::from(x.to_string()),
                Bytes::from(y.to_string()),
            ],
        );
    })
    .await;
    drop(guard);
    Reply::Ok
}

async fn keys(c: &mut Client, a: &[Bytes]) -> Reply {
    let guard = lock_unless_in_tx(c).await;
    let db = c.db as usize;
    let pat = a[1].clone();
    let all_keys = pat.as_ref() == b"*";
    let found = call_all(move |s| {
        let now = now_ms();
        s.dbs[db]
            .dict
            .iter()
            .filter(|(k, e)| !e.is_expired(now) && (all_keys || glob_match(&pat, k, false)))
            .map(|(k, _)| k.to_bytes())
            .collect::<Vec<_>>()
    })
    .await;
    drop(guard);
    Reply::Array(found.into_iter().flatten().map(Reply::Bulk).collect())
}

const SHARD_SHIFT: u32 = 48;

/// A SCAN cursor as Redis reads it (strtoul): optional sign (negative wraps), digits,
/// nothing else; no leading space; empty is 0.
pub fn parse_cursor(s: &[u8]) -> Option<u64> {
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if s.first().is_some_and(|c| c.is_ascii_whitespace()) || (digits.is_empty() && !s.is_empty()) {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

/// The options after a SCAN-family cursor.
pub struct ScanOpts<'a> {
    /// COUNT (at least 1; 10 by default).
    pub count: usize,
    /// MATCH; None for `*`, which matches everything (the empty string too).
    pub pattern: Option<&'a Bytes>,
    /// TYPE (SCAN only).
    pub typ: Option<&'a Bytes>,
}

/// Parse `COUNT n`, `MATCH p` and, for SCAN itself, `TYPE t`, in any order (the last of
/// a repeated option wins), with Redis's errors.
pub fn parse_scan_opts(opts: &[Bytes], with_type: bool) -> Result<ScanOpts<'_>, CmdError> {
    let mut out = ScanOpts {
        count: 10,
        pattern: None,
        typ: None,
    };
    let mut i = 0;
    while i < opts.len() {
        let more = i + 1 < opts.len();
        if opts[i].eq_ignore_ascii_case(b"count") && more {
            match parse_i64(&opts[i + 1])? {
                n if n >= 1 => out.count = n as usize,
                _ => return Err(CmdError::Syntax),
            }
        } else if opts[i].eq_ignore_ascii_case(b"match") && more {
            out.pattern = (opts[i + 1].as_ref() != b"*").then(|| &opts[i + 1]);
        } else if with_type && opts[i].eq_ignore_ascii_case(b"type") && more {
            out.typ = Some(&opts[i + 1]);
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    Ok(out)
}

async fn scan(c: &mut Client, a: &[Bytes]) -> Reply {
    let Some(cursor) = parse_cursor(&a[1]) else {
        return Reply::error(&CmdError::err("invalid cursor"));
    };
    let opts = match parse_scan_opts(&a[2..], true) {
        Ok(o) => o,
        Err(e) => return Reply::error(&e),
    };
    let (count, pattern, typ) = (opts.count, opts.pattern.cloned(), opts.typ.cloned());
    let n = shard_count() as u64;
    let mut shard = cursor >> SHARD_SHIFT;
    let mut pos = (cursor & ((1 << SHARD_SHIFT) - 1)) << 16;
    let db = c.db as usize;
    let mut keys = Vec::new();
    while shard < n {
        let (p, t) = (pattern.clone(), typ.clone());
        let want = count.saturating_sub(keys.len()).max(1);
        let (found, next) = call(shard as usize, move |s| {
            let now = now_ms();
            let mut out = Vec::new();
            let next = s.dbs[db].dict.scan(pos, want, |k, e| {
                if e.is_expired(now) {
                    return;
                }
                if p.as_ref().is_some_and(|p| !glob_match(p, k, false)) {
                    return;
                }
                if t.as_ref()
                    .is_some_and(|t| !t.eq_ignore_ascii_case(e.value.type_name().as_bytes()))
                {
                    return;
                }
                out.push(k.to_bytes());
            });
            (out, next)
        })
        .await;
        keys.extend(found);
        if next == 0 {
            shard += 1;
            pos = 0;
        } else {
            pos = next;
        }
        if keys.len() >= count {
            break;
        }
    }
    let next_cursor = if shard >= n {
        0
    } else {
        (shard << SHARD_SHIFT) | (pos >> 16)
    };
    Reply::Array(vec![
        Reply::Bulk(Bytes::from(next_cursor.to_string())),
        Reply::Array(keys.into_iter().map(Reply::Bulk).collect()),
    ])
}

async fn randomkey(c: &mut Client) -> Reply {
    let db = c.db as usize;
    let sizes = call_all(move |s| s.dbs[db].len()).await;
    let total: usize = sizes.iter().sum();
    if total == 0 {
        return Reply::Nil;
    }
    for _ in 0..100 {
        let mut pick = {
            use rand::Rng;
            rand::thread_rng().gen_range(0..total)
        };
        let mut shard = 0;
        for (i, n) in sizes.iter().enumerate() {
            if pick < *n {
                shard = i;
                break;
            }
            pick -= n;
        }
        let k = call(shard, move |s| {
            let now = now_ms();
            let d = &s.dbs[db];
            match d.dict.random(&mut s.rng) {
                Some((k, e)) if !e.is_expired(now) => Some(k.to_bytes()),
                _ => None,
            }
        })
        .await;
        if let Some(k) = k {
            return Reply::Bulk(k);
        }
    }
    Reply::Nil
}
