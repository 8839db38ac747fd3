//! Number parsing and formatting with redis-server 7.0's exact rules.
//!
//! * [`parse_i64`]: `string2ll` (no `+`, no spaces, no leading zeros, fits i64).
//! * [`parse_f64`]: `strtod` as Redis checks it (whole string, no leading
//!   space, hex floats and `inf` accepted, NaN / overflow / underflow-to-zero
//!   rejected).
//! * [`LongDouble`]: a software x87 80-bit `long double` (64-bit significand),
//!   so INCRBYFLOAT / HINCRBYFLOAT parse (`strtold`), add and print
//!   (`%.17Lf`, trailing zeros trimmed) exactly like the real server.

use std::cmp::Ordering;

use crate::error::{CmdError, CmdResult};

#[path = "bigint.rs"]
mod bigint;
use bigint::Big;

/// Redis's `LONG_STR_SIZE`: `string2ll` rejects inputs this long or longer.
const LONG_STR_SIZE: usize = 21;
/// Redis's `MAX_LONG_DOUBLE_CHARS`: `string2ld` rejects inputs this long or longer.
const MAX_LONG_DOUBLE_CHARS: usize = 5 * 1024;

/// Parse an integer with Redis's `string2ll` strictness.
/// Errors with `ERR value is not an integer or out of range`.
pub fn parse_i64(arg: &[u8]) -> CmdResult<i64> {
    string2ll(arg).ok_or(CmdError::NotInteger)
}

/// Redis's `string2ll`: `None` where Redis returns 0.
pub fn string2ll(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() >= LONG_STR_SIZE {
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
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    if neg {
        if v > 1u64 << 63 {
            return None;
        }
        Some((v as i64).wrapping_neg())
    } else {
        i64::try_from(v).ok()
    }
}

/// Parse a double as Redis's `getDoubleFromObject` / `string2d` do.
/// Errors with `ERR value is not a valid float`.
pub fn parse_f64(arg: &[u8]) -> CmdResult<f64> {
    string2d(arg).ok_or(CmdError::NotFloat)
}

/// Redis's `string2d`: `None` where Redis rejects the input.
pub fn string2d(s: &[u8]) -> Option<f64> {
    match scan(s)? {
        Syntax::Nan => None,
        Syntax::Inf { neg } => Some(if neg {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        }),
        Syntax::Dec { nonzero, .. } => {
            // The grammar was checked by `scan` and is a subset of Rust's.
            let text = std::str::from_utf8(s).ok()?;
            let v: f64 = text.parse().ok()?;
            if v.is_infinite() || (v == 0.0 && nonzero) {
                return None; // ERANGE: overflow, or underflow to zero
            }
            Some(v)
        }
        syn @ Syntax::Hex { .. } => {
            let (neg, r) = syn.round(&F64)?;
            let mag = match r {
                Rounded::Zero => 0.0,
                Rounded::Finite(m, e) => {
                    // m < 2^53 and the result is representable: exact.
                    (m as f64) * pow2(e)
                }
                Rounded::Inf | Rounded::Underflow => return None,
            };
            Some(if neg { -mag } else { mag })
        }
    }
}

/// 2^e as an f64, for e within the f64 range (split to avoid overflow of
/// intermediate powers).
fn pow2(e: i64) -> f64 {
    let mut v = 1.0f64;
    let mut e = e;
    while e > 1000 {
        v *= 2f64.powi(1000);
        e -= 1000;
    }
    while e < -1000 {
        v *= 2f64.powi(-1000);
        e += 1000;
    }
    v * 2f64.powi(e as i32)
}

// ---------------------------------------------------------------------------
// Syntax of strtod/strtold inputs.

enum Syntax<'a> {
    /// Decimal: digits `int` `.` `frac`, times 10^exp. `nonzero` if any digit is.
    Dec {
        neg: bool,
        int: &'a [u8],
        frac: &'a [u8],
        exp: i64,
        nonzero: bool,
    },
    /// Hexadecimal: hex digits `int` `.` `frac`, times 2^exp.
    Hex {
        neg: bool,
        int: &'a [u8],
        frac: &'a [u8],
        exp: i64,
    },
    Inf {
        neg: bool,
    },
    Nan,
}

/// Recognise the whole of `s` as a C float literal; `None` if strtod would
/// stop early or not convert at all.
fn scan(s: &[u8]) -> Option<Syntax<'_>> {
    let (neg, body) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
        return Some(Syntax::Inf { neg });
    }
    if body.len() >= 3 && body[..3].eq_ignore_ascii_case(b"nan") {
        let rest = &body[3..];
        let ok = rest.is_empty()
            || (rest.len() >= 2
                && rest[0] == b'('
                && rest[rest.len() - 1] == b')'
                && rest[1..rest.len() - 1]
                    .iter()
                    .all(|c| c.is_ascii_alphanumeric() || *c == b'_'));
        return if ok { Some(Syntax::Nan) } else { None };
    }
    let hex = body.len() > 2 && body[0] == b'0' && (body[1] | 0x20) == b'x';
    let (digits, marker): (fn(&u8) -> bool, u8) = if hex {
        (u8::is_ascii_hexdigit, b'p')
    } else {
        (u8::is_ascii_digit, b'e')
    };
    let mant = if hex { &body[2..] } else { body };
    let int_len = mant.iter().take_while(|c| digits(c)).count();
    let int = &mant[..int_len];
    let mut rest = &mant[int_len..];
    let mut frac: &[u8] = &[];
    if rest.first() == Some(&b'.') {
        let n = rest[1..].iter().take_while(|c| digits(c)).count();
        frac = &rest[1..1 + n];
        rest = &rest[1 + n..];
    }
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let mut exp: i64 = 0;
    if let Some(&m) = rest.first() {
        if (m | 0x20) != marker {
            return None;
        }
        let mut e = &rest[1..];
        let eneg = match e.first() {
            Some(b'-') => {
                e = &e[1..];
                true
            }
            Some(b'+') => {
                e = &e[1..];
                false
            }
            _ => false,
        };
        if e.is_empty() || !e.iter().all(u8::is_ascii_digit) {
            return None;
        }
        for &c in e {
            exp = (exp * 10 + i64::from(c - b'0')).min(1 << 40);
        }
        if eneg {
            exp = -exp;
        }
    }
    if hex {
        Some(Syntax::Hex {
            neg,
            int,
            frac,
            exp,
        })
    } else {
        let nonzero = int.iter().chain(frac).any(|&c| c != b'0');
        Some(Syntax::Dec {
            neg,
            int,
            frac,
            exp,
            nonzero,
        })
    }
}

/// A binary floating-point format: `prec` significand bits, smallest LSB
/// exponent (subnormals), largest exponent of the leading bit.
struct Fmt {
    prec: u32,
    min_lsb: i64,
    max_exp: i64,
    /// Decimal magnitudes beyond which the result surely overflows / is zero.
    max_dec: i64,
    min_dec: i64,
}

const F64: Fmt = Fmt {
    prec: 53,
    min_lsb: -1074,
    max_exp: 1023,
    max_dec: 310,
    min_dec: -326,
};
const X87: Fmt = Fmt {
    prec: 64,
    min_lsb: -16445,
    max_exp: 16383,
    max_dec: 4934,
    min_dec: -4953,
};

enum Rounded {
    Zero,
    /// mantissa * 2^exp, mantissa < 2^prec
    Finite(u64, i64),
    Inf,
    /// A nonzero input rounded to zero (ERANGE).
    Underflow,
}

impl Syntax<'_> {
    /// Convert to `fmt` with round-to-nearest-even. Only for Dec/Hex.
    fn round(&self, fmt: &Fmt) -> Option<(bool, Rounded)> {
        match *self {
            Syntax::Hex {
                neg,
                int,
                frac,
                exp,
            } => {
                // Keep the first 40 significant digits (160 bits, plenty for
                // rounding); the rest only matter as a sticky bit.
                let mut n = Big::zero();
                let (mut dropped, mut sticky) = (0i64, false);
                let all = int.iter().chain(frac).skip_while(|c| **c == b'0');
                for (i, &c) in all.enumerate() {
                    let d = (c as char).to_digit(16).unwrap_or(0);
                    if i < 40 {
                        n.mul_small(16);
                        n.add_small(d);
                    } else {
                        dropped += 1;
                        sticky |= d != 0;
                    }
                }
                if n.is_zero() {
                    return Some((neg, Rounded::Zero));
                }
                let e = exp
                    .saturating_sub(4 * frac.len() as i64)
                    .saturating_add(4 * dropped);
                let top = e.saturating_add(n.bit_len() as i64);
                if top > fmt.max_exp + 2 {
                    return Some((neg, Rounded::Inf));
                }
                if top < fmt.min_lsb - 2 {
                    return Some((neg, Rounded::Underflow));
                }
                // With dropped digits n has >= 157 bits, so the sticky bit
                // always lies below the rounding position.
                Some((neg, round_big(&n, e, sticky, fmt)))
            }
            Syntax::Dec {
                neg,
                int,
                frac,
                exp,
                ..
            } => {
                let all: Vec<u8> = int.iter().chain(frac).copied().collect();
                let first = all.iter().position(|&c| c != b'0');
                let Some(first) = first else {
                    return Some((neg, Rounded::Zero));
                };
                let last = all.iter().rposition(|&c| c != b'0').unwrap_or(first);
                let sig = &all[first..=last];
                // value = sig * 10^e10
                let e10 = exp - frac.len() as i64 + (all.len() - 1 - last) as i64;
                let mag = e10 + sig.len() as i64;
                if mag > fmt.max_dec {
                    return Some((neg, Rounded::Inf));
                }
                if mag < fmt.min_dec {
                    return Some((neg, Rounded::Underflow));
                }
                let mut d = Big::zero();
                for chunk in sig.chunks(9) {
                    let mut v = 0u32;
                    for &c in chunk {
                        v = v * 10 + u32::from(c - b'0');
                    }
                    d.mul_small(10u32.pow(chunk.len() as u32));
                    d.add_small(v);
                }
                let r = if e10 >= 0 {
                    d.mul_pow5(e10 as u64);
                    round_big(&d, e10, false, fmt)
                } else {
                    let mut den = Big::from_u128(1);
                    den.mul_pow5((-e10) as u64);
                    let want = i64::from(fmt.prec) + 3;
                    // Scale so that the quotient has want..want+1 bits.
                    let k = want + den.bit_len() as i64 - d.bit_len() as i64;
                    let (num, den) = if k >= 0 {
                        (d.shl(k as u64), den)
                    } else {
                        (d, den.shl((-k) as u64))
                    };
                    let (q, rem) = num.div_small_quotient(&den);
                    round_big(&Big::from_u128(q), e10 - k, rem, fmt)
                };
                Some((neg, r))
            }
            _ => None,
        }
    }
}

/// Round `n * 2^e` (plus a sticky fraction below bit 0 when `sticky`) to `fmt`.
fn round_big(n: &Big, e: i64, sticky: bool, fmt: &Fmt) -> Rounded {
    if n.is_zero() {
        return if sticky {
            Rounded::Underflow
        } else {
            Rounded::Zero
        };
    }
    let bl = n.bit_len() as i64;
    let shift = (bl - i64::from(fmt.prec)).max(fmt.min_lsb - e);
    let (mut mant, mut e2): (u128, i64) = if shift <= 0 {
        (n.low_u128(), e)
    } else {
        let half = shift <= bl && n.bit((shift - 1) as u64);
        let rest = sticky || n.any_below((shift - 1) as u64);
        let m = if shift >= bl {
            0
        } else {
            n.shr(shift as u64).low_u128()
        };
        let up = half && (rest || m & 1 == 1);
        (m + u128::from(up), e + shift)
    };
    if mant >> fmt.prec == 1 {
        mant >>= 1;
        e2 += 1;
    }
    if mant == 0 {
        return Rounded::Underflow;
    }
    let top = e2 + (128 - mant.leading_zeros()) as i64 - 1;
    if top > fmt.max_exp {
        return Rounded::Inf;
    }
    Rounded::Finite(mant as u64, e2)
}

// ---------------------------------------------------------------------------
// x87 extended precision.

/// An x87 80-bit `long double` value: sign, 64-bit significand, exponent.
/// Finite values are `mant * 2^exp` (mant 0 = zero). Arithmetic rounds to
/// nearest-even like the FPU in its default mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LongDouble {
    Finite { neg: bool, mant: u64, exp: i32 },
    Inf { neg: bool },
}

impl LongDouble {
    pub const ZERO: LongDouble = LongDouble::Finite {
        neg: false,
        mant: 0,
        exp: 0,
    };

    /// Redis's `string2ld`: `strtold` of the whole input; rejects empty or
    /// over-long input, leading space, NaN, overflow and underflow to zero.
    /// `inf` is accepted.
    pub fn parse(s: &[u8]) -> Option<LongDouble> {
        if s.is_empty() || s.len() >= MAX_LONG_DOUBLE_CHARS {
            return None;
        }
        let syn = scan(s)?;
        match syn {
            Syntax::Nan => None,
            Syntax::Inf { neg } => Some(LongDouble::Inf { neg }),
            _ => {
                let (neg, r) = syn.round(&X87)?;
                match r {
                    Rounded::Zero => Some(LongDouble::Finite {
                        neg,
                        mant: 0,
                        exp: 0,
                    }),
                    Rounded::Finite(mant, exp) => Some(LongDouble::Finite {
                        neg,
                        mant,
                        exp: exp as i32,
                    }),
                    Rounded::Inf | Rounded::Underflow => None,
                }
            }
        }
    }

    /// The exact value of an f64 (NaN maps to `None`).
    pub fn from_f64(v: f64) -> Option<LongDouble> {
        if v.is_nan() {
            return None;
        }
        if v.is_infinite() {
            return Some(LongDouble::Inf { neg: v < 0.0 });
        }
        let bits = v.to_bits();
        let neg = bits >> 63 == 1;
        let bexp = ((bits >> 52) & 0x7ff) as i32;
        let frac = bits & ((1 << 52) - 1);
        let (mant, exp) = if bexp == 0 {
            (frac, -1074)
        } else {
            (frac | (1 << 52), bexp - 1075)
        };
        Some(LongDouble::Finite { neg, mant, exp })
    }

    pub fn is_finite(&self) -> bool {
        matches!(self, LongDouble::Finite { .. })
    }

    /// `self + other` rounded to extended precision; `None` if the result is
    /// NaN or infinite (Redis: "increment would produce NaN or Infinity").
    pub fn checked_add(self, other: LongDouble) -> Option<LongDouble> {
        let (
            LongDouble::Finite {
                neg: na,
                mant: ma,
                exp: ea,
            },
            LongDouble::Finite {
                neg: nb,
                mant: mb,
                exp: eb,
            },
        ) = (self, other)
        else {
            return None;
        };
        if ma == 0 && mb == 0 {
            return Some(LongDouble::Finite {
                neg: na && nb,
                mant: 0,
                exp: 0,
            });
        }
        if mb == 0 {
            return Some(self);
        }
        if ma == 0 {
            return Some(other);
        }
        let e = ea.min(eb);
        let a = Big::from_u128(u128::from(ma)).shl((ea - e) as u64);
        let b = Big::from_u128(u128::from(mb)).shl((eb - e) as u64);
        let (neg, n) = if na == nb {
            (na, a.add(&b))
        } else {
            match a.cmp_big(&b) {
                Ordering::Equal => return Some(LongDouble::ZERO),
                Ordering::Greater => (na, a.sub(&b)),
                Ordering::Less => (nb, b.sub(&a)),
            }
        };
        match round_big(&n, i64::from(e), false, &X87) {
            Rounded::Finite(mant, exp) => Some(LongDouble::Finite {
                neg,
                mant,
                exp: exp as i32,
            }),
            Rounded::Zero | Rounded::Underflow => Some(LongDouble::Finite {
                neg,
                mant: 0,
                exp: 0,
            }),
            Rounded::Inf => None,
        }
    }

    /// Redis's `ld2string(..., LD_STR_HUMAN)`: `%.17Lf`, trailing zeros and
    /// a trailing dot removed, `-0` printed as `0`.
    pub fn to_human(&self) -> Vec<u8> {
        let (neg, mant, exp) = match *self {
            LongDouble::Inf { neg } => {
                return if neg {
                    b"-inf".to_vec()
                } else {
                    b"inf".to_vec()
                }
            }
            LongDouble::Finite { neg, mant, exp } => (neg, mant, exp),
        };
        const SCALE: u128 = 100_000_000_000_000_000; // 10^17
        let (int_digits, frac): (Vec<u8>, u64) = if exp >= 0 {
            let n = Big::from_u128(u128::from(mant)).shl(exp as u64);
            (n.to_decimal(), 0)
        } else {
            let sh = u32::try_from(-i64::from(exp)).unwrap_or(u32::MAX);
            let x = u128::from(mant) * SCALE; // < 2^121
            let q = if sh >= 128 {
                0
            } else {
                let q = x >> sh;
                let half = (x >> (sh - 1)) & 1 == 1;
                let rest = sh >= 2 && x & ((1u128 << (sh - 1)) - 1) != 0;
                q + u128::from(half && (rest || q & 1 == 1))
            };
            (Big::from_u128(q / SCALE).to_decimal(), (q % SCALE) as u64)
        };
        let mut out = Vec::with_capacity(int_digits.len() + 20);
        if neg {
            out.push(b'-');
        }
        out.extend_from_slice(&int_digits);
        if frac != 0 {
            let f = format!("{frac:017}");
            out.push(b'.');
            out.extend_from_slice(f.trim_end_matches('0').as_bytes());
        }
        if out == b"-0" {
            out.remove(0);
        }
        out
    }
}

/// INCRBYFLOAT on a string value: `current` is the stored value (`None` for
/// a missing key), `incr` the argument. Returns the new stored text.
/// Errors as Redis: `ERR value is not a valid float` for either operand,
/// `ERR increment would produce NaN or Infinity` for the result.
pub fn incrbyfloat(current: Option<&[u8]>, incr: &[u8]) -> CmdResult<Vec<u8>> {
    let cur = match current {
        Some(c) => LongDouble::parse(c).ok_or(CmdError::NotFloat)?,
        None => LongDouble::ZERO,
    };
    let inc = LongDouble::parse(incr).ok_or(CmdError::NotFloat)?;
    let sum = cur
        .checked_add(inc)
        .ok_or_else(|| CmdError::err("increment would produce NaN or Infinity"))?;
    Ok(sum.to_human())
}

/// Format an f64 the way Redis prints INCRBYFLOAT results. The f64 is taken
/// at its shortest round-trip decimal (so 10.6 prints "10.6" as Redis does
/// in long double); prefer [`incrbyfloat`], which is exact.
pub fn format_incrbyfloat(v: f64) -> Vec<u8> {
    if v.is_nan() {
        return b"nan".to_vec();
    }
    let text = format!("{v:e}");
    match LongDouble::parse(text.as_bytes()).or_else(|| LongDouble::from_f64(v)) {
        Some(ld) => ld.to_human(),
        None => b"0".to_vec(),
    }
}

#[cfg(test)]
#[path = "numbers_tests.rs"]
mod tests;
