//! The shard's side of blocking commands (BLPOP, BLMOVE, BZPOPMIN, ...): clients waiting
//! on its keys, in arrival order per key, and serving them when a key gets data.
//!
//! A waiting client may be connected to any shard and may wait on keys of several
//! shards at once. Each of those shards queues the same `Waiter`; whichever serves it
//! first claims it (one atomic flag), so it is served exactly once. A write that touches
//! a key with waiters marks the key ready; the ready keys are served right after the
//! command that readied them (or, when a transaction holds the key, once it lets go), so
//! no other command can take the data first, as in Redis.
//!
//! A BLMOVE whose destination is on another shard cannot be served here: the shard
//! hands it `Served::Retry` and the client runs the move as an ordinary atomic command.
//! Meanwhile the waiter stays queued, marked retrying, and the key's later waiters are
//! not served (the data is the retrying waiter's, as Redis would give it): the client
//! ends the retry with `block_remove` (moved, timed out, gone) or `block_retry_failed`
//! (found nothing: it keeps its place and is served again on the next push). What
//! differs from Redis: a non-blocking command that runs between the wake-up and the
//! retry's transaction can still take the data, as if it had run just before the push.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use hashbrown::HashMap;

use super::value::Value;
use super::Shard;
use crate::command::Command;
use crate::protocol::Reply;

/// One blocked call of one client. Shared by every shard it waits on.
#[derive(Debug)]
pub struct Waiter {
    /// Unique server-wide per blocked call (a client that blocks again gets a new one).
    pub wait_id: u64,
    pub client: u64,
    /// The shard the client is connected to.
    pub home: usize,
    claimed: AtomicBool,
}

impl Waiter {
    pub fn new(wait_id: u64, client: u64, home: usize) -> Waiter {
        Waiter {
            wait_id,
            client,
            home,
            claimed: AtomicBool::new(false),
        }
    }

    /// Take the right to finish this call (serve it, time it out, unblock it). True once.
    pub fn claim(&self) -> bool {
        !self.claimed.swap(true, Ordering::AcqRel)
    }

    /// Give the claim back after a retry found nothing: the call waits on. Only for
    /// calls waiting on one key of one shard (BLMOVE, BRPOPLPUSH), by their connection.
    pub fn unclaim(&self) {
        self.claimed.store(false, Ordering::Release);
    }

    pub fn is_claimed(&self) -> bool {
        self.claimed.load(Ordering::Acquire)
    }
}

/// The value type a waiter needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    List,
    ZSet,
}

/// How the serving command's reply becomes the blocked command's reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wrap {
    /// Unchanged (BLMOVE, BLMPOP, BZMPOP).
    AsIs,
    /// `[key, reply]` (BLPOP: the popped element).
    KeyValue,
    /// ZMPOP's `[key, [[member, score]]]` as BZPOPMIN's `[key, member, score]`.
    KeyMemberScore,
}

/// What serving a waiter runs: a non-blocking command with the ready key filled in.
pub struct BlockSpec {
    pub want: Want,
    pub cmd: &'static Command,
    pub template: Vec<Bytes>,
    /// Index in `template` the ready key goes to.
    pub key_at: usize,
    pub wrap: Wrap,
    /// BLMOVE's destination: the move runs here only when this shard owns it too.
    pub dst: Option<Bytes>,
}

/// How a blocked call ends, as delivered to its connection.
#[derive(Debug)]
pub enum Served {
    Reply(Reply),
    /// The data is on this shard but the operation spans shards (BLMOVE): the client
    /// runs it as an ordinary atomic command and blocks again if it finds nothing.
    Retry,
}

struct Queued {
    db: u16,
    waiter: Arc<Waiter>,
    spec: Arc<BlockSpec>,
    /// Handed `Served::Retry`; its client runs the move. Claimed, yet kept in place.
    retrying: bool,
}

#[derive(Default)]
pub struct Blocking {
    keys: HashMap<Bytes, VecDeque<Queued>>,
    ready: VecDeque<(u16, Bytes)>,
    serving: bool,
}

impl Blocking {
    /// Number of keys with waiters (tests, introspection).
    pub fn waited_keys(&self) -> usize {
        self.keys.len()
    }

    /// A write touched `key`: remember it if somebody waits on it.
    #[inline]
    pub fn signal(&mut self, db: u16, key: &[u8]) {
        if self.keys.is_empty() {
            return;
        }
        if let Some(q) = self.keys.get(key) {
            if q.iter().any(|w| w.db == db) && !self.ready.iter().any(|(d, k)| *d == db && k == key)
            {
                self.ready.push_back((db, Bytes::copy_from_slice(key)));
            }
        }
    }

    #[inline]
    pub fn has_ready(&self) -> bool {
        !self.ready.is_empty()
    }
}

/// Deliver the end of a blocked call to its connection's shard.
fn deliver(w: &Waiter, served: Served) {
    let (client, wait_id) = (w.client, w.wait_id);
    if w.home == super::mesh::current() {
        crate::net::blocked::deliver(client, wait_id, served);
    } else {
        super::mesh::post(
            w.home,
            Box::new(move || crate::net::blocked::deliver(client, wait_id, served)),
        );
    }
}

impl Shard {
    /// Queue `waiter` on `keys` of `db`, then serve at once any that already hold data
    /// (it may have arrived after the caller's first, non-blocking attempt).
    pub fn block_register(
        &mut self,
        db: u16,
        keys: &[Bytes],
        waiter: &Arc<Waiter>,
        spec: &Arc<BlockSpec>,
    ) {
        if waiter.is_claimed() {
            return;
        }
        for k in keys {
            self.blocking
                .keys
                .entry(k.clone())
                .or_default()
                .push_back(Queued {
                    db,
                    waiter: waiter.clone(),
                    spec: spec.clone(),
                    retrying: false,
                });
        }
        for k in keys {
            self.blocking.signal(db, k);
        }
        self.serve_ready();
    }

    /// Forget the blocked call `wait_id` on `keys` (served elsewhere, timed out, gone).
    /// If it was retrying, the key's next waiters get their turn.
    pub fn block_remove(&mut self, keys: &[Bytes], wait_id: u64) {
        let mut resume = Vec::new();
        for k in keys {
            if let Some(q) = self.blocking.keys.get_mut(k) {
                q.retain(|w| {
                    let keep = w.waiter.wait_id != wait_id;
                    if !keep && w.retrying {
                        resume.push((w.db, k.clone()));
                    }
                    keep
                });
                if q.is_empty() {
                    self.blocking.keys.remove(k);
                }
            }
        }
        self.resume(resume);
    }

    /// The retry of `wait_id` found nothing (somebody took the data first): it waits on
    /// at its old place, and is served again if the key holds data by now.
    pub fn block_retry_failed(&mut self, key: &Bytes, wait_id: u64) {
        let mut resume = Vec::new();
        if let Some(q) = self.blocking.keys.get_mut(key) {
            for w in q.iter_mut() {
                if w.waiter.wait_id == wait_id && w.retrying {
                    w.retrying = false;
                    resume.push((w.db, key.clone()));
                }
            }
        }
        self.resume(resume);
    }

    fn resume(&mut self, keys: Vec<(u16, Bytes)>) {
        if keys.is_empty() {
            return;
        }
        for (db, k) in keys {
            self.blocking.signal(db, &k);
        }
        self.serve_ready();
    }

    /// Whether `key` holds what a waiter of kind `want` can take.
    fn has_data(&self, db: u16, key: &[u8], want: Want) -> bool {
        let now = crate::util::now_ms();
        match self.dbs.get(db as usize).and_then(|d| d.get_raw(key)) {
            Some(e) if !e.is_expired(now) => matches!(
                (&e.value, want),
                (Value::List(_), Want::List) | (Value::ZSet(_), Want::ZSet)
            ),
            _ => false,
        }
    }

    /// Serve the waiters of every ready key, first come first served, while the keys
    /// hold data. Keys a transaction holds wait for its release. Must not yield.
    pub fn serve_ready(&mut self) {
        if self.blocking.serving || self.blocking.ready.is_empty() {
            return;
        }
        self.blocking.serving = true;
        let mut deferred = Vec::new();
        while let Some((db, key)) = self.blocking.ready.pop_front() {
            if !self.locks.is_idle() && self.locks.holds(db, &key) {
                deferred.push((db, key));
                continue;
            }
            self.serve_key(db, &key);
        }
        self.blocking.ready.extend(deferred);
        self.blocking.serving = false;
    }

    fn serve_key(&mut self, db: u16, key: &Bytes) {
        loop {
            let Some(q) = self.blocking.keys.get_mut(key) else {
                return;
            };
            // Drop calls already finished elsewhere; find the first for this db.
            q.retain(|w| w.retrying || !w.waiter.is_claimed());
            let Some(pos) = q.iter().position(|w| w.db == db) else {
                if q.is_empty() {
                    self.blocking.keys.remove(key);
                }
                return;
            };
            if q[pos].retrying {
                // Its move is under way: the data waits for it (FIFO, as in Redis).
                return;
            }
            let want = q[pos].spec.want;
            if !self.has_data(db, key, want) {
                return;
            }
            let Some(q) = self.blocking.keys.get_mut(key) else {
                return;
            };
            let cross = q[pos]
                .spec
                .dst
                .as_ref()
                .is_some_and(|dst| crate::slot::shard_of_key(dst, self.nshards) != self.id);
            if cross {
                if q[pos].waiter.claim() {
                    q[pos].retrying = true;
                    deliver(&q[pos].waiter, Served::Retry);
                    return;
                }
                q.remove(pos);
                continue;
            }
            let Some(w) = q.remove(pos) else { return };
            if q.is_empty() {
                self.blocking.keys.remove(key);
            }
            if !w.waiter.claim() {
                continue;
            }
            let spec = &w.spec;
            let mut args = spec.template.clone();
            args[spec.key_at] = key.clone();
            let reply = crate::command::exec::exec_on_shard(self, spec.cmd, db, &args);
            let reply = match (spec.wrap, reply) {
                (_, r @ Reply::Error(_)) | (Wrap::AsIs, r) => r,
                (Wrap::KeyValue, r) => Reply::Array(vec![Reply::Bulk(key.clone()), r]),
                (Wrap::KeyMemberScore, Reply::Array(mut v)) => {
                    let pair = match v.pop() {
                        Some(Reply::Array(mut pairs)) => pairs.pop(),
                        _ => None,
                    };
                    match pair {
                        Some(Reply::Array(ms)) => {
                            let mut out = vec![Reply::Bulk(key.clone())];
                            out.extend(ms);
                            Reply::Array(out)
                        }
                        _ => Reply::NilArray,
                    }
                }
                (Wrap::KeyMemberScore, r) => r,
            };
            deliver(&w.waiter, Served::Reply(reply));
        }
    }
}
