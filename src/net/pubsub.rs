//! The connection's side of pub/sub: what this client subscribed to, the queue its
//! messages arrive on, how they are written, and client-output-buffer-limit.

use bytes::{BufMut, Bytes, BytesMut};
use futures_lite::StreamExt;
use hashbrown::HashSet;

use crate::pubsub::{self, Delivery, Kind, Receiver, Subscriber};

/// A client's subscriptions. Dropping it (disconnect) removes them from every shard.
pub struct ClientPubSub {
    id: u64,
    pub channels: HashSet<Bytes>,
    pub patterns: HashSet<Bytes>,
    pub shard_channels: HashSet<Bytes>,
    sub: Option<Subscriber>,
    rx: Option<Receiver>,
    /// When the output first went over the soft limit (unix ms; 0: it is not over).
    soft_since: u64,
}

impl ClientPubSub {
    pub fn new(id: u64) -> ClientPubSub {
        ClientPubSub {
            id,
            channels: HashSet::new(),
            patterns: HashSet::new(),
            shard_channels: HashSet::new(),
            sub: None,
            rx: None,
            soft_since: 0,
        }
    }

    pub fn set(&mut self, kind: Kind) -> &mut HashSet<Bytes> {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::Shard => &mut self.shard_channels,
        }
    }

    /// The count a (un)subscribe confirmation shows: channels + patterns, or shard
    /// channels alone, as Redis 7.0 counts them.
    pub fn confirm_count(&self, kind: Kind) -> i64 {
        match kind {
            Kind::Shard => self.shard_channels.len() as i64,
            _ => (self.channels.len() + self.patterns.len()) as i64,
        }
    }

    /// Redis's CLIENT_PUBSUB flag: subscribed to anything.
    #[inline]
    pub fn subscribed(&self) -> bool {
        !(self.channels.is_empty() && self.patterns.is_empty() && self.shard_channels.is_empty())
    }

    /// This client as the subscription table knows it; its queue is made on first use.
    pub fn subscriber(&mut self) -> Subscriber {
        if let Some(s) = &self.sub {
            return s.clone();
        }
        let (tx, rx) = futures_channel::mpsc::unbounded();
        let s = Subscriber { id: self.id, tx };
        self.sub = Some(s.clone());
        self.rx = Some(rx);
        s
    }

    /// The next message; never resolves while the client has no queue.
    pub async fn next(&mut self) -> Option<Delivery> {
        match self.rx.as_mut() {
            Some(rx) => rx.next().await,
            None => std::future::pending().await,
        }
    }

    /// Write every message already queued to `out`; returns how many.
    pub fn flush_into(&mut self, resp3: bool, out: &mut BytesMut) -> usize {
        let Some(rx) = self.rx.as_mut() else { return 0 };
        let mut n = 0;
        while let Ok(d) = rx.try_recv() {
            encode_delivery(&d, resp3, out);
            n += 1;
        }
        n
    }

    fn take_all(&mut self) -> [(Kind, Vec<Bytes>); 3] {
        [
            (Kind::Channel, self.channels.drain().collect()),
            (Kind::Pattern, self.patterns.drain().collect()),
            (Kind::Shard, self.shard_channels.drain().collect()),
        ]
    }

    /// RESET: drop every subscription and every message not yet written.
    pub fn reset(&mut self) {
        let all = self.take_all();
        pubsub::forget_all(self.id, all);
        self.sub = None;
        self.rx = None;
        self.soft_since = 0;
    }

    /// Output-limit class index: 0 normal, 2 pubsub (replicas do not exist yet).
    pub fn limit_class(&self) -> usize {
        if self.subscribed() {
            2
        } else {
            0
        }
    }

    /// Whether `used` bytes of pending output break the limits of this client's
    /// class: at or over the hard limit, or at or over the soft one for longer than its
    /// seconds.
    pub fn over_limit(&mut self, limits: &[(u64, u64, i64); 3], used: usize, now_ms: u64) -> bool {
        let (hard, soft, secs) = limits[self.limit_class()];
        over_limit(hard, soft, secs, used as u64, now_ms, &mut self.soft_since)
    }
}

impl Drop for ClientPubSub {
    fn drop(&mut self) {
        if self.subscribed() {
            let all = self.take_all();
            pubsub::forget_all(self.id, all);
        }
    }
}

/// One output-limit decision. `soft_since` remembers when the soft limit was first
/// reached and is cleared when output drops below it.
pub fn over_limit(
    hard: u64,
    soft: u64,
    secs: i64,
    used: u64,
    now_ms: u64,
    soft_since: &mut u64,
) -> bool {
    if hard > 0 && used >= hard {
        return true;
    }
    if soft > 0 && used >= soft {
        if *soft_since == 0 {
            *soft_since = now_ms.max(1);
        }
        // Redis: closed once over the soft limit for more than `secs` seconds.
        return now_ms.saturating_sub(*soft_since) / 1000 > secs as u64;
    }
    *soft_since = 0;
    false
}

/// client-output-buffer-limit, checked whenever output was queued: true (after logging
/// as Redis does) when the client must be closed.
pub fn output_limit_reached(client: &mut super::client::Client, unsent: usize) -> bool {
    let limits = crate::shard::with_shard(|s| s.tun.obl);
    let class = client.pubsub.limit_class();
    if limits[class].0 == 0 && limits[class].1 == 0 {
        return false;
    }
    if !client
        .pubsub
        .over_limit(&limits, unsent, crate::util::now_ms())
    {
        return false;
    }
    tracing::warn!(
        "Client {} scheduled to be closed ASAP for overcoming of output buffer limits.",
        crate::families::connection::format_client(&{
            let mut i = client.info.borrow().clone();
            i.omem = unsent;
            i
        })
    );
    true
}

/// Write the queued messages (`first` and whatever followed it) to the socket.
/// Returns false when the connection must close (socket failed or over its limit).
pub fn deliver(
    client: &mut super::client::Client,
    sock: &super::uring::Socket,
    first: Delivery,
) -> bool {
    let mut out = BytesMut::with_capacity(first.approx_len());
    encode_delivery(&first, client.resp3, &mut out);
    client.pubsub.flush_into(client.resp3, &mut out);
    if output_limit_reached(client, sock.unsent() + out.len()) {
        return false;
    }
    let n = out.len() as u64;
    if !sock.send(&mut out) {
        return false;
    }
    crate::shard::with_shard(|s| s.stats.net_output_bytes += n);
    true
}

fn bulk(out: &mut BytesMut, b: &[u8]) {
    out.put_u8(b'$');
    out.put_slice(b.len().to_string().as_bytes());
    out.put_slice(b"\r\n");
    out.put_slice(b);
    out.put_slice(b"\r\n");
}

/// A message as Redis writes it: `message`/`smessage` (3 items) or `pmessage` (4), a
/// push in RESP3, an array in RESP2.
pub fn encode_delivery(d: &Delivery, resp3: bool, out: &mut BytesMut) {
    out.reserve(d.approx_len());
    out.put_u8(if resp3 { b'>' } else { b'*' });
    match d {
        Delivery::Message {
            shard,
            channel,
            payload,
        } => {
            out.put_slice(b"3\r\n");
            bulk(out, if *shard { b"smessage" } else { b"message" });
            bulk(out, channel);
            bulk(out, payload);
        }
        Delivery::PMessage {
            pattern,
            channel,
            payload,
        } => {
            out.put_slice(b"4\r\n");
            bulk(out, b"pmessage");
            bulk(out, pattern);
            bulk(out, channel);
            bulk(out, payload);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_encodings() {
        let m = Delivery::Message {
            shard: false,
            channel: Bytes::from_static(b"ch"),
            payload: Bytes::from_static(b"hello"),
        };
        let mut out = BytesMut::new();
        encode_delivery(&m, false, &mut out);
        assert_eq!(
            &out[..],
            b"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nhello\r\n"
        );
        out.clear();
        encode_delivery(&m, true, &mut out);
        assert_eq!(
            &out[..],
            b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nhello\r\n"
        );
        let s = Delivery::Message {
            shard: true,
            channel: Bytes::from_static(b"c"),
            payload: Bytes::new(),
        };
        out.clear();
        encode_delivery(&s, false, &mut out);
        assert_eq!(&out[..], b"*3\r\n$8\r\nsmessage\r\n$1\r\nc\r\n$0\r\n\r\n");
        let p = Delivery::PMessage {
            pattern: Bytes::from_static(b"c*"),
            channel: Bytes::from_static(b"cx"),
            payload: Bytes::from_static(b"1"),
        };
        out.clear();
        encode_delivery(&p, true, &mut out);
        assert_eq!(
            &out[..],
            b">4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$2\r\ncx\r\n$1\r\n1\r\n"
        );
        assert!(p.approx_len() >= out.len());
    }

    #[test]
    fn hard_limit() {
        let mut since = 0;
        assert!(!over_limit(100, 0, 0, 99, 1000, &mut since));
        assert!(over_limit(100, 0, 0, 100, 1000, &mut since));
        // 0 disables.
        assert!(!over_limit(0, 0, 0, u64::MAX, 1000, &mut since));
    }

    #[test]
    fn soft_limit_needs_to_last() {
        let mut since = 0;
        assert!(!over_limit(0, 50, 2, 60, 10_000, &mut since));
        assert_eq!(since, 10_000);
        assert!(!over_limit(0, 50, 2, 60, 12_000, &mut since));
        assert!(over_limit(0, 50, 2, 60, 13_001, &mut since));
        // Dropping below resets the clock.
        assert!(!over_limit(0, 50, 2, 10, 13_500, &mut since));
        assert_eq!(since, 0);
        assert!(!over_limit(0, 50, 2, 60, 14_000, &mut since));
        // Zero seconds: over once it stayed for more than 0 whole seconds.
        let mut s2 = 0;
        assert!(!over_limit(0, 50, 0, 60, 1_000, &mut s2));
        assert!(over_limit(0, 50, 0, 60, 2_000, &mut s2));
    }

    #[test]
    fn class_and_counts() {
        let mut c = ClientPubSub::new(1);
        assert_eq!(c.limit_class(), 0);
        c.channels.insert(Bytes::from_static(b"a"));
        c.patterns.insert(Bytes::from_static(b"p*"));
        c.shard_channels.insert(Bytes::from_static(b"s"));
        assert_eq!(c.limit_class(), 2);
        assert_eq!(c.confirm_count(Kind::Channel), 2);
        assert_eq!(c.confirm_count(Kind::Shard), 1);
        let limits = [(10, 0, 0), (0, 0, 0), (100, 0, 0)];
        assert!(!c.over_limit(&limits, 50, 0));
        c.reset();
        assert!(c.over_limit(&limits, 50, 0));
    }
}
