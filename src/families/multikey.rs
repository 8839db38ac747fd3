//! Hops for commands whose keys span shards. Callers hold the keys' locks (see `tx`),
//! so each hop sees the same state the whole operation does.

use bytes::Bytes;

use crate::command::exec::exec_on_shard;
use crate::command::{table, ExecCtx};
use crate::error::CmdError;
use crate::protocol::Reply;
use crate::pubsub::notify::{self, class as nc, Held};
use crate::shard::db::Entry;
use crate::shard::mesh::{call, call_each, call_in_order, shard_count, ShardJob};
use crate::shard::{with_shard, Shard};
use crate::slot::shard_of_key;

/// How the per-shard replies of a split command combine.
#[derive(Clone, Copy)]
pub enum Merge {
    /// Arrays whose items follow the keys (MGET).
    Concat,
    /// Integers added up (DEL, EXISTS, UNLINK, TOUCH).
    Sum,
    /// Every part answers OK (MSET).
    Ok,
}

/// Whether keyspace notifications can be published now (this shard's view of the
/// config, refreshed). Cross-shard commands that would emit them out of Redis's order
/// take a slower, ordered path only when this is true.
pub fn notifying() -> bool {
    with_shard(|s| {
        s.refresh_config();
        s.tun.notify & (nc::KEYSPACE | nc::KEYEVENT) != 0
    })
}

/// Split `args` (name, then groups of `step` starting with a key) by owning shard, run the
/// same command on each shard's part concurrently, merge the replies.
///
/// With keyspace notifications on, a part is instead a run of consecutive groups on one
/// shard and the parts run one after another, so the events (DEL's `del`, MSET's `set`)
/// reach subscribers in the keys' order, as Redis sends them.
pub async fn split_run(db: u16, args: Vec<Bytes>, step: usize, merge: Merge) -> Reply {
    let Some(cmd) = table::lookup(&args[0]) else {
        return Reply::error(&CmdError::err("unknown command"));
    };
    let n = shard_count();
    let ordered = notifying();
    let mut parts: Vec<(usize, Vec<Bytes>, Vec<usize>)> = Vec::new();
    let groups = (args.len() - 1) / step;
    for g in 0..groups {
        let at = 1 + g * step;
        let shard = shard_of_key(&args[at], n);
        let found = if ordered {
            parts.len().checked_sub(1).filter(|&i| parts[i].0 == shard)
        } else {
            parts.iter().position(|p| p.0 == shard)
        };
        let part = match found {
            Some(i) => &mut parts[i],
            None => {
                parts.push((shard, vec![args[0].clone()], Vec::new()));
                parts.last_mut().expect("just pushed")
            }
        };
        part.1.extend_from_slice(&args[at..at + step]);
        part.2.push(g);
    }
    let mut jobs: Vec<ShardJob<Reply>> = Vec::new();
    let mut order = Vec::new();
    for (shard, sub, idx) in parts {
        order.push(idx);
        jobs.push((
            shard,
            Box::new(move |s: &mut Shard| exec_on_shard(s, cmd, db, &sub)),
        ));
    }
    let replies = if ordered {
        call_in_order(jobs).await
    } else {
        call_each(jobs).await
    };
    match merge {
        Merge::Sum => {
            let mut total = 0;
            for r in replies {
                match r {
                    Reply::Int(i) => total += i,
                    other => return other,
                }
            }
            Reply::Int(total)
        }
        Merge::Ok => replies
            .into_iter()
            .find(|r| r.is_error())
            .unwrap_or(Reply::Ok),
        Merge::Concat => {
            let mut out = vec![Reply::Nil; groups];
            for (r, idx) in replies.into_iter().zip(order) {
                match r {
                    Reply::Array(items) => {
                        for (item, g) in items.into_iter().zip(idx) {
                            out[g] = item;
                        }
                    }
                    other => return other,
                }
            }
            Reply::Array(out)
        }
    }
}

/// Run a closure over an `ExecCtx` on each key's shard; results in key order. With
/// keyspace notifications off, each shard gets one hop for all its keys and the shards
/// run concurrently; with them on, one hop per key, one after another, so that events of
/// the lookups (`keymiss`, a lazily `expired` key) follow the keys' order.
pub async fn per_key<R, F>(db: u16, keys: Vec<Bytes>, f: F) -> Vec<R>
where
    F: Fn(&mut ExecCtx, &Bytes) -> R + Send + Sync + Clone + 'static,
    R: Send + 'static,
{
    let n = shard_count();
    let nkeys = keys.len();
    let ordered = notifying();
    // (shard, [(position in `keys`, key)]): one group per key in order, else per shard.
    let mut groups: Vec<(usize, Vec<(usize, Bytes)>)> = Vec::new();
    for (pos, k) in keys.into_iter().enumerate() {
        let shard = shard_of_key(&k, n);
        let group = if ordered {
            None
        } else {
            groups.iter_mut().find(|(s, _)| *s == shard)
        };
        match group {
            Some((_, g)) => g.push((pos, k)),
            None => groups.push((shard, vec![(pos, k)])),
        }
    }
    let jobs: Vec<ShardJob<Vec<(usize, R)>>> = groups
        .into_iter()
        .map(|(shard, group)| {
            let f = f.clone();
            let job: ShardJob<Vec<(usize, R)>> = (
                shard,
                Box::new(move |s: &mut Shard| {
                    // Hops read thresholds from the config, as whole commands do.
                    s.refresh_config();
                    let mut ctx = ExecCtx::new(s, db);
                    let out = group
                        .iter()
                        .map(|(pos, k)| (*pos, f(&mut ctx, k)))
                        .collect();
                    finish(ctx, db, None);
                    out
                }),
            );
            job
        })
        .collect();
    let parts = if ordered {
        call_in_order(jobs).await
    } else {
        call_each(jobs).await
    };
    let mut slots: Vec<Option<R>> = (0..nkeys).map(|_| None).collect();
    for (pos, r) in parts.into_iter().flatten() {
        slots[pos] = Some(r);
    }
    slots.into_iter().flatten().collect()
}

/// Run `f` once on the shard owning `key` (a hop that may move data in or out).
pub async fn on_key<R, F>(db: u16, key: Bytes, f: F) -> R
where
    F: FnOnce(&mut ExecCtx, &Bytes) -> R + Send + 'static,
    R: Send + 'static,
{
    let shard = shard_of_key(&key, shard_count());
    call(shard, move |s: &mut Shard| {
        s.refresh_config();
        let mut ctx = ExecCtx::new(s, db);
        let r = f(&mut ctx, &key);
        finish(ctx, db, None);
        r
    })
    .await
}

/// `on_key` keeping the hop's keyspace notifications back: the caller publishes them
/// (`Held::publish`) after a later hop's, where Redis's order puts them.
pub async fn on_key_held<R, F>(db: u16, key: Bytes, f: F) -> (R, Held)
where
    F: FnOnce(&mut ExecCtx, &Bytes) -> R + Send + 'static,
    R: Send + 'static,
{
    on_key(db, key, move |ctx, k| hold_here(ctx, |ctx| f(ctx, k))).await
}

/// Run part of a hop keeping its notifications (see `notify::hold`); with notifications
/// off, just run it.
pub fn hold_here<R>(ctx: &mut ExecCtx, f: impl FnOnce(&mut ExecCtx) -> R) -> (R, Held) {
    if ctx.shard.tun.notify == 0 {
        (f(ctx), Held::default())
    } else {
        notify::hold(|| f(ctx))
    }
}

/// Publish a keyspace notification from the coordinator, for an event Redis sends after
/// changes made by several hops (RENAME's `rename_from` follows the destination's `new`).
pub fn notify_here(db: u16, class: u32, event: &'static str, key: &[u8]) {
    with_shard(|s| {
        s.refresh_config();
        notify::shard_event(s, class, event, db, key);
    })
}

/// Journal a hop's writes, as `exec_on_shard` does for whole commands.
pub fn finish(ctx: ExecCtx, db: u16, effect: Option<Vec<Bytes>>) {
    if ctx.dirty > 0 {
        let eff = effect.or(ctx.propagate);
        let shard = ctx.shard;
        shard.record_effect(db, eff.as_deref().unwrap_or(&[]));
    }
}

/// The string values of `keys` (None: missing); WRONGTYPE if any is another type.
pub async fn fetch_strings(db: u16, keys: Vec<Bytes>) -> Result<Vec<Option<Bytes>>, CmdError> {
    per_key(db, keys, |ctx, k| ctx.get_str(k))
        .await
        .into_iter()
        .collect()
}

/// A copy of the live entry at `key` (None if missing).
pub async fn read_entry(db: u16, key: Bytes) -> Option<Entry> {
    on_key(db, key, |ctx, k| ctx.lookup_read(k).map(|e| e.clone())).await
}
