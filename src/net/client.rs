//! Per-connection state, owned by the connection's task on its coordinator shard.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use bytes::Bytes;

use crate::command::Command;
use crate::shard::WatchFlag;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyMode {
    On,
    Off,
}

/// What CLIENT LIST shows and CLIENT KILL matches; shared with the shard's registry.
#[derive(Debug, Clone)]
pub struct ClientInfo {
    pub id: u64,
    pub addr: String,
    pub laddr: String,
    pub fd: i32,
    pub name: Option<Bytes>,
    pub created_ms: u64,
    pub last_cmd_ms: u64,
    pub db: u16,
    pub last_cmd: &'static str,
    pub resp: u8,
    pub multi: i64,
    pub watch: usize,
    pub qbuf: usize,
    pub obl: usize,
    /// Pending output (omem=) and queued output buffers (oll=): filled in from the
    /// socket when the info is listed (`registry`), 0 in the connection's own copy.
    pub omem: usize,
    pub oll: usize,
    pub kill: bool,
    pub no_evict: bool,
    pub flags: String,
    /// Subscriptions: channels, patterns, shard channels (sub= psub= ssub=).
    pub pubsub: [usize; 3],
}

pub struct QueuedCommand {
    pub cmd: &'static Command,
    pub args: Vec<Bytes>,
}

pub struct Client {
    pub id: u64,
    pub db: u16,
    pub resp3: bool,
    pub authenticated: bool,
    pub info: Rc<RefCell<ClientInfo>>,
    /// Some while inside MULTI.
    pub multi: Option<Vec<QueuedCommand>>,
    /// An error happened while queueing: EXEC answers EXECABORT.
    pub multi_error: bool,
    /// Keys this client WATCHes: (db, key, already expired when watched).
    pub watched: Vec<(u16, Bytes, bool)>,
    pub watch_flag: WatchFlag,
    pub reply_mode: ReplyMode,
    /// CLIENT REPLY SKIP: drop the next command's reply; `skip_this` is the current one.
    pub skip_next: bool,
    pub skip_this: bool,
    /// Close after writing the pending replies (QUIT, protocol errors, kill).
    pub close: bool,
    /// Set by SHUTDOWN: stop the server once this reply is written.
    pub shutdown: bool,
    /// Running EXEC's commands: the transaction holds every lock they need.
    pub in_exec: bool,
    /// Set by MONITOR: the feed of every other client's commands.
    /// A blocking command that found nothing: the connection waits it out next.
    pub block: Option<super::blocked::PendingBlock>,
    pub monitor: Option<futures_channel::mpsc::UnboundedReceiver<Bytes>>,
    /// Pub/sub subscriptions and the queue their messages arrive on.
    pub pubsub: super::pubsub::ClientPubSub,
}

impl Client {
    pub fn new(info: Rc<RefCell<ClientInfo>>, authenticated: bool) -> Client {
        let id = info.borrow().id;
        Client {
            id,
            db: 0,
            resp3: false,
            authenticated,
            info,
            multi: None,
            multi_error: false,
            watched: Vec::new(),
            watch_flag: Arc::new(AtomicBool::new(false)),
            reply_mode: ReplyMode::On,
            skip_next: false,
            skip_this: false,
            close: false,
            shutdown: false,
            in_exec: false,
            block: None,
            monitor: None,
            pubsub: super::pubsub::ClientPubSub::new(id),
        }
    }
}
