//! Blocking commands against the real binary (`--threads 1` and `--threads 3`): wake-ups
//! from any connection and shard, FIFO order per key, timeouts, CLIENT UNBLOCK, clean-up
//! after a blocked client disconnects, BLMOVE's atomicity under concurrency, and a
//! cross-shard BLMOVE keeping its place in line when its retry finds nothing.
//! (Replies where nothing blocks are compared with redis-server in
//! tests/data/differential_blocking.txt.)
//!
//! Every wait is bounded: the raw connections time out after 10 s and the concurrency
//! test stops at its deadline.

mod common;
mod rawresp;

use std::time::{Duration, Instant};

use common::TestServer;
use rawresp::{key_on_shard, RawConn, Resp};

const SHARDS: usize = 3;

fn start(threads: &str) -> TestServer {
    TestServer::start(&["--threads", threads])
}

fn conn(srv: &TestServer) -> RawConn {
    let c = RawConn::connect(srv.port);
    c.set_timeout(Duration::from_secs(10));
    c
}

fn info_field(c: &mut RawConn, field: &str) -> i64 {
    let text = match c.cmd(&["INFO", "clients"]) {
        Resp::Bulk(Some(b)) => String::from_utf8_lossy(&b).into_owned(),
        other => panic!("INFO: {other:?}"),
    };
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in INFO"))
}

/// Wait (bounded) until the server reports `n` blocked clients.
fn wait_blocked(c: &mut RawConn, n: i64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = info_field(c, "blocked_clients");
        if now == n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "blocked_clients stayed {now}, want {n}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn arr(items: &[&str]) -> Resp {
    Resp::Array(Some(items.iter().map(|s| Resp::bulk(s)).collect()))
}

/// Keys on shards 0, 1, 2 of a 3-shard server (just keys with one shard).
fn keys3(prefix: &str) -> Vec<String> {
    (0..SHARDS)
        .map(|s| key_on_shard(prefix, s, SHARDS))
        .collect()
}

fn wakeups(threads: &str) {
    let srv = start(threads);
    let mut admin = conn(&srv);
    let k = keys3("wk");
    // One client waits on keys of every shard; a push on the last key's shard, from
    // another connection, wakes it.
    let mut w = conn(&srv);
    w.send(&rawresp::encode_strs(&["BLPOP", &k[0], &k[1], &k[2], "0"]));
    wait_blocked(&mut admin, 1);
    assert_eq!(admin.cmd(&["RPUSH", &k[2], "v2"]), Resp::Int(1));
    assert_eq!(w.read(), arr(&[&k[2], "v2"]));
    wait_blocked(&mut admin, 0);
    // The element went to the waiter: nothing is left, on any shard.
    assert_eq!(admin.cmd(&["EXISTS", &k[0], &k[1], &k[2]]), Resp::Int(0));

    // BRPOP, BLMPOP and BRPOPLPUSH wake the same way, with their own reply shapes.
    w.send(&rawresp::encode_strs(&["BRPOP", &k[1], &k[0], "0"]));
    wait_blocked(&mut admin, 1);
    admin.cmd(&["RPUSH", &k[0], "a", "b"]);
    assert_eq!(w.read(), arr(&[&k[0], "b"]));
    w.send(&rawresp::encode_strs(&[
        "BLMPOP", "0", "2", &k[2], &k[1], "LEFT", "COUNT", "5",
    ]));
    wait_blocked(&mut admin, 1);
    admin.cmd(&["RPUSH", &k[1], "x", "y"]);
    assert_eq!(
        w.read(),
        Resp::Array(Some(vec![Resp::bulk(&k[1]), arr(&["x", "y"])]))
    );
    w.send(&rawresp::encode_strs(&["BRPOPLPUSH", &k[2], &k[0], "0"]));
    wait_blocked(&mut admin, 1);
    admin.cmd(&["RPUSH", &k[2], "m"]);
    assert_eq!(w.read(), Resp::bulk("m"));
    assert_eq!(admin.cmd(&["LRANGE", &k[0], "0", "-1"]), arr(&["m", "a"]));

    // A waiter is served before the next command of the pusher runs.
    w.send(&rawresp::encode_strs(&["BLPOP", &k[1], "0"]));
    wait_blocked(&mut admin, 1);
    admin.send(&rawresp::encode_strs(&["RPUSH", &k[1], "z"]));
    admin.send(&rawresp::encode_strs(&["LLEN", &k[1]]));
    assert_eq!(admin.read(), Resp::Int(1));
    assert_eq!(admin.read(), Resp::Int(0));
    assert_eq!(w.read(), arr(&[&k[1], "z"]));

    // Commands pipelined behind a blocked one wait for it.
    w.send(&rawresp::encode_strs(&["BLPOP", &k[0], &k[0], "0"]));
    w.send(&rawresp::encode_strs(&["LPUSH", &k[0], "after"]));
    // (k[0] still holds "a" from above: served at once.)
    assert_eq!(w.read(), arr(&[&k[0], "m"]));
    assert_eq!(w.read(), Resp::Int(2));
    admin.cmd(&["DEL", &k[0]]);
    w.send(&rawresp::encode_strs(&["BLPOP", &k[0], "0"]));
    w.send(&rawresp::encode_strs(&["PING"]));
    wait_blocked(&mut admin, 1);
    w.assert_silent(Duration::from_millis(100));
    admin.cmd(&["LPUSH", &k[0], "q"]);
    assert_eq!(w.read(), arr(&[&k[0], "q"]));
    assert_eq!(w.read(), Resp::Simple("PONG".into()));

    // Sorted sets: BZPOPMIN / BZPOPMAX / BZMPOP wake on ZADD from any shard.
    w.send(&rawresp::encode_strs(&["BZPOPMIN", &k[0], &k[1], "0"]));
    wait_blocked(&mut admin, 1);
    admin.cmd(&["ZADD", &k[1], "2", "two", "1", "one"]);
    assert_eq!(w.read(), arr(&[&k[1], "one", "1"]));
    w.send(&rawresp::encode_strs(&["BZPOPMAX", &k[2], "0"]));
    wait_blocked(&mut admin, 1);
    admin.cmd(&["ZADD", &k[2], "7.5", "m"]);
    assert_eq!(w.read(), arr(&[&k[2], "m", "7.5"]));
    w.send(&rawresp::encode_strs(&[
        "BZMPOP", "0", "2", &k[2], &k[0], "MAX", "COUNT", "3",
    ]));
    wait_blocked(&mut admin, 1);
    admin.cmd(&["ZADD", &k[0], "1", "a", "2", "b"]);
    assert_eq!(
        w.read(),
        Resp::Array(Some(vec![
            Resp::bulk(&k[0]),
            Resp::Array(Some(vec![arr(&["b", "2"]), arr(&["a", "1"])])),
        ]))
    );
    // A list does not wake a sorted-set waiter.
    w.send(&rawresp::encode_strs(&["BZPOPMIN", &k[0], "0"]));
    wait_blocked(&mut admin, 1);
    admin.cmd(&["RPUSH", &k[0], "l"]);
    w.assert_silent(Duration::from_millis(100));
    admin.cmd(&["DEL", &k[0]]);
    admin.cmd(&["ZADD", &k[0], "3", "z"]);
    assert_eq!(w.read(), arr(&[&k[0], "z", "3"]));
    assert_eq!(admin.cmd(&["EXISTS", &k[0], &k[1]]), Resp::Int(1));
    admin.cmd(&["DEL", &k[1]]);

    // A key of another type does not wake a list waiter; a list pushed later does.
    w.send(&rawresp::encode_strs(&["BLPOP", &k[2], "0"]));
    wait_blocked(&mut admin, 1);
    admin.cmd(&["SET", &k[2], "str"]);
    w.assert_silent(Duration::from_millis(100));
    admin.cmd(&["DEL", &k[2]]);
    admin.cmd(&["RPUSH", &k[2], "l"]);
    assert_eq!(w.read(), arr(&[&k[2], "l"]));
}

#[test]
fn wakeups_threads_1() {
    wakeups("1");
}

#[test]
fn wakeups_threads_3() {
    wakeups("3");
}

fn fifo(threads: &str) {
    let srv = start(threads);
    let mut admin = conn(&srv);
    let key = "fifo-key";
    let mut waiters = Vec::new();
    for i in 0..5 {
        let mut w = conn(&srv);
        w.send(&rawresp::encode_strs(&["BLPOP", key, "0"]));
        wait_blocked(&mut admin, i + 1);
        waiters.push(w);
    }
    // One push of five elements: the first to block gets the first element, and so on.
    admin.cmd(&["RPUSH", key, "e0", "e1", "e2", "e3", "e4"]);
    for (i, w) in waiters.iter_mut().enumerate() {
        assert_eq!(w.read(), arr(&[key, &format!("e{i}")]), "waiter {i}");
    }
    // Waiters on several keys: each push serves the oldest waiter of that key.
    let k = keys3("ff");
    let mut a = conn(&srv);
    let mut b = conn(&srv);
    a.send(&rawresp::encode_strs(&["BLPOP", &k[0], &k[1], "0"]));
    wait_blocked(&mut admin, 1);
    b.send(&rawresp::encode_strs(&["BLPOP", &k[1], &k[0], "0"]));
    wait_blocked(&mut admin, 2);
    admin.cmd(&["RPUSH", &k[1], "first"]);
    assert_eq!(a.read(), arr(&[&k[1], "first"]));
    admin.cmd(&["RPUSH", &k[0], "second"]);
    assert_eq!(b.read(), arr(&[&k[0], "second"]));
    wait_blocked(&mut admin, 0);
}

#[test]
fn fifo_threads_1() {
    fifo("1");
}

#[test]
fn fifo_threads_3() {
    fifo("3");
}

fn timeouts_and_unblock(threads: &str) {
    let srv = start(threads);
    let mut admin = conn(&srv);
    let mut w = conn(&srv);
    // A float timeout: nil after about that long.
    let t = Instant::now();
    assert_eq!(w.cmd(&["BLPOP", "t1", "t2", "0.2"]), Resp::Array(None));
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(195),
        "returned after {took:?}"
    );
    assert_eq!(
        w.cmd(&["BLMOVE", "t1", "t2", "LEFT", "LEFT", "0.05"]),
        Resp::Bulk(None)
    );
    assert_eq!(info_field(&mut admin, "blocked_clients"), 0);

    // CLIENT UNBLOCK: as a timeout, or with an error; 0 for a client not blocked.
    let id = w.cmd(&["CLIENT", "ID"]).int().expect("id").to_string();
    assert_eq!(admin.cmd(&["CLIENT", "UNBLOCK", &id]), Resp::Int(0));
    w.send(&rawresp::encode_strs(&["BRPOP", "u1", "0"]));
    wait_blocked(&mut admin, 1);
    assert_eq!(info_field(&mut admin, "clients_in_timeout_table"), 0);
    assert_eq!(admin.cmd(&["CLIENT", "UNBLOCK", &id]), Resp::Int(1));
    assert_eq!(w.read(), Resp::Array(None));
    w.send(&rawresp::encode_strs(&["BLMPOP", "100", "1", "u1", "LEFT"]));
    wait_blocked(&mut admin, 1);
    assert_eq!(info_field(&mut admin, "clients_in_timeout_table"), 1);
    assert_eq!(
        admin.cmd(&["CLIENT", "UNBLOCK", &id, "ERROR"]),
        Resp::Int(1)
    );
    assert_eq!(
        w.read(),
        Resp::Error("UNBLOCKED client unblocked via CLIENT UNBLOCK".into())
    );
    assert_eq!(
        admin.cmd(&["CLIENT", "UNBLOCK", &id, "ERROR"]),
        Resp::Int(0)
    );
    // The unblocked client left nothing queued: a push stays in the list.
    admin.cmd(&["RPUSH", "u1", "kept"]);
    assert_eq!(admin.cmd(&["LLEN", "u1"]), Resp::Int(1));
    // The connection works on.
    assert_eq!(w.cmd(&["PING"]), Resp::Simple("PONG".into()));
    // RESP3: a timed-out BLPOP is a null.
    assert!(matches!(w.cmd(&["HELLO", "3"]), Resp::Map(_)));
    assert_eq!(w.cmd(&["BLPOP", "none", "0.01"]), Resp::Null);
}

#[test]
fn timeouts_and_unblock_threads_1() {
    timeouts_and_unblock("1");
}

#[test]
fn timeouts_and_unblock_threads_3() {
    timeouts_and_unblock("3");
}

fn disconnect_cleanup(threads: &str) {
    let srv = start(threads);
    let mut admin = conn(&srv);
    let k = keys3("dc");
    for round in 0..3 {
        let mut w = conn(&srv);
        w.send(&rawresp::encode_strs(&["BLPOP", &k[0], &k[1], &k[2], "0"]));
        let mut m = conn(&srv);
        m.send(&rawresp::encode_strs(&[
            "BLMOVE", &k[1], &k[2], "LEFT", "RIGHT", "0",
        ]));
        wait_blocked(&mut admin, 2);
        drop(w);
        m.close();
        wait_blocked(&mut admin, 0);
        // Nobody is left waiting: pushed elements stay where they were pushed.
        for key in &k {
            assert_eq!(
                admin.cmd(&["RPUSH", key, "v"]),
                Resp::Int(1),
                "round {round}"
            );
        }
        assert_eq!(admin.cmd(&["DEL", &k[0], &k[1], &k[2]]), Resp::Int(3));
    }
    // Many blocked clients that all vanish leave the server as it was.
    let mut many: Vec<RawConn> = (0..50).map(|_| conn(&srv)).collect();
    for (i, c) in many.iter_mut().enumerate() {
        c.send(&rawresp::encode_strs(&["BRPOP", &k[i % 3], "0"]));
    }
    wait_blocked(&mut admin, 50);
    drop(many);
    wait_blocked(&mut admin, 0);
    admin.cmd(&["RPUSH", &k[0], "x"]);
    assert_eq!(admin.cmd(&["LLEN", &k[0]]), Resp::Int(1));
}

#[test]
fn disconnect_cleanup_threads_1() {
    disconnect_cleanup("1");
}

#[test]
fn disconnect_cleanup_threads_3() {
    disconnect_cleanup("3");
}

/// Elements rotate through four lists on different shards by BLMOVE from several
/// clients at once while a checker sums the lengths inside MULTI: the total never
/// changes (no element lost, duplicated or seen in flight).
fn blmove_atomic(threads: &str) {
    const ITEMS: usize = 6;
    const WORKERS: usize = 4;
    const MOVES: usize = 150;
    let srv = start(threads);
    let mut lists = keys3("rot");
    lists.push(key_on_shard("rot4", 0, SHARDS));
    let mut admin = conn(&srv);
    for i in 0..ITEMS {
        admin.cmd(&["RPUSH", &lists[i % 4], &format!("item{i}")]);
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    let port = srv.port;
    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            let lists = lists.clone();
            std::thread::spawn(move || {
                let mut c = RawConn::connect(port);
                c.set_timeout(Duration::from_secs(10));
                let mut moved = 0;
                for i in 0..MOVES {
                    if Instant::now() > deadline {
                        break;
                    }
                    let from = &lists[(w + i) % 4];
                    let to = &lists[(w + i + 1) % 4];
                    match c.cmd(&["BLMOVE", from, to, "RIGHT", "LEFT", "0.02"]) {
                        Resp::Bulk(Some(_)) => moved += 1,
                        Resp::Bulk(None) => {}
                        other => panic!("BLMOVE: {other:?}"),
                    }
                }
                moved
            })
        })
        .collect();
    let mut bad = Vec::new();
    let mut checks = 0;
    while workers.iter().any(|w| !w.is_finished()) && Instant::now() < deadline {
        admin.send(&rawresp::encode_strs(&["MULTI"]));
        for l in &lists {
            admin.send(&rawresp::encode_strs(&["LLEN", l]));
        }
        admin.send(&rawresp::encode_strs(&["EXEC"]));
        admin.read();
        for _ in &lists {
            admin.read();
        }
        let total: i64 = match admin.read() {
            Resp::Array(Some(v)) => v.iter().map(|r| r.int().unwrap_or(-1000)).sum(),
            other => panic!("EXEC: {other:?}"),
        };
        checks += 1;
        if total != ITEMS as i64 {
            bad.push(total);
        }
    }
    let moved: usize = workers.into_iter().map(|w| w.join().expect("worker")).sum();
    assert!(bad.is_empty(), "totals seen inside MULTI: {bad:?}");
    eprintln!("moved {moved} checks {checks}");
    assert!(moved > 0 && checks > 0);
    let mut all = Vec::new();
    for l in &lists {
        if let Resp::Array(Some(v)) = admin.cmd(&["LRANGE", l, "0", "-1"]) {
            all.extend(v.into_iter().filter_map(|r| r.text()));
        }
    }
    all.sort();
    let mut want: Vec<String> = (0..ITEMS).map(|i| format!("item{i}")).collect();
    want.sort();
    assert_eq!(all, want);
    assert_eq!(info_field(&mut admin, "blocked_clients"), 0);
}

#[test]
fn blmove_atomic_threads_1() {
    blmove_atomic("1");
}

#[test]
fn blmove_atomic_threads_3() {
    blmove_atomic("3");
}

/// Nothing arrives for a short while; later reads get the usual timeout back.
fn silent(c: &mut RawConn) {
    c.assert_silent(Duration::from_millis(50));
    c.set_timeout(Duration::from_secs(10));
}

/// Cross-shard BLMOVE (source and destination on different shards) is served through a
/// retry on the client's side; the retried waiter keeps its first-come place. Two
/// BLMOVEs then a BLPOP block on one key: each push goes to the oldest waiter, as in
/// Redis, also when a command pipelined right behind the push empties the list before
/// the first waiter's retry runs (that waiter then stays first in line).
fn blmove_retry_keeps_place(threads: &str) {
    let srv = start(threads);
    let mut admin = conn(&srv);
    let k = keys3("rp");
    let (src, dst) = (&k[0], &k[1]);
    let blmove = ["BLMOVE", src, dst, "LEFT", "RIGHT", "0"];
    let mut m1 = conn(&srv);
    m1.send(&rawresp::encode_strs(&blmove));
    wait_blocked(&mut admin, 1);
    let mut m2 = conn(&srv);
    m2.send(&rawresp::encode_strs(&blmove));
    wait_blocked(&mut admin, 2);
    let mut p3 = conn(&srv);
    p3.send(&rawresp::encode_strs(&["BLPOP", src, "0"]));
    wait_blocked(&mut admin, 3);

    // One element: the first waiter moves it; the later ones keep waiting.
    assert_eq!(admin.cmd(&["RPUSH", src, "e1"]), Resp::Int(1));
    assert_eq!(m1.read(), Resp::bulk("e1"));
    wait_blocked(&mut admin, 2);
    silent(&mut m2);
    silent(&mut p3);

    // A push with an LPOP pipelined right behind it: the LPOP may run before m2's retry
    // (then m2 finds nothing and must stay first), or after it (then m2 has e2).
    admin.send(&rawresp::encode_strs(&["RPUSH", src, "e2"]));
    admin.send(&rawresp::encode_strs(&["LPOP", src]));
    assert_eq!(admin.read(), Resp::Int(1));
    let popped = admin.read();
    // Pushes until every waiter is served: m2 first, then p3, in that order.
    let mut pushed = vec!["e2".to_string()];
    if popped == Resp::bulk("e2") {
        pushed.clear();
        wait_blocked(&mut admin, 2);
        silent(&mut p3);
        for i in 0..3 {
            // Losing again must not cost the place either.
            admin.send(&rawresp::encode_strs(&["RPUSH", src, &format!("r{i}")]));
            admin.send(&rawresp::encode_strs(&["LPOP", src]));
            admin.read();
            if admin.read() != Resp::bulk(&format!("r{i}")) {
                pushed.push(format!("r{i}"));
                break;
            }
            wait_blocked(&mut admin, 2);
        }
        if pushed.is_empty() {
            admin.cmd(&["RPUSH", src, "e3"]);
            pushed.push("e3".into());
        }
    } else {
        assert_eq!(popped, Resp::Bulk(None));
    }
    assert_eq!(m2.read(), Resp::bulk(&pushed[0]));
    wait_blocked(&mut admin, 1);
    silent(&mut p3);
    admin.cmd(&["RPUSH", src, "e4"]);
    assert_eq!(p3.read(), arr(&[src, "e4"]));
    wait_blocked(&mut admin, 0);
    let mut want = vec!["e1".to_string()];
    want.extend(pushed);
    let got: Vec<String> = match admin.cmd(&["LRANGE", dst, "0", "-1"]) {
        Resp::Array(Some(v)) => v.iter().filter_map(|r| r.text()).collect(),
        other => panic!("LRANGE: {other:?}"),
    };
    assert_eq!(got, want);
    assert_eq!(admin.cmd(&["EXISTS", src]), Resp::Int(0));

    // After a lost retry the call is still an ordinary blocked one: CLIENT UNBLOCK ends
    // it (and the next waiter gets the next push), as does its timeout.
    let m1_id = m1.cmd(&["CLIENT", "ID"]).int().expect("id").to_string();
    for unblock in [true, false] {
        let timeout = if unblock { "0" } else { "0.5" };
        m1.send(&rawresp::encode_strs(&[
            "BLMOVE", src, dst, "LEFT", "RIGHT", timeout,
        ]));
        wait_blocked(&mut admin, 1);
        p3.send(&rawresp::encode_strs(&["BLPOP", src, "0"]));
        wait_blocked(&mut admin, 2);
        admin.send(&rawresp::encode_strs(&["RPUSH", src, "x"]));
        admin.send(&rawresp::encode_strs(&["LPOP", src]));
        admin.read();
        if admin.read() == Resp::bulk("x") {
            silent(&mut m1);
            silent(&mut p3);
            if unblock {
                assert_eq!(admin.cmd(&["CLIENT", "UNBLOCK", &m1_id]), Resp::Int(1));
            }
            assert_eq!(m1.read(), Resp::Bulk(None));
        } else {
            assert_eq!(m1.read(), Resp::bulk("x"));
        }
        wait_blocked(&mut admin, 1);
        admin.cmd(&["RPUSH", src, "y"]);
        assert_eq!(p3.read(), arr(&[src, "y"]));
        wait_blocked(&mut admin, 0);
    }
}

#[test]
fn blmove_retry_keeps_place_threads_1() {
    blmove_retry_keeps_place("1");
}

#[test]
fn blmove_retry_keeps_place_threads_3() {
    blmove_retry_keeps_place("3");
}
