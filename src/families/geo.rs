//! GEO commands: GEOADD GEODIST GEOHASH GEOPOS GEOSEARCH GEOSEARCHSTORE GEORADIUS
//! GEORADIUSBYMEMBER (and the _RO forms). A geo index is a sorted set whose scores are
//! 52-bit interleaved geohashes, so every sorted-set command works on it too.

pub mod hash;
mod pqsort;
pub mod search;

use std::collections::HashSet;

use bytes::Bytes;

use self::search::{Hit, ScoreScan, Search, Shape, Sort};
use super::multikey::on_key;
use super::numbers::{parse_f64, parse_i64, string2d, LongDouble};
use super::zsets::{limits, read_zset, zadd_generic, ZaddFlags};
use crate::command::table::TableBuilder;
use crate::command::{ExecCtx, LocalBoxFuture};
use crate::error::{CmdError, CmdResult};
use crate::protocol::Reply;
use crate::shard::value::Value;
use crate::slot::shard_of_key;
use crate::types::zset::ZSet;

pub fn register(t: &mut TableBuilder) {
    t.keyed("geoadd", geoadd);
    t.keyed("geodist", geodist);
    t.keyed("geohash", geohash);
    t.keyed("geopos", geopos);
    t.keyed("geosearch", geosearch);
    t.multi("geosearchstore", geosearchstore, geosearchstore_cross);
    t.multi("georadius", georadius, georadius_cross);
    t.keyed("georadius_ro", georadius_ro);
    t.multi(
        "georadiusbymember",
        georadiusbymember,
        georadiusbymember_cross,
    );
    t.keyed("georadiusbymember_ro", georadiusbymember_ro);
}

impl ScoreScan for ZSet {
    fn scan_scores(&self, min: f64, max: f64, f: &mut dyn FnMut(&[u8], f64) -> bool) {
        let from = self.partition(|_, s| s < min);
        self.each_from(from, |m, s| s < max && f(m, s));
    }
}

/// A longitude/latitude argument pair, with Redis's errors.
fn parse_lon_lat(lon: &[u8], lat: &[u8]) -> CmdResult<(f64, f64)> {
    let lon = parse_f64(lon)?;
    let lat = parse_f64(lat)?;
    if !hash::valid_lon_lat(lon, lat) {
        return Err(CmdError::Custom(hash::invalid_pair_text(lon, lat)));
    }
    Ok((lon, lat))
}

fn parse_unit(unit: &[u8]) -> CmdResult<f64> {
    hash::unit_factor(unit)
        .ok_or_else(|| CmdError::err("unsupported unit provided. please use M, KM, FT, MI"))
}

/// `radius unit`: (radius, meters per unit).
fn parse_radius(radius: &[u8], unit: &[u8]) -> CmdResult<(f64, f64)> {
    let r = string2d(radius).ok_or_else(|| CmdError::err("need numeric radius"))?;
    if r < 0.0 {
        return Err(CmdError::err("radius cannot be negative"));
    }
    Ok((r, parse_unit(unit)?))
}

/// `width height unit`: (width, height, meters per unit).
fn parse_box(width: &[u8], height: &[u8], unit: &[u8]) -> CmdResult<(f64, f64, f64)> {
    let w = string2d(width).ok_or_else(|| CmdError::err("need numeric width"))?;
    let h = string2d(height).ok_or_else(|| CmdError::err("need numeric height"))?;
    if h < 0.0 || w < 0.0 {
        return Err(CmdError::err("height or width cannot be negative"));
    }
    Ok((w, h, parse_unit(unit)?))
}

/// A coordinate as GEOPOS and WITHCOORD print it (`%.17Lf`, trailing zeros cut).
fn coord(v: f64) -> Reply {
    let text = LongDouble::from_f64(v).map_or_else(|| b"nan".to_vec(), |l| l.to_human());
    Reply::DoubleText(Bytes::from(text))
}

fn lon_lat_reply(lon: f64, lat: f64) -> Reply {
    Reply::Array(vec![coord(lon), coord(lat)])
}

fn distance_reply(d: f64) -> Reply {
    Reply::Bulk(Bytes::from(hash::format_distance(d)))
}

// ---- GEOADD and the lookups ---------------------------------------------------------

/// GEOADD is ZADD with scores computed from the positions (and is replicated as
/// that ZADD).
fn geoadd(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let key = &a[1];
    let (mut nx, mut xx, mut ch) = (false, false, false);
    let mut at = 2;
    while at < a.len() {
        let opt = &a[at];
        if opt.eq_ignore_ascii_case(b"nx") {
            nx = true;
        } else if opt.eq_ignore_ascii_case(b"xx") {
            xx = true;
        } else if opt.eq_ignore_ascii_case(b"ch") {
            ch = true;
        } else {
            break;
        }
        at += 1;
    }
    if !(a.len() - at).is_multiple_of(3) || (nx && xx) {
        return Err(CmdError::Syntax);
    }
    let mut pairs: Vec<(f64, Bytes)> = Vec::with_capacity((a.len() - at) / 3);
    for t in a[at..].chunks_exact(3) {
        let (lon, lat) = parse_lon_lat(&t[0], &t[1])?;
        let score = hash::encode_score(lon, lat).unwrap_or(0);
        pairs.push((score as f64, t[2].clone()));
    }
    if pairs.is_empty() {
        return Err(CmdError::Syntax);
    }
    let flags = ZaddFlags {
        nx,
        xx,
        ch,
        ..ZaddFlags::default()
    };
    let reply = zadd_generic(ctx, key, flags, &pairs)?;
    let mut effect = vec![Bytes::from_static(b"ZADD"), key.clone()];
    effect.extend(a[2..at].iter().cloned());
    for (score, m) in &pairs {
        effect.push(Bytes::from((*score as u64).to_string()));
        effect.push(m.clone());
    }
    ctx.propagate_as(effect);
    Ok(reply)
}

fn geodist(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let unit = match a.len() {
        4 => 1.0,
        5 => parse_unit(&a[4])?,
        _ => return Err(CmdError::Syntax),
    };
    let Some(z) = read_zset(ctx, &a[1])? else {
        return Ok(Reply::Nil);
    };
    let (Some(s1), Some(s2)) = (z.score(&a[2]), z.score(&a[3])) else {
        return Ok(Reply::Nil);
    };
    let (lon1, lat1) = hash::decode_score(s1);
    let (lon2, lat2) = hash::decode_score(s2);
    Ok(distance_reply(
        hash::distance(lon1, lat1, lon2, lat2) / unit,
    ))
}

fn geohash(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let z = read_zset(ctx, &a[1])?.map(|z| &*z);
    let out = a[2..]
        .iter()
        .map(|m| match z.and_then(|z| z.score(m)) {
            Some(s) => Reply::Bulk(Bytes::copy_from_slice(&hash::geohash_string(s))),
            None => Reply::Nil,
        })
        .collect();
    Ok(Reply::Array(out))
}

fn geopos(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    let z = read_zset(ctx, &a[1])?.map(|z| &*z);
    let out = a[2..]
        .iter()
        .map(|m| match z.and_then(|z| z.score(m)) {
            Some(s) => {
                let (lon, lat) = hash::decode_score(s);
                lon_lat_reply(lon, lat)
            }
            None => Reply::NilArray,
        })
        .collect();
    Ok(Reply::Array(out))
}

// ---- GEOSEARCH and GEORADIUS ----------------------------------------------------------

/// Which search command: they share one parser with per-command rules.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Radius,
    RadiusRo,
    ByMember,
    ByMemberRo,
    Search,
    SearchStore,
}

impl Kind {
    fn around_coords(self) -> bool {
        matches!(self, Kind::Radius | Kind::RadiusRo)
    }
    fn around_member(self) -> bool {
        matches!(self, Kind::ByMember | Kind::ByMemberRo)
    }
    /// GEOSEARCH syntax (FROM... / BY... options).
    fn geosearch(self) -> bool {
        matches!(self, Kind::Search | Kind::SearchStore)
    }
    /// GEORADIUS syntax that accepts STORE / STOREDIST.
    fn store_opts(self) -> bool {
        matches!(self, Kind::Radius | Kind::ByMember)
    }
    /// Argument index of the source key.
    fn src(self) -> usize {
        if self == Kind::SearchStore {
            2
        } else {
            1
        }
    }
}

/// What a search produces: a reply, or entries for the destination (empty: delete
/// it).
enum Outcome {
    Reply(Reply),
    Store {
        dest: Bytes,
        items: Vec<(Bytes, f64)>,
    },
}

/// Position of a member of the source set.
fn member_pos(z: &ZSet, m: &[u8]) -> CmdResult<(f64, f64)> {
    z.score(m)
        .map(hash::decode_score)
        .ok_or_else(|| CmdError::err("could not decode requested zset member"))
}

/// Parse and run a search over `z` (the source, None if missing). Pure over the set,
/// so it runs the same on the local path and in a cross-shard hop.
fn run_search(kind: Kind, a: &[Bytes], z: Option<&ZSet>) -> CmdResult<Outcome> {
    let mut center = (0.0, 0.0);
    let mut shape = Shape::Radius(0.0);
    let mut unit = 1.0;
    let mut store: Option<Bytes> = None;
    let base = if kind.around_coords() {
        center = parse_lon_lat(&a[2], &a[3])?;
        let (r, u) = parse_radius(&a[4], &a[5])?;
        (shape, unit) = (Shape::Radius(r), u);
        6
    } else if kind.around_member() {
        // A missing source skips the member and radius, but not the options.
        if let Some(z) = z {
            center = member_pos(z, &a[2])?;
            let (r, u) = parse_radius(&a[3], &a[4])?;
            (shape, unit) = (Shape::Radius(r), u);
        }
        5
    } else if kind == Kind::SearchStore {
        store = Some(a[1].clone());
        3
    } else {
        2
    };

    let (mut withdist, mut withhash, mut withcoord, mut any) = (false, false, false, false);
    let (mut frommember, mut fromloc, mut byradius, mut bybox) = (false, false, false, false);
    let mut storedist = false;
    let mut sort = Sort::None;
    let mut count: usize = 0;
    let opts = &a[base..];
    let mut i = 0;
    while i < opts.len() {
        let arg = &opts[i];
        let left = opts.len() - i - 1;
        let is = |name: &str| arg.eq_ignore_ascii_case(name.as_bytes());
        if is("withdist") {
            withdist = true;
        } else if is("withhash") {
            withhash = true;
        } else if is("withcoord") {
            withcoord = true;
        } else if is("any") {
            any = true;
        } else if is("asc") {
            sort = Sort::Asc;
        } else if is("desc") {
            sort = Sort::Desc;
        } else if is("count") && left >= 1 {
            let n = parse_i64(&opts[i + 1])?;
            if n <= 0 {
                return Err(CmdError::err("COUNT must be > 0"));
            }
            count = n as usize;
            i += 1;
        } else if (is("store") || is("storedist")) && left >= 1 && kind.store_opts() {
            store = Some(opts[i + 1].clone());
            storedist = is("storedist");
            i += 1;
        } else if is("storedist") && kind == Kind::SearchStore {
            storedist = true;
        } else if is("frommember") && left >= 1 && kind.geosearch() && !fromloc {
            if let Some(z) = z {
                center = member_pos(z, &opts[i + 1])?;
            }
            frommember = true;
            i += 1;
        } else if is("fromlonlat") && left >= 2 && kind.geosearch() && !frommember {
            center = parse_lon_lat(&opts[i + 1], &opts[i + 2])?;
            fromloc = true;
            i += 2;
        } else if is("byradius") && left >= 2 && kind.geosearch() && !bybox {
            let (r, u) = parse_radius(&opts[i + 1], &opts[i + 2])?;
            (shape, unit) = (Shape::Radius(r), u);
            byradius = true;
            i += 2;
        } else if is("bybox") && left >= 3 && kind.geosearch() && !byradius {
            let (w, h, u) = parse_box(&opts[i + 1], &opts[i + 2], &opts[i + 3])?;
            (shape, unit) = (
                Shape::Box {
                    width: w,
                    height: h,
                },
                u,
            );
            bybox = true;
            i += 3;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }

    if store.is_some() && (withdist || withhash || withcoord) {
        let what = if kind == Kind::SearchStore {
            "GEOSEARCHSTORE"
        } else {
            "STORE option in GEORADIUS"
        };
        return Err(CmdError::err(format_args!(
            "{what} is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
        )));
    }
    let name = String::from_utf8_lossy(&a[0]);
    if kind.geosearch() && !(frommember || fromloc) {
        return Err(CmdError::err(format_args!(
            "exactly one of FROMMEMBER or FROMLONLAT can be specified for {name}"
        )));
    }
    if kind.geosearch() && !(byradius || bybox) {
        return Err(CmdError::err(format_args!(
            "exactly one of BYRADIUS and BYBOX can be specified for {name}"
        )));
    }
    if any && count == 0 {
        return Err(CmdError::err("the ANY argument requires COUNT argument"));
    }

    let Some(z) = z else {
        return Ok(match store {
            Some(dest) => Outcome::Store {
                dest,
                items: Vec::new(),
            },
            None => Outcome::Reply(Reply::Array(Vec::new())),
        });
    };
    // The nearest N need an order; ANY takes the first N found instead.
    if count != 0 && sort == Sort::None && !any {
        sort = Sort::Asc;
    }
    let search = Search {
        lon: center.0,
        lat: center.1,
        shape,
        unit,
    };
    let mut hits = search.run(z, if any { count } else { 0 });
    search::finish(&mut hits, sort, count);

    let Some(dest) = store else {
        let opts = Opts {
            withdist,
            withhash,
            withcoord,
        };
        let out = hits.iter().map(|h| hit_reply(h, unit, opts)).collect();
        return Ok(Outcome::Reply(Reply::Array(out)));
    };
    // A member found twice (cells that repeat) is stored once.
    let mut seen = HashSet::with_capacity(hits.len());
    let items = hits
        .into_iter()
        .filter(|h| seen.insert(h.member.clone()))
        .map(|h| {
            let score = if storedist { h.dist / unit } else { h.score };
            (h.member, score)
        })
        .collect();
    Ok(Outcome::Store { dest, items })
}

#[derive(Clone, Copy)]
struct Opts {
    withdist: bool,
    withhash: bool,
    withcoord: bool,
}

fn hit_reply(h: &Hit, unit: f64, o: Opts) -> Reply {
    if !(o.withdist || o.withhash || o.withcoord) {
        return Reply::Bulk(h.member.clone());
    }
    let mut item = vec![Reply::Bulk(h.member.clone())];
    if o.withdist {
        item.push(distance_reply(h.dist / unit));
    }
    if o.withhash {
        item.push(Reply::Int(h.score as i64));
    }
    if o.withcoord {
        item.push(lon_lat_reply(h.lon, h.lat));
    }
    Reply::Array(item)
}

/// Write a search result to its destination: a new sorted set, or no key at all when
/// nothing was found. Returns the number stored.
fn store_result(ctx: &mut ExecCtx, dest: &Bytes, items: Vec<(Bytes, f64)>, kind: Kind) -> i64 {
    use crate::pubsub::notify::class as nc;
    let n = items.len() as i64;
    if items.is_empty() {
        ctx.delete_store_target(dest);
    } else {
        let lim = limits(ctx);
        let z = ZSet::from_pairs(items, &lim);
        ctx.set_value(dest, Value::ZSet(Box::new(z)), 0, false);
        let event = if kind == Kind::SearchStore {
            "geosearchstore"
        } else {
            "georadiusstore"
        };
        ctx.notify(nc::ZSET, event, dest);
    }
    n
}

/// A search whose keys are all on this shard.
fn search_local(ctx: &mut ExecCtx, a: &[Bytes], kind: Kind) -> CmdResult<Reply> {
    let outcome = {
        let z = read_zset(ctx, &a[kind.src()])?;
        run_search(kind, a, z.as_deref())?
    };
    Ok(match outcome {
        Outcome::Reply(r) => r,
        Outcome::Store { dest, items } => {
            // The routing saw the first STORE/STOREDIST key; a later one wins the
            // option, and it must live here too.
            if shard_of_key(&dest, ctx.shard.nshards) != ctx.shard.id {
                return Err(CmdError::err(
                    "the destination of a repeated STORE/STOREDIST option is on another shard",
                ));
            }
            Reply::Int(store_result(ctx, &dest, items, kind))
        }
    })
}

/// A search storing on another shard: search on the source's shard, then write on the
/// destination's. The dispatcher holds both keys' locks, so the two hops are one
/// atomic step.
fn search_cross(db: u16, a: Vec<Bytes>, kind: Kind) -> LocalBoxFuture<'static, Reply> {
    Box::pin(async move {
        let src = a[kind.src()].clone();
        let outcome = on_key(db, src, move |ctx, k| {
            let z = read_zset(ctx, k)?;
            run_search(kind, &a, z.as_deref())
        })
        .await;
        match outcome {
            Err(e) => Reply::error(&e),
            Ok(Outcome::Reply(r)) => r,
            Ok(Outcome::Store { dest, items }) => {
                Reply::Int(on_key(db, dest, move |ctx, k| store_result(ctx, k, items, kind)).await)
            }
        }
    })
}

fn geosearch(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    search_local(ctx, a, Kind::Search)
}

fn geosearchstore(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    search_local(ctx, a, Kind::SearchStore)
}

fn geosearchstore_cross(db: u16, a: Vec<Bytes>) -> LocalBoxFuture<'static, Reply> {
    search_cross(db, a, Kind::SearchStore)
}

fn georadius(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    search_local(ctx, a, Kind::Radius)
}

fn georadius_cross(db: u16, a: Vec<Bytes>) -> LocalBoxFuture<'static, Reply> {
    search_cross(db, a, Kind::Radius)
}

fn georadius_ro(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    search_local(ctx, a, Kind::RadiusRo)
}

fn georadiusbymember(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    search_local(ctx, a, Kind::ByMember)
}

fn georadiusbymember_cross(db: u16, a: Vec<Bytes>) -> LocalBoxFuture<'static, Reply> {
    search_cross(db, a, Kind::ByMember)
}

fn georadiusbymember_ro(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    search_local(ctx, a, Kind::ByMemberRo)
}

#[cfg(test)]
mod tests;
