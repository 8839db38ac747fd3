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
        Syntax::Inf { neg } => Some(if neg { f64::NEG_INFINITY } else { f64::INFINITY }),
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
    Dec { neg: bool, int: &'a [u8], frac: &'a [u8], exp: i64, nonzero: bool },
    /// Hexadecimal: hex digits `int` `.` `frac`, times 2^exp.
    Hex { neg: bool, int: &'a [u8], frac: &'a [u8], exp: i64 },
    Inf { neg: bool },
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
                && rest[1..rest.len() - 1].iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_'));
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
        Some(Syntax::Hex { neg, int, frac, exp })
    } else {
        let nonzero = int.iter().chain(frac).any(|&c| c != b'0');
        Some(Syntax::Dec { neg, int, frac, exp, nonzero })
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

const F64: Fmt = Fmt { prec: 53, min_lsb: -1074, max_exp: 1023, max_dec: 310, min_dec: -326 };
const X87: Fmt = Fmt { prec: 64, min_lsb: -16445, max_exp: 16383, max_dec: 4934, min_dec: -4953 };

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
            Syntax::Hex { neg, int, frac, exp } => {
                let mut n = Big::zero();
                let all = int.iter().chain(frac).skip_while(|c| **c == b'0');
                for &c in all {
                    n.mul_small(16);
                    n.add_small((c as char).to_digit(16).unwrap_or(0));
                }
                if n.is_zero() {
                    return Some((neg, Rounded::Zero));
                }
                let e = exp.saturating_sub(4 * frac.len() as i64);
                let top = e.saturating_add(n.bit_len() as i64);
                if top > fmt.max_exp + 2 {
                    return Some((neg, Rounded::Inf));
                }
                if top < fmt.min_lsb - 2 {
                    return Some((neg, Rounded::Underflow));
                }
                Some((neg, round_big(&n, e, false, fmt)))
            }
            Syntax::Dec { neg, int, frac, exp, .. } => {
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
                    let (num, den) = if k >= 0 { (d.shl(k as u64), den) } else { (d, den.shl((-k) as u64)) };
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
        return if sticky { Rounded::Underflow } else { Rounded::Zero };
    }
    let bl = n.bit_len() as i64;
    let shift = (bl - i64::from(fmt.prec)).max(fmt.min_lsb - e);
    let (mut mant, mut e2): (u128, i64) = if shift <= 0 {
        (n.low_u128(), e)
    } else {
        let half = shift <= bl && n.bit((shift - 1) as u64);
        let rest = sticky || n.any_below((shift - 1) as u64);
        let m = if shift >= bl { 0 } else { n.shr(shift as u64).low_u128() };
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
    pub const ZERO: LongDouble = LongDouble::Finite { neg: false, mant: 0, exp: 0 };

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
                    Rounded::Zero => Some(LongDouble::Finite { neg, mant: 0, exp: 0 }),
                    Rounded::Finite(mant, exp) => {
                        Some(LongDouble::Finite { neg, mant, exp: exp as i32 })
                    }
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
        let (mant, exp) = if bexp == 0 { (frac, -1074) } else { (frac | (1 << 52), bexp - 1075) };
        Some(LongDouble::Finite { neg, mant, exp })
    }

    pub fn is_finite(&self) -> bool {
        matches!(self, LongDouble::Finite { .. })
    }

    /// `self + other` rounded to extended precision; `None` if the result is
    /// NaN or infinite (Redis: "increment would produce NaN or Infinity").
    pub fn checked_add(self, other: LongDouble) -> Option<LongDouble> {
        let (LongDouble::Finite { neg: na, mant: ma, exp: ea }, LongDouble::Finite { neg: nb, mant: mb, exp: eb }) =
            (self, other)
        else {
            return None;
        };
        if ma == 0 && mb == 0 {
            return Some(LongDouble::Finite { neg: na && nb, mant: 0, exp: 0 });
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
            Rounded::Finite(mant, exp) => Some(LongDouble::Finite { neg, mant, exp: exp as i32 }),
            Rounded::Zero | Rounded::Underflow => Some(LongDouble::Finite { neg, mant: 0, exp: 0 }),
            Rounded::Inf => None,
        }
    }

    /// Redis's `ld2string(..., LD_STR_HUMAN)`: `%.17Lf`, trailing zeros and
    /// a trailing dot removed, `-0` printed as `0`.
    pub fn to_human(&self) -> Vec<u8> {
        let (neg, mant, exp) = match *self {
            LongDouble::Inf { neg } => return if neg { b"-inf".to_vec() } else { b"inf".to_vec() },
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

// ---------------------------------------------------------------------------
// A minimal unsigned big integer (little-endian u32 limbs, no top zero limbs).

#[derive(Clone, Debug, PartialEq, Eq)]
struct Big(Vec<u32>);

impl Big {
    fn zero() -> Big {
        Big(Vec::new())
    }

    fn from_u128(mut v: u128) -> Big {
        let mut l = Vec::new();
        while v > 0 {
            l.push(v as u32);
            v >>= 32;
        }
        Big(l)
    }

    fn trim(&mut self) {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }

    fn is_zero(&self) -> bool {
        self.0.is_empty()
    }

    fn bit_len(&self) -> u64 {
        match self.0.last() {
            None => 0,
            Some(&top) => (self.0.len() as u64 - 1) * 32 + u64::from(32 - top.leading_zeros()),
        }
    }

    fn bit(&self, i: u64) -> bool {
        let limb = (i / 32) as usize;
        limb < self.0.len() && (self.0[limb] >> (i % 32)) & 1 == 1
    }

    /// Any bit set at positions `< n`.
    fn any_below(&self, n: u64) -> bool {
        let full = ((n / 32) as usize).min(self.0.len());
        if self.0[..full].iter().any(|&l| l != 0) {
            return true;
        }
        let r = n % 32;
        full < self.0.len() && r > 0 && self.0[full] & ((1u32 << r) - 1) != 0
    }

    fn low_u128(&self) -> u128 {
        self.0.iter().take(4).rev().fold(0u128, |acc, &l| (acc << 32) | u128::from(l))
    }

    fn mul_small(&mut self, m: u32) {
        let mut carry = 0u64;
        for l in self.0.iter_mut() {
            let v = u64::from(*l) * u64::from(m) + carry;
            *l = v as u32;
            carry = v >> 32;
        }
        if carry > 0 {
            self.0.push(carry as u32);
        }
        self.trim();
    }

    fn add_small(&mut self, a: u32) {
        let mut carry = u64::from(a);
        for l in self.0.iter_mut() {
            if carry == 0 {
                break;
            }
            let v = u64::from(*l) + carry;
            *l = v as u32;
            carry = v >> 32;
        }
        if carry > 0 {
            self.0.push(carry as u32);
        }
    }

    fn mul_pow5(&mut self, mut e: u64) {
        while e >= 13 {
            self.mul_small(1_220_703_125); // 5^13
            e -= 13;
        }
        self.mul_small(5u32.pow(e as u32));
    }

    fn shl(&self, n: u64) -> Big {
        if self.is_zero() {
            return Big::zero();
        }
        let limbs = (n / 32) as usize;
        let bits = (n % 32) as u32;
        let mut out = vec![0u32; limbs];
        out.reserve(self.0.len() + 1);
        if bits == 0 {
            out.extend_from_slice(&self.0);
        } else {
            let mut carry = 0u32;
            for &l in &self.0 {
                out.push((l << bits) | carry);
                carry = l >> (32 - bits);
            }
            out.push(carry);
        }
        let mut b = Big(out);
        b.trim();
        b
    }

    fn shr(&self, n: u64) -> Big {
        let limbs = (n / 32) as usize;
        if limbs >= self.0.len() {
            return Big::zero();
        }
        let bits = (n % 32) as u32;
        let src = &self.0[limbs..];
        let out: Vec<u32> = if bits == 0 {
            src.to_vec()
        } else {
            (0..src.len())
                .map(|i| (src[i] >> bits) | src.get(i + 1).map_or(0, |&h| h << (32 - bits)))
                .collect()
        };
        let mut b = Big(out);
        b.trim();
        b
    }

    fn cmp_big(&self, o: &Big) -> Ordering {
        self.0.len().cmp(&o.0.len()).then_with(|| self.0.iter().rev().cmp(o.0.iter().rev()))
    }

    fn add(&self, o: &Big) -> Big {
        let (a, b) = if self.0.len() >= o.0.len() { (self, o) } else { (o, self) };
        let mut out = Vec::with_capacity(a.0.len() + 1);
        let mut carry = 0u64;
        for i in 0..a.0.len() {
            let v = u64::from(a.0[i]) + u64::from(b.0.get(i).copied().unwrap_or(0)) + carry;
            out.push(v as u32);
            carry = v >> 32;
        }
        if carry > 0 {
            out.push(carry as u32);
        }
        Big(out)
    }

    /// `self - o`, requires `self >= o`.
    fn sub(&self, o: &Big) -> Big {
        let mut out = Vec::with_capacity(self.0.len());
        let mut borrow = 0i64;
        for i in 0..self.0.len() {
            let mut v = i64::from(self.0[i]) - i64::from(o.0.get(i).copied().unwrap_or(0)) - borrow;
            borrow = 0;
            if v < 0 {
                v += 1 << 32;
                borrow = 1;
            }
            out.push(v as u32);
        }
        let mut b = Big(out);
        b.trim();
        b
    }

    /// `(self / den, remainder != 0)` where the quotient is known to be
    /// below 2^127 (bitwise long division).
    fn div_small_quotient(&self, den: &Big) -> (u128, bool) {
        let nb = self.bit_len();
        let db = den.bit_len();
        if den.is_zero() || nb < db {
            return (0, !self.is_zero());
        }
        let mut rem = self.clone();
        let mut q = 0u128;
        for s in (0..=(nb - db).min(126)).rev() {
            let d = den.shl(s);
            if rem.cmp_big(&d) != Ordering::Less {
                rem = rem.sub(&d);
                q |= 1u128 << s;
            }
        }
        (q, !rem.is_zero())
    }

    /// Decimal digits ("0" for zero).
    fn to_decimal(&self) -> Vec<u8> {
        if self.is_zero() {
            return b"0".to_vec();
        }
        let mut n = self.clone();
        let mut chunks = Vec::new();
        while !n.is_zero() {
            let mut rem = 0u64;
            for l in n.0.iter_mut().rev() {
                let v = (rem << 32) | u64::from(*l);
                *l = (v / 1_000_000_000) as u32;
                rem = v % 1_000_000_000;
            }
            n.trim();
            chunks.push(rem as u32);
        }
        let mut out = Vec::with_capacity(chunks.len() * 9);
        for (i, c) in chunks.iter().rev().enumerate() {
            if i == 0 {
                out.extend_from_slice(c.to_string().as_bytes());
            } else {
                out.extend_from_slice(format!("{c:09}").as_bytes());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incr(cur: &str, by: &str) -> String {
        match incrbyfloat(Some(cur.as_bytes()), by.as_bytes()) {
            Ok(v) => String::from_utf8(v).unwrap(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn string2ll_rules() {
        assert_eq!(parse_i64(b"0"), Ok(0));
        assert_eq!(parse_i64(b"-1"), Ok(-1));
        assert_eq!(parse_i64(b"9223372036854775807"), Ok(i64::MAX));
        assert_eq!(parse_i64(b"-9223372036854775808"), Ok(i64::MIN));
        for bad in [
            &b""[..], b"+1", b" 1", b"1 ", b"01", b"-0", b"00", b"-", b"1a", b"9223372036854775808",
            b"-9223372036854775809", b"18446744073709551616", b"1.0", b"0x10", b"99999999999999999999",
        ] {
            assert_eq!(parse_i64(bad), Err(CmdError::NotInteger), "{:?}", bad);
        }
    }

    #[test]
    fn string2d_rules() {
        assert_eq!(parse_f64(b"1.5"), Ok(1.5));
        assert_eq!(parse_f64(b"-.5"), Ok(-0.5));
        assert_eq!(parse_f64(b"1."), Ok(1.0));
        assert_eq!(parse_f64(b"+1e3"), Ok(1000.0));
        assert_eq!(parse_f64(b"0x10"), Ok(16.0));
        assert_eq!(parse_f64(b"0x1.8p1"), Ok(3.0));
        assert_eq!(parse_f64(b"-0x.8"), Ok(-0.5));
        assert_eq!(parse_f64(b"inf"), Ok(f64::INFINITY));
        assert_eq!(parse_f64(b"-Infinity"), Ok(f64::NEG_INFINITY));
        assert_eq!(parse_f64(b"4e-320"), Ok(4e-320)); // subnormal accepted
        assert_eq!(parse_f64(b"0e-999"), Ok(0.0));
        assert_eq!(parse_f64(b"0x1p-1074"), Ok(5e-324));
        for bad in [
            &b""[..], b" 1", b"1 ", b"nan", b"-nan", b"NaN(1)", b"1e400", b"1e-400", b".", b"e5",
            b"1e", b"1e+", b"0x", b"0xp3", b"1\x002", b"infin", b"1,5", b"0x1p99999", b"0x1p-1080",
        ] {
            assert_eq!(parse_f64(bad), Err(CmdError::NotFloat), "{:?}", bad);
        }
    }

    #[test]
    fn incrbyfloat_matches_redis() {
        // Outputs verified against redis-server 7.0.15.
        assert_eq!(incr("10.5", "0.1"), "10.6");
        assert_eq!(incr("3.0e3", "0"), "3000");
        assert_eq!(incr("1", "1e-30"), "1");
        assert_eq!(incr("0", "0.1"), "0.1");
        assert_eq!(incr("1", "0x10"), "17");
        assert_eq!(incr("1", "1."), "2");
        assert_eq!(incr("1", ".5"), "1.5");
        assert_eq!(incr("1", "+1"), "2");
        assert_eq!(incr("1", "1.e5"), "100001");
        assert_eq!(incr("1", "-0"), "1");
        assert_eq!(incr("-1", "1"), "0");
        assert_eq!(incr("0.1", "-0.3"), "-0.2");
        assert_eq!(incr("1", "0x1p-3"), "1.125");
        assert_eq!(incr("1", "1e-4940"), "1");
        assert_eq!(incr("1", "123456789012345678901234567890"), "123456789012345678899921813504");
        assert_eq!(incr("0", "0.000000000000000005"), "0");
        assert_eq!(incr("0", "0.000000000000000015"), "0.00000000000000002");
        assert_eq!(incr("0", "-0.000000000000000001"), "0");
        assert_eq!(
            incr("5.0e200", "0"),
            "500000000000000000003993901533043142390515524472867692134612609972144053361928316382483148057820177406268876638904053604256569029866671360574436328338355712526437350181689439455100285339542386678693888"
        );
        let big = incr("1", "1e4900");
        assert!(big.starts_with("1000000000000000000027083122306903498332240525"));
        assert!(big.ends_with("116846746313424896"));
        assert_eq!(big.len(), 4901);
        for (cur, by) in [("1", " 1"), ("1", "1 "), ("1", "nan"), ("1", "1e5000"), ("1", "1e-5000"), ("1", "."), ("1", "1e"), ("1", "1\u{0}x"), ("x", "1")] {
            assert_eq!(incr(cur, by), "ERR value is not a valid float", "{cur} {by}");
        }
        assert_eq!(incr("1", "inf"), "ERR increment would produce NaN or Infinity");
        assert_eq!(incr("inf", "0"), "ERR increment would produce NaN or Infinity");
        assert_eq!(incrbyfloat(None, b"2.5").unwrap(), b"2.5");
        assert_eq!(incrbyfloat(None, b"").unwrap_err(), CmdError::NotFloat);
        // Overflow of the sum.
        let max = "1.18973149535723176502e+4932";
        assert_eq!(incr(max, max), "ERR increment would produce NaN or Infinity");
    }

    #[test]
    fn format_f64() {
        assert_eq!(format_incrbyfloat(10.5 + 0.1), b"10.6");
        assert_eq!(format_incrbyfloat(3.0e3), b"3000");
        assert_eq!(format_incrbyfloat(-0.0), b"0");
        assert_eq!(format_incrbyfloat(-2.25), b"-2.25");
        assert_eq!(format_incrbyfloat(1e-30), b"0");
        assert_eq!(format_incrbyfloat(f64::INFINITY), b"inf");
        assert!(format_incrbyfloat(5.0e200).starts_with(b"5000000000000000000039939015330431423905155"));
    }

    #[test]
    fn long_double_misc() {
        let a = LongDouble::parse(b"0.1").unwrap();
        // 0.1L has significand 0xCCCCCCCCCCCCCCCD.
        assert_eq!(a, LongDouble::Finite { neg: false, mant: 0xCCCC_CCCC_CCCC_CCCD, exp: -67 });
        assert_eq!(LongDouble::from_f64(0.5), Some(LongDouble::Finite { neg: false, mant: 1 << 52, exp: -53 }));
        assert_eq!(LongDouble::parse(b"-0").unwrap().to_human(), b"0");
        let mut long = b"0.".to_vec();
        long.resize(5119, b'1');
        assert_eq!(LongDouble::parse(&long).map(|v| v.to_human()), Some(b"0.11111111111111111".to_vec()));
        long.push(b'1'); // 5120 bytes: too long for Redis
        assert_eq!(LongDouble::parse(&long), None);
        assert_eq!(LongDouble::parse(&vec![b'1'; 5000]), None); // overflow
    }
}
