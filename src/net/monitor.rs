//! MONITOR: clients that receive a line for every command any client runs.
//!
//! The list is process-wide and touched only when a client starts or stops
//! monitoring, or, while the counter says someone monitors, to feed a line.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::RwLock;

use bytes::Bytes;
use futures_channel::mpsc;

use crate::command::{flags, Command};
use crate::util::{now_us, repr_bytes};

static COUNT: AtomicUsize = AtomicUsize::new(0);
static MONITORS: RwLock<Vec<(u64, mpsc::UnboundedSender<Bytes>)>> = RwLock::new(Vec::new());

/// Register client `id` as a monitor; lines arrive on the receiver.
pub fn add(id: u64) -> mpsc::UnboundedReceiver<Bytes> {
    let (tx, rx) = mpsc::unbounded();
    let mut m = MONITORS.write().unwrap_or_else(|p| p.into_inner());
    m.push((id, tx));
    COUNT.store(m.len(), Ordering::Release);
    rx
}

pub fn remove(id: u64) {
    let mut m = MONITORS.write().unwrap_or_else(|p| p.into_inner());
    m.retain(|(i, _)| *i != id);
    COUNT.store(m.len(), Ordering::Release);
}

/// `remove`, without taking the lock when nobody monitors.
pub fn remove_if_present(id: u64) {
    if active() {
        remove(id);
    }
}

#[inline]
pub fn active() -> bool {
    COUNT.load(Ordering::Acquire) > 0
}

/// Send `args` to every monitor (but the client that ran it) in Redis's format:
/// `+1339518083.107412 [0 127.0.0.1:60866] "keys" "*"`. Admin commands are not shown
/// and AUTH/HELLO credentials are redacted, as Redis does.
pub fn feed(from: u64, db: u16, addr: &str, cmd: &Command, args: &[Bytes]) {
    if cmd.has(flags::ADMIN) || cmd.has(flags::SKIP_MONITOR) {
        return;
    }
    let us = now_us();
    let mut line = format!(
        "+{}.{:06} [{} {}]",
        us / 1_000_000,
        us % 1_000_000,
        db,
        addr
    );
    let redact_from = match cmd.name {
        "auth" => 1,
        "hello" => args
            .iter()
            .position(|a| a.eq_ignore_ascii_case(b"auth"))
            .map_or(usize::MAX, |p| p + 1),
        _ => usize::MAX,
    };
    for (i, a) in args.iter().enumerate() {
        line.push(' ');
        if i >= redact_from && (cmd.name == "auth" || i < redact_from + 2) {
            line.push_str("\"(redacted)\"");
        } else {
            line.push_str(&repr_bytes(a));
        }
    }
    line.push_str("\r\n");
    let line = Bytes::from(line);
    let m = MONITORS.read().unwrap_or_else(|p| p.into_inner());
    for (id, tx) in m.iter() {
        if *id != from {
            let _ = tx.unbounded_send(line.clone());
        }
    }
}
