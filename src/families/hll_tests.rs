//! HLL commands on a bare shard: replies and error texts as redis-server 7.0.15 gives.

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
    let name = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
    let cmd = table::lookup(name.as_bytes()).unwrap_or_else(|| panic!("no command {name}"));
    exec_on_shard(shard, cmd, 0, &args)
}

fn err(s: &str) -> Reply {
    Reply::Error(Bytes::copy_from_slice(s.as_bytes()))
}

fn shard() -> Shard {
    Shard::new(0, 1, Arc::new(Config::default()), 0)
}

#[test]
fn add_count_merge() {
    let mut s = shard();
    assert_eq!(run(&mut s, "PFADD h"), Reply::Int(1));
    assert_eq!(run(&mut s, "PFADD h"), Reply::Int(0));
    assert_eq!(run(&mut s, "PFADD h a b c"), Reply::Int(1));
    assert_eq!(run(&mut s, "PFADD h a"), Reply::Int(0));
    assert_eq!(run(&mut s, "PFCOUNT h"), Reply::Int(3));
    assert_eq!(run(&mut s, "PFCOUNT nope"), Reply::Int(0));
    assert_eq!(run(&mut s, "PFADD g c d"), Reply::Int(1));
    assert_eq!(run(&mut s, "PFCOUNT h g nope"), Reply::Int(4));
    assert_eq!(run(&mut s, "PFMERGE d h g"), Reply::Ok);
    assert_eq!(run(&mut s, "PFCOUNT d"), Reply::Int(4));
    assert_eq!(run(&mut s, "PFDEBUG ENCODING d"), Reply::simple("sparse"));
    assert_eq!(run(&mut s, "PFDEBUG TODENSE d"), Reply::Int(1));
    assert_eq!(run(&mut s, "PFDEBUG ENCODING d"), Reply::simple("dense"));
    assert_eq!(run(&mut s, "PFMERGE e h d"), Reply::Ok);
    assert_eq!(run(&mut s, "PFDEBUG ENCODING e"), Reply::simple("dense"));
    assert_eq!(run(&mut s, "PFCOUNT e"), Reply::Int(4));
}

#[test]
fn errors() {
    let mut s = shard();
    run(&mut s, "SET str hello");
    run(&mut s, "RPUSH list a");
    let bad = err("WRONGTYPE Key is not a valid HyperLogLog string value.");
    assert_eq!(run(&mut s, "PFADD str a"), bad);
    assert_eq!(run(&mut s, "PFCOUNT str"), bad);
    assert_eq!(run(&mut s, "PFMERGE str"), bad);
    assert_eq!(
        run(&mut s, "PFADD list a"),
        err("WRONGTYPE Operation against a key holding the wrong kind of value")
    );
    assert_eq!(
        run(&mut s, "PFDEBUG ENCODING nope"),
        err("ERR The specified key does not exist")
    );
    run(&mut s, "PFADD h a");
    assert_eq!(
        run(&mut s, "PFDEBUG foo h"),
        err("ERR Unknown PFDEBUG subcommand 'foo'")
    );
}
