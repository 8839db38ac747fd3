//! The coordinator's side of a connection: validate each request against the table,
//! route it, run it, and encode the reply in request order.
//!
//! Local keyed commands run inline. Consecutive requests for one remote shard travel as
//! one message. Commands whose keys span shards and MULTI/EXEC go through `tx`.

use std::collections::VecDeque;
use std::time::Instant;

use bytes::{Bytes, BytesMut};

use super::client::{Client, QueuedCommand, ReplyMode};
use crate::command::exec::{exec_on_shard, exec_on_shard_at};
use crate::command::keys::{key_positions, needs_every_shard};
use crate::command::{flags, table, Command, Handler};
use crate::error::CmdError;
use crate::protocol::{encode, Reply};
use crate::shard::evict;
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
            if cmd.meta.first_key > 0
                && cmd.meta.first_key == cmd.meta.last_key
                && !cmd.has(flags::MOVABLEKEYS)
            {
                return match args.get(cmd.meta.first_key as usize) {
                    Some(k) => to_route(shard_of_key(k, n)),
                    None => Route::Local,
                };
            }
            if cmd.has(flags::MOVABLEKEYS) && needs_every_shard(cmd.meta, args) {
                return Route::Cross;
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

/// Up to `max` bytes of `b`, stopping at a NUL as C's `%.*s` does.
fn c_str(b: &[u8], max: usize) -> &[u8] {
    let b = &b[..b.len().min(max)];
    match memchr::memchr(0, b) {
        Some(i) => &b[..i],
        None => b,
    }
}

/// The Redis text for an unknown command: the name, then quoted arguments while the
/// list is shorter than 128 bytes.
fn unknown_command(args: &[Bytes]) -> CmdError {
    let mut list: Vec<u8> = Vec::new();
    for a in args.iter().skip(1) {
        if list.len() >= 128 {
            break;
        }
        let room = 128 - list.len();
        list.push(b'\'');
        list.extend_from_slice(c_str(a, room));
        list.extend_from_slice(b"' ");
    }
    let mut msg = b"ERR unknown command '".to_vec();
    msg.extend_from_slice(c_str(&args[0], 128));
    msg.extend_from_slice(b"', with args beginning with: ");
    msg.extend_from_slice(&list);
    CmdError::Custom(String::from_utf8_lossy(&msg).replace(['\r', '\n'], " "))
}

fn trunc(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(c_str(b, 128));
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
    if !client.resp3
        && client.pubsub.subscribed()
        && !crate::families::pubsub::allowed_while_subscribed(cmd.name)
    {
        return Err(crate::families::pubsub::subscribed_mode_error(cmd.name));
    }
    if cmd.has(flags::PROTECTED) && !protected_allowed(client, cmd) {
        return Err(CmdError::Custom(format!(
            "ERR {} command not allowed. If the enable-{}-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.",
            cmd.name.to_ascii_uppercase(),
            cmd.name
        )));
    }
    Ok(cmd)
}

/// `enable-<name>-command`: `yes`, or `local` for loopback clients.
fn protected_allowed(client: &Client, cmd: &Command) -> bool {
    let directive = format!("enable-{}-command", cmd.name);
    match crate::server::server().config().get_str(&directive) {
        "yes" => true,
        "local" => {
            let addr = &client.info.borrow().addr;
            addr.starts_with("127.") || addr.starts_with("[::1]")
        }
        _ => false,
    }
}

/// Commands that act on the transaction itself instead of being queued.
fn is_tx_control(cmd: &Command) -> bool {
    matches!(
        cmd.name,
        "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
    )
}

/// Run one validated command wherever it belongs. `in_tx`: the caller (EXEC) holds the
/// locks of every key involved.
pub async fn execute(
    client: &mut Client,
    cmd: &'static Command,
    args: &[Bytes],
    in_tx: bool,
) -> Reply {
    let db = client.db;
    match route(cmd, args) {
        Route::Local => {
            if in_tx || with_shard(|s| s.locks.is_idle()) {
                with_shard(|s| exec_on_shard(s, cmd, db, args))
            } else {
                tx::exec_queued(current(), cmd, db, args.to_vec()).await
            }
        }
        Route::Remote(target) => {
            if in_tx {
                return tx::exec_held(target, cmd, db, args.to_vec()).await;
            }
            let args = args.to_vec();
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
            Handler::Multi(_, cross) => tx::exec_cross(cmd, cross, db, args.to_vec(), in_tx).await,
            _ => Reply::error(&CmdError::err(
                "keys in request don't hash to the same shard",
            )),
        },
        Route::Conn => match cmd.handler {
            Handler::ConnSync(f) => f(client, args),
            Handler::Conn(f) => f(client, args).await,
            _ => Reply::error(&CmdError::err("internal routing error")),
        },
    }
}

/// Encode a reply unless CLIENT REPLY says otherwise.
pub fn emit(client: &mut Client, out: &mut BytesMut, reply: &Reply) {
    if client.reply_mode == ReplyMode::On && !client.skip_this {
        encode(reply, client.resp3, out);
    }
}

/// Statistics of one executed command; returns the slowlog length to keep when the
/// command goes to the slowlog.
fn record_stats(
    s: &mut crate::shard::Shard,
    cmd: &'static Command,
    reply: &Reply,
    usec: u64,
) -> Option<usize> {
    // Keyed commands refreshed the config as they ran; others (CONFIG SET) may have
    // changed the threshold: use the one in force after the command.
    if !cmd.is_keyed() {
        s.refresh_config();
    }
    s.stats.total_commands += 1;
    let st = s.cmdstat(cmd.id);
    st.calls += 1;
    st.usec += usec;
    if let Reply::Error(e) = reply {
        st.failed_calls += 1;
        count_error(s, e);
    }
    let t = s.tun.slowlog_slower_than;
    (t >= 0 && usec >= t as u64).then_some(s.tun.slowlog_max_len)
}

/// MONITOR feed and slowlog entry of one executed command.
fn record_after(
    client: &Client,
    cmd: &'static Command,
    args: &[Bytes],
    usec: u64,
    slow: Option<usize>,
) {
    if super::monitor::active() {
        let info = client.info.borrow();
        super::monitor::feed(client.id, client.db, &info.addr, cmd, args);
    }
    if let Some(max) = slow {
        let info = client.info.borrow();
        crate::families::server::slowlog_add(cmd, args, usec, max, &info.addr, info.name.as_ref());
    }
}

fn record(client: &Client, cmd: &'static Command, args: &[Bytes], reply: &Reply, usec: u64) {
    let slow = with_shard(|s| record_stats(s, cmd, reply, usec));
    record_after(client, cmd, args, usec, slow);
}

/// Microseconds since `*prev`, which moves to now: one clock read per command.
#[inline]
fn lap(prev: &mut Instant) -> u64 {
    let t = Instant::now();
    let us = t.saturating_duration_since(*prev).as_micros() as u64;
    *prev = t;
    us
}

fn count_error(s: &mut crate::shard::Shard, e: &[u8]) {
    let code = e.split(|&c| c == b' ').next().unwrap_or(b"ERR");
    let code = String::from_utf8_lossy(code).into_owned();
    *s.errorstats.entry(code).or_insert(0) += 1;
}

fn reject(client: &mut Client, out: &mut BytesMut, cmd: Option<&'static Command>, err: CmdError) {
    let reply = Reply::error(&err);
    with_shard(|s| {
        if let Some(c) = cmd {
            s.cmdstat(c.id).rejected_calls += 1;
        }
        if let Reply::Error(e) = &reply {
            count_error(s, e);
        }
    });
    emit(client, out, &reply);
}

/// Run queued requests in order, appending replies to `out`. Stops early, leaving the
/// rest in `reqs`, once `out` holds `out_limit` bytes (the connection sends them first).
/// `start`: when the batch began (the first command's timing starts there).
pub async fn run_requests(
    client: &mut Client,
    reqs: &mut VecDeque<Vec<Bytes>>,
    out: &mut BytesMut,
    out_limit: usize,
    start: Instant,
) {
    let mut prev = start;
    while out.len() < out_limit {
        let Some(args) = reqs.pop_front() else { break };
        if client.close {
            reqs.clear();
            break;
        }
        // CLIENT REPLY SKIP silences the command after it.
        client.skip_this = std::mem::take(&mut client.skip_next);
        let cmd = match validate(client, &args) {
            Ok(c) => c,
            Err(e) => {
                let rejected = table::lookup(&args[0]);
                if rejected.is_some_and(|c| c.name == "exec") {
                    // A rejected EXEC discards any transaction and says why (Redis).
                    client.multi = None;
                    client.multi_error = false;
                    client.info.borrow_mut().multi = -1;
                    crate::families::tx_cmds::unwatch_all(client).await;
                    let text = e.to_string();
                    let why = text.strip_prefix("ERR ").unwrap_or(&text);
                    let e = CmdError::Custom(format!(
                        "EXECABORT Transaction discarded because of: {why}"
                    ));
                    reject(client, out, rejected, e);
                    continue;
                }
                if client.multi.is_some() {
                    client.multi_error = true;
                }
                reject(client, out, rejected, e);
                continue;
            }
        };
        if let Some(queue) = client.multi.as_mut() {
            if !is_tx_control(cmd) {
                if cmd.has(flags::NO_MULTI) {
                    client.multi_error = true;
                    let e =
                        CmdError::Custom(format!("ERR Command not allowed inside a transaction"));
                    reject(client, out, Some(cmd), e);
                    continue;
                }
                queue.push(QueuedCommand { cmd, args });
                emit(client, out, &Reply::simple("QUEUED"));
                continue;
            }
        }
        client.info.borrow_mut().last_cmd = cmd.name;
        if cmd.has(flags::DENYOOM) && evict::should_evict_everywhere() {
            // Over maxmemory: every shard sheds keys before this write runs.
            evict::evict_everywhere().await;
        }
        let r = route(cmd, &args);
        let blocking = cmd.has(flags::BLOCKING);
        if r == Route::Local && cmd.is_keyed() && !blocking {
            // The common case: run on this shard, in one shard access with its stats.
            let (db, now) = (client.db, crate::util::unix_ms_at(prev));
            let done = with_shard(|s| {
                if !s.locks.is_idle() {
                    return None;
                }
                let reply = exec_on_shard_at(s, cmd, db, &args, now);
                let usec = lap(&mut prev);
                let slow = record_stats(s, cmd, &reply, usec);
                Some((reply, usec, slow))
            });
            if let Some((reply, usec, slow)) = done {
                record_after(client, cmd, &args, usec, slow);
                emit(client, out, &reply);
                continue;
            }
        }
        if let (Route::Remote(target), false) = (r, blocking) {
            // Gather the following requests for the same shard into one message.
            let mut batch = vec![(cmd, args)];
            while let Some(next) = reqs.front() {
                if client.multi.is_some() {
                    break;
                }
                match validate(client, next) {
                    Ok(c)
                        if c.is_keyed()
                            && !c.has(flags::BLOCKING)
                            && route(c, next) == Route::Remote(target) =>
                    {
                        if let Some(a) = reqs.pop_front() {
                            batch.push((c, a));
                        }
                    }
                    _ => break,
                }
            }
            let room = out_limit.saturating_sub(out.len());
            run_remote_batch(client, target, batch, out, &mut prev, room, reqs).await;
            continue;
        }
        let reply = execute(client, cmd, &args, false).await;
        record(client, cmd, &args, &reply, lap(&mut prev));
        if blocking {
            // Found nothing: the connection waits (outside MULTI; EXEC runs it as is).
            if let Some(pb) = crate::families::blocking::pending(client.db, cmd, &args, &reply) {
                client.block = Some(pb);
                return;
            }
        }
        emit(client, out, &reply);
    }
}

async fn run_remote_batch(
    client: &mut Client,
    target: usize,
    batch: Vec<(&'static Command, Vec<Bytes>)>,
    out: &mut BytesMut,
    prev: &mut Instant,
    room: usize,
    reqs: &mut VecDeque<Vec<Bytes>>,
) {
    let db = client.db;
    let now = crate::util::unix_ms_at(*prev);
    // The shard stops once the replies fill `room` (the rest go back to the queue, to run
    // after the client took what was sent), or when a transaction holds keys there (the
    // rest then wait their turn one by one). Only the first command had the coordinator
    // make room everywhere: a later write that finds this shard over maxmemory with
    // nothing of its own left to evict goes back to the queue too, so the coordinator
    // makes room everywhere again before it runs (OOM only once nothing is left).
    let (replies, mut batch, requeue) = call(target, move |s| {
        let mut replies = Vec::with_capacity(batch.len());
        let mut size = 0;
        let mut requeue = false;
        for (i, (cmd, args)) in batch.iter().enumerate() {
            if !s.locks.is_idle() {
                break;
            }
            if size >= room || (i > 0 && cmd.has(flags::DENYOOM) && !evict::room_here(s)) {
                requeue = true;
                break;
            }
            let reply = exec_on_shard_at(s, cmd, db, args, now);
            size += reply.approx_len();
            replies.push(reply);
        }
        (replies, batch, requeue)
    })
    .await;
    let done = replies.len();
    if requeue {
        for (_, args) in batch.drain(done..).rev() {
            reqs.push_front(args);
        }
    }
    let n = batch.len();
    // The batch's time is shared evenly by its commands.
    let each = lap(prev) / n.max(1) as u64;
    for (reply, (cmd, args)) in replies.iter().zip(batch.iter()) {
        record(client, cmd, args, reply, each);
        emit(client, out, reply);
        client.skip_this = false;
    }
    for (cmd, args) in batch.into_iter().skip(done).take(n - done) {
        let reply = tx::exec_queued(target, cmd, db, args.clone()).await;
        record(client, cmd, &args, &reply, lap(prev));
        emit(client, out, &reply);
        client.skip_this = false;
    }
}
