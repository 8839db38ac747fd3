//! Command families: table rows plus the functions that run them.

pub mod bitmaps;
pub mod bitops;
pub mod connection;
pub mod hashes;
pub mod help;
pub mod introspect;
pub mod keys;
pub mod keyspace;
pub mod lists;
pub mod multikey;
pub mod server;
pub mod sets;
pub mod strings;
pub mod tx_cmds;

pub use bitops::{lcs, numbers};

use crate::command::table::TableBuilder;

pub fn register_all(t: &mut TableBuilder) {
    connection::register(t);
    server::register(t);
    introspect::register(t);
    keyspace::register(t);
    keys::register(t);
    strings::register(t);
    hashes::register(t);
    lists::register(t);
    bitmaps::register(t);
    sets::register(t);
    tx_cmds::register(t);
}
