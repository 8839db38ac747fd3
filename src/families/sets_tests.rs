//! Set commands run on a bare shard: replies, error texts, encodings and empty-key
//! deletion (checked against redis-server 7.0.15).

use std::sync::Arc;

use bytes::Bytes;

use crate::command::exec::exec_on_shard;
use crate::command::table;
use crate::config::Config;
use crate::protocol::Reply;
use crate::shard::Shard;

fn run(shard: &mut Shard, line: &str) -> Reply {
    let args: Vec<Bytes> = line
        .split(' ')
        .map(|s| Bytes::copy_from_slice(s.as_bytes()))
        .collect();
    let name = if args[0].eq_ignore_ascii_case(b"object") {
        format!(
            "object|{}",
            String::from_utf8_lossy(&args[1]).to_ascii_lowercase()
        )
    } else {
        String::from_utf8_lossy(&args[0]).to_ascii_lowercase()
    };
    let cmd = table::lookup(name.as_bytes()).unwrap_or_else(|| panic!("no command {name}"));
    exec_on_shard(shard, cmd, 0, &args)
}

fn bulk(s: &str) -> Reply {
    Reply::Bulk(Bytes::copy_from_slice(s.as_bytes()))
}

fn err(s: &str) -> Reply {
    Reply::Error(Bytes::copy_from_slice(s.as_bytes()))
}

fn shard() -> Shard {
    Shard::new(0, 1, Arc::new(Config::default()), 0)
}

#[test]
fn basic_commands() {
    let mut s = shard();
    assert_eq!(run(&mut s, "SADD k 3 1 2 1"), Reply::Int(3));
    assert_eq!(run(&mut s, "OBJECT ENCODING k"), bulk("intset"));
    assert_eq!(
        run(&mut s, "SMEMBERS k"),
        Reply::Set(vec![bulk("1"), bulk("2"), bulk("3")])
    );
    assert_eq!(run(&mut s, "SADD k x"), Reply::Int(1));
    assert_eq!(run(&mut s, "OBJECT ENCODING k"), bulk("hashtable"));
    assert_eq!(run(&mut s, "SCARD k"), Reply::Int(4));
    assert_eq!(
        run(&mut s, "SMISMEMBER k 1 9 x"),
        Reply::Array(vec![Reply::Int(1), Reply::Int(0), Reply::Int(1)])
    );
    assert_eq!(run(&mut s, "SREM k 1 2 3 x y"), Reply::Int(4));
    assert_eq!(run(&mut s, "EXISTS k"), Reply::Int(0));
}

#[test]
fn pops_and_errors() {
    let mut s = shard();
    run(&mut s, "SADD k a b c");
    assert_eq!(
        run(&mut s, "SPOP k -1"),
        err("ERR value is out of range, must be positive")
    );
    assert_eq!(run(&mut s, "SPOP k 1 2"), err("ERR syntax error"));
    assert!(matches!(run(&mut s, "SRANDMEMBER k -5"), Reply::Array(v) if v.len() == 5));
    assert!(matches!(run(&mut s, "SPOP k 5"), Reply::Set(v) if v.len() == 3));
    assert_eq!(run(&mut s, "EXISTS k"), Reply::Int(0));
    assert_eq!(run(&mut s, "SPOP k"), Reply::Nil);
    run(&mut s, "SET str v");
    assert!(matches!(run(&mut s, "SADD str a"), Reply::Error(e) if e.starts_with(b"WRONGTYPE")));
    assert_eq!(
        run(&mut s, "SINTERCARD 0 k"),
        err("ERR numkeys should be greater than 0")
    );
    assert_eq!(
        run(&mut s, "SINTERCARD 1 k LIMIT -1"),
        err("ERR LIMIT can't be negative")
    );
    assert_eq!(run(&mut s, "SSCAN k x"), err("ERR invalid cursor"));
}

#[test]
fn store_and_move() {
    let mut s = shard();
    run(&mut s, "SADD a 1 2 3 x");
    run(&mut s, "SADD b 2 3 4");
    assert_eq!(run(&mut s, "SINTERSTORE d a b"), Reply::Int(2));
    assert_eq!(run(&mut s, "OBJECT ENCODING d"), bulk("intset"));
    assert_eq!(run(&mut s, "SUNIONSTORE d a b"), Reply::Int(5));
    assert_eq!(run(&mut s, "OBJECT ENCODING d"), bulk("hashtable"));
    assert_eq!(run(&mut s, "SDIFFSTORE d b a"), Reply::Int(1));
    assert_eq!(run(&mut s, "SINTERSTORE d a nokey"), Reply::Int(0));
    assert_eq!(run(&mut s, "EXISTS d"), Reply::Int(0));
    assert_eq!(run(&mut s, "SMOVE a c x"), Reply::Int(1));
    assert_eq!(run(&mut s, "OBJECT ENCODING c"), bulk("hashtable"));
    assert_eq!(run(&mut s, "SMOVE b b 2"), Reply::Int(1));
    assert_eq!(run(&mut s, "SINTERCARD 2 a b LIMIT 1"), Reply::Int(1));
}
