//! Number parsing and formatting with the exact rules of redis-server 7.0
//! (`string2ll`, `strtol`, `memtoull`, `string2d`).

/// Redis `string2ll`: optional `-`, no `+`, no spaces, no leading zeros, no overflow.
pub(crate) fn parse_ll(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.is_empty() || b.len() > 20 {
        return None;
    }
    if b == b"0" {
        return Some(0);
    }
    let (neg, digits) = if b[0] == b'-' {
        (true, &b[1..])
    } else {
        (false, b)
    };
    if digits.is_empty() || !(b'1'..=b'9').contains(&digits[0]) {
        return None;
    }
    let mut v: i128 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + i128::from(c - b'0');
        if v > i128::from(i64::MAX) + 1 {
            return None;
        }
    }
    let v = if neg { -v } else { v };
    i64::try_from(v).ok()
}

/// C `strtol`-like parse that must consume the whole string: optional leading blanks,
/// optional sign, at least one digit (leading zeros fine).
pub(crate) fn parse_c_long(s: &str) -> Option<i64> {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let mut v: i64 = 0;
    for c in digits.bytes() {
        // strtol saturates on overflow
        v = v.saturating_mul(10).saturating_add(i64::from(c - b'0'));
    }
    Some(if neg { -v } else { v })
}

/// Redis `memtoull`: digits (possibly none) followed by an optional unit
/// `b k kb m mb g gb` (case-insensitive). Overflow saturates, then wraps on the unit
/// multiplication, exactly like redis-server.
pub(crate) fn parse_mem(s: &str) -> Option<u64> {
    let lower = s.to_ascii_lowercase();
    let units: [(&str, u64); 7] = [
        ("gb", 1 << 30),
        ("mb", 1 << 20),
        ("kb", 1 << 10),
        ("g", 1_000_000_000),
        ("m", 1_000_000),
        ("k", 1_000),
        ("b", 1),
    ];
    let (digits, mul) = units
        .iter()
        .find(|(u, _)| lower.ends_with(u))
        .map(|(u, m)| (&lower[..lower.len() - u.len()], *m))
        .unwrap_or((lower.as_str(), 1));
    if !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let mut v: u64 = 0;
    for c in digits.bytes() {
        v = v.saturating_mul(10).saturating_add(u64::from(c - b'0'));
    }
    Some(v.wrapping_mul(mul))
}

/// Memory as CONFIG REWRITE writes it: the largest of gb/mb/kb dividing it exactly.
pub(crate) fn mem_human(v: u64) -> String {
    const GB: u64 = 1 << 30;
    const MB: u64 = 1 << 20;
    const KB: u64 = 1 << 10;
    if v == 0 {
        "0".to_string()
    } else if v.is_multiple_of(GB) {
        format!("{}gb", v / GB)
    } else if v.is_multiple_of(MB) {
        format!("{}mb", v / MB)
    } else if v.is_multiple_of(KB) {
        format!("{}kb", v / KB)
    } else {
        v.to_string()
    }
}

/// The OS error text without Rust's " (os error N)" suffix, like C's strerror().
pub(crate) fn os_error_text(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.rfind(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// Redis `string2d`: C `strtod` over the whole string, without leading blanks; decimal or
/// hex (`0x1.8p3`) notation and `inf` are fine; NaN, overflow and underflow are not.
pub(crate) fn parse_c_double(s: &str) -> Option<f64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let v = if let Some(hex) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        parse_hex_float(hex)?
    } else {
        if body.is_empty() || body.starts_with(['+', '-']) || body.starts_with(char::is_whitespace)
        {
            return None;
        }
        body.parse::<f64>().ok()?
    };
    let literal_inf = body.to_ascii_lowercase().starts_with("inf");
    let has_nonzero_digit = body.split(['e', 'E', 'p', 'P']).next().is_some_and(|m| {
        m.trim_start_matches(['0', 'x', 'X'])
            .bytes()
            .any(|c| c.is_ascii_hexdigit() && c != b'0')
    });
    if v.is_nan() || (v.is_infinite() && !literal_inf) || (v == 0.0 && has_nonzero_digit) {
        return None;
    }
    Some(if neg { -v } else { v })
}

fn parse_hex_float(h: &str) -> Option<f64> {
    let (mant, exp) = match h.find(['p', 'P']) {
        Some(i) => (&h[..i], Some(&h[i + 1..])),
        None => (h, None),
    };
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let mut v = 0f64;
    for c in int.chars() {
        v = v * 16.0 + f64::from(c.to_digit(16)?);
    }
    let mut scale = 1.0 / 16.0;
    for c in frac.chars() {
        v += f64::from(c.to_digit(16)?) * scale;
        scale /= 16.0;
    }
    if let Some(e) = exp {
        let e: i32 = e.parse().ok()?;
        v *= 2f64.powi(e);
    }
    Some(v)
}
