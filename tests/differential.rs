//! Differential test: the same command scripts run against a real redis-server 7.0 and
//! against tessera-server (once with `--threads 1`, once with `--threads 3`), and every
//! reply must be identical.
//!
//! The scripts live in `tests/data/differential*.txt` (one file per family). Format:
//!
//! ```text
//! # comment (whole line)
//! === script name            starts a new script (fresh connections, FLUSHALL first)
//! SET k "a b\x00" 'raw'      one command; args split on whitespace
//! [2] GET k                  run on connection #2 of the script (default #1)
//! @sort KEYS *               modifier, then the command
//! ```
//!
//! Quoting: `"..."` understands `\" \\ \n \r \t \0 \xHH`; `'...'` is literal; `""` is the
//! empty string. Unquoted token expansions:
//! `$rep(N,TEXT)` = TEXT repeated N times (one arg); `$seq(P,N)` = args P0 .. P(N-1);
//! `$pairs(P,N)` = args P0 v0 P1 v1 ... ; `$NAME` = a value captured with `@capture`.
//!
//! Modifiers (how the two replies are compared):
//! * (none)              rendered replies must be equal
//! * `@sort`             top-level array elements sorted first (KEYS, order-free replies)
//! * `@sortdeep`         arrays at every depth sorted (COMMAND INFO subcommands)
//! * `@scanstep`         one SCAN call: only "is it [cursor, [keys...]]" is compared
//! * `@approx N`         integers (and integer-looking bulk strings) may differ by <= N
//! * `@maskint`          every integer is replaced by `(int)` (HELLO: the client id)
//! * `@shape`            only the structure is compared (types, lengths); errors exactly
//! * `@ignore`           run on both, compare nothing
//! * `@capture NAME`     like `@shape`, and stores each server's reply as `$NAME`
//! * `@repeat N`         run the command N times, `%i` in args replaced by 0..N-1
//! * `@scan OPTS...`     iterate `SCAN cursor OPTS...` to cursor 0 on each server, compare
//!   the sorted set of keys returned (and that every step has the right shape)
//! * `@randomkey`        RANDOMKEY: nil on both, or on each side a key that EXISTS there
//! * `@clientfields`     CLIENT LIST/INFO: compare the field names of the (distinct) lines
//! * `@infosections`     INFO: compare the list of `# Section` headers
//! * `@slowlog`          SLOWLOG GET: compare entries without id/time/duration/address
//! * `@reconnect`        (no command) drop the script's connections (after QUIT etc.)
//!
//! Plain-socket modifiers (exact reply bytes compared; combine only with @ignore/@maskint,
//! which then masks `:N` integer lines):
//! * `@raw CMD...`       the command RESP-encoded on plain socket N (`[N]`, own numbering)
//! * `@inline TEXT`      TEXT + CRLF sent as an inline command
//! * `@rawbytes ARGS`    the args concatenated and sent as they are (protocol errors)
//! * `@rawread`          send nothing, read one more reply (pipelining, closed sockets)
//!
//! All mismatches of all scripts are collected and reported together at the end. If
//! tessera is unreachable before a script (it exited during the previous one), that is
//! reported and a fresh tessera-server is started, so one crash hides nothing else.
//!
//! Tests: `differential_threads_1` / `differential_threads_3` (redis vs tessera),
//! `scripts_are_deterministic_on_redis` (redis vs redis: guards against scripts whose
//! replies are not reproducible, which would make tessera "mismatches" noise), and
//! `script_file_parses` (the tokenizer).

mod common;

use common::{RedisServer, TestServer};
use redis::{Connection, RedisResult, Value};
use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::time::Duration;

/// Every `tests/data/differential*.txt`, in name order: (file name, text). Each family
/// keeps its scripts in its own file.
fn script_files() -> Vec<(String, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
        .expect("tests/data")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| {
            let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            n.starts_with("differential") && n.ends_with(".txt")
        })
        .map(|p| {
            let name = p
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("")
                .to_string();
            let text = std::fs::read_to_string(&p).expect("script file");
            (name, text)
        })
        .collect();
    files.sort();
    files
}

thread_local! {
    /// The script file being parsed, for error messages.
    static FILE: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

fn cur_file() -> String {
    FILE.with(|f| f.borrow().clone())
}

/// All scripts of all files; a script's name carries its file when not the main one.
fn all_scripts() -> Vec<Script> {
    let mut out = Vec::new();
    for (name, text) in script_files() {
        FILE.with(|f| *f.borrow_mut() = name.clone());
        for mut s in parse_scripts(&text) {
            if name != "differential.txt" {
                s.name = format!("{name}: {}", s.name);
            }
            out.push(s);
        }
    }
    // Scripts named "zz ..." (the real SHUTDOWN) run after every file's scripts.
    let (mut rest, last): (Vec<Script>, Vec<Script>) =
        out.into_iter().partition(|s| !s.name.starts_with("zz "));
    rest.extend(last);
    rest
}

// ---------------------------------------------------------------------------
// Script parsing
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Tok {
    Lit(Vec<u8>),
    Var(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Mode {
    Exact,
    Sort,
    SortDeep,
    ScanStep,
    Approx(i64),
    MaskInt,
    Shape,
    Ignore,
    Capture(String),
    Scan,
    RandomKey,
    ClientFields,
    InfoSections,
    Slowlog,
    Reconnect,
}

/// How a line reaches the server.
#[derive(Debug, Clone, PartialEq)]
enum Wire {
    /// Through the `redis` crate (a `redis::Connection`).
    Client,
    /// `@raw`: RESP-encoded on a plain socket; the reply's exact bytes are compared.
    Raw,
    /// `@inline TEXT`: TEXT + CRLF sent as an inline command on the plain socket.
    Inline(String),
    /// `@rawbytes ARGS`: the concatenated args sent as they are, then one reply read.
    Bytes,
    /// `@rawread`: nothing sent, one more reply read from the plain socket.
    Read,
}

#[derive(Debug, Clone)]
struct Line {
    line_no: usize,
    text: String,
    conn: usize,
    mode: Mode,
    repeat: Option<usize>,
    wire: Wire,
    args: Vec<Tok>,
}

#[derive(Debug)]
struct Script {
    name: String,
    lines: Vec<Line>,
}

fn tokenize(s: &str, line_no: usize) -> Vec<Tok> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let fail = |msg: &str| -> ! { panic!("{} line {line_no}: {msg}: {s}", cur_file()) };
    while i < b.len() {
        if b[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if b[i] == b'"' {
            let mut cur = Vec::new();
            i += 1;
            loop {
                if i >= b.len() {
                    fail("unterminated \"");
                }
                match b[i] {
                    b'"' => {
                        i += 1;
                        break;
                    }
                    b'\\' => {
                        i += 1;
                        if i >= b.len() {
                            fail("dangling backslash");
                        }
                        match b[i] {
                            b'n' => cur.push(b'\n'),
                            b'r' => cur.push(b'\r'),
                            b't' => cur.push(b'\t'),
                            b'0' => cur.push(0),
                            b'x' => {
                                let hex = s.get(i + 1..i + 3).unwrap_or_else(|| fail("bad \\x"));
                                cur.push(
                                    u8::from_str_radix(hex, 16).unwrap_or_else(|_| fail("bad \\x")),
                                );
                                i += 2;
                            }
                            c => cur.push(c),
                        }
                        i += 1;
                    }
                    c => {
                        cur.push(c);
                        i += 1;
                    }
                }
            }
            out.push(Tok::Lit(cur));
        } else if b[i] == b'\'' {
            let end = s[i + 1..]
                .find('\'')
                .unwrap_or_else(|| fail("unterminated '"));
            out.push(Tok::Lit(b[i + 1..i + 1 + end].to_vec()));
            i += end + 2;
        } else {
            let start = i;
            while i < b.len() && !b[i].is_ascii_whitespace() {
                i += 1;
            }
            let word = &s[start..i];
            out.extend(expand_word(word, line_no));
        }
    }
    out
}

/// `$rep(N,TEXT)`, `$seq(P,N)`, `$pairs(P,N)`, `$NAME`, or a literal word.
fn expand_word(word: &str, line_no: usize) -> Vec<Tok> {
    let call = |name: &str| -> Option<(String, String)> {
        let inner = word.strip_prefix(name)?.strip_suffix(')')?;
        let (a, b) = inner.split_once(',')?;
        Some((a.to_string(), b.to_string()))
    };
    let num = |s: &str| -> usize {
        s.parse()
            .unwrap_or_else(|_| panic!("{} line {line_no}: bad number in {word}", cur_file()))
    };
    if let Some((n, text)) = call("$rep(") {
        return vec![Tok::Lit(text.repeat(num(&n)).into_bytes())];
    }
    if let Some((p, n)) = call("$seq(") {
        return (0..num(&n))
            .map(|i| Tok::Lit(format!("{p}{i}").into_bytes()))
            .collect();
    }
    if let Some((p, n)) = call("$pairs(") {
        return (0..num(&n))
            .flat_map(|i| {
                [
                    Tok::Lit(format!("{p}{i}").into_bytes()),
                    Tok::Lit(format!("v{i}").into_bytes()),
                ]
            })
            .collect();
    }
    if let Some(name) = word.strip_prefix('$') {
        if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return vec![Tok::Var(name.to_string())];
        }
    }
    vec![Tok::Lit(word.as_bytes().to_vec())]
}

fn parse_scripts(src: &str) -> Vec<Script> {
    let mut scripts: Vec<Script> = Vec::new();
    for (idx, raw) in src.lines().enumerate() {
        let line_no = idx + 1;
        let mut rest: String = raw.trim().to_string();
        if rest.is_empty() || rest.starts_with('#') {
            continue;
        }
        if let Some(name) = rest.clone().strip_prefix("===") {
            scripts.push(Script {
                name: name.trim().to_string(),
                lines: Vec::new(),
            });
            continue;
        }
        let script = scripts
            .last_mut()
            .unwrap_or_else(|| panic!("{} line {line_no}: command before ===", cur_file()));
        let mut conn = 1;
        if rest.starts_with('[') {
            let end = rest.find(']').expect("[N] prefix");
            conn = rest[1..end].parse().expect("[N] prefix number");
            rest = rest[end + 1..].trim_start().to_string();
        }
        let mut mode = Mode::Exact;
        let mut repeat = None;
        let mut wire = Wire::Client;
        while let Some(after) = rest.clone().strip_prefix('@') {
            let (word, tail) = after.split_once(char::is_whitespace).unwrap_or((after, ""));
            let tail = tail.trim_start();
            let take_arg = |tail: &str| -> (String, String) {
                let (a, t) = tail.split_once(char::is_whitespace).unwrap_or((tail, ""));
                (a.to_string(), t.trim_start().to_string())
            };
            let next;
            match word {
                "sort" => {
                    mode = Mode::Sort;
                    next = tail.to_string();
                }
                "sortdeep" => {
                    mode = Mode::SortDeep;
                    next = tail.to_string();
                }
                "scanstep" => {
                    mode = Mode::ScanStep;
                    next = tail.to_string();
                }
                "approx" => {
                    let (n, t) = take_arg(tail);
                    mode = Mode::Approx(n.parse().expect("@approx N"));
                    next = t;
                }
                "repeat" => {
                    let (n, t) = take_arg(tail);
                    repeat = Some(n.parse().expect("@repeat N"));
                    next = t;
                }
                "capture" => {
                    let (n, t) = take_arg(tail);
                    mode = Mode::Capture(n);
                    next = t;
                }
                "maskint" => {
                    mode = Mode::MaskInt;
                    next = tail.to_string();
                }
                "shape" => {
                    mode = Mode::Shape;
                    next = tail.to_string();
                }
                "ignore" => {
                    mode = Mode::Ignore;
                    next = tail.to_string();
                }
                "scan" => {
                    mode = Mode::Scan;
                    next = tail.to_string();
                }
                "randomkey" => {
                    mode = Mode::RandomKey;
                    next = tail.to_string();
                }
                "clientfields" => {
                    mode = Mode::ClientFields;
                    next = tail.to_string();
                }
                "infosections" => {
                    mode = Mode::InfoSections;
                    next = tail.to_string();
                }
                "slowlog" => {
                    mode = Mode::Slowlog;
                    next = tail.to_string();
                }
                "raw" => {
                    wire = Wire::Raw;
                    next = tail.to_string();
                }
                "inline" => {
                    wire = Wire::Inline(tail.to_string());
                    next = String::new();
                }
                "rawbytes" => {
                    wire = Wire::Bytes;
                    next = tail.to_string();
                }
                "rawread" => {
                    wire = Wire::Read;
                    next = tail.to_string();
                }
                "reconnect" => {
                    mode = Mode::Reconnect;
                    next = tail.to_string();
                }
                other => panic!("{} line {line_no}: unknown modifier @{other}", cur_file()),
            }
            rest = next.trim().to_string();
        }
        let args = tokenize(&rest, line_no);
        if wire != Wire::Client && !matches!(mode, Mode::Exact | Mode::Ignore | Mode::MaskInt) {
            panic!(
                "{} line {line_no}: raw lines allow only @ignore/@maskint",
                cur_file()
            );
        }
        if args.is_empty()
            && !matches!(mode, Mode::Reconnect | Mode::Scan | Mode::RandomKey)
            && !matches!(wire, Wire::Inline(_) | Wire::Read)
        {
            panic!("{} line {line_no}: no command", cur_file());
        }
        script.lines.push(Line {
            line_no,
            text: raw.trim().to_string(),
            conn,
            mode,
            repeat,
            wire,
            args,
        });
    }
    scripts
}

// ---------------------------------------------------------------------------
// Reply rendering
// ---------------------------------------------------------------------------

fn esc(b: &[u8]) -> String {
    let mut s = String::from("\"");
    for &c in b {
        match c {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'\t' => s.push_str("\\t"),
            0x20..=0x7e => s.push(c as char),
            _ => {
                let _ = write!(s, "\\x{c:02x}");
            }
        }
    }
    s.push('"');
    s
}

fn render_err(e: &redis::RedisError) -> String {
    if e.is_io_error() || e.is_connection_dropped() {
        return "(connection closed)".into();
    }
    match e.code() {
        Some(code) => match e.detail() {
            Some(d) => format!("(error) {code} {d}"),
            None => format!("(error) {code}"),
        },
        None => format!("(client error) {e}"),
    }
}

fn render(v: &Value) -> String {
    match v {
        Value::Nil => "(nil)".into(),
        Value::Int(i) => format!("(integer) {i}"),
        Value::BulkString(b) => esc(b),
        Value::SimpleString(s) => format!("+{s}"),
        Value::Okay => "+OK".into(),
        Value::Array(a) => format!("[{}]", a.iter().map(render).collect::<Vec<_>>().join(", ")),
        Value::Set(a) => format!("~[{}]", a.iter().map(render).collect::<Vec<_>>().join(", ")),
        Value::Map(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{} => {}", render(k), render(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Double(d) => format!("(double) {d:?}"),
        Value::Boolean(b) => format!("(bool) {b}"),
        Value::VerbatimString { format, text } => {
            format!("(verbatim {format:?}) {}", esc(text.as_bytes()))
        }
        Value::BigNumber(n) => format!("(bignum) {n}"),
        Value::ServerError(e) => match e.details() {
            Some(d) => format!("(error) {} {d}", e.code()),
            None => format!("(error) {}", e.code()),
        },
        other => format!("{other:?}"),
    }
}

fn render_res(r: &RedisResult<Value>) -> String {
    match r {
        Ok(v) => render(v),
        Err(e) => render_err(e),
    }
}

/// Structure only: types and lengths; map keys and errors are kept exactly.
fn shape(v: &Value) -> String {
    match v {
        Value::Nil => "nil".into(),
        Value::Int(_) => "int".into(),
        Value::BulkString(_) => "bulk".into(),
        Value::SimpleString(_) => "simple".into(),
        Value::Okay => "+OK".into(),
        Value::Array(a) => format!("[{}]", a.iter().map(shape).collect::<Vec<_>>().join(", ")),
        Value::Set(a) => format!("~[{}]", a.iter().map(shape).collect::<Vec<_>>().join(", ")),
        Value::Map(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{} => {}", render(k), shape(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Double(_) => "double".into(),
        Value::Boolean(_) => "bool".into(),
        Value::VerbatimString { .. } => "verbatim".into(),
        Value::BigNumber(_) => "bignum".into(),
        Value::ServerError(_) => render(v),
        other => format!("{other:?}"),
    }
}

fn mask_int(v: &Value) -> Value {
    match v {
        Value::Int(_) => Value::SimpleString("(int)".into()),
        Value::Array(a) => Value::Array(a.iter().map(mask_int).collect()),
        Value::Set(a) => Value::Set(a.iter().map(mask_int).collect()),
        Value::Map(m) => Value::Map(m.iter().map(|(k, v)| (k.clone(), mask_int(v))).collect()),
        other => other.clone(),
    }
}

fn sorted(v: &Value) -> String {
    match v {
        Value::Array(a) | Value::Set(a) => {
            let mut items: Vec<String> = a.iter().map(render).collect();
            items.sort();
            format!("sorted[{}]", items.join(", "))
        }
        other => render(other),
    }
}

/// Every array (at any depth) sorted: for replies whose nested order is unspecified
/// (COMMAND INFO subcommands).
fn sorted_deep(v: &Value) -> String {
    match v {
        Value::Array(a) | Value::Set(a) => {
            let mut items: Vec<String> = a.iter().map(sorted_deep).collect();
            items.sort();
            format!("sorted[{}]", items.join(", "))
        }
        Value::Map(m) => {
            let mut items: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{} => {}", sorted_deep(k), sorted_deep(v)))
                .collect();
            items.sort();
            format!("sorted{{{}}}", items.join(", "))
        }
        other => render(other),
    }
}

/// One SCAN step: "[cursor, keys]" when the reply has SCAN's shape, else the reply.
fn scan_step(r: &RedisResult<Value>) -> String {
    match r {
        Ok(Value::Array(p))
            if p.len() == 2
                && matches!(&p[0], Value::BulkString(c) if std::str::from_utf8(c).is_ok_and(|c| c.parse::<u64>().is_ok()))
                && matches!(&p[1], Value::Array(ks) if ks.iter().all(|k| matches!(k, Value::BulkString(_)))) =>
        {
            "[cursor, keys]".into()
        }
        other => render_res(other),
    }
}

fn as_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        Value::BulkString(b) => std::str::from_utf8(b).ok()?.parse().ok(),
        _ => None,
    }
}

fn approx_eq(a: &Value, b: &Value, tol: i64) -> bool {
    match (a, b) {
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| approx_eq(p, q, tol))
        }
        _ => match (as_i64(a), as_i64(b)) {
            (Some(p), Some(q)) if std::mem::discriminant(a) == std::mem::discriminant(b) => {
                (p as i128 - q as i128).abs() <= tol as i128
            }
            _ => render(a) == render(b),
        },
    }
}

fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::VerbatimString { text, .. } => Some(text.clone()),
        Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    }
}

fn value_bytes(v: &Value) -> Vec<u8> {
    match v {
        Value::Int(i) => i.to_string().into_bytes(),
        Value::BulkString(b) => b.clone(),
        Value::SimpleString(s) => s.clone().into_bytes(),
        Value::Okay => b"OK".to_vec(),
        other => render(other).into_bytes(),
    }
}

/// Field names (the part before '=') of every line of a CLIENT LIST / INFO reply.
fn client_fields(r: &RedisResult<Value>) -> String {
    match r {
        Ok(v) => match value_text(v) {
            // Distinct lines only: how many other connections exist is not compared.
            Some(t) => t
                .lines()
                .map(|l| {
                    l.split(' ')
                        .map(|f| f.split('=').next().unwrap_or(""))
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect::<Vec<_>>()
                .join(" | "),
            None => format!("not a string: {}", render(v)),
        },
        Err(e) => render_err(e),
    }
}

fn info_sections(r: &RedisResult<Value>) -> String {
    match r {
        Ok(v) => match value_text(v) {
            Some(t) => t
                .lines()
                .filter(|l| l.starts_with('#'))
                .collect::<Vec<_>>()
                .join(" "),
            None => format!("not a string: {}", render(v)),
        },
        Err(e) => render_err(e),
    }
}

/// SLOWLOG GET entries: [id, time, duration, args, addr, name] -> [args, name].
fn slowlog_view(r: &RedisResult<Value>) -> String {
    match r {
        Ok(Value::Array(entries)) => {
            let parts: Vec<String> = entries
                .iter()
                .map(|e| match e {
                    Value::Array(f) if f.len() == 6 => {
                        let ok = matches!(
                            (&f[0], &f[1], &f[2], &f[4]),
                            (
                                Value::Int(_),
                                Value::Int(_),
                                Value::Int(_),
                                Value::BulkString(_)
                            )
                        );
                        format!(
                            "{}args={} name={}",
                            if ok { "" } else { "BADSHAPE " },
                            render(&f[3]),
                            render(&f[5])
                        )
                    }
                    other => format!("bad entry {}", render(other)),
                })
                .collect();
            format!("[{}]", parts.join(", "))
        }
        Ok(v) => format!("not an array: {}", render(v)),
        Err(e) => render_err(e),
    }
}

// ---------------------------------------------------------------------------
// Running
// ---------------------------------------------------------------------------

// ---------------------------------------------------------------------------
// Plain sockets for exact-bytes comparisons
// ---------------------------------------------------------------------------

enum Stream {
    Tcp(std::net::TcpStream),
    Unix(std::os::unix::net::UnixStream),
}

impl std::io::Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
        }
    }
}

impl std::io::Write for Stream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// How long a plain socket waits for a reply (a server that neither answers nor closes).
const RAW_READ_TIMEOUT: Duration = Duration::from_secs(5);

fn raw_connect(target: &Target) -> std::io::Result<BufReader<Stream>> {
    let stream = match target {
        Target::Tcp(p) => {
            let s = std::net::TcpStream::connect(("127.0.0.1", *p))?;
            s.set_read_timeout(Some(RAW_READ_TIMEOUT))?;
            s.set_nodelay(true)?;
            Stream::Tcp(s)
        }
        Target::Unix(p) => {
            let s = std::os::unix::net::UnixStream::connect(p)?;
            s.set_read_timeout(Some(RAW_READ_TIMEOUT))?;
            Stream::Unix(s)
        }
    };
    Ok(BufReader::new(stream))
}

/// Reads one complete RESP2/RESP3 reply, appending its exact bytes to `out`
/// (with `mask_ints`, every `:N` integer line is written as `:(int)`).
fn read_reply(
    r: &mut BufReader<Stream>,
    out: &mut Vec<u8>,
    mask_ints: bool,
) -> std::io::Result<()> {
    let mut line = Vec::new();
    if r.read_until(b'\n', &mut line)? == 0 || !line.ends_with(b"\r\n") {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "closed",
        ));
    }
    let body = &line[1..line.len() - 2];
    let num = || -> std::io::Result<i64> {
        std::str::from_utf8(body)
            .ok()
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, "bad length"))
    };
    if mask_ints && line[0] == b':' {
        out.extend_from_slice(b":(int)\r\n");
    } else {
        out.extend_from_slice(&line);
    }
    match line[0] {
        b'$' | b'=' | b'!' => {
            let n = num()?;
            if n >= 0 {
                let mut buf = vec![0u8; n as usize + 2];
                r.read_exact(&mut buf)?;
                out.extend_from_slice(&buf);
            }
        }
        b'*' | b'~' | b'>' => {
            for _ in 0..num()?.max(0) {
                read_reply(r, out, mask_ints)?;
            }
        }
        b'%' => {
            for _ in 0..num()?.max(0) * 2 {
                read_reply(r, out, mask_ints)?;
            }
        }
        b'|' => {
            for _ in 0..num()?.max(0) * 2 {
                read_reply(r, out, mask_ints)?;
            }
            read_reply(r, out, mask_ints)?; // the value the attribute belongs to
        }
        _ => {}
    }
    Ok(())
}

#[derive(Clone)]
enum Target {
    Tcp(u16),
    Unix(std::path::PathBuf),
}

struct Side {
    label: &'static str,
    target: Target,
    conns: HashMap<usize, Connection>,
    raw_conns: HashMap<usize, BufReader<Stream>>,
    vars: HashMap<String, Vec<u8>>,
}

impl Side {
    fn new(label: &'static str, target: Target) -> Side {
        Side {
            label,
            target,
            conns: HashMap::new(),
            raw_conns: HashMap::new(),
            vars: HashMap::new(),
        }
    }

    fn connect(&self) -> RedisResult<Connection> {
        let url = match &self.target {
            Target::Tcp(p) => format!("redis://127.0.0.1:{p}/"),
            Target::Unix(p) => format!("redis+unix://{}", p.display()),
        };
        let con = redis::Client::open(url.as_str())?
            .get_connection_with_timeout(Duration::from_secs(10))?;
        con.set_read_timeout(Some(common::CLIENT_READ_TIMEOUT))?;
        Ok(con)
    }

    fn reset(&mut self) {
        self.conns.clear();
        self.raw_conns.clear();
        self.vars.clear();
    }

    fn args(&self, toks: &[Tok], iter: Option<usize>) -> Vec<Vec<u8>> {
        toks.iter()
            .map(|t| {
                let mut b = match t {
                    Tok::Lit(b) => b.clone(),
                    Tok::Var(n) => self
                        .vars
                        .get(n)
                        .unwrap_or_else(|| panic!("undefined variable ${n}"))
                        .clone(),
                };
                if let Some(i) = iter {
                    let s = String::from_utf8_lossy(&b).replace("%i", &i.to_string());
                    if s.as_bytes() != b.as_slice() {
                        b = s.into_bytes();
                    }
                }
                b
            })
            .collect()
    }

    fn run(&mut self, conn: usize, args: &[Vec<u8>]) -> RedisResult<Value> {
        if !self.conns.contains_key(&conn) {
            let c = self.connect()?;
            self.conns.insert(conn, c);
        }
        let con = self.conns.get_mut(&conn).unwrap();
        let mut cmd = redis::Cmd::new();
        for a in args {
            cmd.arg(a.as_slice());
        }
        let r = cmd.query::<Value>(con);
        if let Err(e) = &r {
            if e.is_io_error() || e.is_connection_dropped() || e.is_unrecoverable_error() {
                self.conns.remove(&conn);
            }
        }
        r
    }

    /// Sends `bytes` (if any) on plain socket `conn` and reads one reply: its exact bytes,
    /// escaped, or "(connection closed)" / "(no reply: ...)".
    fn raw(&mut self, conn: usize, bytes: Option<Vec<u8>>, mask_ints: bool) -> String {
        if !self.raw_conns.contains_key(&conn) {
            match raw_connect(&self.target) {
                Ok(c) => {
                    self.raw_conns.insert(conn, c);
                }
                Err(e) => return format!("(cannot connect: {e})"),
            }
        }
        let r = self.raw_conns.get_mut(&conn).unwrap();
        if let Some(b) = bytes {
            if r.get_mut().write_all(&b).is_err() {
                // The server closed the socket earlier (EPIPE / ECONNRESET).
                self.raw_conns.remove(&conn);
                return "(connection closed)".into();
            }
        }
        let mut out = Vec::new();
        match read_reply(r, &mut out, mask_ints) {
            Ok(()) => esc(&out),
            Err(e) => {
                self.raw_conns.remove(&conn);
                if out.is_empty() && e.kind() == std::io::ErrorKind::UnexpectedEof {
                    "(connection closed)".into()
                } else if out.is_empty() && matches!(e.kind(), std::io::ErrorKind::ConnectionReset)
                {
                    "(connection closed)".into()
                } else {
                    format!("(no reply: {:?} after {})", e.kind(), esc(&out))
                }
            }
        }
    }

    /// Full SCAN iteration: the sorted set of keys, or a description of what went wrong.
    fn scan_all(&mut self, conn: usize, opts: &[Vec<u8>]) -> String {
        let mut cursor = b"0".to_vec();
        let mut keys = BTreeSet::new();
        for _ in 0..100_000 {
            let mut args = vec![b"SCAN".to_vec(), cursor.clone()];
            args.extend(opts.iter().cloned());
            let r = self.run(conn, &args);
            match r {
                Ok(Value::Array(parts)) if parts.len() == 2 => match (&parts[0], &parts[1]) {
                    (Value::BulkString(c), Value::Array(ks)) => {
                        for k in ks {
                            match k {
                                Value::BulkString(k) => {
                                    keys.insert(esc(k));
                                }
                                other => return format!("non-bulk key {}", render(other)),
                            }
                        }
                        cursor = c.clone();
                        if cursor == b"0" {
                            return format!(
                                "{} keys: [{}]",
                                keys.len(),
                                keys.into_iter().collect::<Vec<_>>().join(", ")
                            );
                        }
                    }
                    _ => return format!("bad SCAN reply {}", render(&Value::Array(parts))),
                },
                other => return format!("bad SCAN reply {}", render_res(&other)),
            }
        }
        "SCAN did not finish in 100000 calls".into()
    }

    fn randomkey(&mut self, conn: usize) -> String {
        match self.run(conn, &[b"RANDOMKEY".to_vec()]) {
            Ok(Value::Nil) => "(nil)".into(),
            Ok(Value::BulkString(k)) => match self.run(conn, &[b"EXISTS".to_vec(), k.clone()]) {
                Ok(Value::Int(1)) => "<a key that exists>".into(),
                other => format!("key {} but EXISTS says {}", esc(&k), render_res(&other)),
            },
            other => render_res(&other),
        }
    }
}

/// Runs one line (one iteration) on both sides; Some(mismatch) when they differ.
fn run_line(
    redis: &mut Side,
    tess: &mut Side,
    line: &Line,
    iter: Option<usize>,
) -> Option<(String, String, String)> {
    let ra = redis.args(&line.args, iter);
    let ta = tess.args(&line.args, iter);
    let shown = ra
        .iter()
        .map(|a| {
            let s = esc(a);
            if s.len() > 80 {
                format!("{}...\"({} bytes)", &s[..60], a.len())
            } else {
                s
            }
        })
        .collect::<Vec<_>>()
        .join(" ");
    if line.wire != Wire::Client {
        let mask = line.mode == Mode::MaskInt;
        let payload = |args: &[Vec<u8>]| -> Option<Vec<u8>> {
            match &line.wire {
                Wire::Raw => {
                    let mut b = format!("*{}\r\n", args.len()).into_bytes();
                    for a in args {
                        b.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
                        b.extend_from_slice(a);
                        b.extend_from_slice(b"\r\n");
                    }
                    Some(b)
                }
                Wire::Inline(text) => Some(format!("{text}\r\n").into_bytes()),
                Wire::Bytes => Some(args.concat()),
                Wire::Read | Wire::Client => None,
            }
        };
        let rs = redis.raw(line.conn, payload(&ra), mask);
        let ts = tess.raw(line.conn, payload(&ta), mask);
        let shown = match &line.wire {
            Wire::Inline(t) => format!("(inline) {t}"),
            Wire::Bytes => format!("(bytes) {}", esc(&ra.concat())),
            Wire::Read => "(read one more reply)".into(),
            _ => format!("(raw) {shown}"),
        };
        if line.mode == Mode::Ignore || rs == ts {
            return None;
        }
        return Some((shown, rs, ts));
    }
    let (rs, ts) = match &line.mode {
        Mode::Reconnect => {
            for side in [&mut *redis, &mut *tess] {
                side.conns.clear();
                side.raw_conns.clear();
            }
            return None;
        }
        Mode::Scan => (
            redis.scan_all(line.conn, &ra),
            tess.scan_all(line.conn, &ta),
        ),
        Mode::RandomKey => (redis.randomkey(line.conn), tess.randomkey(line.conn)),
        mode => {
            let rr = redis.run(line.conn, &ra);
            let tr = tess.run(line.conn, &ta);
            match mode {
                Mode::Exact => (render_res(&rr), render_res(&tr)),
                Mode::Ignore => return None,
                Mode::Sort => {
                    let f = |r: &RedisResult<Value>| match r {
                        Ok(v) => sorted(v),
                        Err(e) => render_err(e),
                    };
                    (f(&rr), f(&tr))
                }
                Mode::SortDeep => {
                    let f = |r: &RedisResult<Value>| match r {
                        Ok(v) => sorted_deep(v),
                        Err(e) => render_err(e),
                    };
                    (f(&rr), f(&tr))
                }
                Mode::ScanStep => (scan_step(&rr), scan_step(&tr)),
                Mode::Approx(tol) => {
                    if let (Ok(a), Ok(b)) = (&rr, &tr) {
                        if approx_eq(a, b, *tol) {
                            return None;
                        }
                    }
                    (render_res(&rr), render_res(&tr))
                }
                Mode::MaskInt => {
                    let f = |r: &RedisResult<Value>| match r {
                        Ok(v) => render(&mask_int(v)),
                        Err(e) => render_err(e),
                    };
                    (f(&rr), f(&tr))
                }
                Mode::Shape | Mode::Capture(_) => {
                    if let Mode::Capture(name) = mode {
                        if let Ok(v) = &rr {
                            redis.vars.insert(name.clone(), value_bytes(v));
                        }
                        if let Ok(v) = &tr {
                            tess.vars.insert(name.clone(), value_bytes(v));
                        }
                    }
                    let f = |r: &RedisResult<Value>| match r {
                        Ok(v) => shape(v),
                        Err(e) => render_err(e),
                    };
                    (f(&rr), f(&tr))
                }
                Mode::ClientFields => (client_fields(&rr), client_fields(&tr)),
                Mode::InfoSections => (info_sections(&rr), info_sections(&tr)),
                Mode::Slowlog => (slowlog_view(&rr), slowlog_view(&tr)),
                Mode::Scan | Mode::RandomKey | Mode::Reconnect => unreachable!(),
            }
        }
    };
    if rs == ts {
        None
    } else {
        Some((shown, rs, ts))
    }
}

/// Runs every script on the reference redis-server and on `candidate`; returns the
/// number of compared cases and a report of every mismatch (empty when all agree).
/// `restart`, if given, starts a fresh candidate server: used when the candidate is
/// unreachable before a script (it exited during the previous one), so that one crash
/// does not hide the results of the remaining scripts.
fn compare_all(
    reference: Target,
    candidate: Target,
    what: &str,
    mut restart: Option<&mut dyn FnMut() -> Target>,
) -> (usize, Vec<String>) {
    let scripts = all_scripts();
    let mut redis = Side::new("redis", reference);
    let mut tess = Side::new(
        if what.starts_with("tessera") {
            "tessera"
        } else {
            "candidate"
        },
        candidate,
    );

    let mut mismatches: Vec<String> = Vec::new();
    let mut cases = 0usize;

    'scripts: for script in &scripts {
        redis.reset();
        tess.reset();
        for (is_candidate, side) in [(false, &mut redis), (true, &mut tess)] {
            // The slow log outlives FLUSHALL; clear it too (result not compared).
            let _ = side.run(0, &[b"SLOWLOG".to_vec(), b"RESET".to_vec()]);
            let mut flushed = side.run(0, &[b"FLUSHALL".to_vec()]);
            if let (Err(e), true, Some(restart)) = (&flushed, is_candidate, restart.as_mut()) {
                if e.is_io_error() || e.is_connection_dropped() {
                    mismatches.push(format!(
                        "--- [{}] {} was unreachable before this script ({e}): it exited \
                         during the previous script; restarted it",
                        script.name, side.label
                    ));
                    side.target = restart();
                    flushed = side.run(0, &[b"FLUSHALL".to_vec()]);
                }
            }
            if let Err(e) = flushed {
                mismatches.push(format!(
                    "ABORTED: {}: FLUSHALL before script '{}' failed: {e}",
                    side.label, script.name
                ));
                break 'scripts;
            }
            side.conns.remove(&0);
        }
        for line in &script.lines {
            let iters: Vec<Option<usize>> = match line.repeat {
                Some(n) => (0..n).map(Some).collect(),
                None => vec![None],
            };
            for it in iters {
                if line.mode != Mode::Reconnect {
                    cases += 1;
                }
                if let Some((command, r, t)) = run_line(&mut redis, &mut tess, line, it) {
                    let command = if it.is_some() {
                        format!("{command}   [{}]", line.text)
                    } else {
                        command
                    };
                    mismatches.push(format!(
                        "--- [{}] line {}: {}\n    redis:   {}\n    {}: {}",
                        script.name, line.line_no, command, r, tess.label, t
                    ));
                }
            }
        }
    }
    eprintln!(
        "differential {what}: {} scripts, {cases} cases, {} mismatches",
        scripts.len(),
        mismatches.len()
    );
    (cases, mismatches)
}

fn run_against_tessera(tessera_args: &[&str]) {
    let redis_srv = RedisServer::start(&[]);
    let mut tess_servers = vec![TestServer::start(tessera_args)];
    let first = Target::Tcp(tess_servers[0].port);
    let mut restart = || {
        let srv = TestServer::start(tessera_args);
        let target = Target::Tcp(srv.port);
        tess_servers.push(srv);
        target
    };
    let what = format!("tessera {tessera_args:?}");
    let (cases, mismatches) = compare_all(
        Target::Unix(redis_srv.socket_path().to_path_buf()),
        first,
        &what,
        Some(&mut restart),
    );
    assert!(
        mismatches.is_empty(),
        "{what} differs from redis-server in {} of {cases} cases:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

#[test]
fn differential_threads_1() {
    run_against_tessera(&["--threads", "1"]);
}

#[test]
fn differential_threads_3() {
    run_against_tessera(&["--threads", "3"]);
}

/// The scripts themselves must be deterministic: two redis-servers agree on every case
/// (otherwise a tessera "mismatch" could be noise).
#[test]
fn scripts_are_deterministic_on_redis() {
    let a = RedisServer::start(&[]);
    let b = RedisServer::start(&[]);
    let (cases, mismatches) = compare_all(
        Target::Unix(a.socket_path().to_path_buf()),
        Target::Unix(b.socket_path().to_path_buf()),
        "redis vs redis",
        None,
    );
    assert!(
        mismatches.is_empty(),
        "two redis-servers disagree in {} of {cases} cases (fix the script):\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

#[test]
fn script_file_parses() {
    let scripts = all_scripts();
    assert!(scripts.len() > 10);
    let toks = tokenize(
        r#"a "b c" 'd e' "" "\x00\xff\n" $rep(3,ab) $seq(k,2) $v"#,
        0,
    );
    let lit: Vec<Vec<u8>> = toks
        .iter()
        .map(|t| match t {
            Tok::Lit(b) => b.clone(),
            Tok::Var(n) => format!("${n}").into_bytes(),
        })
        .collect();
    assert_eq!(
        lit,
        vec![
            b"a".to_vec(),
            b"b c".to_vec(),
            b"d e".to_vec(),
            b"".to_vec(),
            vec![0, 0xff, b'\n'],
            b"ababab".to_vec(),
            b"k0".to_vec(),
            b"k1".to_vec(),
            b"$v".to_vec(),
        ]
    );
}
