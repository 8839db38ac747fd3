//! Key extraction from the table's key specs (and first/last/step).

use bytes::Bytes;

use super::meta::{BeginSearch, CommandMeta, FindKeys};

/// Positions of the key arguments of `args` (args[0] is the command name).
pub fn key_positions(meta: &CommandMeta, args: &[Bytes], out: &mut Vec<usize>) {
    out.clear();
    if meta.name == "sort" {
        sort_keys(args, out);
        return;
    }
    if meta.key_specs.is_empty() {
        if meta.first_key > 0 {
            range(args.len(), meta.first_key, meta.last_key, meta.step, out);
        }
        return;
    }
    for spec in meta.key_specs {
        let start = match spec.begin {
            BeginSearch::Index(i) => i as usize,
            BeginSearch::Keyword { keyword, startfrom } => {
                let n = args.len() as i32;
                let (from, to, dir): (i32, i32, i32) = if startfrom >= 0 {
                    (startfrom, n, 1)
                } else {
                    (n + startfrom, 0, -1)
                };
                let mut i = from;
                let mut found = None;
                while (dir > 0 && i < to) || (dir < 0 && i > to) {
                    if i > 0
                        && (i as usize) < args.len()
                        && args[i as usize].eq_ignore_ascii_case(keyword.as_bytes())
                    {
                        found = Some(i as usize + 1);
                        break;
                    }
                    i += dir;
                }
                match found {
                    Some(s) => s,
                    None => continue,
                }
            }
            BeginSearch::Unknown => continue,
        };
        if start >= args.len() {
            continue;
        }
        match spec.find {
            FindKeys::Range {
                lastkey,
                step,
                limit,
            } => {
                let last = if lastkey >= 0 {
                    (start + lastkey as usize).min(args.len() - 1)
                } else if limit > 1 {
                    let remaining = args.len() - start;
                    (start + remaining / limit as usize)
                        .saturating_sub(1)
                        .max(start)
                        .min(args.len() - 1)
                } else {
                    let l = args.len() as i64 + lastkey as i64;
                    if l < start as i64 {
                        continue;
                    }
                    l as usize
                };
                let step = step.max(1) as usize;
                let mut i = start;
                while i <= last {
                    out.push(i);
                    i += step;
                }
            }
            FindKeys::Keynum {
                keynumidx,
                firstkey,
                step,
            } => {
                let idx = start + keynumidx as usize;
                let Some(n) = args
                    .get(idx)
                    .and_then(|a| std::str::from_utf8(a).ok()?.parse::<usize>().ok())
                else {
                    continue;
                };
                let first = start + firstkey as usize;
                let step = step.max(1) as usize;
                for k in 0..n {
                    let pos = first + k * step;
                    if pos < args.len() {
                        out.push(pos);
                    }
                }
            }
            FindKeys::Unknown => {}
        }
    }
}

fn range(argc: usize, first: i32, last: i32, step: i32, out: &mut Vec<usize>) {
    let last = if last < 0 {
        argc as i64 + last as i64
    } else {
        last as i64
    };
    let step = step.max(1) as usize;
    let mut i = first as usize;
    while (i as i64) <= last && i < argc {
        out.push(i);
        i += step;
    }
}

/// SORT's keys as Redis's own extractor finds them: the sorted key and the last STORE
/// destination (LIMIT skips two arguments, BY and GET one).
fn sort_keys(args: &[Bytes], out: &mut Vec<usize>) {
    if args.len() < 2 {
        return;
    }
    out.push(1);
    let mut store = None;
    let mut i = 2;
    while i < args.len() {
        let a = &args[i];
        if a.eq_ignore_ascii_case(b"limit") {
            i += 2;
        } else if a.eq_ignore_ascii_case(b"get") || a.eq_ignore_ascii_case(b"by") {
            i += 1;
        } else if a.eq_ignore_ascii_case(b"store") && i + 1 < args.len() {
            store = Some(i + 1);
        }
        i += 1;
    }
    out.extend(store);
}

/// Whether a call reads keys that cannot be known before it runs, so it must see (and
/// lock) every shard: SORT/SORT_RO with a BY or GET pattern that substitutes `*`.
pub fn needs_every_shard(meta: &CommandMeta, args: &[Bytes]) -> bool {
    if meta.name != "sort" && meta.name != "sort_ro" {
        return false;
    }
    let mut i = 2;
    while i + 1 < args.len() {
        let a = &args[i];
        if a.eq_ignore_ascii_case(b"limit") {
            i += 3;
            continue;
        }
        if (a.eq_ignore_ascii_case(b"by") || a.eq_ignore_ascii_case(b"get"))
            && args[i + 1].contains(&b'*')
        {
            return true;
        }
        i += 1;
    }
    false
}
