//! Pub/sub and keyspace notifications against the real binary, with `--threads 1` and
//! `--threads 3`: fan-out from publishers to subscribers on any shard, per-publisher
//! order, patterns, shard channels, RESP2 subscribed mode and RESP3 pushes, PUBSUB
//! introspection, cleanup on disconnect and RESET, CLIENT LIST's omem/oll for a
//! subscriber that does not read, client-output-buffer-limit (a subscriber that never
//! reads is closed and memory stays bounded), and keyspace notifications of every class
//! Tessera implements. Exact shapes are compared with a real redis-server in
//! tests/data/differential_pubsub.txt.

mod common;
mod rawresp;

use std::time::{Duration, Instant};

use common::{RedisServer, TestServer};
use rawresp::{encode_strs, key_on_shard, shard_of, RawConn, Resp};

const THREADS: [&str; 2] = ["1", "3"];

fn start(threads: &str, extra: &[&str]) -> TestServer {
    let mut args = vec!["--threads", threads];
    args.extend_from_slice(extra);
    TestServer::start(&args)
}

fn bulk_text(r: &Resp) -> String {
    r.text().unwrap_or_else(|| panic!("not a string: {r:?}"))
}

/// A message read from a subscriber: (kind, pattern, channel, payload).
fn read_msg(c: &mut RawConn) -> (String, Option<String>, String, String) {
    let r = c.read();
    let items = r
        .items()
        .unwrap_or_else(|| panic!("not a message: {r:?}"))
        .to_vec();
    let kind = bulk_text(&items[0]);
    match kind.as_str() {
        "message" | "smessage" => (kind, None, bulk_text(&items[1]), bulk_text(&items[2])),
        "pmessage" => (
            kind,
            Some(bulk_text(&items[1])),
            bulk_text(&items[2]),
            bulk_text(&items[3]),
        ),
        _ => panic!("unexpected push {r:?}"),
    }
}

/// SUBSCRIBE-like command: reads one confirmation per name.
fn sub(c: &mut RawConn, verb: &str, names: &[&str]) -> Vec<Resp> {
    let mut args = vec![verb];
    args.extend_from_slice(names);
    c.send(&encode_strs(&args));
    (0..names.len().max(1)).map(|_| c.read()).collect()
}

fn int(c: &mut RawConn, args: &[&str]) -> i64 {
    let r = c.cmd(args);
    r.int().unwrap_or_else(|| panic!("{args:?} -> {r:?}"))
}

fn info_field(c: &mut RawConn, section: &str, field: &str) -> u64 {
    let r = c.cmd(&["INFO", section]);
    let text = bulk_text(&r);
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("INFO {section} has no {field}: {text}"))
}

/// Poll `f` until it returns true (bounded).
fn eventually(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

// ---------------------------------------------------------------------------
// Fan-out and order
// ---------------------------------------------------------------------------

fn fan_out(threads: &str) {
    let srv = start(threads, &[]);
    const SUBS: usize = 9;
    const PUBS: usize = 3;
    const N: usize = 300;
    let mut subs: Vec<RawConn> = (0..SUBS).map(|_| RawConn::connect(srv.port)).collect();
    for (i, s) in subs.iter_mut().enumerate() {
        // Every third subscriber listens through a pattern instead of the channel.
        if i % 3 == 0 {
            sub(s, "PSUBSCRIBE", &["fan*"]);
        } else {
            sub(s, "SUBSCRIBE", &["fanout"]);
        }
    }
    let publishers: Vec<_> = (0..PUBS)
        .map(|p| {
            let port = srv.port;
            std::thread::spawn(move || {
                let mut c = RawConn::connect(port);
                // Pipelined in batches: replies still come back in order.
                for start in (0..N).step_by(50) {
                    let mut out = Vec::new();
                    for n in start..start + 50 {
                        out.extend(encode_strs(&["PUBLISH", "fanout", &format!("{p}:{n}")]));
                    }
                    c.send(&out);
                    for _ in 0..50 {
                        assert_eq!(c.read(), Resp::Int(SUBS as i64), "PUBLISH count");
                    }
                }
            })
        })
        .collect();
    for h in publishers {
        h.join().expect("publisher thread");
    }
    for (i, s) in subs.iter_mut().enumerate() {
        let mut next = [0usize; PUBS];
        for _ in 0..PUBS * N {
            let (kind, _, ch, payload) = read_msg(s);
            assert_eq!(ch, "fanout");
            assert_eq!(kind, if i % 3 == 0 { "pmessage" } else { "message" });
            let (p, n) = payload.split_once(':').expect("p:n");
            let (p, n): (usize, usize) = (p.parse().unwrap(), n.parse().unwrap());
            assert_eq!(
                n, next[p],
                "subscriber {i}: publisher {p}'s messages out of order"
            );
            next[p] += 1;
        }
        s.assert_silent(Duration::from_millis(50));
    }
}

#[test]
fn fan_out_threads_1() {
    fan_out("1");
}

#[test]
fn fan_out_threads_3() {
    fan_out("3");
}

/// One publisher's messages on different channels reach a subscriber of both in the
/// order they were published.
#[test]
fn order_across_channels() {
    for t in THREADS {
        let srv = start(t, &[]);
        let mut s = RawConn::connect(srv.port);
        let chans: Vec<String> = (0..8).map(|i| format!("ch{i}")).collect();
        let names: Vec<&str> = chans.iter().map(String::as_str).collect();
        sub(&mut s, "SUBSCRIBE", &names);
        let mut p = RawConn::connect(srv.port);
        let mut out = Vec::new();
        for n in 0..400 {
            out.extend(encode_strs(&["PUBLISH", &chans[n % 8], &n.to_string()]));
        }
        p.send(&out);
        for _ in 0..400 {
            assert_eq!(p.read(), Resp::Int(1));
        }
        for n in 0..400 {
            let (_, _, ch, payload) = read_msg(&mut s);
            assert_eq!((ch, payload), (chans[n % 8].clone(), n.to_string()));
        }
    }
}

// ---------------------------------------------------------------------------
// Patterns, shard channels, introspection
// ---------------------------------------------------------------------------

#[test]
fn patterns_and_counts() {
    for t in THREADS {
        let srv = start(t, &[]);
        let mut a = RawConn::connect(srv.port);
        let mut b = RawConn::connect(srv.port);
        let mut p = RawConn::connect(srv.port);
        let r = sub(&mut a, "PSUBSCRIBE", &["news.*", "h?llo", "[xy]z"]);
        assert_eq!(r[2].items().unwrap()[2], Resp::Int(3));
        sub(&mut b, "SUBSCRIBE", &["hello"]);
        let r = sub(&mut b, "PSUBSCRIBE", &["h*"]);
        assert_eq!(
            r[0].items().unwrap()[2],
            Resp::Int(2),
            "channels + patterns"
        );
        assert_eq!(int(&mut p, &["PUBLISH", "hello", "1"]), 3);
        assert_eq!(int(&mut p, &["PUBLISH", "news.tech", "2"]), 1);
        assert_eq!(int(&mut p, &["PUBLISH", "yz", "3"]), 1);
        assert_eq!(int(&mut p, &["PUBLISH", "news", "4"]), 0);
        assert_eq!(int(&mut p, &["PUBLISH", "hx", "5"]), 1);
        assert_eq!(
            read_msg(&mut a),
            (
                "pmessage".into(),
                Some("h?llo".into()),
                "hello".into(),
                "1".into()
            )
        );
        assert_eq!(
            read_msg(&mut a),
            (
                "pmessage".into(),
                Some("news.*".into()),
                "news.tech".into(),
                "2".into()
            )
        );
        assert_eq!(
            read_msg(&mut a),
            (
                "pmessage".into(),
                Some("[xy]z".into()),
                "yz".into(),
                "3".into()
            )
        );
        a.assert_silent(Duration::from_millis(50));
        // The channel subscription is delivered before the pattern one.
        assert_eq!(
            read_msg(&mut b),
            ("message".into(), None, "hello".into(), "1".into())
        );
        assert_eq!(
            read_msg(&mut b),
            (
                "pmessage".into(),
                Some("h*".into()),
                "hello".into(),
                "1".into()
            )
        );
        assert_eq!(
            read_msg(&mut b),
            (
                "pmessage".into(),
                Some("h*".into()),
                "hx".into(),
                "5".into()
            )
        );
        // NUMPAT counts distinct patterns.
        let mut c = RawConn::connect(srv.port);
        sub(&mut c, "PSUBSCRIBE", &["h*"]);
        assert_eq!(int(&mut p, &["PUBSUB", "NUMPAT"]), 4);
        assert_eq!(info_field(&mut p, "stats", "pubsub_patterns"), 4);
        assert_eq!(info_field(&mut p, "stats", "pubsub_channels"), 1);
    }
}

#[test]
fn shard_channels() {
    for t in THREADS {
        let srv = start(t, &[]);
        let mut s = RawConn::connect(srv.port);
        let mut p = RawConn::connect(srv.port);
        let r = sub(&mut s, "SSUBSCRIBE", &["{u}a", "{u}b"]);
        assert_eq!(r[1].items().unwrap()[2], Resp::Int(2));
        sub(&mut s, "PSUBSCRIBE", &["*"]);
        // A plain PUBLISH reaches the pattern only; SPUBLISH only shard subscribers.
        assert_eq!(int(&mut p, &["PUBLISH", "{u}a", "x"]), 1);
        assert_eq!(int(&mut p, &["SPUBLISH", "{u}a", "y"]), 1);
        assert_eq!(int(&mut p, &["SPUBLISH", "other", "y"]), 0);
        assert_eq!(read_msg(&mut s).0, "pmessage");
        assert_eq!(
            read_msg(&mut s),
            ("smessage".into(), None, "{u}a".into(), "y".into())
        );
        let r = p.cmd(&["PUBSUB", "SHARDNUMSUB", "{u}a", "{u}c"]);
        assert_eq!(
            r,
            Resp::Array(Some(vec![
                Resp::bulk("{u}a"),
                Resp::Int(1),
                Resp::bulk("{u}c"),
                Resp::Int(0)
            ]))
        );
        let mut names: Vec<String> = p
            .cmd(&["PUBSUB", "SHARDCHANNELS"])
            .items()
            .unwrap()
            .iter()
            .map(bulk_text)
            .collect();
        names.sort();
        assert_eq!(names, vec!["{u}a", "{u}b"]);
        assert_eq!(info_field(&mut p, "stats", "pubsubshard_channels"), 2);
        // The confirmation count of SSUBSCRIBE/SUNSUBSCRIBE is the shard channels only.
        let r = sub(&mut s, "SUNSUBSCRIBE", &["{u}a"]);
        assert_eq!(r[0].items().unwrap()[2], Resp::Int(1));
    }
}

#[test]
fn pubsub_channels_and_numsub() {
    for t in THREADS {
        let srv = start(t, &[]);
        let mut conns: Vec<RawConn> = (0..4).map(|_| RawConn::connect(srv.port)).collect();
        for (i, c) in conns.iter_mut().enumerate() {
            let names: Vec<String> = (0..=i).map(|j| format!("chan:{j}")).collect();
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            sub(c, "SUBSCRIBE", &names);
        }
        let mut q = RawConn::connect(srv.port);
        let r = q.cmd(&["PUBSUB", "NUMSUB", "chan:0", "chan:3", "nope"]);
        assert_eq!(
            r,
            Resp::Array(Some(vec![
                Resp::bulk("chan:0"),
                Resp::Int(4),
                Resp::bulk("chan:3"),
                Resp::Int(1),
                Resp::bulk("nope"),
                Resp::Int(0)
            ]))
        );
        let mut all: Vec<String> = q
            .cmd(&["PUBSUB", "CHANNELS"])
            .items()
            .unwrap()
            .iter()
            .map(bulk_text)
            .collect();
        all.sort();
        assert_eq!(all, vec!["chan:0", "chan:1", "chan:2", "chan:3"]);
        let some = q.cmd(&["PUBSUB", "CHANNELS", "*[23]"]);
        assert_eq!(some.items().unwrap().len(), 2);
        // CLIENT LIST shows the counts and the P flag.
        let list = bulk_text(&q.cmd(&["CLIENT", "LIST"]));
        assert!(list.contains("flags=P db=0 sub=4 psub=0 ssub=0"), "{list}");
        assert!(list.contains("flags=N db=0 sub=0 psub=0 ssub=0"), "{list}");
        let r = q.cmd(&["PUBSUB", "CHANNELS", "a", "b"]);
        assert_eq!(
            r,
            Resp::err("ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP.")
        );
        // The connection still works after the error.
        assert_eq!(q.cmd(&["PING"]), Resp::Simple("PONG".into()));
    }
}

// ---------------------------------------------------------------------------
// Subscribed mode
// ---------------------------------------------------------------------------

#[test]
fn resp2_subscribed_mode_and_resp3_pushes() {
    for t in THREADS {
        let srv = start(t, &[]);
        let mut s = RawConn::connect(srv.port);
        sub(&mut s, "SUBSCRIBE", &["x"]);
        assert_eq!(
            s.cmd(&["GET", "k"]),
            Resp::err("ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context")
        );
        assert_eq!(
            s.cmd(&["CONFIG", "GET", "port"]),
            Resp::err("ERR Can't execute 'config|get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context")
        );
        assert_eq!(
            s.cmd(&["PING"]),
            Resp::Array(Some(vec![Resp::bulk("pong"), Resp::bulk("")]))
        );
        assert_eq!(
            s.cmd(&["PING", "m"]),
            Resp::Array(Some(vec![Resp::bulk("pong"), Resp::bulk("m")]))
        );
        // Unsubscribing from everything leaves subscribed mode.
        let r = sub(&mut s, "UNSUBSCRIBE", &[]);
        assert_eq!(
            r[0],
            Resp::Array(Some(vec![
                Resp::bulk("unsubscribe"),
                Resp::bulk("x"),
                Resp::Int(0)
            ]))
        );
        assert_eq!(s.cmd(&["GET", "k"]), Resp::Bulk(None));
        let r = sub(&mut s, "UNSUBSCRIBE", &[]);
        assert_eq!(
            r[0],
            Resp::Array(Some(vec![
                Resp::bulk("unsubscribe"),
                Resp::Bulk(None),
                Resp::Int(0)
            ]))
        );

        // RESP3: pushes, and every command allowed.
        let mut r3 = RawConn::connect(srv.port);
        r3.cmd(&["HELLO", "3"]);
        let r = sub(&mut r3, "SUBSCRIBE", &["x"]);
        assert_eq!(
            r[0],
            Resp::Push(vec![Resp::bulk("subscribe"), Resp::bulk("x"), Resp::Int(1)])
        );
        assert_eq!(r3.cmd(&["SET", "k", "v"]), Resp::ok());
        assert_eq!(r3.cmd(&["PING"]), Resp::Simple("PONG".into()));
        let mut p = RawConn::connect(srv.port);
        assert_eq!(int(&mut p, &["PUBLISH", "x", "hi"]), 1);
        assert_eq!(
            r3.read(),
            Resp::Push(vec![
                Resp::bulk("message"),
                Resp::bulk("x"),
                Resp::bulk("hi")
            ])
        );
        // A message that arrives while commands run comes before later replies.
        assert_eq!(int(&mut p, &["PUBLISH", "x", "between"]), 1);
        eventually("the message to be queued", Duration::from_secs(5), || true);
        let r = r3.cmd(&["GET", "k"]);
        let r = if matches!(r, Resp::Push(_)) {
            assert_eq!(
                r,
                Resp::Push(vec![
                    Resp::bulk("message"),
                    Resp::bulk("x"),
                    Resp::bulk("between")
                ])
            );
            r3.read()
        } else {
            // Not yet arrived when GET ran: it follows.
            let m = r3.read();
            assert!(matches!(m, Resp::Push(_)), "{m:?}");
            r
        };
        assert_eq!(r, Resp::bulk("v"));
        let r = sub(&mut r3, "UNSUBSCRIBE", &[]);
        assert_eq!(
            r[0],
            Resp::Push(vec![
                Resp::bulk("unsubscribe"),
                Resp::bulk("x"),
                Resp::Int(0)
            ])
        );
        let r = sub(&mut r3, "UNSUBSCRIBE", &[]);
        assert_eq!(
            r[0],
            Resp::Push(vec![Resp::bulk("unsubscribe"), Resp::Null, Resp::Int(0)])
        );
    }
}

/// Messages reach a subscriber that sits idle waiting for input, without it sending
/// anything.
#[test]
fn idle_subscriber_is_woken() {
    for t in THREADS {
        let srv = start(t, &[]);
        let mut s = RawConn::connect(srv.port);
        sub(&mut s, "SUBSCRIBE", &["idle"]);
        std::thread::sleep(Duration::from_millis(200));
        let mut p = RawConn::connect(srv.port);
        assert_eq!(int(&mut p, &["PUBLISH", "idle", "wake"]), 1);
        s.set_timeout(Duration::from_secs(10));
        assert_eq!(read_msg(&mut s).3, "wake");
    }
}

// ---------------------------------------------------------------------------
// Cleanup
// ---------------------------------------------------------------------------

fn numsub(c: &mut RawConn, ch: &str) -> i64 {
    let r = c.cmd(&["PUBSUB", "NUMSUB", ch]);
    r.items().unwrap()[1].int().unwrap()
}

#[test]
fn disconnect_and_reset_clean_up() {
    for t in THREADS {
        let srv = start(t, &[]);
        let mut q = RawConn::connect(srv.port);
        let mut conns: Vec<RawConn> = (0..6).map(|_| RawConn::connect(srv.port)).collect();
        for c in conns.iter_mut() {
            sub(c, "SUBSCRIBE", &["gone", "gone2"]);
            sub(c, "PSUBSCRIBE", &["g*"]);
            sub(c, "SSUBSCRIBE", &["sgone"]);
        }
        assert_eq!(numsub(&mut q, "gone"), 6);
        assert_eq!(int(&mut q, &["PUBLISH", "gone", "x"]), 12);
        // RESET on one: gone at once.
        let mut last = conns.pop().unwrap();
        assert_eq!(read_msg(&mut last).0, "message");
        assert_eq!(read_msg(&mut last).0, "pmessage");
        assert_eq!(last.cmd(&["RESET"]), Resp::Simple("RESET".into()));
        assert_eq!(last.cmd(&["GET", "a"]), Resp::Bulk(None));
        assert_eq!(numsub(&mut q, "gone"), 5);
        for c in conns {
            c.close();
        }
        eventually(
            "subscriptions of closed clients to go",
            Duration::from_secs(10),
            || {
                numsub(&mut q, "gone") == 0
                    && numsub(&mut q, "gone2") == 0
                    && int(&mut q, &["PUBSUB", "NUMPAT"]) == 0
                    && q.cmd(&["PUBSUB", "SHARDNUMSUB", "sgone"]).items().unwrap()[1]
                        == Resp::Int(0)
            },
        );
        assert_eq!(int(&mut q, &["PUBLISH", "gone", "x"]), 0);
        assert_eq!(info_field(&mut q, "stats", "pubsub_channels"), 0);
        assert_eq!(info_field(&mut q, "stats", "pubsub_patterns"), 0);
        assert_eq!(info_field(&mut q, "stats", "pubsubshard_channels"), 0);
    }
}

// ---------------------------------------------------------------------------
// client-output-buffer-limit
// ---------------------------------------------------------------------------

/// A subscriber with a tiny receive buffer that never reads.
fn stuck_subscriber(port: u16, channel: &str) -> RawConn {
    let sock =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    sock.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    sock.connect(&addr.into()).expect("connect");
    let mut c = RawConn::from_stream(sock.into());
    sub(&mut c, "SUBSCRIBE", &[channel]);
    c
}

/// Publish 10 KB messages until the subscriber count drops to 0 (or `max` bytes were
/// sent); returns (bytes published, highest used_memory seen).
fn flood(p: &mut RawConn, channel: &str, max: usize) -> (usize, u64) {
    let payload = "x".repeat(10 * 1024);
    let (mut sent, mut peak) = (0usize, 0u64);
    while sent < max {
        let mut out = Vec::new();
        for _ in 0..50 {
            out.extend(encode_strs(&["PUBLISH", channel, &payload]));
        }
        p.send(&out);
        let mut receivers = 0;
        for _ in 0..50 {
            receivers += p.read().int().expect("PUBLISH count");
        }
        sent += 50 * payload.len();
        peak = peak.max(info_field(p, "memory", "used_memory"));
        if receivers == 0 {
            break;
        }
    }
    (sent, peak)
}

fn slow_subscriber_closed(threads: &str) {
    let srv = start(threads, &[]);
    let mut p = RawConn::connect(srv.port);
    assert_eq!(
        p.cmd(&[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "pubsub 1mb 0 0"
        ]),
        Resp::ok()
    );
    let base = info_field(&mut p, "memory", "used_memory");
    let mut stuck = stuck_subscriber(srv.port, "flood");
    let mut fine = RawConn::connect(srv.port);
    sub(&mut fine, "SUBSCRIBE", &["other"]);
    let (sent, peak) = flood(&mut p, "flood", 200 << 20);
    assert!(
        sent < 64 << 20,
        "subscriber still counted after {sent} bytes"
    );
    assert!(
        peak < base + (24 << 20),
        "used_memory peaked at {peak} (baseline {base})"
    );
    assert!(
        srv.wait_for_log(
            "scheduled to be closed ASAP for overcoming of output buffer limits",
            Duration::from_secs(10)
        ),
        "no log line for the closed client"
    );
    assert_eq!(numsub(&mut p, "flood"), 0);
    let d = stuck.drain(Duration::from_secs(10));
    assert!(d.closed, "the stuck subscriber's connection is still open");
    // Others are unaffected.
    assert_eq!(int(&mut p, &["PUBLISH", "other", "still"]), 1);
    assert_eq!(read_msg(&mut fine).3, "still");
    // No limit: the same flood is not cut off (up to 4 MB here).
    assert_eq!(
        p.cmd(&[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "pubsub 0 0 0"
        ]),
        Resp::ok()
    );
    let _stuck2 = stuck_subscriber(srv.port, "flood2");
    let (sent, _) = flood(&mut p, "flood2", 4 << 20);
    assert!(sent >= 4 << 20);
    assert_eq!(numsub(&mut p, "flood2"), 1);
}

#[test]
fn slow_subscriber_closed_threads_1() {
    slow_subscriber_closed("1");
}

#[test]
fn slow_subscriber_closed_threads_3() {
    slow_subscriber_closed("3");
}

/// The `omem=` / `oll=` fields of `id`'s CLIENT LIST line, seen from `c`.
fn client_output(c: &mut RawConn, id: i64) -> (u64, u64) {
    let text = bulk_text(&c.cmd(&["CLIENT", "LIST", "ID", &id.to_string()]));
    let field = |name: &str| {
        text.split_whitespace()
            .find_map(|f| f.strip_prefix(name))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {text:?}"))
    };
    (field("omem="), field("oll="))
}

/// CLIENT LIST reports a subscriber's unsent output: omem grows (and oll counts the
/// queued buffer) while it does not read, and both are 0 for an idle client.
fn output_figures(threads: &str) {
    let srv = start(threads, &[]);
    let mut p = RawConn::connect(srv.port);
    let limit = [
        "CONFIG",
        "SET",
        "client-output-buffer-limit",
        "pubsub 0 0 0",
    ];
    assert_eq!(p.cmd(&limit), Resp::ok());
    let mut idle = RawConn::connect(srv.port);
    let idle_id = idle.cmd(&["CLIENT", "ID"]).int().expect("id");
    assert_eq!(client_output(&mut p, idle_id), (0, 0));
    // Its own CLIENT INFO: the reply being built is not pending output yet.
    let own = bulk_text(&idle.cmd(&["CLIENT", "INFO"]));
    assert!(own.contains(" oll=0 omem=0 "), "{own}");
    let mut stuck = stuck_subscriber(srv.port, "slow");
    let stuck_id = {
        let list = bulk_text(&p.cmd(&["CLIENT", "LIST"]));
        list.lines()
            .find(|l| l.contains("sub=1 "))
            .and_then(|l| l.strip_prefix("id="))
            .and_then(|l| l.split(' ').next())
            .and_then(|v| v.parse().ok())
            .expect("the subscriber in CLIENT LIST")
    };
    assert_eq!(client_output(&mut p, stuck_id), (0, 0));
    // Far more than the socket buffers take: the rest waits in the server.
    let (sent, _) = flood(&mut p, "slow", 8 << 20);
    assert!(sent >= 8 << 20);
    let (omem, oll) = client_output(&mut p, stuck_id);
    assert!(omem > 1 << 20, "omem={omem} after {sent} bytes published");
    assert!(oll >= 1, "oll={oll} with omem={omem}");
    assert_eq!(client_output(&mut p, idle_id), (0, 0));
    // Once it reads everything, nothing is pending any more.
    stuck.set_timeout(Duration::from_secs(10));
    let mut got = 0;
    while got < sent {
        got += read_msg(&mut stuck).3.len();
    }
    eventually("omem back to 0", Duration::from_secs(10), || {
        client_output(&mut p, stuck_id) == (0, 0)
    });
}

#[test]
fn output_figures_threads_1() {
    output_figures("1");
}

#[test]
fn output_figures_threads_3() {
    output_figures("3");
}

#[test]
fn soft_limit_needs_time() {
    let srv = start("3", &[]);
    let mut p = RawConn::connect(srv.port);
    assert_eq!(
        p.cmd(&[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "pubsub 0 256kb 1"
        ]),
        Resp::ok()
    );
    let _stuck = stuck_subscriber(srv.port, "soft");
    let t0 = Instant::now();
    let mut closed = false;
    let payload = "y".repeat(10 * 1024);
    while t0.elapsed() < Duration::from_secs(15) {
        let n = int(&mut p, &["PUBLISH", "soft", &payload]);
        if n == 0 {
            closed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(closed, "never closed over the soft limit");
    // Over 256 KB quickly, but closed only after more than a second over it.
    assert!(
        t0.elapsed() >= Duration::from_secs(1),
        "closed after {:?}",
        t0.elapsed()
    );
}

#[test]
fn normal_class_limit() {
    for t in THREADS {
        let srv = start(t, &[]);
        let mut c = RawConn::connect(srv.port);
        assert_eq!(c.cmd(&["SET", "big", &"z".repeat(2 << 20)]), Resp::ok());
        assert_eq!(
            c.cmd(&[
                "CONFIG",
                "SET",
                "client-output-buffer-limit",
                "normal 100kb 0 0"
            ]),
            Resp::ok()
        );
        c.send(&encode_strs(&["GET", "big"]));
        let d = c.drain(Duration::from_secs(10));
        assert!(d.closed, "client not closed over the normal limit");
        assert!(d.bytes.len() < 2 << 20, "the whole reply was sent");
        let mut c2 = RawConn::connect(srv.port);
        assert_eq!(c2.cmd(&["STRLEN", "big"]), Resp::Int(2 << 20));
    }
}

// ---------------------------------------------------------------------------
// Keyspace notifications
// ---------------------------------------------------------------------------

/// Run `cmds` with `notify-keyspace-events` set to `classes` and return the keyspace
/// messages a `__key*@*__:*` subscriber got, as (channel, payload), in arrival order.
/// The commands use keys of one hash slot, so order is deterministic on any shard count.
fn notifications(
    srv: &TestServer,
    classes: &str,
    cmds: &[&[&str]],
    expect: usize,
) -> Vec<(String, String)> {
    let mut c = RawConn::connect(srv.port);
    assert_eq!(c.cmd(&["FLUSHALL"]), Resp::ok());
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "notify-keyspace-events", classes]),
        Resp::ok()
    );
    let mut s = RawConn::connect(srv.port);
    sub(&mut s, "PSUBSCRIBE", &["__key*@*__:*"]);
    for cmd in cmds {
        if let ["__sleep_ms", ms] = cmd {
            std::thread::sleep(Duration::from_millis(ms.parse().unwrap()));
            continue;
        }
        let r = c.cmd(cmd);
        assert!(!matches!(r, Resp::Error(_)), "{cmd:?} -> {r:?}");
    }
    let mut out = Vec::new();
    for _ in 0..expect {
        let (_, _, ch, payload) = read_msg(&mut s);
        out.push((ch, payload));
    }
    // A marker proves nothing else was queued before it.
    assert_eq!(int(&mut c, &["PUBLISH", "__keyspace@0__:marker", "end"]), 1);
    let (_, _, ch, _) = read_msg(&mut s);
    assert_eq!(
        ch, "__keyspace@0__:marker",
        "unexpected extra notifications: {out:?}"
    );
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "notify-keyspace-events", ""]),
        Resp::ok()
    );
    out
}

fn ks(db: u32, key: &str, ev: &str) -> (String, String) {
    (format!("__keyspace@{db}__:{key}"), ev.to_string())
}

fn ke(db: u32, ev: &str, key: &str) -> (String, String) {
    (format!("__keyevent@{db}__:{ev}"), key.to_string())
}

#[test]
fn keyspace_classes() {
    for t in THREADS {
        let srv = start(t, &[]);
        // Generic.
        let got = notifications(
            &srv,
            "Kg",
            &[
                &["SET", "{k}a", "1"],
                &["EXPIRE", "{k}a", "100"],
                &["PERSIST", "{k}a"],
                &["RENAME", "{k}a", "{k}b"],
                &["COPY", "{k}b", "{k}c"],
                &["MOVE", "{k}c", "1"],
                &["DEL", "{k}b", "{k}nosuch"],
                &["SET", "{k}d", "1"],
                &["EXPIRE", "{k}d", "-1"],
                &["SET", "{k}e", "1", "EX", "100"],
                &["GETEX", "{k}e", "PERSIST"],
                &["GETDEL", "{k}e"],
            ],
            12,
        );
        assert_eq!(
            got,
            vec![
                ks(0, "{k}a", "expire"),
                ks(0, "{k}a", "persist"),
                ks(0, "{k}a", "rename_from"),
                ks(0, "{k}b", "rename_to"),
                ks(0, "{k}c", "copy_to"),
                ks(0, "{k}c", "move_from"),
                ks(1, "{k}c", "move_to"),
                ks(0, "{k}b", "del"),
                ks(0, "{k}d", "del"),
                ks(0, "{k}e", "expire"),
                ks(0, "{k}e", "persist"),
                ks(0, "{k}e", "del"),
            ],
            "threads {t}"
        );
        let got = notifications(&srv, "Eg", &[&["SET", "x", "1"], &["GETDEL", "x"]], 1);
        assert_eq!(got, vec![ke(0, "del", "x")]);

        // Strings, with K and E both.
        let got = notifications(
            &srv,
            "KE$",
            &[
                &["SET", "s", "1"],
                &["APPEND", "s", "2"],
                &["INCR", "s"],
                &["INCRBYFLOAT", "s", "0.5"],
                &["SETRANGE", "s", "0", "9"],
                &["SETEX", "s", "100", "v"],
            ],
            12,
        );
        let want: Vec<(String, String)> =
            ["set", "append", "incrby", "incrbyfloat", "setrange", "set"]
                .iter()
                .flat_map(|ev| [ks(0, "s", ev), ke(0, ev, "s")])
                .collect();
        assert_eq!(got, want);

        // Lists, including LMOVE's pair and the del of an emptied list.
        let got = notifications(
            &srv,
            "Klg",
            &[
                &["RPUSH", "{l}1", "a", "b", "c"],
                &["LPUSH", "{l}1", "z"],
                &["LSET", "{l}1", "0", "y"],
                &["LINSERT", "{l}1", "BEFORE", "y", "x"],
                &["LREM", "{l}1", "1", "x"],
                &["LTRIM", "{l}1", "0", "1"],
                &["LMOVE", "{l}1", "{l}2", "LEFT", "RIGHT"],
                &["RPOPLPUSH", "{l}1", "{l}2"],
                &["LPOP", "{l}2", "2"],
            ],
            13,
        );
        assert_eq!(
            got,
            vec![
                ks(0, "{l}1", "rpush"),
                ks(0, "{l}1", "lpush"),
                ks(0, "{l}1", "lset"),
                ks(0, "{l}1", "linsert"),
                ks(0, "{l}1", "lrem"),
                ks(0, "{l}1", "ltrim"),
                ks(0, "{l}2", "rpush"),
                ks(0, "{l}1", "lpop"),
                ks(0, "{l}2", "lpush"),
                ks(0, "{l}1", "rpop"),
                ks(0, "{l}1", "del"),
                ks(0, "{l}2", "lpop"),
                ks(0, "{l}2", "del"),
            ],
            "threads {t}"
        );
    }
}

#[test]
fn keyspace_classes_sets_hashes_bitmaps() {
    for t in THREADS {
        let srv = start(t, &[]);
        let got = notifications(
            &srv,
            "Ksg",
            &[
                &["SADD", "{s}1", "a", "b", "c"],
                &["SADD", "{s}1", "a"],
                &["SREM", "{s}1", "a", "nosuch"],
                &["SREM", "{s}1", "nosuch"],
                &["SMOVE", "{s}1", "{s}2", "b"],
                &["SINTERSTORE", "{s}3", "{s}1", "{s}2"],
                &["SUNIONSTORE", "{s}3", "{s}1", "{s}2"],
                &["SDIFFSTORE", "{s}4", "{s}1", "{s}2"],
                &["SPOP", "{s}1"],
                &["SINTERSTORE", "{s}3", "{s}1", "{s}2"],
            ],
            9,
        );
        assert_eq!(
            got,
            vec![
                ks(0, "{s}1", "sadd"),
                ks(0, "{s}1", "srem"),
                ks(0, "{s}1", "srem"),
                ks(0, "{s}2", "sadd"),
                ks(0, "{s}3", "sunionstore"),
                ks(0, "{s}4", "sdiffstore"),
                ks(0, "{s}1", "spop"),
                ks(0, "{s}1", "del"),
                ks(0, "{s}3", "del"),
            ],
            "threads {t}"
        );

        let got = notifications(
            &srv,
            "Khg",
            &[
                &["HSET", "h", "f", "1", "g", "2"],
                &["HSETNX", "h", "f", "1"],
                &["HSETNX", "h", "z", "1"],
                &["HDEL", "h", "f", "nosuch"],
                &["HINCRBY", "h", "g", "1"],
                &["HINCRBYFLOAT", "h", "g", "1.5"],
                &["HDEL", "h", "g", "z"],
                &["HDEL", "h", "nosuch"],
            ],
            7,
        );
        let want: Vec<_> = [
            "hset",
            "hset",
            "hdel",
            "hincrby",
            "hincrbyfloat",
            "hdel",
            "del",
        ]
        .iter()
        .map(|e| ks(0, "h", e))
        .collect();
        assert_eq!(got, want, "threads {t}");

        let got = notifications(
            &srv,
            "K$g",
            &[
                &["SETBIT", "{b}1", "3", "1"],
                &["SETBIT", "{b}1", "3", "1"],
                &["BITFIELD", "{b}1", "SET", "u8", "0", "255"],
                &["BITOP", "OR", "{b}2", "{b}1"],
                &["BITOP", "AND", "{b}2", "{b}nosuch"],
            ],
            4,
        );
        assert_eq!(
            got,
            vec![
                ks(0, "{b}1", "setbit"),
                ks(0, "{b}1", "setbit"),
                ks(0, "{b}2", "set"),
                ks(0, "{b}2", "del"),
            ],
            "threads {t}"
        );
    }
}

#[test]
fn keyspace_classes_new_miss_expired_alias() {
    for t in THREADS {
        let srv = start(t, &[]);
        let got = notifications(
            &srv,
            "KEn",
            &[
                &["SET", "n", "1"],
                &["SET", "n", "2"],
                &["RPUSH", "{n}l", "a"],
                &["HSET", "{n}h", "f", "v"],
            ],
            6,
        );
        assert_eq!(
            got,
            vec![
                ks(0, "n", "new"),
                ke(0, "new", "n"),
                ks(0, "{n}l", "new"),
                ke(0, "new", "{n}l"),
                ks(0, "{n}h", "new"),
                ke(0, "new", "{n}h"),
            ]
        );
        let got = notifications(
            &srv,
            "Em",
            &[&["GET", "nosuch"], &["SET", "x", "1"], &["GET", "x"]],
            1,
        );
        assert_eq!(got, vec![ke(0, "keymiss", "nosuch")]);
        // Expired: by the active cycle (nobody touches the key).
        let got = notifications(&srv, "Kx", &[&["SET", "gone", "1", "PX", "30"]], 1);
        assert_eq!(got, vec![ks(0, "gone", "expired")]);
        // Expired: lazily, when a command finds the key past its time.
        let got = notifications(
            &srv,
            "Ex",
            &[
                &["SET", "lazy", "1", "PX", "1"],
                &["__sleep_ms", "10"],
                &["GET", "lazy"],
            ],
            1,
        );
        assert_eq!(got, vec![ke(0, "expired", "lazy")]);
        // A: every class but new and keymiss.
        let got = notifications(
            &srv,
            "KA",
            &[
                &["SET", "a", "1"],
                &["GET", "nosuch"],
                &["RPUSH", "{a}2", "x"],
                &["DEL", "a"],
            ],
            3,
        );
        assert_eq!(
            got,
            vec![ks(0, "a", "set"), ks(0, "{a}2", "rpush"), ks(0, "a", "del")]
        );
        // The database is part of the channel name.
        let got = notifications(&srv, "KE$", &[&["SELECT", "5"], &["SET", "d", "1"]], 2);
        assert_eq!(got, vec![ks(5, "d", "set"), ke(5, "set", "d")]);
    }
}

/// A flushed server on `port` with `notify-keyspace-events` set to `classes`: a client
/// connection and a `__key*@*__:*` subscriber.
fn keyspace_watch(port: u16, classes: &str) -> (RawConn, RawConn) {
    let mut c = RawConn::connect(port);
    assert_eq!(c.cmd(&["FLUSHALL"]), Resp::ok());
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "notify-keyspace-events", classes]),
        Resp::ok()
    );
    let mut s = RawConn::connect(port);
    sub(&mut s, "PSUBSCRIBE", &["__key*@*__:*"]);
    (c, s)
}

/// Publish a marker through `c` and return what subscriber `s` got before it, as
/// (channel, payload) in arrival order.
fn events_until_marker(c: &mut RawConn, s: &mut RawConn) -> Vec<(String, String)> {
    assert_eq!(int(c, &["PUBLISH", "__keyspace@0__:marker", "end"]), 1);
    let mut out = Vec::new();
    loop {
        let (_, _, ch, payload) = read_msg(s);
        if ch == "__keyspace@0__:marker" {
            return out;
        }
        out.push((ch, payload));
    }
}

/// The keyspace messages a `__key*@*__:*` subscriber of the server on `port` (Tessera or
/// a real redis-server) gets while `cmds` run with `notify-keyspace-events` set to
/// `classes`, as (channel, payload) in arrival order: everything before a marker
/// published after the last command.
fn notifications_at(port: u16, classes: &str, cmds: &[Vec<String>]) -> Vec<(String, String)> {
    let (mut c, mut s) = keyspace_watch(port, classes);
    for cmd in cmds {
        // Script lines: `SLEEP <ms>` pauses; a command written `?CMD` may reply an error.
        if cmd[0] == "SLEEP" {
            std::thread::sleep(Duration::from_millis(cmd[1].parse().unwrap()));
            continue;
        }
        let may_fail = cmd[0].starts_with('?');
        let args: Vec<&str> = cmd
            .iter()
            .map(|a| a.strip_prefix('?').unwrap_or(a))
            .collect();
        let r = c.cmd(&args);
        assert!(may_fail || !matches!(r, Resp::Error(_)), "{cmd:?} -> {r:?}");
    }
    let out = events_until_marker(&mut c, &mut s);
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "notify-keyspace-events", ""]),
        Resp::ok()
    );
    out
}

/// Scripts of multi-key commands over keys `a` and `a2` (one shard), `b` and `b2` (a
/// second) and `c` (the third), each run as one case.
fn cross_shard_scripts(k: &Keys) -> Vec<(&'static str, Vec<Vec<String>>)> {
    let script = |text: &str| k.script(text);
    vec![
        (
            "rename",
            script(
                "SET $a 1 EX 100
                 RENAME $a $b
                 RENAMENX $b $a
                 SET $b 2
                 RENAMENX $a $b
                 RENAME $a $b",
            ),
        ),
        (
            "copy",
            script(
                "SET $a 1
                 COPY $a $b
                 COPY $a $b
                 COPY $a $b REPLACE
                 COPY $b $c",
            ),
        ),
        (
            "smove",
            script(
                "SADD $a x y
                 SADD $b z y
                 SMOVE $a $b x
                 SMOVE $a $b y
                 SMOVE $b $c z
                 SMOVE $b $c nosuch",
            ),
        ),
        (
            "lmove",
            script(
                "RPUSH $a 1 2 3
                 LMOVE $a $b LEFT RIGHT
                 RPOPLPUSH $a $b
                 BLMOVE $a $b RIGHT LEFT 0
                 BRPOPLPUSH $b $c 0
                 LMOVE $b $a RIGHT RIGHT
                 RPOPLPUSH $b $c
                 LMOVE $a $c LEFT LEFT",
            ),
        ),
        (
            "set stores",
            script(
                "SADD $a 1 2
                 SADD $b 2 3
                 SUNIONSTORE $c $a $b
                 SINTERSTORE $c $a $b
                 SDIFFSTORE $c $a $b
                 SUNIONSTORE $a $a $b
                 SINTERSTORE $c $a $b2
                 SDIFFSTORE $b2 $b $a",
            ),
        ),
        (
            "zset stores",
            script(
                "ZADD $a 1 m 2 n
                 ZADD $b 3 n
                 ZUNIONSTORE $c 2 $a $b
                 ZINTERSTORE $c 2 $a $b
                 ZDIFFSTORE $c 2 $a $b
                 ZRANGESTORE $b2 $a 0 -1
                 ZINTERSTORE $c 2 $a $a2
                 ZRANGESTORE $b2 $a 5 6",
            ),
        ),
        (
            "sort store",
            script(
                "RPUSH $a 3 1 2
                 SORT $a STORE $b
                 SORT $a DESC STORE $c
                 SORT $a2 STORE $b",
            ),
        ),
        (
            "geo stores",
            script(
                "GEOADD $a 13.361389 38.115556 p1 15.087269 37.502669 p2
                 GEOSEARCHSTORE $b $a FROMLONLAT 15 37 BYRADIUS 200 km ASC
                 GEORADIUS $a 15 37 200 km STORE $c
                 GEORADIUSBYMEMBER $a p1 300 km STOREDIST $b2
                 GEOSEARCHSTORE $c $a FROMLONLAT 0 0 BYRADIUS 1 km",
            ),
        ),
        (
            "pfmerge",
            script(
                "PFADD $a x y
                 PFADD $b z
                 PFMERGE $c $a $b
                 PFMERGE $a2 $a
                 PFMERGE $b $c",
            ),
        ),
        (
            "mset",
            script(
                "MSET $a 1 $b 2 $c 3 $a2 4 $b2 5
                 MSETNX $a 1 $b 2
                 DEL $a $b $c $a2 $b2
                 MSETNX $b2 1 $a2 2 $c 3 $b 4 $a 5
                 MSET $c 1 $a 2 $c 3",
            ),
        ),
        (
            "del",
            script(
                "MSET $a 1 $b 1 $c 1 $a2 1 $b2 1
                 DEL $a $b nosuch $c $a2 $b2
                 MSET $a 1 $b 1 $c 1 $a2 1 $b2 1
                 UNLINK $b2 $a2 $c $b $a",
            ),
        ),
        (
            "bitop",
            script(
                "SET $a x
                 SET $b y
                 BITOP OR $c $a $b
                 BITOP AND $c $a $b2
                 BITOP NOT $c $a2
                 BITOP XOR $b2 $a $b",
            ),
        ),
        (
            "mpop",
            script(
                "RPUSH $b 1 2
                 LMPOP 2 $a $b LEFT COUNT 2
                 ZADD $b2 1 m
                 ZMPOP 2 $a2 $b2 MIN
                 RPUSH $c 1
                 BLMPOP 0 2 $a $c RIGHT
                 ZADD $c 1 x 2 y
                 BZMPOP 0 2 $a $c MAX COUNT 2",
            ),
        ),
        (
            "multi",
            script(
                "MULTI
                 MSET $a 1 $b 2
                 RENAME $a $c
                 SADD $a2 x
                 SMOVE $a2 $b2 x
                 DEL $b $c $b2
                 EXEC",
            ),
        ),
    ]
}

/// Keys `a` and `a2` on one shard, `b` and `b2` on a second, `c` on the third.
struct Keys {
    a: String,
    a2: String,
    b: String,
    b2: String,
    c: String,
}

impl Keys {
    /// Every way of putting `a`, `b` and `c` on 3 distinct shards: `(i, j, k, keys)`.
    fn placements(prefix: &str) -> Vec<(usize, usize, usize, Keys)> {
        [(0, 1), (1, 0), (0, 2), (2, 0), (1, 2), (2, 1)]
            .into_iter()
            .map(|(i, j)| {
                let k = 3 - i - j;
                let on = |name: &str, shard: usize| {
                    key_on_shard(&format!("{prefix}{name}{i}{j}"), shard, 3)
                };
                let keys = Keys {
                    a: on("a", i),
                    a2: on("a2-", i),
                    b: on("b", j),
                    b2: on("b2-", j),
                    c: on("c", k),
                };
                assert_eq!(
                    [&keys.a, &keys.a2, &keys.b, &keys.b2, &keys.c].map(|key| shard_of(key, 3)),
                    [i, i, j, j, k]
                );
                (i, j, k, keys)
            })
            .collect()
    }

    /// A script's commands, one per non-empty line, with `$a` ... `$c` replaced.
    fn script(&self, text: &str) -> Vec<Vec<String>> {
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|l| {
                l.split(' ')
                    .map(|w| match w {
                        "$a" => self.a.clone(),
                        "$a2" => self.a2.clone(),
                        "$b" => self.b.clone(),
                        "$b2" => self.b2.clone(),
                        "$c" => self.c.clone(),
                        w => w.to_string(),
                    })
                    .collect()
            })
            .collect()
    }
}

/// Keyspace notifications of commands whose keys live on different shards (`--threads
/// 3`) reach a subscriber in the order a real redis-server sends them. Redis runs a
/// command in one thread, so its order is the command's own: SMOVE's `srem` before
/// `sadd`, LMOVE's push before its pop, DEL and MSET in key order, and so on. Every
/// placement of the keys is tried, as which hop runs on the client's own shard changes
/// the timing; with `n` and `m`, a destination's `new` and a missing source's `keymiss`
/// are part of the order too. The same scripts on `--threads 1` (every key on one
/// shard) check the single-shard paths.
#[test]
fn keyspace_order_across_shards() {
    let redis = RedisServer::start_tcp(&[]);
    let single = start("1", &[]);
    let srv = start("3", &[]);
    let mut mismatches = Vec::new();
    for (i, j, k, keys) in Keys::placements("") {
        for (what, cmds) in cross_shard_scripts(&keys) {
            for classes in ["KEA", "KEAn", "KEAm"] {
                let want = notifications_at(redis.port(), classes, &cmds);
                assert!(want.len() >= 4, "{what}: redis sent only {want:?}");
                for (threads, port) in [(3, srv.port), (1, single.port)] {
                    let got = notifications_at(port, classes, &cmds);
                    if got != want {
                        mismatches.push(format!(
                            "{what} ({classes}, threads {threads}) with keys on shards \
                             {i}, {j}, {k}:\n  tessera: {got:?}\n  redis:   {want:?}"
                        ));
                    }
                }
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// Scripts where a key has already expired when a multi-key command reaches it (active
/// expiry off on both servers, so only the command's own lookups expire keys). TTLs are
/// 10 ms, not 1: redis-server deletes a key at once (`del`, not `expire`) when the
/// clock ticks past a 1 ms TTL while PEXPIRE or SET PX runs.
fn lazy_expiry_scripts(k: &Keys) -> Vec<(&'static str, Vec<Vec<String>>)> {
    let text = [
        ("rename over expired destination", "SET $b x PX 10\nSET $a v\nSLEEP 25\nRENAME $a $b"),
        ("rename expired source", "SET $a x PX 10\nSET $b v\nSLEEP 25\n?RENAME $a $b"),
        ("renamenx both expired", "SET $a x PX 10\nSET $b x PX 10\nSLEEP 25\n?RENAMENX $a $b"),
        ("renamenx expired destination", "SET $b x PX 10\nSET $a v\nSLEEP 25\nRENAMENX $a $b"),
        ("renamenx expired source", "SET $a x PX 10\nSET $b v\nSLEEP 25\n?RENAMENX $a $b"),
        ("copy over expired destination", "SET $b x PX 10\nSET $b2 x PX 10\nSET $a v\nSLEEP 25\nCOPY $a $b REPLACE\nCOPY $a $b2"),
        ("copy expired source", "SET $a x PX 10\nSET $b v\nSLEEP 25\nCOPY $a $b REPLACE"),
        ("lmove expired ends", "RPUSH $a 1 2\nPEXPIRE $a 10\nRPUSH $b 3\nPEXPIRE $b 10\nRPUSH $c 4\nSLEEP 25\nLMOVE $a $c LEFT LEFT\nLMOVE $c $b LEFT RIGHT"),
        ("smove expired ends", "SADD $a m\nPEXPIRE $a 10\nSADD $b n\nPEXPIRE $b 10\nSADD $c o\nSLEEP 25\nSMOVE $a $c m\nSMOVE $c $b o"),
        ("del and exists over expired keys", "SET $a 1 PX 10\nSET $b 2 PX 10\nSET $c 3\nSET $a2 4 PX 10\nSLEEP 25\nEXISTS $a2 $c\nDEL $c $a $b"),
        ("msetnx over an expired key", "SET $b x PX 10\nSLEEP 25\nMSETNX $a 1 $b 2 $c 3"),
        ("moves from a missing source to an expired destination", "SADD $b n\nPEXPIRE $b 10\nRPUSH $c 1\nPEXPIRE $c 10\nSLEEP 25\nSMOVE $a $b n\nLMOVE $a $c LEFT LEFT\n?RENAME $a $c\nCOPY $a $c\nSADD $a2 x\nEXISTS $c"),
        ("empty set store over an expired destination", "SADD $c o\nPEXPIRE $c 10\nSADD $b n\nSLEEP 25\nSINTERSTORE $c $a $b\nSADD $c o\nPEXPIRE $c 10\nSLEEP 25\nSDIFFSTORE $c $a $b\nSADD $c o\nPEXPIRE $c 10\nSLEEP 25\nSUNIONSTORE $c $a $a2\nSADD $b2 p\nPEXPIRE $b2 10\nSLEEP 25\nSCARD $b2"),
        ("empty zset store over an expired destination", "ZADD $c 1 o\nPEXPIRE $c 10\nZADD $b 1 n\nSLEEP 25\nZINTERSTORE $c 2 $a $b\nZADD $c 1 o\nPEXPIRE $c 10\nSLEEP 25\nZRANGESTORE $c $a 0 -1\nZADD $b2 1 p\nPEXPIRE $b2 10\nSLEEP 25\nZCARD $b2"),
        ("pops stop at the first non-empty key", "RPUSH $b 1\nRPUSH $c 2\nPEXPIRE $c 10\nSLEEP 25\nBLPOP $b $c 1\nRPUSH $a 1\nLMPOP 2 $a $c LEFT\nZADD $b2 1 m\nZADD $a2 1 n\nPEXPIRE $a2 10\nSLEEP 25\nBZPOPMIN $b2 $a2 1\nSET $b z\nEXISTS $c $a2"),
        ("sort by and get patterns over expired keys", "RPUSH $a 2 1 3\nSET w_1 5 PX 10\nSET w_2 1\nSET w_3 0 PX 10\nSET o_1 x PX 10\nSET o_2 y\nSLEEP 25\nSORT $a BY w_* GET o_* GET #\nSORT $a BY w_* GET o_* STORE $b"),
        ("single-key writes over expired keys", "SET $a x PX 10\nHSET $b f v\nPEXPIRE $b 10\nRPUSH $c 1\nPEXPIRE $c 10\nSADD $a2 m\nPEXPIRE $a2 10\nZADD $b2 1 m\nPEXPIRE $b2 10\nSLEEP 25\nAPPEND $a y\nHSET $b g w\nLPUSH $c 2\nSADD $a2 n\nZADD $b2 2 n\nSET $a 1 PX 10\nSET $b 1 PX 10\nSET $c 1 PX 10\nSET $a2 1 PX 10\nSET $b2 1 PX 10\nSLEEP 25\nINCR $a\nSETNX $b 2\nSET $c 3 GET\nSETRANGE $a2 2 x\nPFADD $b2 e"),
        ("transaction over expired keys", "SET $a x PX 10\nSET $b y PX 10\nRPUSH $c 1\nPEXPIRE $c 10\nSLEEP 25\nMULTI\nGET $b\nSET $a z\nLPOP $c\nRENAME $a $c\nEXEC"),
        ("msetnx stops at the first existing key", "SET $a x\nSET $c y PX 10\nSLEEP 25\nMSETNX $b 1 $a 2 $c 3\nSET $b2 z\nEXISTS $c"),
        ("mset and mget over expired keys", "SET $a x PX 10\nSET $c x PX 10\nSLEEP 25\nMGET $c $b $a\nSET $c y PX 10\nSLEEP 25\nMSET $b 1 $c 2"),
        ("store commands over expired sources", "SADD $a m\nPEXPIRE $a 10\nSADD $b m n\nSADD $c o\nPEXPIRE $c 10\nSLEEP 25\nSUNIONSTORE $c $a $b\nSINTERSTORE $a2 $b $a"),
        ("zset stores over expired keys", "ZADD $a 1 m\nPEXPIRE $a 10\nZADD $b 2 n\nZADD $c 3 o\nPEXPIRE $c 10\nSLEEP 25\nZUNIONSTORE $c 2 $a $b\nZADD $a2 1 x\nPEXPIRE $a2 10\nSLEEP 25\nZRANGESTORE $a2 $b 0 -1"),
        ("set reads over expired keys", "SADD $a m\nPEXPIRE $a 10\nSADD $b n\nPEXPIRE $b 10\nSADD $c o\nSLEEP 25\nSINTER $c $a $b\nSADD $a m\nPEXPIRE $a 10\nSADD $b n\nPEXPIRE $b 10\nSLEEP 25\nSUNION $c $b $a"),
        ("intercard and zunion over expired keys", "SADD $a m\nPEXPIRE $a 10\nSADD $b n\nPEXPIRE $b 10\nSLEEP 25\nSINTERCARD 2 $b $a\nZADD $a 1 m\nPEXPIRE $a 10\nZADD $c 1 n\nPEXPIRE $c 10\nSLEEP 25\nZUNION 2 $c $a"),
        ("lmpop and zmpop past an expired key", "RPUSH $a 1\nPEXPIRE $a 10\nRPUSH $b 2\nSLEEP 25\nLMPOP 2 $a $b LEFT\nZADD $c 1 m\nPEXPIRE $c 10\nZADD $a 2 n\nSLEEP 25\nZMPOP 2 $c $a MIN"),
        ("blocking pops past an expired key", "RPUSH $a 1\nPEXPIRE $a 10\nRPUSH $b 2\nSLEEP 25\nBLPOP $a $b 1\nRPUSH $c 1\nPEXPIRE $c 10\nRPUSH $a 3\nSLEEP 25\nBLMOVE $c $a LEFT LEFT 0.01\nBLMOVE $a $c LEFT LEFT 0.01"),
        ("sort store over an expired destination", "RPUSH $a 3 1 2\nSET $b x PX 10\nSLEEP 25\nSORT $a STORE $b"),
        ("pfmerge and pfcount over expired keys", "PFADD $a x\nPFADD $b y\nPEXPIRE $b 10\nPFADD $c z\nPEXPIRE $c 10\nSLEEP 25\nPFMERGE $c $a $b\nPFADD $b y\nPEXPIRE $b 10\nSLEEP 25\nPFCOUNT $a $b"),
        ("bitop over expired keys", "SET $a x\nSET $b y PX 10\nSET $c z PX 10\nSLEEP 25\nBITOP OR $c $a $b"),
        ("geosearchstore over an expired destination", "GEOADD $a 13.36 38.11 p\nGEOADD $b 0 0 q\nPEXPIRE $b 10\nSLEEP 25\nGEOSEARCHSTORE $b $a FROMLONLAT 13.36 38.11 BYRADIUS 10 km"),
        ("copy to another db over an expired key", "SELECT 1\nSET $b x PX 10\nSELECT 0\nSET $a v\nSLEEP 25\nCOPY $a $b DB 1\nSELECT 1\nDEL $b\nSELECT 0"),
    ];
    text.iter().map(|(name, t)| (*name, k.script(t))).collect()
}

/// A key found expired by a multi-key command sends `expired` where Redis's lookup of it
/// falls in the command, and a command that stops at an expired source leaves the other
/// keys alone (no `expired` for them). Checked against redis-server with active expiry
/// off on both, for every placement of the keys on 3 shards and on 1, with the `n` and
/// `m` classes on, so a key's `new` and a read lookup's `keymiss` are in the order too.
#[test]
fn keyspace_lazy_expiry_across_shards() {
    let debug = ["--enable-debug-command", "yes"];
    let redis = RedisServer::start_tcp(&debug);
    let single = start("1", &debug);
    let srv = start("3", &debug);
    for port in [redis.port(), single.port, srv.port] {
        let mut c = RawConn::connect(port);
        assert_eq!(c.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]), Resp::ok());
    }
    let mut mismatches = Vec::new();
    for (i, j, k, keys) in Keys::placements("x") {
        for (what, cmds) in lazy_expiry_scripts(&keys) {
            let want = notifications_at(redis.port(), "KEAnm", &cmds);
            assert!(
                want.iter().any(|(ch, _)| ch.ends_with(":expired")),
                "{what}: redis sent no expired event: {want:?}"
            );
            for (threads, port) in [(3, srv.port), (1, single.port)] {
                let got = notifications_at(port, "KEAnm", &cmds);
                if got != want {
                    mismatches.push(format!(
                        "{what} (threads {threads}) with keys on shards {i}, {j}, {k}:\n  \
                         tessera: {got:?}\n  redis:   {want:?}"
                    ));
                }
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// Keyspace events of blocked clients served by another connection's write, on `port`:
/// each of `blocked` (in order) blocks on its own connection, then `push` runs.
fn served_notifications(
    port: u16,
    blocked: &[Vec<String>],
    push: &[String],
) -> Vec<(String, String)> {
    let (mut c, mut s) = keyspace_watch(port, "KEAn");
    let mut waiters = Vec::new();
    for (i, cmd) in blocked.iter().enumerate() {
        let mut b = RawConn::connect(port);
        let args: Vec<&str> = cmd.iter().map(String::as_str).collect();
        b.send(&encode_strs(&args));
        eventually("the client to block", Duration::from_secs(5), || {
            info_field(&mut c, "clients", "blocked_clients") == i as u64 + 1
        });
        waiters.push(b);
    }
    let args: Vec<&str> = push.iter().map(String::as_str).collect();
    let r = c.cmd(&args);
    assert!(!matches!(r, Resp::Error(_)), "{push:?} -> {r:?}");
    for b in &mut waiters {
        let r = b.read();
        assert!(
            !matches!(r, Resp::Error(_) | Resp::Bulk(None) | Resp::Array(None)),
            "{r:?}"
        );
    }
    events_until_marker(&mut c, &mut s)
}

/// A write that serves blocked clients: its own events, then each served client's pop
/// (and, for a move, the push and its `new`) in the clients' arrival order, as
/// redis-server sends them. Every placement of the keys on 3 shards, and on 1.
#[test]
fn keyspace_served_blocked_clients_match_redis() {
    let redis = RedisServer::start_tcp(&[]);
    let single = start("1", &[]);
    let srv = start("3", &[]);
    let cases: &[(&str, &[&str], &str)] = &[
        ("blpop", &["BLPOP $a 0"], "RPUSH $a x y"),
        ("blmove", &["BLMOVE $a $b LEFT RIGHT 0"], "RPUSH $a x y"),
        (
            "brpoplpush emptying the source",
            &["BRPOPLPUSH $a $b 0"],
            "LPUSH $a x",
        ),
        (
            "blmpop",
            &["BLMPOP 0 2 $b $a RIGHT COUNT 2"],
            "RPUSH $a x y z",
        ),
        ("bzpopmin", &["BZPOPMIN $a 0"], "ZADD $a 1 m 2 n"),
        (
            "bzmpop emptying the source",
            &["BZMPOP 0 1 $a MAX"],
            "ZADD $a 1 m",
        ),
        (
            "two waiters in order",
            &["BLMOVE $a $b LEFT LEFT 0", "BLPOP $a 0"],
            "RPUSH $a x y",
        ),
        (
            "waiters on several keys",
            &["BLPOP $b $a 0", "BLMOVE $a $c RIGHT LEFT 0"],
            "RPUSH $a x y z",
        ),
    ];
    let mut mismatches = Vec::new();
    for (i, j, k, keys) in Keys::placements("s") {
        for (what, blocked, push) in cases {
            let blocked: Vec<Vec<String>> = blocked.iter().flat_map(|t| keys.script(t)).collect();
            let push = keys.script(push).remove(0);
            let want = served_notifications(redis.port(), &blocked, &push);
            assert!(want.len() >= 6, "{what}: redis sent only {want:?}");
            for (threads, port) in [(3, srv.port), (1, single.port)] {
                let got = served_notifications(port, &blocked, &push);
                if got != want {
                    mismatches.push(format!(
                        "{what} (threads {threads}) with keys on shards {i}, {j}, {k}:\n  \
                         tessera: {got:?}\n  redis:   {want:?}"
                    ));
                }
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn keyspace_evicted() {
    for t in THREADS {
        let srv = start(
            t,
            &["--maxmemory", "2mb", "--maxmemory-policy", "allkeys-random"],
        );
        let mut c = RawConn::connect(srv.port);
        assert_eq!(
            c.cmd(&["CONFIG", "SET", "notify-keyspace-events", "Ee"]),
            Resp::ok()
        );
        let mut s = RawConn::connect(srv.port);
        sub(&mut s, "SUBSCRIBE", &["__keyevent@0__:evicted"]);
        let value = "v".repeat(1024);
        for start in (0..8192).step_by(128) {
            let mut out = Vec::new();
            for i in start..start + 128 {
                out.extend(encode_strs(&["SET", &format!("ev:{i}"), &value]));
            }
            c.send(&out);
            for _ in 0..128 {
                assert_eq!(c.read(), Resp::ok());
            }
        }
        let evicted = info_field(&mut c, "stats", "evicted_keys");
        assert!(evicted > 0);
        let (kind, _, ch, key) = read_msg(&mut s);
        assert_eq!(
            (kind.as_str(), ch.as_str()),
            ("message", "__keyevent@0__:evicted")
        );
        assert!(key.starts_with("ev:"), "{key}");
        let mut c2 = RawConn::connect(srv.port);
        assert_eq!(c2.cmd(&["EXISTS", &key]), Resp::Int(0));
    }
}
