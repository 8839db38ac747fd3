//! Glob matching: Redis's pattern syntax for CONFIG GET (`*`, `?`, `[...]` with `^` and
//! ranges, `\` escapes), and file-name globbing for `include`.

use std::path::{Path, PathBuf};

#[derive(Debug)]
enum Tok {
    Star,
    Any,
    /// (negated, items): each item is an inclusive byte range.
    Set(bool, Vec<(u8, u8)>),
    Lit(u8),
}

fn tokenize(p: &[u8]) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            b'*' => {
                if !matches!(out.last(), Some(Tok::Star)) {
                    out.push(Tok::Star);
                }
            }
            b'?' => out.push(Tok::Any),
            b'\\' if i + 1 < p.len() => {
                i += 1;
                out.push(Tok::Lit(p[i]));
            }
            b'[' => {
                i += 1;
                let neg = i < p.len() && p[i] == b'^';
                if neg {
                    i += 1;
                }
                let mut items = Vec::new();
                // An unterminated set runs to the end of the pattern, as in Redis.
                while i < p.len() && p[i] != b']' {
                    if p[i] == b'\\' && i + 1 < p.len() {
                        i += 1;
                        items.push((p[i], p[i]));
                    } else if i + 2 < p.len() && p[i + 1] == b'-' && p[i + 2] != b']' {
                        let (a, b) = (p[i], p[i + 2]);
                        items.push(if a <= b { (a, b) } else { (b, a) });
                        i += 2;
                    } else {
                        items.push((p[i], p[i]));
                    }
                    i += 1;
                }
                out.push(Tok::Set(neg, items));
            }
            c => out.push(Tok::Lit(c)),
        }
        i += 1;
    }
    out
}

fn tok_matches(t: &Tok, c: u8, nocase: bool) -> bool {
    let fold = |x: u8| if nocase { x.to_ascii_lowercase() } else { x };
    match t {
        Tok::Star => true,
        Tok::Any => true,
        Tok::Lit(l) => fold(*l) == fold(c),
        Tok::Set(neg, items) => {
            let hit = items.iter().any(|&(a, b)| {
                (a..=b).contains(&c)
                    || (nocase && {
                        let lc = c.to_ascii_lowercase();
                        (fold(a)..=fold(b)).contains(&lc)
                    })
            });
            hit != *neg
        }
    }
}

/// Redis `stringmatch`: does `pattern` match all of `s`?
pub fn string_match(pattern: &[u8], s: &[u8], nocase: bool) -> bool {
    let toks = tokenize(pattern);
    // Iterative matching with backtracking to the last star: linear-ish, no blow-up.
    let (mut ti, mut si) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        match toks.get(ti) {
            Some(Tok::Star) => {
                star = Some((ti, si));
                ti += 1;
            }
            Some(t) if tok_matches(t, s[si], nocase) => {
                ti += 1;
                si += 1;
            }
            _ => match star {
                Some((st, ss)) => {
                    ti = st + 1;
                    si = ss + 1;
                    star = Some((st, ss + 1));
                }
                None => return false,
            },
        }
    }
    toks[ti.min(toks.len())..]
        .iter()
        .all(|t| matches!(t, Tok::Star))
}

pub fn has_glob_chars(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Expand a file glob like glob(3): sorted, wildcards never match a leading `.`, no
/// match gives an empty list.
pub fn expand_file_glob(pattern: &Path) -> Vec<PathBuf> {
    let mut bases: Vec<PathBuf> = vec![PathBuf::new()];
    for comp in pattern.components() {
        let part = comp.as_os_str().to_string_lossy().into_owned();
        let mut next = Vec::new();
        if !has_glob_chars(&part) {
            for b in &bases {
                next.push(b.join(comp.as_os_str()));
            }
        } else {
            for b in &bases {
                let dir = if b.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    b.as_path()
                };
                let Ok(rd) = std::fs::read_dir(dir) else {
                    continue;
                };
                let mut names: Vec<String> = rd
                    .filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| !n.starts_with('.') || part.starts_with('.'))
                    .filter(|n| string_match(part.as_bytes(), n.as_bytes(), false))
                    .collect();
                names.sort();
                for n in names {
                    next.push(b.join(n));
                }
            }
        }
        bases = next;
        if bases.is_empty() {
            break;
        }
    }
    bases.retain(|p| p.exists());
    bases.sort();
    bases
}
