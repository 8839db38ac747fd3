//! Unit tests of the sorted-set family's parsers and helpers.

use super::*;

#[test]
fn score_bounds_parse_like_strtod() {
    assert_eq!(parse_score_bound(b""), Some((0.0, false)));
    assert_eq!(parse_score_bound(b"("), Some((0.0, true)));
    assert_eq!(parse_score_bound(b" 1"), Some((1.0, false)));
    assert_eq!(parse_score_bound(b"(1.5"), Some((1.5, true)));
    assert_eq!(parse_score_bound(b"+inf"), Some((f64::INFINITY, false)));
    assert_eq!(parse_score_bound(b"-inf"), Some((f64::NEG_INFINITY, false)));
    assert_eq!(parse_score_bound(b"1e400"), Some((f64::INFINITY, false)));
    assert_eq!(parse_score_bound(b"nan"), None);
    assert_eq!(parse_score_bound(b"1 "), None);
    assert_eq!(parse_score_bound(b"[1"), None);
    assert_eq!(parse_score_bound(b"  "), None);
}

#[test]
fn rank_spans() {
    assert_eq!(rank_span(0, -1, 5), (0, 5));
    assert_eq!(rank_span(-2, -1, 5), (3, 5));
    assert_eq!(rank_span(-10, 1, 5), (0, 2));
    assert_eq!(rank_span(3, 1, 5), (0, 0));
    assert_eq!(rank_span(5, 10, 5), (0, 0));
    assert_eq!(rank_span(0, 100, 5), (0, 5));
    assert_eq!(rank_span(i64::MIN, i64::MAX, 5), (0, 5));
}

#[test]
fn zadd_flag_conflicts() {
    let f = |nx, xx, gt, lt, incr| ZaddFlags { nx, xx, gt, lt, ch: false, incr };
    assert!(f(true, true, false, false, false).check(1).is_err());
    assert!(f(true, false, true, false, false).check(1).is_err());
    assert!(f(false, false, true, true, false).check(1).is_err());
    assert!(f(false, true, true, false, false).check(1).is_ok());
    assert!(f(false, false, false, false, true).check(2).is_err());
    assert!(f(false, false, false, false, true).check(1).is_ok());
}
