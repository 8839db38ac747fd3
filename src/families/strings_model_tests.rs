//! Model-based property tests for the string commands (and the keyspace and bitmap
//! commands that act on strings). Random command sequences run on a bare `Shard` and
//! every reply is compared with a small `BTreeMap` model of Redis's semantics.
//!
//! The expected replies, error texts and OBJECT ENCODING rules below were checked
//! against redis-server 7.0.15, in particular:
//! - `int` for canonical integers (string2ll: no `+`, no leading zeros, no `-0`,
//!   within i64) set by SET/GETSET/SETNX/MSET/MSETNX/APPEND-to-missing/INCR...;
//!   `embstr` up to 44 bytes; `raw` above 44 bytes;
//! - `raw` after APPEND to an existing key (even of ""), SETRANGE with a non-empty
//!   value, and any SETBIT (even one that changes nothing: Redis unshares the value);
//! - RENAME and COPY keep the source's encoding (a `raw` string stays `raw`);
//! - GETRANGE/BITCOUNT: `start < 0 && end < 0 && start > end` is empty, otherwise both
//!   clamp to 0 (so `GETRANGE hello -20 -10` is `h`).

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use proptest::prelude::*;
use proptest::test_runner::Config as PtConfig;

use crate::command::exec::exec_on_shard;
use crate::command::table;
use crate::config::Config;
use crate::protocol::Reply;
use crate::shard::Shard;

const KEYS: [&str; 6] = ["a", "b", "{t}x", "{t}y", "{u}1", "longer:key:name"];

const NOT_INT: &str = "ERR value is not an integer or out of range";
const OVERFLOW: &str = "ERR increment or decrement would overflow";

#[derive(Debug, Clone, Copy, PartialEq)]
enum Cond {
    None,
    Nx,
    Xx,
}

#[derive(Debug, Clone)]
enum Op {
    Set(usize, Vec<u8>, Cond, bool),
    Get(usize),
    GetSet(usize, Vec<u8>),
    GetDel(usize),
    Append(usize, Vec<u8>),
    Strlen(usize),
    Incr(usize),
    Decr(usize),
    IncrBy(usize, Vec<u8>),
    DecrBy(usize, Vec<u8>),
    SetRange(usize, i64, Vec<u8>),
    GetRange(usize, i64, i64),
    SetNx(usize, Vec<u8>),
    MSet(Vec<(usize, Vec<u8>)>),
    MGet(Vec<usize>),
    MSetNx(Vec<(usize, Vec<u8>)>),
    Del(Vec<usize>),
    Exists(Vec<usize>),
    SetBit(usize, i64, &'static str),
    GetBit(usize, i64),
    BitCount(usize, Option<(i64, i64)>),
    Rename(usize, usize),
    Copy(usize, usize, bool),
    Type(usize),
}

fn b(s: impl AsRef<[u8]>) -> Bytes {
    Bytes::copy_from_slice(s.as_ref())
}

fn k(i: usize) -> Bytes {
    b(KEYS[i])
}

fn num(n: i64) -> Bytes {
    b(n.to_string())
}

impl Op {
    /// The command line, command name first.
    fn args(&self) -> Vec<Bytes> {
        let mut a = Vec::new();
        match self {
            Op::Set(key, v, cond, get) => {
                a.extend([b("SET"), k(*key), b(v)]);
                match cond {
                    Cond::Nx => a.push(b("NX")),
                    Cond::Xx => a.push(b("XX")),
                    Cond::None => {}
                }
                if *get {
                    a.push(b("GET"));
                }
            }
            Op::Get(key) => a.extend([b("GET"), k(*key)]),
            Op::GetSet(key, v) => a.extend([b("GETSET"), k(*key), b(v)]),
            Op::GetDel(key) => a.extend([b("GETDEL"), k(*key)]),
            Op::Append(key, v) => a.extend([b("APPEND"), k(*key), b(v)]),
            Op::Strlen(key) => a.extend([b("STRLEN"), k(*key)]),
            Op::Incr(key) => a.extend([b("INCR"), k(*key)]),
            Op::Decr(key) => a.extend([b("DECR"), k(*key)]),
            Op::IncrBy(key, by) => a.extend([b("INCRBY"), k(*key), b(by)]),
            Op::DecrBy(key, by) => a.extend([b("DECRBY"), k(*key), b(by)]),
            Op::SetRange(key, off, v) => a.extend([b("SETRANGE"), k(*key), num(*off), b(v)]),
            Op::GetRange(key, s, e) => a.extend([b("GETRANGE"), k(*key), num(*s), num(*e)]),
            Op::SetNx(key, v) => a.extend([b("SETNX"), k(*key), b(v)]),
            Op::MSet(kvs) | Op::MSetNx(kvs) => {
                a.push(b(if matches!(self, Op::MSet(_)) {
                    "MSET"
                } else {
                    "MSETNX"
                }));
                for (key, v) in kvs {
                    a.extend([k(*key), b(v)]);
                }
            }
            Op::MGet(ks) | Op::Del(ks) | Op::Exists(ks) => {
                a.push(b(match self {
                    Op::MGet(_) => "MGET",
                    Op::Del(_) => "DEL",
                    _ => "EXISTS",
                }));
                a.extend(ks.iter().map(|i| k(*i)));
            }
            Op::SetBit(key, off, bit) => a.extend([b("SETBIT"), k(*key), num(*off), b(bit)]),
            Op::GetBit(key, off) => a.extend([b("GETBIT"), k(*key), num(*off)]),
            Op::BitCount(key, range) => {
                a.extend([b("BITCOUNT"), k(*key)]);
                if let Some((s, e)) = range {
                    a.extend([num(*s), num(*e)]);
                }
            }
            Op::Rename(s, d) => a.extend([b("RENAME"), k(*s), k(*d)]),
            Op::Copy(s, d, replace) => {
                a.extend([b("COPY"), k(*s), k(*d)]);
                if *replace {
                    a.push(b("REPLACE"));
                }
            }
            Op::Type(key) => a.extend([b("TYPE"), k(*key)]),
        }
        a
    }
}

fn show(args: &[Bytes]) -> String {
    args.iter()
        .map(|a| format!("{:?}", String::from_utf8_lossy(a)))
        .collect::<Vec<_>>()
        .join(" ")
}

// ---------------------------------------------------------------------------------
// The model

/// A string value and whether it was modified in place (`raw` whatever its content).
#[derive(Debug, Clone)]
struct Val {
    data: Vec<u8>,
    raw: bool,
}

impl Val {
    fn new(data: &[u8]) -> Val {
        Val {
            data: data.to_vec(),
            raw: false,
        }
    }
}

#[derive(Default)]
struct Model {
    map: BTreeMap<Vec<u8>, Val>,
}

/// Redis's string2ll: exactly the canonical decimal form of an i64.
fn canonical_i64(s: &[u8]) -> Option<i64> {
    let t = std::str::from_utf8(s).ok()?;
    let v: i64 = t.parse().ok()?;
    (v.to_string() == t).then_some(v)
}

fn err(s: &str) -> Reply {
    Reply::Error(b(s))
}

fn bulk_or_nil(v: Option<&Val>) -> Reply {
    match v {
        Some(v) => Reply::Bulk(b(&v.data)),
        None => Reply::Nil,
    }
}

/// Redis 7.0 GETRANGE/BITCOUNT range resolution; None = empty.
fn resolve(start: i64, end: i64, len: i64) -> Option<(usize, usize)> {
    if start < 0 && end < 0 && start > end {
        return None;
    }
    let mut s = if start < 0 { start + len } else { start };
    let mut e = if end < 0 { end + len } else { end };
    s = s.max(0);
    e = e.max(0);
    if e >= len {
        e = len - 1;
    }
    if s > e || len == 0 {
        return None;
    }
    Some((s as usize, e as usize))
}

impl Model {
    fn key(i: usize) -> Vec<u8> {
        KEYS[i].as_bytes().to_vec()
    }

    fn get(&self, i: usize) -> Option<&Val> {
        self.map.get(KEYS[i].as_bytes())
    }

    fn put(&mut self, i: usize, v: Val) {
        self.map.insert(Self::key(i), v);
    }

    fn incr_by(&mut self, key: usize, by: i64) -> Reply {
        let cur = match self.get(key) {
            Some(v) => match canonical_i64(&v.data) {
                Some(n) => n,
                None => return err(NOT_INT),
            },
            None => 0,
        };
        let Some(new) = cur.checked_add(by) else {
            return err(OVERFLOW);
        };
        self.put(key, Val::new(new.to_string().as_bytes()));
        Reply::Int(new)
    }

    fn apply(&mut self, op: &Op) -> Reply {
        match op {
            Op::Set(key, v, cond, get) => {
                let old = self.get(*key).cloned();
                let exists = old.is_some();
                let skip = (*cond == Cond::Nx && exists) || (*cond == Cond::Xx && !exists);
                if !skip {
                    self.put(*key, Val::new(v));
                }
                match (get, skip) {
                    (true, _) => bulk_or_nil(old.as_ref()),
                    (false, true) => Reply::Nil,
                    (false, false) => Reply::Ok,
                }
            }
            Op::Get(key) => bulk_or_nil(self.get(*key)),
            Op::GetSet(key, v) => {
                let old = bulk_or_nil(self.get(*key));
                self.put(*key, Val::new(v));
                old
            }
            Op::GetDel(key) => {
                let old = bulk_or_nil(self.get(*key));
                self.map.remove(&Self::key(*key));
                old
            }
            Op::Append(key, v) => match self.map.get_mut(KEYS[*key].as_bytes()) {
                Some(cur) => {
                    cur.data.extend_from_slice(v);
                    cur.raw = true;
                    Reply::Int(cur.data.len() as i64)
                }
                None => {
                    self.put(*key, Val::new(v));
                    Reply::Int(v.len() as i64)
                }
            },
            Op::Strlen(key) => Reply::Int(self.get(*key).map_or(0, |v| v.data.len() as i64)),
            Op::Incr(key) => self.incr_by(*key, 1),
            Op::Decr(key) => self.incr_by(*key, -1),
            Op::IncrBy(key, by) => match canonical_i64(by) {
                Some(by) => self.incr_by(*key, by),
                None => err(NOT_INT),
            },
            Op::DecrBy(key, by) => match canonical_i64(by) {
                Some(i64::MIN) => err("ERR decrement would overflow"),
                Some(by) => self.incr_by(*key, -by),
                None => err(NOT_INT),
            },
            Op::SetRange(key, off, v) => {
                if *off < 0 {
                    return err("ERR offset is out of range");
                }
                let off = *off as usize;
                match self.map.get_mut(KEYS[*key].as_bytes()) {
                    Some(cur) => {
                        if !v.is_empty() {
                            if cur.data.len() < off + v.len() {
                                cur.data.resize(off + v.len(), 0);
                            }
                            cur.data[off..off + v.len()].copy_from_slice(v);
                            cur.raw = true;
                        }
                        Reply::Int(cur.data.len() as i64)
                    }
                    None if v.is_empty() => Reply::Int(0),
                    None => {
                        let mut data = vec![0; off];
                        data.extend_from_slice(v);
                        let n = data.len();
                        self.put(*key, Val { data, raw: true });
                        Reply::Int(n as i64)
                    }
                }
            }
            Op::GetRange(key, s, e) => {
                let data = self.get(*key).map(|v| v.data.clone()).unwrap_or_default();
                match resolve(*s, *e, data.len() as i64) {
                    Some((s, e)) => Reply::Bulk(b(&data[s..=e])),
                    None => Reply::Bulk(Bytes::new()),
                }
            }
            Op::SetNx(key, v) => {
                if self.get(*key).is_some() {
                    Reply::Int(0)
                } else {
                    self.put(*key, Val::new(v));
                    Reply::Int(1)
                }
            }
            Op::MSet(kvs) => {
                for (key, v) in kvs {
                    self.put(*key, Val::new(v));
                }
                Reply::Ok
            }
            Op::MGet(ks) => Reply::Array(ks.iter().map(|i| bulk_or_nil(self.get(*i))).collect()),
            Op::MSetNx(kvs) => {
                if kvs.iter().any(|(key, _)| self.get(*key).is_some()) {
                    return Reply::Int(0);
                }
                for (key, v) in kvs {
                    self.put(*key, Val::new(v));
                }
                Reply::Int(1)
            }
            Op::Del(ks) => Reply::Int(
                ks.iter()
                    .filter(|i| self.map.remove(&Self::key(**i)).is_some())
                    .count() as i64,
            ),
            Op::Exists(ks) => {
                Reply::Int(ks.iter().filter(|i| self.get(**i).is_some()).count() as i64)
            }
            Op::SetBit(key, off, bit) => {
                if *off < 0 {
                    return err("ERR bit offset is not an integer or out of range");
                }
                let on = match *bit {
                    "0" => false,
                    "1" => true,
                    _ => return err("ERR bit is not an integer or out of range"),
                };
                let off = *off as usize;
                let mut cur = self.get(*key).cloned().unwrap_or(Val {
                    data: Vec::new(),
                    raw: true,
                });
                let byte = off / 8;
                if cur.data.len() <= byte {
                    cur.data.resize(byte + 1, 0);
                }
                let mask = 0x80u8 >> (off % 8);
                let old = i64::from(cur.data[byte] & mask != 0);
                if on {
                    cur.data[byte] |= mask;
                } else {
                    cur.data[byte] &= !mask;
                }
                // Redis unshares (makes raw) the value on every SETBIT of an existing key.
                cur.raw = true;
                self.put(*key, cur);
                Reply::Int(old)
            }
            Op::GetBit(key, off) => {
                if *off < 0 {
                    return err("ERR bit offset is not an integer or out of range");
                }
                let off = *off as usize;
                let bit = self
                    .get(*key)
                    .and_then(|v| v.data.get(off / 8))
                    .map_or(0, |byte| (byte >> (7 - off % 8)) & 1);
                Reply::Int(i64::from(bit))
            }
            Op::BitCount(key, range) => {
                let Some(v) = self.get(*key) else {
                    return Reply::Int(0);
                };
                let slice: &[u8] = match range {
                    None => &v.data,
                    Some((s, e)) => match resolve(*s, *e, v.data.len() as i64) {
                        Some((s, e)) => &v.data[s..=e],
                        None => &[],
                    },
                };
                Reply::Int(slice.iter().map(|x| x.count_ones() as i64).sum())
            }
            Op::Rename(s, d) => {
                let Some(v) = self.get(*s).cloned() else {
                    return err("ERR no such key");
                };
                if s != d {
                    self.map.remove(&Self::key(*s));
                    self.put(*d, v);
                }
                Reply::Ok
            }
            Op::Copy(s, d, replace) => {
                if s == d {
                    return err("ERR source and destination objects are the same");
                }
                let Some(v) = self.get(*s).cloned() else {
                    return Reply::Int(0);
                };
                if self.get(*d).is_some() && !replace {
                    return Reply::Int(0);
                }
                self.put(*d, v);
                Reply::Int(1)
            }
            Op::Type(key) => Reply::Simple(b(if self.get(*key).is_some() {
                "string"
            } else {
                "none"
            })),
        }
    }

    /// OBJECT ENCODING as Redis 7.0 reports it (nil for a missing key).
    fn encoding(&self, key: usize) -> Reply {
        let Some(v) = self.get(key) else {
            return Reply::Nil;
        };
        let enc = if v.raw {
            "raw"
        } else if v.data.len() <= 20 && canonical_i64(&v.data).is_some() {
            "int"
        } else if v.data.len() <= 44 {
            "embstr"
        } else {
            "raw"
        };
        Reply::Bulk(b(enc))
    }
}

// ---------------------------------------------------------------------------------
// Running against Tessera

fn new_shard() -> Shard {
    Shard::new(0, 1, Arc::new(Config::default()), 0)
}

fn run(shard: &mut Shard, args: &[Bytes]) -> Reply {
    let name = if args[0].eq_ignore_ascii_case(b"OBJECT") {
        format!(
            "object|{}",
            String::from_utf8_lossy(&args[1]).to_ascii_lowercase()
        )
    } else {
        String::from_utf8_lossy(&args[0]).to_ascii_lowercase()
    };
    let cmd = table::lookup(name.as_bytes()).unwrap_or_else(|| panic!("no command {name}"));
    exec_on_shard(shard, cmd, 0, args)
}

fn object_encoding(shard: &mut Shard, key: usize) -> Reply {
    run(shard, &[b("OBJECT"), b("ENCODING"), k(key)])
}

/// What to check after each step.
#[derive(Clone, Copy)]
enum Check {
    Replies,
    Encodings,
}

fn check_sequence(ops: &[Op], check: Check) -> Result<(), TestCaseError> {
    let mut shard = new_shard();
    let mut model = Model::default();
    for (step, op) in ops.iter().enumerate() {
        let args = op.args();
        let expected = model.apply(op);
        let got = run(&mut shard, &args);
        match check {
            Check::Replies => {
                prop_assert_eq!(&got, &expected, "step {}: {}", step, show(&args));
            }
            Check::Encodings => {
                for key in 0..KEYS.len() {
                    let want = model.encoding(key);
                    let have = object_encoding(&mut shard, key);
                    prop_assert_eq!(
                        &have,
                        &want,
                        "OBJECT ENCODING {} after step {}: {} (value {:?})",
                        KEYS[key],
                        step,
                        show(&args),
                        model
                            .get(key)
                            .map(|v| String::from_utf8_lossy(&v.data).into_owned())
                    );
                }
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------
// Strategies

fn key() -> impl Strategy<Value = usize> {
    0..KEYS.len()
}

fn value() -> impl Strategy<Value = Vec<u8>> {
    let fixed = prop::sample::select(vec![
        "",
        "0",
        "-0",
        "007",
        "+1",
        " 1",
        "1 ",
        "1.5",
        "-",
        "9223372036854775807",
        "9223372036854775806",
        "-9223372036854775808",
        "-9223372036854775807",
        "9223372036854775808",
        "-9223372036854775809",
        "12345678901234567890",
        "-1234567890123456789",
    ]);
    prop_oneof![
        3 => (-1000i64..1000).prop_map(|n| n.to_string().into_bytes()),
        2 => fixed.prop_map(|s| s.as_bytes().to_vec()),
        1 => (0i64..3).prop_map(|d| (i64::MAX - d).to_string().into_bytes()),
        1 => (0i64..3).prop_map(|d| (i64::MIN + d).to_string().into_bytes()),
        3 => "[a-c]{0,6}".prop_map(|s| s.into_bytes()),
        1 => "[a-c]{40,48}".prop_map(|s| s.into_bytes()),
        1 => "[0-9]{18,22}".prop_map(|s| s.into_bytes()),
    ]
}

fn increment() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => (-20i64..20).prop_map(|n| n.to_string().into_bytes()),
        2 => prop::sample::select(vec![
            i64::MAX, i64::MIN, i64::MAX - 1, i64::MIN + 1, 1 << 62, -(1 << 62),
        ])
        .prop_map(|n| n.to_string().into_bytes()),
        1 => prop::sample::select(vec!["abc", "", "1.0", "+1", "-0", "01", "9223372036854775808"])
            .prop_map(|s| s.as_bytes().to_vec()),
    ]
}

fn range_index() -> impl Strategy<Value = i64> {
    prop_oneof![4 => -12i64..12, 1 => prop::sample::select(vec![-100i64, 100, i64::MIN, i64::MAX])]
}

fn kv_pairs() -> impl Strategy<Value = Vec<(usize, Vec<u8>)>> {
    prop::collection::vec((key(), value()), 1..4)
}

fn key_list() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(key(), 1..5)
}

fn op() -> impl Strategy<Value = Op> {
    let cond = prop_oneof![Just(Cond::None), Just(Cond::Nx), Just(Cond::Xx)];
    prop_oneof![
        4 => (key(), value(), cond, any::<bool>()).prop_map(|(k, v, c, g)| Op::Set(k, v, c, g)),
        2 => key().prop_map(Op::Get),
        1 => (key(), value()).prop_map(|(k, v)| Op::GetSet(k, v)),
        1 => key().prop_map(Op::GetDel),
        2 => (key(), value()).prop_map(|(k, v)| Op::Append(k, v)),
        1 => key().prop_map(Op::Strlen),
        2 => key().prop_map(Op::Incr),
        2 => key().prop_map(Op::Decr),
        2 => (key(), increment()).prop_map(|(k, by)| Op::IncrBy(k, by)),
        2 => (key(), increment()).prop_map(|(k, by)| Op::DecrBy(k, by)),
        2 => (key(), -1i64..12, value()).prop_map(|(k, o, v)| Op::SetRange(k, o, v)),
        2 => (key(), range_index(), range_index()).prop_map(|(k, s, e)| Op::GetRange(k, s, e)),
        1 => (key(), value()).prop_map(|(k, v)| Op::SetNx(k, v)),
        1 => kv_pairs().prop_map(Op::MSet),
        1 => key_list().prop_map(Op::MGet),
        1 => kv_pairs().prop_map(Op::MSetNx),
        1 => key_list().prop_map(Op::Del),
        1 => key_list().prop_map(Op::Exists),
        2 => (key(), -1i64..80, prop::sample::select(vec!["0", "1", "0", "1", "2"]))
            .prop_map(|(k, o, v)| Op::SetBit(k, o, v)),
        1 => (key(), -1i64..100).prop_map(|(k, o)| Op::GetBit(k, o)),
        1 => (key(), prop::option::of((range_index(), range_index()))).prop_map(|(k, r)| Op::BitCount(k, r)),
        1 => (key(), key()).prop_map(|(s, d)| Op::Rename(s, d)),
        1 => (key(), key(), any::<bool>()).prop_map(|(s, d, r)| Op::Copy(s, d, r)),
        1 => key().prop_map(Op::Type),
    ]
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(op(), 1..200)
}

fn config() -> PtConfig {
    // No regression files: this module must not write into the source tree.
    PtConfig {
        cases: 256,
        failure_persistence: None,
        ..PtConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    /// Every reply equals the model's.
    #[test]
    fn replies_match_model(ops in ops()) {
        check_sequence(&ops, Check::Replies)?;
    }

    /// After every step, OBJECT ENCODING of each key follows Redis's rules.
    #[test]
    fn encodings_match_model(ops in ops()) {
        check_sequence(&ops, Check::Encodings)?;
    }
}

// ---------------------------------------------------------------------------------
// Fixed sequences (also checked against redis-server 7.0.15).

fn replay(lines: &[(&[&str], Reply)]) {
    let mut shard = new_shard();
    for (args, want) in lines {
        let args: Vec<Bytes> = args.iter().map(b).collect();
        assert_eq!(run(&mut shard, &args), *want, "{}", show(&args));
    }
}

fn enc(s: &str) -> Reply {
    Reply::Bulk(b(s))
}

#[test]
fn model_spot_checks() {
    replay(&[
        (&["SET", "s", "hello"], Reply::Ok),
        (&["GETRANGE", "s", "-20", "-10"], Reply::Bulk(b("h"))),
        (&["GETRANGE", "s", "-10", "-20"], Reply::Bulk(b(""))),
        (&["BITCOUNT", "s", "-20", "-10"], Reply::Int(3)),
        (&["SET", "n", "-0"], Reply::Ok),
        (&["INCR", "n"], err(NOT_INT)),
        (&["SET", "n", "9223372036854775807"], Reply::Ok),
        (&["INCRBY", "n", "0"], Reply::Int(i64::MAX)),
        (&["INCR", "n"], err(OVERFLOW)),
        (
            &["DECRBY", "missing", "-9223372036854775808"],
            err("ERR decrement would overflow"),
        ),
        (&["RENAME", "missing", "missing"], err("ERR no such key")),
        (
            &["COPY", "missing", "missing"],
            err("ERR source and destination objects are the same"),
        ),
        (&["APPEND", "e", ""], Reply::Int(0)),
        (&["OBJECT", "ENCODING", "e"], enc("embstr")),
        (&["SETRANGE", "z", "3", ""], Reply::Int(0)),
        (&["EXISTS", "z"], Reply::Int(0)),
        (&["SET", "i", "12"], Reply::Ok),
        (&["SETRANGE", "i", "0", ""], Reply::Int(2)),
        (&["OBJECT", "ENCODING", "i"], enc("int")),
        (&["APPEND", "i", ""], Reply::Int(2)),
        (&["OBJECT", "ENCODING", "i"], enc("raw")),
        (&["INCRBY", "i", "0"], Reply::Int(12)),
        (&["OBJECT", "ENCODING", "i"], enc("int")),
    ]);
}
