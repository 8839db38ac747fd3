//! The collection types stored in the keyspace, each with Redis's encodings.

pub mod hash;
pub mod hll;
pub mod list;
pub mod set;
pub mod zset;

pub use hash::Hash;
pub use list::List;
pub use set::Set;
pub use zset::ZSet;
