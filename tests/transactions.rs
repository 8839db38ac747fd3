//! MULTI/EXEC/WATCH semantics and cross-shard atomicity of multi-key commands, with
//! `--threads 1` and `--threads 3`. Expected texts were checked against redis-server
//! 7.0.15: `tx_semantics` runs the same checks on a real redis-server first.
//!
//! Concurrency tests: workers loop a bounded number of rounds under a 30 s deadline;
//! readers loop until the workers are done (bounded by the deadline and a count). A
//! reader that sees a broken invariant records it; the test fails listing them.

mod common;
mod rawresp;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{RedisServer, TestServer};
use rawresp::{key_on_shard, shard_of, spread_keys, RawConn, Resp};

const ROUNDS: usize = 300;
const DEADLINE: Duration = Duration::from_secs(30);
/// Upper bound on reader iterations (they normally stop when the writers finish).
const MAX_READS: usize = 200_000;

fn start(threads: &str) -> TestServer {
    TestServer::start(&["--threads", threads])
}

/// Shared state of one concurrency scenario.
struct Ctl {
    stop: AtomicBool,
    deadline: Instant,
    violations: Mutex<Vec<String>>,
    count: AtomicUsize,
}

impl Ctl {
    fn new() -> Ctl {
        Ctl {
            stop: AtomicBool::new(false),
            deadline: Instant::now() + DEADLINE,
            violations: Mutex::new(Vec::new()),
            count: AtomicUsize::new(0),
        }
    }
    fn reading(&self, i: usize) -> bool {
        !self.stop.load(Ordering::Acquire) && Instant::now() < self.deadline && i < MAX_READS
    }
    fn writing(&self) -> bool {
        Instant::now() < self.deadline
    }
    fn violation(&self, msg: String) {
        self.count.fetch_add(1, Ordering::Relaxed);
        let mut v = self.violations.lock().unwrap();
        if v.len() < 20 {
            v.push(msg);
        }
    }
    fn assert_clean(&self, what: &str) {
        let n = self.count.load(Ordering::Relaxed);
        let v = self.violations.lock().unwrap();
        assert!(
            n == 0,
            "{what}: {n} invariant violations, first ones:\n{}",
            v.join("\n")
        );
    }
}

/// Runs `writers` (bounded loops) and `readers` (until the writers finish) on their own
/// threads, each with a fresh connection. Returns (writer results, reader results).
fn run_scenario<W, R>(
    port: u16,
    ctl: &Ctl,
    writers: Vec<W>,
    readers: Vec<R>,
) -> (Vec<usize>, Vec<usize>)
where
    W: FnOnce(&mut RawConn, &Ctl) -> usize + Send,
    R: FnOnce(&mut RawConn, &Ctl) -> usize + Send,
{
    std::thread::scope(|s| {
        let rh: Vec<_> = readers
            .into_iter()
            .map(|r| {
                s.spawn(move || {
                    let mut c = RawConn::connect(port);
                    r(&mut c, ctl)
                })
            })
            .collect();
        let wh: Vec<_> = writers
            .into_iter()
            .map(|w| {
                s.spawn(move || {
                    let mut c = RawConn::connect(port);
                    w(&mut c, ctl)
                })
            })
            .collect();
        let mut wr = Vec::new();
        let mut panicked = None;
        for h in wh {
            match h.join() {
                Ok(n) => wr.push(n),
                Err(e) => panicked = Some(e),
            }
        }
        ctl.stop.store(true, Ordering::Release);
        let mut rr = Vec::new();
        for h in rh {
            match h.join() {
                Ok(n) => rr.push(n),
                Err(e) => panicked = Some(e),
            }
        }
        if let Some(e) = panicked {
            std::panic::resume_unwind(e);
        }
        (wr, rr)
    })
}

fn bulks(r: &Resp) -> Vec<Option<String>> {
    match r {
        Resp::Array(Some(v)) => v
            .iter()
            .map(|x| match x {
                Resp::Bulk(Some(b)) => Some(String::from_utf8_lossy(b).into_owned()),
                Resp::Bulk(None) => None,
                other => Some(format!("<non-bulk {other:?}>")),
            })
            .collect(),
        other => vec![Some(format!("<not an array: {other:?}>"))],
    }
}

/// Pipelines MULTI, the commands, EXEC; checks OK / QUEUED; returns EXEC's reply.
fn multi_exec(c: &mut RawConn, cmds: &[Vec<String>]) -> Resp {
    let mut out = rawresp::encode_strs(&["MULTI"]);
    for cmd in cmds {
        let v: Vec<&str> = cmd.iter().map(String::as_str).collect();
        out.extend(rawresp::encode_strs(&v));
    }
    out.extend(rawresp::encode_strs(&["EXEC"]));
    c.send(&out);
    assert_eq!(c.read(), Resp::ok(), "MULTI");
    for cmd in cmds {
        assert_eq!(c.read(), Resp::queued(), "queueing {cmd:?}");
    }
    c.read()
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

// ---------------------------------------------------------------------------
// MSET vs MGET / MULTI-GET isolation
// ---------------------------------------------------------------------------

fn mset_isolation(threads: &str) {
    let srv = start(threads);
    let keys = spread_keys("iso", 10);
    for s in 0..3 {
        assert!(keys.iter().filter(|k| shard_of(k, 3) == s).count() >= 3);
    }
    let mut c = RawConn::connect(srv.port);
    let mut args = vec!["MSET"];
    for k in &keys {
        args.push(k);
        args.push("init");
    }
    assert_eq!(c.cmd(&args), Resp::ok());

    let valid = |v: &str| -> bool {
        if v == "init" {
            return true;
        }
        let Some(rest) = v.strip_prefix('w') else {
            return false;
        };
        let Some((w, r)) = rest.split_once("-r") else {
            return false;
        };
        w.parse::<usize>().is_ok_and(|w| w < 4) && r.parse::<usize>().is_ok_and(|r| r < ROUNDS)
    };
    let check = |ctl: &Ctl, how: &str, vals: Vec<Option<String>>| {
        let first = &vals[0];
        if vals.len() != 10
            || vals.iter().any(|v| v != first)
            || first.as_deref().is_none_or(|v| !valid(v))
        {
            ctl.violation(format!("{how} saw {vals:?}"));
        }
    };
    let ctl = Ctl::new();
    let keys_ref = &keys;
    let writers: Vec<_> = (0..4)
        .map(|id| {
            move |c: &mut RawConn, ctl: &Ctl| {
                let mut done = 0;
                for round in 0..ROUNDS {
                    if !ctl.writing() {
                        break;
                    }
                    let val = format!("w{id}-r{round}");
                    let mut args = vec!["MSET"];
                    for k in keys_ref {
                        args.push(k);
                        args.push(&val);
                    }
                    assert_eq!(c.cmd(&args), Resp::ok(), "MSET");
                    done += 1;
                }
                done
            }
        })
        .collect();
    let readers: Vec<Box<dyn FnOnce(&mut RawConn, &Ctl) -> usize + Send>> = (0..6)
        .map(|i| -> Box<dyn FnOnce(&mut RawConn, &Ctl) -> usize + Send> {
            if i < 4 {
                Box::new(move |c: &mut RawConn, ctl: &Ctl| {
                    let mut args = vec!["MGET"];
                    args.extend(keys_ref.iter().map(String::as_str));
                    let mut n = 0;
                    while ctl.reading(n) {
                        let r = c.cmd(&args);
                        check(ctl, "MGET", bulks(&r));
                        n += 1;
                    }
                    n
                })
            } else {
                Box::new(move |c: &mut RawConn, ctl: &Ctl| {
                    let cmds: Vec<Vec<String>> =
                        keys_ref.iter().map(|k| strs(&["GET", k])).collect();
                    let mut n = 0;
                    while ctl.reading(n) {
                        let r = multi_exec(c, &cmds);
                        check(ctl, "MULTI/GET.../EXEC", bulks(&r));
                        n += 1;
                    }
                    n
                })
            }
        })
        .collect();
    let (wr, rr) = run_scenario(srv.port, &ctl, writers, readers);
    ctl.assert_clean("MSET/MGET isolation");
    assert!(wr.iter().all(|&n| n > 0), "writers made progress: {wr:?}");
    assert!(
        rr.iter().all(|&n| n > 0),
        "every reader read at least once: {rr:?}"
    );
    eprintln!("threads={threads}: writer rounds {wr:?}, reader checks {rr:?}");
    // Final state: all ten equal.
    let mut args = vec!["MGET"];
    args.extend(keys.iter().map(String::as_str));
    let last = bulks(&c.cmd(&args));
    assert!(
        last.iter().all(|v| v == &last[0]) && last[0].is_some(),
        "final {last:?}"
    );
}

#[test]
fn mset_mget_isolation_threads_1() {
    mset_isolation("1");
}

#[test]
fn mset_mget_isolation_threads_3() {
    mset_isolation("3");
}

// ---------------------------------------------------------------------------
// MULTI/EXEC transfers keep the total
// ---------------------------------------------------------------------------

fn transfers(threads: &str) {
    let srv = start(threads);
    let accts = spread_keys("acct", 4);
    let mut c = RawConn::connect(srv.port);
    let mut args = vec!["MSET"];
    for k in &accts {
        args.push(k);
        args.push("1000");
    }
    assert_eq!(c.cmd(&args), Resp::ok());
    let total_ok = |vals: &[Option<String>]| -> Result<i64, String> {
        let mut sum = 0;
        for v in vals {
            sum += v
                .as_deref()
                .and_then(|s| s.parse::<i64>().ok())
                .ok_or_else(|| format!("bad value in {vals:?}"))?;
        }
        Ok(sum)
    };
    let ctl = Ctl::new();
    let accts_ref = &accts;
    let deltas: Mutex<Vec<i64>> = Mutex::new(vec![0; 4]);
    let deltas_ref = &deltas;
    let writers: Vec<_> = (0..3usize)
        .map(|id| {
            move |c: &mut RawConn, ctl: &Ctl| {
                let mut local = [0i64; 4];
                let mut done = 0;
                for r in 0..200usize {
                    if !ctl.writing() {
                        break;
                    }
                    let from = (r * 7 + id) % 4;
                    let to = (from + 1 + r % 3) % 4;
                    let n = (r % 50 + 1) as i64;
                    let reply = multi_exec(
                        c,
                        &[
                            strs(&["INCRBY", &accts_ref[from], &(-n).to_string()]),
                            strs(&["INCRBY", &accts_ref[to], &n.to_string()]),
                        ],
                    );
                    match reply.items() {
                        Some([Resp::Int(_), Resp::Int(_)]) => {}
                        _ => panic!("EXEC of a transfer replied {reply:?}"),
                    }
                    local[from] -= n;
                    local[to] += n;
                    done += 1;
                }
                let mut d = deltas_ref.lock().unwrap();
                for i in 0..4 {
                    d[i] += local[i];
                }
                done
            }
        })
        .collect();
    let readers: Vec<Box<dyn FnOnce(&mut RawConn, &Ctl) -> usize + Send>> = (0..3)
        .map(|i| -> Box<dyn FnOnce(&mut RawConn, &Ctl) -> usize + Send> {
            Box::new(move |c: &mut RawConn, ctl: &Ctl| {
                let mut n = 0;
                while ctl.reading(n) {
                    let vals = if i < 2 {
                        let mut args = vec!["MGET"];
                        args.extend(accts_ref.iter().map(String::as_str));
                        bulks(&c.cmd(&args))
                    } else {
                        let cmds: Vec<Vec<String>> =
                            accts_ref.iter().map(|k| strs(&["GET", k])).collect();
                        bulks(&multi_exec(c, &cmds))
                    };
                    match total_ok(&vals) {
                        Ok(4000) => {}
                        Ok(t) => ctl.violation(format!("total {t} in {vals:?}")),
                        Err(e) => ctl.violation(e),
                    }
                    n += 1;
                }
                n
            })
        })
        .collect();
    let (wr, rr) = run_scenario(srv.port, &ctl, writers, readers);
    ctl.assert_clean("transfers");
    assert!(wr.iter().all(|&n| n > 0), "{wr:?}");
    assert!(rr.iter().all(|&n| n > 0), "{rr:?}");
    let mut args = vec!["MGET"];
    args.extend(accts.iter().map(String::as_str));
    let vals = bulks(&c.cmd(&args));
    assert_eq!(total_ok(&vals), Ok(4000), "final {vals:?}");
    let d = deltas.lock().unwrap();
    for i in 0..4 {
        assert_eq!(
            vals[i].as_deref(),
            Some((1000 + d[i]).to_string().as_str()),
            "account {i}"
        );
    }
}

#[test]
fn multi_exec_transfers_threads_1() {
    transfers("1");
}

#[test]
fn multi_exec_transfers_threads_3() {
    transfers("3");
}

// ---------------------------------------------------------------------------
// Redis semantics of MULTI / EXEC / DISCARD / WATCH
// ---------------------------------------------------------------------------

fn arr(v: Vec<Resp>) -> Resp {
    Resp::Array(Some(v))
}

/// Waits (bounded) until `d` has passed since `since` — for key expiry, which is
/// defined by the clock; nothing touches the key meanwhile.
fn wait_past(since: Instant, d: Duration) {
    while since.elapsed() < d {
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn tx_semantics(port: u16) {
    let mut a = RawConn::connect(port);
    let mut b = RawConn::connect(port);
    let k: Vec<String> = (0..3).map(|s| key_on_shard("sem", s, 3)).collect();
    let (k0, k1, k2) = (k[0].as_str(), k[1].as_str(), k[2].as_str());
    assert_eq!(a.cmd(&["FLUSHALL"]), Resp::ok());

    // QUEUED replies and the EXEC array.
    assert_eq!(a.cmd(&["MULTI"]), Resp::ok());
    assert_eq!(a.cmd(&["SET", k0, "v0"]), Resp::queued());
    assert_eq!(a.cmd(&["SET", k1, "v1"]), Resp::queued());
    assert_eq!(a.cmd(&["GET", k2]), Resp::queued());
    assert_eq!(a.cmd(&["MGET", k0, k1]), Resp::queued());
    assert_eq!(a.cmd(&["PING"]), Resp::queued());
    assert_eq!(
        a.cmd(&["EXEC"]),
        arr(vec![
            Resp::ok(),
            Resp::ok(),
            Resp::Bulk(None),
            arr(vec![Resp::bulk("v0"), Resp::bulk("v1")]),
            Resp::Simple("PONG".into())
        ])
    );
    // Queued writes are invisible to others until EXEC.
    assert_eq!(a.cmd(&["MULTI"]), Resp::ok());
    assert_eq!(a.cmd(&["SET", k2, "x"]), Resp::queued());
    assert_eq!(b.cmd(&["GET", k2]), Resp::Bulk(None));
    assert_eq!(a.cmd(&["EXEC"]), arr(vec![Resp::ok()]));
    assert_eq!(b.cmd(&["GET", k2]), Resp::bulk("x"));

    // Unknown command while queueing -> EXECABORT, nothing runs, MULTI state is gone.
    assert_eq!(a.cmd(&["MULTI"]), Resp::ok());
    assert_eq!(a.cmd(&["SET", k0, "changed"]), Resp::queued());
    assert_eq!(
        a.cmd(&["FOO", "bar"]),
        Resp::err("ERR unknown command 'FOO', with args beginning with: 'bar' ")
    );
    assert_eq!(
        a.cmd(&["EXEC"]),
        Resp::err("EXECABORT Transaction discarded because of previous errors.")
    );
    assert_eq!(a.cmd(&["GET", k0]), Resp::bulk("v0"));
    assert_eq!(a.cmd(&["EXEC"]), Resp::err("ERR EXEC without MULTI"));

    // Wrong arity while queueing -> EXECABORT.
    assert_eq!(a.cmd(&["MULTI"]), Resp::ok());
    assert_eq!(
        a.cmd(&["SET", k1]),
        Resp::err("ERR wrong number of arguments for 'set' command")
    );
    assert_eq!(a.cmd(&["SET", k1, "changed"]), Resp::queued());
    assert_eq!(
        a.cmd(&["EXEC"]),
        Resp::err("EXECABORT Transaction discarded because of previous errors.")
    );
    assert_eq!(a.cmd(&["GET", k1]), Resp::bulk("v1"));

    // A runtime error inside EXEC does not stop the other commands.
    assert_eq!(a.cmd(&["SET", k0, "notanumber"]), Resp::ok());
    assert_eq!(a.cmd(&["MULTI"]), Resp::ok());
    assert_eq!(a.cmd(&["SET", k2, "before"]), Resp::queued());
    assert_eq!(a.cmd(&["INCR", k0]), Resp::queued());
    assert_eq!(a.cmd(&["SET", k1, "after"]), Resp::queued());
    assert_eq!(
        a.cmd(&["EXEC"]),
        arr(vec![
            Resp::ok(),
            Resp::err("ERR value is not an integer or out of range"),
            Resp::ok()
        ])
    );
    assert_eq!(
        b.cmd(&["MGET", k0, k1, k2]),
        arr(vec![
            Resp::bulk("notanumber"),
            Resp::bulk("after"),
            Resp::bulk("before")
        ])
    );

    // Nested MULTI is an error that does not abort the transaction.
    assert_eq!(a.cmd(&["MULTI"]), Resp::ok());
    assert_eq!(a.cmd(&["SET", k2, "n1"]), Resp::queued());
    assert_eq!(
        a.cmd(&["MULTI"]),
        Resp::err("ERR MULTI calls can not be nested")
    );
    assert_eq!(a.cmd(&["SET", k0, "n2"]), Resp::queued());
    assert_eq!(a.cmd(&["EXEC"]), arr(vec![Resp::ok(), Resp::ok()]));
    assert_eq!(
        b.cmd(&["MGET", k2, k0]),
        arr(vec![Resp::bulk("n1"), Resp::bulk("n2")])
    );

    // EXEC / DISCARD without MULTI.
    assert_eq!(a.cmd(&["EXEC"]), Resp::err("ERR EXEC without MULTI"));
    assert_eq!(a.cmd(&["DISCARD"]), Resp::err("ERR DISCARD without MULTI"));

    // DISCARD drops the queue.
    assert_eq!(a.cmd(&["MULTI"]), Resp::ok());
    assert_eq!(a.cmd(&["SET", k0, "discarded"]), Resp::queued());
    assert_eq!(a.cmd(&["DISCARD"]), Resp::ok());
    assert_eq!(a.cmd(&["GET", k0]), Resp::bulk("n2"));
    assert_eq!(a.cmd(&["EXEC"]), Resp::err("ERR EXEC without MULTI"));

    // WATCH inside MULTI is an error; the transaction still runs.
    assert_eq!(a.cmd(&["MULTI"]), Resp::ok());
    assert_eq!(
        a.cmd(&["WATCH", k0]),
        Resp::err("ERR WATCH inside MULTI is not allowed")
    );
    assert_eq!(a.cmd(&["GET", k0]), Resp::queued());
    assert_eq!(a.cmd(&["EXEC"]), arr(vec![Resp::bulk("n2")]));

    // WATCH, then another client changes the key: EXEC returns a null array. Done for a
    // key on every shard, so at least one is on another shard than the client's.
    for key in [k0, k1, k2] {
        assert_eq!(a.cmd(&["SET", key, "w0"]), Resp::ok());
        assert_eq!(a.cmd(&["WATCH", key]), Resp::ok());
        assert_eq!(b.cmd(&["SET", key, "w1"]), Resp::ok());
        assert_eq!(a.cmd(&["MULTI"]), Resp::ok());
        assert_eq!(a.cmd(&["SET", key, "w2"]), Resp::queued());
        assert_eq!(
            a.cmd(&["EXEC"]),
            Resp::Array(None),
            "watched {key} changed by another client"
        );
        assert_eq!(a.cmd(&["GET", key]), Resp::bulk("w1"));
    }
    // Several watched keys on several shards; another client touches only one (INCR).
    assert_eq!(a.cmd(&["SET", k1, "5"]), Resp::ok());
    assert_eq!(a.cmd(&["WATCH", k0, k1, k2]), Resp::ok());
    assert_eq!(b.cmd(&["INCR", k1]), Resp::Int(6));
    assert_eq!(a.cmd(&["MULTI"]), Resp::ok());
    assert_eq!(a.cmd(&["SET", k0, "no"]), Resp::queued());
    assert_eq!(a.cmd(&["EXEC"]), Resp::Array(None));
    assert_eq!(a.cmd(&["GET", k0]), Resp::bulk("w1"));

    // WATCH, then another client deletes the key.
    for key in [k0, k1, k2] {
        assert_eq!(a.cmd(&["SET", key, "d0"]), Resp::ok());
        assert_eq!(a.cmd(&["WATCH", key]), Resp::ok());
        assert_eq!(b.cmd(&["DEL", key]), Resp::Int(1));
        assert_eq!(a.cmd(&["MULTI"]), Resp::ok());
        assert_eq!(a.cmd(&["GET", key]), Resp::queued());
        assert_eq!(
            a.cmd(&["EXEC"]),
            Resp::Array(None),
            "watched {key} deleted by another client"
        );
    }

    // WATCH a key with a short PEXPIRE that expires before EXEC.
    for key in [k0, k1, k2] {
        assert_eq!(a.cmd(&["SET", key, "e0"]), Resp::ok());
        let set_at = Instant::now();
        assert_eq!(a.cmd(&["PEXPIRE", key, "100"]), Resp::Int(1));
        assert_eq!(a.cmd(&["WATCH", key]), Resp::ok());
        wait_past(set_at, Duration::from_millis(300));
        assert_eq!(a.cmd(&["MULTI"]), Resp::ok());
        assert_eq!(a.cmd(&["SET", key, "e1"]), Resp::queued());
        assert_eq!(
            a.cmd(&["EXEC"]),
            Resp::Array(None),
            "watched {key} expired before EXEC"
        );
        assert_eq!(a.cmd(&["GET", key]), Resp::Bulk(None));
    }

    // WATCH and no change (another client only reads): EXEC runs.
    for key in [k0, k1, k2] {
        assert_eq!(a.cmd(&["SET", key, "n0"]), Resp::ok());
        assert_eq!(a.cmd(&["WATCH", key]), Resp::ok());
        assert_eq!(b.cmd(&["GET", key]), Resp::bulk("n0"));
        assert_eq!(b.cmd(&["EXISTS", key]), Resp::Int(1));
        assert_eq!(a.cmd(&["MULTI"]), Resp::ok());
        assert_eq!(a.cmd(&["SET", key, "mine"]), Resp::queued());
        assert_eq!(a.cmd(&["GET", key]), Resp::queued());
        assert_eq!(a.cmd(&["EXEC"]), arr(vec![Resp::ok(), Resp::bulk("mine")]));
        // EXEC unwatched: a later change does not fail the next transaction.
        assert_eq!(b.cmd(&["SET", key, "later"]), Resp::ok());
        assert_eq!(a.cmd(&["MULTI"]), Resp::ok());
        assert_eq!(a.cmd(&["GET", key]), Resp::queued());
        assert_eq!(a.cmd(&["EXEC"]), arr(vec![Resp::bulk("later")]));
    }

    // UNWATCH clears the watches.
    assert_eq!(a.cmd(&["WATCH", k0, k1, k2]), Resp::ok());
    assert_eq!(a.cmd(&["UNWATCH"]), Resp::ok());
    assert_eq!(b.cmd(&["SET", k1, "other"]), Resp::ok());
    assert_eq!(a.cmd(&["MULTI"]), Resp::ok());
    assert_eq!(a.cmd(&["SET", k1, "mine"]), Resp::queued());
    assert_eq!(a.cmd(&["EXEC"]), arr(vec![Resp::ok()]));
    assert_eq!(b.cmd(&["GET", k1]), Resp::bulk("mine"));

    // DISCARD clears the watches.
    assert_eq!(a.cmd(&["WATCH", k2]), Resp::ok());
    assert_eq!(a.cmd(&["MULTI"]), Resp::ok());
    assert_eq!(a.cmd(&["DISCARD"]), Resp::ok());
    assert_eq!(b.cmd(&["SET", k2, "other"]), Resp::ok());
    assert_eq!(a.cmd(&["MULTI"]), Resp::ok());
    assert_eq!(a.cmd(&["GET", k2]), Resp::queued());
    assert_eq!(a.cmd(&["EXEC"]), arr(vec![Resp::bulk("other")]));

    // FLUSHALL by another client fails a watched EXEC (the key existed).
    for key in [k0, k1, k2] {
        assert_eq!(a.cmd(&["SET", key, "f0"]), Resp::ok());
        assert_eq!(a.cmd(&["WATCH", key]), Resp::ok());
        assert_eq!(b.cmd(&["FLUSHALL"]), Resp::ok());
        assert_eq!(a.cmd(&["MULTI"]), Resp::ok());
        assert_eq!(a.cmd(&["SET", key, "f1"]), Resp::queued());
        assert_eq!(
            a.cmd(&["EXEC"]),
            Resp::Array(None),
            "watched {key}, FLUSHALL by another client"
        );
        assert_eq!(a.cmd(&["EXISTS", key]), Resp::Int(0));
    }

    // SELECT inside MULTI: the queued commands after it use the new db, and the
    // connection stays in that db after EXEC.
    assert_eq!(a.cmd(&["SET", k0, "db0"]), Resp::ok());
    assert_eq!(a.cmd(&["MULTI"]), Resp::ok());
    assert_eq!(a.cmd(&["SELECT", "1"]), Resp::queued());
    assert_eq!(a.cmd(&["SET", k0, "db1"]), Resp::queued());
    assert_eq!(a.cmd(&["SET", k1, "db1"]), Resp::queued());
    assert_eq!(a.cmd(&["GET", k0]), Resp::queued());
    assert_eq!(
        a.cmd(&["EXEC"]),
        arr(vec![Resp::ok(), Resp::ok(), Resp::ok(), Resp::bulk("db1")])
    );
    assert_eq!(
        a.cmd(&["GET", k0]),
        Resp::bulk("db1"),
        "still in db 1 after EXEC"
    );
    assert_eq!(
        b.cmd(&["MGET", k0, k1]),
        arr(vec![Resp::bulk("db0"), Resp::Bulk(None)])
    );
    assert_eq!(b.cmd(&["SELECT", "1"]), Resp::ok());
    assert_eq!(
        b.cmd(&["MGET", k0, k1]),
        arr(vec![Resp::bulk("db1"), Resp::bulk("db1")])
    );
    assert_eq!(b.cmd(&["SELECT", "0"]), Resp::ok());
    // WATCH is per database: a change to the same name in db 0 does not fail a watch
    // taken in db 1.
    assert_eq!(a.cmd(&["WATCH", k0]), Resp::ok());
    assert_eq!(b.cmd(&["SET", k0, "db0-again"]), Resp::ok());
    assert_eq!(a.cmd(&["MULTI"]), Resp::ok());
    assert_eq!(a.cmd(&["GET", k0]), Resp::queued());
    assert_eq!(a.cmd(&["EXEC"]), arr(vec![Resp::bulk("db1")]));
    assert_eq!(a.cmd(&["SELECT", "0"]), Resp::ok());

    // RESP3: a failed EXEC is a null (`_`).
    let h = a.cmd(&["HELLO", "3"]);
    assert!(matches!(h, Resp::Map(_)), "HELLO 3 gave {h:?}");
    assert_eq!(a.cmd(&["WATCH", k2]), Resp::ok());
    assert_eq!(b.cmd(&["SET", k2, "r3"]), Resp::ok());
    assert_eq!(a.cmd(&["MULTI"]), Resp::ok());
    assert_eq!(a.cmd(&["GET", k2]), Resp::queued());
    assert_eq!(a.cmd(&["EXEC"]), Resp::Null);
}

/// The expectations themselves, against the real redis-server.
#[test]
fn tx_semantics_real_redis() {
    let redis = RedisServer::start_tcp(&[]);
    tx_semantics(redis.port());
}

#[test]
fn tx_semantics_threads_1() {
    let srv = start("1");
    tx_semantics(srv.port);
}

#[test]
fn tx_semantics_threads_3() {
    let srv = start("3");
    tx_semantics(srv.port);
}

// ---------------------------------------------------------------------------
// Cross-shard multi-key commands are atomic under concurrency
// ---------------------------------------------------------------------------

type Worker<'a> = Box<dyn FnOnce(&mut RawConn, &Ctl) -> usize + Send + 'a>;

fn rename_ping_pong(threads: &str) {
    let srv = start(threads);
    let ka = key_on_shard("rn", 0, 3);
    let kb = key_on_shard("rn", 1, 3);
    let mut c = RawConn::connect(srv.port);
    assert_eq!(c.cmd(&["SET", &ka, "payload"]), Resp::ok());
    let ctl = Ctl::new();
    let (ka, kb) = (&ka, &kb);
    let no_such = Resp::err("ERR no such key");
    let no_such = &no_such;
    let movers: Vec<Worker> = [(ka, kb), (kb, ka)]
        .into_iter()
        .map(|(from, to)| -> Worker {
            Box::new(move |c: &mut RawConn, ctl: &Ctl| {
                let mut ok = 0;
                for _ in 0..ROUNDS {
                    if !ctl.writing() {
                        break;
                    }
                    let r = c.cmd(&["RENAME", from, to]);
                    if r == Resp::ok() {
                        ok += 1;
                    } else if &r != no_such {
                        panic!("RENAME {from} {to} replied {r:?}");
                    }
                }
                ok
            })
        })
        .collect();
    let readers: Vec<Worker> = (0..3)
        .map(|i| -> Worker {
            Box::new(move |c: &mut RawConn, ctl: &Ctl| {
                let mut n = 0;
                while ctl.reading(n) {
                    match i {
                        0 => {
                            let r = c.cmd(&["EXISTS", ka, kb]);
                            if r != Resp::Int(1) {
                                ctl.violation(format!("EXISTS a b = {r:?}"));
                            }
                        }
                        1 => {
                            let r = multi_exec(c, &[strs(&["EXISTS", ka]), strs(&["EXISTS", kb])]);
                            let sum: i64 =
                                r.items().unwrap_or(&[]).iter().filter_map(Resp::int).sum();
                            if sum != 1 {
                                ctl.violation(format!("MULTI EXISTS a EXISTS b EXEC = {r:?}"));
                            }
                        }
                        _ => {
                            let v = bulks(&c.cmd(&["MGET", ka, kb]));
                            let present: Vec<_> = v.iter().flatten().collect();
                            if present.len() != 1 || present[0] != "payload" {
                                ctl.violation(format!("MGET a b = {v:?}"));
                            }
                        }
                    }
                    n += 1;
                }
                n
            })
        })
        .collect();
    let (wr, rr) = run_scenario(srv.port, &ctl, movers, readers);
    ctl.assert_clean("RENAME ping-pong");
    assert!(
        wr.iter().sum::<usize>() > 0,
        "some RENAME succeeded: {wr:?}"
    );
    assert!(rr.iter().all(|&n| n > 0), "{rr:?}");
    assert_eq!(c.cmd(&["EXISTS", ka, kb]), Resp::Int(1));
}

fn copy_atomic(threads: &str) {
    let srv = start(threads);
    let src = key_on_shard("cp", 0, 3);
    let dst = key_on_shard("cp", 2, 3);
    let mut c = RawConn::connect(srv.port);
    assert_eq!(c.cmd(&["MSET", &src, "v-init", &dst, "v-init"]), Resp::ok());
    let ctl = Ctl::new();
    let (src, dst) = (&src, &dst);
    let workers: Vec<Worker> = vec![
        Box::new(move |c: &mut RawConn, ctl: &Ctl| {
            let mut n = 0;
            for r in 0..ROUNDS {
                if !ctl.writing() {
                    break;
                }
                let v = format!("v-{r}");
                assert_eq!(c.cmd(&["MSET", src, &v, dst, &v]), Resp::ok());
                n += 1;
            }
            n
        }),
        Box::new(move |c: &mut RawConn, ctl: &Ctl| {
            let mut n = 0;
            for _ in 0..ROUNDS {
                if !ctl.writing() {
                    break;
                }
                assert_eq!(c.cmd(&["COPY", src, dst, "REPLACE"]), Resp::Int(1));
                n += 1;
            }
            n
        }),
    ];
    let readers: Vec<Worker> = (0..2)
        .map(|_| -> Worker {
            Box::new(move |c: &mut RawConn, ctl: &Ctl| {
                let mut n = 0;
                while ctl.reading(n) {
                    let v = bulks(&c.cmd(&["MGET", src, dst]));
                    if v.len() != 2 || v[0] != v[1] || v[0].is_none() {
                        ctl.violation(format!("MGET src dst = {v:?}"));
                    }
                    n += 1;
                }
                n
            })
        })
        .collect();
    let (wr, rr) = run_scenario(srv.port, &ctl, workers, readers);
    ctl.assert_clean("COPY vs MSET");
    assert!(
        wr.iter().all(|&n| n > 0) && rr.iter().all(|&n| n > 0),
        "{wr:?} {rr:?}"
    );
    let v = bulks(&c.cmd(&["MGET", src, dst]));
    assert_eq!(v[0], v[1]);
}

fn msetnx_atomic(threads: &str) {
    let srv = start(threads);
    let keys: Vec<String> = (0..3).map(|s| key_on_shard("nx", s, 3)).collect();
    let ctl = Ctl::new();
    let keys = &keys;
    let workers: Vec<Worker> = (0..3)
        .map(|id| -> Worker {
            Box::new(move |c: &mut RawConn, ctl: &Ctl| {
                let mut won = 0;
                for r in 0..ROUNDS {
                    if !ctl.writing() {
                        break;
                    }
                    let v = format!("t{id}-{r}");
                    let got = c.cmd(&["MSETNX", &keys[0], &v, &keys[1], &v, &keys[2], &v]);
                    match got {
                        Resp::Int(0) => {}
                        Resp::Int(1) => {
                            won += 1;
                            // Only the winner deletes, so all three are still there.
                            let d = c.cmd(&["DEL", &keys[0], &keys[1], &keys[2]]);
                            if d != Resp::Int(3) {
                                ctl.violation(format!("DEL after a won MSETNX = {d:?}"));
                            }
                        }
                        other => panic!("MSETNX replied {other:?}"),
                    }
                }
                won
            })
        })
        .collect();
    let readers: Vec<Worker> = (0..2)
        .map(|_| -> Worker {
            Box::new(move |c: &mut RawConn, ctl: &Ctl| {
                let mut n = 0;
                while ctl.reading(n) {
                    let v = bulks(&c.cmd(&["MGET", &keys[0], &keys[1], &keys[2]]));
                    let all_none = v.iter().all(Option::is_none);
                    let all_same = v.len() == 3 && v[0].is_some() && v.iter().all(|x| x == &v[0]);
                    if !(all_none || all_same) {
                        ctl.violation(format!("MGET = {v:?}"));
                    }
                    n += 1;
                }
                n
            })
        })
        .collect();
    let (wr, rr) = run_scenario(srv.port, &ctl, workers, readers);
    ctl.assert_clean("MSETNX / DEL");
    assert!(wr.iter().sum::<usize>() > 0, "some MSETNX won: {wr:?}");
    assert!(rr.iter().all(|&n| n > 0), "{rr:?}");
}

fn bitop_atomic(threads: &str) {
    let srv = start(threads);
    let s1 = key_on_shard("bo", 0, 3);
    let s2 = key_on_shard("bo", 1, 3);
    let dest = key_on_shard("bo", 2, 3);
    let val = |r: usize| {
        format!(
            "{:016x}",
            (r as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        )
    };
    let mut c = RawConn::connect(srv.port);
    assert_eq!(c.cmd(&["MSET", &s1, &val(0), &s2, &val(0)]), Resp::ok());
    let ctl = Ctl::new();
    let (s1, s2, dest) = (&s1, &s2, &dest);
    let zeros = vec![0u8; 16];
    let zeros = &zeros;
    let workers: Vec<Worker> = vec![
        Box::new(move |c: &mut RawConn, ctl: &Ctl| {
            let mut n = 0;
            for r in 1..=ROUNDS {
                if !ctl.writing() {
                    break;
                }
                let v = val(r);
                assert_eq!(c.cmd(&["MSET", s1, &v, s2, &v]), Resp::ok());
                n += 1;
            }
            n
        }),
        Box::new(move |c: &mut RawConn, ctl: &Ctl| {
            let mut n = 0;
            for _ in 0..ROUNDS {
                if !ctl.writing() {
                    break;
                }
                assert_eq!(c.cmd(&["BITOP", "XOR", dest, s1, s2]), Resp::Int(16));
                // The XOR of two equal strings is all zero bytes.
                let got = c.cmd(&["GET", dest]);
                if got != Resp::Bulk(Some(zeros.clone())) {
                    ctl.violation(format!("BITOP XOR of s1 s2 gave {got:?}"));
                }
                n += 1;
            }
            n
        }),
    ];
    let readers: Vec<Worker> = vec![Box::new(move |c: &mut RawConn, ctl: &Ctl| {
        let mut n = 0;
        while ctl.reading(n) {
            let got = c.cmd(&["GET", dest]);
            if got != Resp::Bulk(None) && got != Resp::Bulk(Some(zeros.clone())) {
                ctl.violation(format!("GET dest = {got:?}"));
            }
            n += 1;
        }
        n
    })];
    let (wr, rr) = run_scenario(srv.port, &ctl, workers, readers);
    ctl.assert_clean("BITOP XOR vs MSET");
    assert!(
        wr.iter().all(|&n| n > 0) && rr.iter().all(|&n| n > 0),
        "{wr:?} {rr:?}"
    );
}

fn del_atomic(threads: &str) {
    let srv = start(threads);
    let keys: Vec<String> = (0..3).map(|s| key_on_shard("dl", s, 3)).collect();
    let ctl = Ctl::new();
    let keys = &keys;
    let workers: Vec<Worker> = vec![
        Box::new(move |c: &mut RawConn, ctl: &Ctl| {
            let mut n = 0;
            for r in 0..ROUNDS {
                if !ctl.writing() {
                    break;
                }
                let v = r.to_string();
                assert_eq!(
                    c.cmd(&["MSET", &keys[0], &v, &keys[1], &v, &keys[2], &v]),
                    Resp::ok()
                );
                n += 1;
            }
            n
        }),
        Box::new(move |c: &mut RawConn, ctl: &Ctl| {
            let mut n = 0;
            for _ in 0..ROUNDS {
                if !ctl.writing() {
                    break;
                }
                let d = c.cmd(&["DEL", &keys[0], &keys[1], &keys[2]]);
                if d != Resp::Int(0) && d != Resp::Int(3) {
                    ctl.violation(format!("DEL = {d:?}"));
                }
                n += 1;
            }
            n
        }),
    ];
    let readers: Vec<Worker> = (0..2)
        .map(|_| -> Worker {
            Box::new(move |c: &mut RawConn, ctl: &Ctl| {
                let mut n = 0;
                while ctl.reading(n) {
                    let e = c.cmd(&["EXISTS", &keys[0], &keys[1], &keys[2]]);
                    if e != Resp::Int(0) && e != Resp::Int(3) {
                        ctl.violation(format!("EXISTS = {e:?}"));
                    }
                    n += 1;
                }
                n
            })
        })
        .collect();
    let (wr, rr) = run_scenario(srv.port, &ctl, workers, readers);
    ctl.assert_clean("DEL vs MSET");
    assert!(
        wr.iter().all(|&n| n > 0) && rr.iter().all(|&n| n > 0),
        "{wr:?} {rr:?}"
    );
}

#[test]
fn cross_shard_rename_threads_1() {
    rename_ping_pong("1");
}
#[test]
fn cross_shard_rename_threads_3() {
    rename_ping_pong("3");
}
#[test]
fn cross_shard_copy_threads_1() {
    copy_atomic("1");
}
#[test]
fn cross_shard_copy_threads_3() {
    copy_atomic("3");
}
#[test]
fn cross_shard_msetnx_threads_1() {
    msetnx_atomic("1");
}
#[test]
fn cross_shard_msetnx_threads_3() {
    msetnx_atomic("3");
}
#[test]
fn cross_shard_bitop_threads_1() {
    bitop_atomic("1");
}
#[test]
fn cross_shard_bitop_threads_3() {
    bitop_atomic("3");
}
#[test]
fn cross_shard_del_threads_1() {
    del_atomic("1");
}
#[test]
fn cross_shard_del_threads_3() {
    del_atomic("3");
}
