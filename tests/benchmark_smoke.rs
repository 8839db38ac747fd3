//! redis-benchmark smoke runs against `--threads 1` and `--threads 3`: every test line is
//! reported, no command got an error reply (INFO errorstats stays empty) and the server
//! is still alive and serving afterwards.

mod common;
mod rawresp;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::TestServer;
use rawresp::{RawConn, Resp};

const BENCH_TIMEOUT: Duration = Duration::from_secs(180);

/// Runs redis-benchmark (bounded by BENCH_TIMEOUT); returns its stdout.
fn bench(port: u16, args: &[&str]) -> String {
    let port_s = port.to_string();
    let mut child = Command::new("redis-benchmark")
        .args(["-h", "127.0.0.1", "-p", &port_s])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("redis-benchmark (redis-tools) must be installed");
    // Drain stdout/stderr on threads so the child never blocks on a full pipe.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let to = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut out, &mut s);
        s
    });
    let te = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut err, &mut s);
        s
    });
    let deadline = Instant::now() + BENCH_TIMEOUT;
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break Some(st);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout = to.join().unwrap();
    let stderr = te.join().unwrap();
    match status {
        Some(st) if st.success() => stdout,
        Some(st) => panic!("redis-benchmark {args:?} exited with {st}\nstdout:\n{stdout}\nstderr:\n{stderr}"),
        None => panic!("redis-benchmark {args:?} still running after {BENCH_TIMEOUT:?}\nstdout:\n{stdout}\nstderr:\n{stderr}"),
    }
}

/// The CSV rows as (test name, rps).
fn rows(csv: &str) -> Vec<(String, f64)> {
    csv.lines()
        .filter(|l| l.starts_with('"') && !l.starts_with("\"test\""))
        .map(|l| {
            let cols: Vec<&str> = l.split("\",\"").map(|c| c.trim_matches('"')).collect();
            let rps = cols
                .get(1)
                .and_then(|r| r.parse::<f64>().ok())
                .unwrap_or(0.0);
            (cols[0].to_string(), rps)
        })
        .collect()
}

fn check_rows(csv: &str, want: &[&str]) {
    let got = rows(csv);
    for name in want {
        let row = got.iter().find(|(n, _)| n == name);
        assert!(
            row.is_some_and(|(_, rps)| *rps > 0.0),
            "no result line (or 0 rps) for {name} in:\n{csv}"
        );
    }
    assert_eq!(got.len(), want.len(), "unexpected lines in:\n{csv}");
}

fn alive(srv: &TestServer) {
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", srv.pid()))
        .expect("server process exists");
    let state = stat
        .rsplit(')')
        .next()
        .and_then(|r| r.split_whitespace().next());
    assert!(
        !matches!(state, Some("Z") | Some("X")),
        "server exited: state {state:?}"
    );
    let mut c = RawConn::connect(srv.port);
    assert_eq!(c.cmd(&["PING"]), Resp::Simple("PONG".into()));
}

fn smoke(threads: &str) {
    let srv = TestServer::start(&["--threads", threads]);
    let csv = bench(
        srv.port,
        &[
            "-q",
            "-n",
            "2000",
            "-c",
            "20",
            "-t",
            "ping_inline,ping_mbulk,set,get,incr,mset",
            "--csv",
        ],
    );
    check_rows(
        &csv,
        &[
            "PING_INLINE",
            "PING_MBULK",
            "SET",
            "GET",
            "INCR",
            "MSET (10 keys)",
        ],
    );
    let csv_p = bench(
        srv.port,
        &[
            "-q", "-n", "2000", "-c", "20", "-P", "16", "-t", "set,get", "--csv",
        ],
    );
    check_rows(&csv_p, &["SET", "GET"]);
    eprintln!("threads={threads}:\n{csv}{csv_p}");

    alive(&srv);
    let mut c = RawConn::connect(srv.port);
    let errorstats = c.cmd(&["INFO", "errorstats"]).text().unwrap();
    let lines: Vec<&str> = errorstats
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(
        lines,
        ["# Errorstats"],
        "error replies were sent during the benchmark"
    );
    let stats = c.cmd(&["INFO", "stats"]).text().unwrap();
    assert!(
        stats.lines().any(|l| l.trim() == "total_error_replies:0"),
        "{stats}"
    );
    // The benchmark's commands were all counted: 2000 each of SET/GET/INCR/MSET, plus
    // 2000 SET and GET pipelined.
    let cmdstats = c.cmd(&["INFO", "commandstats"]).text().unwrap();
    let calls = |name: &str| -> u64 {
        cmdstats
            .lines()
            .find_map(|l| l.strip_prefix(&format!("cmdstat_{name}:calls=")))
            .and_then(|r| r.split(',').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    assert_eq!(calls("set"), 4000, "{cmdstats}");
    assert_eq!(calls("get"), 4000, "{cmdstats}");
    assert_eq!(calls("incr"), 2000, "{cmdstats}");
    assert_eq!(calls("mset"), 2000, "{cmdstats}");
    // PING_INLINE + PING_MBULK, plus the PING of `alive` above.
    assert_eq!(calls("ping"), 4001, "{cmdstats}");
    // The data the benchmark wrote is readable.
    assert_eq!(c.cmd(&["GET", "counter:__rand_int__"]), Resp::bulk("2000"));
    assert_eq!(c.cmd(&["STRLEN", "key:__rand_int__"]), Resp::Int(3));
    alive(&srv);
}

#[test]
fn redis_benchmark_threads_1() {
    smoke("1");
}

#[test]
fn redis_benchmark_threads_3() {
    smoke("3");
}
