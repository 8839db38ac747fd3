//! Unit and model tests for the sorted-set representation: random operation sequences
//! against a plain sorted `Vec`, with small thresholds so the conversion is crossed.

use std::collections::BTreeMap;

use proptest::prelude::*;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::*;

const LIM: Limits = Limits {
    entries: 8,
    value: 12,
};

#[derive(Debug, Clone)]
enum Op {
    Insert(Vec<u8>, f64),
    Remove(Vec<u8>),
    Pop(bool, usize),
    RemoveRanks(usize, usize),
}

fn member() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        "[a-f]{0,3}".prop_map(|s| s.into_bytes()),
        "[x]{10,14}".prop_map(|s| s.into_bytes()),
        (0u8..=255).prop_map(|b| vec![b, 0]),
    ]
}

fn score() -> impl Strategy<Value = f64> {
    prop_oneof![
        (-5i64..5).prop_map(|v| v as f64),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(-0.0),
        Just(1e308),
        Just(-2.5),
        Just(9.0e15),
        Just(-(2f64.powi(53))),
        any::<f64>().prop_filter("no NaN", |v| !v.is_nan()),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (member(), score()).prop_map(|(m, s)| Op::Insert(m, s)),
        2 => member().prop_map(Op::Remove),
        1 => (any::<bool>(), 0usize..4).prop_map(|(m, c)| Op::Pop(m, c)),
        1 => (0usize..6, 0usize..6).prop_map(|(a, b)| Op::RemoveRanks(a, b)),
    ]
}

/// The model's entries in (score, member) order.
fn sorted(model: &BTreeMap<Vec<u8>, f64>) -> Vec<(Vec<u8>, f64)> {
    let mut v: Vec<(Vec<u8>, f64)> = model.iter().map(|(m, s)| (m.clone(), *s)).collect();
    v.sort_by(|a, b| cmp_entry(a.1, &a.0, b.1, &b.0));
    v
}

/// ZPOPMIN/ZPOPMAX of `count` against the model, which loses the same members.
fn pop_matches(
    z: &mut ZSet,
    model: &mut BTreeMap<Vec<u8>, f64>,
    max: bool,
    count: usize,
) -> Result<(), TestCaseError> {
    let mut want = sorted(model);
    if max {
        want.reverse();
    }
    want.truncate(count);
    let got = z.pop(max, count);
    prop_assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        prop_assert_eq!(&g.0[..], &w.0[..]);
        model.remove(&w.0);
    }
    Ok(())
}

fn same_score(a: f64, b: f64) -> bool {
    a == b && a.is_sign_negative() == b.is_sign_negative()
}

fn check(z: &ZSet, model: &BTreeMap<Vec<u8>, f64>, big: bool) {
    let want = sorted(model);
    assert_eq!(z.len(), want.len());
    let got: Vec<(Vec<u8>, f64)> = z.iter().map(|(m, s)| (m.to_vec(), s)).collect();
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g.0, w.0);
        assert!(same_score(g.1, w.1), "{} vs {}", g.1, w.1);
    }
    for (i, (m, s)) in want.iter().enumerate() {
        assert!(same_score(z.score(m).unwrap(), *s));
        assert_eq!(z.rank(m), Some(i));
    }
    assert_eq!(z.encoding(), if big { "skiplist" } else { "listpack" });
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn zset_matches_model(ops in proptest::collection::vec(op(), 1..80)) {
        let mut z = ZSet::new();
        let mut model: BTreeMap<Vec<u8>, f64> = BTreeMap::new();
        let mut big = false;
        for op in ops {
            match op {
                Op::Insert(m, s) => {
                    let new = !model.contains_key(&m);
                    if new && (model.len() + 1 > LIM.entries || m.len() > LIM.value) {
                        big = true;
                    }
                    // A listpack reads -0 back as 0 (Redis stores the score as text).
                    let s = if !big && s == 0.0 { 0.0 } else { s };
                    // An equal score (0 vs -0) leaves the stored one, as in Redis.
                    if model.get(&m).is_none_or(|old| *old != s) {
                        model.insert(m.clone(), s);
                    }
                    prop_assert_eq!(z.insert(&m, s, &LIM), new);
                }
                Op::Remove(m) => prop_assert_eq!(z.remove(&m), model.remove(&m).is_some()),
                Op::Pop(max, count) => {
                    pop_matches(&mut z, &mut model, max, count)?;
                    if model.is_empty() {
                        big = false;
                    }
                }
                Op::RemoveRanks(a, b) => {
                    let want = sorted(&model);
                    let hi = b.min(want.len());
                    let n = z.remove_ranks(a, b);
                    prop_assert_eq!(n, hi.saturating_sub(a));
                    for (m, _) in want.iter().take(hi).skip(a) {
                        model.remove(m);
                    }
                }
            }
            check(&z, &model, big);
        }
        let c = z.clone();
        prop_assert!(c == z);
        prop_assert_eq!(c.encoding(), z.encoding());
    }

    #[test]
    fn ranges_match_model(
        entries in proptest::collection::btree_map(member(), -4i64..4, 0..20),
        min in -5i64..5, max in -5i64..5, min_excl in any::<bool>(), max_excl in any::<bool>(),
    ) {
        let mut z = ZSet::new();
        for (m, s) in &entries {
            z.insert(m, *s as f64, &LIM);
        }
        let model: BTreeMap<Vec<u8>, f64> = entries.iter().map(|(m, s)| (m.clone(), *s as f64)).collect();
        let want = sorted(&model);
        let r = ScoreRange { min: min as f64, max: max as f64, min_excl, max_excl };
        let inside = |s: f64| {
            (if min_excl { s > r.min } else { s >= r.min }) && (if max_excl { s < r.max } else { s <= r.max })
        };
        let expect: Vec<&Vec<u8>> = want.iter().filter(|e| inside(e.1)).map(|e| &e.0).collect();
        let (a, b) = z.score_ranks(&r);
        let got = z.range(a, b);
        prop_assert_eq!(got.iter().map(|e| e.0.to_vec()).collect::<Vec<_>>(), expect.into_iter().cloned().collect::<Vec<_>>());
    }

    #[test]
    fn lex_ranges_match_model(
        members in proptest::collection::btree_set("[a-e]{0,3}", 0..30),
        lo in "[a-e]{0,2}", hi in "[a-e]{0,2}", lo_kind in 0u8..4, hi_kind in 0u8..4,
    ) {
        let mut z = ZSet::new();
        for m in &members {
            z.insert(m.as_bytes(), 0.0, &LIM);
        }
        let bound = |k: u8, v: &str| match k {
            0 => LexBound::NegInf,
            1 => LexBound::PosInf,
            2 => LexBound::Incl(Bytes::copy_from_slice(v.as_bytes())),
            _ => LexBound::Excl(Bytes::copy_from_slice(v.as_bytes())),
        };
        let r = LexRange { min: bound(lo_kind, &lo), max: bound(hi_kind, &hi) };
        let above_min = |m: &str| match &r.min {
            LexBound::NegInf => true,
            LexBound::PosInf => false,
            LexBound::Incl(x) => m.as_bytes() >= &x[..],
            LexBound::Excl(x) => m.as_bytes() > &x[..],
        };
        let below_max = |m: &str| match &r.max {
            LexBound::NegInf => false,
            LexBound::PosInf => true,
            LexBound::Incl(x) => m.as_bytes() <= &x[..],
            LexBound::Excl(x) => m.as_bytes() < &x[..],
        };
        let expect: Vec<Vec<u8>> = members.iter().filter(|m| above_min(m) && below_max(m)).map(|m| m.as_bytes().to_vec()).collect();
        let (a, b) = z.lex_ranks(&r);
        prop_assert_eq!(z.range(a, b).iter().map(|e| e.0.to_vec()).collect::<Vec<_>>(), expect);
    }
}

/// Many members: chunk splits and merges in the skiplist encoding, against the model.
#[test]
fn big_random_ops_match_model() {
    let mut rng = SmallRng::seed_from_u64(11);
    let mut z = ZSet::new();
    let mut model: BTreeMap<Vec<u8>, f64> = BTreeMap::new();
    let lim = Limits::default();
    for round in 0..20_000 {
        let m = format!("m{}", rng.gen_range(0..1500)).into_bytes();
        if rng.gen_range(0..3) == 0 {
            assert_eq!(z.remove(&m), model.remove(&m).is_some());
        } else {
            let s = rng.gen_range(-50..50) as f64 / 4.0;
            assert_eq!(z.insert(&m, s, &lim), model.insert(m.clone(), s).is_none());
        }
        if round % 997 == 0 {
            check(&z, &model, z.encoding() == "skiplist");
        }
    }
    check(&z, &model, true);
    let want = sorted(&model);
    let n = want.len();
    let got = z.range(n / 3, n / 3 + 100);
    for (g, w) in got.iter().zip(&want[n / 3..]) {
        assert_eq!(&g.0[..], &w.0[..]);
    }
    let from = ZSet::from_pairs(z.to_vec(), &lim);
    assert!(from == z);
    let small = ZSet::from_pairs(z.range(0, 128), &lim);
    assert_eq!(small.encoding(), "listpack");
    let small = ZSet::from_pairs(z.range(0, 129), &lim);
    assert_eq!(small.encoding(), "skiplist");
}

#[test]
fn conversion_thresholds() {
    let lim = Limits::default();
    let mut z = ZSet::new();
    for i in 0..128 {
        z.insert(format!("{i}").as_bytes(), i as f64, &lim);
    }
    assert_eq!(z.encoding(), "listpack");
    z.insert(b"0", 5.0, &lim);
    assert_eq!(z.encoding(), "listpack");
    z.insert(b"new", 5.0, &lim);
    assert_eq!(z.encoding(), "skiplist");
    let mut z = ZSet::new();
    z.insert(&[b'a'; 64], 1.0, &lim);
    assert_eq!(z.encoding(), "listpack");
    z.insert(&[b'a'; 65], 1.0, &lim);
    assert_eq!(z.encoding(), "skiplist");
    assert_eq!(ZSet::new_for(65, &lim).encoding(), "skiplist");
    assert_eq!(ZSet::new_for(1, &Limits::new(0, 64)).encoding(), "skiplist");
}

#[test]
fn scores_round_trip() {
    let lim = Limits::new(0, 64);
    let mut z = ZSet::new_big();
    let vals = [
        0.0,
        -0.0,
        1.5,
        -1.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
        1e308,
        -1e308,
        5e-324,
        8_999_999_999_999_999.0,
        9.0e15,
        4_503_599_627_370_497.0,
        -123456789.0,
    ];
    for (i, v) in vals.iter().enumerate() {
        z.insert(format!("m{i}").as_bytes(), *v, &lim);
    }
    for (i, v) in vals.iter().enumerate() {
        let got = z.score(format!("m{i}").as_bytes()).unwrap();
        assert!(same_score(got, *v), "{v} -> {got}");
    }
    let mut small = ZSet::new();
    for (i, v) in vals.iter().enumerate() {
        small.insert(format!("m{i}").as_bytes(), *v, &Limits::default());
    }
    assert_eq!(small.encoding(), "listpack");
    for (i, v) in vals.iter().enumerate() {
        let want = if *v == 0.0 { 0.0 } else { *v };
        let got = small.score(format!("m{i}").as_bytes()).unwrap();
        assert!(same_score(got, want), "{v} -> {got}");
    }
}

// ---- rank <-> (chunk, offset) in the skiplist encoding --------------------------------

/// The chunk counts agree with the chunks (no empty chunk), and ranks on both sides of
/// every chunk boundary map to the right entries and back.
fn check_counts(z: &ZSet, want: &[(Vec<u8>, f64)]) {
    let ZSet::Big(b) = z else {
        return;
    };
    let lens: Vec<u32> = b.chunks.iter().map(|c| c.n).collect();
    assert!(lens.iter().all(|&n| n > 0), "empty chunk in {lens:?}");
    assert_eq!(b.counts, Fenwick::from_counts(lens.iter().copied()));
    assert_eq!(b.counts.total(), z.len());
    let mut start = 0;
    for (ci, &n) in lens.iter().enumerate() {
        let last = start + n as usize - 1;
        assert_eq!(b.counts.find(start), Some((ci, 0)));
        assert_eq!(b.counts.find(last), Some((ci, n as usize - 1)));
        for r in [start, last] {
            let (m, s) = z.nth(r).unwrap();
            assert_eq!(&m[..], &want[r].0[..], "nth({r})");
            assert!(same_score(s, want[r].1));
            assert_eq!(z.rank(&m), Some(r));
        }
        start = last + 1;
    }
    assert_eq!(b.counts.find(start), None);
    assert_eq!(z.nth(start), None);
}

fn big_member(i: u32) -> Vec<u8> {
    format!("m{i:05}").into_bytes()
}

#[test]
fn counts_follow_splits_merges_and_removals() {
    let lim = Limits::default();
    let mut z = ZSet::new_big();
    let mut model: BTreeMap<Vec<u8>, f64> = BTreeMap::new();
    check_counts(&z, &[]);
    assert_eq!((z.nth(0), z.rank(b"x")), (None, None));
    // Ascending inserts split the last chunk; scattered ones split chunks in the middle.
    for i in (0..6000).chain((6000..9000).rev()) {
        let (m, s) = (big_member(i), (i % 7) as f64);
        z.insert(&m, s, &lim);
        model.insert(m, s);
        if i % 500 == 0 {
            check_counts(&z, &sorted(&model));
        }
    }
    let chunks = |z: &ZSet| match z {
        ZSet::Big(b) => b.chunks.len(),
        ZSet::Pack(_) => 1,
    };
    assert!(chunks(&z) > 100);
    check(&z, &model, true);
    // Removals that empty chunks and merge neighbours.
    for i in (0..9000).filter(|i| i % 3 != 0 || (2000..4000).contains(i)) {
        z.remove(&big_member(i));
        model.remove(&big_member(i));
        if i % 499 == 0 {
            check_counts(&z, &sorted(&model));
        }
    }
    check(&z, &model, true);
    // Rank ranges inside one chunk, across many, and to the end.
    for (lo, hi) in [(5, 9), (100, 1500), (0, 1), (800, usize::MAX)] {
        let want = sorted(&model);
        let hi = hi.min(want.len());
        assert_eq!(z.remove_ranks(lo, hi), hi - lo);
        for (m, _) in &want[lo..hi] {
            model.remove(m);
        }
        check_counts(&z, &sorted(&model));
    }
    check(&z, &model, true);
    assert_eq!(z.remove_ranks(0, usize::MAX), model.len());
    model.clear();
    check(&z, &model, true);
    check_counts(&z, &[]);
    z.insert(b"again", 1.0, &lim);
    assert_eq!(
        (z.rank(b"again"), z.nth(0).map(|e| e.0)),
        (Some(0), Some("again".into()))
    );
}

#[derive(Debug, Clone)]
enum BigOp {
    /// Members `from..from + count` with scores `(i * mul) % 37 - 18` (many ties).
    Insert(u32, u16, u32),
    Remove(u32, u16),
    /// Ranks `start..start + count`, start taken modulo the length plus a few.
    RemoveRanks(usize, usize),
    Pop(bool, usize),
}

fn big_op() -> impl Strategy<Value = BigOp> {
    prop_oneof![
        3 => (0u32..8000, 0u16..2000, 1u32..50).prop_map(|(f, c, m)| BigOp::Insert(f, c, m)),
        2 => (0u32..8000, 0u16..2000).prop_map(|(f, c)| BigOp::Remove(f, c)),
        2 => (any::<usize>(), 0usize..2500).prop_map(|(s, c)| BigOp::RemoveRanks(s, c)),
        1 => (any::<bool>(), 0usize..300).prop_map(|(m, c)| BigOp::Pop(m, c)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    /// Sets of thousands of members (hundreds of chunks): rank, nth, ranges and
    /// remove_ranks against the model while chunks split, merge and go.
    #[test]
    fn big_ranks_match_model(
        initial in 0u32..6000,
        from_pairs in any::<bool>(),
        ops in proptest::collection::vec(big_op(), 1..25),
        probe in any::<usize>(),
    ) {
        let score = |i: u32, mul: u32| ((i * mul) % 37) as f64 - 18.0;
        let mut model: BTreeMap<Vec<u8>, f64> =
            (0..initial).map(|i| (big_member(i), score(i, 7))).collect();
        let mut z = if from_pairs {
            let pairs = model.iter().map(|(m, s)| (Bytes::from(m.clone()), *s)).collect();
            ZSet::from_pairs(pairs, &LIM)
        } else {
            let mut z = ZSet::new_big();
            for (m, s) in &model {
                z.insert(m, *s, &LIM);
            }
            z
        };
        for op in ops {
            match op {
                BigOp::Insert(from, count, mul) => {
                    for i in from..from + count as u32 {
                        let (m, s) = (big_member(i), score(i, mul));
                        prop_assert_eq!(z.insert(&m, s, &LIM), model.insert(m, s).is_none());
                    }
                }
                BigOp::Remove(from, count) => {
                    for i in from..from + count as u32 {
                        let m = big_member(i);
                        prop_assert_eq!(z.remove(&m), model.remove(&m).is_some());
                    }
                }
                BigOp::RemoveRanks(start, count) => {
                    let want = sorted(&model);
                    let lo = start % (want.len() + 3);
                    let hi = lo.saturating_add(count).min(want.len());
                    prop_assert_eq!(z.remove_ranks(lo, lo + count), hi.saturating_sub(lo));
                    for (m, _) in want.iter().take(hi).skip(lo) {
                        model.remove(m);
                    }
                }
                BigOp::Pop(max, count) => {
                    pop_matches(&mut z, &mut model, max, count)?;
                }
            }
            let want = sorted(&model);
            prop_assert_eq!(z.len(), want.len());
            check_counts(&z, &want);
            let lo = probe % (want.len() + 1);
            let got = z.range(lo, lo + 300);
            prop_assert_eq!(got.len(), want.len().min(lo + 300) - lo);
            for (g, w) in got.iter().zip(&want[lo..]) {
                prop_assert_eq!(&g.0[..], &w.0[..]);
                prop_assert!(same_score(g.1, w.1));
            }
            let mut seen = 0;
            z.each_from(lo, |m, _| {
                assert_eq!(m, &want[lo + seen].0[..]);
                seen += 1;
                seen < 50
            });
            let (min, max) = (((probe % 40) as f64) - 20.0, ((probe % 13) as f64) - 3.0);
            let r = ScoreRange { min, max, min_excl: probe % 2 == 0, max_excl: probe % 3 == 0 };
            let inside = |s: f64| {
                (if r.min_excl { s > min } else { s >= min }) && (if r.max_excl { s < max } else { s <= max })
            };
            let first = want.iter().position(|e| inside(e.1)).unwrap_or(want.len());
            let n = want.iter().filter(|e| inside(e.1)).count();
            let (a, b) = z.score_ranks(&r);
            prop_assert_eq!((a, b - a), (if n == 0 { a } else { first }, n));
        }
        check(&z, &model, z.encoding() == "skiplist");
    }
}
