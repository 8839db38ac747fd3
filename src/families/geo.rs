//! GEO commands: GEOADD GEODIST GEOHASH GEOPOS GEOSEARCH GEOSEARCHSTORE GEORADIUS
//! GEORADIUSBYMEMBER (and the _RO forms). A geo index is a sorted set whose scores are
//! 52-bit interleaved geohashes, so every sorted-set command works on it too.

pub mod hash;
pub mod search;

#[cfg(test)]
mod tests;
