//! The connection's side of a blocking command (BLPOP, BLMOVE, BZPOPMIN, ...): queue on
//! the keys' shards, then wait for a shard to serve the call, for its timeout, for
//! CLIENT UNBLOCK, or for the connection to end. Whatever ends the call first claims it
//! (see `shard::blocking::Waiter`), and every shard forgets it afterwards.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures_channel::oneshot;

use super::client::Client;
use super::uring::Socket;
use crate::command::Command;
use crate::protocol::Reply;
use crate::shard::blocking::{BlockSpec, Served, Waiter};
use crate::shard::mesh::{call, current, post, shard_count};
use crate::shard::with_shard;
use crate::slot::shard_of_key;

/// A blocking command that found nothing and now waits (set by the dispatcher).
pub struct PendingBlock {
    pub db: u16,
    /// The keys waited on, in the command's order.
    pub keys: Vec<Bytes>,
    pub spec: BlockSpec,
    /// Milliseconds; 0 waits forever.
    pub timeout_ms: u64,
    /// The reply when the wait times out (nil array or nil).
    pub nil: Reply,
    /// For `Served::Retry`: the non-blocking command to run instead (LMOVE ...).
    pub retry: Option<(&'static Command, Vec<Bytes>)>,
}

struct Slot {
    wait_id: u64,
    waiter: Arc<Waiter>,
    nil: Reply,
    tx: Option<oneshot::Sender<Served>>,
    /// Running the move after `Served::Retry`: the call still waits if it finds nothing.
    retrying: bool,
    /// CLIENT UNBLOCK arrived during the retry: the reply to end with if it finds nothing.
    unblocked: Option<Reply>,
}

thread_local! {
    static BLOCKED: RefCell<HashMap<u64, Slot>> = RefCell::new(HashMap::new());
}

/// Blocked calls are numbered server-wide: shards forget and match calls by this number
/// alone, whatever shard their client is connected to.
static NEXT_WAIT: AtomicU64 = AtomicU64::new(1);

/// Clients blocked right now, server-wide (INFO blocked_clients).
static BLOCKED_CLIENTS: AtomicUsize = AtomicUsize::new(0);

/// Of those, the ones with a timeout (INFO clients_in_timeout_table).
static TIMED_BLOCKED_CLIENTS: AtomicUsize = AtomicUsize::new(0);

pub fn blocked_clients() -> usize {
    BLOCKED_CLIENTS.load(Ordering::Relaxed)
}

pub fn timed_blocked_clients() -> usize {
    TIMED_BLOCKED_CLIENTS.load(Ordering::Relaxed)
}

/// A shard served (or released) the blocked call `wait_id` of `client`, connected here.
pub fn deliver(client: u64, wait_id: u64, served: Served) {
    BLOCKED.with(|b| {
        if let Some(s) = b.borrow_mut().get_mut(&client) {
            if s.wait_id == wait_id {
                if let Some(tx) = s.tx.take() {
                    let _ = tx.send(served);
                }
            }
        }
    });
}

/// CLIENT UNBLOCK for a client of this shard: end its wait as a timeout, or with the
/// UNBLOCKED error. False if it is not blocked (or its call is already being served).
pub fn unblock(client: u64, error: bool) -> bool {
    BLOCKED.with(|b| {
        let mut b = b.borrow_mut();
        let Some(s) = b.get_mut(&client) else {
            return false;
        };
        let reply = if error {
            Reply::Error(Bytes::from_static(
                b"UNBLOCKED client unblocked via CLIENT UNBLOCK",
            ))
        } else {
            s.nil.clone()
        };
        if s.retrying {
            // Still blocked unless the retry moves something; `wait` decides.
            s.unblocked.get_or_insert(reply);
            return true;
        }
        if !s.waiter.claim() {
            return false;
        }
        if let Some(tx) = s.tx.take() {
            let _ = tx.send(Served::Reply(reply));
        }
        true
    })
}

/// The keys grouped by owning shard, shards in order of their first key.
fn by_shard(keys: &[Bytes]) -> Vec<(usize, Vec<Bytes>)> {
    let n = shard_count();
    let mut out: Vec<(usize, Vec<Bytes>)> = Vec::new();
    for k in keys {
        let s = shard_of_key(k, n);
        match out.iter_mut().find(|(sh, _)| *sh == s) {
            Some((_, v)) => {
                if !v.contains(k) {
                    v.push(k.clone());
                }
            }
            None => out.push((s, vec![k.clone()])),
        }
    }
    out
}

fn set_retrying(client: u64, on: bool) {
    BLOCKED.with(|b| {
        if let Some(s) = b.borrow_mut().get_mut(&client) {
            s.retrying = on;
        }
    });
}

fn take_unblocked(client: u64) -> Option<Reply> {
    BLOCKED.with(|b| {
        b.borrow_mut()
            .get_mut(&client)
            .and_then(|s| s.unblocked.take())
    })
}

/// A registered blocked call; dropping it makes every shard forget the call, this
/// connection's shard first.
struct Registered {
    client: u64,
    wait_id: u64,
    groups: Vec<(usize, Vec<Bytes>)>,
}

impl Drop for Registered {
    fn drop(&mut self) {
        let wait_id = self.wait_id;
        BLOCKED.with(|b| {
            let mut b = b.borrow_mut();
            if b.get(&self.client).is_some_and(|s| s.wait_id == wait_id) {
                b.remove(&self.client);
            }
        });
        for (shard, keys) in self.groups.drain(..) {
            if shard == current() {
                with_shard(|s| s.block_remove(&keys, wait_id));
            } else {
                post(
                    shard,
                    Box::new(move || with_shard(|s| s.block_remove(&keys, wait_id))),
                );
            }
        }
    }
}

enum Event {
    Served(Served),
    Timeout,
    Gone,
}

/// Wait out a blocked call. `None`: the connection ended (or was killed) meanwhile.
/// Input that arrives meanwhile is kept in `rbuf` for after the call, up to `qlimit`.
pub async fn wait(
    client: &mut Client,
    pb: PendingBlock,
    sock: &Socket,
    kill: &mut super::registry::Killed,
    rbuf: &mut BytesMut,
    qlimit: usize,
) -> Option<Reply> {
    // A timeout too far away to represent waits forever (7.0 does too).
    let deadline = (pb.timeout_ms > 0)
        .then(|| Instant::now().checked_add(Duration::from_millis(pb.timeout_ms)))
        .flatten();
    let spec = Arc::new(pb.spec);
    let groups = by_shard(&pb.keys);
    let db = pb.db;
    let saved_flags = std::mem::replace(&mut client.info.borrow_mut().flags, "b".into());
    BLOCKED_CLIENTS.fetch_add(1, Ordering::Relaxed);
    if deadline.is_some() {
        TIMED_BLOCKED_CLIENTS.fetch_add(1, Ordering::Relaxed);
    }
    let wait_id = NEXT_WAIT.fetch_add(1, Ordering::Relaxed);
    let waiter = Arc::new(Waiter::new(wait_id, client.id, current()));
    let (tx, mut rx) = oneshot::channel();
    BLOCKED.with(|b| {
        b.borrow_mut().insert(
            client.id,
            Slot {
                wait_id,
                waiter: waiter.clone(),
                nil: pb.nil.clone(),
                tx: Some(tx),
                retrying: false,
                unblocked: None,
            },
        )
    });
    // From here on, however this ends (even if this future is dropped), every shard
    // forgets the call: a retrying entry left behind would hold its key's waiters.
    let _registered = Registered {
        client: client.id,
        wait_id,
        groups: groups.clone(),
    };
    for (shard, keys) in &groups {
        let (w, s, keys) = (waiter.clone(), spec.clone(), keys.clone());
        call(*shard, move |sh| sh.block_register(db, &keys, &w, &s)).await;
    }
    let result = loop {
        let served = async {
            match (&mut rx).await {
                Ok(s) => Event::Served(s),
                Err(_) => Event::Gone,
            }
        };
        let timer = async {
            match deadline {
                Some(d) => {
                    glommio::timer::sleep(d.saturating_duration_since(Instant::now())).await;
                    Event::Timeout
                }
                None => std::future::pending().await,
            }
        };
        let killed = async {
            let _ = (&mut *kill).await;
            Event::Gone
        };
        let input = async {
            loop {
                sock.readable().await;
                match sock.take_input(rbuf) {
                    Ok(_) if rbuf.len() <= qlimit => {}
                    _ => return Event::Gone,
                }
            }
        };
        let ev = futures_lite::future::or(
            served,
            futures_lite::future::or(timer, futures_lite::future::or(killed, input)),
        )
        .await;
        let (ev, timed_out) = match ev {
            Event::Served(s) => (Some(s), false),
            other => {
                let timed_out = matches!(other, Event::Timeout);
                if waiter.claim() {
                    // Nobody claimed it yet: the timeout (or the departure) wins.
                    (None, timed_out)
                } else {
                    // A shard is serving it right now: its answer is on the way.
                    ((&mut rx).await.ok(), timed_out)
                }
            }
        };
        match ev {
            Some(Served::Reply(r)) => break Some(r),
            Some(Served::Retry) => {
                set_retrying(client.id, true);
                if let Some((cmd, args)) = &pb.retry {
                    let r = super::dispatch::execute(client, cmd, args, false).await;
                    if r != Reply::Nil {
                        break Some(r);
                    }
                }
                if let Some(r) = take_unblocked(client.id) {
                    break Some(r);
                }
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    break Some(pb.nil.clone());
                }
                // Somebody else took it first: wait on at the same place in line.
                let (tx, new_rx) = oneshot::channel();
                rx = new_rx;
                BLOCKED.with(|b| {
                    if let Some(s) = b.borrow_mut().get_mut(&client.id) {
                        s.tx = Some(tx);
                        s.retrying = false;
                    }
                });
                waiter.unclaim();
                for (shard, keys) in &groups {
                    let keys = keys.clone();
                    let again = move || {
                        with_shard(|s| {
                            for k in &keys {
                                s.block_retry_failed(k, wait_id);
                            }
                        })
                    };
                    if *shard == current() {
                        again();
                    } else {
                        post(*shard, Box::new(again));
                    }
                }
            }
            // Timed out, or the connection is gone (then nothing is sent).
            None => break timed_out.then(|| pb.nil.clone()),
        }
    };
    BLOCKED_CLIENTS.fetch_sub(1, Ordering::Relaxed);
    if deadline.is_some() {
        TIMED_BLOCKED_CLIENTS.fetch_sub(1, Ordering::Relaxed);
    }
    client.info.borrow_mut().flags = saved_flags;
    result
}
