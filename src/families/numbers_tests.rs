//! Unit tests for numbers.rs; expected INCRBYFLOAT outputs were checked
//! against redis-server 7.0.15.

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
        &b""[..],
        b"+1",
        b" 1",
        b"1 ",
        b"01",
        b"-0",
        b"00",
        b"-",
        b"1a",
        b"9223372036854775808",
        b"-9223372036854775809",
        b"18446744073709551616",
        b"1.0",
        b"0x10",
        b"99999999999999999999",
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
    // Long hex mantissas (checked with Python's float.fromhex).
    let long = |s: String| parse_f64(s.as_bytes());
    assert_eq!(long(format!("0x1{}1p-200", "0".repeat(50))), Ok(16.0));
    assert_eq!(long(format!("0x1{}p0", "f".repeat(60))), Ok(2f64.powi(241)));
    assert_eq!(
        long(format!("0x1.{}{}1p3", "8".repeat(20), "0".repeat(30))),
        Ok(12.266666666666667)
    );
    assert_eq!(
        long(format!("0x{}", "f".repeat(300))),
        Err(CmdError::NotFloat)
    );
    assert_eq!(
        long(format!("0x.{}1", "0".repeat(270))),
        Err(CmdError::NotFloat)
    );
    assert_eq!(
        long(format!("1{}", "0".repeat(100_000))),
        Err(CmdError::NotFloat)
    );
    assert_eq!(
        long(format!("0.{}1", "0".repeat(100_000))),
        Err(CmdError::NotFloat)
    );
    assert_eq!(
        long(format!("0x1{}", "0".repeat(100_000))),
        Err(CmdError::NotFloat)
    );
    for bad in [
        &b""[..],
        b" 1",
        b"1 ",
        b"nan",
        b"-nan",
        b"NaN(1)",
        b"1e400",
        b"1e-400",
        b".",
        b"e5",
        b"1e",
        b"1e+",
        b"0x",
        b"0xp3",
        b"1\x002",
        b"infin",
        b"1,5",
        b"0x1p99999",
        b"0x1p-1080",
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
    assert_eq!(
        incr("1", "123456789012345678901234567890"),
        "123456789012345678899921813504"
    );
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
    for (cur, by) in [
        ("1", " 1"),
        ("1", "1 "),
        ("1", "nan"),
        ("1", "1e5000"),
        ("1", "1e-5000"),
        ("1", "."),
        ("1", "1e"),
        ("1", "1\u{0}x"),
        ("x", "1"),
    ] {
        assert_eq!(
            incr(cur, by),
            "ERR value is not a valid float",
            "{cur} {by}"
        );
    }
    assert_eq!(
        incr("1", "inf"),
        "ERR increment would produce NaN or Infinity"
    );
    assert_eq!(
        incr("inf", "0"),
        "ERR increment would produce NaN or Infinity"
    );
    assert_eq!(incrbyfloat(None, b"2.5").unwrap(), b"2.5");
    assert_eq!(incrbyfloat(None, b"").unwrap_err(), CmdError::NotFloat);
    // Overflow of the sum.
    let max = "1.18973149535723176502e+4932";
    assert_eq!(
        incr(max, max),
        "ERR increment would produce NaN or Infinity"
    );
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
    assert_eq!(
        a,
        LongDouble::Finite {
            neg: false,
            mant: 0xCCCC_CCCC_CCCC_CCCD,
            exp: -67
        }
    );
    assert_eq!(
        LongDouble::from_f64(0.5),
        Some(LongDouble::Finite {
            neg: false,
            mant: 1 << 52,
            exp: -53
        })
    );
    assert_eq!(LongDouble::parse(b"-0").unwrap().to_human(), b"0");
    let mut long = b"0.".to_vec();
    long.resize(5119, b'1');
    assert_eq!(
        LongDouble::parse(&long).map(|v| v.to_human()),
        Some(b"0.11111111111111111".to_vec())
    );
    long.push(b'1'); // 5120 bytes: too long for Redis
    assert_eq!(LongDouble::parse(&long), None);
    assert_eq!(LongDouble::parse(&vec![b'1'; 5000]), None); // overflow
}
