//! Unit tests for bitops.rs. Expected values were checked against
//! redis-server 7.0.15 (and the functions were also fuzzed against it).

use super::*;

fn args(s: &str) -> Vec<Bytes> {
    s.split_whitespace()
        .map(|a| Bytes::copy_from_slice(a.as_bytes()))
        .collect()
}

fn msg<T: std::fmt::Debug>(r: CmdResult<T>) -> String {
    r.unwrap_err().to_string()
}

const OFFSET_ERR: &str = "ERR bit offset is not an integer or out of range";
const TYPE_ERR: &str =
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";

#[test]
fn bit_offsets() {
    assert_eq!(parse_bit_offset(b"0"), Ok(0));
    assert_eq!(parse_bit_offset(b"4294967295"), Ok(4_294_967_295));
    for bad in [&b"4294967296"[..], b"-1", b"x", b"", b"+1", b"01", b"#1"] {
        assert_eq!(msg(parse_bit_offset(bad)), OFFSET_ERR, "{bad:?}");
    }
    assert_eq!(
        parse_bit_offset_ext(b"#3", Some(8), DEFAULT_PROTO_MAX_BULK_LEN),
        Ok(24)
    );
    assert_eq!(
        parse_bit_offset_ext(b"#0", Some(64), DEFAULT_PROTO_MAX_BULK_LEN),
        Ok(0)
    );
    assert!(parse_bit_offset_ext(b"#-1", Some(8), DEFAULT_PROTO_MAX_BULK_LEN).is_err());
    assert!(
        parse_bit_offset_ext(b"#9223372036854775807", Some(8), DEFAULT_PROTO_MAX_BULK_LEN).is_err()
    );
    assert!(parse_bit_offset_ext(b"#536870912", Some(8), DEFAULT_PROTO_MAX_BULK_LEN).is_err());
    assert!(parse_bit_offset_ext(b"800", None, 100).is_err());
    assert_eq!(parse_bit_offset_ext(b"799", None, 100), Ok(799));
}

#[test]
fn getbit_setbit() {
    let mut v = Vec::new();
    assert_eq!(setbit(&mut v, 7, true), 0);
    assert_eq!(v, b"\x01");
    assert_eq!(setbit(&mut v, 7, true), 1);
    assert_eq!(getbit(&v, 7), 1);
    assert_eq!(getbit(&v, 6), 0);
    assert_eq!(getbit(&v, 4_294_967_295), 0);
    assert_eq!(getbit(&[], 0), 0);
    // Clearing a far bit still grows the string (as Redis).
    assert_eq!(setbit(&mut v, 100, false), 0);
    assert_eq!(v.len(), 13);
    assert_eq!(setbit(&mut v, 0, true), 0);
    assert_eq!(v[0], 0x81);
    assert_eq!(setbit(&mut v, 0, false), 1);
    assert_eq!(parse_setbit_value(b"1"), Ok(true));
    assert_eq!(parse_setbit_value(b"0"), Ok(false));
    for bad in [&b"2"[..], b"-1", b"x", b"01", b""] {
        assert_eq!(
            msg(parse_setbit_value(bad)),
            "ERR bit is not an integer or out of range"
        );
    }
}

#[test]
fn bitcount_cases() {
    let v = Some(&b"foobar"[..]);
    let bc = |a: &str| bitcount(v, &args(a));
    assert_eq!(bc(""), Ok(26));
    assert_eq!(bc("1 1"), Ok(6));
    assert_eq!(bc("-1 -2"), Ok(0));
    assert_eq!(bc("-1 -2 foo"), Ok(0)); // the empty-range shortcut comes before the unit check
    assert_eq!(bc("0 -1 foo"), Err(CmdError::Syntax));
    assert_eq!(bc("5 30 BIT"), Ok(17));
    assert_eq!(bc("5 30 bit"), Ok(17));
    assert_eq!(bc("0 -1 byte"), Ok(26));
    assert_eq!(bc("0"), Err(CmdError::Syntax));
    assert_eq!(bc("0 1 2"), Err(CmdError::Syntax));
    assert_eq!(bc("0 1 bit x"), Err(CmdError::Syntax));
    assert_eq!(bc("a b"), Err(CmdError::NotInteger));
    assert_eq!(bc("0 b"), Err(CmdError::NotInteger));
    assert_eq!(bc("-100 -50"), Ok(4)); // both clamp to byte 0
    assert_eq!(bc("-100 -50 bit"), Ok(0));
    assert_eq!(bc("1 0"), Ok(0));
    assert_eq!(bc("7 7 bit"), Ok(0));
    assert_eq!(bc("1 1 bit"), Ok(1));
    assert_eq!(bc("100 200"), Ok(0));
    assert_eq!(bc("-9223372036854775808 9223372036854775807"), Ok(26));
    // Missing key: 0 before any argument is looked at (7.0).
    assert_eq!(bitcount(None, &args("a b")), Ok(0));
    assert_eq!(bitcount(None, &args("0 1 foo")), Ok(0));
    assert_eq!(bitcount(Some(b""), &args("")), Ok(0));
    assert_eq!(bitcount(Some(b""), &args("0 -1")), Ok(0));
    let long = vec![0xffu8; 1000];
    assert_eq!(bitcount(Some(&long), &args("")), Ok(8000));
    assert_eq!(bitcount(Some(&long), &args("3 7998 bit")), Ok(7996));
}

#[test]
fn bitpos_cases() {
    let ones = Some(&b"\xff\xff\xff"[..]);
    let p = Some(&b"\xff\xf0"[..]);
    let foobar = Some(&b"foobar"[..]);
    let bp = |v: Option<&[u8]>, a: &str| bitpos(v, &args(a));
    assert_eq!(bp(None, "1"), Ok(-1));
    assert_eq!(bp(None, "0"), Ok(0));
    assert_eq!(bp(None, "0 a"), Ok(0));
    assert_eq!(bp(None, "1 0 1 bit extra"), Ok(-1));
    assert_eq!(msg(bp(None, "2")), "ERR The bit argument must be 1 or 0.");
    assert_eq!(
        msg(bp(foobar, "-1")),
        "ERR The bit argument must be 1 or 0."
    );
    assert_eq!(bp(None, "x"), Err(CmdError::NotInteger));
    assert_eq!(parse_bitpos_bit(&args("1 x")), Ok(true));
    assert_eq!(parse_bitpos_bit(&args("0")), Ok(false));
    assert_eq!(
        msg(parse_bitpos_bit(&args("3"))),
        "ERR The bit argument must be 1 or 0."
    );
    assert_eq!(parse_bitpos_bit(&args("")), Err(CmdError::Syntax));
    assert_eq!(bp(foobar, "1 a"), Err(CmdError::NotInteger));
    assert_eq!(bp(foobar, "1 0 a bit"), Err(CmdError::NotInteger));
    assert_eq!(bp(foobar, "1 0 1 bit extra"), Err(CmdError::Syntax));
    assert_eq!(bp(foobar, "1 0 1 foo"), Err(CmdError::Syntax));
    assert_eq!(bp(foobar, "1 0 x foo"), Err(CmdError::Syntax)); // unit checked before end
    assert_eq!(bp(foobar, ""), Err(CmdError::Syntax));
    // 0 in an all-ones string: past the end without an explicit end, else -1.
    assert_eq!(bp(ones, "0"), Ok(24));
    assert_eq!(bp(ones, "0 0"), Ok(24));
    assert_eq!(bp(ones, "0 1"), Ok(24));
    assert_eq!(bp(ones, "0 -1"), Ok(24));
    assert_eq!(bp(ones, "0 0 -1"), Ok(-1));
    assert_eq!(bp(ones, "0 0 100"), Ok(-1));
    assert_eq!(bp(ones, "0 2 1"), Ok(-1));
    assert_eq!(bp(ones, "0 3"), Ok(-1));
    assert_eq!(bp(ones, "0 0 23 bit"), Ok(-1));
    assert_eq!(bp(ones, "0 5 -1 bit"), Ok(-1));
    assert_eq!(bp(ones, "0 5 bit"), Err(CmdError::NotInteger)); // "bit" read as the end
    assert_eq!(bp(p, "0"), Ok(12));
    assert_eq!(bp(p, "1 2"), Ok(-1));
    assert_eq!(bp(p, "1 2 -1 byte"), Ok(-1));
    assert_eq!(bp(p, "1 7 15 bit"), Ok(7));
    assert_eq!(bp(p, "0 0 -1"), Ok(12));
    assert_eq!(bp(p, "0 12 -1 bit"), Ok(12));
    assert_eq!(bp(p, "0 12 15 bit"), Ok(12));
    assert_eq!(bp(foobar, "1 -3 -1 bit"), Ok(46));
    assert_eq!(bp(foobar, "0 -3 -1 bit"), Ok(45));
    assert_eq!(bp(foobar, "1 -100"), Ok(1));
    assert_eq!(bp(foobar, "0 1 0"), Ok(-1));
    assert_eq!(bp(foobar, "1 0 1 bit"), Ok(1));
    assert_eq!(bp(Some(b""), "0"), Ok(-1));
    assert_eq!(bp(Some(b""), "1"), Ok(-1));
    assert_eq!(bp(Some(b"\x00\x00\x00"), "1"), Ok(-1));
    assert_eq!(bp(Some(b"\x00\x00\x00"), "0 1"), Ok(8));
    let mut long = vec![0u8; 100];
    long[77] = 0x08;
    assert_eq!(bitpos(Some(&long), &args("1")), Ok(77 * 8 + 4));
    assert_eq!(bitpos(Some(&long), &args("1 0 619 bit")), Ok(-1));
    assert_eq!(bitpos(Some(&long), &args("1 0 620 BIT")), Ok(620));
    assert_eq!(bitpos(Some(&long), &args("1 621 -1 bit")), Ok(-1));
    assert_eq!(bitpos(Some(&long), &args("0 0 -1")), Ok(0));
}

#[test]
fn bitop_cases() {
    let s: &[Option<&[u8]>] = &[Some(b"\xf0\x0f\xff"), Some(b"\xff\x00"), None];
    assert_eq!(bitop(b"and", s), Ok(vec![0, 0, 0]));
    assert_eq!(bitop(b"AND", &s[..2]), Ok(vec![0xf0, 0, 0]));
    assert_eq!(bitop(b"or", s), Ok(vec![0xff, 0x0f, 0xff]));
    assert_eq!(bitop(b"Xor", &s[..2]), Ok(vec![0x0f, 0x0f, 0xff]));
    assert_eq!(bitop(b"not", &s[..1]), Ok(vec![0x0f, 0xf0, 0x00]));
    assert_eq!(bitop(b"not", &[None]), Ok(vec![])); // empty: destination deleted
    assert_eq!(bitop(b"and", &[None, None]), Ok(vec![]));
    assert_eq!(bitop(b"foo", s), Err(CmdError::Syntax));
    assert_eq!(
        msg(bitop(b"not", &s[..2])),
        "ERR BITOP NOT must be called with a single source key."
    );
    assert_eq!(parse_bitop(b"nand", 1), Err(CmdError::Syntax));
    assert_eq!(parse_bitop(b"or", 3), Ok(BitOp::Or));
}

fn bf(v: &mut Vec<u8>, a: &str) -> Result<Vec<Reply>, String> {
    let ops = parse_bitfield(&args(a), false).map_err(|e| e.to_string())?;
    Ok(apply_bitfield(v, &ops).0)
}

#[test]
fn bitfield_cases() {
    use Reply::{Int, Nil};
    let mut v = Vec::new();
    assert_eq!(
        bf(&mut v, "set i8 0 -100 get u8 0 incrby i8 0 -100 overflow sat incrby i8 0 -100 overflow fail incrby i8 0 -100 get i8 0"),
        Ok(vec![Int(0), Int(156), Int(56), Int(-44), Nil, Int(-44)])
    );
    assert_eq!(
        bf(
            &mut v,
            "overflow sat set u8 8 -1 set i8 16 200 get u8 8 get i8 16"
        ),
        Ok(vec![Int(0), Int(0), Int(255), Int(127)])
    );
    let mut v = Vec::new();
    assert_eq!(
        bf(&mut v, "set i64 #2 -1 get u63 128 get i64 128"),
        Ok(vec![Int(0), Int(i64::MAX), Int(-1)])
    );
    assert_eq!(v.len(), 24);
    // FAIL still creates/grows the string, but reports no change.
    let mut v = Vec::new();
    let ops = parse_bitfield(&args("overflow fail incrby u2 100 10"), false).unwrap();
    assert_eq!(apply_bitfield(&mut v, &ops), (vec![Nil], false));
    assert_eq!(v.len(), 13);
    // Redis quirks kept: SAT of i64::MIN into i8 gives +127; negative into u8 gives 255.
    let mut v = Vec::new();
    assert_eq!(
        bf(
            &mut v,
            "overflow sat set i8 0 -9223372036854775808 get i8 0"
        ),
        Ok(vec![Int(0), Int(127)])
    );
    assert_eq!(
        bf(&mut v, "overflow sat set u8 0 -5 get u8 0"),
        Ok(vec![Int(127), Int(255)])
    );
    assert_eq!(
        bf(&mut v, "overflow wrap set i8 0 200 get i8 0"),
        Ok(vec![Int(-1), Int(-56)])
    );
    let mut v = Vec::new();
    assert_eq!(
        bf(&mut v, "incrby u2 0 1 incrby u2 0 1 incrby u2 0 1 incrby u2 0 1 overflow sat incrby u2 0 9 incrby u2 0 -9"),
        Ok(vec![Int(1), Int(2), Int(3), Int(0), Int(3), Int(0)])
    );
    assert_eq!(
        bf(&mut v, "incrby i64 0 9223372036854775807 incrby i64 0 1 overflow sat incrby i64 0 9223372036854775807"),
        Ok(vec![Int(i64::MAX), Int(i64::MIN), Int(-1)])
    );
    // Unaligned fields across byte boundaries.
    let mut v = Vec::new();
    assert_eq!(
        bf(&mut v, "set u13 5 8191 get u8 0 get u8 8 get u8 16"),
        Ok(vec![Int(0), Int(7), Int(255), Int(192)])
    );
    // Read-only paths.
    let ops = parse_bitfield(&args("overflow sat get i8 0"), true).unwrap();
    assert!(!bitfield_has_writes(&ops));
    let mut empty = Vec::new();
    assert_eq!(apply_bitfield(&mut empty, &ops), (vec![Int(0)], false));
    assert!(empty.is_empty());
    assert_eq!(parse_bitfield(&[], false), Ok(vec![]));
    assert!(bitfield_has_writes(
        &parse_bitfield(&args("get u8 0 set u8 0 1"), false).unwrap()
    ));
    // Errors.
    let err = |a: &str, ro: bool| parse_bitfield(&args(a), ro).unwrap_err().to_string();
    assert_eq!(
        err("set i8 0 1", true),
        "ERR BITFIELD_RO only supports the GET subcommand"
    );
    assert_eq!(
        err("set i8 0 x", true),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        err("overflow foo", false),
        "ERR Invalid OVERFLOW type specified"
    );
    assert_eq!(err("overflow", false), "ERR syntax error");
    assert_eq!(err("get i8", false), "ERR syntax error");
    assert_eq!(err("set i8 0", false), "ERR syntax error");
    assert_eq!(err("foo", false), "ERR syntax error");
    for t in ["u64", "i65", "i0", "I8", "U8", "x8", "u", "i-1", "i08"] {
        assert_eq!(err(&format!("get {t} 0"), false), TYPE_ERR, "{t}");
    }
    assert_eq!(err("get i8 -1", false), OFFSET_ERR);
    assert_eq!(err("get i8 #-1", false), OFFSET_ERR);
    assert_eq!(err("get i8 4294967296", false), OFFSET_ERR);
    assert!(parse_bitfield(&args("get i8 4294967295 get i64 #3"), false).is_ok());
}

#[test]
fn getrange_cases() {
    let s = b"This is a string";
    assert_eq!(getrange(s, 0, 3), b"This");
    assert_eq!(getrange(s, -3, -1), b"ing");
    assert_eq!(getrange(s, 0, -1), s);
    assert_eq!(getrange(s, 10, 100), b"string");
    assert_eq!(getrange(s, -1, -5), b"");
    assert_eq!(getrange(s, 5, 3), b"");
    assert_eq!(getrange(s, -100, 2), b"Thi");
    assert_eq!(getrange(s, -100, -50), b"T"); // both clamp to 0 (Redis quirk)
    assert_eq!(getrange(s, i64::MIN, i64::MAX), s);
    assert_eq!(getrange(b"", 0, -1), b"");
    assert_eq!(getrange(b"", 0, 0), b"");
}

#[test]
fn setrange_cases() {
    let mut v = b"Hello World".to_vec();
    setrange(&mut v, 6, b"Redis");
    assert_eq!(v, b"Hello Redis");
    let mut v = Vec::new();
    setrange(&mut v, 3, b"ab");
    assert_eq!(v, b"\0\0\0ab");
    setrange(&mut v, 1, b"");
    assert_eq!(v, b"\0\0\0ab");
    assert_eq!(parse_setrange_offset(b"5"), Ok(5));
    assert_eq!(
        msg(parse_setrange_offset(b"-1")),
        "ERR offset is out of range"
    );
    assert_eq!(parse_setrange_offset(b"x"), Err(CmdError::NotInteger));
    let big = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";
    assert_eq!(
        msg(check_string_length(
            536_870_911,
            2,
            DEFAULT_PROTO_MAX_BULK_LEN
        )),
        big
    );
    assert_eq!(
        check_string_length(536_870_911, 1, DEFAULT_PROTO_MAX_BULK_LEN),
        Ok(())
    );
    assert_eq!(msg(check_string_length(usize::MAX, 2, u64::MAX)), big);
}

#[test]
fn reexports() {
    assert_eq!(parse_i64(b"12"), Ok(12));
    assert_eq!(parse_f64(b"1.5"), Ok(1.5));
    assert_eq!(format_incrbyfloat(10.6), b"10.6");
    assert_eq!(incrbyfloat(Some(b"10.5"), b"0.1").unwrap(), b"10.6");
    assert_eq!(
        lcs(b"ohmytext", b"mynewtext", &[]),
        Ok(Reply::bulk(&b"mytext"[..]))
    );
    assert_eq!(
        LCS_WRONGTYPE,
        "ERR The specified keys must contain string values"
    );
}
