//! SORT and SORT_RO over lists, sets and sorted sets: BY (weights from string keys or
//! `key->field` hash fields, or no sorting), LIMIT, GET, ASC|DESC, ALPHA, STORE.
//!
//! BY/GET patterns name keys that can only be known from the data. With one shard they
//! are read in place; with several, the command is routed as cross-shard (see
//! `command::keys::needs_every_shard`), every shard is locked, and the lookups travel as
//! hops. Both paths share the phases below: parse, load, weigh, order, output, store.

use std::cmp::Ordering;

use bytes::Bytes;

use super::multikey::{on_key, per_key};
use super::numbers::parse_i64;
use crate::command::table::TableBuilder;
use crate::command::{ExecCtx, LocalBoxFuture};
use crate::error::{CmdError, CmdResult};
use crate::protocol::Reply;
use crate::shard::db::Entry;
use crate::shard::value::Value;
use crate::types::zset::ZSet;
use crate::types::List;

pub fn register(t: &mut TableBuilder) {
    t.multi("sort", sort, sort_cross);
    t.multi("sort_ro", sort_ro, sort_ro_cross);
}

/// Parsed options, in Redis's terms.
#[derive(Debug, Clone, Default)]
pub struct Opts {
    desc: bool,
    alpha: bool,
    limit: Option<(i64, i64)>,
    by: Option<Bytes>,
    /// BY without `*`: keep the source's order.
    dontsort: bool,
    gets: Vec<Bytes>,
    store: Option<Bytes>,
}

fn parse(a: &[Bytes], readonly: bool) -> CmdResult<Opts> {
    let mut o = Opts::default();
    let mut j = 2;
    while j < a.len() {
        let left = a.len() - j - 1;
        let w = &a[j];
        if w.eq_ignore_ascii_case(b"asc") {
            o.desc = false;
        } else if w.eq_ignore_ascii_case(b"desc") {
            o.desc = true;
        } else if w.eq_ignore_ascii_case(b"alpha") {
            o.alpha = true;
        } else if w.eq_ignore_ascii_case(b"limit") && left >= 2 {
            o.limit = Some((parse_i64(&a[j + 1])?, parse_i64(&a[j + 2])?));
            j += 2;
        } else if !readonly && w.eq_ignore_ascii_case(b"store") && left >= 1 {
            o.store = Some(a[j + 1].clone());
            j += 1;
        } else if w.eq_ignore_ascii_case(b"by") && left >= 1 {
            o.by = Some(a[j + 1].clone());
            o.dontsort = !c_str(&a[j + 1]).contains(&b'*');
            j += 1;
        } else if w.eq_ignore_ascii_case(b"get") && left >= 1 {
            o.gets.push(a[j + 1].clone());
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    Ok(o)
}

/// A pattern as C sees it: up to the first NUL.
fn c_str(b: &[u8]) -> &[u8] {
    match memchr::memchr(0, b) {
        Some(i) => &b[..i],
        None => b,
    }
}

/// What a pattern names for one element: the element itself, nothing (no `*`), or a key
/// and optionally a hash field.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    Itself,
    Nothing,
    Key(Bytes, Option<Bytes>),
}

/// Substitute `elem` for the first `*` of `pat`; `->field` after the star (with a
/// non-empty field) reads a hash field.
pub fn target(pat: &[u8], elem: &[u8]) -> Target {
    let p = c_str(pat);
    if p == b"#" {
        return Target::Itself;
    }
    let Some(star) = memchr::memchr(b'*', p) else {
        return Target::Nothing;
    };
    let after = &pat[star + 1..];
    let arrow = memchr::memmem::find(c_str(after), b"->").filter(|&i| i + 2 < c_str(after).len());
    let (post, field) = match arrow {
        Some(i) => (&after[..i], Some(Bytes::copy_from_slice(&after[i + 2..]))),
        None => (after, None),
    };
    let mut key = Vec::with_capacity(star + elem.len() + post.len());
    key.extend_from_slice(&pat[..star]);
    key.extend_from_slice(elem);
    key.extend_from_slice(post);
    Target::Key(Bytes::from(key), field)
}

/// The value a lookup finds at `key` (a string, or a hash's field); None otherwise.
fn lookup_value(ctx: &mut ExecCtx, key: &[u8], field: Option<&[u8]>) -> Option<Bytes> {
    let e = ctx.lookup_read(key)?;
    match (&e.value, field) {
        (Value::Str(s), None) => Some(s.to_bytes()),
        (Value::Hash(h), Some(f)) => h.get(f).map(Bytes::copy_from_slice),
        _ => None,
    }
}

/// Resolve a pattern for each element with lookups done on this shard.
fn resolve_local(ctx: &mut ExecCtx, pat: &[u8], elems: &[Bytes]) -> Vec<Option<Bytes>> {
    elems
        .iter()
        .map(|e| match target(pat, e) {
            Target::Itself => Some(e.clone()),
            Target::Nothing => None,
            Target::Key(k, f) => lookup_value(ctx, &k, f.as_deref()),
        })
        .collect()
}

/// Resolve a pattern for each element, reading keys on their own shards.
async fn resolve_cross(db: u16, pat: Bytes, elems: &[Bytes]) -> Vec<Option<Bytes>> {
    let targets: Vec<Target> = elems.iter().map(|e| target(&pat, e)).collect();
    let mut out: Vec<Option<Bytes>> = Vec::with_capacity(elems.len());
    let mut keys = Vec::new();
    let mut field = None;
    for t in &targets {
        if let Target::Key(k, f) = t {
            keys.push(k.clone());
            field = f.clone();
        }
    }
    // Every key of one pattern shares its field (if any).
    let mut found = per_key(db, keys, move |ctx, k| {
        lookup_value(ctx, k, field.as_deref())
    })
    .await
    .into_iter();
    for (t, e) in targets.into_iter().zip(elems) {
        out.push(match t {
            Target::Itself => Some(e.clone()),
            Target::Nothing => None,
            Target::Key(..) => found.next().flatten(),
        })
    }
    out
}

/// The elements to sort, after Redis's direct-load shortcuts, plus the output window.
#[derive(Debug)]
pub struct Loaded {
    elems: Vec<Bytes>,
    start: i64,
    end: i64,
    /// The source was a set (decides the forced ALPHA sort when storing).
    is_set: bool,
}

/// Load the source at `key`: WRONGTYPE unless a list, set or sorted set; missing is an
/// empty list. Must run on the key's shard.
fn load(ctx: &mut ExecCtx, key: &[u8], o: &Opts) -> CmdResult<Loaded> {
    let zlim = ctx.shard.tun.zset_limits;
    // A read lookup also with STORE, as in Redis (a missing source fires `keymiss`).
    let e = ctx.lookup_read(key);
    enum Src<'a> {
        List(&'a List),
        Set(Vec<Bytes>),
        ZSet(&'a ZSet),
    }
    // A missing key sorts as an empty list (Redis makes one), not as a set.
    let missing = e.is_none();
    let src = match e {
        None => Src::Set(Vec::new()),
        Some(Entry { value, .. }) => match value {
            Value::List(l) => Src::List(l),
            Value::Set(s) => Src::Set(s.members()),
            Value::ZSet(z) => {
                // Redis converts a listpack sorted set to a skiplist for SORT (even
                // SORT_RO), and OBJECT ENCODING shows it afterwards.
                if z.encoding() == "listpack" {
                    let mut big = ZSet::new_big();
                    for (m, sc) in z.iter() {
                        big.insert(m, sc, &zlim);
                    }
                    **z = big;
                }
                Src::ZSet(z)
            }
            _ => return Err(CmdError::WrongType),
        },
    };
    let len = match &src {
        Src::List(l) => l.len(),
        Src::Set(v) => v.len(),
        Src::ZSet(z) => z.len(),
    } as i64;
    let (lstart, lcount) = o.limit.unwrap_or((0, -1));
    let mut start = lstart.max(0);
    let mut end = if lcount < 0 {
        len - 1
    } else {
        start.saturating_add(lcount) - 1
    };
    if start >= len {
        start = len - 1;
        end = len - 2;
    }
    if end >= len {
        end = len - 1;
    }
    let is_set = matches!(src, Src::Set(_)) && !missing;
    let elems = match src {
        Src::List(l) if o.dontsort => {
            let mut v = Vec::new();
            if end >= start {
                let (s, e) = (start as usize, end as usize);
                if o.desc {
                    let n = l.len();
                    v = l.range(n - 1 - e, n - 1 - s);
                    v.reverse();
                } else {
                    v = l.range(s, e);
                }
                end -= start;
                start = 0;
            }
            v
        }
        Src::List(l) => l.iter().map(Bytes::copy_from_slice).collect(),
        Src::ZSet(z) if o.dontsort => {
            let mut v = Vec::new();
            if end >= start {
                let (s, e) = (start as usize, end as usize);
                let n = z.len();
                v = if o.desc {
                    let mut r = z.range(n - 1 - e, n - s);
                    r.reverse();
                    r
                } else {
                    z.range(s, e + 1)
                }
                .into_iter()
                .map(|(m, _)| m)
                .collect();
            }
            end -= start;
            start = 0;
            v
        }
        Src::ZSet(z) => z.iter().map(|(m, _)| Bytes::copy_from_slice(m)).collect(),
        Src::Set(v) => v,
    };
    Ok(Loaded {
        elems,
        start,
        end,
        is_set,
    })
}

/// C's strtod over the whole string, as SORT scores are read: leading spaces allowed,
/// nothing after the number, no NaN, no overflow or underflow. The empty string is 0.
pub fn sort_score(b: &[u8]) -> Option<f64> {
    let s = c_str(b);
    if s.is_empty() {
        return Some(0.0);
    }
    let ws = s
        .iter()
        .position(|c| !matches!(c, b' ' | b'\t'..=b'\r'))
        .unwrap_or(s.len());
    let t = &s[ws..];
    if t.is_empty() {
        return None;
    }
    let (neg, body) = match t.first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let v = if body.len() > 2 && body[0] == b'0' && (body[1] | 0x20) == b'x' {
        hex_float(&body[2..])?
    } else {
        let text = std::str::from_utf8(body).ok()?;
        if text.starts_with(['+', '-']) {
            return None;
        }
        let v: f64 = text.parse().ok()?;
        let lower = text.to_ascii_lowercase();
        let literal_inf = lower == "inf" || lower == "infinity";
        if v.is_infinite() && !literal_inf {
            return None;
        }
        let nonzero_digits = text
            .bytes()
            .take_while(|c| !matches!(c, b'e' | b'E'))
            .any(|c| c.is_ascii_digit() && c != b'0');
        if (v == 0.0 && nonzero_digits) || (v != 0.0 && v.is_subnormal()) {
            return None;
        }
        v
    };
    if v.is_nan() {
        return None;
    }
    Some(if neg { -v } else { v })
}

/// The digits after `0x`: hex mantissa with optional fraction and binary exponent.
fn hex_float(s: &[u8]) -> Option<f64> {
    let mut i = 0;
    let mut mant = 0f64;
    let mut digits = 0;
    let mut scale = 0i32;
    let mut seen_dot = false;
    while i < s.len() {
        let c = s[i];
        if c == b'.' && !seen_dot {
            seen_dot = true;
        } else if let Some(d) = (c as char).to_digit(16) {
            mant = mant * 16.0 + d as f64;
            digits += 1;
            if seen_dot {
                scale -= 4;
            }
        } else {
            break;
        }
        i += 1;
    }
    if digits == 0 {
        return None;
    }
    if i < s.len() && (s[i] | 0x20) == b'p' {
        let exp: i32 = std::str::from_utf8(&s[i + 1..]).ok()?.parse().ok()?;
        scale = scale.checked_add(exp)?;
        i = s.len();
    }
    if i != s.len() {
        return None;
    }
    let v = mant * 2f64.powi(scale);
    if v.is_infinite() {
        return None;
    }
    Some(v)
}

/// C's strcmp: compare up to the first NUL (strcoll in the C locale).
fn strcmp(a: &[u8], b: &[u8]) -> Ordering {
    c_str(a).cmp(c_str(b))
}

/// Order `elems` as Redis's sortCompare does. `by`: the BY values (None: missing key).
/// Err if a numeric sort meets a value that is not a number.
fn order(
    elems: Vec<Bytes>,
    by: Option<Vec<Option<Bytes>>>,
    o: &Opts,
    alpha: bool,
) -> CmdResult<Vec<Bytes>> {
    let storing = o.store.is_some();
    let mut bad = false;
    let mut items: Vec<(Bytes, f64, Option<Bytes>)> = Vec::with_capacity(elems.len());
    let by_given = by.is_some();
    let mut byvals = by.map(Vec::into_iter);
    for e in elems {
        let w = match &mut byvals {
            Some(it) => it.next().flatten(),
            None => Some(e.clone()),
        };
        let mut score = 0.0;
        if !alpha {
            if let Some(w) = &w {
                match sort_score(w) {
                    Some(v) => score = v,
                    None => bad = true,
                }
            }
        }
        items.push((e, score, if by_given { w } else { None }));
    }
    if bad {
        return Err(CmdError::err(
            "One or more scores can't be converted into double",
        ));
    }
    let cmp = |a: &(Bytes, f64, Option<Bytes>), b: &(Bytes, f64, Option<Bytes>)| {
        let c = if !alpha {
            a.1.partial_cmp(&b.1)
                .filter(|c| c.is_ne())
                .unwrap_or_else(|| a.0.cmp(&b.0))
        } else if by_given {
            match (&a.2, &b.2) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Less,
                (Some(_), None) => Ordering::Greater,
                (Some(x), Some(y)) if storing => x.cmp(y),
                (Some(x), Some(y)) => strcmp(x, y),
            }
        } else if storing {
            a.0.cmp(&b.0)
        } else {
            strcmp(&a.0, &b.0)
        };
        if o.desc {
            c.reverse()
        } else {
            c
        }
    };
    items.sort_by(cmp);
    Ok(items.into_iter().map(|i| i.0).collect())
}

/// The output window of the ordered elements.
fn window(elems: &[Bytes], start: i64, end: i64) -> &[Bytes] {
    if end < start || start < 0 {
        return &[];
    }
    let (s, e) = (start as usize, (end as usize + 1).min(elems.len()));
    elems.get(s..e).unwrap_or(&[])
}

/// Decide whether the loaded elements get sorted, and how (ALPHA may be forced).
fn plan(o: &Opts, l: &Loaded) -> (bool, bool, bool) {
    // (sort at all, alpha, use BY): a set stored without sorting is sorted ALPHA so
    // the stored list is the same on replicas.
    if o.dontsort && l.is_set && o.store.is_some() {
        (true, true, false)
    } else {
        (!o.dontsort, o.alpha, o.by.is_some() && !o.dontsort)
    }
}

/// The reply or the list to store, from the output elements and their GET values.
fn output(out: &[Bytes], gets: &[Vec<Option<Bytes>>], storing: bool) -> Vec<Option<Bytes>> {
    if gets.is_empty() {
        return out.iter().cloned().map(Some).collect();
    }
    let mut v = Vec::with_capacity(out.len() * gets.len());
    for i in 0..out.len() {
        for g in gets {
            let x = g.get(i).cloned().flatten();
            v.push(if storing {
                Some(x.unwrap_or_default())
            } else {
                x
            });
        }
    }
    v
}

/// STORE: the result as a list (an empty one deletes `dst`); returns the count.
fn store_list(ctx: &mut ExecCtx, dst: &Bytes, items: Vec<Option<Bytes>>) -> i64 {
    let n = items.len() as i64;
    use crate::pubsub::notify::class as nc;
    if n == 0 {
        ctx.delete_store_target(dst);
    } else {
        let fill = ctx.shard.tun.list_fill;
        let l = List::from_iter(items.iter().map(|x| x.as_deref().unwrap_or(b"")), fill);
        ctx.set_value(dst, Value::List(Box::new(l)), 0, false);
        ctx.notify(nc::LIST, "sortstore", dst);
    }
    n
}

fn reply_of(items: Vec<Option<Bytes>>) -> Reply {
    Reply::Array(items.into_iter().map(Reply::from_opt_bytes).collect())
}

fn run_local(ctx: &mut ExecCtx, a: &[Bytes], readonly: bool) -> CmdResult<Reply> {
    let o = parse(a, readonly)?;
    let l = load(ctx, &a[1], &o)?;
    let (sorting, alpha, use_by) = plan(&o, &l);
    let (start, end) = (l.start, l.end);
    let elems = if sorting {
        let by = match (&o.by, use_by) {
            (Some(p), true) => Some(resolve_local(ctx, p, &l.elems)),
            _ => None,
        };
        order(l.elems, by, &o, alpha)?
    } else {
        l.elems
    };
    let out = window(&elems, start, end);
    let gets: Vec<_> = o.gets.iter().map(|g| resolve_local(ctx, g, out)).collect();
    let items = output(out, &gets, o.store.is_some());
    match &o.store {
        Some(dst) => Ok(Reply::Int(store_list(ctx, dst, items))),
        None => Ok(reply_of(items)),
    }
}

async fn run_cross(db: u16, a: Vec<Bytes>, readonly: bool) -> CmdResult<Reply> {
    let o = parse(&a, readonly)?;
    let o2 = o.clone();
    let l = on_key(db, a[1].clone(), move |ctx, k| load(ctx, k, &o2)).await?;
    let (sorting, alpha, use_by) = plan(&o, &l);
    let (start, end) = (l.start, l.end);
    let elems = if sorting {
        let by = match (&o.by, use_by) {
            (Some(p), true) => Some(resolve_cross(db, p.clone(), &l.elems).await),
            _ => None,
        };
        order(l.elems, by, &o, alpha)?
    } else {
        l.elems
    };
    let out = window(&elems, start, end);
    let mut gets = Vec::with_capacity(o.gets.len());
    for g in &o.gets {
        gets.push(resolve_cross(db, g.clone(), out).await);
    }
    let items = output(out, &gets, o.store.is_some());
    match o.store {
        Some(dst) => Ok(Reply::Int(
            on_key(db, dst, move |ctx, k| store_list(ctx, k, items)).await,
        )),
        None => Ok(reply_of(items)),
    }
}

fn sort(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    run_local(ctx, a, false)
}

fn sort_ro(ctx: &mut ExecCtx, a: &[Bytes]) -> CmdResult<Reply> {
    run_local(ctx, a, true)
}

fn sort_cross(db: u16, a: Vec<Bytes>) -> LocalBoxFuture<'static, Reply> {
    Box::pin(async move { run_cross(db, a, false).await.into() })
}

fn sort_ro_cross(db: u16, a: Vec<Bytes>) -> LocalBoxFuture<'static, Reply> {
    Box::pin(async move { run_cross(db, a, true).await.into() })
}

#[cfg(test)]
#[path = "sort_tests.rs"]
mod tests;
