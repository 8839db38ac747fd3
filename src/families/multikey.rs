//! Hops for commands whose keys span shards. Callers hold the keys' locks (see `tx`),
//! so each hop sees the same state the whole operation does.

use bytes::Bytes;

use crate::command::exec::exec_on_shard;
use crate::command::{table, ExecCtx};
use crate::error::CmdError;
use crate::protocol::Reply;
use crate::shard::db::Entry;
use crate::shard::mesh::{call, call_each, shard_count};
use crate::shard::Shard;
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

/// Split `args` (name, then groups of `step` starting with a key) by owning shard, run the
/// same command on each shard's part concurrently, merge the replies.
pub async fn split_run(db: u16, args: Vec<Bytes>, step: usize, merge: Merge) -> Reply {
    let Some(cmd) = table::lookup(&args[0]) else {
        return Reply::error(&CmdError::err("unknown command"));
    };
    let n = shard_count();
    let mut parts: Vec<(usize, Vec<Bytes>, Vec<usize>)> = Vec::new();
    let groups = (args.len() - 1) / step;
    for g in 0..groups {
        let at = 1 + g * step;
        let shard = shard_of_key(&args[at], n);
        let part = match parts.iter_mut().position(|p| p.0 == shard) {
            Some(i) => &mut parts[i],
            None => {
                parts.push((shard, vec![args[0].clone()], Vec::new()));
                parts.last_mut().expect("just pushed")
            }
        };
        part.1.extend_from_slice(&args[at..at + step]);
        part.2.push(g);
    }
    let mut jobs: Vec<(usize, Box<dyn FnOnce(&mut Shard) -> Reply + Send>)> = Vec::new();
    let mut order = Vec::new();
    for (shard, sub, idx) in parts {
        order.push(idx);
        jobs.push((
            shard,
            Box::new(move |s: &mut Shard| exec_on_shard(s, cmd, db, &sub)),
        ));
    }
    let replies = call_each(jobs).await;
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

/// Run a closure over an `ExecCtx` on each key's shard; results in key order.
pub async fn per_key<R, F>(db: u16, keys: Vec<Bytes>, f: F) -> Vec<R>
where
    F: Fn(&mut ExecCtx, &Bytes) -> R + Send + Sync + Clone + 'static,
    R: Send + 'static,
{
    let n = shard_count();
    let mut jobs: Vec<(usize, Box<dyn FnOnce(&mut Shard) -> R + Send>)> = Vec::new();
    for k in keys {
        let f = f.clone();
        jobs.push((
            shard_of_key(&k, n),
            Box::new(move |s: &mut Shard| {
                // Hops read thresholds from the config, as whole commands do.
                s.refresh_config();
                let mut ctx = ExecCtx::new(s, db);
                let r = f(&mut ctx, &k);
                finish(ctx, db, None);
                r
            }),
        ));
    }
    call_each(jobs).await
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
