//! Drift test: every command Tessera implements must describe itself in COMMAND INFO
//! exactly like redis-server 7.0 does (name, arity, flags, first/last/step key, ACL
//! categories), subcommands included.

mod common;

use common::{RedisServer, TestServer};
use redis::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The parts of one COMMAND INFO entry that must match.
#[derive(Debug, Clone, PartialEq)]
struct Info {
    name: String,
    arity: i64,
    flags: BTreeSet<String>,
    first: i64,
    last: i64,
    step: i64,
    acl: BTreeSet<String>,
    /// Subcommand entries by name (the 10th element).
    subs: BTreeMap<String, Info>,
}

fn text(v: &Value) -> Result<String, String> {
    match v {
        Value::BulkString(b) => Ok(String::from_utf8_lossy(b).into_owned()),
        Value::SimpleString(s) => Ok(s.clone()),
        Value::VerbatimString { text, .. } => Ok(text.clone()),
        Value::Okay => Ok("OK".into()),
        other => Err(format!("expected a string, got {other:?}")),
    }
}

fn int(v: &Value) -> Result<i64, String> {
    match v {
        Value::Int(i) => Ok(*i),
        other => Err(format!("expected an integer, got {other:?}")),
    }
}

fn items(v: &Value) -> Result<&[Value], String> {
    match v {
        Value::Array(a) | Value::Set(a) => Ok(a),
        other => Err(format!("expected an array, got {other:?}")),
    }
}

fn string_set(v: &Value) -> Result<BTreeSet<String>, String> {
    items(v)?.iter().map(text).collect()
}

fn parse_info(v: &Value) -> Result<Info, String> {
    let e = items(v)?;
    if e.len() < 10 {
        return Err(format!(
            "COMMAND INFO entry has {} elements, expected 10: {v:?}",
            e.len()
        ));
    }
    let mut subs = BTreeMap::new();
    for s in items(&e[9])? {
        let sub = parse_info(s)?;
        subs.insert(sub.name.clone(), sub);
    }
    Ok(Info {
        name: text(&e[0])?,
        arity: int(&e[1])?,
        flags: string_set(&e[2])?,
        first: int(&e[3])?,
        last: int(&e[4])?,
        step: int(&e[5])?,
        acl: string_set(&e[6])?,
        subs,
    })
}

/// `COMMAND INFO name`: Ok(None) for a nil entry.
fn command_info(con: &mut redis::Connection, name: &str) -> Result<Option<Info>, String> {
    let v: Value = redis::cmd("COMMAND")
        .arg("INFO")
        .arg(name)
        .query(con)
        .map_err(|e| format!("COMMAND INFO {name} failed: {e}"))?;
    let entries = items(&v)?;
    match entries {
        [Value::Nil] => Ok(None),
        [entry] => parse_info(entry).map(Some),
        _ => Err(format!(
            "COMMAND INFO {name} returned {} entries: {v:?}",
            entries.len()
        )),
    }
}

fn set_diff(a: &BTreeSet<String>, b: &BTreeSet<String>) -> String {
    let extra: Vec<_> = a.difference(b).collect();
    let missing: Vec<_> = b.difference(a).collect();
    format!("tessera has extra {extra:?}, lacks {missing:?}")
}

/// Appends one line per differing field of `t` (Tessera) against `r` (redis).
fn compare(name: &str, t: &Info, r: &Info, out: &mut Vec<String>) {
    if t.name != r.name {
        out.push(format!("{name}: name {:?} != redis {:?}", t.name, r.name));
    }
    if t.arity != r.arity {
        out.push(format!("{name}: arity {} != redis {}", t.arity, r.arity));
    }
    if t.flags != r.flags {
        out.push(format!(
            "{name}: flags {:?} != redis {:?} ({})",
            t.flags,
            r.flags,
            set_diff(&t.flags, &r.flags)
        ));
    }
    if (t.first, t.last, t.step) != (r.first, r.last, r.step) {
        out.push(format!(
            "{name}: first/last/step {}/{}/{} != redis {}/{}/{}",
            t.first, t.last, t.step, r.first, r.last, r.step
        ));
    }
    if t.acl != r.acl {
        out.push(format!(
            "{name}: ACL categories {:?} != redis {:?} ({})",
            t.acl,
            r.acl,
            set_diff(&t.acl, &r.acl)
        ));
    }
}

#[test]
fn command_info_matches_redis() {
    let tessera = TestServer::start(&["--threads", "2"]);
    let redis_srv = RedisServer::start(&[]);
    let mut t = tessera.client();
    let mut r = redis_srv.client();

    let list: Vec<String> = redis::cmd("COMMAND")
        .arg("LIST")
        .query(&mut t)
        .expect("COMMAND LIST");
    assert!(!list.is_empty(), "Tessera's COMMAND LIST is empty");
    // Like redis-server 7.0, COMMAND LIST names subcommands too ("config|get") while
    // COMMAND COUNT counts top-level commands only.
    let top_level = list.iter().filter(|n| !n.contains('|')).count();
    let count: i64 = redis::cmd("COMMAND")
        .arg("COUNT")
        .query(&mut t)
        .expect("COMMAND COUNT");
    assert_eq!(
        count as usize, top_level,
        "COMMAND COUNT differs from the number of top-level names in COMMAND LIST"
    );
    let unique: BTreeSet<&String> = list.iter().collect();
    assert_eq!(unique.len(), list.len(), "COMMAND LIST has duplicates");

    let mut mismatches = Vec::new();
    let mut checked = 0usize;
    // Subcommands found in the containers' COMMAND INFO entries.
    let mut reported_subs = BTreeSet::new();
    for name in &list {
        let tinfo = match command_info(&mut t, name) {
            Ok(Some(i)) => i,
            Ok(None) => {
                mismatches.push(format!(
                    "{name}: in COMMAND LIST but COMMAND INFO gives nil"
                ));
                continue;
            }
            Err(e) => {
                mismatches.push(format!("{name}: tessera: {e}"));
                continue;
            }
        };
        let rinfo = match command_info(&mut r, name) {
            Ok(Some(i)) => i,
            Ok(None) => {
                mismatches.push(format!("{name}: unknown to redis-server"));
                continue;
            }
            Err(e) => panic!("redis-server: {e}"),
        };
        compare(name, &tinfo, &rinfo, &mut mismatches);
        checked += 1;
        if let Some((container, _)) = name.split_once('|') {
            // A listed subcommand: its container must be listed too.
            if !list.iter().any(|n| n == container) {
                mismatches.push(format!(
                    "{name}: listed but its container {container} is not"
                ));
            }
            continue;
        }
        for (sub, tsub) in &tinfo.subs {
            reported_subs.insert(sub.clone());
            if !unique.contains(sub) {
                mismatches.push(format!(
                    "{sub}: in {name}'s COMMAND INFO but not in COMMAND LIST"
                ));
            }
            match rinfo.subs.get(sub) {
                Some(rsub) => {
                    compare(sub, tsub, rsub, &mut mismatches);
                    checked += 1;
                }
                None => mismatches.push(format!("{sub}: subcommand unknown to redis-server")),
            }
        }
    }
    for name in list.iter().filter(|n| n.contains('|')) {
        if !reported_subs.contains(name) {
            mismatches.push(format!(
                "{name}: in COMMAND LIST but not in its container's COMMAND INFO"
            ));
        }
    }

    assert!(
        mismatches.is_empty(),
        "{} COMMAND INFO mismatch(es) between tessera and redis-server ({checked} entries compared):\n  {}",
        mismatches.len(),
        mismatches.join("\n  ")
    );
}

#[test]
fn command_info_unknown_is_nil_on_both() {
    let tessera = TestServer::start(&["--threads", "2"]);
    let redis_srv = RedisServer::start(&[]);
    for (who, mut con) in [
        ("tessera", tessera.client()),
        ("redis-server", redis_srv.client()),
    ] {
        let v: Value = redis::cmd("COMMAND")
            .arg("INFO")
            .arg("no-such-command-xyz")
            .query(&mut con)
            .unwrap_or_else(|e| panic!("{who}: COMMAND INFO failed: {e}"));
        assert_eq!(
            v,
            Value::Array(vec![Value::Nil]),
            "{who}: COMMAND INFO of an unknown name"
        );

        let v: Value = redis::cmd("COMMAND")
            .arg("INFO")
            .arg("get")
            .arg("no-such-command-xyz")
            .query(&mut con)
            .unwrap_or_else(|e| panic!("{who}: COMMAND INFO failed: {e}"));
        let entries = items(&v).unwrap_or_else(|e| panic!("{who}: {e}"));
        assert_eq!(entries.len(), 2, "{who}: COMMAND INFO get no-such: {v:?}");
        assert_eq!(
            parse_info(&entries[0]).map(|i| i.name),
            Ok("get".to_string()),
            "{who}"
        );
        assert_eq!(entries[1], Value::Nil, "{who}: second entry should be nil");
    }
}
