//! Values stored in the keyspace.

use bytes::Bytes;

use crate::types::{Hash, List, Set, ZSet};

pub use super::cbytes::CBytes;

/// A stored value: 16 bytes. Strings are inline or one allocation; collections are
/// boxed (the `CBytes` tag leaves room for their discriminant).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(CBytes),
    Hash(Box<Hash>),
    List(Box<List>),
    Set(Box<Set>),
    ZSet(Box<ZSet>),
}

/// How a string's OBJECT ENCODING is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Enc {
    /// As Redis's tryObjectEncoding would: int, embstr or raw by content and length.
    Auto,
    /// Modified in place (APPEND, SETRANGE, SETBIT, BITOP): always `raw`.
    Raw,
    /// Built from a number's text without integer encoding (INCRBYFLOAT): embstr/raw.
    NoInt,
}

/// Strings up to this length are `embstr` in Redis (when not integers).
pub const EMBSTR_MAX: usize = 44;

impl Value {
    pub fn str(b: &Bytes) -> Value {
        Value::Str(CBytes::from_bytes(b))
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::Hash(_) => "hash",
            Value::List(_) => "list",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
        }
    }

    /// OBJECT ENCODING; `raw` marks a string modified in place (APPEND, SETRANGE, ...),
    /// which Redis reports as `raw` whatever its length.
    pub fn encoding(&self, enc: Enc) -> &'static str {
        match self {
            Value::Str(s) => {
                if enc == Enc::Auto && s.len() <= 20 && parse_strict_i64(s).is_some() {
                    "int"
                } else if enc != Enc::Raw && s.len() <= EMBSTR_MAX {
                    "embstr"
                } else {
                    "raw"
                }
            }
            Value::Hash(h) => h.encoding(),
            Value::List(l) => l.encoding(),
            Value::Set(s) => s.encoding(),
            Value::ZSet(z) => z.encoding(),
        }
    }

    /// Approximate heap bytes used by the value (MEMORY USAGE, eviction).
    pub fn mem_usage(&self) -> usize {
        match self {
            Value::Str(s) => s.heap_size(),
            Value::Hash(h) => h.mem_usage(),
            Value::List(l) => l.mem_usage(),
            Value::Set(s) => s.mem_usage(),
            Value::ZSet(z) => z.mem_usage(),
        }
    }
}

/// Redis's `string2ll` (see `families::numbers`), used for encodings.
pub fn parse_strict_i64(s: &[u8]) -> Option<i64> {
    crate::families::numbers::string2ll(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_is_compact() {
        assert_eq!(std::mem::size_of::<Value>(), 16);
        assert!(std::mem::size_of::<crate::shard::db::Entry>() <= 32);
    }

    #[test]
    fn encodings() {
        assert_eq!(
            Value::str(&Bytes::from_static(b"123")).encoding(Enc::Auto),
            "int"
        );
        assert_eq!(
            Value::str(&Bytes::from_static(b"123")).encoding(Enc::NoInt),
            "embstr"
        );
        assert_eq!(
            Value::str(&Bytes::from_static(b"abc")).encoding(Enc::Auto),
            "embstr"
        );
        assert_eq!(
            Value::str(&Bytes::from(vec![b'x'; 45])).encoding(Enc::Auto),
            "raw"
        );
        assert_eq!(
            Value::Str(CBytes::from_vec(b"abc".to_vec())).encoding(Enc::Raw),
            "raw"
        );
    }
}
