//! Keyspace notifications (`notify-keyspace-events`).
//!
//! Command code calls [`crate::command::ExecCtx::notify`] with a class and Redis's event
//! name right after a change; with notifications off that is one flag test. The
//! messages go through the ordinary pub/sub table: `__keyspace@<db>__:<key>` carries the
//! event name, `__keyevent@<db>__:<event>` the key.
//!
//! Redis runs a command in one thread, so a subscriber gets its notifications in the
//! command's program order. A command spanning shards keeps that order: its hops run
//! one after another in that order (`families::multikey`), and where a hop must run
//! before another whose events Redis sends first (LMOVE pops before it pushes), the
//! earlier hop's messages are held (`hold`) and its coordinator publishes them after.

use std::cell::RefCell;

use bytes::{BufMut, Bytes, BytesMut};

pub use crate::config::notify as class;
use crate::shard::Shard;

use super::Kind;

/// Publish one event for `key` in `db`, if `flags` (the configured classes) include
/// `class`. Callers test the class first on hot paths; this tests it again.
pub fn emit(flags: u32, class: u32, event: &'static str, db: u16, key: &[u8]) {
    if flags & class == 0 {
        return;
    }
    if super::with_registry(|r| r.is_empty()) {
        return;
    }
    let key = Bytes::copy_from_slice(key);
    let event = Bytes::from_static(event.as_bytes());
    if flags & class::KEYSPACE != 0 {
        send(channel("__keyspace@", db, &key), event.clone());
    }
    if flags & class::KEYEVENT != 0 {
        send(channel("__keyevent@", db, &event), key);
    }
}

thread_local! {
    /// Messages of the hop running inside `hold`, kept back instead of published.
    static HELD: RefCell<Option<Vec<(Bytes, Bytes)>>> = const { RefCell::new(None) };
}

fn send(ch: Bytes, payload: Bytes) {
    let unsent = HELD.with(|h| match h.borrow_mut().as_mut() {
        Some(held) => {
            held.push((ch, payload));
            None
        }
        None => Some((ch, payload)),
    });
    if let Some((ch, payload)) = unsent {
        super::publish(Kind::Channel, &ch, &payload);
    }
}

/// Notifications a cross-shard hop made but did not publish, in the order it made them.
#[must_use = "held notifications are lost unless published"]
#[derive(Default)]
pub struct Held(Vec<(Bytes, Bytes)>);

impl Held {
    /// Publish from this shard (any shard may: every shard has the whole subscription
    /// table). Called by the coordinator of a command spanning shards at the point where
    /// Redis, running the command in one thread, would have sent them.
    pub fn publish(self) {
        for (ch, payload) in self.0 {
            super::publish(Kind::Channel, &ch, &payload);
        }
    }
}

/// Run `f` keeping the notifications it makes (see `Held`). Must not yield or nest: the
/// buffer belongs to this thread.
pub fn hold<R>(f: impl FnOnce() -> R) -> (R, Held) {
    /// Stops holding even if `f` panics: a hop's panic is caught and its shard goes on.
    struct Stop;
    impl Drop for Stop {
        fn drop(&mut self) {
            HELD.with(|h| h.borrow_mut().take());
        }
    }
    let outer = HELD.with(|h| h.replace(Some(Vec::new())));
    debug_assert!(outer.is_none(), "notify::hold does not nest");
    let stop = Stop;
    let r = f();
    let held = HELD.with(|h| h.borrow_mut().take()).unwrap_or_default();
    drop(stop);
    (r, Held(held))
}

/// `<prefix><db>__:<name>`
fn channel(prefix: &str, db: u16, name: &[u8]) -> Bytes {
    let mut b = BytesMut::with_capacity(prefix.len() + 8 + name.len());
    b.put_slice(prefix.as_bytes());
    b.put_slice(db.to_string().as_bytes());
    b.put_slice(b"__:");
    b.put_slice(name);
    b.freeze()
}

/// For shard code outside a command (expiry, eviction).
#[inline]
pub fn shard_event(shard: &Shard, class: u32, event: &'static str, db: u16, key: &[u8]) {
    let flags = shard.tun.notify;
    if flags & class != 0 {
        emit(flags, class, event, db, key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pubsub::{with_registry, Delivery, Subscriber};

    fn tunables(text: &str) -> crate::shard::Tunables {
        let cwd = std::env::current_dir().expect("cwd");
        let c = crate::config::Config::load_in(&cwd, Some("-"), &[], Some(text)).expect("config");
        crate::shard::Tunables::from_config(&c)
    }

    #[test]
    fn classes_reach_the_shard_tunables() {
        for (letter, bit) in [
            ("K", class::KEYSPACE),
            ("E", class::KEYEVENT),
            ("g", class::GENERIC),
            ("$", class::STRING),
            ("l", class::LIST),
            ("s", class::SET),
            ("h", class::HASH),
            ("z", class::ZSET),
            ("x", class::EXPIRED),
            ("e", class::EVICTED),
            ("t", class::STREAM),
            ("m", class::KEY_MISS),
            ("d", class::MODULE),
            ("n", class::NEW),
        ] {
            let t = tunables(&format!("notify-keyspace-events {letter}"));
            assert_eq!(t.notify, bit, "class {letter}");
        }
        let a = tunables("notify-keyspace-events KA").notify;
        assert_eq!(
            a & (class::NEW | class::KEY_MISS),
            0,
            "A has neither n nor m"
        );
        assert_eq!(a & class::ALL, class::ALL);
        assert_eq!(tunables("").notify, 0);
    }

    #[test]
    fn output_limits_reach_the_shard_tunables() {
        let t = tunables("client-output-buffer-limit pubsub 1mb 512kb 7 normal 10 20 30");
        assert_eq!(
            t.obl,
            [
                (10, 20, 30),
                (256 << 20, 64 << 20, 60),
                (1 << 20, 512 << 10, 7)
            ]
        );
    }

    /// A pattern subscriber registered in this thread's table.
    fn pattern_subscriber(
        id: u64,
        pattern: &'static [u8],
    ) -> (crate::pubsub::Receiver, [Bytes; 1]) {
        let (tx, rx) = futures_channel::mpsc::unbounded();
        let pats = [Bytes::from_static(pattern)];
        with_registry(|r| r.add(Kind::Pattern, &pats, &Subscriber { id, tx }));
        (rx, pats)
    }

    /// Every message waiting for a subscriber.
    fn drain(rx: &mut crate::pubsub::Receiver) -> Vec<Delivery> {
        let mut v = Vec::new();
        while let Ok(d) = rx.try_recv() {
            v.push(d);
        }
        v
    }

    #[test]
    fn held_messages_wait_for_publish() {
        let (mut rx, pats) = pattern_subscriber(78, b"__keyspace*");
        let flags = class::KEYSPACE | class::SET;
        let payloads = |rx: &mut crate::pubsub::Receiver| {
            drain(rx)
                .into_iter()
                .filter_map(|d| match d {
                    Delivery::PMessage { payload, .. } => Some(payload),
                    _ => None,
                })
                .collect::<Vec<_>>()
        };
        let (n, held) = hold(|| {
            emit(flags, class::SET, "srem", 0, b"src");
            emit(flags, class::SET, "del", 0, b"src");
            7
        });
        assert_eq!(n, 7);
        assert!(payloads(&mut rx).is_empty(), "held messages were sent");
        emit(flags, class::SET, "sadd", 0, b"dst");
        held.publish();
        assert_eq!(payloads(&mut rx), ["sadd", "srem", "del"]);
        // A panic inside does not leave the thread holding.
        let caught = std::panic::catch_unwind(|| hold(|| panic!("hop failed")));
        assert!(caught.is_err());
        emit(flags, class::SET, "sadd", 0, b"dst");
        assert_eq!(payloads(&mut rx), ["sadd"]);
        with_registry(|r| r.remove(Kind::Pattern, &pats, 78));
    }

    #[test]
    fn channel_names() {
        assert_eq!(channel("__keyspace@", 3, b"k:1"), "__keyspace@3__:k:1");
        assert_eq!(channel("__keyevent@", 0, b"del"), "__keyevent@0__:del");
    }

    #[test]
    fn emit_respects_classes_and_k_e() {
        let (mut rx, pats) = pattern_subscriber(77, b"__key*");
        let count = drain;
        // Class not enabled: nothing.
        emit(
            class::KEYSPACE | class::KEYEVENT | class::LIST,
            class::STRING,
            "set",
            0,
            b"k",
        );
        assert!(count(&mut rx).is_empty());
        // Class enabled but neither K nor E: nothing.
        emit(class::STRING, class::STRING, "set", 0, b"k");
        assert!(count(&mut rx).is_empty());
        emit(
            class::KEYSPACE | class::KEYEVENT | class::STRING,
            class::STRING,
            "set",
            2,
            b"k",
        );
        let got = count(&mut rx);
        assert_eq!(got.len(), 2);
        match (&got[0], &got[1]) {
            (
                Delivery::PMessage {
                    channel: c1,
                    payload: p1,
                    ..
                },
                Delivery::PMessage {
                    channel: c2,
                    payload: p2,
                    ..
                },
            ) => {
                assert_eq!(c1, "__keyspace@2__:k");
                assert_eq!(p1, "set");
                assert_eq!(c2, "__keyevent@2__:set");
                assert_eq!(p2, "k");
            }
            other => panic!("unexpected {other:?}"),
        }
        with_registry(|r| r.remove(Kind::Pattern, &pats, 77));
    }
}
