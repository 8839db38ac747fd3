//! ZRANGE in all its forms (BYSCORE, BYLEX, REV, LIMIT, WITHSCORES), the older
//! ZRANGEBYSCORE ZREVRANGEBYSCORE ZRANGEBYLEX ZREVRANGEBYLEX ZREVRANGE, and ZRANGESTORE
//! (which also runs with its two keys on different shards).
//!
//! Every query becomes a span of ranks, so direction, offset and limit are arithmetic.

use bytes::Bytes;

use super::multikey::on_key;
use super::numbers::parse_i64;
use super::zsets::{
    limits, members_reply, pairs_reply, parse_lex_range, parse_score_range, rank_span, read_zset,
};
use crate::command::table::TableBuilder;
use crate::command::{ExecCtx, LocalBoxFuture};
use crate::error::{CmdError, CmdResult};
use crate::protocol::Reply;
use crate::shard::value::Value;
use crate::types::zset::{LexRange, ScoreRange, ZSet};

pub fn register(t: &mut TableBuilder) {
    t.keyed("zrange", zrange);
    t.keyed("zrevrange", zrevrange);
    t.keyed("zrangebyscore", zrangebyscore);
    t.keyed("zrevrangebyscore", zrevrangebyscore);
    t.keyed("zrangebylex", zrangebylex);
    t.keyed("zrevrangebylex", zrevrangebylex);
    t.multi("zrangestore", zrangestore, zrangestore_cross);
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Rank,
    Score,
    Lex,
}

#[derive(Clone, Debug, PartialEq)]
enum Bounds {
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange),
}

/// A parsed range query.
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    bounds: Bounds,
    rev: bool,
    withscores: bool,
    offset: i64,
    /// -1: no limit (any negative count means all, as in Redis).
    limit: i64,
}

/// Redis's zrangeGenericCommand parsing: `a[first]` and `a[first + 1]` are the range,
/// options follow. `kind`/`rev` are fixed by the older commands (then the keywords
/// that would set them are syntax errors).
fn parse_query(
    a: &[Bytes],
    first: usize,
    store: bool,
    kind: Option<Kind>,
    rev: Option<bool>,
) -> CmdResult<Query> {
    let (mut kind, mut rev) = (kind, rev);
    let mut withscores = false;
    let (mut offset, mut limit) = (0i64, -1i64);
    let mut j = first + 2;
    while j < a.len() {
        let left = a.len() - j - 1;
        let o = &a[j];
        if !store && o.eq_ignore_ascii_case(b"withscores") {
            withscores = true;
        } else if o.eq_ignore_ascii_case(b"limit") && left >= 2 {
            offset = parse_i64(&a[j + 1])?;
            limit = parse_i64(&a[j + 2])?;
            j += 2;
        } else if rev.is_none() && o.eq_ignore_ascii_case(b"rev") {
            rev = Some(true);
        } else if kind.is_none() && o.eq_ignore_ascii_case(b"bylex") {
            kind = Some(Kind::Lex);
        } else if kind.is_none() && o.eq_ignore_ascii_case(b"byscore") {
            kind = Some(Kind::Score);
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let rev = rev.unwrap_or(false);
    let kind = kind.unwrap_or(Kind::Rank);
    if limit != -1 && kind == Kind::Rank {
        return Err(CmdError::err(
            "syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if withscores && kind == Kind::Lex {
        return Err(CmdError::err(
            "syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    let (mut lo, mut hi) = (&a[first], &a[first + 1]);
    if rev && kind != Kind::Rank {
        std::mem::swap(&mut lo, &mut hi);
    }
    let bounds = match kind {
        Kind::Rank => Bounds::Rank(parse_i64(lo)?, parse_i64(hi)?),
        Kind::Score => Bounds::Score(parse_score_range(lo, hi)?),
        Kind::Lex => Bounds::Lex(parse_lex_range(lo, hi)?),
    };
    Ok(Query {
        bounds,
        rev,
        withscores,
        offset,
        limit,
    })
}

/// The entries a query selects, in reply order.
fn run(z: &ZSet, q: &Query) -> Vec<(Bytes, f64)> {
    let n = z.len();
    let (lo, hi) = match &q.bounds {
        Bounds::Rank(start, stop) => {
            let (lo, hi) = rank_span(*start, *stop, n);
            if q.rev {
                let mut v = z.range(n - hi, n - lo);
                v.reverse();
                return v;
            }
            return z.range(lo, hi);
        }
        Bounds::Score(r) => z.score_ranks(r),
        Bounds::Lex(r) => z.lex_ranks(r),
    };
    if q.offset < 0 {
        return Vec::new();
    }
    let span = hi - lo;
    let skip = (q.offset as u64).min(span as u64) as usize;
    let take = if q.limit < 0 {
        span - skip
    } else {
        (q.limit as u64).min((span - skip) as u64) as usize
    };
    if q.rev {
        let mut v = z.range(hi - skip - take, hi - skip);
        v.reverse();
        v
    } else {
        z.range(lo + skip, lo + skip + take)
    }
}

fn reply_of(q: &Query, v: Vec<(Bytes, f64)>) -> Reply {
    if q.withscores {
        pairs_reply(v)
    } else {
        members_reply(v)
    }
}

fn range_cmd(
    ctx: &mut ExecCtx,
    a: &[Bytes],
    kind: Option<Kind>,
    rev: Option<bool>,
) -> CmdResult<Reply> {
    let q = parse_query(a, 2, false, kind, rev)?;
    let v = read_zset(ctx, &a[1])?.map_or_else(Vec::new, |z| run(z, &q));
    Ok(reply_of(&q, v))
}

fn zrange(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    range_cmd(ctx, a, None, None)
}

fn zrevrange(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    range_cmd(ctx, a, Some(Kind::Rank), Some(true))
}

fn zrangebyscore(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    range_cmd(ctx, a, Some(Kind::Score), Some(false))
}

fn zrevrangebyscore(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    range_cmd(ctx, a, Some(Kind::Score), Some(true))
}

fn zrangebylex(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    range_cmd(ctx, a, Some(Kind::Lex), Some(false))
}

fn zrevrangebylex(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    range_cmd(ctx, a, Some(Kind::Lex), Some(true))
}

/// Store a computed sorted set at `dst` (empty: delete it). Returns its size.
/// `event` is the keyspace event of a stored result (`zunionstore`...).
pub fn store_pairs(
    ctx: &mut ExecCtx,
    dst: &Bytes,
    v: Vec<(Bytes, f64)>,
    event: &'static str,
) -> i64 {
    let n = v.len() as i64;
    if n == 0 {
        ctx.delete_store_target(dst);
    } else {
        let lim = limits(ctx);
        let z = ZSet::from_pairs(v, &lim);
        ctx.set_value(dst, Value::ZSet(Box::new(z)), 0, false);
        ctx.notify(crate::pubsub::notify::class::ZSET, event, dst);
    }
    n
}

fn zrangestore(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let q = parse_query(a, 3, true, None, None)?;
    let v = read_zset(ctx, &a[2])?.map_or_else(Vec::new, |z| run(z, &q));
    Ok(Reply::Int(store_pairs(ctx, &a[1], v, "zrangestore")))
}

/// ZRANGESTORE with source and destination on different shards: read the range on the
/// source's shard, store on the destination's (the dispatcher holds both locks).
fn zrangestore_cross(db: u16, a: Vec<Bytes>) -> LocalBoxFuture<'static, Reply> {
    Box::pin(async move {
        let q = match parse_query(&a, 3, true, None, None) {
            Ok(q) => q,
            Err(e) => return Reply::error(&e),
        };
        let got = on_key(db, a[2].clone(), move |ctx, k| {
            read_zset(ctx, k).map(|z| z.map_or_else(Vec::new, |z| run(z, &q)))
        })
        .await;
        let v = match got {
            Ok(v) => v,
            Err(e) => return Reply::error(&e),
        };
        Reply::Int(
            on_key(db, a[1].clone(), move |ctx, k| {
                store_pairs(ctx, k, v, "zrangestore")
            })
            .await,
        )
    })
}
