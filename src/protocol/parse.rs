//! Incremental RESP2 request parser: multibulk (`*N\r\n$len\r\n...`) and inline
//! (`SET k v\r\n`) requests, accepting and rejecting exactly what redis-server 7.0's
//! `processMultibulkBuffer` / `processInlineBuffer` do, with the same error texts.
//!
//! Why incremental: a client may send a million-argument multibulk or a 500MB value in
//! thousands of reads. The parser removes finished arguments from the buffer as soon as
//! they are complete and remembers how far it already searched for a line end, so each
//! byte is looked at a bounded number of times whatever the chunking.
//!
//! Why zero-copy: arguments are `split_to(..).freeze()` slices of the read buffer, so a
//! pipeline of small commands costs one `Vec` per request and no per-argument allocation.
//!
//! Known, deliberate differences from Redis (only on garbage input):
//! - Redis finds line ends with `strchr`, which stops at a NUL byte, so a NUL before the
//!   line end makes Redis wait for more data; we use `memchr` and see the line end.
//! - A non-ASCII byte in "expected '$', got 'X'" is written as the Latin-1 char of that
//!   byte (the message is a `String`), where Redis writes the raw byte.

use bytes::{Buf, Bytes, BytesMut};
use memchr::memchr;
use std::fmt;

/// Size limits, named after the Redis settings they mirror.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseLimits {
    /// `proto-max-bulk-len`: a larger `$<len>` is "invalid bulk length".
    pub max_bulk_len: u64,
    /// `PROTO_INLINE_MAX_SIZE`: the most bytes buffered while waiting for an inline line
    /// end, or for the `\r` of a `*`/`$` count line.
    pub max_inline_len: usize,
    /// A larger `*<count>` is "invalid multibulk length". Redis 7.0 uses `INT_MAX`.
    pub max_multibulk_len: i64,
}

impl Default for ParseLimits {
    fn default() -> Self {
        ParseLimits {
            max_bulk_len: 512 * 1024 * 1024,
            max_inline_len: 64 * 1024,
            max_multibulk_len: i32::MAX as i64,
        }
    }
}

/// One complete request; `args` is never empty (`args[0]` is the command name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub args: Vec<Bytes>,
    /// True when it came as an inline line rather than a multibulk.
    pub inline: bool,
}

/// A protocol violation: the text after `-ERR `. The connection must be closed after
/// sending it, as Redis does; the parser's state is then meaningless.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError(pub String);

impl ProtocolError {
    fn new(s: &str) -> Self {
        ProtocolError(s.to_string())
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ProtocolError {}

/// Redis caps the initial argv allocation the same way, so `*2000000000` alone
/// cannot make us reserve gigabytes.
const MAX_PREALLOC_ARGS: usize = 1024;

/// Parser with the progress of one partially received request.
#[derive(Debug, Default)]
pub struct RequestParser {
    /// Arguments of the current multibulk already removed from the buffer.
    args: Vec<Bytes>,
    /// Sum of `args` lengths, for query-buffer accounting.
    held: usize,
    /// Arguments of the current multibulk not yet read; 0 between requests.
    multibulk_left: usize,
    /// Length of the bulk whose `$<len>` line was consumed but whose payload is incomplete.
    bulk_len: Option<usize>,
    /// Leading bytes of the buffer already searched for a line end without finding one.
    scanned: usize,
    /// Payload bytes still missing for `bulk_len` when `next` last returned `Ok(None)`.
    hint: usize,
}

impl RequestParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Parse the next complete request at the front of `buf`, removing its bytes.
    /// `Ok(None)` means more bytes are needed; progress is kept for the next call.
    /// Empty inline lines and `*0`/`*-1` headers are skipped like Redis does.
    pub fn next(
        &mut self,
        buf: &mut BytesMut,
        limits: &ParseLimits,
    ) -> Result<Option<Request>, ProtocolError> {
        self.hint = 0;
        let res = self.next_inner(buf, limits);
        if res.is_err() {
            self.reset();
        }
        res
    }

    /// Bytes the partially read bulk still needs (payload plus its `\r\n`) as of the last
    /// `next` call, so the caller can reserve once for a big value; 0 if unknown.
    pub fn pending_hint(&self) -> usize {
        self.hint
    }

    /// Bytes held by the parser for the request being read (already removed from the
    /// buffer); the caller adds its buffer's length for client-query-buffer-limit.
    pub fn partial_len(&self) -> usize {
        self.held
    }

    fn reset(&mut self) {
        self.args = Vec::new();
        self.held = 0;
        self.multibulk_left = 0;
        self.bulk_len = None;
        self.scanned = 0;
    }

    fn next_inner(
        &mut self,
        buf: &mut BytesMut,
        limits: &ParseLimits,
    ) -> Result<Option<Request>, ProtocolError> {
        while self.multibulk_left == 0 {
            let Some(&first) = buf.first() else {
                return Ok(None);
            };
            if first == b'*' {
                match self.multibulk_header(buf, limits)? {
                    None => return Ok(None),
                    Some(0) => continue, // `*0`, `*-1`: nothing to run
                    Some(n) => {
                        self.multibulk_left = n;
                        self.args = Vec::with_capacity(n.min(MAX_PREALLOC_ARGS));
                        self.held = 0;
                    }
                }
            } else {
                match self.inline_line(buf, limits)? {
                    None => return Ok(None),
                    Some(args) if args.is_empty() => continue, // blank line
                    Some(args) => return Ok(Some(Request { args, inline: true })),
                }
            }
        }
        while self.multibulk_left > 0 {
            let len = match self.bulk_len {
                Some(len) => len,
                None => match self.bulk_header(buf, limits)? {
                    Some(len) => len,
                    None => return Ok(None),
                },
            };
            // `len` came from an i64 that fits in usize; +2 cannot overflow on 64-bit and
            // is checked anyway so nothing here can panic.
            let need = len.checked_add(2).ok_or_else(invalid_bulk_len)?;
            if buf.len() < need {
                self.bulk_len = Some(len);
                self.hint = need - buf.len();
                return Ok(None);
            }
            self.bulk_len = None;
            // Like Redis, the two bytes after the payload are skipped unchecked. Splitting
            // them off with the payload and truncating saves a separate `advance`.
            let mut arg = buf.split_to(need);
            arg.truncate(len);
            let arg = arg.freeze();
            self.held += len;
            self.args.push(arg);
            self.multibulk_left -= 1;
        }
        self.held = 0;
        let args = std::mem::take(&mut self.args);
        Ok(Some(Request {
            args,
            inline: false,
        }))
    }

    /// Read the count line (`*<n>\r\n` or `$<n>\r\n`) at the front of `buf` without
    /// consuming it: `(value, line length)`, the value `None` when it is not a number Redis
    /// accepts. Like Redis, the line ends at the first `\r` (the byte after it is taken to
    /// be `\n` unchecked), and a missing `\r` is an error once more than `max_inline_len`
    /// bytes are buffered.
    fn count_line(
        &mut self,
        buf: &BytesMut,
        limits: &ParseLimits,
        too_big: &str,
    ) -> Result<Option<(Option<i64>, usize)>, ProtocolError> {
        if self.scanned == 0 {
            if let Some(found) = fast_count_line(buf) {
                return Ok(Some(found));
            }
        }
        let from = self.scanned.min(buf.len());
        match memchr(b'\r', &buf[from..]) {
            Some(off) => {
                let cr = from + off;
                if cr + 2 > buf.len() {
                    self.scanned = cr;
                    return Ok(None);
                }
                self.scanned = 0;
                Ok(Some((buf.get(1..cr).and_then(parse_i64), cr + 2)))
            }
            None => {
                if buf.len() > limits.max_inline_len {
                    return Err(ProtocolError::new(too_big));
                }
                self.scanned = buf.len();
                Ok(None)
            }
        }
    }

    /// Consume `*<count>\r\n`; `Some(0)` for a count <= 0.
    fn multibulk_header(
        &mut self,
        buf: &mut BytesMut,
        limits: &ParseLimits,
    ) -> Result<Option<usize>, ProtocolError> {
        let too_big = "Protocol error: too big mbulk count string";
        let Some((count, line_len)) = self.count_line(buf, limits, too_big)? else {
            return Ok(None);
        };
        let count = match count {
            Some(n) if n <= limits.max_multibulk_len => n,
            _ => return Err(invalid_multibulk_len()),
        };
        buf.advance(line_len);
        if count <= 0 {
            return Ok(Some(0));
        }
        usize::try_from(count)
            .map(Some)
            .map_err(|_| invalid_multibulk_len())
    }

    /// Consume `$<len>\r\n` and return the payload length.
    fn bulk_header(
        &mut self,
        buf: &mut BytesMut,
        limits: &ParseLimits,
    ) -> Result<Option<usize>, ProtocolError> {
        let too_big = "Protocol error: too big bulk count string";
        let Some((len, line_len)) = self.count_line(buf, limits, too_big)? else {
            return Ok(None);
        };
        // Redis looks at the `$` only once the whole line is there.
        match buf.first() {
            Some(b'$') => {}
            Some(&other) => return Err(expected_dollar(other)),
            None => return Err(invalid_bulk_len()),
        }
        let len = match len {
            Some(n) if n >= 0 && (n as u64) <= limits.max_bulk_len => n,
            _ => return Err(invalid_bulk_len()),
        };
        let len = usize::try_from(len).map_err(|_| invalid_bulk_len())?;
        buf.advance(line_len);
        Ok(Some(len))
    }

    /// Consume one inline line (ending in `\n`, optionally `\r\n`) and split it.
    fn inline_line(
        &mut self,
        buf: &mut BytesMut,
        limits: &ParseLimits,
    ) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        let from = self.scanned.min(buf.len());
        let Some(off) = memchr(b'\n', &buf[from..]) else {
            if buf.len() > limits.max_inline_len {
                return Err(ProtocolError::new("Protocol error: too big inline request"));
            }
            self.scanned = buf.len();
            return Ok(None);
        };
        self.scanned = 0;
        let nl = from + off;
        let line = buf.split_to(nl + 1).freeze();
        let end = if nl > 0 && line[nl - 1] == b'\r' {
            nl - 1
        } else {
            nl
        };
        split_args(&line.slice(..end))
            .map(Some)
            .ok_or_else(|| ProtocolError::new("Protocol error: unbalanced quotes in request"))
    }
}

/// The common case of a count line, `<* or $><1..=18 digits, no leading 0>\r<any>`, in
/// one pass over the bytes instead of `memchr` then `parse_i64`. `None` sends anything
/// else (a sign, a leading zero, too few bytes yet) to the general path, which gives the
/// same answer for the lines accepted here.
#[inline]
fn fast_count_line(buf: &[u8]) -> Option<(Option<i64>, usize)> {
    if !matches!(buf.first(), Some(b'*' | b'$')) {
        return None;
    }
    let mut v: i64 = 0;
    let mut i = 1;
    loop {
        let c = *buf.get(i)?;
        if c.is_ascii_digit() && i <= 18 {
            v = v * 10 + i64::from(c - b'0');
            i += 1;
        } else if c == b'\r' && i > 1 && i + 1 < buf.len() {
            break;
        } else {
            return None;
        }
    }
    if buf.get(1) == Some(&b'0') && i > 2 {
        return None;
    }
    Some((Some(v), i + 2))
}

fn invalid_multibulk_len() -> ProtocolError {
    ProtocolError::new("Protocol error: invalid multibulk length")
}

fn invalid_bulk_len() -> ProtocolError {
    ProtocolError::new("Protocol error: invalid bulk length")
}

fn expected_dollar(got: u8) -> ProtocolError {
    // Redis replaces CR/LF in error replies with spaces.
    let c = match got {
        b'\r' | b'\n' => ' ',
        b => char::from(b),
    };
    ProtocolError(format!("Protocol error: expected '$', got '{c}'"))
}

/// Redis's `string2ll`: optional `-`, no `+`, no leading zeros, no spaces, at most 20
/// bytes, no overflow.
pub(crate) fn parse_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (neg, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut v: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    if neg {
        if v > i64::MAX as u64 + 1 {
            return None;
        }
        Some((v as i64).wrapping_neg())
    } else {
        i64::try_from(v).ok()
    }
}

/// C's `isspace` in the C locale.
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn hex_val(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Redis's `sdssplitargs`: split on blanks; `"..."` with `\n \r \t \b \a \xHH` and
/// `\<any>` escapes; `'...'` with `\'`; a closing quote must be followed by a blank or the
/// end. `None` means unbalanced quotes. The C code works on a NUL-terminated string, so
/// a NUL byte ends the line. Unquoted tokens are zero-copy slices of `line`.
pub fn split_args(line: &Bytes) -> Option<Vec<Bytes>> {
    let n = memchr(0, line).unwrap_or(line.len());
    let s = &line[..n];
    // Reads past the end yield 0, like the C string's terminator.
    let at = |i: usize| s.get(i).copied().unwrap_or(0);
    let mut args = Vec::new();
    let mut p = 0;
    loop {
        while p < n && is_space(s[p]) {
            p += 1;
        }
        if p >= n {
            return Some(args);
        }
        let start = p;
        // `None` while the token is exactly `s[start..p]` (no quotes seen yet).
        let mut owned: Option<Vec<u8>> = None;
        let (mut inq, mut insq) = (false, false);
        let token_end;
        loop {
            let c = at(p);
            if inq {
                let out = owned.get_or_insert_with(Vec::new);
                if c == b'\\' && at(p + 1) == b'x' {
                    if let (Some(h), Some(l)) = (hex_val(at(p + 2)), hex_val(at(p + 3))) {
                        out.push(h * 16 + l);
                        p += 4;
                        continue;
                    }
                }
                if c == b'\\' && at(p + 1) != 0 {
                    p += 1;
                    out.push(match at(p) {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                } else if c == b'"' {
                    if at(p + 1) != 0 && !is_space(at(p + 1)) {
                        return None;
                    }
                    token_end = p;
                    p += 1;
                    break;
                } else if c == 0 {
                    return None;
                } else {
                    out.push(c);
                }
            } else if insq {
                let out = owned.get_or_insert_with(Vec::new);
                if c == b'\\' && at(p + 1) == b'\'' {
                    p += 1;
                    out.push(b'\'');
                } else if c == b'\'' {
                    if at(p + 1) != 0 && !is_space(at(p + 1)) {
                        return None;
                    }
                    token_end = p;
                    p += 1;
                    break;
                } else if c == 0 {
                    return None;
                } else {
                    out.push(c);
                }
            } else {
                match c {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => {
                        token_end = p;
                        if c != 0 {
                            p += 1;
                        }
                        break;
                    }
                    b'"' | b'\'' => {
                        // A quote may open mid-token (`foo"bar"` is `foobar`).
                        if owned.is_none() {
                            owned = Some(s[start..p].to_vec());
                        }
                        inq = c == b'"';
                        insq = c == b'\'';
                    }
                    // Plain byte: the token is still the slice `s[start..=p]`.
                    _ => {}
                }
            }
            p += 1;
        }
        args.push(match owned {
            None => line.slice(start..token_end),
            Some(v) => Bytes::from(v),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Parse `input` in one go: the requests, then the error if any.
    fn parse_all(input: &[u8]) -> (Vec<Request>, Option<ProtocolError>) {
        let mut p = RequestParser::new();
        let mut buf = BytesMut::from(input);
        let mut out = Vec::new();
        loop {
            match p.next(&mut buf, &ParseLimits::default()) {
                Ok(Some(r)) => out.push(r),
                Ok(None) => return (out, None),
                Err(e) => return (out, Some(e)),
            }
        }
    }

    fn args(input: &[u8]) -> Vec<Vec<Vec<u8>>> {
        let (reqs, err) = parse_all(input);
        assert_eq!(err, None, "input {:?}", String::from_utf8_lossy(input));
        reqs.into_iter()
            .map(|r| r.args.iter().map(|a| a.to_vec()).collect())
            .collect()
    }

    fn err(input: &[u8]) -> String {
        match parse_all(input).1 {
            Some(ProtocolError(s)) => s,
            None => panic!("no error for {:?}", String::from_utf8_lossy(input)),
        }
    }

    fn v(items: &[&str]) -> Vec<Vec<u8>> {
        items.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    fn multibulk(args: &[Vec<u8>]) -> Vec<u8> {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a);
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    #[test]
    fn multibulk_pipeline_and_skips() {
        let input = b"*3\r\n$3\r\nSET\r\n$16\r\nkey:000000000001\r\n$3\r\nxxx\r\n*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n";
        assert_eq!(
            args(input),
            vec![v(&["SET", "key:000000000001", "xxx"]), v(&["PING"])]
        );
        let (reqs, _) = parse_all(b"*1\r\n$0\r\n\r\n");
        assert_eq!(reqs[0].args, vec![Bytes::new()]);
        assert!(!reqs[0].inline);
        // Like Redis, the bytes after a payload and after a count's `\r` are not checked.
        assert_eq!(args(b"*1\rX$4\rXPINGXY"), vec![v(&["PING"])]);
    }

    #[test]
    fn incomplete_keeps_progress() {
        let input = b"*2\r\n$3\r\nGET\r\n$5\r\nhello\r\n";
        for cut in 0..input.len() {
            let mut p = RequestParser::new();
            let mut buf = BytesMut::from(&input[..cut]);
            assert_eq!(p.next(&mut buf, &ParseLimits::default()), Ok(None));
            buf.extend_from_slice(&input[cut..]);
            let r = p.next(&mut buf, &ParseLimits::default()).unwrap().unwrap();
            assert_eq!(r.args, vec![Bytes::from("GET"), Bytes::from("hello")]);
            assert!(buf.is_empty());
        }
    }

    #[test]
    fn hints_for_big_bulk() {
        let mut p = RequestParser::new();
        let lim = ParseLimits::default();
        let mut buf = BytesMut::from(&b"*2\r\n$3\r\nSET\r\n$1000\r\nabc"[..]);
        assert_eq!(p.next(&mut buf, &lim), Ok(None));
        assert_eq!(p.pending_hint(), 1002 - 3);
        assert_eq!(p.partial_len(), 3);
        buf.extend_from_slice(&vec![b'x'; 997]);
        buf.extend_from_slice(b"\r\n");
        let r = p.next(&mut buf, &lim).unwrap().unwrap();
        assert_eq!(r.args[1].len(), 1000);
        assert_eq!((p.pending_hint(), p.partial_len()), (0, 0));
    }

    #[test]
    fn errors_match_redis() {
        let big = |prefix: &[u8]| [prefix, &vec![b'1'; 70_000][..]].concat();
        assert_eq!(
            err(&vec![b'P'; 70_000]),
            "Protocol error: too big inline request"
        );
        assert_eq!(
            err(b"ECHO \"a\"b\r\n"),
            "Protocol error: unbalanced quotes in request"
        );
        assert_eq!(
            err(b"ECHO \"a\r\n"),
            "Protocol error: unbalanced quotes in request"
        );
        assert_eq!(
            err(b"ECHO 'a\n"),
            "Protocol error: unbalanced quotes in request"
        );
        assert_eq!(
            err(b"ECHO \"a\\\"\n"),
            "Protocol error: unbalanced quotes in request"
        );
        for bad in [
            &b"*abc\r\n"[..],
            b"*01\r\n",
            b"*+1\r\n",
            b"*2147483648\r\n",
            b"*\r\n",
        ] {
            assert_eq!(err(bad), "Protocol error: invalid multibulk length");
        }
        assert_eq!(
            err(&big(b"*")),
            "Protocol error: too big mbulk count string"
        );
        assert_eq!(
            err(b"*1\r\nX3\r\nfoo\r\n"),
            "Protocol error: expected '$', got 'X'"
        );
        assert_eq!(err(b"*1\r\n\r\n"), "Protocol error: expected '$', got ' '");
        assert_eq!(
            err(&big(b"*1\r\n$")),
            "Protocol error: too big bulk count string"
        );
        for bad in [
            &b"*1\r\n$-1\r\n"[..],
            b"*1\r\n$01\r\nx\r\n",
            b"*1\r\n$ 3\r\nfoo\r\n",
            b"*1\r\n$+3\r\nfoo\r\n",
            b"*1\r\n$536870913\r\n",
            b"*1\r\n$111111111111111111111111111111\r\n",
        ] {
            assert_eq!(err(bad), "Protocol error: invalid bulk length");
        }
        // At the limits: still waiting, no error.
        assert_eq!(parse_all(b"*2147483647\r\n"), (vec![], None));
        assert_eq!(parse_all(b"*1\r\n$536870912\r\n"), (vec![], None));
        assert_eq!(parse_all(&vec![b'P'; 65_536]), (vec![], None));
        // A long inline line is fine once its newline is in the buffer (as in Redis).
        let long = [&b"ECHO "[..], &vec![b'a'; 70_000], b"\n"].concat();
        assert_eq!(args(&long)[0][1].len(), 70_000);
    }

    #[test]
    fn inline_splitting() {
        assert_eq!(args(b"\r\n\n   \nPING\n"), vec![v(&["PING"])]);
        assert_eq!(args(b"SET  k\t v\r\n"), vec![v(&["SET", "k", "v"])]);
        assert_eq!(args(b"ECHO 'a\\'b'\r\n"), vec![v(&["ECHO", "a'b"])]);
        assert_eq!(
            args(b"ECHO \"\\x41\\xzz\\n\"\r\n"),
            vec![v(&["ECHO", "Axzz\n"])]
        );
        assert_eq!(
            args(b"E \"\\r\\t\\b\\a\\\\\\\"\\q\"\n")[0][1],
            b"\r\t\x08\x07\\\"q"
        );
        assert_eq!(args(b"ECHO \"a\"\x0b\r\n"), vec![v(&["ECHO", "a"])]);
        assert_eq!(args(b"\x0bECHO a\x0bb\r\n"), vec![v(&["ECHO", "a\x0bb"])]);
        assert_eq!(
            args(b"ECHO foo\"b c\" '' \"\"\n"),
            vec![v(&["ECHO", "foob c", "", ""])]
        );
        assert_eq!(
            args(b"ECHO 'a\"b' \"a'b\"\n"),
            vec![v(&["ECHO", "a\"b", "a'b"])]
        );
        assert_eq!(args(b"ECHO a\r\r\n"), vec![v(&["ECHO", "a"])]);
        assert_eq!(args(b"PING a\0b\n"), vec![v(&["PING", "a"])]);
        let (reqs, _) = parse_all(b"PING\n");
        assert!(reqs[0].inline);
    }

    #[test]
    fn parse_i64_like_string2ll() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(fast_count_line(b"$12\r\n"), Some((Some(12), 5)));
        assert_eq!(fast_count_line(b"\r0\r$"), None); // not a count line: general path
        for bad in [
            &b""[..],
            b"-",
            b"-0",
            b"00",
            b"9223372036854775808",
            b"1 ",
            b"+1",
        ] {
            assert_eq!(parse_i64(bad), None);
        }
    }

    #[test]
    fn many_args_fed_in_small_reads() {
        let n = 200_000;
        let mut bytes = format!("*{n}\r\n").into_bytes();
        for i in 0..n {
            let a = i.to_string();
            bytes.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
        }
        let mut p = RequestParser::new();
        let mut buf = BytesMut::new();
        let mut got = None;
        for chunk in bytes.chunks(4096) {
            buf.extend_from_slice(chunk);
            if let Some(r) = p.next(&mut buf, &ParseLimits::default()).unwrap() {
                got = Some(r);
            }
        }
        let r = got.unwrap();
        assert_eq!(r.args.len(), n);
        assert_eq!(&r.args[n - 1][..], (n - 1).to_string().as_bytes());
    }

    fn arg_strategy() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(any::<u8>(), 0..40)
    }

    /// A pipeline of multibulk and simple inline requests, with the expected args.
    fn pipeline_strategy() -> impl Strategy<Value = Vec<(bool, Vec<Vec<u8>>)>> {
        let mb = prop::collection::vec(arg_strategy(), 1..6).prop_map(|a| (false, a));
        let word = "[a-zA-Z0-9:_]{1,12}".prop_map(String::into_bytes);
        let inl = prop::collection::vec(word, 1..5).prop_map(|a| (true, a));
        prop::collection::vec(prop_oneof![mb, inl], 0..12)
    }

    fn serialize(reqs: &[(bool, Vec<Vec<u8>>)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (inline, a) in reqs {
            if *inline {
                out.extend_from_slice(&a.join(&b' '));
                out.extend_from_slice(b"\r\n");
            } else {
                out.extend_from_slice(&multibulk(a));
            }
        }
        out
    }

    proptest! {
        #[test]
        fn multibulk_roundtrip(a in prop::collection::vec(arg_strategy(), 1..20)) {
            prop_assert_eq!(args(&multibulk(&a)), vec![a]);
        }

        #[test]
        fn any_chunking_gives_same_requests(
            reqs in pipeline_strategy(),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..20),
        ) {
            let bytes = serialize(&reqs);
            let expected: Vec<(bool, Vec<Vec<u8>>)> = reqs.clone();
            let mut cuts: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
            cuts.push(bytes.len());
            cuts.sort_unstable();
            let mut p = RequestParser::new();
            let mut buf = BytesMut::new();
            let mut got = Vec::new();
            let mut prev = 0;
            for cut in cuts {
                buf.extend_from_slice(&bytes[prev..cut]);
                prev = cut;
                while let Some(r) = p.next(&mut buf, &ParseLimits::default()).unwrap() {
                    got.push((r.inline, r.args.iter().map(|a| a.to_vec()).collect::<Vec<_>>()));
                }
            }
            prop_assert_eq!(got, expected);
            prop_assert!(buf.is_empty());
        }

        #[test]
        fn fast_count_line_agrees_with_general_path(
            line in prop::collection::vec(prop::sample::select(b"$0123456789-\r\nx".to_vec()), 0..25),
        ) {
            if let Some((v, len)) = fast_count_line(&line) {
                let cr = memchr(b'\r', &line).unwrap();
                prop_assert_eq!(len, cr + 2);
                prop_assert!(len <= line.len());
                prop_assert_eq!(v, line.get(1..cr).and_then(parse_i64));
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(
            chunks in prop::collection::vec(prop::collection::vec(
                prop_oneof![any::<u8>(), prop::sample::select(b"*$\r\n0123-\"' \\x".to_vec())],
                0..64), 0..8),
        ) {
            let lim = ParseLimits { max_bulk_len: 100, max_inline_len: 50, max_multibulk_len: 10 };
            let mut p = RequestParser::new();
            let mut buf = BytesMut::new();
            'outer: for c in chunks {
                buf.extend_from_slice(&c);
                loop {
                    match p.next(&mut buf, &lim) {
                        Ok(Some(r)) => prop_assert!(!r.args.is_empty()),
                        Ok(None) => break,
                        Err(e) => {
                            prop_assert!(e.0.starts_with("Protocol error: "));
                            break 'outer;
                        }
                    }
                }
            }
        }
    }
}
