//! Cross-shard atomicity: intent locks taken shard by shard in ascending order, then the
//! operation's hops, then release. Used by multi-key commands spanning shards, by
//! MULTI/EXEC and by keyspace-wide commands (FLUSHALL, KEYS, ...).

use std::collections::BTreeMap;

use bytes::Bytes;

use crate::command::exec::exec_on_shard;
use crate::command::keys::{key_positions, needs_every_shard};
use crate::command::{Command, CrossFn};
use crate::protocol::Reply;
use crate::shard::locks::{LockKey, LockReq};
use crate::shard::mesh::{call, call_async, post, shard_count};
use crate::shard::with_shard;
use crate::slot::shard_of_key;

/// Locks held on several shards; released by `release` (or on drop, as a safety net).
pub struct LockGuard {
    held: Vec<(usize, LockReq)>,
}

impl LockGuard {
    pub fn release(mut self) {
        self.release_all();
    }

    fn release_all(&mut self) {
        for (shard, req) in self.held.drain(..).rev() {
            if shard == crate::shard::mesh::current() {
                with_shard(|s| s.unlock(&req));
            } else {
                post(shard, Box::new(move || with_shard(|s| s.unlock(&req))));
            }
        }
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        self.release_all();
    }
}

/// Take `reqs` shard by shard in ascending shard order (the BTreeMap's order).
pub async fn lock_shards(reqs: BTreeMap<usize, LockReq>) -> LockGuard {
    let mut guard = LockGuard {
        held: Vec::with_capacity(reqs.len()),
    };
    for (shard, req) in reqs {
        let r = req.clone();
        call_async(shard, move || async move {
            let rx = with_shard(|s| s.locks.lock(r));
            if let Some(rx) = rx {
                let _ = rx.await;
            }
        })
        .await;
        guard.held.push((shard, req));
    }
    guard
}

/// Lock every shard whole (keyspace-wide commands).
pub async fn lock_all() -> LockGuard {
    lock_shards((0..shard_count()).map(|s| (s, LockReq::Whole)).collect()).await
}

/// The keys of `args` grouped by owning shard, as lock requests.
pub fn key_locks(cmd: &Command, db: u16, args: &[Bytes], into: &mut BTreeMap<usize, LockReq>) {
    let n = shard_count();
    if needs_every_shard(cmd.meta, args) {
        // Keys derived from the data (SORT BY/GET patterns) may live anywhere.
        for s in 0..n {
            into.insert(s, LockReq::Whole);
        }
        return;
    }
    let mut pos = Vec::new();
    key_positions(cmd.meta, args, &mut pos);
    for p in pos {
        let key: LockKey = (db, args[p].clone());
        let shard = shard_of_key(&key.1, n);
        match into
            .entry(shard)
            .or_insert_with(|| LockReq::Keys(Vec::new()))
        {
            LockReq::Keys(v) => v.push(key),
            LockReq::Whole => {}
        }
    }
}

/// A keyed command whose keys span shards, run atomically.
pub async fn exec_cross(
    cmd: &'static Command,
    cross: CrossFn,
    db: u16,
    args: Vec<Bytes>,
    locked: bool,
) -> Reply {
    if locked {
        return cross(db, args).await;
    }
    let mut reqs = BTreeMap::new();
    key_locks(cmd, db, &args, &mut reqs);
    let guard = lock_shards(reqs).await;
    let r = cross(db, args).await;
    guard.release();
    r
}

/// A single-shard keyed command on `target` when its lock table is busy: queue for the
/// keys, run, release.
pub async fn exec_queued(target: usize, cmd: &'static Command, db: u16, args: Vec<Bytes>) -> Reply {
    call_async(target, move || async move {
        let mut reqs = BTreeMap::new();
        key_locks(cmd, db, &args, &mut reqs);
        let req = reqs
            .into_values()
            .next()
            .unwrap_or(LockReq::Keys(Vec::new()));
        let rx = with_shard(|s| s.locks.lock(req.clone()));
        if let Some(rx) = rx {
            let _ = rx.await;
        }
        with_shard(|s| {
            let r = exec_on_shard(s, cmd, db, &args);
            s.unlock(&req);
            r
        })
    })
    .await
}

/// Run a keyed command on `target` while the caller holds the locks (EXEC, cross hops).
pub async fn exec_held(target: usize, cmd: &'static Command, db: u16, args: Vec<Bytes>) -> Reply {
    call(target, move |s| exec_on_shard(s, cmd, db, &args)).await
}
