//! Server features beyond single-command replies, each run against tessera with
//! `--threads 1` and `--threads 3`, and (where the behaviour is Redis's) also against a
//! real redis-server 7.0 (`*_real_redis`), which validates the expectations themselves:
//!
//! 1. expiry: lazy and active expiry, TTL/PTTL/EXPIRETIME, PERSIST, SET vs KEEPTTL,
//!    EXPIRE in the past;
//! 2. maxmemory: every eviction policy with 20 MB of 1 KB values under `--maxmemory 2mb`,
//!    volatile-* evicting only keys with a TTL, noeviction's OOM error, lifting the limit;
//!    allkeys-* under 128-deep pipelines: no OOM, used_memory within maxmemory + 25%;
//! 3. MONITOR: format, every shard, AUTH redaction, admin commands hidden, disconnects;
//! 4. SLOWLOG: args, client addr/name, order, LEN/RESET, max-len, truncation (compared
//!    with a real redis-server);
//! 5. CLIENT LIST/INFO/KILL/SETNAME/GETNAME/NO-EVICT across shards;
//! 6. INFO: sections, fields, commandstats and errorstats counts;
//! 7. keyspace-wide commands across shards: KEYS SCAN RANDOMKEY DBSIZE FLUSHDB FLUSHALL
//!    SWAPDB SELECT, SCAN under concurrent inserts;
//! 8. robustness: 50 concurrent clients sending random valid and invalid commands.
//!
//! Most scenarios collect every failed check (expected vs actual) and report them all at
//! the end instead of stopping at the first. Every wait is a bounded poll: no loop runs
//! without a count and a deadline.

mod common;
mod rawresp;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt::Debug;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{RedisServer, TestServer};
use rawresp::{encode, key_on_shard, shard_of, spread_keys, RawConn, Resp};

const OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";
const MAXMEM: u64 = 2 * 1024 * 1024;

// ---------------------------------------------------------------------------
// Servers and small helpers
// ---------------------------------------------------------------------------

enum Srv {
    Tessera(TestServer, usize),
    Redis(RedisServer),
}

impl Srv {
    fn tessera(threads: usize, extra: &[&str]) -> Srv {
        let t = threads.to_string();
        let mut args = vec!["--threads", t.as_str()];
        args.extend_from_slice(extra);
        Srv::Tessera(TestServer::start(&args), threads)
    }
    fn redis(extra: &[&str]) -> Srv {
        Srv::Redis(RedisServer::start_tcp(extra))
    }
    fn port(&self) -> u16 {
        match self {
            Srv::Tessera(t, _) => t.port,
            Srv::Redis(r) => r.port(),
        }
    }
    fn conn(&self) -> RawConn {
        RawConn::connect(self.port())
    }
    fn name(&self) -> String {
        match self {
            Srv::Tessera(_, n) => format!("tessera --threads {n}"),
            Srv::Redis(_) => "redis-server".into(),
        }
    }
    fn log(&self) -> Vec<String> {
        match self {
            Srv::Tessera(t, _) => t.log(),
            Srv::Redis(r) => r.log(),
        }
    }
}

/// Collects failed checks so one run reports all of them.
struct Checks {
    ctx: String,
    fails: Vec<String>,
}

impl Checks {
    fn new(ctx: impl Into<String>) -> Checks {
        Checks {
            ctx: ctx.into(),
            fails: Vec::new(),
        }
    }
    fn ok(&mut self, cond: bool, msg: impl FnOnce() -> String) -> bool {
        if !cond {
            let m = msg();
            eprintln!("[{}] FAILED: {m}", self.ctx);
            self.fails.push(m);
        }
        cond
    }
    fn eq<T: PartialEq + Debug>(&mut self, what: &str, expected: T, actual: T) -> bool {
        let same = expected == actual;
        self.ok(same, || {
            format!("{what}: expected {expected:?}, got {actual:?}")
        })
    }
    fn finish(self) {
        if !self.fails.is_empty() {
            panic!(
                "{}: {} failed check(s):\n  - {}",
                self.ctx,
                self.fails.len(),
                self.fails.join("\n  - ")
            );
        }
    }
}

/// A readable rendering of a reply (bulk strings as lossy text).
fn show(r: &Resp) -> String {
    match r {
        Resp::Simple(s) => format!("+{s}"),
        Resp::Error(e) => format!("-{e}"),
        Resp::Int(i) => format!(":{i}"),
        Resp::Bulk(None) => "(nil)".into(),
        Resp::Bulk(Some(b)) => {
            let s = String::from_utf8_lossy(b);
            if s.len() > 200 {
                format!("{:?}...({} bytes)", &s[..200], b.len())
            } else {
                format!("{s:?}")
            }
        }
        Resp::Array(None) => "(nil array)".into(),
        Resp::Array(Some(v)) | Resp::Set(v) | Resp::Push(v) => {
            let items: Vec<String> = v.iter().take(20).map(show).collect();
            let more = if v.len() > 20 {
                format!(", ... {} items", v.len())
            } else {
                String::new()
            };
            format!("[{}{more}]", items.join(", "))
        }
        other => format!("{other:?}"),
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn must_ok(c: &mut RawConn, args: &[&str]) {
    let r = c.cmd(args);
    assert_eq!(r, Resp::ok(), "{args:?} -> {}", show(&r));
}

fn must_int(c: &mut RawConn, args: &[&str]) -> i64 {
    let r = c.cmd(args);
    r.int()
        .unwrap_or_else(|| panic!("{args:?}: expected an integer, got {}", show(&r)))
}

fn must_text(c: &mut RawConn, args: &[&str]) -> String {
    let r = c.cmd(args);
    r.text()
        .unwrap_or_else(|| panic!("{args:?}: expected text, got {}", show(&r)))
}

/// `INFO args...` as `field -> value` (headers and blank lines skipped).
fn info_map(c: &mut RawConn, args: &[&str]) -> HashMap<String, String> {
    let mut cmd = vec!["INFO"];
    cmd.extend_from_slice(args);
    let text = must_text(c, &cmd);
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            l.split_once(':')
                .map(|(k, v)| (k.to_string(), v.trim_end().to_string()))
        })
        .collect()
}

fn info_u64(c: &mut RawConn, section: &str, field: &str) -> u64 {
    let m = info_map(c, &[section]);
    m.get(field)
        .unwrap_or_else(|| panic!("INFO {section} has no field {field}"))
        .parse()
        .unwrap_or_else(|e| panic!("INFO {field}: {e}"))
}

/// Sends every command, then reads one reply per command.
fn pipeline(c: &mut RawConn, cmds: &[Vec<Vec<u8>>]) -> Vec<Resp> {
    let mut buf = Vec::new();
    for cmd in cmds {
        let v: Vec<&[u8]> = cmd.iter().map(|a| a.as_slice()).collect();
        buf.extend_from_slice(&encode(&v));
    }
    c.send(&buf);
    (0..cmds.len()).map(|_| c.read()).collect()
}

fn args(v: &[&str]) -> Vec<Vec<u8>> {
    v.iter().map(|s| s.as_bytes().to_vec()).collect()
}

/// Polls `f` every `step` until it returns Some or `timeout` passes (bounded by count too).
fn poll<T>(timeout: Duration, step: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    let max_rounds = (timeout.as_millis() / step.as_millis().max(1)) as usize + 2;
    for _ in 0..max_rounds {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(step);
    }
    None
}

fn local_addr(c: &RawConn) -> String {
    c.stream.local_addr().unwrap().to_string()
}

fn keys_of(r: &Resp) -> Vec<String> {
    r.items()
        .unwrap_or_else(|| panic!("expected an array, got {}", show(r)))
        .iter()
        .map(|k| k.text().unwrap_or_else(|| panic!("array item {}", show(k))))
        .collect()
}

/// True when the peer has closed the connection: a command sent now gets no reply.
fn is_closed(c: &mut RawConn) -> (bool, Vec<u8>) {
    let _ = c.stream.write_all(&rawresp::encode_strs(&["PING"]));
    let d = c.drain(Duration::from_secs(5));
    (d.closed, d.bytes)
}

// ---------------------------------------------------------------------------
// 1. Expiry
// ---------------------------------------------------------------------------

fn expiry(srv: &Srv) {
    let mut ck = Checks::new(format!("expiry on {}", srv.name()));
    let mut c = srv.conn();
    must_ok(&mut c, &["FLUSHALL"]);

    // --- lazy expiry: keys with PX 50 are gone when read ~100 ms later. A low hz makes
    // the active cycle unlikely to get there first.
    must_ok(&mut c, &["CONFIG", "SET", "hz", "1"]);
    let lazy = spread_keys("lazy", 6);
    let expired_before = info_u64(&mut c, "stats", "expired_keys");
    let mut last_set_reply = Instant::now();
    for k in &lazy {
        let sent = Instant::now();
        must_ok(&mut c, &["SET", k, "v", "PX", "50"]);
        // Read at once: the reply arrives before the key can have expired.
        let r = c.cmd(&["PTTL", k]);
        let got = Instant::now();
        if got < sent + Duration::from_millis(50) {
            ck.ok(matches!(r, Resp::Int(1..=50)), || {
                format!("PTTL {k} right after SET PX 50: {}", show(&r))
            });
            let g = c.cmd(&["GET", k]);
            if Instant::now() < sent + Duration::from_millis(50) {
                ck.eq(
                    &format!("GET {k} right after SET PX 50"),
                    Resp::bulk("v"),
                    g,
                );
            }
        }
        last_set_reply = Instant::now();
    }
    // Every key expires at most 50 ms after its SET was answered; wait until 100 ms.
    let wait_until = last_set_reply + Duration::from_millis(100);
    poll(Duration::from_secs(1), Duration::from_millis(5), || {
        (Instant::now() >= wait_until).then_some(())
    });
    for k in &lazy {
        let g = c.cmd(&["GET", k]);
        ck.eq(
            &format!("GET {k} 100 ms after SET PX 50"),
            Resp::Bulk(None),
            g,
        );
        let e = c.cmd(&["EXISTS", k]);
        ck.eq(&format!("EXISTS {k} after expiry"), Resp::Int(0), e);
        let t = c.cmd(&["TTL", k]);
        ck.eq(&format!("TTL {k} after expiry"), Resp::Int(-2), t);
    }
    let expired_after = info_u64(&mut c, "stats", "expired_keys");
    ck.eq(
        "expired_keys grew by the lazily expired keys",
        expired_before + lazy.len() as u64,
        expired_after,
    );
    must_ok(&mut c, &["CONFIG", "SET", "hz", "10"]);

    // --- active expiry: 2000 keys with PX 100, never read, disappear by themselves.
    must_ok(&mut c, &["FLUSHALL"]);
    must_ok(&mut c, &["CONFIG", "RESETSTAT"]);
    let active = spread_keys("active", 2000);
    for chunk in active.chunks(200) {
        let cmds: Vec<Vec<Vec<u8>>> = chunk
            .iter()
            .map(|k| args(&["SET", k, "x", "PX", "100"]))
            .collect();
        for (k, r) in chunk.iter().zip(pipeline(&mut c, &cmds)) {
            assert_eq!(r, Resp::ok(), "SET {k} PX 100");
        }
    }
    let t0 = Instant::now();
    let mut last = (0, 0);
    let gone = poll(Duration::from_secs(10), Duration::from_millis(50), || {
        let n = must_int(&mut c, &["DBSIZE"]);
        let exp = info_u64(&mut c, "stats", "expired_keys");
        last = (n, exp);
        (n == 0 && exp >= 2000).then_some(())
    });
    ck.ok(gone.is_some(), || {
        format!(
            "active expiry: after 10 s expected DBSIZE 0 and expired_keys 2000, got DBSIZE {} expired_keys {}",
            last.0, last.1
        )
    });
    eprintln!(
        "[{}] active expiry of 2000 keys took {:?}",
        srv.name(),
        t0.elapsed()
    );
    ck.eq(
        "expired_keys after active expiry of 2000 keys",
        2000,
        info_u64(&mut c, "stats", "expired_keys"),
    );
    let ks = info_map(&mut c, &["keyspace"]);
    ck.ok(!ks.contains_key("db0"), || {
        format!("INFO keyspace still lists db0: {:?}", ks.get("db0"))
    });

    // --- TTL / PTTL / EXPIRETIME / PEXPIRETIME consistency, on keys of every shard.
    for k in spread_keys("ttl", 3) {
        must_ok(&mut c, &["SET", &k, "v", "EX", "100"]);
        let before = now_ms();
        let ttl = must_int(&mut c, &["TTL", &k]);
        let pttl = must_int(&mut c, &["PTTL", &k]);
        let et = must_int(&mut c, &["EXPIRETIME", &k]);
        let pet = must_int(&mut c, &["PEXPIRETIME", &k]);
        let after = now_ms();
        ck.ok((99..=100).contains(&ttl), || {
            format!("TTL {k} after EX 100: {ttl}")
        });
        ck.ok((98_000..=100_000).contains(&pttl), || {
            format!("PTTL {k} after EX 100: {pttl}")
        });
        ck.ok(
            pet as u64 >= before + 98_000 && pet as u64 <= after + 100_000,
            || format!("PEXPIRETIME {k}: {pet}, now {before}..{after}"),
        );
        // EXPIRETIME rounds to the nearest second, as Redis does.
        ck.eq(
            &format!("EXPIRETIME {k} = round(PEXPIRETIME / 1000)"),
            (pet + 500) / 1000,
            et,
        );
        let drift = (pet - (before as i64 + pttl)).abs();
        ck.ok(drift <= 2000, || {
            format!(
                "PEXPIRETIME {pet} vs now+PTTL {}: {drift} ms apart",
                before as i64 + pttl
            )
        });

        // Absolute times are returned as set.
        let at_ms = (now_ms() / 1000 + 500) * 1000 + 300;
        let r = c.cmd(&["PEXPIREAT", &k, &at_ms.to_string()]);
        ck.eq(&format!("PEXPIREAT {k}"), Resp::Int(1), r);
        ck.eq(
            &format!("PEXPIRETIME {k} after PEXPIREAT"),
            at_ms as i64,
            must_int(&mut c, &["PEXPIRETIME", &k]),
        );
        ck.eq(
            &format!("EXPIRETIME {k} after PEXPIREAT"),
            (at_ms / 1000) as i64,
            must_int(&mut c, &["EXPIRETIME", &k]),
        );
        let at_ms = at_ms + 400; // .700: rounds up
        let r = c.cmd(&["PEXPIREAT", &k, &at_ms.to_string()]);
        ck.eq(&format!("PEXPIREAT {k}"), Resp::Int(1), r);
        ck.eq(
            &format!("EXPIRETIME {k} after PEXPIREAT .700"),
            (at_ms / 1000 + 1) as i64,
            must_int(&mut c, &["EXPIRETIME", &k]),
        );
        let at = now_ms() / 1000 + 1000;
        let r = c.cmd(&["EXPIREAT", &k, &at.to_string()]);
        ck.eq(&format!("EXPIREAT {k}"), Resp::Int(1), r);
        ck.eq(
            &format!("EXPIRETIME {k} after EXPIREAT"),
            at as i64,
            must_int(&mut c, &["EXPIRETIME", &k]),
        );
        let ttl = must_int(&mut c, &["TTL", &k]);
        ck.ok((998..=1000).contains(&ttl), || {
            format!("TTL {k} after EXPIREAT now+1000: {ttl}")
        });

        // No TTL / missing key.
        must_ok(&mut c, &["SET", &k, "plain"]);
        for cmd in ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"] {
            let r = c.cmd(&[cmd, &k]);
            ck.eq(&format!("{cmd} {k} without TTL"), Resp::Int(-1), r);
            let r = c.cmd(&[cmd, "no-such-key-anywhere"]);
            ck.eq(&format!("{cmd} of a missing key"), Resp::Int(-2), r);
        }
    }

    // --- PERSIST.
    for k in spread_keys("persist", 3) {
        must_ok(&mut c, &["SET", &k, "v", "EX", "100"]);
        ck.eq(
            &format!("PERSIST {k} with a TTL"),
            Resp::Int(1),
            c.cmd(&["PERSIST", &k]),
        );
        ck.eq(
            &format!("TTL {k} after PERSIST"),
            Resp::Int(-1),
            c.cmd(&["TTL", &k]),
        );
        ck.eq(
            &format!("PERSIST {k} again"),
            Resp::Int(0),
            c.cmd(&["PERSIST", &k]),
        );
        ck.eq(
            &format!("GET {k} after PERSIST"),
            Resp::bulk("v"),
            c.cmd(&["GET", &k]),
        );
    }
    ck.eq(
        "PERSIST of a missing key",
        Resp::Int(0),
        c.cmd(&["PERSIST", "no-such-key-anywhere"]),
    );

    // --- SET drops the TTL, SET KEEPTTL keeps it.
    for k in spread_keys("keepttl", 3) {
        must_ok(&mut c, &["SET", &k, "v1", "EX", "100"]);
        must_ok(&mut c, &["SET", &k, "v2"]);
        ck.eq(
            &format!("TTL {k} after a plain SET over a key with TTL"),
            Resp::Int(-1),
            c.cmd(&["TTL", &k]),
        );
        must_ok(&mut c, &["SET", &k, "v3", "EX", "100"]);
        must_ok(&mut c, &["SET", &k, "v4", "KEEPTTL"]);
        let ttl = c.cmd(&["TTL", &k]);
        ck.ok(matches!(ttl, Resp::Int(99..=100)), || {
            format!("TTL {k} after SET KEEPTTL: {}", show(&ttl))
        });
        ck.eq(
            &format!("GET {k} after SET KEEPTTL"),
            Resp::bulk("v4"),
            c.cmd(&["GET", &k]),
        );
    }

    // --- EXPIRE / EXPIREAT / PEXPIRE with a time in the past delete the key.
    for (i, k) in spread_keys("past", 6).into_iter().enumerate() {
        must_ok(&mut c, &["SET", &k, "v"]);
        let cmd: Vec<&str> = match i % 3 {
            0 => vec!["EXPIRE", &k, "-10"],
            1 => vec!["EXPIREAT", &k, "1"],
            _ => vec!["PEXPIRE", &k, "0"],
        };
        ck.eq(&format!("{cmd:?}"), Resp::Int(1), c.cmd(&cmd));
        ck.eq(
            &format!("EXISTS {k} after {cmd:?}"),
            Resp::Int(0),
            c.cmd(&["EXISTS", &k]),
        );
        ck.eq(
            &format!("GET {k} after {cmd:?}"),
            Resp::Bulk(None),
            c.cmd(&["GET", &k]),
        );
    }
    ck.eq(
        "DBSIZE at the end (only ttl/persist/keepttl keys)",
        Resp::Int(9),
        c.cmd(&["DBSIZE"]),
    );
    ck.finish();
}

#[test]
fn expiry_real_redis() {
    expiry(&Srv::redis(&[]));
}
#[test]
fn expiry_threads_1() {
    expiry(&Srv::tessera(1, &[]));
}
#[test]
fn expiry_threads_3() {
    expiry(&Srv::tessera(3, &[]));
}

// ---------------------------------------------------------------------------
// 2. maxmemory and eviction
// ---------------------------------------------------------------------------

const VALUE_LEN: usize = 1024;
/// 20 MB of 1 KB values.
const TOTAL_WRITES: usize = 20 * 1024;

fn start_mm(tessera_threads: Option<usize>, policy: &str) -> Srv {
    let extra = ["--maxmemory", "2mb", "--maxmemory-policy", policy];
    match tessera_threads {
        Some(n) => Srv::tessera(n, &extra),
        None => Srv::redis(&extra),
    }
}

fn set_cmds(keys: impl Iterator<Item = String>, value: &[u8], extra: &[&str]) -> Vec<Vec<Vec<u8>>> {
    keys.map(|k| {
        let mut v = vec![b"SET".to_vec(), k.into_bytes(), value.to_vec()];
        v.extend(extra.iter().map(|s| s.as_bytes().to_vec()));
        v
    })
    .collect()
}

/// allkeys-*: 20 MB of writes never fail, keys get evicted, memory stays bounded.
fn evict_allkeys(tessera_threads: Option<usize>, policy: &str) -> Vec<String> {
    let srv = start_mm(tessera_threads, policy);
    let mut ck = Checks::new(format!("{policy} on {}", srv.name()));
    let mut c = srv.conn();
    let baseline = info_u64(&mut c, "memory", "used_memory");
    let bound = baseline + 4 * MAXMEM;
    eprintln!(
        "[{} {policy}] baseline used_memory {baseline}, bound {bound}",
        srv.name()
    );
    let value = vec![b'a'; VALUE_LEN];
    let (mut bad, mut first_bad, mut max_used) = (0usize, None, 0u64);
    for start in (0..TOTAL_WRITES).step_by(100) {
        let cmds = set_cmds(
            (start..(start + 100).min(TOTAL_WRITES)).map(|i| format!("ak-{i}")),
            &value,
            &[],
        );
        for (i, r) in pipeline(&mut c, &cmds).into_iter().enumerate() {
            if r != Resp::ok() {
                bad += 1;
                first_bad.get_or_insert(format!("SET ak-{} -> {}", start + i, show(&r)));
            }
        }
        if start % 1000 == 0 {
            max_used = max_used.max(info_u64(&mut c, "memory", "used_memory"));
        }
    }
    max_used = max_used.max(info_u64(&mut c, "memory", "used_memory"));
    ck.ok(bad == 0, || {
        format!("{bad} of {TOTAL_WRITES} SETs did not get +OK; first: {first_bad:?}")
    });
    let evicted = info_u64(&mut c, "stats", "evicted_keys");
    ck.ok(evicted > 0, || {
        "INFO evicted_keys is 0 after writing 20 MB under maxmemory 2mb".into()
    });
    ck.ok(max_used <= bound, || {
        format!(
            "used_memory reached {max_used}, above baseline {baseline} + 4 x maxmemory = {bound}"
        )
    });
    let dbsize = must_int(&mut c, &["DBSIZE"]) as u64;
    // Redis may evict before any command (DBSIZE too): bracket it with two reads.
    let evicted2 = info_u64(&mut c, "stats", "evicted_keys");
    ck.ok(dbsize > 0 && (dbsize as usize) < TOTAL_WRITES, || {
        format!("DBSIZE {dbsize} after evictions")
    });
    let written = (TOTAL_WRITES - bad) as u64;
    ck.ok(evicted + dbsize <= written && written <= evicted2 + dbsize, || {
        format!("evicted_keys ({evicted}..{evicted2}) + DBSIZE ({dbsize}) != keys written successfully ({written})")
    });
    let name = srv.name();
    ck.fails
        .iter()
        .map(|f| format!("{name} {policy}: {f}"))
        .collect()
}

/// volatile-*: only keys with a TTL are evicted; with none left, writes get OOM.
fn evict_volatile(tessera_threads: Option<usize>, policy: &str) -> Vec<String> {
    let srv = start_mm(tessera_threads, policy);
    let mut ck = Checks::new(format!("{policy} on {}", srv.name()));
    let mut c = srv.conn();
    let value = vec![b'v'; VALUE_LEN];
    let baseline = info_u64(&mut c, "memory", "used_memory");
    let bound = baseline + 4 * MAXMEM;
    eprintln!("[{} {policy}] baseline used_memory {baseline}", srv.name());

    // Phase 1: 50 keys without TTL.
    let perm: Vec<String> = spread_keys("perm", 50);
    let r = pipeline(&mut c, &set_cmds(perm.iter().cloned(), &value, &[]));
    let perm_bad: Vec<String> = r
        .iter()
        .zip(&perm)
        .filter(|(r, _)| **r != Resp::ok())
        .map(|(r, k)| format!("{k}: {}", show(r)))
        .collect();
    ck.ok(perm_bad.is_empty(), || {
        format!("SETs of the 50 keys without TTL failed: {perm_bad:?}")
    });

    // Phase 2: 20 MB of keys with a TTL (different TTLs, for volatile-ttl): never fail.
    let (mut bad, mut first_bad, mut max_used) = (0usize, None, 0u64);
    for start in (0..TOTAL_WRITES).step_by(100) {
        let mut cmds = Vec::new();
        for i in start..(start + 100).min(TOTAL_WRITES) {
            let ex = (1000 + i % 5000).to_string();
            cmds.extend(set_cmds(
                std::iter::once(format!("vol-{i}")),
                &value,
                &["EX", &ex],
            ));
        }
        for (i, r) in pipeline(&mut c, &cmds).into_iter().enumerate() {
            if r != Resp::ok() {
                bad += 1;
                first_bad.get_or_insert(format!("SET vol-{} EX .. -> {}", start + i, show(&r)));
            }
        }
        if start % 1000 == 0 {
            max_used = max_used.max(info_u64(&mut c, "memory", "used_memory"));
        }
    }
    ck.ok(bad == 0, || {
        format!(
            "{bad} of {TOTAL_WRITES} SETs of keys with TTL did not get +OK; first: {first_bad:?}"
        )
    });
    ck.ok(max_used <= bound, || {
        format!(
            "used_memory reached {max_used}, above baseline {baseline} + 4 x maxmemory = {bound}"
        )
    });
    ck.ok(info_u64(&mut c, "stats", "evicted_keys") > 0, || {
        "evicted_keys is 0 after 20 MB of keys with TTL".into()
    });
    let exists: Vec<Resp> = pipeline(
        &mut c,
        &perm
            .iter()
            .map(|k| args(&["EXISTS", k]))
            .collect::<Vec<_>>(),
    );
    let lost: Vec<&String> = perm
        .iter()
        .zip(&exists)
        .filter(|(_, r)| **r != Resp::Int(1))
        .map(|(k, _)| k)
        .collect();
    ck.ok(lost.is_empty(), || {
        format!(
            "keys without TTL evicted while keys with TTL existed: {} of 50 ({lost:?})",
            lost.len()
        )
    });

    // Phase 3: more keys without TTL until the first OOM.
    let mut written: Vec<String> = Vec::new();
    let mut oom: Option<Resp> = None;
    let mut expires_at_oom = None;
    'fill: for start in (0..TOTAL_WRITES).step_by(20) {
        let keys: Vec<String> = (start..start + 20).map(|i| format!("fill-{i}")).collect();
        for (k, r) in keys.iter().zip(pipeline(
            &mut c,
            &set_cmds(keys.iter().cloned(), &value, &[]),
        )) {
            if r == Resp::ok() {
                written.push(k.clone());
            } else if oom.is_none() {
                oom = Some(r);
            }
        }
        if oom.is_some() {
            let ks = info_map(&mut c, &["keyspace"]);
            expires_at_oom = Some(ks.get("db0").cloned().unwrap_or_default());
            break 'fill;
        }
    }
    match &oom {
        None => {
            ck.ok(false, || {
                format!("no OOM error after {TOTAL_WRITES} writes of keys without TTL")
            });
        }
        Some(r) => {
            ck.eq(
                "error of a write with only keys without TTL left",
                Resp::err(OOM),
                r.clone(),
            );
            let db0 = expires_at_oom.clone().unwrap_or_default();
            ck.ok(db0.contains(",expires=0,"), || {
                format!("OOM returned while keys with TTL remain: db0 {db0}")
            });
        }
    }
    let all: Vec<String> = perm.iter().chain(written.iter()).cloned().collect();
    let exists = pipeline(
        &mut c,
        &all.iter().map(|k| args(&["EXISTS", k])).collect::<Vec<_>>(),
    );
    let lost: Vec<&String> = all
        .iter()
        .zip(&exists)
        .filter(|(_, r)| **r != Resp::Int(1))
        .map(|(k, _)| k)
        .collect();
    ck.ok(lost.is_empty(), || {
        format!(
            "{} of {} keys without TTL were evicted: {:?}",
            lost.len(),
            all.len(),
            &lost[..lost.len().min(10)]
        )
    });
    // Reads and deletes still work at the limit.
    let r = c.cmd(&["GET", &perm[0]]);
    ck.ok(r == Resp::Bulk(Some(value.clone())), || {
        format!("GET {} at the limit: {}", perm[0], show(&r))
    });
    ck.eq("DEL at the limit", Resp::Int(1), c.cmd(&["DEL", &perm[1]]));
    let name = srv.name();
    ck.fails
        .iter()
        .map(|f| format!("{name} {policy}: {f}"))
        .collect()
}

/// noeviction: writes fail with OOM, reads and DEL work, `CONFIG SET maxmemory 0` lifts it.
fn evict_none(tessera_threads: Option<usize>) -> Vec<String> {
    let srv = start_mm(tessera_threads, "noeviction");
    let mut ck = Checks::new(format!("noeviction on {}", srv.name()));
    let mut c = srv.conn();
    let value = vec![b'n'; VALUE_LEN];
    // One write at a time (no pipeline: a big query buffer would count too).
    let mut written = 0usize;
    let mut oom = None;
    for i in 0..TOTAL_WRITES {
        let key = format!("ne-{i}");
        let r = c.cmd_bytes(&[b"SET", key.as_bytes(), &value]);
        if r == Resp::ok() {
            written += 1;
        } else {
            oom = Some(r);
            break;
        }
    }
    ck.ok(written > 0, || {
        "not a single 1 KB write succeeded under maxmemory 2mb".into()
    });
    ck.eq(
        "error of a write over maxmemory (noeviction)",
        Some(Resp::err(OOM)),
        oom.clone(),
    );
    ck.eq(
        "DBSIZE at the first OOM: nothing evicted",
        Resp::Int(written as i64),
        c.cmd(&["DBSIZE"]),
    );
    let r = c.cmd(&["GET", "ne-0"]);
    ck.ok(r == Resp::Bulk(Some(value.clone())), || {
        format!("GET ne-0 at the limit: {}", show(&r))
    });
    ck.eq("DEL at the limit", Resp::Int(1), c.cmd(&["DEL", "ne-0"]));

    // Lift the limit, write 3 MB more, then put the limit back: now far over it, so every
    // write fails while reads and deletes keep working.
    must_ok(&mut c, &["CONFIG", "SET", "maxmemory", "0"]);
    ck.eq(
        "INFO maxmemory after CONFIG SET maxmemory 0",
        0,
        info_u64(&mut c, "memory", "maxmemory"),
    );
    let mut bad = 0;
    for start in (0..3072).step_by(64) {
        let cmds = set_cmds(
            (start..start + 64).map(|i| format!("more-{i}")),
            &value,
            &[],
        );
        bad += pipeline(&mut c, &cmds)
            .into_iter()
            .filter(|r| *r != Resp::ok())
            .count();
    }
    ck.eq("failed SETs after CONFIG SET maxmemory 0", 0, bad);
    must_ok(&mut c, &["CONFIG", "SET", "maxmemory", "2mb"]);
    let keys = written as i64 - 1 + 3072;
    ck.eq(
        "SET over the limit",
        Resp::err(OOM),
        c.cmd(&["SET", "ne-extra", "x"]),
    );
    ck.eq(
        "SET 1 KB over the limit",
        Resp::err(OOM),
        c.cmd_bytes(&[b"SET", b"ne-extra", &value]),
    );
    ck.eq(
        "APPEND over the limit",
        Resp::err(OOM),
        c.cmd(&["APPEND", "more-0", "x"]),
    );
    ck.eq(
        "INCR over the limit",
        Resp::err(OOM),
        c.cmd(&["INCR", "ne-counter"]),
    );
    ck.eq(
        "MSET over the limit",
        Resp::err(OOM),
        c.cmd(&["MSET", "more-1", "x", "more-2", "y"]),
    );
    let r = c.cmd(&["GET", "more-0"]);
    ck.ok(r == Resp::Bulk(Some(value.clone())), || {
        format!("GET more-0 over the limit: {}", show(&r))
    });
    let r = c.cmd(&["MGET", "more-1", "ne-1"]);
    ck.ok(
        r == Resp::Array(Some(vec![
            Resp::Bulk(Some(value.clone())),
            Resp::Bulk(Some(value.clone())),
        ])),
        || format!("MGET over the limit: {}", show(&r)),
    );
    ck.eq(
        "EXISTS over the limit",
        Resp::Int(1),
        c.cmd(&["EXISTS", "ne-1"]),
    );
    ck.eq(
        "STRLEN over the limit",
        Resp::Int(VALUE_LEN as i64),
        c.cmd(&["STRLEN", "ne-2"]),
    );
    ck.eq(
        "DEL over the limit",
        Resp::Int(2),
        c.cmd(&["DEL", "ne-1", "more-5"]),
    );
    ck.eq(
        "GET of a deleted key",
        Resp::Bulk(None),
        c.cmd(&["GET", "ne-1"]),
    );
    ck.eq(
        "SET still over the limit after a DEL",
        Resp::err(OOM),
        c.cmd(&["SET", "ne-extra", "x"]),
    );
    ck.eq(
        "evicted_keys under noeviction",
        0,
        info_u64(&mut c, "stats", "evicted_keys"),
    );
    ck.eq(
        "DBSIZE: nothing evicted",
        Resp::Int(keys - 2),
        c.cmd(&["DBSIZE"]),
    );
    must_ok(&mut c, &["CONFIG", "SET", "maxmemory", "0"]);
    let cmds = set_cmds((0..200).map(|i| format!("after-{i}")), &value, &[]);
    let bad = pipeline(&mut c, &cmds)
        .into_iter()
        .filter(|r| *r != Resp::ok())
        .count();
    ck.eq("failed SETs after CONFIG SET maxmemory 0 again", 0, bad);
    let name = srv.name();
    ck.fails
        .iter()
        .map(|f| format!("{name} noeviction: {f}"))
        .collect()
}

/// `n` keys `prefix-N` that all land on `shard` of `shards`.
fn keys_on_shard(prefix: &str, shard: usize, shards: usize, n: usize) -> Vec<String> {
    (0..)
        .map(|i| format!("{prefix}-{i}"))
        .filter(|k| shard_of(k, shards) == shard)
        .take(n)
        .collect()
}

/// allkeys-* under 128-deep pipelines of 1 KB SETs: every SET gets +OK, used_memory
/// stays within maxmemory + 25% after every pipeline, and keys get evicted. First 8192
/// keys spread over every shard, then 2048 keys on one shard at a time, so the shard
/// running the writes runs out of keys of its own while the others still hold many.
fn evict_deep_pipelines(tessera_threads: Option<usize>, policy: &str) -> Vec<String> {
    const DEPTH: usize = 128;
    let srv = start_mm(tessera_threads, policy);
    let shards = tessera_threads.unwrap_or(1);
    let mut ck = Checks::new(format!("deep pipelines, {policy} on {}", srv.name()));
    let mut c = srv.conn();
    let bound = MAXMEM + MAXMEM / 4;
    let value = vec![b'p'; VALUE_LEN];
    let mut phases = vec![(0..8192).map(|i| format!("dp-{i}")).collect::<Vec<_>>()];
    for s in 0..shards {
        phases.push(keys_on_shard(&format!("dp{s}"), s, shards, 2048));
    }
    let (mut sent, mut bad, mut first_bad, mut max_used) = (0usize, 0usize, None, 0u64);
    let mut evicted_before = 0;
    for (phase, keys) in phases.into_iter().enumerate() {
        for chunk in keys.chunks(DEPTH) {
            let cmds = set_cmds(chunk.iter().cloned(), &value, &[]);
            for (k, r) in chunk.iter().zip(pipeline(&mut c, &cmds)) {
                sent += 1;
                if r != Resp::ok() {
                    bad += 1;
                    first_bad.get_or_insert(format!("SET {k} -> {}", show(&r)));
                }
            }
            max_used = max_used.max(info_u64(&mut c, "memory", "used_memory"));
        }
        let evicted = info_u64(&mut c, "stats", "evicted_keys");
        ck.ok(evicted > evicted_before, || {
            format!("evicted_keys did not grow in phase {phase}: {evicted_before} -> {evicted}")
        });
        evicted_before = evicted;
    }
    ck.ok(bad == 0, || {
        format!("{bad} of {sent} SETs did not get +OK; first: {first_bad:?}")
    });
    ck.ok(max_used <= bound, || {
        format!("used_memory reached {max_used}, above maxmemory + 25% = {bound}")
    });
    ck.ok(must_int(&mut c, &["DBSIZE"]) > 0, || {
        "DBSIZE 0 at the end".into()
    });
    let name = srv.name();
    ck.fails
        .iter()
        .map(|f| format!("{name} {policy} deep pipelines: {f}"))
        .collect()
}

fn eviction_deep_pipelines(tessera_threads: Option<usize>) {
    let mut fails = Vec::new();
    for p in ["allkeys-random", "allkeys-lru", "allkeys-lfu"] {
        fails.extend(evict_deep_pipelines(tessera_threads, p));
    }
    assert!(
        fails.is_empty(),
        "{} check(s) failed:\n  - {}",
        fails.len(),
        fails.join("\n  - ")
    );
}

#[test]
fn eviction_deep_pipelines_real_redis() {
    eviction_deep_pipelines(None);
}
#[test]
fn eviction_deep_pipelines_threads_1() {
    eviction_deep_pipelines(Some(1));
}
#[test]
fn eviction_deep_pipelines_threads_3() {
    eviction_deep_pipelines(Some(3));
}

fn eviction(tessera_threads: Option<usize>) {
    let mut fails = Vec::new();
    for p in ["allkeys-lru", "allkeys-lfu", "allkeys-random"] {
        fails.extend(evict_allkeys(tessera_threads, p));
    }
    for p in [
        "volatile-lru",
        "volatile-lfu",
        "volatile-random",
        "volatile-ttl",
    ] {
        fails.extend(evict_volatile(tessera_threads, p));
    }
    fails.extend(evict_none(tessera_threads));
    assert!(
        fails.is_empty(),
        "{} eviction check(s) failed:\n  - {}",
        fails.len(),
        fails.join("\n  - ")
    );
}

#[test]
fn eviction_real_redis() {
    eviction(None);
}
#[test]
fn eviction_threads_1() {
    eviction(Some(1));
}
#[test]
fn eviction_threads_3() {
    eviction(Some(3));
}

// ---------------------------------------------------------------------------
// 3. MONITOR
// ---------------------------------------------------------------------------

/// One parsed MONITOR line: (db, client addr, quoted args).
fn parse_monitor_line(line: &str, now_s: u64) -> Result<(u16, String, String), String> {
    let rest = line.strip_prefix('+').ok_or("no leading '+'")?;
    let (ts, rest) = rest.split_once(' ').ok_or("no space after the timestamp")?;
    let (secs, usecs) = ts.split_once('.').ok_or("timestamp without '.'")?;
    let secs: u64 = secs.parse().map_err(|_| format!("seconds {secs:?}"))?;
    if usecs.len() != 6 || !usecs.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("microseconds {usecs:?} are not 6 digits"));
    }
    if secs + 30 < now_s || secs > now_s + 30 {
        return Err(format!("timestamp {secs} is far from now ({now_s})"));
    }
    let rest = rest.strip_prefix('[').ok_or("no '['")?;
    let (inside, rest) = rest.split_once("] ").ok_or("no '] '")?;
    let (db, addr) = inside.split_once(' ').ok_or("no space inside [...]")?;
    let db: u16 = db.parse().map_err(|_| format!("db {db:?}"))?;
    Ok((db, addr.to_string(), rest.to_string()))
}

fn monitor(srv: &Srv) {
    let mut ck = Checks::new(format!("MONITOR on {}", srv.name()));
    let mut m = srv.conn();
    must_ok(&mut m, &["MONITOR"]);
    let mut cl: Vec<RawConn> = (0..6).map(|_| srv.conn()).collect();
    let addrs: Vec<String> = cl.iter().map(local_addr).collect();
    let shard_keys: Vec<String> = (0..3).map(|s| key_on_shard("mon", s, 3)).collect();
    let mut expected: Vec<(u16, String, String)> = Vec::new();
    let mut exp =
        |i: usize, db: u16, line: &str| expected.push((db, addrs[i].clone(), line.to_string()));

    for i in 0..6 {
        let k = &shard_keys[i % 3];
        let v = format!("value {i}");
        must_ok(&mut cl[i], &["SET", k, &v]);
        exp(i, 0, &format!("\"SET\" \"{k}\" \"{v}\""));
        let r = cl[i].cmd(&["get", k]);
        ck.eq("GET", Resp::bulk(&v), r);
        exp(i, 0, &format!("\"get\" \"{k}\""));
    }
    // Admin commands are not shown.
    let _ = cl[0].cmd(&["CONFIG", "GET", "maxmemory"]);
    must_ok(&mut cl[1], &["CONFIG", "SET", "slowlog-max-len", "128"]);
    let _ = cl[2].cmd(&["SLOWLOG", "LEN"]);
    let _ = cl[3].cmd(&["CLIENT", "LIST"]);
    // Credentials are redacted (no password is configured: AUTH fails, HELLO AUTH works).
    let r = cl[1].cmd(&["AUTH", "secret-password"]);
    ck.ok(matches!(r, Resp::Error(_)), || {
        format!("AUTH without requirepass: {}", show(&r))
    });
    exp(1, 0, "\"AUTH\" \"(redacted)\"");
    let r = cl[2].cmd(&["AUTH", "someone", "secret-password"]);
    ck.ok(matches!(r, Resp::Error(_)), || {
        format!("AUTH someone ...: {}", show(&r))
    });
    exp(2, 0, "\"AUTH\" \"(redacted)\" \"(redacted)\"");
    let r = cl[3].cmd(&[
        "HELLO",
        "2",
        "AUTH",
        "default",
        "secret-password",
        "SETNAME",
        "mon3",
    ]);
    ck.ok(matches!(r, Resp::Array(Some(_))), || {
        format!("HELLO 2 AUTH default ...: {}", show(&r))
    });
    exp(
        3,
        0,
        "\"HELLO\" \"2\" \"AUTH\" \"(redacted)\" \"(redacted)\" \"SETNAME\" \"mon3\"",
    );
    // The db of the line follows SELECT.
    must_ok(&mut cl[4], &["SELECT", "5"]);
    exp(4, 5, "\"SELECT\" \"5\"");
    must_ok(&mut cl[4], &["SET", &shard_keys[1], "in-db5"]);
    exp(4, 5, &format!("\"SET\" \"{}\" \"in-db5\"", shard_keys[1]));
    // Escaping of quotes and binary bytes.
    let r = cl[5].cmd_bytes(&[b"SET", b"q\"k", b"a\x01\n\xffb\\"]);
    ck.eq("SET binary", Resp::ok(), r);
    exp(5, 0, "\"SET\" \"q\\\"k\" \"a\\x01\\n\\xffb\\\\\"");
    // A command that fails still shows; one that is rejected (unknown) does not.
    let r = cl[0].cmd(&["INCR", &shard_keys[0]]);
    ck.ok(matches!(r, Resp::Error(_)), || {
        format!("INCR of a text value: {}", show(&r))
    });
    exp(0, 0, &format!("\"INCR\" \"{}\"", shard_keys[0]));
    let _ = cl[0].cmd(&["NO-SUCH-COMMAND", "x"]);
    let r = cl[2].cmd(&["ECHO", "monitor-end"]);
    ck.eq("ECHO", Resp::bulk("monitor-end"), r);
    exp(2, 0, "\"ECHO\" \"monitor-end\"");

    let raw = m.read_until(b"\"monitor-end\"\r\n", Duration::from_secs(10));
    let text = String::from_utf8_lossy(&raw).into_owned();
    let now_s = now_ms() / 1000;
    let mut got = Vec::new();
    for line in text.split("\r\n").filter(|l| !l.is_empty()) {
        match parse_monitor_line(line, now_s) {
            Ok(p) => got.push(p),
            Err(e) => {
                ck.ok(false, || format!("bad MONITOR line {line:?}: {e}"));
            }
        }
    }
    if got != expected {
        let show_lines = |v: &[(u16, String, String)]| {
            v.iter()
                .map(|(d, a, l)| format!("[{d} {a}] {l}"))
                .collect::<Vec<_>>()
                .join("\n      ")
        };
        ck.ok(false, || {
            format!(
                "MONITOR lines differ.\n    expected:\n      {}\n    got:\n      {}",
                show_lines(&expected),
                show_lines(&got)
            )
        });
    }
    m.assert_silent(Duration::from_millis(200));

    // The monitor goes away: everybody keeps working.
    m.close();
    for (i, c) in cl.iter_mut().enumerate() {
        let r = c.cmd(&["PING"]);
        ck.eq(
            &format!("PING on client {i} after the monitor closed"),
            Resp::Simple("PONG".into()),
            r,
        );
    }
    // A monitor that disconnects while another client streams commands.
    let mut m2 = srv.conn();
    must_ok(&mut m2, &["MONITOR"]);
    let port = srv.port();
    let writer = std::thread::spawn(move || {
        let mut w = RawConn::connect(port);
        let keys = spread_keys("mon-stream", 30);
        let mut bad = 0;
        for round in 0..20 {
            let cmds: Vec<Vec<Vec<u8>>> = (0..100)
                .map(|i| args(&["SET", &keys[i % 30], &format!("{round}-{i}")]))
                .collect();
            bad += pipeline(&mut w, &cmds)
                .into_iter()
                .filter(|r| *r != Resp::ok())
                .count();
        }
        bad
    });
    let _ = m2.read_until(b"mon-stream", Duration::from_secs(10));
    m2.close();
    let bad = writer.join().expect("writer thread");
    ck.eq("failed SETs while a monitor disconnected", 0, bad);
    let mut c = srv.conn();
    ck.eq(
        "PING after the monitors left",
        Resp::Simple("PONG".into()),
        c.cmd(&["PING"]),
    );
    // Connection count settles to the open connections (6 clients + this one).
    let mut last = 0;
    let settled = poll(Duration::from_secs(5), Duration::from_millis(20), || {
        last = info_u64(&mut c, "clients", "connected_clients");
        (last == 7).then_some(())
    });
    ck.ok(settled.is_some(), || {
        format!("connected_clients after the monitors left: expected 7, got {last}")
    });
    ck.finish();
}

#[test]
fn monitor_real_redis() {
    monitor(&Srv::redis(&[]));
}
#[test]
fn monitor_threads_1() {
    monitor(&Srv::tessera(1, &[]));
}
#[test]
fn monitor_threads_3() {
    monitor(&Srv::tessera(3, &[]));
}

// ---------------------------------------------------------------------------
// 4. SLOWLOG
// ---------------------------------------------------------------------------

/// One SLOWLOG entry without id/time/duration: (args, addr, name).
type SlowEntry = (Vec<String>, String, String);

fn slow_entries(ck: &mut Checks, r: &Resp) -> Vec<SlowEntry> {
    let Some(items) = r.items() else {
        ck.ok(false, || format!("SLOWLOG GET: not an array: {}", show(r)));
        return vec![];
    };
    let now_s = (now_ms() / 1000) as i64;
    let mut out = Vec::new();
    let mut prev_id = i64::MAX;
    for e in items {
        let f = e.items().unwrap_or(&[]);
        if !ck.ok(f.len() == 6, || {
            format!("SLOWLOG entry with {} fields: {}", f.len(), show(e))
        }) {
            continue;
        }
        let (id, time, usec) = (f[0].int(), f[1].int(), f[2].int());
        ck.ok(id.is_some_and(|i| i < prev_id), || {
            format!(
                "SLOWLOG ids not strictly decreasing (newest first): {} after {prev_id}",
                show(&f[0])
            )
        });
        prev_id = id.unwrap_or(prev_id);
        ck.ok(time.is_some_and(|t| (t - now_s).abs() <= 30), || {
            format!("SLOWLOG time {} (now {now_s})", show(&f[1]))
        });
        ck.ok(usec.is_some_and(|u| u >= 0), || {
            format!("SLOWLOG duration {}", show(&f[2]))
        });
        let args: Vec<String> = f[3]
            .items()
            .unwrap_or(&[])
            .iter()
            .map(|a| a.text().unwrap_or_default())
            .collect();
        out.push((
            args,
            f[4].text().unwrap_or_default(),
            f[5].text().unwrap_or_default(),
        ));
    }
    out
}

/// Runs the SLOWLOG scenario; returns the entries of the main sequence (addresses
/// replaced by "a"/"b") for comparison between servers.
fn slowlog(srv: &Srv) -> (Vec<SlowEntry>, Vec<String>) {
    let mut ck = Checks::new(format!("SLOWLOG on {}", srv.name()));
    let mut a = srv.conn();
    let mut b = srv.conn();
    let (addr_a, addr_b) = (local_addr(&a), local_addr(&b));
    must_ok(&mut a, &["CLIENT", "SETNAME", "slow-a"]);
    must_ok(&mut b, &["CLIENT", "SETNAME", "slow-b"]);
    must_ok(&mut a, &["CONFIG", "SET", "slowlog-log-slower-than", "0"]);
    must_ok(&mut a, &["SLOWLOG", "RESET"]);
    ck.eq(
        "SLOWLOG LEN right after RESET (the RESET itself is logged)",
        Resp::Int(1),
        a.cmd(&["SLOWLOG", "LEN"]),
    );
    must_ok(&mut a, &["SLOWLOG", "RESET"]);

    let big = "b".repeat(200);
    let mget: Vec<String> = std::iter::once("MGET".to_string())
        .chain(spread_keys("slow-m", 39))
        .collect();
    let mget_refs: Vec<&str> = mget.iter().map(|s| s.as_str()).collect();
    must_ok(&mut a, &["SET", "slow-1", "v1"]);
    ck.eq("GET", Resp::bulk("v1"), b.cmd(&["GET", "slow-1"]));
    must_ok(&mut a, &["SET", "slow-big", &big]);
    let r = b.cmd(&mget_refs);
    ck.ok(r.items().is_some_and(|v| v.len() == 39), || {
        format!("MGET of 39 keys: {}", show(&r))
    });
    ck.eq("INCR", Resp::Int(1), a.cmd(&["INCR", "slow-ctr"]));
    let r = a.cmd(&["SLOWLOG", "GET", "100"]);
    let entries = slow_entries(&mut ck, &r);

    let mut trunc_big = "b".repeat(128);
    trunc_big.push_str("... (72 more bytes)");
    let mut trunc_mget: Vec<String> = mget[..31].to_vec();
    trunc_mget.push("... (9 more arguments)".into());
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let expected: Vec<SlowEntry> = vec![
        (s(&["INCR", "slow-ctr"]), addr_a.clone(), "slow-a".into()),
        (trunc_mget, addr_b.clone(), "slow-b".into()),
        (
            s(&["SET", "slow-big", &trunc_big]),
            addr_a.clone(),
            "slow-a".into(),
        ),
        (s(&["GET", "slow-1"]), addr_b.clone(), "slow-b".into()),
        (s(&["SET", "slow-1", "v1"]), addr_a.clone(), "slow-a".into()),
        (s(&["SLOWLOG", "RESET"]), addr_a.clone(), "slow-a".into()),
    ];
    ck.eq(
        "SLOWLOG GET entries (newest first): args, addr, name",
        &expected,
        &entries,
    );
    ck.eq(
        "SLOWLOG LEN (6 entries + the SLOWLOG GET)",
        Resp::Int(7),
        a.cmd(&["SLOWLOG", "LEN"]),
    );
    let r = a.cmd(&["SLOWLOG", "GET", "2"]);
    let two = slow_entries(&mut ck, &r);
    let two_args: Vec<Vec<String>> = two.into_iter().map(|e| e.0).collect();
    ck.eq(
        "SLOWLOG GET 2",
        vec![s(&["SLOWLOG", "LEN"]), s(&["SLOWLOG", "GET", "100"])],
        two_args,
    );

    // slowlog-max-len holds for the whole server, whichever connection (shard) logs.
    must_ok(&mut a, &["CONFIG", "SET", "slowlog-max-len", "5"]);
    must_ok(&mut a, &["SLOWLOG", "RESET"]);
    let mut many: Vec<RawConn> = (0..9).map(|_| srv.conn()).collect();
    for round in 0..2 {
        for (i, c) in many.iter_mut().enumerate() {
            ck.eq(
                "ECHO",
                Resp::bulk(&format!("e{round}-{i}")),
                c.cmd(&["ECHO", &format!("e{round}-{i}")]),
            );
        }
    }
    ck.eq(
        "SLOWLOG LEN with slowlog-max-len 5 after 18 commands on 9 connections",
        Resp::Int(5),
        a.cmd(&["SLOWLOG", "LEN"]),
    );
    let r = a.cmd(&["SLOWLOG", "GET", "-1"]);
    let last5: Vec<Vec<String>> = slow_entries(&mut ck, &r).into_iter().map(|e| e.0).collect();
    let mut want5 = vec![s(&["SLOWLOG", "LEN"])];
    for i in (5..9).rev() {
        want5.push(vec!["ECHO".into(), format!("e1-{i}")]);
    }
    ck.eq("SLOWLOG GET -1 with slowlog-max-len 5", want5, last5);

    // A negative threshold logs nothing.
    must_ok(&mut a, &["CONFIG", "SET", "slowlog-log-slower-than", "-1"]);
    must_ok(&mut a, &["SLOWLOG", "RESET"]);
    must_ok(&mut b, &["SET", "slow-2", "x"]);
    ck.eq(
        "SLOWLOG LEN with slowlog-log-slower-than -1",
        Resp::Int(0),
        a.cmd(&["SLOWLOG", "LEN"]),
    );
    let anon: Vec<SlowEntry> = entries
        .into_iter()
        .map(|(args, addr, name)| {
            let who = if addr == addr_a {
                "a"
            } else if addr == addr_b {
                "b"
            } else {
                "?"
            };
            (args, who.to_string(), name)
        })
        .collect();
    let fails = ck.fails.clone();
    if !fails.is_empty() {
        eprintln!("SLOWLOG checks failed on {}: {fails:#?}", srv.name());
    }
    (anon, fails)
}

fn slowlog_vs_redis(threads: usize) {
    let (redis_entries, redis_fails) = slowlog(&Srv::redis(&[]));
    assert!(
        redis_fails.is_empty(),
        "the expectations fail on redis-server itself: {redis_fails:#?}"
    );
    let (entries, mut fails) = slowlog(&Srv::tessera(threads, &[]));
    if entries != redis_entries {
        fails.push(format!("SLOWLOG entries differ from redis-server:\n    redis:   {redis_entries:?}\n    tessera: {entries:?}"));
    }
    assert!(
        fails.is_empty(),
        "SLOWLOG on tessera --threads {threads}: {} failed check(s):\n  - {}",
        fails.len(),
        fails.join("\n  - ")
    );
}

#[test]
fn slowlog_real_redis() {
    let (_, fails) = slowlog(&Srv::redis(&[]));
    assert!(fails.is_empty(), "{fails:#?}");
}
#[test]
fn slowlog_threads_1() {
    slowlog_vs_redis(1);
}
#[test]
fn slowlog_threads_3() {
    slowlog_vs_redis(3);
}

// ---------------------------------------------------------------------------
// 5. CLIENT
// ---------------------------------------------------------------------------

/// The CLIENT LIST fields of Redis 7.0, in order.
const CLIENT_FIELDS: &[&str] = &[
    "id",
    "addr",
    "laddr",
    "fd",
    "name",
    "age",
    "idle",
    "flags",
    "db",
    "sub",
    "psub",
    "ssub",
    "multi",
    "qbuf",
    "qbuf-free",
    "argv-mem",
    "multi-mem",
    "rbs",
    "rbp",
    "obl",
    "oll",
    "omem",
    "tot-mem",
    "events",
    "cmd",
    "user",
    "redir",
    "resp",
];

fn parse_client_line(line: &str) -> Vec<(String, String)> {
    line.split(' ')
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (kv.to_string(), String::new()),
        })
        .collect()
}

/// CLIENT LIST as `id -> fields`, checking the field names of every line.
fn client_list(ck: &mut Checks, c: &mut RawConn) -> HashMap<u64, HashMap<String, String>> {
    let text = must_text(c, &["CLIENT", "LIST"]);
    ck.ok(text.ends_with('\n'), || {
        format!("CLIENT LIST does not end with a newline: {text:?}")
    });
    let mut out = HashMap::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        let fields = parse_client_line(line);
        let names: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
        ck.eq("CLIENT LIST field names", CLIENT_FIELDS.to_vec(), names);
        let m: HashMap<String, String> = fields.into_iter().collect();
        let id: u64 = m.get("id").and_then(|v| v.parse().ok()).unwrap_or(0);
        ck.ok(out.insert(id, m).is_none(), || {
            format!("id {id} listed twice")
        });
    }
    out
}

fn client_cmds(srv: &Srv) {
    let mut ck = Checks::new(format!("CLIENT on {}", srv.name()));
    let mut admin = srv.conn();
    let admin_id = must_int(&mut admin, &["CLIENT", "ID"]) as u64;
    let mut conns: Vec<RawConn> = (0..5).map(|_| srv.conn()).collect();
    let ids: Vec<u64> = conns
        .iter_mut()
        .map(|c| must_int(c, &["CLIENT", "ID"]) as u64)
        .collect();
    let addrs: Vec<String> = conns.iter().map(local_addr).collect();
    must_ok(&mut conns[0], &["CLIENT", "SETNAME", "conn-zero"]);
    must_ok(&mut conns[1], &["SELECT", "3"]);
    let _ = conns[2].cmd(&["GET", "some-key"]);

    // LIST: every connection, whatever its shard, with Redis's fields.
    let list = client_list(&mut ck, &mut admin);
    let mut want_ids: BTreeSet<u64> = ids.iter().copied().collect();
    want_ids.insert(admin_id);
    ck.eq(
        "CLIENT LIST ids",
        want_ids,
        list.keys().copied().collect::<BTreeSet<u64>>(),
    );
    let port = srv.port();
    for (i, id) in ids.iter().enumerate() {
        let Some(f) = list.get(id) else { continue };
        let g = |k: &str| f.get(k).cloned().unwrap_or_default();
        ck.eq(&format!("addr of client {i}"), addrs[i].clone(), g("addr"));
        ck.eq(
            &format!("laddr of client {i}"),
            format!("127.0.0.1:{port}"),
            g("laddr"),
        );
        for num in ["fd", "age", "idle", "db", "multi", "qbuf", "omem"] {
            ck.ok(g(num).parse::<i64>().is_ok(), || {
                format!("client {i}: {num}={} is not a number", g(num))
            });
        }
        ck.eq(
            &format!("user of client {i}"),
            "default".to_string(),
            g("user"),
        );
        ck.eq(&format!("resp of client {i}"), "2".to_string(), g("resp"));
        let (name, db, cmd) = match i {
            0 => ("conn-zero", "0", "client|setname"),
            1 => ("", "3", "select"),
            2 => ("", "0", "get"),
            _ => ("", "0", "client|id"),
        };
        ck.eq(&format!("name of client {i}"), name.to_string(), g("name"));
        ck.eq(&format!("db of client {i}"), db.to_string(), g("db"));
        ck.eq(&format!("cmd of client {i}"), cmd.to_string(), g("cmd"));
        ck.eq(&format!("flags of client {i}"), "N".to_string(), g("flags"));
    }
    if let Some(f) = list.get(&admin_id) {
        ck.eq(
            "cmd of the listing client",
            Some(&"client|list".to_string()),
            f.get("cmd"),
        );
    }
    // CLIENT LIST ID filters.
    let one = must_text(&mut admin, &["CLIENT", "LIST", "ID", &ids[3].to_string()]);
    ck.ok(
        one.lines().count() == 1 && one.starts_with(&format!("id={} ", ids[3])),
        || format!("CLIENT LIST ID {}: {one:?}", ids[3]),
    );

    // INFO.
    let info = must_text(&mut conns[0], &["CLIENT", "INFO"]);
    ck.ok(info.ends_with('\n') && info.lines().count() == 1, || {
        format!("CLIENT INFO is not one line: {info:?}")
    });
    let f = parse_client_line(info.trim_end());
    ck.eq(
        "CLIENT INFO field names",
        CLIENT_FIELDS.to_vec(),
        f.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
    );
    let f: HashMap<String, String> = f.into_iter().collect();
    ck.eq("CLIENT INFO id", Some(&ids[0].to_string()), f.get("id"));
    ck.eq(
        "CLIENT INFO name",
        Some(&"conn-zero".to_string()),
        f.get("name"),
    );
    ck.eq("CLIENT INFO addr", Some(&addrs[0]), f.get("addr"));
    ck.eq(
        "CLIENT INFO cmd",
        Some(&"client|info".to_string()),
        f.get("cmd"),
    );

    // SETNAME / GETNAME.
    let c4 = &mut conns[4];
    ck.eq(
        "GETNAME without a name",
        Resp::Bulk(None),
        c4.cmd(&["CLIENT", "GETNAME"]),
    );
    ck.eq(
        "SETNAME with a space",
        Resp::err("ERR Client names cannot contain spaces, newlines or special characters."),
        c4.cmd(&["CLIENT", "SETNAME", "a b"]),
    );
    must_ok(c4, &["CLIENT", "SETNAME", "named-4"]);
    ck.eq(
        "GETNAME",
        Resp::bulk("named-4"),
        c4.cmd(&["CLIENT", "GETNAME"]),
    );
    let line = must_text(&mut admin, &["CLIENT", "LIST", "ID", &ids[4].to_string()]);
    ck.ok(line.contains(" name=named-4 "), || {
        format!("name set on another connection not in CLIENT LIST: {line:?}")
    });
    must_ok(c4, &["CLIENT", "SETNAME", ""]);
    ck.eq(
        "GETNAME after SETNAME \"\"",
        Resp::Bulk(None),
        c4.cmd(&["CLIENT", "GETNAME"]),
    );

    // NO-EVICT.
    must_ok(c4, &["CLIENT", "NO-EVICT", "on"]);
    let info = must_text(c4, &["CLIENT", "INFO"]);
    ck.ok(info.contains(" flags=e "), || {
        format!("CLIENT INFO after NO-EVICT on: {info:?}")
    });
    must_ok(c4, &["CLIENT", "NO-EVICT", "OFF"]);
    let info = must_text(c4, &["CLIENT", "INFO"]);
    ck.ok(info.contains(" flags=N "), || {
        format!("CLIENT INFO after NO-EVICT off: {info:?}")
    });
    ck.eq(
        "NO-EVICT maybe",
        Resp::err("ERR syntax error"),
        c4.cmd(&["CLIENT", "NO-EVICT", "maybe"]),
    );

    // KILL ID: victims are spread over the shards (8 connections: with 3 shards some are
    // on another shard than the killer).
    let mut victims: Vec<RawConn> = (0..8).map(|_| srv.conn()).collect();
    let vids: Vec<u64> = victims
        .iter_mut()
        .map(|c| must_int(c, &["CLIENT", "ID"]) as u64)
        .collect();
    for id in &vids {
        ck.eq(
            &format!("CLIENT KILL ID {id}"),
            Resp::Int(1),
            admin.cmd(&["CLIENT", "KILL", "ID", &id.to_string()]),
        );
    }
    let list = client_list(&mut ck, &mut admin);
    let still: Vec<&u64> = vids.iter().filter(|id| list.contains_key(id)).collect();
    ck.ok(still.is_empty(), || {
        format!("killed clients still in the CLIENT LIST that follows the kill: {still:?}")
    });
    for (i, v) in victims.iter_mut().enumerate() {
        let (closed, bytes) = is_closed(v);
        ck.ok(closed && bytes.is_empty(), || {
            format!(
                "victim {i} (id {}) after CLIENT KILL ID: closed={closed}, got {:?}",
                vids[i],
                String::from_utf8_lossy(&bytes)
            )
        });
    }
    ck.eq(
        "CLIENT KILL ID of a gone client",
        Resp::Int(0),
        admin.cmd(&["CLIENT", "KILL", "ID", &vids[0].to_string()]),
    );
    ck.eq(
        "CLIENT KILL ID 0",
        Resp::err("ERR client-id should be greater than 0"),
        admin.cmd(&["CLIENT", "KILL", "ID", "0"]),
    );

    // KILL ADDR (new and old form).
    let mut v = srv.conn();
    ck.eq("PING", Resp::Simple("PONG".into()), v.cmd(&["PING"]));
    let a = local_addr(&v);
    ck.eq(
        "CLIENT KILL ADDR",
        Resp::Int(1),
        admin.cmd(&["CLIENT", "KILL", "ADDR", &a]),
    );
    let (closed, bytes) = is_closed(&mut v);
    ck.ok(closed && bytes.is_empty(), || {
        format!(
            "after CLIENT KILL ADDR: closed={closed}, got {:?}",
            String::from_utf8_lossy(&bytes)
        )
    });
    let mut w = srv.conn();
    ck.eq("PING", Resp::Simple("PONG".into()), w.cmd(&["PING"]));
    let a = local_addr(&w);
    ck.eq(
        "CLIENT KILL <addr>",
        Resp::ok(),
        admin.cmd(&["CLIENT", "KILL", &a]),
    );
    let (closed, bytes) = is_closed(&mut w);
    ck.ok(closed && bytes.is_empty(), || {
        format!(
            "after CLIENT KILL <addr>: closed={closed}, got {:?}",
            String::from_utf8_lossy(&bytes)
        )
    });
    ck.eq(
        "CLIENT KILL ADDR unknown",
        Resp::Int(0),
        admin.cmd(&["CLIENT", "KILL", "ADDR", "1.2.3.4:5"]),
    );
    ck.eq(
        "CLIENT KILL <unknown addr>",
        Resp::err("ERR No such client"),
        admin.cmd(&["CLIENT", "KILL", "1.2.3.4:5"]),
    );

    // The survivors are untouched and counted.
    for (i, c) in conns.iter_mut().enumerate() {
        ck.eq(
            &format!("PING on surviving client {i}"),
            Resp::Simple("PONG".into()),
            c.cmd(&["PING"]),
        );
    }
    let mut n = 0;
    let ok = poll(Duration::from_secs(5), Duration::from_millis(20), || {
        n = info_u64(&mut admin, "clients", "connected_clients");
        (n == 6).then_some(())
    });
    ck.ok(ok.is_some(), || {
        format!("connected_clients after the kills: expected 6, got {n}")
    });
    ck.finish();
}

#[test]
fn client_real_redis() {
    client_cmds(&Srv::redis(&[]));
}
#[test]
fn client_threads_1() {
    client_cmds(&Srv::tessera(1, &[]));
}
#[test]
fn client_threads_3() {
    client_cmds(&Srv::tessera(3, &[]));
}

// ---------------------------------------------------------------------------
// 6. INFO
// ---------------------------------------------------------------------------

fn info(srv: &Srv) {
    let mut ck = Checks::new(format!("INFO on {}", srv.name()));
    let mut c = srv.conn();
    let mut others: Vec<RawConn> = (0..4).map(|_| srv.conn()).collect();
    for o in others.iter_mut() {
        ck.eq("PING", Resp::Simple("PONG".into()), o.cmd(&["PING"]));
    }
    let text = must_text(&mut c, &["INFO"]);
    let headers: Vec<&str> = text.lines().filter(|l| l.starts_with('#')).collect();
    ck.eq(
        "INFO section headers",
        vec![
            "# Server",
            "# Clients",
            "# Memory",
            "# Persistence",
            "# Stats",
            "# Replication",
            "# CPU",
            "# Modules",
            "# Errorstats",
            "# Cluster",
            "# Keyspace",
        ],
        headers,
    );
    ck.ok(text.contains("\r\n"), || {
        "INFO lines are not CRLF-terminated".into()
    });
    let m = info_map(&mut c, &[]);
    let g = |k: &str| m.get(k).cloned();
    ck.eq(
        "redis_version",
        Some("7.0.15".to_string()),
        g("redis_version"),
    );
    ck.eq("tcp_port", Some(srv.port().to_string()), g("tcp_port"));
    ck.eq(
        "connected_clients",
        Some("5".to_string()),
        g("connected_clients"),
    );
    for f in [
        "used_memory",
        "used_memory_rss",
        "maxmemory",
        "uptime_in_seconds",
        "process_id",
        "total_connections_received",
        "total_commands_processed",
        "expired_keys",
        "evicted_keys",
        "keyspace_hits",
        "keyspace_misses",
    ] {
        let v = g(f);
        ck.ok(v.as_ref().is_some_and(|v| v.parse::<u64>().is_ok()), || {
            format!("INFO {f}: {v:?} is not a number")
        });
    }
    for f in ["used_memory", "used_memory_rss"] {
        ck.ok(
            g(f).and_then(|v| v.parse::<u64>().ok())
                .is_some_and(|v| v > 0),
            || format!("INFO {f} is 0"),
        );
    }
    ck.eq("maxmemory", Some("0".to_string()), g("maxmemory"));
    ck.eq(
        "maxmemory_policy",
        Some("noeviction".to_string()),
        g("maxmemory_policy"),
    );
    ck.eq("role", Some("master".to_string()), g("role"));
    ck.eq(
        "process_id",
        Some(match srv {
            Srv::Tessera(t, _) => t.pid().to_string(),
            Srv::Redis(r) => r.pid().to_string(),
        }),
        g("process_id"),
    );
    must_ok(&mut c, &["CONFIG", "SET", "maxmemory", "100mb"]);
    ck.eq(
        "maxmemory after CONFIG SET 100mb",
        104_857_600,
        info_u64(&mut c, "memory", "maxmemory"),
    );
    must_ok(&mut c, &["CONFIG", "SET", "maxmemory", "0"]);
    // connected_clients follows closes.
    drop(others.pop());
    let mut n = 0;
    let settled = poll(Duration::from_secs(5), Duration::from_millis(20), || {
        n = info_u64(&mut c, "clients", "connected_clients");
        (n == 4).then_some(())
    });
    ck.ok(settled.is_some(), || {
        format!("connected_clients after closing one of 5: expected 4, got {n}")
    });

    // Keyspace.
    must_ok(&mut c, &["FLUSHALL"]);
    let k0 = spread_keys("info-k", 5);
    for (i, k) in k0.iter().enumerate() {
        if i < 2 {
            must_ok(&mut c, &["SET", k, "v", "EX", "1000"]);
        } else {
            must_ok(&mut c, &["SET", k, "v"]);
        }
    }
    must_ok(&mut c, &["SELECT", "2"]);
    for k in spread_keys("info-db2", 3) {
        must_ok(&mut c, &["SET", &k, "v"]);
    }
    must_ok(&mut c, &["SELECT", "0"]);
    let ks = must_text(&mut c, &["INFO", "keyspace"]);
    let lines: Vec<&str> = ks.lines().filter(|l| !l.is_empty()).collect();
    ck.ok(lines.len() == 3 && lines[0] == "# Keyspace", || {
        format!("INFO keyspace: {lines:?}")
    });
    let db0 = lines.get(1).copied().unwrap_or("");
    ck.ok(db0.starts_with("db0:keys=5,expires=2,avg_ttl="), || {
        format!("INFO keyspace db0 line: {db0:?}")
    });
    ck.ok(
        db0.rsplit('=')
            .next()
            .is_some_and(|v| v.parse::<u64>().is_ok()),
        || format!("avg_ttl not a number: {db0:?}"),
    );
    ck.eq(
        "INFO keyspace db2 line",
        Some("db2:keys=3,expires=0,avg_ttl=0"),
        lines.get(2).copied(),
    );

    // Commandstats: exact counts after a known sequence, from several connections.
    must_ok(&mut c, &["CONFIG", "RESETSTAT"]);
    // 4 SETs in one pipeline (keys of every shard), 3 more one by one on other connections.
    let cs = spread_keys("cs", 7);
    let cmds: Vec<Vec<Vec<u8>>> = cs[..4].iter().map(|k| args(&["SET", k, "v"])).collect();
    for r in pipeline(&mut c, &cmds) {
        ck.eq("pipelined SET", Resp::ok(), r);
    }
    for (i, k) in cs[4..].iter().enumerate() {
        must_ok(&mut others[i], &["SET", k, "v"]);
    }
    for k in &cs[..3] {
        ck.eq("GET", Resp::bulk("v"), others[0].cmd(&["GET", k]));
    }
    let stats = must_text(&mut c, &["INFO", "commandstats"]);
    let line = |name: &str| {
        stats
            .lines()
            .find(|l| l.starts_with(&format!("cmdstat_{name}:")))
            .map(str::to_string)
    };
    let calls_field = |l: &Option<String>, f: &str| -> Option<String> {
        l.as_ref()?
            .split(':')
            .nth(1)?
            .split(',')
            .find_map(|kv| kv.strip_prefix(&format!("{f}=")).map(str::to_string))
    };
    let set = line("set");
    ck.eq(
        "cmdstat_set calls after 7 SETs",
        Some("7".to_string()),
        calls_field(&set, "calls"),
    );
    ck.eq(
        "cmdstat_set rejected_calls",
        Some("0".to_string()),
        calls_field(&set, "rejected_calls"),
    );
    ck.eq(
        "cmdstat_set failed_calls",
        Some("0".to_string()),
        calls_field(&set, "failed_calls"),
    );
    ck.eq(
        "cmdstat_get calls after 3 GETs",
        Some("3".to_string()),
        calls_field(&line("get"), "calls"),
    );
    ck.ok(line("incr").is_none(), || {
        format!("cmdstat_incr present without INCR: {:?}", line("incr"))
    });
    ck.ok(line("mget").is_none(), || {
        format!("cmdstat_mget present without MGET: {:?}", line("mget"))
    });
    // RESETSTAT (counted after the reset), 7 SET, 3 GET, the INFO commandstats above.
    ck.eq(
        "total_commands_processed after RESETSTAT + 7 SET + 3 GET + INFO",
        12,
        info_u64(&mut c, "stats", "total_commands_processed"),
    );
    // Multi-key commands across shards count once each.
    let mget: Vec<&str> = std::iter::once("MGET")
        .chain(cs.iter().map(|k| k.as_str()))
        .collect();
    for _ in 0..2 {
        let r = c.cmd(&mget);
        ck.ok(r.items().is_some_and(|v| v.len() == 7), || {
            format!("MGET of 7 keys: {}", show(&r))
        });
    }
    let stats = must_text(&mut c, &["INFO", "commandstats"]);
    let mg = stats
        .lines()
        .find(|l| l.starts_with("cmdstat_mget:"))
        .map(str::to_string);
    ck.eq(
        "cmdstat_mget calls after 2 MGETs over 3 slot groups",
        Some("2".to_string()),
        calls_field(&mg, "calls"),
    );
    // A rejected (arity) and a failed (syntax) SET.
    ck.eq(
        "SET k",
        Resp::err("ERR wrong number of arguments for 'set' command"),
        c.cmd(&["SET", "cs-x"]),
    );
    ck.eq(
        "SET k v BADOPT",
        Resp::err("ERR syntax error"),
        c.cmd(&["SET", "cs-x", "v", "BADOPT"]),
    );
    let stats = must_text(&mut c, &["INFO", "commandstats"]);
    let set = stats
        .lines()
        .find(|l| l.starts_with("cmdstat_set:"))
        .map(str::to_string);
    ck.eq(
        "cmdstat_set calls",
        Some("8".to_string()),
        calls_field(&set, "calls"),
    );
    ck.eq(
        "cmdstat_set rejected_calls",
        Some("1".to_string()),
        calls_field(&set, "rejected_calls"),
    );
    ck.eq(
        "cmdstat_set failed_calls",
        Some("1".to_string()),
        calls_field(&set, "failed_calls"),
    );

    // Errorstats: counted by error code.
    must_ok(&mut c, &["CONFIG", "RESETSTAT"]);
    for k in spread_keys("es-text", 3) {
        must_ok(&mut c, &["SET", &k, "abc"]);
        ck.eq(
            "INCR text",
            Resp::err("ERR value is not an integer or out of range"),
            c.cmd(&["INCR", &k]),
        );
    }
    ck.eq(
        "HELLO 9",
        Resp::err("NOPROTO unsupported protocol version"),
        others[1].cmd(&["HELLO", "9"]),
    );
    let r = others[2].cmd(&["NO-SUCH-CMD"]);
    ck.ok(
        matches!(&r, Resp::Error(e) if e.starts_with("ERR unknown command")),
        || format!("unknown command: {}", show(&r)),
    );
    let es = must_text(&mut c, &["INFO", "errorstats"]);
    let es: Vec<&str> = es.lines().filter(|l| !l.is_empty()).collect();
    ck.eq(
        "INFO errorstats",
        vec![
            "# Errorstats",
            "errorstat_ERR:count=4",
            "errorstat_NOPROTO:count=1",
        ],
        es,
    );
    ck.eq(
        "total_error_replies",
        5,
        info_u64(&mut c, "stats", "total_error_replies"),
    );
    ck.finish();
}

#[test]
fn info_real_redis() {
    info(&Srv::redis(&[]));
}
#[test]
fn info_threads_1() {
    info(&Srv::tessera(1, &[]));
}
#[test]
fn info_threads_3() {
    info(&Srv::tessera(3, &[]));
}

// ---------------------------------------------------------------------------
// 7. Keyspace-wide commands across shards
// ---------------------------------------------------------------------------

/// Full SCAN iteration; returns every key returned (with repeats) and the step count.
fn scan_all(c: &mut RawConn, opts: &[&str], mut between: impl FnMut()) -> (Vec<String>, usize) {
    let mut cursor = "0".to_string();
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    for step in 1..=200_000 {
        let mut cmd = vec!["SCAN", cursor.as_str()];
        cmd.extend_from_slice(opts);
        let r = c.cmd(&cmd);
        let items = r
            .items()
            .unwrap_or_else(|| panic!("SCAN reply {}", show(&r)));
        assert_eq!(items.len(), 2, "SCAN reply {}", show(&r));
        cursor = items[0].text().expect("SCAN cursor");
        out.extend(keys_of(&items[1]));
        if cursor == "0" {
            return (out, step);
        }
        assert!(
            Instant::now() < deadline,
            "SCAN did not finish within 60 s ({step} steps)"
        );
        between();
    }
    panic!("SCAN did not finish within 200000 steps");
}

fn keyspace(srv: &Srv) {
    let mut ck = Checks::new(format!("keyspace commands on {}", srv.name()));
    let mut c = srv.conn();
    must_ok(&mut c, &["FLUSHALL"]);
    ck.eq(
        "RANDOMKEY on an empty db",
        Resp::Bulk(None),
        c.cmd(&["RANDOMKEY"]),
    );
    ck.eq("DBSIZE empty", Resp::Int(0), c.cmd(&["DBSIZE"]));

    let stable = spread_keys("scan-stable", 5000);
    for chunk in stable.chunks(500) {
        let cmds: Vec<Vec<Vec<u8>>> = chunk.iter().map(|k| args(&["SET", k, "s"])).collect();
        assert!(pipeline(&mut c, &cmds).iter().all(|r| *r == Resp::ok()));
    }
    let want: BTreeSet<String> = stable.iter().cloned().collect();
    ck.eq("DBSIZE", Resp::Int(5000), c.cmd(&["DBSIZE"]));

    // KEYS.
    let r = c.cmd(&["KEYS", "*"]);
    let got = keys_of(&r);
    ck.eq("KEYS * count", 5000, got.len());
    ck.ok(got.iter().cloned().collect::<BTreeSet<_>>() == want, || {
        "KEYS * is not the set of keys".into()
    });
    let r = c.cmd(&["KEYS", "scan-stable-1?"]);
    let got: BTreeSet<String> = keys_of(&r).into_iter().collect();
    let want_pat: BTreeSet<String> = stable
        .iter()
        .filter(|k| k.len() == "scan-stable-1?".len() && k.starts_with("scan-stable-1"))
        .cloned()
        .collect();
    ck.eq("KEYS scan-stable-1?", want_pat, got);

    // SCAN without changes: each key exactly once, for several COUNTs.
    for count in ["1", "7", "100", "10000"] {
        let (keys, steps) = scan_all(&mut c, &["COUNT", count], || {});
        let set: BTreeSet<String> = keys.iter().cloned().collect();
        ck.eq(
            &format!("SCAN COUNT {count}: keys returned (with repeats)"),
            5000,
            keys.len(),
        );
        ck.ok(set == want, || {
            format!(
                "SCAN COUNT {count}: not the set of keys ({} distinct)",
                set.len()
            )
        });
        eprintln!("[{}] SCAN COUNT {count}: {steps} steps", srv.name());
    }
    let (keys, _) = scan_all(&mut c, &["MATCH", "scan-stable-2*", "COUNT", "50"], || {});
    let want_m: Vec<String> = {
        let mut v: Vec<String> = stable
            .iter()
            .filter(|k| k.starts_with("scan-stable-2"))
            .cloned()
            .collect();
        v.sort();
        v
    };
    let mut got_m = keys.clone();
    got_m.sort();
    ck.eq("SCAN MATCH scan-stable-2*", want_m, got_m);
    let (keys, _) = scan_all(&mut c, &["TYPE", "string", "COUNT", "1000"], || {});
    ck.eq("SCAN TYPE string", 5000, keys.len());
    let (keys, _) = scan_all(&mut c, &["TYPE", "list"], || {});
    ck.eq("SCAN TYPE list", 0, keys.len());

    // SCAN while another client adds keys: every key present all along is returned.
    let stop = Arc::new(AtomicBool::new(false));
    let finished = Arc::new(AtomicBool::new(false));
    let progress = Arc::new(AtomicU64::new(0));
    let port = srv.port();
    let writer = {
        let (stop, progress, finished) = (stop.clone(), progress.clone(), finished.clone());
        std::thread::spawn(move || {
            let mut w = RawConn::connect(port);
            let deadline = Instant::now() + Duration::from_secs(60);
            let mut bad = 0;
            let mut n = 0;
            while !stop.load(Ordering::Acquire) && n < 20_000 && Instant::now() < deadline {
                let cmds: Vec<Vec<Vec<u8>>> = (n..n + 50)
                    .map(|i| args(&["SET", &format!("scan-new-{i}"), "n"]))
                    .collect();
                bad += pipeline(&mut w, &cmds)
                    .into_iter()
                    .filter(|r| *r != Resp::ok())
                    .count();
                n += 50;
                progress.store(n as u64, Ordering::Release);
            }
            finished.store(true, Ordering::Release);
            (n, bad)
        })
    };
    poll(Duration::from_secs(10), Duration::from_millis(1), || {
        (progress.load(Ordering::Acquire) > 0).then_some(())
    })
    .expect("the writer started");
    let start_progress = progress.load(Ordering::Acquire);
    let (keys, steps) = scan_all(&mut c, &["COUNT", "100"], || {
        // Let the writer add at least one more batch between two SCAN calls.
        let seen = progress.load(Ordering::Acquire);
        poll(Duration::from_secs(5), Duration::from_millis(1), || {
            (progress.load(Ordering::Acquire) > seen || finished.load(Ordering::Acquire))
                .then_some(())
        });
    });
    let end_progress = progress.load(Ordering::Acquire);
    stop.store(true, Ordering::Release);
    let (written, bad) = writer.join().expect("writer");
    ck.eq("failed SETs of the concurrent writer", 0, bad);
    ck.ok(end_progress > start_progress, || {
        "no key was added while SCAN ran (the test did not test anything)".into()
    });
    let got: HashSet<&String> = keys.iter().collect();
    let missing: Vec<&String> = stable.iter().filter(|k| !got.contains(k)).collect();
    ck.ok(missing.is_empty(), || {
        format!("SCAN under concurrent inserts missed {} of the 5000 keys present all along (e.g. {:?})", missing.len(), &missing[..missing.len().min(5)])
    });
    let strange: Vec<&String> = keys
        .iter()
        .filter(|k| !k.starts_with("scan-stable-") && !k.starts_with("scan-new-"))
        .collect();
    ck.ok(strange.is_empty(), || {
        format!("SCAN returned keys never written: {strange:?}")
    });
    eprintln!(
        "[{}] SCAN under inserts: {steps} steps, writer added {} keys during the scan ({written} in all)",
        srv.name(),
        end_progress - start_progress
    );

    // Clean up the new keys: back to the 5000 stable keys.
    let r = c.cmd(&["KEYS", "scan-new-*"]);
    for chunk in keys_of(&r).chunks(500) {
        let mut cmd: Vec<&str> = vec!["DEL"];
        cmd.extend(chunk.iter().map(|s| s.as_str()));
        must_int(&mut c, &cmd);
    }
    ck.eq(
        "DBSIZE after deleting the new keys",
        Resp::Int(5000),
        c.cmd(&["DBSIZE"]),
    );

    // RANDOMKEY: an existing key; over many calls, keys of several shards.
    let mut shards_seen = HashSet::new();
    for _ in 0..60 {
        let r = c.cmd(&["RANDOMKEY"]);
        match r.text() {
            Some(k) if want.contains(&k) => {
                shards_seen.insert(shard_of(&k, 3));
            }
            _ => {
                ck.ok(false, || format!("RANDOMKEY returned {}", show(&r)));
            }
        }
    }
    ck.ok(shards_seen.len() == 3, || {
        format!(
            "60 RANDOMKEYs hit keys of only {} of the 3 slot groups",
            shards_seen.len()
        )
    });

    // SELECT, and the same key name in two dbs.
    must_ok(&mut c, &["SET", "samename", "db0"]);
    must_ok(&mut c, &["SELECT", "5"]);
    ck.eq(
        "GET samename in db5 before SET",
        Resp::Bulk(None),
        c.cmd(&["GET", "samename"]),
    );
    must_ok(&mut c, &["SET", "samename", "db5"]);
    ck.eq("DBSIZE in db5", Resp::Int(1), c.cmd(&["DBSIZE"]));
    ck.eq(
        "RANDOMKEY in db5",
        Resp::bulk("samename"),
        c.cmd(&["RANDOMKEY"]),
    );
    must_ok(&mut c, &["SELECT", "0"]);
    ck.eq(
        "GET samename in db0",
        Resp::bulk("db0"),
        c.cmd(&["GET", "samename"]),
    );
    ck.eq(
        "SELECT 16",
        Resp::err("ERR DB index is out of range"),
        c.cmd(&["SELECT", "16"]),
    );
    ck.eq(
        "SELECT -1",
        Resp::err("ERR DB index is out of range"),
        c.cmd(&["SELECT", "-1"]),
    );
    ck.eq(
        "SELECT abc",
        Resp::err("ERR value is not an integer or out of range"),
        c.cmd(&["SELECT", "abc"]),
    );
    must_int(&mut c, &["DEL", "samename"]);

    // RANDOMKEY with a single key, on each shard in turn.
    must_ok(&mut c, &["SELECT", "7"]);
    for s in 0..3 {
        let k = key_on_shard("lonely", s, 3);
        must_ok(&mut c, &["SET", &k, "x"]);
        for _ in 0..5 {
            ck.eq(
                &format!("RANDOMKEY with only {k}"),
                Resp::bulk(&k),
                c.cmd(&["RANDOMKEY"]),
            );
        }
        must_int(&mut c, &["DEL", &k]);
    }

    // SWAPDB: keys of db0 and db1 exchanged on every shard; a client on db1 sees it.
    must_ok(&mut c, &["SELECT", "1"]);
    let in1 = spread_keys("swap-one", 30);
    for k in &in1 {
        must_ok(&mut c, &["SET", k, &format!("one:{k}")]);
    }
    must_ok(&mut c, &["SET", "scan-stable-0", "db1-version"]);
    must_ok(&mut c, &["SELECT", "0"]);
    let mut on1 = srv.conn();
    must_ok(&mut on1, &["SELECT", "1"]);
    ck.eq("SWAPDB 0 1", Resp::ok(), c.cmd(&["SWAPDB", "0", "1"]));
    ck.eq(
        "DBSIZE of db0 after SWAPDB",
        Resp::Int(31),
        c.cmd(&["DBSIZE"]),
    );
    ck.eq(
        "DBSIZE of db1 after SWAPDB",
        Resp::Int(5000),
        on1.cmd(&["DBSIZE"]),
    );
    let got: BTreeSet<String> = keys_of(&c.cmd(&["KEYS", "*"])).into_iter().collect();
    let mut want0: BTreeSet<String> = in1.iter().cloned().collect();
    want0.insert("scan-stable-0".into());
    ck.eq("KEYS in db0 after SWAPDB", want0, got);
    for k in &in1 {
        ck.eq(
            &format!("GET {k} in db0 after SWAPDB"),
            Resp::bulk(&format!("one:{k}")),
            c.cmd(&["GET", k]),
        );
    }
    ck.eq(
        "GET scan-stable-0 in db0 after SWAPDB",
        Resp::bulk("db1-version"),
        c.cmd(&["GET", "scan-stable-0"]),
    );
    ck.eq(
        "GET scan-stable-0 in db1 after SWAPDB",
        Resp::bulk("s"),
        on1.cmd(&["GET", "scan-stable-0"]),
    );
    for k in stable.iter().step_by(97) {
        ck.eq(
            &format!("GET {k} in db1 after SWAPDB"),
            Resp::bulk("s"),
            on1.cmd(&["GET", k]),
        );
    }
    ck.eq(
        "SWAPDB 0 16",
        Resp::err("ERR DB index is out of range"),
        c.cmd(&["SWAPDB", "0", "16"]),
    );
    ck.eq("SWAPDB back", Resp::ok(), c.cmd(&["SWAPDB", "1", "0"]));
    ck.eq(
        "DBSIZE of db0 after swapping back",
        Resp::Int(5000),
        c.cmd(&["DBSIZE"]),
    );

    // FLUSHDB: only the selected db.
    ck.eq("FLUSHDB on db1", Resp::ok(), on1.cmd(&["FLUSHDB"]));
    ck.eq(
        "DBSIZE db1 after FLUSHDB",
        Resp::Int(0),
        on1.cmd(&["DBSIZE"]),
    );
    ck.eq(
        "DBSIZE db0 after FLUSHDB of db1",
        Resp::Int(5000),
        c.cmd(&["DBSIZE"]),
    );
    ck.eq(
        "FLUSHDB badarg",
        Resp::err("ERR syntax error"),
        c.cmd(&["FLUSHDB", "NOW"]),
    );
    must_ok(&mut on1, &["SET", "in-db1", "x"]);
    must_ok(&mut c, &["SELECT", "9"]);
    must_ok(&mut c, &["SET", "in-db9", "x"]);
    must_ok(&mut c, &["SELECT", "0"]);
    // FLUSHALL: every db, every shard.
    ck.eq("FLUSHALL", Resp::ok(), c.cmd(&["FLUSHALL"]));
    for db in ["0", "1", "5", "9"] {
        must_ok(&mut c, &["SELECT", db]);
        ck.eq(
            &format!("DBSIZE db{db} after FLUSHALL"),
            Resp::Int(0),
            c.cmd(&["DBSIZE"]),
        );
        ck.eq(
            &format!("KEYS * db{db} after FLUSHALL"),
            Resp::Array(Some(vec![])),
            c.cmd(&["KEYS", "*"]),
        );
    }
    let ks = must_text(&mut c, &["INFO", "keyspace"]);
    ck.eq("INFO keyspace after FLUSHALL", "# Keyspace", ks.trim_end());
    ck.finish();
}

#[test]
fn keyspace_real_redis() {
    keyspace(&Srv::redis(&[]));
}
#[test]
fn keyspace_threads_1() {
    keyspace(&Srv::tessera(1, &[]));
}
#[test]
fn keyspace_threads_3() {
    keyspace(&Srv::tessera(3, &[]));
}

// ---------------------------------------------------------------------------
// 8. Robustness: 50 clients x 500 random commands
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Expect {
    Ok,
    Pong,
    BulkEq(Vec<u8>),
    BulkAny,
    BulkSome,
    IntIn(i64, i64),
    IntEq(i64),
    Counter,
    SimpleOneOf(&'static [&'static str]),
    Array(usize),
    Err(String),
    ErrPrefix(&'static str),
}

fn matches_expect(r: &Resp, e: &Expect) -> bool {
    match (e, r) {
        (Expect::Ok, Resp::Simple(s)) => s == "OK",
        (Expect::Pong, Resp::Simple(s)) => s == "PONG",
        (Expect::BulkEq(v), Resp::Bulk(Some(b))) => b == v,
        (Expect::BulkAny, Resp::Bulk(_)) => true,
        (Expect::BulkSome, Resp::Bulk(Some(_))) => true,
        (Expect::IntIn(lo, hi), Resp::Int(i)) => lo <= i && i <= hi,
        (Expect::IntEq(v), Resp::Int(i)) => v == i,
        (Expect::Counter, Resp::Int(i)) => *i >= 1,
        (Expect::SimpleOneOf(opts), Resp::Simple(s)) => opts.contains(&s.as_str()),
        (Expect::Array(n), Resp::Array(Some(v))) => {
            v.len() == *n && v.iter().all(|x| matches!(x, Resp::Bulk(_)))
        }
        (Expect::Err(t), Resp::Error(e)) => e == t,
        (Expect::ErrPrefix(p), Resp::Error(e)) => e.starts_with(p),
        _ => false,
    }
}

fn garbage(rng: &mut rand::rngs::SmallRng, max: usize) -> Vec<u8> {
    use rand::Rng;
    let n = rng.gen_range(1..=max);
    (0..n).map(|_| rng.gen::<u8>()).collect()
}

const NOT_INT: &str = "ERR value is not an integer or out of range";

/// One random command for client `me` and what its reply must be. `num` models the
/// client's private integer key.
fn random_command(
    rng: &mut rand::rngs::SmallRng,
    me: usize,
    num: &mut i64,
) -> (Vec<Vec<u8>>, Expect) {
    use rand::Rng;
    let sk =
        |rng: &mut rand::rngs::SmallRng| format!("rb{me}-s{}", rng.gen_range(0..8)).into_bytes();
    let numkey = format!("rb{me}-n").into_bytes();
    let textkey = format!("rb{me}-t").into_bytes();
    let b = |s: &str| s.as_bytes().to_vec();
    let arity = |name: &str| {
        Expect::Err(format!(
            "ERR wrong number of arguments for '{name}' command"
        ))
    };
    match rng.gen_range(0..32) {
        // ----- valid
        0 => (vec![b("SET"), sk(rng), garbage(rng, 64)], Expect::Ok),
        1 => (vec![b("GET"), sk(rng)], Expect::BulkAny),
        2 => (vec![b("INCR"), b("robust-ctr")], Expect::Counter),
        3 => {
            let by = rng.gen_range(-1000..1000);
            *num += by;
            (
                vec![b("INCRBY"), numkey, b(&by.to_string())],
                Expect::IntEq(*num),
            )
        }
        4 => (vec![b("DEL"), sk(rng), sk(rng)], Expect::IntIn(0, 2)),
        5 => (
            vec![b("EXISTS"), sk(rng), sk(rng), sk(rng)],
            Expect::IntIn(0, 3),
        ),
        6 => (
            vec![
                b("MSET"),
                sk(rng),
                garbage(rng, 20),
                sk(rng),
                garbage(rng, 20),
            ],
            Expect::Ok,
        ),
        7 => (vec![b("MGET"), sk(rng), sk(rng), sk(rng)], Expect::Array(3)),
        8 => (
            vec![b("APPEND"), sk(rng), b("xyz")],
            Expect::IntIn(3, i64::MAX),
        ),
        9 => (vec![b("STRLEN"), sk(rng)], Expect::IntIn(0, i64::MAX)),
        10 => (vec![b("EXPIRE"), sk(rng), b("100")], Expect::IntIn(0, 1)),
        11 => (vec![b("TTL"), sk(rng)], Expect::IntIn(-2, 100)),
        12 => (
            vec![b("TYPE"), sk(rng)],
            Expect::SimpleOneOf(&["string", "none"]),
        ),
        13 => (vec![b("PING")], Expect::Pong),
        14 => {
            let g = garbage(rng, 100);
            (vec![b("ECHO"), g.clone()], Expect::BulkEq(g))
        }
        15 => (
            vec![b("GETRANGE"), sk(rng), b("0"), b("5")],
            Expect::BulkSome,
        ),
        16 => (vec![b("GET"), garbage(rng, 30)], Expect::BulkAny),
        // ----- invalid: wrong arity
        17 => (vec![b("GET")], arity("get")),
        18 => (vec![b("set"), sk(rng)], arity("set")),
        19 => (vec![b("INCR")], arity("incr")),
        20 => (vec![b("MSET"), sk(rng), b("v"), sk(rng)], arity("mset")),
        21 => (vec![b("del")], arity("del")),
        // ----- invalid: unknown commands, binary garbage names
        22 => {
            let mut name = b"\xffnope".to_vec();
            name.extend(garbage(rng, 12));
            (
                vec![name, garbage(rng, 10)],
                Expect::ErrPrefix("ERR unknown command '"),
            )
        }
        23 => (
            vec![b(&format!("notacommand{}", rng.gen::<u16>()))],
            Expect::ErrPrefix("ERR unknown command 'notacommand"),
        ),
        // ----- invalid: bad integers and options
        24 => (
            vec![b("INCRBY"), numkey, b("12abc")],
            Expect::Err(NOT_INT.into()),
        ),
        25 => (
            vec![
                b("EXPIRE"),
                sk(rng),
                garbage(rng, 5).into_iter().map(|c| c | 0x80).collect(),
            ],
            Expect::Err(NOT_INT.into()),
        ),
        26 => (
            vec![b("GETRANGE"), sk(rng), b("a"), b("1")],
            Expect::Err(NOT_INT.into()),
        ),
        27 => (
            vec![b("SET"), sk(rng), b("v"), b("EX"), b("0")],
            Expect::Err("ERR invalid expire time in 'set' command".into()),
        ),
        28 => (
            vec![b("SET"), sk(rng), b("v"), b("NX"), b("XX")],
            Expect::Err("ERR syntax error".into()),
        ),
        29 => (vec![b("INCR"), textkey], Expect::Err(NOT_INT.into())),
        30 => (
            vec![b("SETRANGE"), sk(rng), b("-1"), b("x")],
            Expect::Err("ERR offset is out of range".into()),
        ),
        _ => (
            vec![b("SELECT"), b("99")],
            Expect::Err("ERR DB index is out of range".into()),
        ),
    }
}

fn robustness(srv: &Srv) {
    const CLIENTS: usize = 50;
    const COMMANDS: usize = 500;
    let port = srv.port();
    let deadline = Instant::now() + Duration::from_secs(120);
    let problems: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
    let seed: u64 = 0x7e55_e7a0;
    let mut handles = Vec::new();
    for me in 0..CLIENTS {
        let problems = problems.clone();
        handles.push(std::thread::spawn(move || -> (usize, usize) {
            use rand::SeedableRng;
            let mut rng = rand::rngs::SmallRng::seed_from_u64(seed + me as u64);
            let mut c = RawConn::connect(port);
            c.set_timeout(Duration::from_secs(30));
            let setup = c.cmd(&["SET", &format!("rb{me}-t"), "not a number"]);
            assert_eq!(setup, Resp::ok());
            let setup = c.cmd(&["DEL", &format!("rb{me}-n")]);
            assert!(matches!(setup, Resp::Int(_)));
            let mut num = 0i64;
            let (mut incrs, mut done) = (0, 0);
            for i in 0..COMMANDS {
                if Instant::now() >= deadline {
                    break;
                }
                let (cmd, expect) = random_command(&mut rng, me, &mut num);
                let refs: Vec<&[u8]> = cmd.iter().map(|a| a.as_slice()).collect();
                let r = c.cmd_bytes(&refs);
                if matches!(expect, Expect::Counter) && matches!(r, Resp::Int(_)) {
                    incrs += 1;
                }
                if !matches_expect(&r, &expect) {
                    let shown: Vec<String> = cmd
                        .iter()
                        .map(|a| format!("{:?}", String::from_utf8_lossy(a)))
                        .collect();
                    let mut p = problems.lock().unwrap();
                    if p.len() < 40 {
                        p.push(format!(
                            "client {me} command {i} [{}]: expected {expect:?}, got {}",
                            shown.join(" "),
                            show(&r)
                        ));
                    }
                }
                done += 1;
            }
            (incrs, done)
        }));
    }
    let mut total_incrs = 0;
    let mut total_done = 0;
    let mut died = Vec::new();
    for (i, h) in handles.into_iter().enumerate() {
        match h.join() {
            Ok((n, d)) => {
                total_incrs += n;
                total_done += d;
            }
            Err(e) => {
                let msg = e
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()));
                died.push(format!("client {i} died: {msg:?}"));
            }
        }
    }
    let mut ck = Checks::new(format!("robustness on {}", srv.name()));
    ck.ok(died.is_empty(), || {
        format!("{} client(s) died: {died:?}", died.len())
    });
    ck.eq(
        "commands sent (no client hit the 120 s deadline)",
        CLIENTS * COMMANDS,
        total_done,
    );
    let p = problems.lock().unwrap().clone();
    ck.ok(p.is_empty(), || {
        format!("{} wrong replies:\n      {}", p.len(), p.join("\n      "))
    });
    let mut c = srv.conn();
    ck.eq(
        "PING after the storm",
        Resp::Simple("PONG".into()),
        c.cmd(&["PING"]),
    );
    ck.eq(
        "robust-ctr = number of INCRs",
        Resp::bulk(&total_incrs.to_string()),
        c.cmd(&["GET", "robust-ctr"]),
    );
    let log = srv.log();
    let panics: Vec<&String> = log.iter().filter(|l| l.contains("panicked")).collect();
    ck.ok(panics.is_empty(), || {
        format!("the server log shows panics: {panics:?}")
    });
    eprintln!(
        "[{}] robustness: {total_done} commands, {total_incrs} INCRs",
        srv.name()
    );
    ck.finish();
}

#[test]
fn robustness_real_redis() {
    robustness(&Srv::redis(&[]));
}
#[test]
fn robustness_threads_1() {
    robustness(&Srv::tessera(1, &[]));
}
#[test]
fn robustness_threads_3() {
    robustness(&Srv::tessera(3, &[]));
}
