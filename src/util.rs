//! Small shared helpers: clocks and Redis glob matching.

use std::time::{SystemTime, UNIX_EPOCH};

/// Unix time in milliseconds.
#[inline]
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

thread_local! {
    /// (monotonic anchor, unix ms at the anchor): converts `Instant`s to unix time
    /// without a second clock read. Re-anchored by `reanchor` (every cron tick).
    static ANCHOR: std::cell::Cell<(std::time::Instant, u64)> =
        std::cell::Cell::new((std::time::Instant::now(), now_ms()));
}

/// Unix ms at `t`, from this thread's anchor.
#[inline]
pub fn unix_ms_at(t: std::time::Instant) -> u64 {
    let (base, ms) = ANCHOR.with(|a| a.get());
    ms + t.saturating_duration_since(base).as_millis() as u64
}

/// Unix ms as of this thread's last `reanchor` (its shard's last cron tick): a clock for
/// coarse uses, like Redis's cached `server.lruclock`, that costs no clock read.
#[inline]
pub fn cached_ms() -> u64 {
    ANCHOR.with(|a| a.get().1)
}

/// Re-read the wall clock (follows NTP steps and slews).
pub fn reanchor() {
    ANCHOR.with(|a| a.set((std::time::Instant::now(), now_ms())));
}

/// Unix time in microseconds.
#[inline]
pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// Quote bytes like Redis's `sdscatrepr`: `"..."` with escapes for `\ " \n \r \t \a \b`
/// and `\xHH` for other non-printable bytes.
pub fn repr_bytes(s: &[u8]) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for &c in s {
        match c {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            7 => out.push_str("\\a"),
            8 => out.push_str("\\b"),
            0x20..=0x7e => out.push(c as char),
            _ => out.push_str(&format!("\\x{c:02x}")),
        }
    }
    out.push('"');
    out
}

/// Redis's `stringmatchlen`: `*`, `?`, `[...]` (with `^` negation and `a-z` ranges) and
/// `\` escapes. Iterative with single backtracking point for `*`, so no pattern can make
/// it exponential.
pub fn glob_match(pattern: &[u8], s: &[u8], nocase: bool) -> bool {
    if s.is_empty() {
        // Redis's matcher never enters its loop for an empty string.
        return pattern.is_empty();
    }
    let eq = |a: u8, b: u8| {
        if nocase {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    let (mut p, mut i) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while i < s.len() {
        if p < pattern.len() {
            match pattern[p] {
                b'*' => {
                    while p < pattern.len() && pattern[p] == b'*' {
                        p += 1;
                    }
                    if p == pattern.len() {
                        return true;
                    }
                    star = Some((p, i));
                    continue;
                }
                b'?' => {
                    p += 1;
                    i += 1;
                    continue;
                }
                b'[' => {
                    if let Some((matched, next)) = match_class(pattern, p, s[i], nocase) {
                        if matched {
                            p = next;
                            i += 1;
                            continue;
                        }
                    }
                }
                b'\\' if p + 1 < pattern.len() => {
                    if eq(pattern[p + 1], s[i]) {
                        p += 2;
                        i += 1;
                        continue;
                    }
                }
                c => {
                    if eq(c, s[i]) {
                        p += 1;
                        i += 1;
                        continue;
                    }
                }
            }
        }
        match star {
            Some((sp, si)) => {
                p = sp;
                i = si + 1;
                star = Some((sp, si + 1));
            }
            None => return false,
        }
    }
    while p < pattern.len() && pattern[p] == b'*' {
        p += 1;
    }
    p == pattern.len()
}

/// Match `c` against the class starting at `pattern[p] == '['`; returns (matched, index
/// after the class). An unterminated class extends to the end of the pattern, as in Redis.
fn match_class(pattern: &[u8], p: usize, c: u8, nocase: bool) -> Option<(bool, usize)> {
    let mut j = p + 1;
    let not = j < pattern.len() && pattern[j] == b'^';
    if not {
        j += 1;
    }
    let fold = |x: u8| if nocase { x.to_ascii_lowercase() } else { x };
    let c = fold(c);
    let mut matched = false;
    while j < pattern.len() && pattern[j] != b']' {
        if pattern[j] == b'\\' && j + 1 < pattern.len() {
            j += 1;
            if fold(pattern[j]) == c {
                matched = true;
            }
        } else if j + 2 < pattern.len() && pattern[j + 1] == b'-' && pattern[j + 2] != b']' {
            let (mut lo, mut hi) = (fold(pattern[j]), fold(pattern[j + 2]));
            if lo > hi {
                std::mem::swap(&mut lo, &mut hi);
            }
            if c >= lo && c <= hi {
                matched = true;
            }
            j += 2;
        } else if fold(pattern[j]) == c {
            matched = true;
        }
        j += 1;
    }
    let next = if j < pattern.len() { j + 1 } else { j };
    Some((matched != not, next))
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs() {
        assert!(!glob_match(b"*", b"", false));
        assert!(glob_match(b"", b"", false));
        assert!(glob_match(b"h?llo", b"hello", false));
        assert!(glob_match(b"h*llo", b"heeeello", false));
        assert!(glob_match(b"h[ae]llo", b"hallo", false));
        assert!(!glob_match(b"h[^e]llo", b"hello", false));
        assert!(glob_match(b"h[a-b]llo", b"hbllo", false));
        assert!(glob_match(b"h\\*llo", b"h*llo", false));
        assert!(!glob_match(b"h\\*llo", b"hello", false));
        assert!(glob_match(b"key:*", b"key:123", false));
        assert!(!glob_match(b"key:*", b"kex:123", false));
        assert!(glob_match(b"MAX*", b"maxmemory", true));
        assert!(glob_match(b"*a*b*c*", b"xxaxxbxxcxx", false));
        assert!(!glob_match(b"*a*b*c*d", b"xxaxxbxxcxx", false));
        // No exponential blow-up.
        let s = vec![b'a'; 5000];
        assert!(!glob_match(b"*a*a*a*a*a*a*a*a*a*a*b", &s, false));
    }
}
