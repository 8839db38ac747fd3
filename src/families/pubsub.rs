//! Pub/sub commands: (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PUBLISH, SPUBLISH, PUBSUB *.
//!
//! They run on the client's coordinator: the subscription table is replicated on every
//! shard (see `crate::pubsub`), so publishing and PUBSUB queries are local.

use bytes::Bytes;

use crate::command::table::TableBuilder;
use crate::error::CmdError;
use crate::net::client::Client;
use crate::protocol::Reply;
use crate::pubsub::{self, with_registry, Kind};

pub fn register(t: &mut TableBuilder) {
    t.conn("subscribe", |c, a| Box::pin(subscribe(c, a, Kind::Channel)));
    t.conn("psubscribe", |c, a| {
        Box::pin(subscribe(c, a, Kind::Pattern))
    });
    t.conn("ssubscribe", |c, a| Box::pin(subscribe(c, a, Kind::Shard)));
    t.conn("unsubscribe", |c, a| {
        Box::pin(unsubscribe(c, a, Kind::Channel))
    });
    t.conn("punsubscribe", |c, a| {
        Box::pin(unsubscribe(c, a, Kind::Pattern))
    });
    t.conn("sunsubscribe", |c, a| {
        Box::pin(unsubscribe(c, a, Kind::Shard))
    });
    t.conn_sync("publish", |_, a| {
        Reply::Int(pubsub::publish(Kind::Channel, &a[1], &a[2]) as i64)
    });
    t.conn_sync("spublish", |_, a| {
        Reply::Int(pubsub::publish(Kind::Shard, &a[1], &a[2]) as i64)
    });
    t.conn_sync("pubsub|channels", |_, a| {
        names(a, Kind::Channel, "CHANNELS")
    });
    t.conn_sync("pubsub|shardchannels", |_, a| {
        names(a, Kind::Shard, "SHARDCHANNELS")
    });
    t.conn_sync("pubsub|numsub", |_, a| numsub(a, Kind::Channel));
    t.conn_sync("pubsub|shardnumsub", |_, a| numsub(a, Kind::Shard));
    t.conn_sync("pubsub|numpat", |_, _| {
        Reply::Int(with_registry(|r| r.len(Kind::Pattern)) as i64)
    });
    t.conn_sync("pubsub|help", |_, _| help());
}

/// Commands a RESP2 client may run while subscribed.
pub fn allowed_while_subscribed(name: &str) -> bool {
    matches!(
        name,
        "ping"
            | "subscribe"
            | "ssubscribe"
            | "psubscribe"
            | "unsubscribe"
            | "sunsubscribe"
            | "punsubscribe"
            | "quit"
            | "reset"
    )
}

/// The error for any other command, with Redis's full name (`client|list`).
pub fn subscribed_mode_error(name: &str) -> CmdError {
    CmdError::Custom(format!(
        "ERR Can't execute '{name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
    ))
}

fn verb(kind: Kind, sub: bool) -> &'static str {
    match (kind, sub) {
        (Kind::Channel, true) => "subscribe",
        (Kind::Pattern, true) => "psubscribe",
        (Kind::Shard, true) => "ssubscribe",
        (Kind::Channel, false) => "unsubscribe",
        (Kind::Pattern, false) => "punsubscribe",
        (Kind::Shard, false) => "sunsubscribe",
    }
}

fn confirm(kind: Kind, sub: bool, name: Option<Bytes>, count: i64) -> Reply {
    Reply::Push(vec![
        Reply::Bulk(Bytes::from_static(verb(kind, sub).as_bytes())),
        name.map_or(Reply::Nil, Reply::Bulk),
        Reply::Int(count),
    ])
}

/// CLIENT LIST's sub/psub/ssub and the P flag follow the subscriptions.
fn sync_info(c: &mut Client) {
    let ps = &c.pubsub;
    let mut i = c.info.borrow_mut();
    i.pubsub = [
        ps.channels.len(),
        ps.patterns.len(),
        ps.shard_channels.len(),
    ];
    if ps.subscribed() {
        i.flags = "P".into();
    } else if i.flags == "P" {
        i.flags = "N".into();
    }
}

async fn subscribe(c: &mut Client, a: &[Bytes], kind: Kind) -> Reply {
    let names = &a[1..];
    let mut fresh: Vec<Bytes> = Vec::new();
    {
        let set = c.pubsub.set(kind);
        for n in names {
            if !set.contains(n) && !fresh.contains(n) {
                fresh.push(n.clone());
            }
        }
    }
    let sub = c.pubsub.subscriber();
    // Every shard knows the subscription before the client hears it was made.
    pubsub::update_all(kind, fresh, sub, true).await;
    let mut out = Vec::with_capacity(names.len());
    for n in names {
        c.pubsub.set(kind).insert(n.clone());
        out.push(confirm(
            kind,
            true,
            Some(n.clone()),
            c.pubsub.confirm_count(kind),
        ));
    }
    sync_info(c);
    Reply::Many(out)
}

async fn unsubscribe(c: &mut Client, a: &[Bytes], kind: Kind) -> Reply {
    let names: Vec<Bytes> = if a.len() > 1 {
        a[1..].to_vec()
    } else {
        c.pubsub.set(kind).iter().cloned().collect()
    };
    if names.is_empty() {
        return confirm(kind, false, None, c.pubsub.confirm_count(kind));
    }
    let gone: Vec<Bytes> = {
        let set = c.pubsub.set(kind);
        let mut v: Vec<Bytes> = Vec::new();
        for n in &names {
            if set.contains(n) && !v.contains(n) {
                v.push(n.clone());
            }
        }
        v
    };
    if !gone.is_empty() {
        let sub = c.pubsub.subscriber();
        pubsub::update_all(kind, gone, sub, false).await;
    }
    let mut out = Vec::with_capacity(names.len());
    for n in names {
        c.pubsub.set(kind).remove(&n);
        out.push(confirm(kind, false, Some(n), c.pubsub.confirm_count(kind)));
    }
    sync_info(c);
    Reply::Many(out)
}

/// PUBSUB CHANNELS / SHARDCHANNELS [pattern]
fn names(a: &[Bytes], kind: Kind, sub: &str) -> Reply {
    if a.len() > 3 {
        return Reply::error(&CmdError::Custom(format!(
            "ERR unknown subcommand or wrong number of arguments for '{sub}'. Try PUBSUB HELP."
        )));
    }
    let pattern = a.get(2).map(|p| p.as_ref());
    let list = with_registry(|r| r.names(kind, pattern));
    Reply::Array(list.into_iter().map(Reply::Bulk).collect())
}

/// PUBSUB NUMSUB / SHARDNUMSUB [name ...]: name, count pairs.
fn numsub(a: &[Bytes], kind: Kind) -> Reply {
    let mut out = Vec::with_capacity((a.len() - 2) * 2);
    with_registry(|r| {
        for n in &a[2..] {
            out.push(Reply::Bulk(n.clone()));
            out.push(Reply::Int(r.count(kind, n) as i64));
        }
    });
    Reply::Array(out)
}

fn help() -> Reply {
    const LINES: &[&str] = &[
        "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> (default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, excluding",
        "    pattern subscriptions(default: no channels).",
        "SHARDCHANNELS [<pattern>]",
        "    Return the currently active shard level channels matching a <pattern> (default: '*').",
        "SHARDNUMSUB [<shardchannel> ...]",
        "    Return the number of subscribers for the specified shard level channel(s)",
        "HELP",
        "    Prints this help.",
    ];
    Reply::Array(
        LINES
            .iter()
            .map(|l| Reply::Simple(Bytes::from_static(l.as_bytes())))
            .collect(),
    )
}

/// INFO stats: pubsub_channels, pubsub_patterns, pubsubshard_channels.
pub fn info_counts() -> (usize, usize, usize) {
    with_registry(|r| {
        (
            r.len(Kind::Channel),
            r.len(Kind::Pattern),
            r.len(Kind::Shard),
        )
    })
}
