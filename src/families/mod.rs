//! Command families: table rows plus the functions that run them.

pub mod bitmaps;
pub mod bitops;
pub mod blocking;
pub mod blocking_zset;
pub mod connection;
pub mod geo;
pub mod hashes;
pub mod help;
pub mod hll;
pub mod introspect;
pub mod keys;
pub mod keyspace;
pub mod lists;
pub mod multikey;
pub mod pubsub;
pub mod server;
pub mod sets;
pub mod sort;
pub mod strings;
pub mod tx_cmds;
pub mod zsets;
pub mod zsets_range;
pub mod zsets_store;

pub use bitops::{lcs, numbers};

use bytes::Bytes;

use crate::command::table::TableBuilder;
use crate::error::{CmdError, CmdResult};

/// Arguments from `a[from]` on must come in pairs (MSET, HSET...); otherwise Redis's
/// wrong-number-of-arguments error.
pub fn check_pairs(a: &[Bytes], from: usize) -> CmdResult<()> {
    if a.len() < from || (a.len() - from) % 2 != 0 {
        let name = String::from_utf8_lossy(&a[0]).to_ascii_lowercase();
        return Err(CmdError::WrongArity(name));
    }
    Ok(())
}

pub fn register_all(t: &mut TableBuilder) {
    connection::register(t);
    server::register(t);
    introspect::register(t);
    keyspace::register(t);
    keys::register(t);
    strings::register(t);
    hashes::register(t);
    lists::register(t);
    blocking::register(t);
    blocking_zset::register(t);
    bitmaps::register(t);
    sets::register(t);
    zsets::register(t);
    geo::register(t);
    hll::register(t);
    sort::register(t);
    tx_cmds::register(t);
    pubsub::register(t);
}
