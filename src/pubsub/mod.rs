//! Pub/sub: who listens to what, and delivery of messages to subscribers' connections.
//!
//! Every shard holds a copy of the whole subscription table (channels, patterns, shard
//! channels). SUBSCRIBE and friends change every copy (`mesh::call_all`) before they
//! answer, so a message is published by the shard that makes it, without a hop: PUBLISH
//! on the publisher's coordinator, keyspace notifications inside the command on the
//! key's shard. One publishing thread sends everything to a subscriber over one FIFO
//! queue, so a subscriber sees each publisher's messages (and a command's keyspace then
//! keyevent notifications) in the order they were made, whatever the channels. The
//! price is that (un)subscribing touches every shard, which is far rarer than
//! publishing. This departs from design.md §1 ("pub/sub channels hashed to it"): with
//! channels hashed to owners, notifications of one command on two channels could reach
//! a client in either order.
//!
//! A message is `Bytes` shared by every subscriber; each connection encodes it for its
//! own protocol when it writes it (see `net::pubsub`).

pub mod notify;

use std::cell::RefCell;

use bytes::Bytes;
use futures_channel::mpsc;
use hashbrown::HashMap;

use crate::util::glob_match;

/// The three kinds of subscription.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// SUBSCRIBE / PUBLISH
    Channel,
    /// PSUBSCRIBE
    Pattern,
    /// SSUBSCRIBE / SPUBLISH
    Shard,
}

/// One message on its way to one subscriber.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    /// `message` (channel subscribers) or `smessage` (shard channel subscribers).
    Message {
        shard: bool,
        channel: Bytes,
        payload: Bytes,
    },
    /// `pmessage`: the channel matched `pattern`.
    PMessage {
        pattern: Bytes,
        channel: Bytes,
        payload: Bytes,
    },
}

impl Delivery {
    /// Bytes the message takes once encoded (output-limit accounting).
    pub fn approx_len(&self) -> usize {
        match self {
            Delivery::Message {
                channel, payload, ..
            } => channel.len() + payload.len() + 40,
            Delivery::PMessage {
                pattern,
                channel,
                payload,
            } => pattern.len() + channel.len() + payload.len() + 50,
        }
    }
}

pub type Sender = mpsc::UnboundedSender<Delivery>;
pub type Receiver = mpsc::UnboundedReceiver<Delivery>;

/// A subscribed connection as the table knows it.
#[derive(Clone)]
pub struct Subscriber {
    pub id: u64,
    pub tx: Sender,
}

/// Queue `msg` to each subscriber: `n` counts deliveries, `dead` notes a closed queue.
fn send_all(subs: &[Subscriber], msg: &Delivery, n: &mut usize, dead: &mut bool) {
    for s in subs {
        if s.tx.unbounded_send(msg.clone()).is_ok() {
            *n += 1;
        } else {
            *dead = true;
        }
    }
}

/// One shard's copy of the subscription table.
#[derive(Default)]
pub struct Registry {
    channels: HashMap<Bytes, Vec<Subscriber>>,
    patterns: HashMap<Bytes, Vec<Subscriber>>,
    shard_channels: HashMap<Bytes, Vec<Subscriber>>,
}

thread_local! {
    static REGISTRY: RefCell<Registry> = RefCell::new(Registry::default());
}

/// Run `f` on this thread's table. Publishing never re-enters it.
pub fn with_registry<R>(f: impl FnOnce(&mut Registry) -> R) -> R {
    REGISTRY.with(|r| f(&mut r.borrow_mut()))
}

impl Registry {
    fn map(&mut self, kind: Kind) -> &mut HashMap<Bytes, Vec<Subscriber>> {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::Shard => &mut self.shard_channels,
        }
    }

    fn map_ref(&self, kind: Kind) -> &HashMap<Bytes, Vec<Subscriber>> {
        match kind {
            Kind::Channel => &self.channels,
            Kind::Pattern => &self.patterns,
            Kind::Shard => &self.shard_channels,
        }
    }

    /// Nobody subscribed to anything: publishing has nothing to do.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.channels.is_empty() && self.patterns.is_empty() && self.shard_channels.is_empty()
    }

    pub fn add(&mut self, kind: Kind, names: &[Bytes], sub: &Subscriber) {
        let map = self.map(kind);
        for n in names {
            let subs = map.entry(n.clone()).or_default();
            if !subs.iter().any(|s| s.id == sub.id) {
                subs.push(sub.clone());
            }
        }
    }

    pub fn remove(&mut self, kind: Kind, names: &[Bytes], id: u64) {
        let map = self.map(kind);
        for n in names {
            if let Some(subs) = map.get_mut(n) {
                subs.retain(|s| s.id != id);
                if subs.is_empty() {
                    map.remove(n);
                }
            }
        }
    }

    /// Deliver to the subscribers of `channel` (and, for `Kind::Channel`, of every
    /// matching pattern). Returns how many deliveries were made, as PUBLISH counts them.
    pub fn publish(&mut self, kind: Kind, channel: &Bytes, payload: &Bytes) -> usize {
        let mut n = 0;
        let mut dead = false;
        if let Some(subs) = self.map_ref(kind).get(channel) {
            let msg = Delivery::Message {
                shard: kind == Kind::Shard,
                channel: channel.clone(),
                payload: payload.clone(),
            };
            send_all(subs, &msg, &mut n, &mut dead);
        }
        if kind == Kind::Channel {
            for (pattern, subs) in &self.patterns {
                if !glob_match(pattern, channel, false) {
                    continue;
                }
                let msg = Delivery::PMessage {
                    pattern: pattern.clone(),
                    channel: channel.clone(),
                    payload: payload.clone(),
                };
                send_all(subs, &msg, &mut n, &mut dead);
            }
        }
        if dead {
            // A connection ended without its cleanup reaching this shard yet.
            self.prune();
        }
        n
    }

    fn prune(&mut self) {
        for map in [
            &mut self.channels,
            &mut self.patterns,
            &mut self.shard_channels,
        ] {
            map.retain(|_, subs| {
                subs.retain(|s| !s.tx.is_closed());
                !subs.is_empty()
            });
        }
    }

    /// Names with at least one subscriber, matching `pattern` when given.
    pub fn names(&self, kind: Kind, pattern: Option<&[u8]>) -> Vec<Bytes> {
        self.map_ref(kind)
            .keys()
            .filter(|c| pattern.is_none_or(|p| glob_match(p, c, false)))
            .cloned()
            .collect()
    }

    /// Subscribers of one exact name.
    pub fn count(&self, kind: Kind, name: &[u8]) -> usize {
        self.map_ref(kind).get(name).map_or(0, Vec::len)
    }

    /// Distinct names subscribed (INFO pubsub_channels, PUBSUB NUMPAT...).
    pub fn len(&self, kind: Kind) -> usize {
        self.map_ref(kind).len()
    }
}

/// Publish from this shard (PUBLISH, SPUBLISH, keyspace notifications).
#[inline]
pub fn publish(kind: Kind, channel: &Bytes, payload: &Bytes) -> usize {
    with_registry(|r| {
        if r.is_empty() {
            0
        } else {
            r.publish(kind, channel, payload)
        }
    })
}

/// Add (`add`) or remove a client's subscriptions on every shard, and wait until all
/// copies changed.
pub async fn update_all(kind: Kind, names: Vec<Bytes>, sub: Subscriber, add: bool) {
    if names.is_empty() {
        return;
    }
    let names = std::sync::Arc::new(names);
    crate::shard::mesh::call_all(move |_| {
        with_registry(|r| {
            if add {
                r.add(kind, &names, &sub)
            } else {
                r.remove(kind, &names, sub.id)
            }
        })
    })
    .await;
}

/// Remove a client's subscriptions everywhere without waiting (disconnect, RESET).
/// Each shard's inbox is FIFO, so this lands after any earlier update from this shard.
pub fn forget_all(id: u64, subs: [(Kind, Vec<Bytes>); 3]) {
    if subs.iter().all(|(_, v)| v.is_empty()) {
        return;
    }
    let subs = std::sync::Arc::new(subs);
    with_registry(|r| {
        for (kind, names) in subs.iter() {
            r.remove(*kind, names, id);
        }
    });
    let me = crate::shard::mesh::current();
    for target in 0..crate::shard::mesh::shard_count() {
        if target == me {
            continue;
        }
        let subs = subs.clone();
        crate::shard::mesh::post(
            target,
            Box::new(move || {
                with_registry(|r| {
                    for (kind, names) in subs.iter() {
                        r.remove(*kind, names, id);
                    }
                })
            }),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(id: u64) -> (Subscriber, Receiver) {
        let (tx, rx) = mpsc::unbounded();
        (Subscriber { id, tx }, rx)
    }

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    fn drain(rx: &mut Receiver) -> Vec<Delivery> {
        let mut out = Vec::new();
        while let Ok(d) = rx.try_recv() {
            out.push(d);
        }
        out
    }

    #[test]
    fn channel_then_pattern_deliveries_are_counted() {
        let mut r = Registry::default();
        let (s1, mut rx1) = sub(1);
        let (s2, mut rx2) = sub(2);
        r.add(Kind::Channel, &[b("news")], &s1);
        r.add(Kind::Pattern, &[b("n*"), b("x*")], &s1);
        r.add(Kind::Pattern, &[b("n?ws")], &s2);
        assert_eq!(r.publish(Kind::Channel, &b("news"), &b("hi")), 3);
        let got = drain(&mut rx1);
        assert_eq!(got.len(), 2);
        assert!(matches!(&got[0], Delivery::Message { shard: false, .. }));
        assert!(matches!(&got[1], Delivery::PMessage { pattern, .. } if pattern == "n*"));
        assert_eq!(drain(&mut rx2).len(), 1);
        assert_eq!(r.publish(Kind::Channel, &b("other"), &b("hi")), 0);
    }

    #[test]
    fn shard_channels_ignore_patterns_and_plain_channels() {
        let mut r = Registry::default();
        let (s1, mut rx1) = sub(1);
        r.add(Kind::Channel, &[b("a")], &s1);
        r.add(Kind::Pattern, &[b("*")], &s1);
        assert_eq!(r.publish(Kind::Shard, &b("a"), &b("m")), 0);
        r.add(Kind::Shard, &[b("a")], &s1);
        assert_eq!(r.publish(Kind::Shard, &b("a"), &b("m")), 1);
        let got = drain(&mut rx1);
        assert_eq!(
            got,
            vec![Delivery::Message {
                shard: true,
                channel: b("a"),
                payload: b("m")
            }]
        );
    }

    #[test]
    fn add_is_idempotent_and_remove_cleans_up() {
        let mut r = Registry::default();
        let (s1, _rx) = sub(1);
        r.add(Kind::Channel, &[b("a"), b("a")], &s1);
        r.add(Kind::Channel, &[b("a")], &s1);
        assert_eq!(r.count(Kind::Channel, b"a"), 1);
        r.remove(Kind::Channel, &[b("a"), b("zz")], 1);
        assert!(r.is_empty());
    }

    #[test]
    fn closed_subscribers_are_not_counted_and_get_pruned() {
        let mut r = Registry::default();
        let (s1, rx1) = sub(1);
        let (s2, _rx2) = sub(2);
        r.add(Kind::Channel, &[b("a")], &s1);
        r.add(Kind::Channel, &[b("a")], &s2);
        drop(rx1);
        assert_eq!(r.publish(Kind::Channel, &b("a"), &b("m")), 1);
        assert_eq!(r.count(Kind::Channel, b"a"), 1);
    }

    #[test]
    fn names_filter_by_pattern() {
        let mut r = Registry::default();
        let (s1, _rx) = sub(1);
        r.add(Kind::Channel, &[b("foo"), b("bar"), b("fob")], &s1);
        let mut n = r.names(Kind::Channel, Some(b"fo?"));
        n.sort();
        assert_eq!(n, vec![b("fob"), b("foo")]);
        assert_eq!(r.names(Kind::Channel, None).len(), 3);
        assert_eq!(r.len(Kind::Channel), 3);
    }
}
