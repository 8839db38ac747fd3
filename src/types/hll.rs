//! HyperLogLog in Redis's string format, byte for byte: a 16-byte header ("HYLL", the
//! encoding, 3 unused bytes, an 8-byte little-endian cached cardinality whose top bit
//! marks it stale), then either 16384 packed 6-bit registers (dense) or a run-length
//! sparse form made of ZERO, XZERO and VAL opcodes. Every write must produce the bytes
//! redis-server produces, so replicas, DUMP and GET see the same value.

/// Index bits: 2^14 registers.
pub const P: u32 = 14;
pub const REGISTERS: usize = 1 << P;
/// Bits of the hash left after the index (the run-of-zeros part).
pub const Q: usize = 64 - P as usize;
const BITS: usize = 6;
const REG_MAX: u8 = (1 << BITS) - 1;
pub const HDR: usize = 16;
pub const DENSE_SIZE: usize = HDR + (REGISTERS * BITS).div_ceil(8);
pub const DENSE: u8 = 0;
pub const SPARSE: u8 = 1;
const MAGIC: &[u8; 4] = b"HYLL";
/// Largest value and run a VAL opcode can hold.
const VAL_MAX_VALUE: u8 = 32;
const VAL_MAX_LEN: usize = 4;
const ZERO_MAX_LEN: usize = 64;
const XZERO_MAX_LEN: usize = 16384;
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;

/// The data is not a well-formed HLL (Redis's INVALIDOBJ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Corrupt;

/// MurmurHash64A (Austin Appleby's 64-bit hash), 8-byte blocks read little-endian.
pub fn murmur64a(data: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = seed ^ (data.len() as u64).wrapping_mul(M);
    let mut blocks = data.chunks_exact(8);
    for b in &mut blocks {
        let mut k = u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate() {
            h ^= (b as u64) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// The register an element goes to and the value it proposes: the length of the run of
/// zero bits after the index, plus one (at most Q + 1).
pub fn pattern(ele: &[u8]) -> (usize, u8) {
    let h = murmur64a(ele, 0xadc8_3b19);
    let index = (h & (REGISTERS as u64 - 1)) as usize;
    let rest = (h >> P) | (1u64 << Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

/// Why a string is not usable as an HLL at all (Redis answers WRONGTYPE for these).
pub fn is_valid_hll(s: &[u8]) -> bool {
    if s.len() < HDR || &s[..4] != MAGIC {
        return false;
    }
    match s[4] {
        DENSE => s.len() == DENSE_SIZE,
        SPARSE => true,
        _ => false,
    }
}

/// A fresh, empty HLL (sparse: one XZERO covering every register).
pub fn new_sparse() -> Vec<u8> {
    let mut v = Vec::with_capacity(HDR + 2);
    v.extend_from_slice(MAGIC);
    v.push(SPARSE);
    v.extend_from_slice(&[0; 11]);
    let len = XZERO_MAX_LEN - 1;
    v.push(0x40 | (len >> 8) as u8);
    v.push((len & 0xff) as u8);
    v
}

pub fn cache_valid(s: &[u8]) -> bool {
    s[15] & 0x80 == 0
}

pub fn invalidate_cache(s: &mut [u8]) {
    s[15] |= 0x80;
}

pub fn cached_card(s: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&s[8..16]);
    u64::from_le_bytes(b)
}

pub fn set_cached_card(s: &mut [u8], card: u64) {
    s[8..16].copy_from_slice(&card.to_le_bytes());
}

// ---- dense registers -------------------------------------------------------------------

pub fn dense_get(regs: &[u8], i: usize) -> u8 {
    let bit = i * BITS;
    let (b, fb) = (bit / 8, bit % 8);
    let lo = regs[b] as u16 >> fb;
    let hi = regs.get(b + 1).map_or(0, |&x| (x as u16) << (8 - fb));
    ((lo | hi) & REG_MAX as u16) as u8
}

pub fn dense_put(regs: &mut [u8], i: usize, v: u8) {
    let bit = i * BITS;
    let (b, fb) = (bit / 8, bit % 8);
    let v = v as u16 & REG_MAX as u16;
    regs[b] &= !((REG_MAX as u16) << fb) as u8;
    regs[b] |= (v << fb) as u8;
    if fb > 8 - BITS {
        let spill = 8 - fb;
        regs[b + 1] &= !((REG_MAX as u16) >> spill) as u8;
        regs[b + 1] |= (v >> spill) as u8;
    }
}

/// Raise register `i` to `v`; true if it changed.
fn dense_set(regs: &mut [u8], i: usize, v: u8) -> bool {
    if v > dense_get(regs, i) {
        dense_put(regs, i, v);
        true
    } else {
        false
    }
}

// ---- sparse opcodes ---------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Op {
    /// A run of zero registers; `xzero` when it is the two-byte form.
    Zero {
        len: usize,
        xzero: bool,
    },
    Val {
        val: u8,
        len: usize,
    },
}

impl Op {
    fn len(self) -> usize {
        match self {
            Op::Zero { len, .. } | Op::Val { len, .. } => len,
        }
    }
    fn bytes(self) -> usize {
        match self {
            Op::Zero { xzero: true, .. } => 2,
            _ => 1,
        }
    }
}

/// The opcode at `s[p]`. An XZERO cut short by the end of the string reads its second
/// byte as 0, as Redis does (its strings end with a NUL), so corrupt values evolve alike.
fn op_at(s: &[u8], p: usize) -> Op {
    let b = s[p];
    if b & 0x80 != 0 {
        Op::Val {
            val: ((b >> 2) & 0x1f) + 1,
            len: (b & 0x03) as usize + 1,
        }
    } else if b & 0x40 != 0 {
        let lo = s.get(p + 1).copied().unwrap_or(0);
        Op::Zero {
            len: ((((b & 0x3f) as usize) << 8) | lo as usize) + 1,
            xzero: true,
        }
    } else {
        Op::Zero {
            len: (b & 0x3f) as usize + 1,
            xzero: false,
        }
    }
}

fn push_zeros(out: &mut Vec<u8>, len: usize) {
    if len > ZERO_MAX_LEN {
        let l = len - 1;
        out.push(0x40 | (l >> 8) as u8);
        out.push((l & 0xff) as u8);
    } else {
        out.push((len - 1) as u8);
    }
}

fn val_byte(val: u8, len: usize) -> u8 {
    0x80 | ((val - 1) << 2) | (len - 1) as u8
}

/// Visit the runs of a sparse body: (first register, run length, value). Err if the
/// runs do not cover exactly REGISTERS registers.
fn sparse_runs(body: &[u8], mut f: impl FnMut(usize, usize, u8)) -> Result<(), Corrupt> {
    let mut idx = 0usize;
    let mut p = 0usize;
    while p < body.len() {
        let op = op_at(body, p);
        if idx + op.len() > REGISTERS {
            return Err(Corrupt);
        }
        match op {
            Op::Zero { len, .. } => f(idx, len, 0),
            Op::Val { val, len } => f(idx, len, val),
        }
        idx += op.len();
        p += op.bytes();
    }
    if idx == REGISTERS {
        Ok(())
    } else {
        Err(Corrupt)
    }
}

/// The dense form of a sparse HLL (header copied, encoding switched).
pub fn sparse_to_dense(s: &[u8]) -> Result<Vec<u8>, Corrupt> {
    let mut d = vec![0u8; DENSE_SIZE];
    d[..HDR].copy_from_slice(&s[..HDR]);
    d[4] = DENSE;
    let regs = &mut d[HDR..];
    sparse_runs(&s[HDR..], |first, len, val| {
        if val > 0 {
            for i in first..first + len {
                dense_put(regs, i, val);
            }
        }
    })?;
    Ok(d)
}

/// Make `s` dense if it is sparse.
pub fn to_dense(s: &mut Vec<u8>) -> Result<(), Corrupt> {
    if s[4] == SPARSE {
        *s = sparse_to_dense(s)?;
    }
    Ok(())
}

/// Raise register `index` of a sparse HLL to `count`, editing the opcodes as Redis does
/// (split the covering opcode, then merge equal neighbouring VALs) so the bytes match.
/// Promotes to dense when the value does not fit a VAL or the string would grow past
/// `max_bytes`. Returns whether a register changed.
fn sparse_set(s: &mut Vec<u8>, index: usize, count: u8, max_bytes: usize) -> Result<bool, Corrupt> {
    if count > VAL_MAX_VALUE {
        return promote_and_set(s, index, count);
    }
    // Find the opcode covering `index`, and the one before it.
    let mut p = HDR;
    let mut prev: Option<usize> = None;
    let mut first = 0usize;
    let mut found = None;
    while p < s.len() {
        let op = op_at(s, p);
        if index < first + op.len() {
            found = Some(op);
            break;
        }
        prev = Some(p);
        p += op.bytes();
        first += op.len();
    }
    let Some(op) = found else {
        return Err(Corrupt);
    };
    match op {
        Op::Val { val, .. } if val >= count => return Ok(false),
        Op::Val { len: 1, .. }
        | Op::Zero {
            len: 1,
            xzero: false,
        } => {
            s[p] = val_byte(count, 1);
            merge_vals(s, prev.unwrap_or(HDR));
            return Ok(true);
        }
        _ => {}
    }
    let last = first + op.len() - 1;
    let mut seq: Vec<u8> = Vec::with_capacity(5);
    match op {
        Op::Zero { .. } => {
            if index != first {
                push_zeros(&mut seq, index - first);
            }
            seq.push(val_byte(count, 1));
            if index != last {
                push_zeros(&mut seq, last - index);
            }
        }
        Op::Val { val, .. } => {
            if index != first {
                seq.push(val_byte(val, index - first));
            }
            seq.push(val_byte(count, 1));
            if index != last {
                seq.push(val_byte(val, last - index));
            }
        }
    }
    let old = op.bytes();
    if seq.len() > old && s.len() + seq.len() - old > max_bytes {
        return promote_and_set(s, index, count);
    }
    // The string grows by the size difference; an opcode cut short at the end loses
    // what does not fit, exactly as in Redis.
    let new_len = s.len() + seq.len() - old;
    let tail = (p + old).min(s.len());
    s.splice(p..tail, seq);
    s.truncate(new_len);
    merge_vals(s, prev.unwrap_or(HDR));
    Ok(true)
}

fn promote_and_set(s: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupt> {
    to_dense(s)?;
    Ok(dense_set(&mut s[HDR..], index, count))
}

/// Merge adjacent VAL opcodes of equal value whose runs fit one opcode, looking at up
/// to five opcodes from `p` (Redis's window, which decides the exact bytes).
fn merge_vals(s: &mut Vec<u8>, mut p: usize) {
    let mut budget = 5;
    while p < s.len() && budget > 0 {
        budget -= 1;
        let b = s[p];
        if b & 0xc0 == 0x40 {
            p += 2;
            continue;
        }
        if b & 0xc0 == 0 {
            p += 1;
            continue;
        }
        if p + 1 < s.len() && s[p + 1] & 0x80 != 0 {
            let (v1, l1) = (((b >> 2) & 0x1f) + 1, (b & 3) as usize + 1);
            let n = s[p + 1];
            let (v2, l2) = (((n >> 2) & 0x1f) + 1, (n & 3) as usize + 1);
            if v1 == v2 && l1 + l2 <= VAL_MAX_LEN {
                s[p + 1] = val_byte(v1, l1 + l2);
                s.remove(p);
                continue;
            }
        }
        p += 1;
    }
}

/// Add one element; Ok(true) if a register changed.
pub fn add(s: &mut Vec<u8>, ele: &[u8], max_bytes: usize) -> Result<bool, Corrupt> {
    let (index, count) = pattern(ele);
    set_register(s, index, count, max_bytes)
}

/// Raise one register in whichever encoding `s` has.
pub fn set_register(
    s: &mut Vec<u8>,
    index: usize,
    count: u8,
    max_bytes: usize,
) -> Result<bool, Corrupt> {
    match s[4] {
        DENSE => Ok(dense_set(&mut s[HDR..], index, count)),
        SPARSE => sparse_set(s, index, count, max_bytes),
        _ => Err(Corrupt),
    }
}

/// Fold the registers of `s` into `max` (register-wise maximum).
pub fn merge_into(max: &mut [u8; REGISTERS], s: &[u8]) -> Result<(), Corrupt> {
    match s[4] {
        DENSE => {
            let regs = &s[HDR..];
            for (i, m) in max.iter_mut().enumerate() {
                let v = dense_get(regs, i);
                if v > *m {
                    *m = v;
                }
            }
            Ok(())
        }
        SPARSE => sparse_runs(&s[HDR..], |first, len, val| {
            for m in &mut max[first..first + len] {
                if val > *m {
                    *m = val;
                }
            }
        }),
        _ => Err(Corrupt),
    }
}

/// How many registers hold each value.
fn histogram(s: &[u8]) -> Result<[u32; 64], Corrupt> {
    let mut h = [0u32; 64];
    match s[4] {
        DENSE => {
            let regs = &s[HDR..];
            for i in 0..REGISTERS {
                h[dense_get(regs, i) as usize] += 1;
            }
        }
        SPARSE => sparse_runs(&s[HDR..], |_, len, val| h[val as usize] += len as u32)?,
        _ => return Err(Corrupt),
    }
    Ok(h)
}

fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let prev = z;
        z += x * y;
        y += y;
        if prev == z {
            return z;
        }
    }
}

fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let prev = z;
        y *= 0.5;
        z -= (1.0 - x).powi(2) * y;
        if prev == z {
            return z / 3.0;
        }
    }
}

/// Ertl's improved raw estimator over the register histogram (the one Redis 7 uses).
fn estimate(h: &[u32; 64]) -> u64 {
    let m = REGISTERS as f64;
    let mut z = m * tau((m - h[Q + 1] as f64) / m);
    for j in (1..=Q).rev() {
        z += h[j] as f64;
        z *= 0.5;
    }
    z += m * sigma(h[0] as f64 / m);
    (ALPHA_INF * m * m / z).round() as u64
}

/// The estimated cardinality of one HLL (ignores the cache).
pub fn count(s: &[u8]) -> Result<u64, Corrupt> {
    Ok(estimate(&histogram(s)?))
}

/// The estimated cardinality of a union of registers.
pub fn count_raw(max: &[u8; REGISTERS]) -> u64 {
    let mut h = [0u32; 64];
    for &v in max.iter() {
        h[(v & 63) as usize] += 1;
    }
    estimate(&h)
}

/// PFDEBUG DECODE text of a sparse HLL: `z:N` ZERO, `Z:N` XZERO, `v:VAL,N` VAL.
pub fn decode_sparse(s: &[u8]) -> Result<String, Corrupt> {
    let mut out = Vec::new();
    let mut p = HDR;
    while p < s.len() {
        let op = op_at(s, p);
        out.push(match op {
            Op::Zero { len, xzero: false } => format!("z:{len}"),
            Op::Zero { len, xzero: true } => format!("Z:{len}"),
            Op::Val { val, len } => format!("v:{val},{len}"),
        });
        p += op.bytes();
    }
    Ok(out.join(" "))
}

/// PFSELFTEST: register packing round-trips, and sparse and dense estimates agree and
/// stay within five standard errors of the true count.
pub fn selftest() -> Result<(), String> {
    let mut regs = vec![0u8; DENSE_SIZE - HDR];
    let mut want = vec![0u8; REGISTERS];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for round in 0..4 {
        for (i, w) in want.iter_mut().enumerate() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *w = ((x >> 11) as u8 ^ round) & REG_MAX;
            dense_put(&mut regs, i, *w);
        }
        for (i, &w) in want.iter().enumerate() {
            if dense_get(&regs, i) != w {
                return Err(format!("TESTFAILED Register error at {i}"));
            }
        }
    }
    let mut sparse = new_sparse();
    let mut dense = new_sparse();
    to_dense(&mut dense).map_err(|_| "TESTFAILED dense conversion".to_string())?;
    let relerr = 1.04 / (REGISTERS as f64).sqrt();
    let mut n: u64 = 0;
    let mut check = 1u64;
    while n < 100_000 {
        n += 1;
        let e = n.to_le_bytes();
        let r1 = add(&mut sparse, &e, usize::MAX);
        let r2 = add(&mut dense, &e, usize::MAX);
        if r1.is_err() || r2.is_err() {
            return Err("TESTFAILED corrupted HLL while adding".into());
        }
        if n == check {
            check = check * 3 / 2 + 1;
            let (a, b) = (count(&sparse), count(&dense));
            let (Ok(a), Ok(b)) = (a, b) else {
                return Err("TESTFAILED corrupted HLL while counting".into());
            };
            if a != b {
                return Err(format!("TESTFAILED Sparse {a} and dense {b} differ at {n}"));
            }
            let maxerr = if n <= 500 { relerr * 4.0 } else { relerr * 5.0 };
            let err = (a as f64 - n as f64).abs() / n as f64;
            if err > maxerr {
                return Err(format!("TESTFAILED Too big error. card:{n} abserr:{err}"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "hll_tests.rs"]
mod tests;
