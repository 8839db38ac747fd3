//! Pure functions behind the string/bitmap commands, with redis-server 7.0's
//! exact semantics and error texts: GETBIT, SETBIT, BITCOUNT, BITPOS, BITOP,
//! BITFIELD / BITFIELD_RO, GETRANGE, SETRANGE; LCS (in `lcs.rs`) and the
//! number rules for INCR*/INCRBYFLOAT (in `numbers.rs`) are submodules of
//! this one and re-exported here.
//!
//! Nothing here touches the keyspace: the caller looks keys up, answers
//! WRONGTYPE and stores results. Where Redis parses arguments before looking
//! the key up, a separate parse function is offered so that errors come out
//! in the same order.

#[path = "lcs.rs"]
pub mod lcs;
#[path = "numbers.rs"]
pub mod numbers;

use bytes::Bytes;

use crate::error::{CmdError, CmdResult};
use crate::protocol::reply::Reply;

pub use lcs::{lcs, LCS_WRONGTYPE};
pub use numbers::{
    format_incrbyfloat, incrbyfloat, parse_f64, parse_i64, string2d, string2ll, LongDouble,
};

/// Redis's default `proto-max-bulk-len` (512MB): the largest string.
pub const DEFAULT_PROTO_MAX_BULK_LEN: u64 = 512 * 1024 * 1024;

const BIT_OFFSET_ERR: &str = "bit offset is not an integer or out of range";

fn bit_offset_err() -> CmdError {
    CmdError::err(BIT_OFFSET_ERR)
}

// ---------------------------------------------------------------------------
// GETBIT / SETBIT

/// A SETBIT/GETBIT offset: an integer in `0..512MB*8` (max 4294967295).
pub fn parse_bit_offset(arg: &[u8]) -> CmdResult<u64> {
    parse_bit_offset_ext(arg, None, DEFAULT_PROTO_MAX_BULK_LEN)
}

/// Redis's `getBitOffsetFromArgument`: with `hash_bits = Some(bits)` (BITFIELD)
/// the `#N` form means `N * bits`. Offsets whose byte is at or beyond
/// `max_bulk_len` (the `proto-max-bulk-len` setting) are rejected.
pub fn parse_bit_offset_ext(
    arg: &[u8],
    hash_bits: Option<u32>,
    max_bulk_len: u64,
) -> CmdResult<u64> {
    let (digits, mul) = match (arg.first(), hash_bits) {
        (Some(b'#'), Some(bits)) if bits > 0 => (&arg[1..], i64::from(bits)),
        _ => (arg, 1),
    };
    let v = string2ll(digits).ok_or_else(bit_offset_err)?;
    let v = v.checked_mul(mul).ok_or_else(bit_offset_err)?;
    if v < 0 || (v as u64 >> 3) >= max_bulk_len {
        return Err(bit_offset_err());
    }
    Ok(v as u64)
}

/// The SETBIT value: `0` or `1`, else `ERR bit is not an integer or out of range`.
pub fn parse_setbit_value(arg: &[u8]) -> CmdResult<bool> {
    match string2ll(arg) {
        Some(0) => Ok(false),
        Some(1) => Ok(true),
        _ => Err(CmdError::err("bit is not an integer or out of range")),
    }
}

/// The bit at `offset` (bit 0 is the most significant bit of byte 0); 0 past the end.
pub fn getbit(v: &[u8], offset: u64) -> u8 {
    let byte = usize::try_from(offset >> 3).unwrap_or(usize::MAX);
    match v.get(byte) {
        Some(b) => (b >> (7 - (offset & 7))) & 1,
        None => 0,
    }
}

/// Set or clear the bit at `offset`, growing `v` with zero bytes as needed
/// (Redis grows the string even when clearing). Returns the old bit.
pub fn setbit(v: &mut Vec<u8>, offset: u64, on: bool) -> u8 {
    let byte = (offset >> 3) as usize;
    if v.len() <= byte {
        v.resize(byte + 1, 0);
    }
    let mask = 1u8 << (7 - (offset & 7));
    let old = u8::from(v[byte] & mask != 0);
    if on {
        v[byte] |= mask;
    } else {
        v[byte] &= !mask;
    }
    old
}

// ---------------------------------------------------------------------------
// BITCOUNT / BITPOS

/// Parse BYTE|BIT (case-insensitive); `true` for BIT. Syntax error otherwise.
fn parse_unit(arg: &[u8]) -> CmdResult<bool> {
    if arg.eq_ignore_ascii_case(b"bit") {
        Ok(true)
    } else if arg.eq_ignore_ascii_case(b"byte") {
        Ok(false)
    } else {
        Err(CmdError::Syntax)
    }
}

/// Resolve a Redis start/end pair (negative = from the end) against a length
/// `totlen` in the chosen unit: clamp as Redis does. Returns `None` for an
/// empty range.
fn resolve_range(mut start: i64, mut end: i64, totlen: i64) -> Option<(u64, u64)> {
    if start < 0 {
        start = start.saturating_add(totlen);
    }
    if end < 0 {
        end = end.saturating_add(totlen);
    }
    start = start.max(0);
    end = end.max(0);
    if end >= totlen {
        end = totlen - 1;
    }
    if start > end {
        None
    } else {
        Some((start as u64, end as u64))
    }
}

/// Count set bits in bit positions `sbit..=ebit` (MSB-first numbering).
fn count_bits(v: &[u8], sbit: u64, ebit: u64) -> i64 {
    let (sb, eb) = ((sbit >> 3) as usize, (ebit >> 3) as usize);
    let head = 0xffu8 >> (sbit & 7);
    let tail = 0xffu8 << (7 - (ebit & 7));
    if sb == eb {
        return i64::from((v[sb] & head & tail).count_ones());
    }
    let mut n = u64::from((v[sb] & head).count_ones()) + u64::from((v[eb] & tail).count_ones());
    let mid = &v[sb + 1..eb];
    let mut chunks = mid.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        n += u64::from(u64::from_ne_bytes(w).count_ones());
    }
    n += chunks
        .remainder()
        .iter()
        .map(|b| u64::from(b.count_ones()))
        .sum::<u64>();
    n as i64
}

/// BITCOUNT. `v` is the value (`None`: missing key, which answers 0 before
/// any argument is checked, as in 7.0); `args` follow the key:
/// `[start end [BYTE|BIT]]`.
pub fn bitcount(v: Option<&[u8]>, args: &[Bytes]) -> CmdResult<i64> {
    let Some(v) = v else { return Ok(0) };
    let (start, end, isbit) = match args.len() {
        0 => {
            return Ok(if v.is_empty() {
                0
            } else {
                count_bits(v, 0, v.len() as u64 * 8 - 1)
            })
        }
        2 | 3 => {
            let start = parse_i64(&args[0])?;
            let end = parse_i64(&args[1])?;
            if start < 0 && end < 0 && start > end {
                return Ok(0);
            }
            let isbit = match args.get(2) {
                Some(u) => parse_unit(u)?,
                None => false,
            };
            (start, end, isbit)
        }
        _ => return Err(CmdError::Syntax),
    };
    let totlen = v.len() as i64 * if isbit { 8 } else { 1 };
    match resolve_range(start, end, totlen) {
        None => Ok(0),
        Some((s, e)) if isbit => Ok(count_bits(v, s, e)),
        Some((s, e)) => Ok(count_bits(v, s * 8, e * 8 + 7)),
    }
}

/// First position in `sbit..=ebit` holding `bit`.
fn find_bit(v: &[u8], bit: bool, sbit: u64, ebit: u64) -> Option<u64> {
    let skip = if bit { 0x00u8 } else { 0xff };
    let (sb, eb) = ((sbit >> 3) as usize, (ebit >> 3) as usize);
    let mut i = sb;
    while i <= eb {
        // Skip whole uninteresting words in the middle.
        if i > sb && i + 8 <= eb {
            let w = &v[i..i + 8];
            if w.iter().all(|&b| b == skip) {
                i += 8;
                continue;
            }
        }
        let mut b = if bit { v[i] } else { !v[i] };
        if i == sb {
            b &= 0xff >> (sbit & 7);
        }
        if i == eb {
            b &= 0xff << (7 - (ebit & 7));
        }
        if b != 0 {
            return Some(i as u64 * 8 + u64::from(b.leading_zeros()));
        }
        i += 1;
    }
    None
}

/// The BITPOS `bit` argument (the first after the key). Redis checks it
/// before looking the key up, so a caller wanting the exact error order
/// (`BITPOS hashkey 2` answers the bit error, not WRONGTYPE) calls this first.
pub fn parse_bitpos_bit(args: &[Bytes]) -> CmdResult<bool> {
    let Some(first) = args.first() else {
        return Err(CmdError::Syntax);
    };
    match parse_i64(first)? {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(CmdError::err("The bit argument must be 1 or 0.")),
    }
}

/// BITPOS. `v` is the value (`None`: missing key); `args` follow the key:
/// `bit [start [end [BYTE|BIT]]]`. A missing key answers -1 for 1 and 0 for 0
/// once `bit` is valid, without looking at the other arguments (as 7.0).
/// Looking for 0 without an explicit end treats the string as followed by
/// zeros; with an end, a range without a 0 answers -1.
pub fn bitpos(v: Option<&[u8]>, args: &[Bytes]) -> CmdResult<i64> {
    let bit = parse_bitpos_bit(args)?;
    let Some(v) = v else {
        return Ok(if bit { -1 } else { 0 });
    };
    let strlen = v.len() as i64;
    let (start, end, isbit, end_given) = match args.len() {
        1 => (0, strlen - 1, false, false),
        2..=4 => {
            let start = parse_i64(&args[1])?;
            let isbit = match args.get(3) {
                Some(u) => parse_unit(u)?,
                None => false,
            };
            match args.get(2) {
                Some(e) => (start, parse_i64(e)?, isbit, true),
                None => (start, strlen - 1, isbit, false),
            }
        }
        _ => return Err(CmdError::Syntax),
    };
    let totlen = if isbit { strlen * 8 } else { strlen };
    let Some((s, e)) = resolve_range(start, end, totlen) else {
        return Ok(-1);
    };
    let (sbit, ebit) = if isbit { (s, e) } else { (s * 8, e * 8 + 7) };
    Ok(match find_bit(v, bit, sbit, ebit) {
        Some(p) => p as i64,
        None if bit || end_given => -1,
        None => ebit as i64 + 1,
    })
}

// ---------------------------------------------------------------------------
// BITOP

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

/// Parse the BITOP operation for `nsrc` source keys (before any key lookup,
/// as Redis): syntax error for unknown ops, and
/// `ERR BITOP NOT must be called with a single source key.`
pub fn parse_bitop(op: &[u8], nsrc: usize) -> CmdResult<BitOp> {
    let op = if op.eq_ignore_ascii_case(b"and") {
        BitOp::And
    } else if op.eq_ignore_ascii_case(b"or") {
        BitOp::Or
    } else if op.eq_ignore_ascii_case(b"xor") {
        BitOp::Xor
    } else if op.eq_ignore_ascii_case(b"not") {
        BitOp::Not
    } else {
        return Err(CmdError::Syntax);
    };
    if op == BitOp::Not && nsrc != 1 {
        return Err(CmdError::err(
            "BITOP NOT must be called with a single source key.",
        ));
    }
    Ok(op)
}

/// Compute a parsed BITOP over the sources (`None` = missing key = empty).
/// Shorter sources count as zero-padded. The result is as long as the longest
/// source; an empty result means the destination is deleted. The reply is
/// the result length.
pub fn bitop_apply(op: BitOp, srcs: &[Option<&[u8]>]) -> Vec<u8> {
    let maxlen = srcs
        .iter()
        .map(|s| s.map_or(0, <[u8]>::len))
        .max()
        .unwrap_or(0);
    let mut out = vec![0u8; maxlen];
    let Some((first, rest)) = srcs.split_first() else {
        return out;
    };
    let first = first.unwrap_or(&[]);
    out[..first.len()].copy_from_slice(first);
    if op == BitOp::Not {
        for b in out.iter_mut() {
            *b = !*b;
        }
        return out;
    }
    for src in rest {
        let src = src.unwrap_or(&[]);
        match op {
            BitOp::And => {
                for (o, s) in out.iter_mut().zip(src) {
                    *o &= s;
                }
                for o in out.iter_mut().skip(src.len()) {
                    *o = 0;
                }
            }
            BitOp::Or => out.iter_mut().zip(src).for_each(|(o, s)| *o |= s),
            BitOp::Xor => out.iter_mut().zip(src).for_each(|(o, s)| *o ^= s),
            BitOp::Not => {}
        }
    }
    out
}

/// `parse_bitop` then `bitop_apply`.
pub fn bitop(op: &[u8], srcs: &[Option<&[u8]>]) -> CmdResult<Vec<u8>> {
    let op = parse_bitop(op, srcs.len())?;
    Ok(bitop_apply(op, srcs))
}

// ---------------------------------------------------------------------------
// BITFIELD

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overflow {
    Wrap,
    Sat,
    Fail,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BitfieldKind {
    Get,
    Set(i64),
    IncrBy(i64),
}

/// One BITFIELD subcommand, with the OVERFLOW mode in force for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BitfieldOp {
    pub kind: BitfieldKind,
    pub signed: bool,
    /// 1..=64 signed, 1..=63 unsigned
    pub bits: u32,
    /// bit offset (the `#N` form already multiplied out)
    pub offset: u64,
    pub overflow: Overflow,
}

const BITFIELD_TYPE_ERR: &str =
    "Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";

/// `i1..i64` / `u1..u63` (lower-case sign letter only, as Redis).
fn parse_bitfield_type(arg: &[u8]) -> CmdResult<(bool, u32)> {
    let err = || CmdError::err(BITFIELD_TYPE_ERR);
    let signed = match arg.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => return Err(err()),
    };
    // Redis reads the width as a C string: it stops at a NUL byte.
    let rest = &arg[1..];
    let rest = &rest[..rest.iter().position(|&c| c == 0).unwrap_or(rest.len())];
    let bits = string2ll(rest).ok_or_else(err)?;
    if bits < 1 || (signed && bits > 64) || (!signed && bits > 63) {
        return Err(err());
    }
    Ok((signed, bits as u32))
}

/// Parse BITFIELD / BITFIELD_RO arguments after the key, with the default
/// `proto-max-bulk-len`. With `readonly` (BITFIELD_RO) any SET/INCRBY gives
/// `ERR BITFIELD_RO only supports the GET subcommand`, after the whole
/// command has been parsed (so parse errors come first, as in Redis).
pub fn parse_bitfield(args: &[Bytes], readonly: bool) -> CmdResult<Vec<BitfieldOp>> {
    parse_bitfield_ext(args, readonly, DEFAULT_PROTO_MAX_BULK_LEN)
}

/// [`parse_bitfield`] with an explicit `proto-max-bulk-len`.
pub fn parse_bitfield_ext(
    args: &[Bytes],
    readonly: bool,
    max_bulk_len: u64,
) -> CmdResult<Vec<BitfieldOp>> {
    let mut ops = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut j = 0;
    while j < args.len() {
        let sub = &args[j][..];
        let remargs = args.len() - j - 1;
        let kind_tag = if sub.eq_ignore_ascii_case(b"get") && remargs >= 2 {
            0
        } else if sub.eq_ignore_ascii_case(b"set") && remargs >= 3 {
            1
        } else if sub.eq_ignore_ascii_case(b"incrby") && remargs >= 3 {
            2
        } else if sub.eq_ignore_ascii_case(b"overflow") && remargs >= 1 {
            let t = &args[j + 1][..];
            overflow = if t.eq_ignore_ascii_case(b"wrap") {
                Overflow::Wrap
            } else if t.eq_ignore_ascii_case(b"sat") {
                Overflow::Sat
            } else if t.eq_ignore_ascii_case(b"fail") {
                Overflow::Fail
            } else {
                return Err(CmdError::err("Invalid OVERFLOW type specified"));
            };
            j += 2;
            continue;
        } else {
            return Err(CmdError::Syntax);
        };
        let (signed, bits) = parse_bitfield_type(&args[j + 1])?;
        let offset = parse_bit_offset_ext(&args[j + 2], Some(bits), max_bulk_len)?;
        let kind = match kind_tag {
            0 => BitfieldKind::Get,
            1 => BitfieldKind::Set(parse_i64(&args[j + 3])?),
            _ => BitfieldKind::IncrBy(parse_i64(&args[j + 3])?),
        };
        ops.push(BitfieldOp {
            kind,
            signed,
            bits,
            offset,
            overflow,
        });
        j += if kind_tag == 0 { 3 } else { 4 };
    }
    if readonly && bitfield_has_writes(&ops) {
        return Err(CmdError::err(
            "BITFIELD_RO only supports the GET subcommand",
        ));
    }
    Ok(ops)
}

/// Whether any op is SET or INCRBY. If so the caller looks the key up for
/// writing (creating it) and stores `v` after [`apply_bitfield`]; if not, a
/// missing key is read as empty and nothing is stored.
pub fn bitfield_has_writes(ops: &[BitfieldOp]) -> bool {
    ops.iter().any(|o| o.kind != BitfieldKind::Get)
}

/// Read `bits` bits at `offset` as an unsigned number (zeros past the end).
fn get_bits(v: &[u8], offset: u64, bits: u32) -> u64 {
    let byte = usize::try_from(offset >> 3).unwrap_or(usize::MAX);
    let shift = (offset & 7) as u32;
    let mut w: u128 = 0;
    for i in 0..9 {
        let b = byte
            .checked_add(i)
            .and_then(|k| v.get(k))
            .copied()
            .unwrap_or(0);
        w = (w << 8) | u128::from(b);
    }
    let mask = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    ((w >> (72 - shift - bits)) as u64) & mask
}

/// Write the low `bits` bits of `value` at `offset`; bytes past the end of
/// `v` are not written (the caller grows `v` first).
fn set_bits(v: &mut [u8], offset: u64, bits: u32, value: u64) {
    let byte = usize::try_from(offset >> 3).unwrap_or(usize::MAX);
    let shift = (offset & 7) as u32;
    let mask = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let pos = 72 - shift - bits;
    let m = u128::from(mask) << pos;
    let val = u128::from(value & mask) << pos;
    for i in 0..9usize {
        let Some(b) = byte.checked_add(i).and_then(|k| v.get_mut(k)) else {
            break;
        };
        let sh = (8 - i) * 8;
        let bm = (m >> sh) as u8;
        *b = (*b & !bm) | ((val >> sh) as u8 & bm);
    }
}

fn get_signed(v: &[u8], offset: u64, bits: u32) -> i64 {
    let u = get_bits(v, offset, bits);
    if bits < 64 && u >> (bits - 1) & 1 == 1 {
        (u | (u64::MAX << bits)) as i64
    } else {
        u as i64
    }
}

/// Redis's `checkUnsignedBitfieldOverflow`: (0 | 1 | -1, value to use on overflow).
fn unsigned_overflow(value: u64, incr: i64, bits: u32, ow: Overflow) -> (i32, u64) {
    let max = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let maxincr = max.wrapping_sub(value) as i64;
    let minincr = value.wrapping_neg() as i64;
    let wrap = || value.wrapping_add(incr as u64) & !(u64::MAX.checked_shl(bits).unwrap_or(0));
    if value > max || (incr > 0 && incr > maxincr) {
        (1, if ow == Overflow::Wrap { wrap() } else { max })
    } else if incr < 0 && incr < minincr {
        (-1, if ow == Overflow::Wrap { wrap() } else { 0 })
    } else {
        (0, 0)
    }
}

/// Redis's `checkSignedBitfieldOverflow`, including its wrap-around quirks.
fn signed_overflow(value: i64, incr: i64, bits: u32, ow: Overflow) -> (i32, i64) {
    let max = if bits == 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    };
    let min = -max - 1;
    let maxincr = (max as u64).wrapping_sub(value as u64) as i64;
    let minincr = min.wrapping_sub(value);
    let wrap = || {
        let mut c = (value as u64).wrapping_add(incr as u64);
        if bits < 64 {
            let mask = u64::MAX << bits;
            if c & (1u64 << (bits - 1)) != 0 {
                c |= mask;
            } else {
                c &= !mask;
            }
        }
        c as i64
    };
    if value > max || (bits != 64 && incr > maxincr) || (value >= 0 && incr > 0 && incr > maxincr) {
        (1, if ow == Overflow::Wrap { wrap() } else { max })
    } else if value < min
        || (bits != 64 && incr < minincr)
        || (value < 0 && incr < 0 && incr < minincr)
    {
        (-1, if ow == Overflow::Wrap { wrap() } else { min })
    } else {
        (0, 0)
    }
}

/// Run parsed BITFIELD ops on `v` (empty for a missing key). If any op
/// writes, `v` is first grown (zero-filled) to cover the highest written bit,
/// even if an OVERFLOW FAIL then skips the write: Redis creates/grows the key
/// in that case too, so the caller stores `v` whenever
/// [`bitfield_has_writes`]. Returns one reply per op (integer, or nil for a
/// FAIL overflow) and whether any write happened (Redis then signals the key,
/// fires the `setbit` event and counts the changes as dirty).
pub fn apply_bitfield(v: &mut Vec<u8>, ops: &[BitfieldOp]) -> (Vec<Reply>, bool) {
    let highest = ops
        .iter()
        .filter(|o| o.kind != BitfieldKind::Get)
        .map(|o| o.offset + u64::from(o.bits) - 1)
        .max();
    if let Some(h) = highest {
        let need = (h >> 3) as usize + 1;
        if v.len() < need {
            v.resize(need, 0);
        }
    }
    let mut replies = Vec::with_capacity(ops.len());
    let mut changed = false;
    for op in ops {
        let (reply, write) = if op.signed {
            let old = get_signed(v, op.offset, op.bits);
            match op.kind {
                BitfieldKind::Get => (Reply::Int(old), None),
                BitfieldKind::IncrBy(incr) => {
                    let (of, wrapped) = signed_overflow(old, incr, op.bits, op.overflow);
                    let new = if of != 0 {
                        wrapped
                    } else {
                        old.wrapping_add(incr)
                    };
                    (Reply::Int(new), Some((of, new as u64)))
                }
                BitfieldKind::Set(val) => {
                    let (of, wrapped) = signed_overflow(val, 0, op.bits, op.overflow);
                    (
                        Reply::Int(old),
                        Some((of, if of != 0 { wrapped } else { val } as u64)),
                    )
                }
            }
        } else {
            let old = get_bits(v, op.offset, op.bits);
            match op.kind {
                BitfieldKind::Get => (Reply::Int(old as i64), None),
                BitfieldKind::IncrBy(incr) => {
                    let (of, wrapped) = unsigned_overflow(old, incr, op.bits, op.overflow);
                    let new = if of != 0 {
                        wrapped
                    } else {
                        old.wrapping_add(incr as u64)
                    };
                    (Reply::Int(new as i64), Some((of, new)))
                }
                BitfieldKind::Set(val) => {
                    let (of, wrapped) = unsigned_overflow(val as u64, 0, op.bits, op.overflow);
                    (
                        Reply::Int(old as i64),
                        Some((of, if of != 0 { wrapped } else { val as u64 })),
                    )
                }
            }
        };
        match write {
            Some((of, _)) if of != 0 && op.overflow == Overflow::Fail => replies.push(Reply::Nil),
            Some((_, new)) => {
                set_bits(v, op.offset, op.bits, new);
                changed = true;
                replies.push(reply);
            }
            None => replies.push(reply),
        }
    }
    (replies, changed)
}

// ---------------------------------------------------------------------------
// GETRANGE / SETRANGE

/// GETRANGE on a value (a missing key is the empty string): inclusive
/// `start..=end`, negatives from the end, clamped as Redis does.
pub fn getrange(v: &[u8], start: i64, end: i64) -> &[u8] {
    if start < 0 && end < 0 && start > end {
        return &[];
    }
    match resolve_range(start, end, v.len() as i64) {
        Some((s, e)) => &v[s as usize..=e as usize],
        None => &[],
    }
}

/// The SETRANGE offset: an integer (`ERR value is not an integer or out of
/// range`) that is not negative (`ERR offset is out of range`).
pub fn parse_setrange_offset(arg: &[u8]) -> CmdResult<usize> {
    let v = parse_i64(arg)?;
    usize::try_from(v).map_err(|_| CmdError::err("offset is out of range"))
}

/// Redis's `checkStringLength` for SETRANGE/APPEND: `offset + append` may
/// not exceed `max_bulk_len`. Redis checks it only when the value to write
/// is non-empty (an empty SETRANGE just answers the current length).
pub fn check_string_length(offset: usize, append: usize, max_bulk_len: u64) -> CmdResult<()> {
    match (offset as u64).checked_add(append as u64) {
        Some(total) if total <= max_bulk_len => Ok(()),
        _ => Err(CmdError::err(
            "string exceeds maximum allowed size (proto-max-bulk-len)",
        )),
    }
}

/// Overwrite `v` at `offset` with `data`, zero-padding up to `offset` first.
/// The caller has done the length checks.
pub fn setrange(v: &mut Vec<u8>, offset: usize, data: &[u8]) {
    if data.is_empty() {
        return;
    }
    let end = offset + data.len();
    if v.len() < end {
        v.resize(end, 0);
    }
    v[offset..end].copy_from_slice(data);
}

#[cfg(test)]
#[path = "bitops_tests.rs"]
mod tests;
