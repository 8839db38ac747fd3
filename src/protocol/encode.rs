//! RESP2/RESP3 encoder: the only place that knows how a `Reply` looks on the wire.
//!
//! Byte-for-byte what redis-server 7.0 sends for the same reply, including doubles
//! formatted with C's `%.17g` (done by libc so rounding and exponent form match exactly).

use bytes::{BufMut, BytesMut};
use memchr::memchr2;

use super::reply::Reply;

/// Append the RESP encoding of `reply` to `out`; `resp3` picks the protocol the
/// client negotiated with HELLO.
pub fn encode(reply: &Reply, resp3: bool, out: &mut BytesMut) {
    match reply {
        Reply::Ok => out.put_slice(b"+OK\r\n"),
        Reply::Simple(s) => line(out, b'+', s),
        Reply::Error(e) => {
            // The text already carries its code (`ERR ...`); never double the `-`.
            let e = e.strip_prefix(b"-").unwrap_or(e);
            line(out, b'-', e)
        }
        Reply::Int(n) => int_line(out, b':', *n),
        Reply::Bulk(b) => bulk(out, b),
        Reply::Raw(b) => out.put_slice(b),
        Reply::Nil if resp3 => out.put_slice(b"_\r\n"),
        Reply::Nil => out.put_slice(b"$-1\r\n"),
        Reply::NilArray if resp3 => out.put_slice(b"_\r\n"),
        Reply::NilArray => out.put_slice(b"*-1\r\n"),
        Reply::Array(items) => seq(out, b'*', items, resp3),
        Reply::Set(items) => seq(out, if resp3 { b'~' } else { b'*' }, items, resp3),
        Reply::Push(items) => seq(out, if resp3 { b'>' } else { b'*' }, items, resp3),
        Reply::Many(items) => {
            for r in items {
                encode(r, resp3, out);
            }
        }
        Reply::Map(pairs) => {
            if resp3 {
                len_line(out, b'%', pairs.len());
            } else {
                len_line(out, b'*', pairs.len().saturating_mul(2));
            }
            for (k, v) in pairs {
                encode(k, resp3, out);
                encode(v, resp3, out);
            }
        }
        Reply::Pairs(pairs) => {
            len_line(
                out,
                b'*',
                if resp3 {
                    pairs.len()
                } else {
                    pairs.len().saturating_mul(2)
                },
            );
            for (k, v) in pairs {
                if resp3 {
                    len_line(out, b'*', 2);
                }
                encode(k, resp3, out);
                encode(v, resp3, out);
            }
        }
        Reply::Double(d) => {
            let mut buf = [0u8; DOUBLE_BUF];
            let text = fmt_g17(*d, &mut buf);
            if resp3 {
                line(out, b',', text);
            } else {
                bulk(out, text);
            }
        }
        Reply::DoubleText(text) if resp3 => line(out, b',', text),
        Reply::DoubleText(text) => bulk(out, text),
        Reply::Bool(b) => match (resp3, b) {
            (true, true) => out.put_slice(b"#t\r\n"),
            (true, false) => out.put_slice(b"#f\r\n"),
            (false, true) => out.put_slice(b":1\r\n"),
            (false, false) => out.put_slice(b":0\r\n"),
        },
        Reply::Verbatim(text) if resp3 => {
            len_line(out, b'=', text.len() + 4);
            out.reserve(text.len() + 6);
            out.put_slice(b"txt:");
            out.put_slice(text);
            out.put_slice(b"\r\n");
        }
        Reply::Verbatim(text) => bulk(out, text),
    }
}

/// Append `d` formatted as C's `%.17g` (`inf`, `-inf`, `nan` spelled out), the text
/// Redis uses for doubles in replies.
pub fn format_double(d: f64, out: &mut Vec<u8>) {
    let mut buf = [0u8; DOUBLE_BUF];
    out.extend_from_slice(fmt_g17(d, &mut buf));
}

/// Room for the longest `%.17g` output (`-1.2345678901234567e-308` is 24 bytes).
const DOUBLE_BUF: usize = 40;

fn fmt_g17(d: f64, buf: &mut [u8; DOUBLE_BUF]) -> &[u8] {
    // Spelled out because libc may write `-nan` or `infinity`; Redis does the same.
    if d.is_nan() {
        return b"nan";
    }
    if d.is_infinite() {
        return if d > 0.0 { b"inf" } else { b"-inf" };
    }
    // SAFETY: the format is NUL-terminated, takes exactly one double, and snprintf
    // writes at most `buf.len()` bytes including the terminator.
    let n = unsafe {
        libc::snprintf(
            buf.as_mut_ptr().cast::<libc::c_char>(),
            buf.len(),
            c"%.17g".as_ptr(),
            d,
        )
    };
    let n = usize::try_from(n).unwrap_or(0).min(buf.len() - 1);
    &buf[..n]
}

/// `<prefix><text>\r\n`, with CR/LF in `text` turned into spaces so a stray newline
/// can never desynchronise the client (Redis does this for error replies).
fn line(out: &mut BytesMut, prefix: u8, text: &[u8]) {
    out.reserve(text.len() + 3);
    out.put_u8(prefix);
    if memchr2(b'\r', b'\n', text).is_none() {
        out.put_slice(text);
    } else {
        out.extend(
            text.iter()
                .map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c }),
        );
    }
    out.put_slice(b"\r\n");
}

fn int_line(out: &mut BytesMut, prefix: u8, n: i64) {
    let mut b = itoa::Buffer::new();
    let s = b.format(n).as_bytes();
    out.reserve(s.len() + 3);
    out.put_u8(prefix);
    out.put_slice(s);
    out.put_slice(b"\r\n");
}

fn len_line(out: &mut BytesMut, prefix: u8, n: usize) {
    let mut b = itoa::Buffer::new();
    let s = b.format(n).as_bytes();
    out.reserve(s.len() + 3);
    out.put_u8(prefix);
    out.put_slice(s);
    out.put_slice(b"\r\n");
}

/// An array of bulk strings encoded as its items arrive: one buffer for the whole reply
/// instead of an allocation per item (LRANGE over hundreds of elements).
pub struct BulkArray {
    out: BytesMut,
    #[cfg(debug_assertions)]
    left: usize,
}

impl BulkArray {
    /// An array of exactly `len` items totalling about `payload` bytes.
    pub fn new(len: usize, payload: usize) -> BulkArray {
        let mut out = BytesMut::with_capacity(16 + payload + len * 8);
        len_line(&mut out, b'*', len);
        BulkArray {
            out,
            #[cfg(debug_assertions)]
            left: len,
        }
    }

    pub fn push(&mut self, item: &[u8]) {
        #[cfg(debug_assertions)]
        {
            debug_assert!(self.left > 0, "more items than announced");
            self.left -= 1;
        }
        bulk(&mut self.out, item);
    }

    pub fn finish(self) -> Reply {
        #[cfg(debug_assertions)]
        debug_assert_eq!(self.left, 0, "fewer items than announced");
        Reply::Raw(self.out.freeze())
    }
}

fn bulk(out: &mut BytesMut, data: &[u8]) {
    let mut b = itoa::Buffer::new();
    let s = b.format(data.len()).as_bytes();
    out.reserve(s.len() + data.len() + 5);
    out.put_u8(b'$');
    out.put_slice(s);
    out.put_slice(b"\r\n");
    out.put_slice(data);
    out.put_slice(b"\r\n");
}

fn seq(out: &mut BytesMut, prefix: u8, items: &[Reply], resp3: bool) {
    len_line(out, prefix, items.len());
    for item in items {
        encode(item, resp3, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn enc(r: &Reply, resp3: bool) -> String {
        let mut out = BytesMut::new();
        encode(r, resp3, &mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    /// Same bytes in both protocols.
    fn both(r: Reply, expected: &str) {
        assert_eq!(enc(&r, false), expected, "RESP2 {r:?}");
        assert_eq!(enc(&r, true), expected, "RESP3 {r:?}");
    }

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    /// A pre-encoded array is byte-for-byte the array of bulks it stands for, in both
    /// protocols, and decodes back to it.
    #[test]
    fn bulk_array_matches_array_of_bulks() {
        let items = ["a", "", "xyz\r\n", &"v".repeat(300)];
        let mut raw = BulkArray::new(items.len(), 4);
        for i in items {
            raw.push(i.as_bytes());
        }
        let raw = raw.finish();
        let plain = Reply::Array(items.iter().map(|i| Reply::Bulk(b(i))).collect());
        for resp3 in [false, true] {
            assert_eq!(enc(&raw, resp3), enc(&plain, resp3));
        }
        assert_eq!(raw.expand_raw(), plain);
    }

    #[test]
    fn scalars() {
        both(Reply::Ok, "+OK\r\n");
        both(Reply::Simple(b("PONG")), "+PONG\r\n");
        both(Reply::Error(b("ERR syntax error")), "-ERR syntax error\r\n");
        both(Reply::Error(b("-ERR a\r\nb")), "-ERR a  b\r\n");
        both(Reply::Int(0), ":0\r\n");
        both(Reply::Int(i64::MIN), ":-9223372036854775808\r\n");
        both(Reply::Bulk(b("hello")), "$5\r\nhello\r\n");
        both(Reply::Bulk(b("")), "$0\r\n\r\n");
        both(Reply::Bulk(b("a\r\nb")), "$4\r\na\r\nb\r\n");
    }

    #[test]
    fn nulls_bools_doubles_verbatim() {
        assert_eq!(enc(&Reply::Nil, false), "$-1\r\n");
        assert_eq!(enc(&Reply::Nil, true), "_\r\n");
        assert_eq!(enc(&Reply::NilArray, false), "*-1\r\n");
        assert_eq!(enc(&Reply::NilArray, true), "_\r\n");
        assert_eq!(enc(&Reply::Bool(true), false), ":1\r\n");
        assert_eq!(enc(&Reply::Bool(false), false), ":0\r\n");
        assert_eq!(enc(&Reply::Bool(true), true), "#t\r\n");
        assert_eq!(enc(&Reply::Bool(false), true), "#f\r\n");
        assert_eq!(enc(&Reply::Double(1.5), false), "$3\r\n1.5\r\n");
        assert_eq!(enc(&Reply::Double(1.5), true), ",1.5\r\n");
        assert_eq!(
            enc(&Reply::Double(0.1), false),
            "$19\r\n0.10000000000000001\r\n"
        );
        assert_eq!(enc(&Reply::Double(f64::INFINITY), false), "$3\r\ninf\r\n");
        assert_eq!(
            enc(&Reply::Double(f64::NEG_INFINITY), false),
            "$4\r\n-inf\r\n"
        );
        assert_eq!(enc(&Reply::Double(f64::NAN), false), "$3\r\nnan\r\n");
        assert_eq!(enc(&Reply::Double(f64::INFINITY), true), ",inf\r\n");
        assert_eq!(enc(&Reply::Double(f64::NEG_INFINITY), true), ",-inf\r\n");
        assert_eq!(enc(&Reply::Double(-f64::NAN), true), ",nan\r\n");
        assert_eq!(enc(&Reply::Verbatim(b("hi")), false), "$2\r\nhi\r\n");
        assert_eq!(enc(&Reply::Verbatim(b("hi")), true), "=6\r\ntxt:hi\r\n");
        assert_eq!(enc(&Reply::DoubleText(b("1.5")), false), "$3\r\n1.5\r\n");
        assert_eq!(enc(&Reply::DoubleText(b("1.5")), true), ",1.5\r\n");
    }

    #[test]
    fn aggregates() {
        let items = vec![Reply::Int(1), Reply::Bulk(b("a"))];
        both(Reply::Array(items.clone()), "*2\r\n:1\r\n$1\r\na\r\n");
        both(Reply::Array(vec![]), "*0\r\n");
        assert_eq!(
            enc(&Reply::Set(items.clone()), false),
            "*2\r\n:1\r\n$1\r\na\r\n"
        );
        assert_eq!(
            enc(&Reply::Set(items.clone()), true),
            "~2\r\n:1\r\n$1\r\na\r\n"
        );
        assert_eq!(
            enc(&Reply::Push(items.clone()), false),
            "*2\r\n:1\r\n$1\r\na\r\n"
        );
        assert_eq!(enc(&Reply::Push(items), true), ">2\r\n:1\r\n$1\r\na\r\n");
        let map = Reply::Map(vec![
            (Reply::Bulk(b("k")), Reply::Double(2.0)),
            (Reply::Simple(b("n")), Reply::Nil),
        ]);
        assert_eq!(
            enc(&map, false),
            "*4\r\n$1\r\nk\r\n$1\r\n2\r\n+n\r\n$-1\r\n"
        );
        assert_eq!(enc(&map, true), "%2\r\n$1\r\nk\r\n,2\r\n+n\r\n_\r\n");
        let nested = Reply::Array(vec![Reply::Array(vec![Reply::Bool(true)]), Reply::NilArray]);
        assert_eq!(enc(&nested, false), "*2\r\n*1\r\n:1\r\n*-1\r\n");
        assert_eq!(enc(&nested, true), "*2\r\n*1\r\n#t\r\n_\r\n");
    }

    #[test]
    fn format_double_like_printf_g17() {
        let f = |d: f64| {
            let mut v = Vec::new();
            format_double(d, &mut v);
            String::from_utf8(v).unwrap()
        };
        assert_eq!(f(0.0), "0");
        assert_eq!(f(-0.0), "-0");
        assert_eq!(f(3.0), "3");
        assert_eq!(f(1e17), "1e+17");
        assert_eq!(f(1e16), "10000000000000000");
        assert_eq!(f(123456789.123), "123456789.123");
        assert_eq!(f(-1.5e-300), "-1.5000000000000001e-300");
        assert_eq!(f(f64::MIN_POSITIVE * 1e-10), "2.2250740426106379e-318");
        assert_eq!(f(f64::MAX), "1.7976931348623157e+308");
        assert!(f(-f64::MIN_POSITIVE).len() < DOUBLE_BUF);
    }
}
