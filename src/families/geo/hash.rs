//! Geohash arithmetic as Redis's GEO commands see it: 26-step interleaved cells over
//! the Web-Mercator latitude band, the score <-> coordinates mapping, haversine
//! distances and the number formats of the replies.
//!
//! Every float expression here is evaluated in the same order Redis 7.0 evaluates it,
//! because replies print coordinates with 17 decimals: a reordered sum would show.

use std::ffi::CStr;

/// Longitude limits.
pub const LON_MIN: f64 = -180.0;
pub const LON_MAX: f64 = 180.0;
/// Latitude limits: the square Web-Mercator projection stops here.
pub const LAT_MIN: f64 = -85.05112878;
pub const LAT_MAX: f64 = 85.05112878;
/// Steps (bits per coordinate) of a stored score: 52 bits in all.
pub const STEP_MAX: u8 = 26;
/// Redis's Earth radius, in meters.
pub const EARTH_RADIUS_M: f64 = 6372797.560856;
/// Half the Mercator world width in meters: where the step estimate starts.
pub const MERCATOR_MAX: f64 = 20037726.37;

const D_R: f64 = std::f64::consts::PI / 180.0;

pub fn deg_rad(deg: f64) -> f64 {
    deg * D_R
}

pub fn rad_deg(rad: f64) -> f64 {
    rad / D_R
}

/// A closed coordinate interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    pub min: f64,
    pub max: f64,
}

/// Longitudes of the index.
pub const LON_RANGE: Range = Range {
    min: LON_MIN,
    max: LON_MAX,
};
/// Latitudes of the index (the Mercator band).
pub const LAT_RANGE: Range = Range {
    min: LAT_MIN,
    max: LAT_MAX,
};
/// Latitudes of the standard geohash (GEOHASH's strings).
pub const STD_LAT_RANGE: Range = Range {
    min: -90.0,
    max: 90.0,
};

/// One geohash cell: `step` bits of longitude and of latitude, interleaved with the
/// longitude bit first (highest).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cell {
    pub bits: u64,
    pub step: u8,
}

/// The rectangle a cell covers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Area {
    pub lon: Range,
    pub lat: Range,
}

/// Spread the 32 bits of `v` to the even bit positions of a u64.
fn spread(v: u32) -> u64 {
    let mut x = u64::from(v);
    x = (x | (x << 16)) & 0x0000_FFFF_0000_FFFF;
    x = (x | (x << 8)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x << 2)) & 0x3333_3333_3333_3333;
    (x | (x << 1)) & 0x5555_5555_5555_5555
}

/// The even bits of `v`, packed into a u32 (inverse of `spread`).
fn squash(v: u64) -> u32 {
    let mut x = v & 0x5555_5555_5555_5555;
    x = (x | (x >> 1)) & 0x3333_3333_3333_3333;
    x = (x | (x >> 2)) & 0x0F0F_0F0F_0F0F_0F0F;
    x = (x | (x >> 4)) & 0x00FF_00FF_00FF_00FF;
    x = (x | (x >> 8)) & 0x0000_FFFF_0000_FFFF;
    ((x | (x >> 16)) & 0x0000_0000_FFFF_FFFF) as u32
}

/// Latitude index on the even bits, longitude index on the odd ones.
pub fn interleave(lat_idx: u32, lon_idx: u32) -> u64 {
    spread(lat_idx) | (spread(lon_idx) << 1)
}

/// `(lat_idx, lon_idx)` of interleaved bits.
pub fn deinterleave(bits: u64) -> (u32, u32) {
    (squash(bits), squash(bits >> 1))
}

/// Whether Redis accepts the pair as a position (GEOADD, FROMLONLAT, GEORADIUS).
pub fn valid_lon_lat(lon: f64, lat: f64) -> bool {
    (LON_MIN..=LON_MAX).contains(&lon) && (LAT_MIN..=LAT_MAX).contains(&lat)
}

/// The cell of `step` bits holding the point, over the given ranges. None outside the
/// index limits or the ranges.
pub fn encode(lon_r: Range, lat_r: Range, lon: f64, lat: f64, step: u8) -> Option<Cell> {
    if !valid_lon_lat(lon, lat) || !(1..=32).contains(&step) {
        return None;
    }
    if lat < lat_r.min || lat > lat_r.max || lon < lon_r.min || lon > lon_r.max {
        return None;
    }
    let scale = (1u64 << step) as f64;
    let lat_off = (lat - lat_r.min) / (lat_r.max - lat_r.min) * scale;
    let lon_off = (lon - lon_r.min) / (lon_r.max - lon_r.min) * scale;
    // Truncation toward zero; an offset can reach exactly 2^step at the upper limit.
    Some(Cell {
        bits: interleave(lat_off as u32, lon_off as u32),
        step,
    })
}

/// The 52-bit score of a position (None outside the limits).
pub fn encode_score(lon: f64, lat: f64) -> Option<u64> {
    encode(LON_RANGE, LAT_RANGE, lon, lat, STEP_MAX).map(|c| c.bits)
}

/// The rectangle of a cell.
pub fn decode(lon_r: Range, lat_r: Range, cell: Cell) -> Area {
    let (lat_idx, lon_idx) = deinterleave(cell.bits);
    let cells = (1u64 << cell.step) as f64;
    let lat_scale = lat_r.max - lat_r.min;
    let lon_scale = lon_r.max - lon_r.min;
    let edge = |min: f64, idx: u64, scale: f64| min + (idx as f64 / cells) * scale;
    Area {
        lat: Range {
            min: edge(lat_r.min, u64::from(lat_idx), lat_scale),
            max: edge(lat_r.min, u64::from(lat_idx) + 1, lat_scale),
        },
        lon: Range {
            min: edge(lon_r.min, u64::from(lon_idx), lon_scale),
            max: edge(lon_r.min, u64::from(lon_idx) + 1, lon_scale),
        },
    }
}

/// The center of an area, kept inside the index limits: `(lon, lat)`.
pub fn area_center(a: &Area) -> (f64, f64) {
    let lon = ((a.lon.min + a.lon.max) / 2.0).clamp(LON_MIN, LON_MAX);
    let lat = ((a.lat.min + a.lat.max) / 2.0).clamp(LAT_MIN, LAT_MAX);
    (lon, lat)
}

/// A score's bits as C's `(uint64_t)double` gives them on x86-64 (any zset score can
/// reach the GEO commands, not only ones GEOADD wrote).
pub fn score_bits(score: f64) -> u64 {
    const TWO63: f64 = 9_223_372_036_854_775_808.0;
    const INDEFINITE: u64 = 1 << 63;
    let signed = |x: f64| {
        if (-TWO63..TWO63).contains(&x) {
            x as i64 as u64
        } else {
            INDEFINITE
        }
    };
    if score >= TWO63 {
        signed(score - TWO63) ^ INDEFINITE
    } else {
        signed(score)
    }
}

/// `(lon, lat)` a score stands for: the center of its 26-step cell.
pub fn decode_score(score: f64) -> (f64, f64) {
    let cell = Cell {
        bits: score_bits(score),
        step: STEP_MAX,
    };
    area_center(&decode(LON_RANGE, LAT_RANGE, cell))
}

const BASE32: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";

/// GEOHASH's 11-character string: the decoded position re-encoded over the standard
/// -90..90 latitude range; the 11th character has no bits left and is always '0'.
pub fn geohash_string(score: f64) -> [u8; 11] {
    let (lon, lat) = decode_score(score);
    let bits = encode(LON_RANGE, STD_LAT_RANGE, lon, lat, STEP_MAX).map_or(0, |c| c.bits);
    let mut out = [b'0'; 11];
    for (i, c) in out.iter_mut().take(10).enumerate() {
        let idx = (bits >> (52 - (i + 1) * 5)) & 0x1f;
        *c = BASE32[idx as usize];
    }
    out
}

/// Great-circle distance in meters (haversine on Redis's sphere).
pub fn distance(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let lat1r = deg_rad(lat1);
    let lon1r = deg_rad(lon1);
    let lat2r = deg_rad(lat2);
    let lon2r = deg_rad(lon2);
    let u = ((lat2r - lat1r) / 2.0).sin();
    let v = ((lon2r - lon1r) / 2.0).sin();
    2.0 * EARTH_RADIUS_M * (u * u + lat1r.cos() * lat2r.cos() * v * v).sqrt().asin()
}

/// Meters per unit for `m`, `km`, `ft`, `mi` (any case).
pub fn unit_factor(unit: &[u8]) -> Option<f64> {
    const UNITS: [(&[u8], f64); 4] = [
        (b"m", 1.0),
        (b"km", 1000.0),
        (b"ft", 0.3048),
        (b"mi", 1609.34),
    ];
    UNITS
        .iter()
        .find(|(name, _)| unit.eq_ignore_ascii_case(name))
        .map(|&(_, f)| f)
}

/// C's printf of one double with `fmt` (so rounding matches Redis's replies digit for
/// digit).
fn c_format(fmt: &CStr, d: f64) -> String {
    let mut buf = vec![0u8; 64];
    loop {
        // SAFETY: `fmt` is NUL-terminated and takes exactly one double; snprintf writes
        // at most `buf.len()` bytes including the terminator.
        let n = unsafe {
            libc::snprintf(
                buf.as_mut_ptr().cast::<libc::c_char>(),
                buf.len(),
                fmt.as_ptr(),
                d,
            )
        };
        let n = usize::try_from(n).unwrap_or(0);
        if n < buf.len() {
            buf.truncate(n);
            return String::from_utf8_lossy(&buf).into_owned();
        }
        buf.resize(n + 1, 0);
    }
}

/// A distance as Redis replies it: `%.4f`.
pub fn format_distance(d: f64) -> String {
    c_format(c"%.4f", d)
}

/// A coordinate in an error text: `%f`.
pub fn format_plain(d: f64) -> String {
    c_format(c"%f", d)
}

/// Redis's error for a position outside the limits.
pub fn invalid_pair_text(lon: f64, lat: f64) -> String {
    format!(
        "ERR invalid longitude,latitude pair {},{}",
        format_plain(lon),
        format_plain(lat)
    )
}
