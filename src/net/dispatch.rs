//! The coordinator's side of a connection: validate each request against the table,
//! route it, run it, and encode the reply in request order.
//!
//! Local keyed commands run inline. Consecutive requests for one remote shard travel as
//! one message. Commands whose keys span shards and MULTI/EXEC go through `tx`.

use std::time::Instant;

use bytes::{Bytes, BytesMut};

use super::client::{Client, QueuedCommand, ReplyMode};
use crate::command::exec::exec_on_shard;
use crate::command::keys::key_positions;
use crate::command::{flags, table, Command, Handler};
use crate::error::CmdError;
use crate::protocol::{encode, Reply};
use crate::shard::mesh::{call, current, shard_count};
use crate::shard::with_shard;
use crate::slot::shard_of_key;
use crate::tx;

/// Where a validated command runs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Route {
    /// Keyed, every key on this shard (or no key).
    Local,
    /// Keyed, every key on that other shard.
    Remote(usize),
    /// Keyed, keys on several shards.
    Cross,
    /// Runs on the coordinator with the connection state.
    Conn,
}

pub fn route(cmd: &Command, args: &[Bytes]) -> Route {
    match cmd.handler {
        Handler::Conn(_) | Handler::ConnSync(_) => Route::Conn,
        Handler::Keyed(_) | Handler::Multi(..) => {
            let n = shard_count();
            if n == 1 {
                return Route::Local;
            }
            // Fast path: the common single-key command.
            if cmd.meta.first_key > 0 && cmd.meta.first_key == cmd.meta.last_key && !cmd.has(flags::MOVABLEKEYS) {
                return match args.get(cmd.meta.first_key as usize) {
                    Some(k) => to_route(shard_of_key(k, n)),
                    None => Route::Local,
                };
            }
            let mut pos = Vec::new();
            key_positions(cmd.meta, args, &mut pos);
            let mut target: Option<usize> = None;
            for p in pos {
                let s = shard_of_key(&args[p], n);
                match target {
                    None => target = Some(s),
                    Some(t) if t != s => return Route::Cross,
                    _ => {}
                }
            }
            target.map_or(Route::Local, to_route)
        }
    }
}

fn to_route(s: usize) -> Route {
    if s == current() {
        Route::Local
    } else {
        Route::Remote(s)
    }
}

/// The Redis text for an unknown command.
fn unknown_command(args: &[Bytes]) -> CmdError {
    let mut msg = format!("ERR unknown command '{}', with args beginning with: ", trunc(&args[0]));
    for a in args.iter().skip(1) {
        msg.push_str(&format!("'{}' ", trunc(a)));
        if msg.len() > 1024 {
            break;
        }
    }
    CmdError::Custom(msg)
}

fn trunc(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(&b[..b.len().min(128)]);
    s.replace(['\r', '\n'], " ")
}

/// Table lookup and the checks every command passes before it runs or is queued.
pub fn validate(client: &Client, args: &[Bytes]) -> Result<&'static Command, CmdError> {
    let Some(cmd) = table::lookup(&args[0]) else {
        return Err(unknown_command(args));
    };
    let cmd = if cmd.has_subs && args.len() >= 2 {
        match table::lookup_sub(cmd, &args[1]) {
            Some(sub) => sub,
            None => {
                return Err(CmdError::Custom(format!(
                    "ERR unknown subcommand '{}'. Try {} HELP.",
                    trunc(&args[1]),
                    cmd.name.to_ascii_uppercase()
                )))
            }
        }
    } else {
        cmd
    };
    if !cmd.arity_ok(args.len()) {
        return Err(CmdError::WrongArity(cmd.name.to_string()));
    }
    if !client.authenticated && !cmd.has(flags::NO_AUTH) {
        return Err(CmdError::Custom("NOAUTH Authentication required.".into()));
    }
    Ok(cmd)
}

/// Commands that act on the transaction itself instead of being queued.
fn is_tx_control(cmd: &Command) -> bool {
    matches!(cmd.name, "exec" | "discard" | "multi" | "watch" | "quit" | "reset")
}

/// Run one validated command wherever it belongs. `in_tx`: the caller (EXEC) holds the
/// locks of every key involved.
pub async fn execute(client: &mut Client, cmd: &'static Command, args: Vec<Bytes>, in_tx: bool) -> Reply {
    let db = client.db;
    match route(cmd, &args) {
        Route::Local => {
            if in_tx || with_shard(|s| s.locks.is_idle()) {
                with_shard(|s| exec_on_shard(s, cmd, db, &args))
            } else {
                tx::exec_queued(current(), cmd, db, args).await
            }
        }
        Route::Remote(target) => {
            if in_tx {
                return tx::exec_held(target, cmd, db, args).await;
            }
            let (reply, args) = call(target, move |s| {
                if s.locks.is_idle() {
                    (Some(exec_on_shard(s, cmd, db, &args)), args)
                } else {
                    (None, args)
                }
            })
            .await;
            match reply {
                Some(r) => r,
                None => tx::exec_queued(target, cmd, db, args).await,
            }
        }
        Route::Cross => match cmd.handler {
            Handler::Multi(_, cross) => tx::exec_cross(cmd, cross, db, args, in_tx).await,
            _ => Reply::error(&CmdError::err("keys in request don't hash to the same shard")),
        },
        Route::Conn => match cmd.handler {
            Handler::ConnSync(f) => f(client, &args),
            Handler::Conn(f) => f(client, args).await,
            _ => Reply::error(&CmdError::err("internal routing error")),
        },
    }
}

/// Encode a reply unless CLIENT REPLY says otherwise.
fn emit(client: &mut Client, out: &mut BytesMut, reply: &Reply) {
    match client.reply_mode {
        ReplyMode::On => encode(reply, client.resp3, out),
        ReplyMode::Off => {}
        ReplyMode::Skip => client.reply_mode = ReplyMode::On,
    }
}

fn record(cmd: &'static Command, reply: &Reply, started: Instant) {
    let usec = started.elapsed().as_micros() as u64;
    let slow = with_shard(|s| {
        s.stats.total_commands += 1;
        let st = s.cmdstats.entry(cmd.name).or_default();
        st.calls += 1;
        st.usec += usec;
        if let Reply::Error(e) = reply {
            st.failed_calls += 1;
            count_error(s, e);
        }
        let t = s.tun.slowlog_slower_than;
        (t >= 0 && usec >= t as u64).then_some(s.tun.slowlog_max_len)
    });
    if let Some(max) = slow {
        crate::families::server::slowlog_add(cmd, usec, max);
    }
}

fn count_error(s: &mut crate::shard::Shard, e: &[u8]) {
    let code = e.split(|&c| c == b' ').next().unwrap_or(b"ERR");
    let code = String::from_utf8_lossy(code).into_owned();
    *s.errorstats.entry(code).or_insert(0) += 1;
}

fn reject(client: &mut Client, out: &mut BytesMut, name: Option<&'static str>, err: CmdError) {
    let reply = Reply::error(&err);
    with_shard(|s| {
        if let Some(n) = name {
            s.cmdstats.entry(n).or_default().rejected_calls += 1;
        }
        if let Reply::Error(e) = &reply {
            count_error(s, e);
        }
    });
    emit(client, out, &reply);
}

/// Run a pipeline of requests, appending the replies to `out` in order.
pub async fn run_requests(client: &mut Client, reqs: Vec<Vec<Bytes>>, out: &mut BytesMut) {
    let mut iter = reqs.into_iter().peekable();
    while let Some(args) = iter.next() {
        if client.close {
            break;
        }
        let cmd = match validate(client, &args) {
            Ok(c) => c,
            Err(e) => {
                if client.multi.is_some() {
                    client.multi_error = true;
                }
                let name = table::lookup(&args[0]).map(|c| c.name);
                reject(client, out, name, e);
                continue;
            }
        };
        if let Some(queue) = client.multi.as_mut() {
            if !is_tx_control(cmd) {
                if cmd.has(flags::NO_MULTI) {
                    client.multi_error = true;
                    let e = CmdError::Custom(format!("ERR Command not allowed inside a transaction"));
                    reject(client, out, Some(cmd.name), e);
                    continue;
                }
                queue.push(QueuedCommand { cmd, args });
                emit(client, out, &Reply::simple("QUEUED"));
                continue;
            }
        }
        client.info.borrow_mut().last_cmd = cmd.name;
        let started = Instant::now();
        let r = route(cmd, &args);
        if let Route::Remote(target) = r {
            // Gather the following requests for the same shard into one message.
            let mut batch = vec![(cmd, args)];
            while let Some(next) = iter.peek() {
                if client.multi.is_some() {
                    break;
                }
                match validate(client, next) {
                    Ok(c) if c.is_keyed() && route(c, next) == Route::Remote(target) => {
                        if let Some(a) = iter.next() {
                            batch.push((c, a));
                        }
                    }
                    _ => break,
                }
            }
            run_remote_batch(client, target, batch, out, started).await;
            continue;
        }
        let reply = execute(client, cmd, args, false).await;
        record(cmd, &reply, started);
        emit(client, out, &reply);
    }
}

async fn run_remote_batch(
    client: &mut Client,
    target: usize,
    batch: Vec<(&'static Command, Vec<Bytes>)>,
    out: &mut BytesMut,
    started: Instant,
) {
    let db = client.db;
    let n = batch.len();
    let (replies, batch) = call(target, move |s| {
        let mut replies = Vec::with_capacity(batch.len());
        for (cmd, args) in &batch {
            if !s.locks.is_idle() {
                break;
            }
            replies.push(exec_on_shard(s, cmd, db, args));
        }
        (replies, batch)
    })
    .await;
    let done = replies.len();
    for (reply, (cmd, _)) in replies.iter().zip(batch.iter()) {
        record(cmd, reply, started);
        emit(client, out, reply);
    }
    for (cmd, args) in batch.into_iter().skip(done).take(n - done) {
        let reply = tx::exec_queued(target, cmd, db, args).await;
        record(cmd, &reply, started);
        emit(client, out, &reply);
    }
}
