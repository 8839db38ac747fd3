//! Values stored in the keyspace.

use bytes::Bytes;

/// A stored value. Only strings exist so far; the data-type families add variants.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(StrValue),
}

/// A string value. `raw` marks a string that was modified in place (APPEND, SETRANGE,
/// SETBIT...), which Redis reports as encoding `raw` whatever its length.
#[derive(Debug, Clone, PartialEq)]
pub struct StrValue {
    pub bytes: Bytes,
    pub raw: bool,
}

/// Strings up to this length are `embstr` in Redis (when not integers).
pub const EMBSTR_MAX: usize = 44;

/// Payloads at least this long are stored as the zero-copy slice of the request buffer;
/// shorter ones are copied so a small value never pins a large read buffer.
pub const SHARE_THRESHOLD: usize = 16 * 1024;

/// Make an owned copy of a short payload, share a long one.
pub fn own(b: &Bytes) -> Bytes {
    if b.len() >= SHARE_THRESHOLD {
        b.clone()
    } else {
        Bytes::copy_from_slice(b)
    }
}

impl Value {
    pub fn str(b: &Bytes) -> Value {
        Value::Str(StrValue { bytes: own(b), raw: false })
    }

    pub fn str_owned(b: Vec<u8>, raw: bool) -> Value {
        Value::Str(StrValue { bytes: Bytes::from(b), raw })
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
        }
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Str(s) => {
                if !s.raw && s.bytes.len() <= 20 && parse_strict_i64(&s.bytes).is_some() {
                    "int"
                } else if !s.raw && s.bytes.len() <= EMBSTR_MAX {
                    "embstr"
                } else {
                    "raw"
                }
            }
        }
    }

    /// Approximate heap bytes used by the value (MEMORY USAGE, eviction).
    pub fn mem_usage(&self) -> usize {
        match self {
            Value::Str(s) => s.bytes.len(),
        }
    }
}

/// Redis's `string2ll`: an optional '-', no leading zeros (except "0"), no spaces or '+',
/// fits in i64.
pub fn parse_strict_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let (neg, digits) = if s[0] == b'-' { (true, &s[1..]) } else { (false, s) };
    if digits.is_empty() || (digits[0] == b'0' && (digits.len() > 1 || neg)) {
        return None;
    }
    let mut v: i64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        let d = (c - b'0') as i64;
        v = if neg {
            v.checked_mul(10)?.checked_sub(d)?
        } else {
            v.checked_mul(10)?.checked_add(d)?
        };
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_ints() {
        assert_eq!(parse_strict_i64(b"0"), Some(0));
        assert_eq!(parse_strict_i64(b"-12"), Some(-12));
        assert_eq!(parse_strict_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_strict_i64(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [&b""[..], b"-", b"01", b"-0", b"+1", b" 1", b"1 ", b"9223372036854775808", b"1a"] {
            assert_eq!(parse_strict_i64(bad), None, "{:?}", bad);
        }
    }

    #[test]
    fn encodings() {
        assert_eq!(Value::str(&Bytes::from_static(b"123")).encoding(), "int");
        assert_eq!(Value::str(&Bytes::from_static(b"abc")).encoding(), "embstr");
        assert_eq!(Value::str(&Bytes::from(vec![b'x'; 45])).encoding(), "raw");
        assert_eq!(Value::str_owned(b"abc".to_vec(), true).encoding(), "raw");
    }
}
