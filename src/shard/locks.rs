//! Intent locks of one shard, taken by cross-shard commands and transactions.
//!
//! A multi-shard operation locks its keys shard by shard in ascending shard order; on
//! each shard it takes all its keys at once or queues. Waiters are granted strictly in
//! arrival order, so with the global shard order no cycle of waits can form.
//! Single-key commands run without touching this table while it is idle (the common
//! case) and otherwise queue like everyone else.

use std::collections::VecDeque;

use bytes::Bytes;
use futures_channel::oneshot;
use hashbrown::HashMap;

pub type LockKey = (u16, Bytes);

#[derive(Debug, Clone)]
pub enum LockReq {
    /// These keys (deduplicated by the table).
    Keys(Vec<LockKey>),
    /// The whole shard (keyless commands inside transactions: FLUSHALL, KEYS, ...).
    Whole,
}

struct Waiter {
    req: LockReq,
    tx: oneshot::Sender<()>,
}

#[derive(Default)]
pub struct LockTable {
    held: HashMap<LockKey, u32>,
    holders: u32,
    whole: bool,
    queue: VecDeque<Waiter>,
}

impl LockTable {
    /// True when nothing is held or waiting: single-key commands may run directly.
    #[inline]
    pub fn is_idle(&self) -> bool {
        self.holders == 0 && self.queue.is_empty()
    }

    fn grantable(&self, req: &LockReq) -> bool {
        if self.whole {
            return false;
        }
        match req {
            LockReq::Whole => self.holders == 0,
            LockReq::Keys(keys) => keys.iter().all(|k| !self.held.contains_key(k)),
        }
    }

    fn grant(&mut self, req: &LockReq) {
        self.holders += 1;
        match req {
            LockReq::Whole => self.whole = true,
            LockReq::Keys(keys) => {
                for k in keys {
                    *self.held.entry(k.clone()).or_insert(0) += 1;
                }
            }
        }
    }

    /// Take the lock now or queue. `None`: granted; `Some(rx)`: resolves once granted.
    pub fn lock(&mut self, mut req: LockReq) -> Option<oneshot::Receiver<()>> {
        if let LockReq::Keys(keys) = &mut req {
            keys.sort_unstable();
            keys.dedup();
        }
        if self.queue.is_empty() && self.grantable(&req) {
            self.grant(&req);
            return None;
        }
        let (tx, rx) = oneshot::channel();
        self.queue.push_back(Waiter { req, tx });
        Some(rx)
    }

    /// Whether a holder has `key` of `db` (or the whole shard) locked.
    pub fn holds(&self, db: u16, key: &Bytes) -> bool {
        self.whole || (!self.held.is_empty() && self.held.contains_key(&(db, key.clone())))
    }

    /// Release a lock taken with the same request, then grant waiters in order.
    pub fn unlock(&mut self, req: &LockReq) {
        self.holders = self.holders.saturating_sub(1);
        match req {
            LockReq::Whole => self.whole = false,
            LockReq::Keys(keys) => {
                let mut keys = keys.clone();
                keys.sort_unstable();
                keys.dedup();
                for k in &keys {
                    if let Some(n) = self.held.get_mut(k) {
                        *n -= 1;
                        if *n == 0 {
                            self.held.remove(k);
                        }
                    }
                }
            }
        }
        self.wake();
    }

    fn wake(&mut self) {
        while let Some(w) = self.queue.front() {
            if !self.grantable(&w.req) {
                break;
            }
            let Some(w) = self.queue.pop_front() else {
                break;
            };
            self.grant(&w.req);
            if w.tx.send(()).is_err() {
                // The waiter went away: give the lock straight back.
                self.holders -= 1;
                match &w.req {
                    LockReq::Whole => self.whole = false,
                    LockReq::Keys(keys) => {
                        for k in keys {
                            if let Some(n) = self.held.get_mut(k) {
                                *n -= 1;
                                if *n == 0 {
                                    self.held.remove(k);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(s: &'static str) -> LockKey {
        (0, Bytes::from_static(s.as_bytes()))
    }

    #[test]
    fn fifo_grants_and_whole_shard() {
        let mut t = LockTable::default();
        assert!(t.is_idle());
        let a = LockReq::Keys(vec![k("a"), k("b"), k("a")]);
        assert!(t.lock(a.clone()).is_none());
        assert!(!t.is_idle());
        // Conflicting request queues; a non-conflicting one queues behind it (FIFO).
        let mut rx1 = t.lock(LockReq::Keys(vec![k("b")])).expect("queued");
        let mut rx2 = t.lock(LockReq::Keys(vec![k("c")])).expect("queued behind");
        let mut rx3 = t.lock(LockReq::Whole).expect("queued");
        t.unlock(&a);
        assert_eq!(rx1.try_recv(), Ok(Some(())));
        assert_eq!(rx2.try_recv(), Ok(Some(())));
        assert_eq!(rx3.try_recv(), Ok(None));
        t.unlock(&LockReq::Keys(vec![k("b")]));
        t.unlock(&LockReq::Keys(vec![k("c")]));
        assert_eq!(rx3.try_recv(), Ok(Some(())));
        t.unlock(&LockReq::Whole);
        assert!(t.is_idle());
    }

    #[test]
    fn dropped_waiter_does_not_leak() {
        let mut t = LockTable::default();
        let a = LockReq::Keys(vec![k("a")]);
        t.lock(a.clone());
        drop(t.lock(a.clone()));
        t.unlock(&a);
        assert!(t.is_idle());
    }
}
