//! Hash commands on a bare shard: fixed cases plus random command sequences checked
//! against a `BTreeMap` model, with small listpack thresholds so conversions happen.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use proptest::prelude::*;

use crate::command::exec::exec_on_shard;
use crate::command::table;
use crate::config::Config;
use crate::protocol::Reply;
use crate::shard::Shard;

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn shard() -> Shard {
    let mut cfg = Config::default();
    cfg.set(&[
        (b"hash-max-listpack-entries", b"4"),
        (b"hash-max-listpack-value", b"8"),
    ])
    .expect("valid config");
    Shard::new(0, 1, Arc::new(cfg), 0)
}

fn run(shard: &mut Shard, args: &[&str]) -> Reply {
    let args: Vec<Bytes> = args.iter().map(|a| b(a)).collect();
    let name = if args[0].eq_ignore_ascii_case(b"OBJECT") {
        "object|encoding".to_string()
    } else {
        String::from_utf8_lossy(&args[0]).to_ascii_lowercase()
    };
    let cmd = table::lookup(name.as_bytes()).unwrap_or_else(|| panic!("no command {name}"));
    exec_on_shard(shard, cmd, 0, &args)
}

fn bulk(s: &str) -> Reply {
    Reply::Bulk(b(s))
}

fn err(s: &str) -> Reply {
    Reply::Error(b(s))
}

#[test]
fn fixed_cases() {
    let mut s = shard();
    assert_eq!(
        run(&mut s, &["HSET", "h", "a", "1", "b", "2"]),
        Reply::Int(2)
    );
    assert_eq!(
        run(&mut s, &["HSET", "h", "a"]),
        err("ERR wrong number of arguments for 'hset' command")
    );
    assert_eq!(run(&mut s, &["HGET", "h", "a"]), bulk("1"));
    assert_eq!(
        run(&mut s, &["HINCRBY", "h", "a", "9223372036854775807"]),
        err("ERR increment or decrement would overflow")
    );
    assert_eq!(run(&mut s, &["HINCRBYFLOAT", "h", "a", "0.5"]), bulk("1.5"));
    assert_eq!(
        run(&mut s, &["HINCRBY", "h", "a", "1"]),
        err("ERR hash value is not an integer")
    );
    assert_eq!(
        run(&mut s, &["HINCRBYFLOAT", "h", "a", "inf"]),
        err("ERR value is NaN or Infinity")
    );
    assert_eq!(
        run(&mut s, &["HRANDFIELD", "h", "5", "WITHVALUES", "x"]),
        err("ERR syntax error")
    );
    assert_eq!(run(&mut s, &["HSCAN", "h", "x"]), err("ERR invalid cursor"));
    assert_eq!(
        run(&mut s, &["HSCAN", "nokey", "0", "COUNT", "0"]),
        Reply::Array(vec![bulk("0"), Reply::Array(vec![])])
    );
    assert_eq!(
        run(&mut s, &["HSCAN", "h", "0", "COUNT", "0"]),
        err("ERR syntax error")
    );
    assert_eq!(run(&mut s, &["SET", "str", "x"]), Reply::Ok);
    let wrong = err("WRONGTYPE Operation against a key holding the wrong kind of value");
    for cmd in [
        &["HGET", "str", "a"][..],
        &["HSET", "str", "a", "b"],
        &["HDEL", "str", "a"],
        &["HRANDFIELD", "str"],
    ] {
        assert_eq!(run(&mut s, cmd), wrong);
    }
    assert_eq!(
        run(&mut s, &["HRANDFIELD", "h", "-3"]).approx_len() > 0,
        true
    );
    assert_eq!(run(&mut s, &["HDEL", "h", "a", "b"]), Reply::Int(2));
    assert_eq!(run(&mut s, &["EXISTS", "h"]), Reply::Int(0));
    assert_eq!(
        run(&mut s, &["HINCRBY", "n", "f", "x"]),
        err("ERR value is not an integer or out of range")
    );
    assert_eq!(run(&mut s, &["EXISTS", "n"]), Reply::Int(0));
}

#[test]
fn hrandfield_distinct_and_repeated() {
    let mut s = shard();
    for i in 0..20 {
        run(&mut s, &["HSET", "h", &format!("f{i}"), "v"]);
    }
    for count in [1usize, 5, 10, 19, 20, 30] {
        let Reply::Array(items) = run(&mut s, &["HRANDFIELD", "h", &count.to_string()]) else {
            panic!()
        };
        let set: std::collections::HashSet<_> = items.iter().map(|r| format!("{r:?}")).collect();
        assert_eq!(items.len(), count.min(20));
        assert_eq!(set.len(), items.len());
    }
    let Reply::Array(items) = run(&mut s, &["HRANDFIELD", "h", "-50"]) else {
        panic!()
    };
    assert_eq!(items.len(), 50);
    let Reply::Pairs(pairs) = run(&mut s, &["HRANDFIELD", "h", "-5", "WITHVALUES"]) else {
        panic!()
    };
    assert!(pairs.iter().all(|(_, v)| *v == bulk("v")));
}

#[derive(Debug, Clone)]
enum Op {
    Set(usize, Vec<(u8, String)>),
    SetNx(usize, u8, String),
    Del(usize, Vec<u8>),
    Get(usize, u8),
    IncrBy(usize, u8, i64),
    Strlen(usize, u8),
    Exists(usize, u8),
    Len(usize),
    GetAll(usize),
    Encoding(usize),
}

const HKEYS: [&str; 2] = ["h1", "{x}h2"];

fn field(i: u8) -> String {
    if i == 6 {
        "long-field-name".into()
    } else {
        format!("f{i}")
    }
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![(-5i64..5).prop_map(|n| n.to_string()), "[a-z]{0,10}",]
}

fn op() -> impl Strategy<Value = Op> {
    let k = 0..HKEYS.len();
    prop_oneof![
        4 => (k.clone(), proptest::collection::vec((0u8..7, value()), 1..4)).prop_map(|(k, p)| Op::Set(k, p)),
        1 => (k.clone(), 0u8..7, value()).prop_map(|(k, f, v)| Op::SetNx(k, f, v)),
        2 => (k.clone(), proptest::collection::vec(0u8..7, 1..4)).prop_map(|(k, f)| Op::Del(k, f)),
        1 => (k.clone(), 0u8..7).prop_map(|(k, f)| Op::Get(k, f)),
        1 => (k.clone(), 0u8..7, -3i64..3).prop_map(|(k, f, n)| Op::IncrBy(k, f, n)),
        1 => (k.clone(), 0u8..7).prop_map(|(k, f)| Op::Strlen(k, f)),
        1 => (k.clone(), 0u8..7).prop_map(|(k, f)| Op::Exists(k, f)),
        1 => k.clone().prop_map(Op::Len),
        1 => k.clone().prop_map(Op::GetAll),
        1 => k.prop_map(Op::Encoding),
    ]
}

/// One key of the model: its fields, and whether it has become a hashtable.
#[derive(Default)]
struct Model {
    map: BTreeMap<String, String>,
    table: bool,
}

impl Model {
    fn set(&mut self, f: &str, v: &str) -> bool {
        self.table |= f.len() > 8 || v.len() > 8;
        let new = self.map.insert(f.into(), v.into()).is_none();
        self.table |= self.map.len() > 4;
        new
    }
}

proptest! {
    #[test]
    fn commands_match_the_model(ops in proptest::collection::vec(op(), 1..80)) {
        let mut s = shard();
        let mut models: Vec<Option<Model>> = vec![None, None];
        for op in ops {
            match op {
                Op::Set(k, pairs) => {
                    let mut args = vec!["HSET".to_string(), HKEYS[k].into()];
                    let m = models[k].get_or_insert_with(Model::default);
                    let mut added = 0;
                    for (f, v) in &pairs {
                        added += i64::from(m.set(&field(*f), v));
                        args.push(field(*f));
                        args.push(v.clone());
                    }
                    let args: Vec<&str> = args.iter().map(String::as_str).collect();
                    prop_assert_eq!(run(&mut s, &args), Reply::Int(added));
                }
                Op::SetNx(k, f, v) => {
                    let m = models[k].get_or_insert_with(Model::default);
                    let f = field(f);
                    let want = if m.map.contains_key(&f) { 0 } else { m.set(&f, &v); 1 };
                    prop_assert_eq!(run(&mut s, &["HSETNX", HKEYS[k], &f, &v]), Reply::Int(want));
                }
                Op::Del(k, fields) => {
                    let mut args = vec!["HDEL".to_string(), HKEYS[k].into()];
                    let mut n = 0;
                    for f in &fields {
                        if let Some(m) = models[k].as_mut() {
                            n += i64::from(m.map.remove(&field(*f)).is_some());
                        }
                        args.push(field(*f));
                    }
                    if models[k].as_ref().is_some_and(|m| m.map.is_empty()) {
                        models[k] = None;
                    }
                    let args: Vec<&str> = args.iter().map(String::as_str).collect();
                    prop_assert_eq!(run(&mut s, &args), Reply::Int(n));
                }
                Op::Get(k, f) => {
                    let want = models[k].as_ref().and_then(|m| m.map.get(&field(f))).map_or(Reply::Nil, |v| bulk(v));
                    prop_assert_eq!(run(&mut s, &["HGET", HKEYS[k], &field(f)]), want);
                }
                Op::IncrBy(k, f, n) => {
                    let f = field(f);
                    let cur = models[k].as_ref().and_then(|m| m.map.get(&f).cloned());
                    let want = match cur.as_deref().map(str::parse::<i64>) {
                        Some(Err(_)) => err("ERR hash value is not an integer"),
                        Some(Ok(c)) => {
                            let v = c + n;
                            models[k].get_or_insert_with(Model::default).set(&f, &v.to_string());
                            Reply::Int(v)
                        }
                        None => {
                            models[k].get_or_insert_with(Model::default).set(&f, &n.to_string());
                            Reply::Int(n)
                        }
                    };
                    prop_assert_eq!(run(&mut s, &["HINCRBY", HKEYS[k], &f, &n.to_string()]), want);
                }
                Op::Strlen(k, f) => {
                    let want = models[k].as_ref().and_then(|m| m.map.get(&field(f))).map_or(0, |v| v.len() as i64);
                    prop_assert_eq!(run(&mut s, &["HSTRLEN", HKEYS[k], &field(f)]), Reply::Int(want));
                }
                Op::Exists(k, f) => {
                    let want = models[k].as_ref().is_some_and(|m| m.map.contains_key(&field(f)));
                    prop_assert_eq!(run(&mut s, &["HEXISTS", HKEYS[k], &field(f)]), Reply::Int(i64::from(want)));
                }
                Op::Len(k) => {
                    let want = models[k].as_ref().map_or(0, |m| m.map.len() as i64);
                    prop_assert_eq!(run(&mut s, &["HLEN", HKEYS[k]]), Reply::Int(want));
                }
                Op::GetAll(k) => {
                    let Reply::Map(pairs) = run(&mut s, &["HGETALL", HKEYS[k]]) else {
                        return Err(TestCaseError::fail("HGETALL is not a map"));
                    };
                    let mut got: Vec<(Reply, Reply)> = pairs;
                    got.sort_by_key(|(f, _)| format!("{f:?}"));
                    let mut want: Vec<(Reply, Reply)> = models[k]
                        .as_ref()
                        .map(|m| m.map.iter().map(|(f, v)| (bulk(f), bulk(v))).collect())
                        .unwrap_or_default();
                    want.sort_by_key(|(f, _)| format!("{f:?}"));
                    prop_assert_eq!(got, want);
                }
                Op::Encoding(k) => {
                    let want = match &models[k] {
                        None => Reply::Nil,
                        Some(m) if m.table => bulk("hashtable"),
                        Some(_) => bulk("listpack"),
                    };
                    prop_assert_eq!(run(&mut s, &["OBJECT", "ENCODING", HKEYS[k]]), want);
                }
            }
            for (k, m) in models.iter().enumerate() {
                prop_assert_eq!(run(&mut s, &["EXISTS", HKEYS[k]]), Reply::Int(i64::from(m.is_some())));
            }
        }
    }
}
