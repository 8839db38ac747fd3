//! The command table: one row per command (metadata + handler). Arity errors, COMMAND
//! output, key extraction and routing all read it.

pub mod ctx;
pub mod exec;
pub mod keys;
pub mod meta;
pub mod table;

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;

pub use ctx::ExecCtx;
use meta::CommandMeta;

use crate::error::CmdError;
use crate::net::client::Client;
use crate::protocol::Reply;

pub type LocalBoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// Runs on the shard that owns every key it names: plain synchronous code, atomic there.
pub type KeyedFn = fn(&mut ExecCtx, &[Bytes]) -> Result<Reply, CmdError>;
/// Runs on the coordinator for a command whose keys live on several shards; the caller
/// holds the locks (see `tx`).
pub type CrossFn = fn(u16, Vec<Bytes>) -> LocalBoxFuture<'static, Reply>;
/// Runs on the coordinator with the connection's state.
pub type ConnFn = for<'a> fn(&'a mut Client, &'a [Bytes]) -> LocalBoxFuture<'a, Reply>;
/// Synchronous coordinator command (PING, SELECT, CLIENT SETNAME, ...).
pub type ConnSyncFn = fn(&mut Client, &[Bytes]) -> Reply;

#[derive(Clone, Copy)]
pub enum Handler {
    Keyed(KeyedFn),
    /// Keyed when all keys are on one shard, the cross-shard routine otherwise.
    Multi(KeyedFn, CrossFn),
    Conn(ConnFn),
    ConnSync(ConnSyncFn),
}

pub mod flags {
    pub const WRITE: u32 = 1;
    pub const READONLY: u32 = 1 << 1;
    pub const DENYOOM: u32 = 1 << 2;
    pub const ADMIN: u32 = 1 << 3;
    pub const PUBSUB: u32 = 1 << 4;
    pub const NOSCRIPT: u32 = 1 << 5;
    pub const BLOCKING: u32 = 1 << 6;
    pub const LOADING: u32 = 1 << 7;
    pub const STALE: u32 = 1 << 8;
    pub const FAST: u32 = 1 << 9;
    pub const NO_AUTH: u32 = 1 << 10;
    pub const NO_MULTI: u32 = 1 << 11;
    pub const MOVABLEKEYS: u32 = 1 << 12;
    pub const SKIP_SLOWLOG: u32 = 1 << 13;
    pub const SKIP_MONITOR: u32 = 1 << 14;
    pub const ALLOW_BUSY: u32 = 1 << 15;
    /// Refused unless `enable-<name>-command` allows it (Redis's CMD_PROTECTED; not
    /// shown by COMMAND INFO).
    pub const PROTECTED: u32 = 1 << 16;

    /// Commands Redis marks protected.
    pub const PROTECTED_COMMANDS: &[&str] = &["debug", "module"];

    pub fn parse(names: &[&str]) -> u32 {
        names.iter().fold(0, |acc, n| {
            acc | match *n {
                "write" => WRITE,
                "readonly" => READONLY,
                "denyoom" => DENYOOM,
                "admin" => ADMIN,
                "pubsub" => PUBSUB,
                "noscript" => NOSCRIPT,
                "blocking" => BLOCKING,
                "loading" => LOADING,
                "stale" => STALE,
                "fast" => FAST,
                "no_auth" => NO_AUTH,
                "no_multi" => NO_MULTI,
                "movablekeys" => MOVABLEKEYS,
                "skip_slowlog" => SKIP_SLOWLOG,
                "skip_monitor" => SKIP_MONITOR,
                "allow_busy" => ALLOW_BUSY,
                _ => 0,
            }
        })
    }
}

pub struct Command {
    /// Index in the table (per-command statistics are a vector indexed by it).
    pub id: usize,
    /// Lowercase full name; subcommands are `container|sub`.
    pub name: &'static str,
    pub meta: &'static CommandMeta,
    pub flags: u32,
    pub handler: Handler,
    /// A container (CONFIG, CLIENT, ...) whose first argument names a subcommand.
    pub has_subs: bool,
}

impl Command {
    #[inline]
    pub fn has(&self, flag: u32) -> bool {
        self.flags & flag != 0
    }

    /// Arity check as Redis does: exact for positive arity, minimum for negative.
    #[inline]
    pub fn arity_ok(&self, argc: usize) -> bool {
        let a = self.meta.arity;
        if a >= 0 {
            argc == a as usize
        } else {
            argc >= (-a) as usize
        }
    }

    pub fn is_keyed(&self) -> bool {
        matches!(self.handler, Handler::Keyed(_) | Handler::Multi(..))
    }
}
