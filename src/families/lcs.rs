//! LCS: longest common subsequence of two strings, as redis-server 7.0.

use bytes::Bytes;

use crate::error::{CmdError, CmdResult};
use crate::protocol::reply::Reply;

use super::numbers::parse_i64;

/// The error LCS gives when either key holds a non-string (checked by the
/// caller before the options are parsed, as Redis does).
pub const LCS_WRONGTYPE: &str = "ERR The specified keys must contain string values";

/// LCS over two values (a missing key is the empty string); `opts` are the
/// arguments after the two keys: `LEN`, `IDX`, `MINMATCHLEN n`,
/// `WITHMATCHLEN`. Replies as Redis 7.0: the LCS string; with LEN its
/// length; with IDX a map `matches` → `[[[a_start, a_end], [b_start, b_end]
/// (, len)], ...]` (from the end of the strings backwards), `len` → length.
pub fn lcs(a: &[u8], b: &[u8], opts: &[Bytes]) -> CmdResult<Reply> {
    let (mut getlen, mut getidx, mut withmatchlen) = (false, false, false);
    let mut minmatchlen: i64 = 0;
    let mut j = 0;
    while j < opts.len() {
        let opt = &opts[j][..];
        let moreargs = opts.len() - 1 - j;
        if opt.eq_ignore_ascii_case(b"idx") {
            getidx = true;
        } else if opt.eq_ignore_ascii_case(b"len") {
            getlen = true;
        } else if opt.eq_ignore_ascii_case(b"withmatchlen") {
            withmatchlen = true;
        } else if opt.eq_ignore_ascii_case(b"minmatchlen") && moreargs > 0 {
            minmatchlen = parse_i64(&opts[j + 1])?.max(0);
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    if getidx && getlen {
        return Err(CmdError::err(
            "If you want both the length and indexes, please just use IDX.",
        ));
    }
    if a.len() >= u32::MAX as usize - 1 || b.len() >= u32::MAX as usize - 1 {
        return Err(CmdError::err("String too long for LCS"));
    }
    let (alen, blen) = (a.len(), b.len());
    let oom = || CmdError::err("Insufficient memory, failed allocating transient memory for LCS");
    let cells = (alen + 1).checked_mul(blen + 1).ok_or_else(oom)?;
    let mut dp: Vec<u32> = Vec::new();
    dp.try_reserve_exact(cells).map_err(|_| oom())?;
    dp.resize(cells, 0);
    let w = blen + 1;
    for i in 1..=alen {
        for k in 1..=blen {
            dp[i * w + k] = if a[i - 1] == b[k - 1] {
                dp[(i - 1) * w + k - 1] + 1
            } else {
                dp[(i - 1) * w + k].max(dp[i * w + k - 1])
            };
        }
    }
    let total = dp[alen * w + blen];
    if getlen {
        return Ok(Reply::Int(i64::from(total)));
    }

    // Walk back from the end, building the LCS and the matching ranges.
    let mut result = vec![0u8; total as usize];
    let mut idx = total as usize;
    let mut matches = Vec::new();
    let mut range: Option<(usize, usize, usize, usize)> = None; // a_start, a_end, b_start, b_end
    let (mut i, mut k) = (alen, blen);
    while i > 0 && k > 0 {
        let mut emit = false;
        if a[i - 1] == b[k - 1] {
            result[idx - 1] = a[i - 1];
            match range.as_mut() {
                None => range = Some((i - 1, i - 1, k - 1, k - 1)),
                Some(r) if r.0 == i && r.2 == k => {
                    r.0 -= 1;
                    r.2 -= 1;
                }
                Some(_) => emit = true,
            }
            if let Some(r) = range {
                if r.0 == 0 || r.2 == 0 {
                    emit = true;
                }
            }
            idx -= 1;
            i -= 1;
            k -= 1;
        } else {
            if dp[(i - 1) * w + k] > dp[i * w + k - 1] {
                i -= 1;
            } else {
                k -= 1;
            }
            if range.is_some() {
                emit = true;
            }
        }
        if emit {
            if let Some((as_, ae, bs, be)) = range.take() {
                let len = (ae - as_ + 1) as i64;
                if getidx && (minmatchlen == 0 || len >= minmatchlen) {
                    let mut m = vec![
                        Reply::Array(vec![Reply::Int(as_ as i64), Reply::Int(ae as i64)]),
                        Reply::Array(vec![Reply::Int(bs as i64), Reply::Int(be as i64)]),
                    ];
                    if withmatchlen {
                        m.push(Reply::Int(len));
                    }
                    matches.push(Reply::Array(m));
                }
            }
        }
    }
    if getidx {
        return Ok(Reply::Map(vec![
            (Reply::bulk(&b"matches"[..]), Reply::Array(matches)),
            (Reply::bulk(&b"len"[..]), Reply::Int(i64::from(total))),
        ]));
    }
    Ok(Reply::Bulk(Bytes::from(result)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    fn opts(s: &str) -> Vec<Bytes> {
        s.split_whitespace().map(b).collect()
    }

    fn range(a: (i64, i64), bb: (i64, i64), len: Option<i64>) -> Reply {
        let mut v = vec![
            Reply::Array(vec![Reply::Int(a.0), Reply::Int(a.1)]),
            Reply::Array(vec![Reply::Int(bb.0), Reply::Int(bb.1)]),
        ];
        if let Some(l) = len {
            v.push(Reply::Int(l));
        }
        Reply::Array(v)
    }

    fn idx(matches: Vec<Reply>, len: i64) -> Reply {
        Reply::Map(vec![
            (Reply::bulk(&b"matches"[..]), Reply::Array(matches)),
            (Reply::bulk(&b"len"[..]), Reply::Int(len)),
        ])
    }

    // Expected replies verified against redis-server 7.0.15.
    const A: &[u8] = b"ohmytext";
    const B: &[u8] = b"mynewtext";

    #[test]
    fn plain_and_len() {
        assert_eq!(lcs(A, B, &[]), Ok(Reply::bulk(&b"mytext"[..])));
        assert_eq!(lcs(A, B, &opts("LEN")), Ok(Reply::Int(6)));
        assert_eq!(lcs(b"", B, &[]), Ok(Reply::bulk(&b""[..])));
        assert_eq!(lcs(b"", b"", &opts("len")), Ok(Reply::Int(0)));
    }

    #[test]
    fn with_idx() {
        assert_eq!(
            lcs(A, B, &opts("IDX")),
            Ok(idx(
                vec![range((4, 7), (5, 8), None), range((2, 3), (0, 1), None)],
                6
            ))
        );
        assert_eq!(
            lcs(A, B, &opts("IDX MINMATCHLEN 4 WITHMATCHLEN")),
            Ok(idx(vec![range((4, 7), (5, 8), Some(4))], 6))
        );
        assert_eq!(
            lcs(A, B, &opts("idx withmatchlen minmatchlen -5")),
            Ok(idx(
                vec![
                    range((4, 7), (5, 8), Some(4)),
                    range((2, 3), (0, 1), Some(2))
                ],
                6
            ))
        );
        assert_eq!(lcs(b"abc", b"xyz", &opts("IDX")), Ok(idx(vec![], 0)));
        // MINMATCHLEN without IDX is accepted and ignored.
        assert_eq!(
            lcs(A, B, &opts("MINMATCHLEN 3")),
            Ok(Reply::bulk(&b"mytext"[..]))
        );
    }

    #[test]
    fn errors() {
        let both = "ERR If you want both the length and indexes, please just use IDX.";
        assert_eq!(lcs(A, B, &opts("LEN IDX")).unwrap_err().to_string(), both);
        assert_eq!(lcs(A, B, &opts("FOO")), Err(CmdError::Syntax));
        assert_eq!(lcs(A, B, &opts("MINMATCHLEN")), Err(CmdError::Syntax));
        assert_eq!(lcs(A, B, &opts("MINMATCHLEN x")), Err(CmdError::NotInteger));
    }
}
