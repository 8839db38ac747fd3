//! Configuration loading and CONFIG commands, authentication, protected mode, shutdown
//! and the start-up "Ready" line. Error texts and file formats are compared with what
//! redis-server 7.0 does for the same input (the same check functions run on both).

mod common;
mod rawresp;

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{RedisServer, TempDir, TestServer};
use rawresp::{RawConn, Resp};

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn config_get(c: &mut RawConn, name: &str) -> Option<String> {
    match c.cmd(&["CONFIG", "GET", name]) {
        Resp::Array(Some(v)) if v.len() == 2 => v[1].text(),
        Resp::Array(Some(v)) if v.is_empty() => None,
        other => panic!("CONFIG GET {name}: {other:?}"),
    }
}

/// `field:value` from an INFO section.
fn info_field(c: &mut RawConn, section: &str, field: &str) -> Option<String> {
    let text = c.cmd(&["INFO", section]).text().expect("INFO text");
    text.lines().find_map(|l| {
        l.strip_prefix(&format!("{field}:"))
            .map(|v| v.trim().to_string())
    })
}

fn info_lines(c: &mut RawConn, section: &str) -> Vec<String> {
    let text = c.cmd(&["INFO", section]).text().expect("INFO text");
    text.lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

/// Runs a server binary that is expected to exit quickly; returns (exit code, stdout +
/// stderr). Killed and reported if it is still running after 20 s.
fn run_to_exit(program: &str, args: &[&str]) -> (Option<i32>, String) {
    let dir = TempDir::new("run");
    let mut child = Command::new(program)
        .args(args)
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {program}: {e}"));
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match child.try_wait().unwrap() {
            Some(_) => break,
            None if Instant::now() > deadline => {
                let _ = child.kill();
                let out = child.wait_with_output().unwrap();
                panic!(
                    "{program} {args:?} still running after 20 s; output:\n{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

const TESSERA: &str = env!("CARGO_BIN_EXE_tessera-server");

// ---------------------------------------------------------------------------
// Loading a config file
// ---------------------------------------------------------------------------

const EXTRA_CONF: &str = "# included file\n\
databases 8\n\
timeout 30\n\
maxmemory-policy \"allkeys-lru\"\n";

fn main_conf(include: &Path, threads_line: &str) -> String {
    format!(
        "# Main test config\n\
port 6399\n\
include {}\n\
\n\
maxmemory 100mb\n\
hz 15\n\
dbfilename \"my dump.rdb\"\n\
slowlog-log-slower-than '5000'\n\
{threads_line}",
        include.display()
    )
}

const COMPARED: &[&str] = &[
    "maxmemory",
    "maxmemory-policy",
    "databases",
    "timeout",
    "hz",
    "dbfilename",
    "slowlog-log-slower-than",
];

fn config_file(file_threads: &str, arg_threads: &str) {
    let dir = TempDir::new("conf");
    let extra = write(&dir, "extra.conf", EXTRA_CONF);
    let conf = write(
        &dir,
        "main.conf",
        &main_conf(&extra, &format!("threads {file_threads}\n")),
    );
    let srv = TestServer::start_with_file(&conf, &["--threads", arg_threads]);
    let mut c = RawConn::connect(srv.port);
    assert_eq!(
        config_get(&mut c, "maxmemory").as_deref(),
        Some("104857600")
    );
    assert_eq!(
        config_get(&mut c, "maxmemory-policy").as_deref(),
        Some("allkeys-lru")
    );
    assert_eq!(config_get(&mut c, "databases").as_deref(), Some("8"));
    assert_eq!(config_get(&mut c, "timeout").as_deref(), Some("30"));
    assert_eq!(config_get(&mut c, "hz").as_deref(), Some("15"));
    assert_eq!(
        config_get(&mut c, "dbfilename").as_deref(),
        Some("my dump.rdb")
    );
    assert_eq!(
        config_get(&mut c, "slowlog-log-slower-than").as_deref(),
        Some("5000")
    );
    // Command-line arguments override the file: the harness's `--port 0` (Tessera picks
    // an ephemeral port for 0) wins over the file's `port 6399`.
    assert_eq!(config_get(&mut c, "port").as_deref(), Some("0"));
    assert_eq!(
        info_field(&mut c, "server", "tcp_port"),
        Some(srv.port.to_string())
    );
    assert_ne!(srv.port, 6399);
    assert_eq!(config_get(&mut c, "threads").as_deref(), Some(arg_threads));
    assert_eq!(
        info_field(&mut c, "server", "shards").as_deref(),
        Some(arg_threads)
    );
    assert_eq!(
        info_field(&mut c, "memory", "maxmemory").as_deref(),
        Some("104857600")
    );
    assert_eq!(
        info_field(&mut c, "server", "config_file").as_deref(),
        Some(conf.to_str().unwrap())
    );
    assert_eq!(c.cmd(&["SELECT", "7"]), Resp::ok());
    assert_eq!(
        c.cmd(&["SELECT", "8"]),
        Resp::err("ERR DB index is out of range")
    );

    // redis-server reads the same file (minus the Tessera-only `threads` line) to the
    // same values.
    let rconf = write(&dir, "redis.conf", &main_conf(&extra, ""));
    let r = RedisServer::start_tcp(&[rconf.to_str().unwrap()]);
    let mut rc = RawConn::connect(r.port());
    let mut c = RawConn::connect(srv.port);
    for name in COMPARED {
        assert_eq!(
            config_get(&mut c, name),
            config_get(&mut rc, name),
            "CONFIG GET {name}"
        );
    }
}

#[test]
fn config_file_include_units_quotes_args_override() {
    config_file("1", "3");
}

#[test]
fn config_file_args_override_threads_down() {
    config_file("3", "1");
}

// ---------------------------------------------------------------------------
// Fatal config errors
// ---------------------------------------------------------------------------

/// The three lines after redis-server's "*** FATAL CONFIG FILE ERROR" header.
fn fatal_block(out: &str) -> Vec<String> {
    let lines: Vec<&str> = out.lines().collect();
    let i = lines
        .iter()
        .position(|l| l.contains("*** FATAL CONFIG FILE ERROR"))
        .unwrap_or_else(|| panic!("no FATAL CONFIG FILE ERROR in:\n{out}"));
    lines[i + 1..(i + 4).min(lines.len())]
        .iter()
        .map(|l| l.to_string())
        .collect()
}

fn bad_config(
    name: &str,
    text: &str,
    extra_args: &[&str],
    want_line: usize,
    want_msg: &str,
) -> Option<String> {
    let dir = TempDir::new("badconf");
    let inc = write(&dir, "inc.conf", "# included\nbogus-included-directive 1\n");
    let text = text.replace("@INC@", inc.to_str().unwrap());
    let conf = write(&dir, "bad.conf", &text);
    let mut args = vec![conf.to_str().unwrap(), "--port", "0"];
    args.extend_from_slice(extra_args);
    let (rcode, rout) = run_to_exit("redis-server", &args);
    assert!(
        rcode.is_some_and(|c| c != 0),
        "redis-server accepted {name}: {rout}"
    );
    let want = fatal_block(&rout);
    assert!(
        want[0] == format!("Reading the configuration file, at line {want_line}")
            && want[2] == want_msg,
        "redis-server's answer to {name} is not what this test expects: {want:?}"
    );
    let (code, out) = run_to_exit(TESSERA, &args);
    let mut problems = Vec::new();
    if !code.is_some_and(|c| c != 0) {
        problems.push(format!("exit code {code:?}, expected non-zero"));
    }
    let got: Vec<&str> = out.lines().collect();
    for line in &want {
        if !got.iter().any(|g| g == line) {
            problems.push(format!("missing line {line:?}"));
        }
    }
    if problems.is_empty() {
        None
    } else {
        Some(format!(
            "{name}: {}; redis-server printed {want:?}; tessera printed:\n{out}",
            problems.join(", ")
        ))
    }
}

#[test]
fn fatal_config_errors_match_redis() {
    let cases: Vec<(&str, &str, Vec<&str>, usize, &str)> = vec![
        (
            "unknown directive",
            "# comment\nport 7000\nfoobar yes\n",
            vec![],
            3,
            "Bad directive or wrong number of arguments",
        ),
        (
            "maxmemory abc",
            "maxmemory abc\n",
            vec![],
            1,
            "argument must be a memory value",
        ),
        (
            "protected-mode maybe",
            "# x\nprotected-mode maybe\n",
            vec![],
            2,
            "argument must be 'yes' or 'no'",
        ),
        (
            "wrong number of arguments",
            "hz 10 20\n",
            vec![],
            1,
            "wrong number of arguments",
        ),
        (
            "save with odd arguments",
            "save 900 1 300\n",
            vec![],
            1,
            "Invalid save parameters",
        ),
        (
            "unbalanced quotes",
            "maxmemory 1mb\ndbfilename \"abc\n",
            vec![],
            2,
            "Unbalanced quotes in configuration line",
        ),
        (
            "bad value on the command line",
            "hz 11\n",
            vec!["--maxmemory", "abc"],
            4,
            "argument must be a memory value",
        ),
        (
            "unknown directive in an included file",
            "# main\ninclude @INC@\n",
            vec![],
            2,
            "Bad directive or wrong number of arguments",
        ),
    ];
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(name, text, args, line, msg)| bad_config(name, text, args, *line, msg))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

// ---------------------------------------------------------------------------
// Accepted but unimplemented directives
// ---------------------------------------------------------------------------

#[test]
fn unimplemented_directives_accepted_with_warning() {
    let dir = TempDir::new("unimpl");
    let conf = write(
        &dir,
        "u.conf",
        "appendonly yes\nsave 900 1\nmaxmemory 10mb\n",
    );
    let srv = TestServer::start_with_file(&conf, &["--threads", "3"]);
    let mut c = RawConn::connect(srv.port);
    assert_eq!(config_get(&mut c, "appendonly").as_deref(), Some("yes"));
    assert_eq!(config_get(&mut c, "save").as_deref(), Some("900 1"));
    assert_eq!(config_get(&mut c, "maxmemory").as_deref(), Some("10485760"));
    assert_eq!(c.cmd(&["SET", "k", "v"]), Resp::ok());
    let log = srv.log();
    let warning = |name: &str| {
        log.iter()
            .any(|l| l.contains(" # ") && l.contains(&format!("'{name}'")))
    };
    assert!(
        warning("appendonly"),
        "no WARNING line naming appendonly:\n{}",
        log.join("\n")
    );
    assert!(
        warning("save"),
        "no WARNING line naming save:\n{}",
        log.join("\n")
    );
    assert!(
        !warning("maxmemory"),
        "maxmemory is implemented:\n{}",
        log.join("\n")
    );
}

// ---------------------------------------------------------------------------
// CONFIG SET / REWRITE / RESETSTAT
// ---------------------------------------------------------------------------

fn config_set(port: u16) {
    let mut c = RawConn::connect(port);
    let unchanged = |c: &mut RawConn| {
        assert_eq!(config_get(c, "maxmemory").as_deref(), Some("0"));
        assert_eq!(config_get(c, "hz").as_deref(), Some("10"));
        assert_eq!(
            config_get(c, "maxmemory-policy").as_deref(),
            Some("noeviction")
        );
    };
    unchanged(&mut c);
    let bad: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["maxmemory", "10mb", "hz", "abc"],
            "ERR CONFIG SET failed (possibly related to argument 'hz') - argument couldn't be parsed into an integer",
        ),
        (
            vec!["maxmemory", "10mb", "foo", "1"],
            "ERR Unknown option or number of arguments for CONFIG SET - 'foo'",
        ),
        (
            vec!["maxmemory", "10mb", "maxmemory-policy", "allkeys-lru", "maxmemory", "20mb"],
            "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - duplicate parameter",
        ),
        (
            vec!["maxmemory", "10mb", "protected-mode", "maybe"],
            "ERR CONFIG SET failed (possibly related to argument 'protected-mode') - argument must be 'yes' or 'no'",
        ),
        (
            vec!["hz", "20", "maxmemory-policy", "sometimes"],
            "ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction",
        ),
        (
            vec!["maxmemory", "10mb", "databases", "5"],
            "ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config",
        ),
        (vec!["maxmemory"], "ERR wrong number of arguments for 'config|set' command"),
        // An odd number of arguments (past the arity check) is a syntax error in 7.0.
        (vec!["maxmemory", "10mb", "hz"], "ERR syntax error"),
    ];
    // Mismatches are collected so that one wrong text does not hide later checks.
    let mut problems = Vec::new();
    for (pairs, err) in bad {
        let mut args = vec!["CONFIG", "SET"];
        args.extend(pairs.iter());
        let got = c.cmd(&args);
        if got != Resp::err(err) {
            problems.push(format!(
                "CONFIG SET {pairs:?}: expected {err:?}, got {got:?}"
            ));
        }
        unchanged(&mut c);
    }
    assert_eq!(
        c.cmd(&[
            "CONFIG",
            "SET",
            "maxmemory",
            "50mb",
            "hz",
            "20",
            "maxmemory-policy",
            "allkeys-lru"
        ]),
        Resp::ok()
    );
    assert_eq!(config_get(&mut c, "maxmemory").as_deref(), Some("52428800"));
    assert_eq!(config_get(&mut c, "hz").as_deref(), Some("20"));
    assert_eq!(
        config_get(&mut c, "maxmemory-policy").as_deref(),
        Some("allkeys-lru")
    );
    assert_eq!(
        info_field(&mut c, "memory", "maxmemory").as_deref(),
        Some("52428800")
    );
    assert_eq!(
        info_field(&mut c, "memory", "maxmemory_policy").as_deref(),
        Some("allkeys-lru")
    );
    assert_eq!(info_field(&mut c, "server", "hz").as_deref(), Some("20"));
    // maxmemory is enforced: with 1 byte and noeviction, writes that may grow are refused.
    assert_eq!(
        c.cmd(&[
            "CONFIG",
            "SET",
            "maxmemory",
            "1",
            "maxmemory-policy",
            "noeviction"
        ]),
        Resp::ok()
    );
    // Straight after CONFIG SET, for keys on every shard.
    let keys = rawresp::spread_keys("oom", 3);
    for k in &keys {
        let got = c.cmd(&["SET", k, "v"]);
        let want = Resp::err("OOM command not allowed when used memory > 'maxmemory'.");
        if got != want {
            problems.push(format!(
                "SET {k} (shard {} of 3) right after CONFIG SET maxmemory 1: expected {want:?}, got {got:?}",
                rawresp::shard_of(k, 3)
            ));
        }
    }
    assert_eq!(c.cmd(&["CONFIG", "SET", "maxmemory", "0"]), Resp::ok());
    for k in &keys {
        assert_eq!(c.cmd(&["SET", k, "v"]), Resp::ok());
    }
    assert_eq!(
        info_field(&mut c, "memory", "maxmemory").as_deref(),
        Some("0")
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn config_set_real_redis() {
    let r = RedisServer::start_tcp(&[]);
    config_set(r.port());
}

#[test]
fn config_set_threads_1() {
    let srv = TestServer::start(&["--threads", "1"]);
    config_set(srv.port);
}

#[test]
fn config_set_threads_3() {
    let srv = TestServer::start(&["--threads", "3"]);
    config_set(srv.port);
}

const REWRITE_CONF: &str = "# Top comment\n\
# another comment\n\
maxmemory 100mb\n\
\n\
# hz comment\n\
hz 15\n\
timeout 5\n";

/// CONFIG SET + CONFIG REWRITE; returns the rewritten file.
fn rewrite(port: u16, conf: &Path) -> String {
    let mut c = RawConn::connect(port);
    assert_eq!(
        c.cmd(&[
            "CONFIG",
            "SET",
            "maxmemory",
            "200mb",
            "hz",
            "25",
            "maxmemory-policy",
            "allkeys-lfu"
        ]),
        Resp::ok()
    );
    assert_eq!(c.cmd(&["CONFIG", "REWRITE"]), Resp::ok());
    std::fs::read_to_string(conf).unwrap()
}

#[test]
fn config_rewrite_keeps_comments() {
    let dir = TempDir::new("rewrite");
    let rconf = write(&dir, "redis.conf", REWRITE_CONF);
    let tconf = write(&dir, "tessera.conf", REWRITE_CONF);
    let r = RedisServer::start_tcp(&[rconf.to_str().unwrap()]);
    let want = rewrite(r.port(), &rconf);
    let srv = TestServer::start_with_file(&tconf, &["--threads", "3"]);
    let got = rewrite(srv.port, &tconf);
    // The original part of the file: comments, blank line and order kept, values new.
    let head: Vec<&str> = got.lines().take(7).collect();
    assert_eq!(
        head,
        [
            "# Top comment",
            "# another comment",
            "maxmemory 200mb",
            "",
            "# hz comment",
            "hz 25",
            "timeout 5"
        ],
        "rewritten file:\n{got}"
    );
    assert_eq!(
        head,
        want.lines().take(7).collect::<Vec<_>>(),
        "redis-server wrote:\n{want}"
    );
    assert!(got.contains("\n# Generated by CONFIG REWRITE\n"), "{got}");
    assert!(
        got.lines().any(|l| l == "maxmemory-policy allkeys-lfu"),
        "{got}"
    );
    assert!(
        want.lines().any(|l| l == "maxmemory-policy allkeys-lfu"),
        "{want}"
    );
    assert_eq!(got.matches("maxmemory 200mb").count(), 1, "{got}");
    // The rewritten file loads back to the same values (the first server stays up: the
    // file names its working directory, which goes away with it).
    let srv2 = TestServer::start_with_file(&tconf, &["--threads", "1"]);
    let mut c = RawConn::connect(srv2.port);
    assert_eq!(
        config_get(&mut c, "maxmemory").as_deref(),
        Some("209715200")
    );
    assert_eq!(config_get(&mut c, "hz").as_deref(), Some("25"));
    assert_eq!(
        config_get(&mut c, "maxmemory-policy").as_deref(),
        Some("allkeys-lfu")
    );
    assert_eq!(config_get(&mut c, "timeout").as_deref(), Some("5"));
}

fn resetstat(port: u16) {
    let mut c = RawConn::connect(port);
    assert_eq!(c.cmd(&["SET", "a", "x"]), Resp::ok());
    assert_eq!(c.cmd(&["GET", "a"]), Resp::bulk("x"));
    assert_eq!(c.cmd(&["GET", "nokey"]), Resp::Bulk(None));
    assert_eq!(
        c.cmd(&["INCR", "a"]),
        Resp::err("ERR value is not an integer or out of range")
    );
    assert!(matches!(c.cmd(&["NOSUCHCMD"]), Resp::Error(_)));
    let num = |c: &mut RawConn, f: &str| -> i64 {
        info_field(c, "stats", f)
            .unwrap_or_else(|| panic!("no {f}"))
            .parse()
            .unwrap()
    };
    assert!(num(&mut c, "total_commands_processed") >= 4);
    assert!(num(&mut c, "keyspace_hits") >= 1);
    assert!(num(&mut c, "keyspace_misses") >= 1);
    assert!(num(&mut c, "total_error_replies") >= 2);
    assert!(info_lines(&mut c, "errorstats").len() > 1);
    assert_eq!(c.cmd(&["CONFIG", "RESETSTAT"]), Resp::ok());
    let mut wrong = Vec::new();
    for (f, v) in [
        ("total_commands_processed", 1),
        ("total_connections_received", 0),
        ("keyspace_hits", 0),
        ("keyspace_misses", 0),
        ("total_error_replies", 0),
        ("expired_keys", 0),
        ("evicted_keys", 0),
        ("rejected_connections", 0),
    ] {
        let got = num(&mut c, f);
        if got != v {
            wrong.push(format!("{f}: expected {v}, got {got}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "INFO stats after CONFIG RESETSTAT: {wrong:?}"
    );
    assert_eq!(info_lines(&mut c, "errorstats"), ["# Errorstats"]);
    let cmdstats = info_lines(&mut c, "commandstats");
    let names: Vec<&str> = cmdstats
        .iter()
        .skip(1)
        .map(|l| l.split(':').next().unwrap())
        .collect();
    assert!(
        !names.contains(&"cmdstat_get")
            && !names.contains(&"cmdstat_set")
            && !names.contains(&"cmdstat_incr"),
        "commandstats after RESETSTAT: {cmdstats:?}"
    );
    // The data is untouched.
    assert_eq!(c.cmd(&["GET", "a"]), Resp::bulk("x"));
}

#[test]
fn config_resetstat_real_redis() {
    let r = RedisServer::start_tcp(&[]);
    resetstat(r.port());
}

#[test]
fn config_resetstat_threads_1() {
    let srv = TestServer::start(&["--threads", "1"]);
    resetstat(srv.port);
}

#[test]
fn config_resetstat_threads_3() {
    let srv = TestServer::start(&["--threads", "3"]);
    resetstat(srv.port);
}

// ---------------------------------------------------------------------------
// requirepass
// ---------------------------------------------------------------------------

const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

fn requirepass(port: u16) {
    let mut c = RawConn::connect(port);
    assert_eq!(
        c.cmd(&["GET", "a"]),
        Resp::err("NOAUTH Authentication required.")
    );
    assert_eq!(
        c.cmd(&["PING"]),
        Resp::err("NOAUTH Authentication required.")
    );
    assert_eq!(
        c.cmd(&["SET", "a", "1"]),
        Resp::err("NOAUTH Authentication required.")
    );
    assert_eq!(c.cmd(&["AUTH", "wrong"]), Resp::err(WRONGPASS));
    assert_eq!(c.cmd(&["AUTH", "default", "wrong"]), Resp::err(WRONGPASS));
    assert_eq!(c.cmd(&["AUTH", "nobody", "s3cret"]), Resp::err(WRONGPASS));
    assert_eq!(
        c.cmd(&["AUTH", "a", "b", "c"]),
        Resp::err("ERR syntax error")
    );
    assert_eq!(
        c.cmd(&["GET", "a"]),
        Resp::err("NOAUTH Authentication required.")
    );
    assert_eq!(c.cmd(&["AUTH", "s3cret"]), Resp::ok());
    assert_eq!(c.cmd(&["SET", "a", "1"]), Resp::ok());
    assert_eq!(c.cmd(&["GET", "a"]), Resp::bulk("1"));
    assert_eq!(config_get(&mut c, "requirepass").as_deref(), Some("s3cret"));
    // A wrong AUTH after a good one does not log the client out.
    assert_eq!(c.cmd(&["AUTH", "wrong"]), Resp::err(WRONGPASS));
    assert_eq!(c.cmd(&["GET", "a"]), Resp::bulk("1"));
    // The two-argument form.
    let mut d = RawConn::connect(port);
    assert_eq!(d.cmd(&["AUTH", "default", "s3cret"]), Resp::ok());
    assert_eq!(d.cmd(&["GET", "a"]), Resp::bulk("1"));
    // HELLO 3 AUTH default pw.
    let mut e = RawConn::connect(port);
    match e.cmd(&["HELLO", "3", "AUTH", "default", "s3cret"]) {
        Resp::Map(m) => {
            assert!(m.contains(&(Resp::bulk("proto"), Resp::Int(3))), "{m:?}");
        }
        other => panic!("HELLO 3 AUTH: {other:?}"),
    }
    assert_eq!(e.cmd(&["GET", "a"]), Resp::bulk("1"));
    assert_eq!(e.cmd(&["GET", "nokey"]), Resp::Null);
    let mut f = RawConn::connect(port);
    assert_eq!(
        f.cmd(&["HELLO", "3", "AUTH", "default", "nope"]),
        Resp::err(WRONGPASS)
    );
    assert_eq!(
        f.cmd(&["GET", "a"]),
        Resp::err("NOAUTH Authentication required.")
    );
}

#[test]
fn requirepass_real_redis() {
    let r = RedisServer::start_tcp(&["--requirepass", "s3cret"]);
    requirepass(r.port());
}

#[test]
fn requirepass_threads_1() {
    let srv = TestServer::start(&["--threads", "1", "--requirepass", "s3cret"]);
    requirepass(srv.port);
}

#[test]
fn requirepass_threads_3() {
    let srv = TestServer::start(&["--threads", "3", "--requirepass", "s3cret"]);
    requirepass(srv.port);
}

fn auth_without_password(port: u16) {
    let mut c = RawConn::connect(port);
    assert_eq!(
        c.cmd(&["AUTH", "x"]),
        Resp::err("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?")
    );
    assert_eq!(c.cmd(&["AUTH", "default", "anything"]), Resp::ok());
}

#[test]
fn auth_without_password_real_redis() {
    let r = RedisServer::start_tcp(&[]);
    auth_without_password(r.port());
}

#[test]
fn auth_without_password_tessera() {
    let srv = TestServer::start(&["--threads", "3"]);
    auth_without_password(srv.port);
}

// ---------------------------------------------------------------------------
// Protected mode (a non-loopback client from a network namespace)
// ---------------------------------------------------------------------------

/// A network namespace joined to this machine's namespace by a veth pair, with a /30
/// from 10.251.0.0/16 picked for it: the host end gets .1, the namespace end .2.
struct NetNs {
    name: String,
    host_if: String,
    host_ip: String,
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("ip {args:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {args:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl NetNs {
    fn create() -> Result<NetNs, String> {
        let pid = std::process::id();
        let used = Command::new("ip")
            .args(["-o", "addr"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .map_err(|e| format!("ip -o addr: {e}"))?;
        let mut n = pid % 16384;
        let (host_ip, ns_ip) = loop {
            let (a, b) = (n / 64, (n % 64) * 4);
            let host = format!("10.251.{a}.{}", b + 1);
            if !used.contains(&format!("inet {host}/")) {
                break (host, format!("10.251.{a}.{}", b + 2));
            }
            n = (n + 1) % 16384;
        };
        let ns = NetNs {
            name: format!("tsr{pid}"),
            host_if: format!("tsr{pid}h"),
            host_ip,
        };
        let peer = format!("tsr{pid}n");
        ip(&["netns", "add", &ns.name])?;
        ip(&[
            "link",
            "add",
            &ns.host_if,
            "type",
            "veth",
            "peer",
            "name",
            &peer,
        ])?;
        ip(&["link", "set", &peer, "netns", &ns.name])?;
        ip(&[
            "addr",
            "add",
            &format!("{}/30", ns.host_ip),
            "dev",
            &ns.host_if,
        ])?;
        ip(&["link", "set", &ns.host_if, "up"])?;
        ip(&[
            "netns",
            "exec",
            &ns.name,
            "ip",
            "addr",
            "add",
            &format!("{ns_ip}/30"),
            "dev",
            &peer,
        ])?;
        ip(&["netns", "exec", &ns.name, "ip", "link", "set", &peer, "up"])?;
        ip(&["netns", "exec", &ns.name, "ip", "link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// Connects to `addr` from inside the namespace (a thread joins it with setns; the
    /// socket keeps the namespace it was made in).
    fn connect(&self, addr: String) -> std::io::Result<TcpStream> {
        let path = format!("/var/run/netns/{}", self.name);
        std::thread::spawn(move || -> std::io::Result<TcpStream> {
            let f = std::fs::File::open(&path)?;
            use std::os::fd::AsRawFd;
            if unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                return Err(std::io::Error::last_os_error());
            }
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                match TcpStream::connect_timeout(&addr.parse().unwrap(), Duration::from_secs(5)) {
                    Ok(s) => return Ok(s),
                    Err(e) if Instant::now() > deadline => return Err(e),
                    // The veth link may take a moment to come up.
                    Err(_) => std::thread::sleep(Duration::from_millis(50)),
                }
            }
        })
        .join()
        .expect("netns connect thread")
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let _ = ip(&["link", "del", &self.host_if]);
        let _ = ip(&["netns", "del", &self.name]);
    }
}

/// What a client in the namespace receives (it sends nothing) until the server closes.
fn from_ns(ns: &NetNs, port: u16) -> rawresp::Drained {
    let s = ns
        .connect(format!("{}:{port}", ns.host_ip))
        .expect("connect from the namespace");
    let mut c = RawConn::from_stream(s);
    c.drain(Duration::from_secs(10))
}

#[test]
fn protected_mode() {
    let ns = match NetNs::create() {
        Ok(ns) => Some(ns),
        Err(e) => {
            eprintln!("NOTE: cannot make a network namespace ({e}); the DENIED path is UNTESTED");
            None
        }
    };
    // Loopback clients are always accepted.
    for threads in ["1", "3"] {
        let srv = TestServer::start(&["--threads", threads, "--protected-mode", "yes"]);
        let mut c = RawConn::connect(srv.port);
        assert_eq!(c.cmd(&["PING"]), Resp::Simple("PONG".into()));
        assert_eq!(config_get(&mut c, "protected-mode").as_deref(), Some("yes"));
    }
    let Some(ns) = ns else { return };
    let bind = format!("127.0.0.1 {}", ns.host_ip);
    let r = RedisServer::start_tcp(&["--bind", &bind, "--protected-mode", "yes"]);
    let want = from_ns(&ns, r.port());
    assert!(want.closed);
    let want_text = String::from_utf8_lossy(&want.bytes).into_owned();
    assert!(
        want_text.starts_with("-DENIED Redis is running in protected mode"),
        "{want_text}"
    );
    for threads in ["1", "3"] {
        let srv = TestServer::start(&[
            "--threads",
            threads,
            "--bind",
            &bind,
            "--protected-mode",
            "yes",
        ]);
        // Several connections, so that with 3 shards more than one accepts.
        for i in 0..6 {
            let got = from_ns(&ns, srv.port);
            assert_eq!(
                (String::from_utf8_lossy(&got.bytes).into_owned(), got.closed),
                (want_text.clone(), true),
                "threads={threads}, connection {i} from a non-loopback address"
            );
        }
        // Loopback still works, and the rejections are counted.
        let mut c = RawConn::connect(srv.port);
        assert_eq!(c.cmd(&["PING"]), Resp::Simple("PONG".into()));
        assert_eq!(
            info_field(&mut c, "stats", "rejected_connections").as_deref(),
            Some("6")
        );
        drop(srv);
        // With a password, or with protected-mode off, non-loopback clients get in.
        for extra in [["--requirepass", "pw"], ["--protected-mode", "no"]] {
            let srv = TestServer::start(&[
                "--threads",
                threads,
                "--bind",
                &bind,
                "--protected-mode",
                "yes",
                extra[0],
                extra[1],
            ]);
            let s = ns.connect(format!("{}:{}", ns.host_ip, srv.port)).unwrap();
            let mut c = RawConn::from_stream(s);
            let want = if extra[0] == "--requirepass" {
                Resp::err("NOAUTH Authentication required.")
            } else {
                Resp::Simple("PONG".into())
            };
            assert_eq!(c.cmd(&["PING"]), want, "threads={threads} {extra:?}");
        }
    }
}

// ---------------------------------------------------------------------------
// SIGTERM, SHUTDOWN
// ---------------------------------------------------------------------------

fn sigterm(threads: &str) {
    let mut srv = TestServer::start(&["--threads", threads]);
    let mut c = RawConn::connect(srv.port);
    assert_eq!(c.cmd(&["SET", "k", "v"]), Resp::ok());
    let status = srv.stop();
    assert_eq!(
        status.code(),
        Some(0),
        "exit status after SIGTERM: {status:?}"
    );
    let d = c.drain(Duration::from_secs(5));
    assert!(
        d.closed && d.bytes.is_empty(),
        "client after SIGTERM: {d:?}"
    );
    assert!(
        srv.wait_for_log("Received SIGTERM", Duration::from_secs(2)),
        "{:?}",
        srv.log()
    );
    assert!(
        srv.wait_for_log("ready to exit", Duration::from_secs(2)),
        "{:?}",
        srv.log()
    );
}

#[test]
fn sigterm_threads_1() {
    sigterm("1");
}

#[test]
fn sigterm_threads_3() {
    sigterm("3");
}

/// Polls (10 s bound) until process `pid` (our child) has exited: gone or a zombie.
fn wait_exited(pid: u32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => return true,
            Ok(s) => {
                let state = s
                    .rsplit(')')
                    .next()
                    .and_then(|r| r.split_whitespace().next());
                if state == Some("Z") || state == Some("X") {
                    return true;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn shutdown_cmd(port: u16, pid: u32) {
    let mut other = RawConn::connect(port);
    assert_eq!(other.cmd(&["PING"]), Resp::Simple("PONG".into()));
    let mut c = RawConn::connect(port);
    assert_eq!(
        c.cmd(&["SHUTDOWN", "ABORT"]),
        Resp::err("ERR No shutdown in progress.")
    );
    assert_eq!(c.cmd(&["SHUTDOWN", "BOGUS"]), Resp::err("ERR syntax error"));
    c.send(&rawresp::encode_strs(&["SHUTDOWN"]));
    let d = c.drain(Duration::from_secs(10));
    assert!(d.closed, "the connection was not closed after SHUTDOWN");
    assert!(
        d.bytes.is_empty(),
        "SHUTDOWN replied {:?}",
        String::from_utf8_lossy(&d.bytes)
    );
    let d = other.drain(Duration::from_secs(10));
    assert!(d.closed, "another client was not disconnected by SHUTDOWN");
    assert!(wait_exited(pid), "the server did not exit after SHUTDOWN");
}

#[test]
fn shutdown_command_real_redis() {
    let mut r = RedisServer::start_tcp(&[]);
    shutdown_cmd(r.port(), r.pid());
    assert_eq!(r.stop().code(), Some(0));
    assert!(r.wait_for_log("User requested shutdown", Duration::from_secs(2)));
}

fn shutdown_tessera(threads: &str) {
    let mut srv = TestServer::start(&["--threads", threads]);
    shutdown_cmd(srv.port, srv.pid());
    // Already exited: stop() only reaps it.
    let status = srv.stop();
    assert_eq!(
        status.code(),
        Some(0),
        "exit status after SHUTDOWN: {status:?}"
    );
    assert!(
        srv.wait_for_log("User requested shutdown", Duration::from_secs(2)),
        "{:?}",
        srv.log()
    );
    assert!(
        srv.wait_for_log("ready to exit", Duration::from_secs(2)),
        "{:?}",
        srv.log()
    );
    assert!(!srv.log().iter().any(|l| l.contains("Received SIGTERM")));
}

#[test]
fn shutdown_command_threads_1() {
    shutdown_tessera("1");
}

#[test]
fn shutdown_command_threads_3() {
    shutdown_tessera("3");
}

// ---------------------------------------------------------------------------
// "Ready to accept connections" only once the port accepts
// ---------------------------------------------------------------------------

fn ready_means_accepting(threads: &str) {
    for attempt in 0..5 {
        let dir = TempDir::new("ready");
        let mut child = Command::new(TESSERA)
            .args(["--port", "0", "--bind", "127.0.0.1", "--threads", threads])
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn tessera-server");
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut port = None;
        let mut seen = Vec::new();
        let result = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = rx.recv_timeout(left) else {
                break Err(format!("no Ready line; output: {seen:#?}"));
            };
            if line.contains("Ready to accept connections") {
                let Some(p) = port else {
                    break Err(format!("Ready before the Running line: {seen:#?}"));
                };
                // Straight away: every connection must be accepted and served.
                let mut fails = Vec::new();
                for i in 0..8 {
                    match TcpStream::connect(("127.0.0.1", p)) {
                        Ok(s) => {
                            let mut c = RawConn::from_stream(s);
                            c.set_timeout(Duration::from_secs(10));
                            let r = c.cmd(&["PING", "ready"]);
                            if r != Resp::bulk("ready") {
                                fails.push(format!("connection {i}: {r:?}"));
                            }
                        }
                        Err(e) => fails.push(format!("connection {i}: {e}")),
                    }
                }
                break if fails.is_empty() {
                    Ok(())
                } else {
                    Err(fails.join("; "))
                };
            }
            if line.contains("Running mode=") {
                port = line
                    .split("port=")
                    .nth(1)
                    .and_then(|r| {
                        r.trim_end_matches('.')
                            .split(|c: char| !c.is_ascii_digit())
                            .next()
                    })
                    .and_then(|d| d.parse::<u16>().ok());
            }
            seen.push(line);
        };
        let _ = child.kill();
        let _ = child.wait();
        if let Err(e) = result {
            panic!("threads={threads} attempt {attempt}: {e}");
        }
    }
}

#[test]
fn ready_line_after_port_accepts_threads_1() {
    ready_means_accepting("1");
}

#[test]
fn ready_line_after_port_accepts_threads_3() {
    ready_means_accepting("3");
}
