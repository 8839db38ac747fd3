//! Running a keyed command on its shard: eviction, the handler, the journal seam, stats.

use bytes::Bytes;

use super::{flags, Command, ExecCtx, Handler};
use crate::error::CmdError;
use crate::protocol::Reply;
use crate::shard::Shard;

/// Execute `cmd` on `shard` now. Must not yield: callers rely on it running atomically.
pub fn exec_on_shard(shard: &mut Shard, cmd: &'static Command, db: u16, args: &[Bytes]) -> Reply {
    exec_on_shard_at(shard, cmd, db, args, crate::util::now_ms())
}

/// `exec_on_shard` with the caller's clock reading (unix ms).
pub fn exec_on_shard_at(
    shard: &mut Shard,
    cmd: &'static Command,
    db: u16,
    args: &[Bytes],
    now: u64,
) -> Reply {
    let f = match cmd.handler {
        Handler::Keyed(f) | Handler::Multi(f, _) => f,
        _ => return Reply::error(&CmdError::err("internal: not a keyed command")),
    };
    // A CONFIG SET that returned before this command was sent is visible here.
    shard.refresh_config();
    if (db as usize) >= shard.dbs.len() {
        return Reply::error(&CmdError::err("DB index is out of range"));
    }
    if cmd.has(flags::DENYOOM) && !crate::shard::evict::make_room(shard) {
        return Reply::error(&CmdError::Oom);
    }
    let mut ctx = ExecCtx::at(shard, db, now);
    let r = f(&mut ctx, args);
    let dirty = ctx.dirty;
    let effect = ctx.propagate.take();
    if dirty > 0 {
        shard.record_effect(db, effect.as_deref().unwrap_or(args));
    }
    // Clients blocked on keys this command filled are served before anything else runs.
    shard.serve_ready();
    match r {
        Ok(reply) => reply,
        Err(e) => Reply::error(&e),
    }
}
