//! The multi-key sorted-set commands: ZUNION ZINTER ZDIFF (WEIGHTS, AGGREGATE,
//! WITHSCORES), their STORE forms, ZINTERCARD and ZMPOP. Plain sets are accepted as
//! inputs (every member scoring 1), as in Redis. All of them also run with their keys on
//! several shards: the sources are copied to the coordinator, the result is computed
//! there and stored on the destination's shard, under the dispatcher's locks.

use std::collections::HashMap;

use bytes::Bytes;

use super::multikey::{on_key, per_key};
use super::numbers::{parse_i64, string2d};
use super::zsets::{pairs_reply, zpop};
use super::zsets_range::store_pairs;
use crate::command::table::TableBuilder;
use crate::command::{ExecCtx, LocalBoxFuture};
use crate::error::{CmdError, CmdResult};
use crate::protocol::Reply;
use crate::shard::value::Value;
use crate::types::set::Set;
use crate::types::zset::{cmp_entry, ZSet};

pub fn register(t: &mut TableBuilder) {
    t.multi("zunion", zunion, zunion_cross);
    t.multi("zinter", zinter, zinter_cross);
    t.multi("zdiff", zdiff, zdiff_cross);
    t.multi("zunionstore", zunionstore, zunionstore_cross);
    t.multi("zinterstore", zinterstore, zinterstore_cross);
    t.multi("zdiffstore", zdiffstore, zdiffstore_cross);
    t.multi("zintercard", zintercard, zintercard_cross);
    t.multi("zmpop", zmpop, zmpop_cross);
}

/// An input: a sorted set or a plain set.
#[derive(Clone)]
pub enum Src {
    Z(ZSet),
    S(Set),
}

#[derive(Clone, Copy)]
enum SrcRef<'a> {
    Z(&'a ZSet),
    S(&'a Set),
}

impl SrcRef<'_> {
    fn len(&self) -> usize {
        match self {
            SrcRef::Z(z) => z.len(),
            SrcRef::S(s) => s.len(),
        }
    }

    fn score(&self, m: &[u8]) -> Option<f64> {
        match self {
            SrcRef::Z(z) => z.score(m),
            SrcRef::S(s) => s.contains(m).then_some(1.0),
        }
    }

    fn for_each(&self, mut f: impl FnMut(&[u8], f64)) {
        match self {
            SrcRef::Z(z) => z.iter().for_each(|(m, s)| f(m, s)),
            SrcRef::S(s) => s.for_each(|m| f(m, 1.0)),
        }
    }
}

fn as_ref(s: &Option<Src>) -> Option<SrcRef<'_>> {
    match s {
        Some(Src::Z(z)) => Some(SrcRef::Z(z)),
        Some(Src::S(s)) => Some(SrcRef::S(s)),
        None => None,
    }
}

/// Type check of one input (sorted sets and sets only); a copy when `copy`.
/// A read lookup also for the STORE forms, as in Redis (a missing input fires `keymiss`).
fn check_src(ctx: &mut ExecCtx, key: &[u8], copy: bool) -> CmdResult<Option<Src>> {
    match ctx.lookup_read(key).map(|e| &e.value) {
        None => Ok(None),
        Some(Value::ZSet(z)) => Ok(copy.then(|| Src::Z((**z).clone()))),
        Some(Value::Set(s)) => Ok(copy.then(|| Src::S((**s).clone()))),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// Look up every input at `keys` on this shard once (stats, `keymiss`), checking types.
fn check_srcs(ctx: &mut ExecCtx, keys: &[Bytes]) -> CmdResult<()> {
    for k in keys {
        check_src(ctx, k, false)?;
    }
    Ok(())
}

/// The inputs at `keys` on this shard, already checked by `check_srcs` (no lookup).
fn srcs_here<'c>(ctx: &'c ExecCtx, keys: &[Bytes]) -> Vec<Option<SrcRef<'c>>> {
    let db = &ctx.shard.dbs[ctx.db as usize];
    keys.iter()
        .map(|k| {
            db.get_raw(k).and_then(|e| match &e.value {
                Value::ZSet(z) => Some(SrcRef::Z(&**z)),
                Value::Set(s) => Some(SrcRef::S(&**s)),
                _ => None,
            })
        })
        .collect()
}

/// Copies of the inputs at `keys`, wherever they live (first type error in key order).
async fn fetch_srcs(db: u16, keys: Vec<Bytes>) -> CmdResult<Vec<Option<Src>>> {
    per_key(db, keys, move |ctx, k| check_src(ctx, k, true))
        .await
        .into_iter()
        .collect()
}

// ---- parsing -------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Debug)]
enum Op {
    Union,
    Inter,
    Diff,
}

impl Op {
    /// The keyspace event of the *STORE form.
    fn store_event(self) -> &'static str {
        match self {
            Op::Union => "zunionstore",
            Op::Inter => "zinterstore",
            Op::Diff => "zdiffstore",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Agg {
    Sum,
    Min,
    Max,
}

#[derive(Clone, Debug)]
struct Opts {
    weights: Vec<f64>,
    agg: Agg,
    withscores: bool,
    limit: usize,
}

/// The number of input keys at `a[idx]`, with Redis's errors.
fn parse_numkeys(a: &[Bytes], idx: usize) -> CmdResult<usize> {
    let n = parse_i64(&a[idx])?;
    if n < 1 {
        let name = String::from_utf8_lossy(&a[0]).to_ascii_lowercase();
        return Err(CmdError::err(format!(
            "at least 1 input key is needed for '{name}' command"
        )));
    }
    if n as u64 > (a.len() - idx - 1) as u64 {
        return Err(CmdError::Syntax);
    }
    Ok(n as usize)
}

/// The options after the keys (from `a[j]`), parsed after the keys' types are checked.
fn parse_opts(
    a: &[Bytes],
    mut j: usize,
    n: usize,
    op: Op,
    store: bool,
    card: bool,
) -> CmdResult<Opts> {
    let mut o = Opts {
        weights: vec![1.0; n],
        agg: Agg::Sum,
        withscores: false,
        limit: 0,
    };
    while j < a.len() {
        let remaining = a.len() - j;
        let w = &a[j];
        if op != Op::Diff && !card && remaining > n && w.eq_ignore_ascii_case(b"weights") {
            for i in 0..n {
                o.weights[i] = string2d(&a[j + 1 + i])
                    .ok_or_else(|| CmdError::err("weight value is not a float"))?;
            }
            j += 1 + n;
        } else if op != Op::Diff && !card && remaining >= 2 && w.eq_ignore_ascii_case(b"aggregate")
        {
            let v = &a[j + 1];
            o.agg = if v.eq_ignore_ascii_case(b"sum") {
                Agg::Sum
            } else if v.eq_ignore_ascii_case(b"min") {
                Agg::Min
            } else if v.eq_ignore_ascii_case(b"max") {
                Agg::Max
            } else {
                return Err(CmdError::Syntax);
            };
            j += 2;
        } else if !store && !card && w.eq_ignore_ascii_case(b"withscores") {
            o.withscores = true;
            j += 1;
        } else if card && remaining >= 2 && w.eq_ignore_ascii_case(b"limit") {
            o.limit = match parse_i64(&a[j + 1]) {
                Ok(v) if v >= 0 => v as usize,
                _ => return Err(CmdError::err("LIMIT can't be negative")),
            };
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok(o)
}

// ---- the algebra ---------------------------------------------------------------------

fn weighted(w: f64, s: f64) -> f64 {
    let v = w * s;
    if v.is_nan() {
        0.0
    } else {
        v
    }
}

fn aggregate(agg: Agg, acc: &mut f64, v: f64) {
    match agg {
        Agg::Sum => {
            *acc += v;
            if acc.is_nan() {
                *acc = 0.0;
            }
        }
        Agg::Min => {
            if v < *acc {
                *acc = v
            }
        }
        Agg::Max => {
            if v > *acc {
                *acc = v
            }
        }
    }
}

/// The result entries (unordered). Inter and union visit the inputs smallest first, as
/// Redis does (that order decides float sums).
fn compute(op: Op, srcs: &[Option<SrcRef>], o: &Opts) -> Vec<(Bytes, f64)> {
    let mut order: Vec<(Option<SrcRef>, f64)> = srcs
        .iter()
        .copied()
        .zip(o.weights.iter().copied())
        .collect();
    let mut out = Vec::new();
    match op {
        Op::Inter => {
            order.sort_by_key(|(s, _)| s.map_or(0, |s| s.len()));
            let Some(Some(first)) = order.first().map(|x| x.0) else {
                return out;
            };
            let w0 = order[0].1;
            first.for_each(|m, s| {
                let mut acc = weighted(w0, s);
                for (other, w) in &order[1..] {
                    match other.and_then(|x| x.score(m)) {
                        Some(v) => aggregate(o.agg, &mut acc, weighted(*w, v)),
                        None => return,
                    }
                }
                out.push((Bytes::copy_from_slice(m), acc));
            });
        }
        Op::Union => {
            order.sort_by_key(|(s, _)| s.map_or(0, |s| s.len()));
            let mut acc: HashMap<Bytes, f64> = HashMap::new();
            for (src, w) in &order {
                let Some(src) = src else { continue };
                src.for_each(|m, s| {
                    let v = weighted(*w, s);
                    match acc.get_mut(m) {
                        Some(a) => aggregate(o.agg, a, v),
                        None => {
                            acc.insert(Bytes::copy_from_slice(m), v);
                        }
                    }
                });
            }
            out.extend(acc);
        }
        Op::Diff => {
            let Some(Some(first)) = srcs.first() else {
                return out;
            };
            first.for_each(|m, s| {
                if !srcs[1..].iter().flatten().any(|x| x.score(m).is_some()) {
                    out.push((Bytes::copy_from_slice(m), s));
                }
            });
        }
    }
    out
}

fn sorted(mut v: Vec<(Bytes, f64)>) -> Vec<(Bytes, f64)> {
    v.sort_by(|a, b| cmp_entry(a.1, &a.0, b.1, &b.0));
    v
}

fn read_reply(v: Vec<(Bytes, f64)>, o: &Opts) -> Reply {
    let v = sorted(v);
    if o.withscores {
        pairs_reply(v)
    } else {
        Reply::Array(v.into_iter().map(|(m, _)| Reply::Bulk(m)).collect())
    }
}

/// ZINTERCARD's count, stopping at `limit` (0: none).
fn count_inter(srcs: &[Option<SrcRef>], limit: usize) -> i64 {
    let mut order: Vec<Option<SrcRef>> = srcs.to_vec();
    order.sort_by_key(|s| s.map_or(0, |s| s.len()));
    let Some(Some(first)) = order.first().copied() else {
        return 0;
    };
    let mut n = 0usize;
    first.for_each(|m, _| {
        if (limit == 0 || n < limit)
            && order[1..]
                .iter()
                .all(|x| x.is_some_and(|x| x.score(m).is_some()))
        {
            n += 1;
        }
    });
    n as i64
}

// ---- the commands, one shard ---------------------------------------------------------

fn read_op(ctx: &mut ExecCtx, a: &[Bytes], op: Op) -> CmdResult<Reply> {
    let n = parse_numkeys(a, 1)?;
    let keys = &a[2..2 + n];
    check_srcs(ctx, keys)?;
    let o = parse_opts(a, 2 + n, n, op, false, false)?;
    Ok(read_reply(compute(op, &srcs_here(ctx, keys), &o), &o))
}

fn store_op(ctx: &mut ExecCtx, a: &[Bytes], op: Op) -> CmdResult<Reply> {
    let n = parse_numkeys(a, 2)?;
    let keys = &a[3..3 + n];
    check_srcs(ctx, keys)?;
    let o = parse_opts(a, 3 + n, n, op, true, false)?;
    let v = compute(op, &srcs_here(ctx, keys), &o);
    Ok(Reply::Int(store_pairs(ctx, &a[1], v, op.store_event())))
}

fn zunion(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    read_op(ctx, a, Op::Union)
}

fn zinter(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    read_op(ctx, a, Op::Inter)
}

fn zdiff(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    read_op(ctx, a, Op::Diff)
}

fn zunionstore(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    store_op(ctx, a, Op::Union)
}

fn zinterstore(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    store_op(ctx, a, Op::Inter)
}

fn zdiffstore(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    store_op(ctx, a, Op::Diff)
}

fn zintercard(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let n = parse_numkeys(a, 1)?;
    let keys = &a[2..2 + n];
    check_srcs(ctx, keys)?;
    let o = parse_opts(a, 2 + n, n, Op::Inter, false, true)?;
    Ok(Reply::Int(count_inter(&srcs_here(ctx, keys), o.limit)))
}

// ---- the commands, across shards -----------------------------------------------------

/// Fetch the inputs, then parse the options (Redis reports type errors first).
async fn cross_inputs(
    db: u16,
    a: &[Bytes],
    numkeys_at: usize,
    op: Op,
    store: bool,
    card: bool,
) -> CmdResult<(Vec<Option<Src>>, Opts)> {
    let n = parse_numkeys(a, numkeys_at)?;
    let keys = a[numkeys_at + 1..numkeys_at + 1 + n].to_vec();
    let srcs = fetch_srcs(db, keys).await?;
    let o = parse_opts(a, numkeys_at + 1 + n, n, op, store, card)?;
    Ok((srcs, o))
}

fn read_op_cross(db: u16, a: Vec<Bytes>, op: Op) -> LocalBoxFuture<'static, Reply> {
    Box::pin(async move {
        match cross_inputs(db, &a, 1, op, false, false).await {
            Ok((srcs, o)) => {
                let refs: Vec<Option<SrcRef>> = srcs.iter().map(as_ref).collect();
                read_reply(compute(op, &refs, &o), &o)
            }
            Err(e) => Reply::error(&e),
        }
    })
}

fn store_op_cross(db: u16, a: Vec<Bytes>, op: Op) -> LocalBoxFuture<'static, Reply> {
    Box::pin(async move {
        let v = match cross_inputs(db, &a, 2, op, true, false).await {
            Ok((srcs, o)) => {
                let refs: Vec<Option<SrcRef>> = srcs.iter().map(as_ref).collect();
                compute(op, &refs, &o)
            }
            Err(e) => return Reply::error(&e),
        };
        Reply::Int(
            on_key(db, a[1].clone(), move |ctx, k| {
                store_pairs(ctx, k, v, op.store_event())
            })
            .await,
        )
    })
}

fn zunion_cross(db: u16, a: Vec<Bytes>) -> LocalBoxFuture<'static, Reply> {
    read_op_cross(db, a, Op::Union)
}

fn zinter_cross(db: u16, a: Vec<Bytes>) -> LocalBoxFuture<'static, Reply> {
    read_op_cross(db, a, Op::Inter)
}

fn zdiff_cross(db: u16, a: Vec<Bytes>) -> LocalBoxFuture<'static, Reply> {
    read_op_cross(db, a, Op::Diff)
}

fn zunionstore_cross(db: u16, a: Vec<Bytes>) -> LocalBoxFuture<'static, Reply> {
    store_op_cross(db, a, Op::Union)
}

fn zinterstore_cross(db: u16, a: Vec<Bytes>) -> LocalBoxFuture<'static, Reply> {
    store_op_cross(db, a, Op::Inter)
}

fn zdiffstore_cross(db: u16, a: Vec<Bytes>) -> LocalBoxFuture<'static, Reply> {
    store_op_cross(db, a, Op::Diff)
}

fn zintercard_cross(db: u16, a: Vec<Bytes>) -> LocalBoxFuture<'static, Reply> {
    Box::pin(async move {
        match cross_inputs(db, &a, 1, Op::Inter, false, true).await {
            Ok((srcs, o)) => {
                let refs: Vec<Option<SrcRef>> = srcs.iter().map(as_ref).collect();
                Reply::Int(count_inter(&refs, o.limit))
            }
            Err(e) => Reply::error(&e),
        }
    })
}

// ---- ZMPOP ---------------------------------------------------------------------------

/// ZMPOP's (and BZMPOP's) arguments after the numkeys position.
#[derive(Clone, Debug, PartialEq)]
pub struct ZmpopArgs {
    pub keys: Vec<Bytes>,
    pub max: bool,
    pub count: usize,
}

impl ZmpopArgs {
    /// Parse `numkeys key... MIN|MAX [COUNT n]` with `a[numkeys_at]` the numkeys
    /// (1 for ZMPOP, 2 for BZMPOP), with Redis's errors.
    pub fn parse(a: &[Bytes], numkeys_at: usize) -> CmdResult<ZmpopArgs> {
        let n = match parse_i64(&a[numkeys_at]) {
            Ok(n) if n >= 1 => n as u64,
            _ => return Err(CmdError::err("numkeys should be greater than 0")),
        };
        let where_at = numkeys_at as u64 + n + 1;
        if where_at >= a.len() as u64 {
            return Err(CmdError::Syntax);
        }
        let where_at = where_at as usize;
        let w = &a[where_at];
        let max = if w.eq_ignore_ascii_case(b"min") {
            false
        } else if w.eq_ignore_ascii_case(b"max") {
            true
        } else {
            return Err(CmdError::Syntax);
        };
        let mut count = None;
        let mut j = where_at + 1;
        while j < a.len() {
            if count.is_none() && a[j].eq_ignore_ascii_case(b"count") && j + 1 < a.len() {
                count = match parse_i64(&a[j + 1]) {
                    Ok(c) if c >= 1 => Some(c as usize),
                    _ => return Err(CmdError::err("count should be greater than 0")),
                };
                j += 2;
            } else {
                return Err(CmdError::Syntax);
            }
        }
        Ok(ZmpopArgs {
            keys: a[numkeys_at + 1..where_at].to_vec(),
            max,
            count: count.unwrap_or(1),
        })
    }
}

/// ZMPOP's reply: `[key, [[member, score]...]]`, or a null array when nothing popped.
pub fn zmpop_reply(r: Option<(Bytes, Vec<(Bytes, f64)>)>) -> Reply {
    match r {
        None => Reply::NilArray,
        Some((k, v)) => Reply::Array(vec![
            Reply::Bulk(k),
            Reply::Array(
                v.into_iter()
                    .map(|(m, s)| Reply::Array(vec![Reply::Bulk(m), Reply::Double(s)]))
                    .collect(),
            ),
        ]),
    }
}

/// The ZMPOP core on one shard (every key must live here): pop from the first
/// non-empty sorted set among `args.keys`; WRONGTYPE for another type met before it.
pub fn zmpop_core(
    ctx: &mut ExecCtx,
    args: &ZmpopArgs,
) -> CmdResult<Option<(Bytes, Vec<(Bytes, f64)>)>> {
    for k in &args.keys {
        if let Some(v) = zpop(ctx, k, args.max, args.count)? {
            if !v.is_empty() {
                return Ok(Some((k.clone(), v)));
            }
        }
    }
    Ok(None)
}

fn zmpop(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let args = ZmpopArgs::parse(a, 1)?;
    Ok(zmpop_reply(zmpop_core(ctx, &args)?))
}

/// ZMPOP across shards: one hop per key, in order, until one pops.
fn zmpop_cross(db: u16, a: Vec<Bytes>) -> LocalBoxFuture<'static, Reply> {
    Box::pin(async move {
        match ZmpopArgs::parse(&a, 1) {
            Ok(args) => zmpop_keys_cross(db, args).await,
            Err(e) => Reply::error(&e),
        }
    })
}

/// ZMPOP (and BZMPOP) over keys on several shards: one hop per key, in order, until one
/// pops.
pub async fn zmpop_keys_cross(db: u16, args: ZmpopArgs) -> Reply {
    let (max, count) = (args.max, args.count);
    for k in args.keys {
        let r = on_key(db, k.clone(), move |ctx, k| zpop(ctx, k, max, count)).await;
        match r {
            Ok(Some(v)) if !v.is_empty() => return zmpop_reply(Some((k, v))),
            Ok(_) => {}
            Err(e) => return Reply::error(&e),
        }
    }
    zmpop_reply(None)
}
