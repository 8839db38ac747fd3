//! Parsing and formatting of directive values, per [`Kind`], with the exact error texts
//! of redis-server 7.0.

use std::path::Path;

use super::directives::{Directive, Kind, StrCheck};
pub(crate) use super::num::{mem_human, os_error_text};
use super::num::{parse_c_double, parse_c_long, parse_ll, parse_mem};

/// A directive's current value: `text` is what CONFIG GET shows; `num` caches the numeric
/// meaning (bool 0/1, integer, bytes, enum id, flag bits, negative percent...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Value {
    pub text: String,
    pub num: i128,
}

impl Value {
    pub fn new(text: impl Into<String>, num: i128) -> Value {
        Value {
            text: text.into(),
            num,
        }
    }
}

/// Keyspace notification classes (`notify-keyspace-events`), as bits of
/// `Config::get_i64("notify-keyspace-events")`.
pub mod notify {
    pub const KEYSPACE: u32 = 1 << 0; // K
    pub const KEYEVENT: u32 = 1 << 1; // E
    pub const GENERIC: u32 = 1 << 2; // g
    pub const STRING: u32 = 1 << 3; // $
    pub const LIST: u32 = 1 << 4; // l
    pub const SET: u32 = 1 << 5; // s
    pub const HASH: u32 = 1 << 6; // h
    pub const ZSET: u32 = 1 << 7; // z
    pub const EXPIRED: u32 = 1 << 8; // x
    pub const EVICTED: u32 = 1 << 9; // e
    pub const STREAM: u32 = 1 << 10; // t
    pub const KEY_MISS: u32 = 1 << 11; // m
    pub const MODULE: u32 = 1 << 12; // d
    pub const NEW: u32 = 1 << 13; // n
    /// `A`: every class except key-miss and new.
    pub const ALL: u32 =
        GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;
}

/// Where a value comes from, for the few kinds that behave differently.
pub(crate) struct Ctx<'a> {
    /// True when reading a file or the command line; false for CONFIG SET.
    pub from_file: bool,
    /// File loading only: a `save` line was already seen in this load (later lines add to
    /// the list instead of replacing the defaults).
    pub save_started: bool,
    /// Directory relative paths (`dir`) are resolved against.
    pub cwd: &'a Path,
}

const WRONG_ARGS: &str = "wrong number of arguments";
const BAD_INT: &str = "argument couldn't be parsed into an integer";
const BAD_MEM: &str = "argument must be a memory value";
const BAD_SAVE: &str = "Invalid save parameters";
const COBL_ARGS: &str = "Wrong number of arguments in buffer limit configuration.";
const COBL_CLASS: &str = "Invalid client class specified in buffer limit configuration.";
const COBL_VALUE: &str =
    "Error in hard, soft or soft_seconds setting in buffer limit configuration.";
const NKE_BAD: &str = "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.";

fn range_err(min: impl std::fmt::Display, max: impl std::fmt::Display) -> String {
    format!("argument must be between {min} and {max} inclusive")
}

fn enum_err(names: impl Iterator<Item = &'static str>) -> String {
    let list: Vec<&str> = names.collect();
    format!(
        "argument(s) must be one of the following: {}",
        list.join(", ")
    )
}

/// Parse `args` (the words after the directive name) for directive `d`.
/// `cur` is the current value (some kinds merge into it).
pub(crate) fn parse(
    d: &Directive,
    args: &[String],
    cur: &Value,
    ctx: &Ctx,
) -> Result<Value, String> {
    if !d.kind.is_multi_arg() && args.len() != 1 {
        return Err(WRONG_ARGS.to_string());
    }
    let one = args.first().map(String::as_str).unwrap_or("");
    match d.kind {
        Kind::Bool => match one.to_ascii_lowercase().as_str() {
            "yes" => Ok(Value::new("yes", 1)),
            "no" => Ok(Value::new("no", 0)),
            _ => Err("argument must be 'yes' or 'no'".to_string()),
        },
        Kind::Int { min, max } => {
            let mut v = parse_ll(one).ok_or(BAD_INT)?;
            if v < min || v > max {
                return Err(range_err(min, max));
            }
            if d.name == "hz" {
                // Redis clamps hz to 1..=500 (CONFIG GET shows the clamped value).
                v = v.clamp(1, 500);
            }
            Ok(Value::new(v.to_string(), i128::from(v)))
        }
        Kind::Mem { min, max } => {
            let v = parse_mem(one).ok_or(BAD_MEM)?;
            if v < min || v > max {
                return Err(range_err(min, max));
            }
            Ok(Value::new(v.to_string(), i128::from(v)))
        }
        Kind::MemOrPercent => parse_mem_or_percent(one),
        Kind::Octal { max } => {
            let bad = "argument couldn't be parsed as an octal number";
            if one.is_empty() || !one.bytes().all(|c| (b'0'..=b'7').contains(&c)) || one.len() > 20
            {
                return Err(bad.to_string());
            }
            let v = i64::from_str_radix(one, 8).map_err(|_| bad.to_string())?;
            if v > max {
                return Err(range_err(0, format!("{max:o}")));
            }
            Ok(Value::new(format!("{v:o}"), i128::from(v)))
        }
        Kind::Enum(names) => {
            let id = names
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(one))
                .map(|(_, id)| *id)
                .ok_or_else(|| enum_err(names.iter().map(|(n, _)| *n)))?;
            let shown = names
                .iter()
                .find(|(_, i)| *i == id)
                .map(|(n, _)| *n)
                .unwrap_or(one);
            Ok(Value::new(shown, i128::from(id)))
        }
        Kind::Flags(names) => parse_flags(names, args),
        Kind::Str(check) => parse_str(d, check, one, ctx),
        Kind::Save => parse_save(args, cur, ctx),
        Kind::Bind => {
            if args.len() > 16 {
                return Err("Too many bind addresses specified.".to_string());
            }
            if args.len() == 1 && args[0].is_empty() {
                return Ok(Value::new("", 0));
            }
            Ok(Value::new(args.join(" "), args.len() as i128))
        }
        Kind::ClientOutputBufferLimit => parse_cobl(args, cur),
        Kind::OomScoreAdjValues => {
            if args.len() != 3 {
                return Err(WRONG_ARGS.to_string());
            }
            let mut vals = Vec::with_capacity(3);
            for a in args {
                match parse_c_long(a) {
                    Some(v) if (-2000..=2000).contains(&v) => vals.push(v.to_string()),
                    _ => return Err(
                        "Invalid oom-score-adj-values, elements must be between -2000 and 2000."
                            .to_string(),
                    ),
                }
            }
            Ok(Value::new(vals.join(" "), 0))
        }
        Kind::Percentiles => parse_percentiles(args),
        Kind::ReplicaOf => {
            if args.len() != 2 {
                return Err(WRONG_ARGS.to_string());
            }
            if args[0].eq_ignore_ascii_case("no") && args[1].eq_ignore_ascii_case("one") {
                return Ok(Value::new("", 0));
            }
            match parse_c_long(&args[1]) {
                Some(p) if (0..=65535).contains(&p) => {
                    Ok(Value::new(format!("{} {}", args[0], p), i128::from(p)))
                }
                _ => Err("Invalid master port".to_string()),
            }
        }
        Kind::NotifyKeyspaceEvents => {
            let flags = parse_notify(one).ok_or(NKE_BAD)?;
            Ok(Value::new(notify_to_string(flags), i128::from(flags)))
        }
        Kind::Include
        | Kind::RenameCommand
        | Kind::User
        | Kind::LoadModule
        | Kind::Sentinel
        | Kind::Deprecated => Err("Bad directive or wrong number of arguments".to_string()),
    }
}

fn parse_mem_or_percent(one: &str) -> Result<Value, String> {
    let bad = "argument must be a memory or percent value";
    let over = "percentage argument must be less or equal to 100";
    if let Some(p) = one.strip_suffix('%') {
        let v = parse_ll(p).ok_or(bad)?;
        if v < 0 {
            return Err(bad.to_string());
        }
        if v > 100 {
            return Err(over.to_string());
        }
        return Ok(percent_value(v));
    }
    let v = parse_mem(one).ok_or(bad)? as i64; // stored signed, as in Redis
    if v < 0 {
        // a huge byte count wraps negative and then reads as a percentage, as in Redis
        return match v.checked_neg() {
            Some(p) if p <= 100 => Ok(percent_value(p)),
            _ => Err(over.to_string()),
        };
    }
    Ok(Value::new(v.to_string(), i128::from(v)))
}

fn percent_value(p: i64) -> Value {
    if p == 0 {
        Value::new("0", 0)
    } else {
        Value::new(format!("{p}%"), -i128::from(p))
    }
}

fn parse_flags(names: &'static [(&'static str, u32)], args: &[String]) -> Result<Value, String> {
    let err = || enum_err(names.iter().map(|(n, _)| *n));
    if args.is_empty() {
        return Err(err());
    }
    let mut bits = 0u32;
    for a in args {
        let (_, b) = names
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(a))
            .ok_or_else(err)?;
        bits |= *b;
    }
    if bits & 1 != 0 && bits & 2 != 0 {
        return Err("shutdown options SAVE and NOSAVE can't be used simultaneously".to_string());
    }
    let text = if bits == 0 {
        names.first().map(|(n, _)| *n).unwrap_or("").to_string()
    } else {
        let set: Vec<&str> = names
            .iter()
            .filter(|(_, b)| *b != 0 && bits & *b != 0)
            .map(|(n, _)| *n)
            .collect();
        set.join(" ")
    };
    Ok(Value::new(text, i128::from(bits)))
}

fn parse_str(d: &Directive, check: StrCheck, one: &str, ctx: &Ctx) -> Result<Value, String> {
    match check {
        StrCheck::None => {}
        StrCheck::FileName | StrCheck::AofFileName => {
            if one.is_empty() && check == StrCheck::AofFileName {
                return Err(format!("{} can't be empty", d.name));
            }
            if one.contains('/') {
                return Err(format!("{} can't be a path, just a filename", d.name));
            }
        }
        StrCheck::DirName => {
            if one.is_empty() {
                return Err(format!("{} can't be empty", d.name));
            }
            if one.contains('/') {
                return Err(format!("{} can't be a path, just a dirname", d.name));
            }
        }
        StrCheck::Hostname => {
            if !one
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'.')
            {
                return Err(
                    "Hostnames may only contain alphanumeric characters, hyphens or dots"
                        .to_string(),
                );
            }
        }
        StrCheck::ProcTitle => {
            if !valid_proc_title(one) {
                return Err("template format is invalid or contains unknown variables".to_string());
            }
        }
        StrCheck::Dir => {
            if one.is_empty() {
                return Err("No such file or directory".to_string());
            }
            let p = ctx.cwd.join(one);
            let meta = std::fs::metadata(&p).map_err(|e| os_error_text(&e))?;
            if !meta.is_dir() {
                return Err("Not a directory".to_string());
            }
            let abs = std::fs::canonicalize(&p).map_err(|e| os_error_text(&e))?;
            return Ok(Value::new(abs.to_string_lossy().into_owned(), 0));
        }
    }
    Ok(Value::new(one, 0))
}

fn valid_proc_title(t: &str) -> bool {
    const VARS: [&str; 7] = [
        "title",
        "listen-addr",
        "server-mode",
        "port",
        "tls-port",
        "unixsocket",
        "config-file",
    ];
    // `{{` and `}}` are literal braces, a lone `}` is literal, `{` opens a known `{variable}`.
    let mut rest = t;
    while let Some(i) = rest.find('{') {
        let after = &rest[i + 1..];
        if let Some(r) = after.strip_prefix('{') {
            rest = r;
            continue;
        }
        let Some(j) = after.find('}') else {
            return false;
        };
        let var = &after[..j];
        if var.contains('{') || !VARS.contains(&var) {
            return false;
        }
        rest = &after[j + 1..];
    }
    // Redis also refuses a template that expands to nothing.
    !t.trim().is_empty()
}

/// `save` pairs as (seconds, changes), from the CONFIG GET text.
pub(crate) fn save_pairs(text: &str) -> Vec<(i64, i64)> {
    let nums: Vec<i64> = text
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    nums.chunks(2)
        .filter(|c| c.len() == 2)
        .map(|c| (c[0], c[1]))
        .collect()
}

fn parse_save(args: &[String], cur: &Value, ctx: &Ctx) -> Result<Value, String> {
    let mut pairs: Vec<(i64, i64)> = Vec::new();
    let reset = args.len() == 1 && args[0].is_empty();
    if !reset {
        if !args.len().is_multiple_of(2) {
            return Err(BAD_SAVE.to_string());
        }
        for c in args.chunks(2) {
            match (parse_c_long(&c[0]), parse_c_long(&c[1])) {
                (Some(s), Some(n)) if s >= 1 && n >= 0 => pairs.push((s, n)),
                _ => return Err(BAD_SAVE.to_string()),
            }
        }
    }
    // In a file, the first `save` line replaces the defaults and later ones add to it;
    // `save ""` always clears. CONFIG SET always replaces.
    let mut all = if ctx.from_file && ctx.save_started && !reset {
        save_pairs(&cur.text)
    } else {
        Vec::new()
    };
    all.extend(pairs);
    let text: Vec<String> = all.iter().map(|(s, n)| format!("{s} {n}")).collect();
    Ok(Value::new(text.join(" "), all.len() as i128))
}

/// The three output-buffer classes in CONFIG GET order, with their GET and REWRITE names.
pub(crate) const COBL_CLASSES: [(&str, &str); 3] = [
    ("normal", "normal"),
    ("slave", "replica"),
    ("pubsub", "pubsub"),
];

/// (hard, soft, soft_seconds) per class, from the CONFIG GET text.
pub(crate) fn cobl_limits(text: &str) -> [(u64, u64, i64); 3] {
    let mut out = [(0, 0, 0); 3];
    let words: Vec<&str> = text.split_whitespace().collect();
    for g in words.chunks(4).filter(|g| g.len() == 4) {
        if let Some(i) = cobl_class(g[0]) {
            out[i] = (
                g[1].parse().unwrap_or(0),
                g[2].parse().unwrap_or(0),
                g[3].parse().unwrap_or(0),
            );
        }
    }
    out
}

fn cobl_class(name: &str) -> Option<usize> {
    match name.to_ascii_lowercase().as_str() {
        "normal" => Some(0),
        "slave" | "replica" => Some(1),
        "pubsub" => Some(2),
        _ => None,
    }
}

fn parse_cobl(args: &[String], cur: &Value) -> Result<Value, String> {
    if !args.len().is_multiple_of(4) {
        return Err(COBL_ARGS.to_string());
    }
    let mut limits = cobl_limits(&cur.text);
    for g in args.chunks(4) {
        let class = cobl_class(&g[0]).ok_or(COBL_CLASS)?;
        let hard = parse_mem(&g[1]);
        let soft = parse_mem(&g[2]);
        let secs = parse_c_long(&g[3]);
        match (hard, soft, secs) {
            (Some(h), Some(s), Some(t)) if t >= 0 => limits[class] = (h, s, t),
            _ => return Err(COBL_VALUE.to_string()),
        }
    }
    Ok(Value::new(cobl_text(&limits), 0))
}

pub(crate) fn cobl_text(limits: &[(u64, u64, i64); 3]) -> String {
    let parts: Vec<String> = COBL_CLASSES
        .iter()
        .zip(limits.iter())
        .map(|((name, _), (h, s, t))| format!("{name} {h} {s} {t}"))
        .collect();
    parts.join(" ")
}

fn parse_percentiles(args: &[String]) -> Result<Value, String> {
    if args.is_empty() || (args.len() == 1 && args[0].is_empty()) {
        return Ok(Value::new("", 0));
    }
    let mut out = Vec::with_capacity(args.len());
    for a in args {
        let v: f64 = match parse_c_double(a) {
            Some(v) if !v.is_nan() => v,
            _ => return Err("Invalid latency-tracking-info-percentiles parameters".to_string()),
        };
        if !(0.0..=100.0).contains(&v) {
            return Err(
                "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]"
                    .to_string(),
            );
        }
        out.push(format_percentile(v));
    }
    Ok(Value::new(out.join(" "), out.len() as i128))
}

/// C's `%f` with trailing zeros removed, as Redis shows percentiles.
fn format_percentile(v: f64) -> String {
    let s = format!("{v:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

fn parse_notify(s: &str) -> Option<u32> {
    use notify::*;
    let mut flags = 0;
    for c in s.chars() {
        flags |= match c {
            'A' => ALL,
            'g' => GENERIC,
            '$' => STRING,
            'l' => LIST,
            's' => SET,
            'h' => HASH,
            'z' => ZSET,
            'x' => EXPIRED,
            'e' => EVICTED,
            'K' => KEYSPACE,
            'E' => KEYEVENT,
            't' => STREAM,
            'm' => KEY_MISS,
            'd' => MODULE,
            'n' => NEW,
            _ => return None,
        };
    }
    Some(flags)
}

/// Flags back to text in Redis's order (`A` hides `n`, exactly as redis-server 7.0 does).
fn notify_to_string(flags: u32) -> String {
    use notify::*;
    let mut s = String::new();
    if flags & ALL == ALL {
        s.push('A');
    } else {
        for (bit, c) in [
            (GENERIC, 'g'),
            (STRING, '$'),
            (LIST, 'l'),
            (SET, 's'),
            (HASH, 'h'),
            (ZSET, 'z'),
            (EXPIRED, 'x'),
            (EVICTED, 'e'),
            (STREAM, 't'),
            (MODULE, 'd'),
            (NEW, 'n'),
        ] {
            if flags & bit != 0 {
                s.push(c);
            }
        }
    }
    for (bit, c) in [(KEYSPACE, 'K'), (KEYEVENT, 'E'), (KEY_MISS, 'm')] {
        if flags & bit != 0 {
            s.push(c);
        }
    }
    s
}

/// Split a CONFIG SET value of a multi-argument directive the way Redis does: on single
/// spaces, keeping empty pieces; an empty value gives no arguments.
pub(crate) fn split_set_value(v: &str) -> Vec<String> {
    if v.is_empty() {
        Vec::new()
    } else {
        v.split(' ').map(str::to_string).collect()
    }
}

/// The default value of `d`. `cwd` is the start-up working directory (the `dir` default).
pub(crate) fn default_value(d: &Directive, cwd: &Path) -> Value {
    match d.kind {
        Kind::Str(StrCheck::Dir) => Value::new(cwd.to_string_lossy().into_owned(), 0),
        Kind::Str(_) | Kind::ReplicaOf => Value::new(d.default, 0),
        k if k.is_file_only() => Value::new("", 0),
        k => {
            let args = if k.is_multi_arg() {
                split_set_value(d.default)
            } else {
                vec![d.default.to_string()]
            };
            let ctx = Ctx {
                from_file: false,
                save_started: false,
                cwd,
            };
            let empty = Value::new(d.default, 0);
            parse(d, &args, &empty, &ctx).unwrap_or(empty)
        }
    }
}
