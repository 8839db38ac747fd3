//! Wire-protocol behaviour over raw TCP, with `--threads 1` and `--threads 3`: inline
//! commands, big pipelines, a 100 MB value, RESP3, malformed input (compared byte for
//! byte with what redis-server 7.0 sends for the same bytes), the query buffer limit,
//! QUIT and CLIENT REPLY.

mod common;
mod rawresp;

use std::io::Write;
use std::time::{Duration, Instant};

use common::{RedisServer, TestServer};
use rawresp::{encode_strs, exchange, spread_keys, RawConn, Resp};

fn start(threads: &str, extra: &[&str]) -> TestServer {
    let mut args = vec!["--threads", threads];
    args.extend_from_slice(extra);
    TestServer::start(&args)
}

/// Sends `bytes` plus `PING __end__` and returns everything up to that PING's reply.
fn transcript(port: u16, bytes: &[u8]) -> Vec<u8> {
    let mut c = RawConn::connect(port);
    let mut out = bytes.to_vec();
    out.extend_from_slice(b"PING __end__\r\n");
    c.send(&out);
    c.read_until(b"$7\r\n__end__\r\n", Duration::from_secs(20))
}

fn show(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(&b[..b.len().min(600)]).into_owned();
    if b.len() > 600 {
        format!("{s}...({} bytes)", b.len())
    } else {
        s
    }
}

// ---------------------------------------------------------------------------
// Inline commands
// ---------------------------------------------------------------------------

const INLINE: &[u8] = b"PING\r\n\
SET k \"a b\"\r\n\
GET k\r\n\
PING\n\
\r\n\
SET k2 \"x\\x41y\\tz\"\r\n\
GET k2\r\n\
SET k3 'it\\'s'\r\n\
GET k3\r\n\
   ECHO    spaced    \r\n\
MGET k k2 k3 nokey\r\n";

const INLINE_EXPECTED: &[u8] = b"+PONG\r\n\
+OK\r\n$3\r\na b\r\n\
+PONG\r\n\
+OK\r\n$5\r\nxAy\tz\r\n\
+OK\r\n$4\r\nit's\r\n\
$6\r\nspaced\r\n\
*4\r\n$3\r\na b\r\n$5\r\nxAy\tz\r\n$4\r\nit's\r\n$-1\r\n\
$7\r\n__end__\r\n";

#[test]
fn inline_commands_real_redis() {
    let r = RedisServer::start_tcp(&[]);
    assert_eq!(show(&transcript(r.port(), INLINE)), show(INLINE_EXPECTED));
}

fn inline_commands(threads: &str) {
    let srv = start(threads, &[]);
    let mut c = RawConn::connect(srv.port);
    c.send(b"PING\r\n");
    assert_eq!(c.read_until(b"\r\n", Duration::from_secs(10)), b"+PONG\r\n");
    assert_eq!(show(&transcript(srv.port, INLINE)), show(INLINE_EXPECTED));
    // The quoted value is stored with its space, as seen by a RESP client too.
    assert_eq!(c.cmd(&["GET", "k"]), Resp::bulk("a b"));
}

#[test]
fn inline_commands_threads_1() {
    inline_commands("1");
}

#[test]
fn inline_commands_threads_3() {
    inline_commands("3");
}

// ---------------------------------------------------------------------------
// Pipelines
// ---------------------------------------------------------------------------

fn pipeline_10k(threads: &str) {
    let srv = start(threads, &[]);
    let n = 10_000;
    let mut req = Vec::new();
    for i in 0..n {
        let cmd = match i % 4 {
            0 => encode_strs(&["SET", &format!("pk:{i}"), &format!("v{i}")]),
            1 => encode_strs(&["GET", &format!("pk:{}", i - 1)]),
            2 => encode_strs(&["INCR", "pipe-counter"]),
            _ => encode_strs(&["ECHO", &format!("e{i}")]),
        };
        req.extend(cmd);
    }
    let mut c = RawConn::connect(srv.port);
    let mut w = c.stream.try_clone().unwrap();
    let started = Instant::now();
    let writer = std::thread::spawn(move || w.write_all(&req).map(|_| ()));
    for i in 0..n {
        let got = c.read();
        let want = match i % 4 {
            0 => Resp::ok(),
            1 => Resp::bulk(&format!("v{}", i - 1)),
            2 => Resp::Int((i / 4 + 1) as i64),
            _ => Resp::bulk(&format!("e{i}")),
        };
        assert_eq!(got, want, "reply {i} of the pipeline");
    }
    writer.join().unwrap().expect("write the pipeline");
    eprintln!("threads={threads}: 10k pipeline in {:?}", started.elapsed());
    // Nothing extra was sent, and the connection still works.
    assert_eq!(c.cmd(&["PING", "after"]), Resp::bulk("after"));
    assert_eq!(
        c.cmd(&["GET", "pipe-counter"]),
        Resp::bulk(&(n / 4).to_string())
    );
}

#[test]
fn pipeline_10k_threads_1() {
    pipeline_10k("1");
}

#[test]
fn pipeline_10k_threads_3() {
    pipeline_10k("3");
}

// ---------------------------------------------------------------------------
// 100 MB value
// ---------------------------------------------------------------------------

fn big_value(threads: &str) {
    let srv = start(threads, &[]);
    let len = 100 * 1024 * 1024;
    let value: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
    let mut req = format!("*3\r\n$3\r\nSET\r\n$7\r\nbig-key\r\n${len}\r\n").into_bytes();
    req.extend_from_slice(&value);
    req.extend_from_slice(b"\r\n");
    let mut c = RawConn::connect(srv.port);
    c.set_timeout(Duration::from_secs(120));
    let started = Instant::now();
    let mut w = c.stream.try_clone().unwrap();
    let writer = std::thread::spawn(move || w.write_all(&req).map(|_| ()));
    assert_eq!(c.read(), Resp::ok(), "SET of 100 MB");
    writer.join().unwrap().expect("write 100 MB");
    let set_time = started.elapsed();
    assert_eq!(c.cmd(&["STRLEN", "big-key"]), Resp::Int(len as i64));
    let got = c.cmd(&["GET", "big-key"]);
    let total = started.elapsed();
    match got {
        Resp::Bulk(Some(b)) => {
            assert_eq!(b.len(), len);
            assert!(b == value, "the 100 MB value came back altered");
        }
        other => panic!("GET big-key: {:?}", show(format!("{other:?}").as_bytes())),
    }
    eprintln!("threads={threads}: SET 100MB in {set_time:?}, SET+GET in {total:?}");
    assert!(
        total < Duration::from_secs(90),
        "100 MB SET+GET took {total:?}"
    );
    // Another connection still works.
    let mut d = RawConn::connect(srv.port);
    assert_eq!(d.cmd(&["PING"]), Resp::Simple("PONG".into()));
}

#[test]
fn big_value_100mb_threads_1() {
    big_value("1");
}

#[test]
fn big_value_100mb_threads_3() {
    big_value("3");
}

// ---------------------------------------------------------------------------
// RESP3
// ---------------------------------------------------------------------------

/// HELLO's reply: a map in RESP3, a flat array of name/value pairs in RESP2.
fn hello_keys(r: &Resp, proto: i64) -> Vec<(String, Resp)> {
    match (r, proto) {
        (Resp::Map(m), 3) => m
            .iter()
            .map(|(k, v)| (k.text().unwrap_or_default(), v.clone()))
            .collect(),
        (Resp::Array(Some(v)), 2) if v.len() % 2 == 0 => v
            .chunks(2)
            .map(|p| (p[0].text().unwrap_or_default(), p[1].clone()))
            .collect(),
        (other, _) => panic!("HELLO {proto} replied {other:?}"),
    }
}

fn check_hello_map(r: &Resp, proto: i64) {
    let m = hello_keys(r, proto);
    let names: Vec<&str> = m.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        ["server", "version", "proto", "id", "mode", "role", "modules"]
    );
    assert_eq!(m[0].1, Resp::bulk("redis"));
    assert_eq!(m[1].1, Resp::bulk("7.0.15"));
    assert_eq!(m[2].1, Resp::Int(proto));
    assert!(matches!(m[3].1, Resp::Int(id) if id > 0));
    assert_eq!(m[4].1, Resp::bulk("standalone"));
    assert_eq!(m[5].1, Resp::bulk("master"));
    assert_eq!(m[6].1, Resp::Array(Some(vec![])));
}

/// After HELLO 3 (whose reply holds the client id, so it is checked separately).
const RESP3_CMDS: &[u8] = b"GET nokey\r\n\
MGET nokey\r\n\
SET k v\r\n\
MGET nokey k\r\n\
INCRBYFLOAT f 1.5\r\n\
EXISTS k\r\n\
TTL k\r\n\
SET k w GET\r\n\
CONFIG GET maxmemory\r\n\
HELLO abc\r\n\
HELLO 4\r\n\
HELLO 3 SETNAME \"a b\"\r\n\
MULTI\r\nGET nokey\r\nEXEC\r\n";

const RESP3_EXPECTED: &[u8] = b"_\r\n\
*1\r\n_\r\n\
+OK\r\n\
*2\r\n_\r\n$1\r\nv\r\n\
$3\r\n1.5\r\n\
:1\r\n\
:-1\r\n\
$1\r\nv\r\n\
%1\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n\
-ERR Protocol version is not an integer or out of range\r\n\
-NOPROTO unsupported protocol version\r\n\
-ERR Client names cannot contain spaces, newlines or special characters.\r\n\
+OK\r\n+QUEUED\r\n*1\r\n_\r\n\
$7\r\n__end__\r\n";

fn resp3(port: u16) {
    let mut c = RawConn::connect(port);
    check_hello_map(&c.cmd(&["HELLO", "3"]), 3);
    let mut cmds = RESP3_CMDS.to_vec();
    cmds.extend_from_slice(b"PING __end__\r\n");
    c.send(&cmds);
    let got = c.read_until(b"$7\r\n__end__\r\n", Duration::from_secs(20));
    assert_eq!(show(&got), show(RESP3_EXPECTED));
    // Back to RESP2: nulls are `$-1` again.
    check_hello_map(&c.cmd(&["HELLO", "2"]), 2);
    c.send(b"GET nokey\r\n");
    assert_eq!(c.read_until(b"\r\n", Duration::from_secs(10)), b"$-1\r\n");
    // HELLO with AUTH (the default user has no password: any password is accepted)
    // and SETNAME.
    check_hello_map(
        &c.cmd(&[
            "HELLO",
            "3",
            "AUTH",
            "default",
            "whatever",
            "SETNAME",
            "proto-client",
        ]),
        3,
    );
    assert_eq!(c.cmd(&["CLIENT", "GETNAME"]), Resp::bulk("proto-client"));
}

#[test]
fn resp3_real_redis() {
    let r = RedisServer::start_tcp(&[]);
    resp3(r.port());
}

#[test]
fn resp3_threads_1() {
    let srv = start("1", &[]);
    resp3(srv.port);
}

#[test]
fn resp3_threads_3() {
    let srv = start("3", &[]);
    resp3(srv.port);
}

fn hello_auth(port: u16) {
    let mut c = RawConn::connect(port);
    assert_eq!(
        c.cmd(&["HELLO", "3", "AUTH", "default", "wrong"]),
        Resp::err("WRONGPASS invalid username-password pair or user is disabled.")
    );
    assert_eq!(
        c.cmd(&["GET", "x"]),
        Resp::err("NOAUTH Authentication required.")
    );
    check_hello_map(
        &c.cmd(&[
            "HELLO", "3", "AUTH", "default", "pw-123", "SETNAME", "authed",
        ]),
        3,
    );
    assert_eq!(c.cmd(&["CLIENT", "GETNAME"]), Resp::bulk("authed"));
    assert_eq!(c.cmd(&["GET", "x"]), Resp::Null);
    // The HELLO 2 AUTH form on a second connection.
    let mut d = RawConn::connect(port);
    check_hello_map(&d.cmd(&["HELLO", "2", "AUTH", "default", "pw-123"]), 2);
    assert_eq!(d.cmd(&["GET", "x"]), Resp::Bulk(None));
    // HELLO without AUTH before authenticating.
    let mut e = RawConn::connect(port);
    assert_eq!(
        e.cmd(&["HELLO", "3"]),
        Resp::err("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time")
    );
    assert_eq!(
        e.cmd(&["PING"]),
        Resp::err("NOAUTH Authentication required.")
    );
}

#[test]
fn hello_auth_setname_real_redis() {
    let r = RedisServer::start_tcp(&["--requirepass", "pw-123"]);
    hello_auth(r.port());
}

#[test]
fn hello_auth_setname_threads_1() {
    let srv = start("1", &["--requirepass", "pw-123"]);
    hello_auth(srv.port);
}

#[test]
fn hello_auth_setname_threads_3() {
    let srv = start("3", &["--requirepass", "pw-123"]);
    hello_auth(srv.port);
}

// ---------------------------------------------------------------------------
// Malformed input
// ---------------------------------------------------------------------------

fn malformed_cases() -> Vec<(&'static str, Vec<u8>)> {
    let mut v: Vec<(&'static str, Vec<u8>)> = vec![
        ("bulk length not a number", b"*1\r\n$x\r\n".to_vec()),
        ("multibulk count not a number", b"*abc\r\n".to_vec()),
        (
            "bulk length over proto-max-bulk-len",
            b"*1\r\n$600000000\r\n".to_vec(),
        ),
        (
            "negative bulk length",
            b"*2\r\n$4\r\nECHO\r\n$-1\r\n".to_vec(),
        ),
        ("expected $", b"*1\r\nfoo\r\n".to_vec()),
        ("multibulk count over INT_MAX", b"*3000000000\r\n".to_vec()),
        ("unbalanced double quote", b"SET k \"a b\r\n".to_vec()),
        (
            "closing quote followed by a char",
            b"SET k \"a\"b\r\n".to_vec(),
        ),
        ("unbalanced single quote", b"ECHO 'abc\r\n".to_vec()),
        (
            "valid command before the error",
            b"PING\r\nSET pre ok\r\n*abc\r\nPING\r\n".to_vec(),
        ),
        ("inline line over 64KB without newline", vec![b'a'; 70_000]),
    ];
    let mut big_count = b"*".to_vec();
    big_count.extend(std::iter::repeat_n(b'1', 70_000));
    v.push(("multibulk count line over 64KB", big_count));
    let mut big_bulk = b"*1\r\n$".to_vec();
    big_bulk.extend(std::iter::repeat_n(b'1', 70_000));
    v.push(("bulk count line over 64KB", big_bulk));
    v
}

/// What redis-server sends for each case, and whether it closed the connection.
fn redis_answers(extra: &[&str], cases: &[(&'static str, Vec<u8>)]) -> Vec<(Vec<u8>, bool)> {
    let r = RedisServer::start_tcp(extra);
    cases
        .iter()
        .map(|(_, bytes)| {
            let d = exchange(r.port(), bytes, Duration::from_secs(10));
            (d.bytes, d.closed)
        })
        .collect()
}

fn malformed(threads: &str) {
    let cases = malformed_cases();
    let expected = redis_answers(&[], &cases);
    let srv = start(threads, &[]);
    // A bystander connected the whole time, with data on every shard.
    let keys = spread_keys("bystander", 6);
    let mut by = RawConn::connect(srv.port);
    let mut mset = vec!["MSET"];
    for k in &keys {
        mset.push(k);
        mset.push("intact");
    }
    assert_eq!(by.cmd(&mset), Resp::ok());
    let mut mget = vec!["MGET"];
    mget.extend(keys.iter().map(String::as_str));
    let intact = Resp::Array(Some(vec![Resp::bulk("intact"); keys.len()]));

    let mut failures = Vec::new();
    for ((name, bytes), (want, want_closed)) in cases.iter().zip(expected) {
        assert!(want_closed, "redis-server closed the connection for {name}");
        assert!(
            String::from_utf8_lossy(&want).contains("-ERR Protocol error: "),
            "redis-server answered {name} with {:?}",
            show(&want)
        );
        let got = exchange(srv.port, bytes, Duration::from_secs(10));
        if got.bytes != want || !got.closed {
            failures.push(format!(
                "{name}: expected {:?} then close; got {:?} (closed: {})",
                show(&want),
                show(&got.bytes),
                got.closed
            ));
        }
        assert_eq!(by.cmd(&mget), intact, "bystander's data after {name}");
        assert_eq!(
            by.cmd(&["PING", name]),
            Resp::bulk(name),
            "bystander after {name}"
        );
    }
    // The valid commands pipelined before the error ran.
    assert_eq!(by.cmd(&["GET", "pre"]), Resp::bulk("ok"));
    assert!(
        failures.is_empty(),
        "threads={threads}:\n{}",
        failures.join("\n")
    );
}

#[test]
fn malformed_input_threads_1() {
    malformed("1");
}

#[test]
fn malformed_input_threads_3() {
    malformed("3");
}

fn small_proto_max_bulk_len(threads: &str) {
    let cases: Vec<(&'static str, Vec<u8>)> = vec![(
        "bulk over a 1mb proto-max-bulk-len",
        b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2000000\r\n".to_vec(),
    )];
    let args = ["--proto-max-bulk-len", "1mb"];
    let expected = redis_answers(&args, &cases);
    let srv = start(threads, &args);
    let mut by = RawConn::connect(srv.port);
    for ((name, bytes), (want, want_closed)) in cases.iter().zip(expected) {
        assert!(want_closed);
        assert_eq!(show(&want), "-ERR Protocol error: invalid bulk length\r\n");
        let got = exchange(srv.port, bytes, Duration::from_secs(10));
        assert_eq!(
            (show(&got.bytes), got.closed),
            (show(&want), true),
            "{name}"
        );
    }
    // A value just under the limit is fine.
    let v = "x".repeat(1024 * 1024 - 10);
    assert_eq!(by.cmd(&["SET", "under", &v]), Resp::ok());
    assert_eq!(by.cmd(&["STRLEN", "under"]), Resp::Int(v.len() as i64));
}

#[test]
fn proto_max_bulk_len_threads_1() {
    small_proto_max_bulk_len("1");
}

#[test]
fn proto_max_bulk_len_threads_3() {
    small_proto_max_bulk_len("3");
}

// ---------------------------------------------------------------------------
// client-query-buffer-limit
// ---------------------------------------------------------------------------

fn query_buffer_limit(port: u16) {
    let keys = spread_keys("qbl", 3);
    let mut by = RawConn::connect(port);
    assert_eq!(
        by.cmd(&["MSET", &keys[0], "a", &keys[1], "b", &keys[2], "c"]),
        Resp::ok()
    );
    let mut c = RawConn::connect(port);
    let mut req = b"*3\r\n$3\r\nSET\r\n$1\r\nq\r\n$3000000\r\n".to_vec();
    req.extend(std::iter::repeat_n(b'x', 2_000_000));
    // The server may close while we are still writing.
    let _ = c.stream.write_all(&req);
    let d = c.drain(Duration::from_secs(20));
    assert!(
        d.closed,
        "a client whose query buffer passed 1mb was not disconnected"
    );
    assert!(d.bytes.is_empty(), "it was sent {:?}", show(&d.bytes));
    assert_eq!(
        by.cmd(&["MGET", &keys[0], &keys[1], &keys[2], "q"]),
        Resp::Array(Some(vec![
            Resp::bulk("a"),
            Resp::bulk("b"),
            Resp::bulk("c"),
            Resp::Bulk(None)
        ]))
    );
    // A complete 900 KB request is fine.
    let v = "y".repeat(900 * 1024);
    assert_eq!(by.cmd(&["SET", "q", &v]), Resp::ok());
    assert_eq!(by.cmd(&["STRLEN", "q"]), Resp::Int(v.len() as i64));
}

#[test]
fn client_query_buffer_limit_real_redis() {
    let r = RedisServer::start_tcp(&["--client-query-buffer-limit", "1mb"]);
    query_buffer_limit(r.port());
}

#[test]
fn client_query_buffer_limit_threads_1() {
    let srv = start("1", &["--client-query-buffer-limit", "1mb"]);
    query_buffer_limit(srv.port);
    assert!(srv.wait_for_log(
        "Closing client that reached max query buffer length",
        Duration::from_secs(5)
    ));
}

#[test]
fn client_query_buffer_limit_threads_3() {
    let srv = start("3", &["--client-query-buffer-limit", "1mb"]);
    query_buffer_limit(srv.port);
    assert!(srv.wait_for_log(
        "Closing client that reached max query buffer length",
        Duration::from_secs(5)
    ));
}

// ---------------------------------------------------------------------------
// QUIT and CLIENT REPLY
// ---------------------------------------------------------------------------

fn quit(port: u16) {
    let d = exchange(port, b"QUIT\r\n", Duration::from_secs(10));
    assert_eq!((show(&d.bytes), d.closed), ("+OK\r\n".to_string(), true));
    // Commands pipelined after QUIT are not run.
    let d = exchange(
        port,
        b"SET before-quit 1\r\nQUIT\r\nSET after-quit 1\r\nPING\r\n",
        Duration::from_secs(10),
    );
    assert_eq!(
        (show(&d.bytes), d.closed),
        ("+OK\r\n+OK\r\n".to_string(), true)
    );
    let mut c = RawConn::connect(port);
    assert_eq!(
        c.cmd(&["EXISTS", "before-quit", "after-quit"]),
        Resp::Int(1)
    );
    // The RESP form.
    let mut q = RawConn::connect(port);
    assert_eq!(q.cmd(&["QUIT"]), Resp::ok());
    let d = q.drain(Duration::from_secs(10));
    assert!(d.closed && d.bytes.is_empty(), "{d:?}");
}

const CLIENT_REPLY: &[u8] = b"CLIENT REPLY OFF\r\n\
PING off\r\n\
SET reply-key set-while-off\r\n\
CLIENT REPLY ON\r\n\
GET reply-key\r\n\
CLIENT REPLY SKIP\r\n\
PING skipped\r\n\
PING shown\r\n\
CLIENT REPLY SKIP\r\n\
CLIENT REPLY SKIP\r\n\
PING skipped-again\r\n\
PING shown-again\r\n\
CLIENT REPLY OFF\r\n\
CLIENT REPLY SKIP\r\n\
PING still-off\r\n\
CLIENT REPLY ON\r\n";

const CLIENT_REPLY_EXPECTED: &[u8] = b"+OK\r\n\
$13\r\nset-while-off\r\n\
$5\r\nshown\r\n\
$11\r\nshown-again\r\n\
+OK\r\n\
$7\r\n__end__\r\n";

fn client_reply(port: u16) {
    assert_eq!(
        show(&transcript(port, CLIENT_REPLY)),
        show(CLIENT_REPLY_EXPECTED)
    );
    // The same, one command at a time (order of replies shows what was skipped).
    let mut c = RawConn::connect(port);
    c.send(&encode_strs(&["CLIENT", "REPLY", "SKIP"]));
    c.send(&encode_strs(&["PING", "one"]));
    assert_eq!(c.cmd(&["PING", "two"]), Resp::bulk("two"));
    c.send(&encode_strs(&["CLIENT", "REPLY", "OFF"]));
    c.send(&encode_strs(&["SET", "reply-key2", "v"]));
    assert_eq!(c.cmd(&["CLIENT", "REPLY", "ON"]), Resp::ok());
    assert_eq!(c.cmd(&["GET", "reply-key2"]), Resp::bulk("v"));
}

#[test]
fn quit_and_client_reply_real_redis() {
    let r = RedisServer::start_tcp(&[]);
    quit(r.port());
    client_reply(r.port());
}

#[test]
fn quit_threads_1() {
    let srv = start("1", &[]);
    quit(srv.port);
}

#[test]
fn quit_threads_3() {
    let srv = start("3", &[]);
    quit(srv.port);
}

#[test]
fn client_reply_threads_1() {
    let srv = start("1", &[]);
    client_reply(srv.port);
}

#[test]
fn client_reply_threads_3() {
    let srv = start("3", &[]);
    client_reply(srv.port);
}

// ---------------------------------------------------------------------------
// Many clients at once, and a client that does not read its replies
// ---------------------------------------------------------------------------

/// 600 clients each send a 20 KB SET and a GET before anyone reads: more data in flight
/// than the server's receive buffers hold at once. Every reply must still be right.
fn many_clients_at_once(port: u16) {
    let n = 600;
    let mut conns: Vec<RawConn> = (0..n).map(|_| RawConn::connect(port)).collect();
    let value = |i: usize| format!("{i:05}-").repeat(20 * 1024 / 6);
    for (i, c) in conns.iter_mut().enumerate() {
        let mut req = encode_strs(&["SET", &format!("mc:{i}"), &value(i)]);
        req.extend(encode_strs(&["GET", &format!("mc:{i}")]));
        c.send(&req);
    }
    for (i, c) in conns.iter_mut().enumerate() {
        assert_eq!(c.read(), Resp::ok(), "SET reply of client {i}");
        assert_eq!(c.read(), Resp::bulk(&value(i)), "GET reply of client {i}");
    }
    for (i, c) in conns.iter_mut().enumerate().step_by(50) {
        assert_eq!(
            c.cmd(&["STRLEN", &format!("mc:{i}")]),
            Resp::Int(value(i).len() as i64)
        );
    }
}

#[test]
fn many_clients_at_once_real_redis() {
    let r = RedisServer::start_tcp(&[]);
    many_clients_at_once(r.port());
}

#[test]
fn many_clients_at_once_threads_1() {
    let srv = start("1", &[]);
    many_clients_at_once(srv.port);
}

#[test]
fn many_clients_at_once_threads_3() {
    let srv = start("3", &[]);
    many_clients_at_once(srv.port);
}

fn used_memory(c: &mut RawConn) -> u64 {
    let info = c.cmd(&["INFO", "memory"]).text().expect("INFO text");
    info.lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("used_memory in INFO")
}

/// A client pipelines 300 GETs of a 1 MB value (300 MB of replies) and reads nothing.
/// The server stops reading from it once its unsent replies pile up, so memory stays
/// bounded while other clients are served; when the client reads, every reply arrives.
fn slow_reader(threads: &str) {
    let srv = start(threads, &[]);
    let mut other = RawConn::connect(srv.port);
    let big = "x".repeat(1 << 20);
    assert_eq!(other.cmd(&["SET", "big", &big]), Resp::ok());
    let baseline = used_memory(&mut other);
    let gets = 300;
    let mut req = Vec::new();
    for _ in 0..gets {
        req.extend(encode_strs(&["GET", "big"]));
    }
    let mut slow = RawConn::connect(srv.port);
    slow.set_timeout(Duration::from_secs(60));
    let mut w = slow.stream.try_clone().unwrap();
    let writer = std::thread::spawn(move || w.write_all(&req).map(|_| ()));
    std::thread::sleep(Duration::from_millis(500));
    let mut peak = 0;
    for i in 0..10 {
        assert_eq!(
            other.cmd(&["PING", &format!("p{i}")]),
            Resp::bulk(&format!("p{i}"))
        );
        peak = peak.max(used_memory(&mut other));
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!(
        "threads={threads}: used_memory baseline {baseline}, peak {peak} while the reader stalls"
    );
    assert!(
        peak < baseline + (32 << 20),
        "used_memory grew from {baseline} to {peak} while a client did not read 300 MB of replies"
    );
    for i in 0..gets {
        match slow.read() {
            Resp::Bulk(Some(b)) => assert_eq!(b.len(), big.len(), "reply {i}"),
            other => panic!("reply {i}: {:?}", show(format!("{other:?}").as_bytes())),
        }
    }
    writer.join().unwrap().expect("write the pipeline");
    assert_eq!(slow.cmd(&["PING"]), Resp::Simple("PONG".into()));
}

#[test]
fn slow_reader_threads_1() {
    slow_reader("1");
}

#[test]
fn slow_reader_threads_3() {
    slow_reader("3");
}

/// A client writes a whole pipeline (400k GETs of a 256-byte value: 10 MB of requests,
/// 100 MB of replies, more than the socket buffers hold) before it reads anything, as pipelining client libraries do. The server must keep
/// reading while replies wait, or both sides block on full socket buffers.
fn write_all_then_read(port: u16) {
    let mut c = RawConn::connect(port);
    assert_eq!(c.cmd(&["SET", "kk", &"v".repeat(256)]), Resp::ok());
    let n = 400_000;
    let mut req = Vec::new();
    for _ in 0..n {
        req.extend(encode_strs(&["GET", "kk"]));
    }
    c.stream
        .set_write_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let started = Instant::now();
    c.stream
        .write_all(&req)
        .expect("the server stopped reading a pipeline whose replies were not read yet");
    for i in 0..n {
        match c.read() {
            Resp::Bulk(Some(b)) => assert_eq!(b.len(), 256, "reply {i}"),
            other => panic!("reply {i}: {:?}", show(format!("{other:?}").as_bytes())),
        }
    }
    eprintln!(
        "400k-GET pipeline written then read in {:?}",
        started.elapsed()
    );
    assert_eq!(c.cmd(&["PING"]), Resp::Simple("PONG".into()));
}

#[test]
fn write_all_then_read_real_redis() {
    let r = RedisServer::start_tcp(&[]);
    write_all_then_read(r.port());
}

#[test]
fn write_all_then_read_threads_1() {
    let srv = start("1", &[]);
    write_all_then_read(srv.port);
}

#[test]
fn write_all_then_read_threads_3() {
    let srv = start("3", &[]);
    write_all_then_read(srv.port);
}

/// CLIENT KILL takes effect on a client whose replies are backed up: it leaves CLIENT
/// LIST and none of its remaining commands run.
fn kill_backed_up_client(port: u16) {
    let mut admin = RawConn::connect(port);
    assert_eq!(admin.cmd(&["SET", "big", &"b".repeat(1 << 20)]), Resp::ok());
    let mut slow = RawConn::connect(port);
    let id = slow.cmd(&["CLIENT", "ID"]).int().expect("CLIENT ID");
    let mut req = Vec::new();
    for _ in 0..40 {
        req.extend(encode_strs(&["GET", "big"]));
        req.extend(encode_strs(&["INCR", "ctr"]));
    }
    slow.send(&req);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        admin.cmd(&["CLIENT", "KILL", "ID", &id.to_string()]),
        Resp::Int(1)
    );
    let listed = |admin: &mut RawConn| {
        admin
            .cmd(&["CLIENT", "LIST"])
            .text()
            .unwrap_or_default()
            .lines()
            .any(|l| l.starts_with(&format!("id={id} ")))
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while listed(&mut admin) {
        assert!(
            Instant::now() < deadline,
            "killed client {id} is still in CLIENT LIST"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let ctr = admin.cmd(&["GET", "ctr"]);
    // The killed client now reads: whatever it gets, no more of its commands run.
    let _ = slow.drain(Duration::from_millis(500));
    assert_eq!(
        admin.cmd(&["GET", "ctr"]),
        ctr,
        "commands of a killed client ran after the kill"
    );
    assert_eq!(admin.cmd(&["PING"]), Resp::Simple("PONG".into()));
}

#[test]
fn kill_backed_up_client_real_redis() {
    let r = RedisServer::start_tcp(&[]);
    kill_backed_up_client(r.port());
}

#[test]
fn kill_backed_up_client_threads_1() {
    let srv = start("1", &[]);
    kill_backed_up_client(srv.port);
}

#[test]
fn kill_backed_up_client_threads_3() {
    let srv = start("3", &[]);
    kill_backed_up_client(srv.port);
}
