//! Tessera: a Redis-compatible, thread-per-core in-memory data server.

pub mod alloc;
pub mod command;
pub mod config;
pub mod error;
pub mod families;
pub mod net;
pub mod protocol;
pub mod pubsub;
pub mod runtime;
pub mod server;
pub mod shard;
pub mod slot;
pub mod tx;
pub mod types;
pub mod util;
