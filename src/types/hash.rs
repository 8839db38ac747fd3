//! Hash values (HSET and friends). Placeholder representation until its family lands.

use crate::shard::value::CBytes;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Hash {
    pub items: Vec<CBytes>,
}

impl Hash {
    /// OBJECT ENCODING.
    pub fn encoding(&self) -> &'static str {
        "listpack"
    }

    /// Approximate heap bytes (MEMORY USAGE, eviction).
    pub fn mem_usage(&self) -> usize {
        std::mem::size_of::<Self>() + self.items.iter().map(|i| 16 + i.heap_size()).sum::<usize>()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}
