//! MULTI / EXEC / DISCARD / WATCH / UNWATCH with Redis semantics, atomic across shards.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::Bytes;

use crate::command::table::TableBuilder;
use crate::error::CmdError;
use crate::net::client::Client;
use crate::net::dispatch::execute;
use crate::protocol::Reply;
use crate::shard::locks::LockReq;
use crate::shard::mesh::{call, shard_count};
use crate::slot::shard_of_key;
use crate::tx::{key_locks, lock_shards};

pub fn register(t: &mut TableBuilder) {
    t.conn_sync("multi", multi);
    t.conn("exec", |c, _| Box::pin(exec(c)));
    t.conn("discard", |c, _| Box::pin(discard(c)));
    t.conn("watch", |c, a| Box::pin(watch(c, a)));
    t.conn("unwatch", |c, _| {
        Box::pin(async move {
            unwatch_all(c).await;
            Reply::Ok
        })
    });
}

fn multi(c: &mut Client, _a: &[Bytes]) -> Reply {
    if c.multi.is_some() {
        return Reply::error(&CmdError::err("MULTI calls can not be nested"));
    }
    c.multi = Some(Vec::new());
    c.multi_error = false;
    c.info.borrow_mut().multi = 0;
    Reply::Ok
}

async fn discard(c: &mut Client) -> Reply {
    if c.multi.take().is_none() {
        return Reply::error(&CmdError::err("DISCARD without MULTI"));
    }
    c.multi_error = false;
    c.info.borrow_mut().multi = -1;
    unwatch_all(c).await;
    Reply::Ok
}

/// Commands that read or write the whole keyspace: inside EXEC they lock every shard.
fn is_keyspace_wide(name: &str) -> bool {
    matches!(
        name,
        "dbsize" | "flushdb" | "flushall" | "swapdb" | "keys" | "scan" | "randomkey"
    )
}

async fn exec(c: &mut Client) -> Reply {
    let Some(queue) = c.multi.take() else {
        return Reply::error(&CmdError::err("EXEC without MULTI"));
    };
    c.info.borrow_mut().multi = -1;
    if std::mem::take(&mut c.multi_error) {
        unwatch_all(c).await;
        return Reply::error(&CmdError::Custom(
            "EXECABORT Transaction discarded because of previous errors.".into(),
        ));
    }
    // Lock every key the transaction names (and the watched ones), or whole shards.
    let mut reqs: BTreeMap<usize, LockReq> = BTreeMap::new();
    let mut whole = false;
    let mut db = c.db;
    for q in &queue {
        if q.cmd.is_keyed() {
            key_locks(q.cmd, db, &q.args, &mut reqs);
        } else if q.cmd.name == "select" {
            if let Some(d) = q
                .args
                .get(1)
                .and_then(|a| std::str::from_utf8(a).ok()?.parse::<u16>().ok())
            {
                db = d;
            }
        } else if is_keyspace_wide(q.cmd.name) {
            whole = true;
        }
    }
    let n = shard_count();
    for (wdb, key, _) in &c.watched {
        let s = shard_of_key(key, n);
        if let LockReq::Keys(v) = reqs.entry(s).or_insert_with(|| LockReq::Keys(Vec::new())) {
            v.push((*wdb, key.clone()));
        }
    }
    if whole {
        reqs = (0..n).map(|s| (s, LockReq::Whole)).collect();
    }
    let guard = lock_shards(reqs).await;
    if watch_failed(c).await {
        guard.release();
        unwatch_all(c).await;
        return Reply::NilArray;
    }
    c.in_exec = true;
    let mut replies = Vec::with_capacity(queue.len());
    for q in queue {
        replies.push(execute(c, q.cmd, &q.args, true).await);
    }
    c.in_exec = false;
    guard.release();
    unwatch_all(c).await;
    Reply::Array(replies)
}

/// A watched key was touched, or expired after WATCH.
async fn watch_failed(c: &Client) -> bool {
    if c.watch_flag.load(Ordering::Acquire) {
        return true;
    }
    let n = shard_count();
    for (db, key, expired_at_watch) in &c.watched {
        if *expired_at_watch {
            continue;
        }
        let (db, k) = (*db, key.clone());
        let expired = call(shard_of_key(key, n), move |s| {
            let now = crate::util::now_ms();
            s.dbs[db as usize]
                .get_raw(&k)
                .is_some_and(|e| e.is_expired(now))
        })
        .await;
        if expired {
            return true;
        }
    }
    false
}

async fn watch(c: &mut Client, a: &[Bytes]) -> Reply {
    if c.multi.is_some() {
        return Reply::error(&CmdError::err("WATCH inside MULTI is not allowed"));
    }
    let n = shard_count();
    for key in a.iter().skip(1).cloned() {
        if c.watched.iter().any(|(d, k, _)| *d == c.db && *k == key) {
            continue;
        }
        let (db, flag, k) = (c.db, c.watch_flag.clone(), key.clone());
        let expired_already = call(shard_of_key(&key, n), move |s| {
            let now = crate::util::now_ms();
            let expired = s.dbs[db as usize]
                .get_raw(&k)
                .is_some_and(|e| e.is_expired(now));
            s.watch(db, Bytes::copy_from_slice(&k), flag, expired);
            expired
        })
        .await;
        // A key already expired when watched does not fail EXEC by expiring (Redis 7.0).
        c.watched.push((c.db, key, expired_already));
    }
    c.info.borrow_mut().watch = c.watched.len();
    Reply::Ok
}

/// Drop every WATCH of this client (EXEC, DISCARD, UNWATCH, disconnect).
pub async fn unwatch_all(c: &mut Client) {
    let n = shard_count();
    for (db, key, _) in std::mem::take(&mut c.watched) {
        let flag = c.watch_flag.clone();
        call(shard_of_key(&key, n), move |s| s.unwatch(db, &key, &flag)).await;
    }
    c.watch_flag = Arc::new(AtomicBool::new(false));
    c.info.borrow_mut().watch = 0;
}
