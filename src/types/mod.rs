//! The collection types stored in the keyspace, each with Redis's encodings.

pub mod fenwick;
pub mod hash;
pub mod hll;
pub mod list;
pub mod set;
pub mod varint;
pub mod zset;

pub use hash::Hash;
pub use list::List;
pub use set::Set;
pub use zset::ZSet;

/// A type's listpack conversion thresholds (`<type>-max-listpack-entries` and
/// `-value`), shared by hashes and sorted sets.
#[derive(Debug, Clone, Copy)]
pub struct ListpackLimits {
    pub entries: usize,
    pub value: usize,
}

impl ListpackLimits {
    /// Config values are clamped at 0: a zero threshold converts everything.
    pub fn new(entries: i64, value: i64) -> ListpackLimits {
        ListpackLimits {
            entries: entries.max(0) as usize,
            value: value.max(0) as usize,
        }
    }
}

impl Default for ListpackLimits {
    /// Redis's defaults for both hashes and sorted sets.
    fn default() -> Self {
        ListpackLimits {
            entries: 128,
            value: 64,
        }
    }
}
