//! SORT pieces and SORT on a bare shard (replies checked against redis-server 7.0.15).

use std::sync::Arc;

use bytes::Bytes;

use super::{sort_score, target, Target};
use crate::command::exec::exec_on_shard;
use crate::command::table;
use crate::config::Config;
use crate::protocol::Reply;
use crate::shard::value::Value;
use crate::shard::Shard;
use crate::types::zset::{Limits, ZSet};

fn run(shard: &mut Shard, line: &str) -> Reply {
    let args: Vec<Bytes> = line
        .split(' ')
        .map(|s| Bytes::copy_from_slice(s.as_bytes()))
        .collect();
    let mut name = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
    if name == "object" {
        name = format!(
            "object|{}",
            String::from_utf8_lossy(&args[1]).to_ascii_lowercase()
        );
    }
    let cmd = table::lookup(name.as_bytes()).unwrap_or_else(|| panic!("no command {name}"));
    exec_on_shard(shard, cmd, 0, &args).expand_raw()
}

fn shard() -> Shard {
    Shard::new(0, 1, Arc::new(Config::default()), 0)
}

fn bulk(s: &str) -> Reply {
    Reply::Bulk(Bytes::copy_from_slice(s.as_bytes()))
}

fn bulks(v: &[&str]) -> Reply {
    Reply::Array(
        v.iter()
            .map(|s| Reply::Bulk(Bytes::copy_from_slice(s.as_bytes())))
            .collect(),
    )
}

#[test]
fn pattern_targets() {
    let b = |s: &str| Bytes::copy_from_slice(s.as_bytes());
    assert_eq!(target(b"#", b"x"), Target::Itself);
    assert_eq!(target(b"nostar", b"x"), Target::Nothing);
    assert_eq!(target(b"w_*", b"x"), Target::Key(b("w_x"), None));
    assert_eq!(target(b"h_*->f", b"x"), Target::Key(b("h_x"), Some(b("f"))));
    assert_eq!(target(b"h_*->", b"x"), Target::Key(b("h_x->"), None));
    assert_eq!(target(b"a*b*c", b"x"), Target::Key(b("axb*c"), None));
    assert_eq!(target(b"->f*", b"x"), Target::Key(b("->fx"), None));
}

#[test]
fn scores_like_strtod() {
    assert_eq!(sort_score(b""), Some(0.0));
    assert_eq!(sort_score(b" 1.5"), Some(1.5));
    assert_eq!(sort_score(b"1.5 "), None);
    assert_eq!(sort_score(b" "), None);
    assert_eq!(sort_score(b"-inf"), Some(f64::NEG_INFINITY));
    assert_eq!(sort_score(b"nan"), None);
    assert_eq!(sort_score(b"1e400"), None);
    assert_eq!(sort_score(b"1e-400"), None);
    assert_eq!(sort_score(b"0x10"), Some(16.0));
    assert_eq!(sort_score(b"-0x1p-2"), Some(-0.25));
    assert_eq!(sort_score(b"abc"), None);
    assert_eq!(sort_score(b"+"), None);
}

#[test]
fn sort_list_and_patterns() {
    let mut s = shard();
    run(&mut s, "RPUSH l 3 1 2");
    assert_eq!(run(&mut s, "SORT l"), bulks(&["1", "2", "3"]));
    assert_eq!(run(&mut s, "SORT l DESC LIMIT 1 5"), bulks(&["2", "1"]));
    run(&mut s, "MSET w_1 30 w_2 20 w_3 10");
    assert_eq!(run(&mut s, "SORT l BY w_*"), bulks(&["3", "2", "1"]));
    assert_eq!(
        run(&mut s, "SORT l BY nosort DESC"),
        bulks(&["2", "1", "3"])
    );
    run(&mut s, "HSET h_1 f a");
    assert_eq!(
        run(&mut s, "SORT l GET # GET h_*->f"),
        Reply::Array(vec![
            Reply::Bulk(Bytes::from_static(b"1")),
            Reply::Bulk(Bytes::from_static(b"a")),
            Reply::Bulk(Bytes::from_static(b"2")),
            Reply::Nil,
            Reply::Bulk(Bytes::from_static(b"3")),
            Reply::Nil,
        ])
    );
    assert_eq!(run(&mut s, "SORT l GET h_*->f STORE d"), Reply::Int(3));
    assert_eq!(run(&mut s, "LRANGE d 0 -1"), bulks(&["a", "", ""]));
    assert_eq!(run(&mut s, "SORT l LIMIT 5 1 STORE d"), Reply::Int(0));
    assert_eq!(run(&mut s, "EXISTS d"), Reply::Int(0));
    run(&mut s, "RPUSH bad 1 x");
    assert_eq!(
        run(&mut s, "SORT bad"),
        Reply::Error(Bytes::from_static(
            b"ERR One or more scores can't be converted into double"
        ))
    );
    assert_eq!(
        run(&mut s, "SORT_RO l STORE d"),
        Reply::Error(Bytes::from_static(b"ERR syntax error"))
    );
}

#[test]
fn sort_zset_keeps_score_order_with_nosort() {
    let mut s = shard();
    let lim = Limits::new(128, 64);
    let mut z = ZSet::new();
    for (m, sc) in [("c", 1.0), ("a", 2.0), ("b", 3.0), ("d", 4.0)] {
        z.insert(m.as_bytes(), sc, &lim);
    }
    s.dbs[0].insert(
        crate::shard::value::CBytes::from_slice(b"z"),
        crate::shard::db::Entry {
            value: Value::ZSet(Box::new(z)),
            expire_at: 0,
            access: crate::shard::access::initial(false),
            enc: crate::shard::value::Enc::Auto,
        },
    );
    assert_eq!(
        run(&mut s, "SORT z BY nosort"),
        bulks(&["c", "a", "b", "d"])
    );
    assert_eq!(
        run(&mut s, "SORT z BY nosort LIMIT 1 2"),
        bulks(&["a", "b"])
    );
    assert_eq!(
        run(&mut s, "SORT z BY nosort DESC LIMIT 1 2"),
        bulks(&["b", "a"])
    );
    assert_eq!(run(&mut s, "OBJECT ENCODING z"), bulk("skiplist"));
    assert_eq!(run(&mut s, "SORT z ALPHA"), bulks(&["a", "b", "c", "d"]));
    assert_eq!(
        run(&mut s, "SORT z BY nosort ALPHA"),
        bulks(&["c", "a", "b", "d"])
    );
    assert_eq!(run(&mut s, "SORT z BY nosort STORE d"), Reply::Int(4));
    assert_eq!(run(&mut s, "LRANGE d 0 -1"), bulks(&["c", "a", "b", "d"]));
}
