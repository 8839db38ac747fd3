//! Unit and model tests for the set representation: random operation sequences against
//! a `BTreeSet`, with small thresholds so every conversion is crossed.

use std::collections::BTreeSet;

use proptest::prelude::*;
use rand::rngs::SmallRng;
use rand::SeedableRng;

use super::*;

const LIM: Limits = Limits {
    intset_max: 6,
    pack_max_entries: 8,
    pack_max_value: 24,
};

#[derive(Debug, Clone)]
enum Op {
    Add(Vec<u8>),
    Remove(Vec<u8>),
    Contains(Vec<u8>),
    Pop,
}

fn member() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        (-40i64..40).prop_map(|v| v.to_string().into_bytes()),
        prop_oneof![
            Just(i64::MIN),
            Just(i64::MAX),
            Just(70000),
            Just(-3_000_000_000)
        ]
        .prop_map(|v| v.to_string().into_bytes()),
        prop_oneof![
            Just(b"007".to_vec()),
            Just(b"-0".to_vec()),
            Just(b"+1".to_vec()),
            Just(Vec::new())
        ],
        "[a-d]{1,3}".prop_map(|s| s.into_bytes()),
        "[x]{20,30}".prop_map(|s| s.into_bytes()),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => member().prop_map(Op::Add),
        2 => member().prop_map(Op::Remove),
        1 => member().prop_map(Op::Contains),
        1 => Just(Op::Pop),
    ]
}

fn is_int(m: &[u8]) -> bool {
    crate::families::numbers::string2ll(m).is_some()
}

/// Checks the set against the model, and the encoding against Redis's rules: intset
/// while every member ever added was an integer and the size never passed the limit.
fn check(s: &Set, model: &BTreeSet<Vec<u8>>, left_intset: bool) {
    assert_eq!(s.len(), model.len());
    assert_eq!(s.is_empty(), model.is_empty());
    let got: BTreeSet<Vec<u8>> = s.members().iter().map(|b| b.to_vec()).collect();
    assert_eq!(&got, model);
    assert_eq!(s.is_intset(), !left_intset);
    if let Set::Int(_) = s {
        let vals: Vec<i64> = s
            .members()
            .iter()
            .map(|m| String::from_utf8_lossy(m).parse().unwrap())
            .collect();
        assert!(
            vals.windows(2).all(|w| w[0] < w[1]),
            "intset ascending: {vals:?}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn set_matches_model(first in member(), ops in proptest::collection::vec(op(), 1..60)) {
        let mut s = Set::new_for(&first);
        let mut model = BTreeSet::new();
        let mut left = !is_int(&first);
        let mut rng = SmallRng::seed_from_u64(7);
        for op in ops {
            match op {
                Op::Add(m) => {
                    let new = model.insert(m.clone());
                    prop_assert_eq!(s.add(&m, &LIM), new);
                    if !is_int(&m) || model.len() > LIM.intset_max {
                        left = true;
                    }
                }
                Op::Remove(m) => prop_assert_eq!(s.remove(&m), model.remove(&m)),
                Op::Contains(m) => prop_assert_eq!(s.contains(&m), model.contains(&m)),
                Op::Pop => match s.pop_random(&mut rng) {
                    Some(m) => prop_assert!(model.remove(m.as_ref())),
                    None => prop_assert!(model.is_empty()),
                },
            }
            check(&s, &model, left);
        }
        let c = s.clone();
        prop_assert!(c == s);
        prop_assert_eq!(c.encoding(), s.encoding());
    }

    #[test]
    fn algebra_matches_model(
        a in proptest::collection::vec(member(), 0..14),
        b in proptest::collection::vec(member(), 0..14),
        c in proptest::collection::vec(member(), 0..14),
    ) {
        let build = |v: &[Vec<u8>]| {
            let mut s = Set::new_for(v.first().map_or(&b"1"[..], |m| m));
            for m in v {
                s.add(m, &LIM);
            }
            (s, v.iter().cloned().collect::<BTreeSet<Vec<u8>>>())
        };
        let ((sa, ma), (sb, mb), (sc, mc)) = (build(&a), build(&b), build(&c));
        let sets = [opt(&sa), opt(&sb), opt(&sc)];
        let to_model = |s: &Set| s.members().iter().map(|b| b.to_vec()).collect::<BTreeSet<_>>();
        let inter: BTreeSet<_> = ma.iter().filter(|m| mb.contains(*m) && mc.contains(*m)).cloned().collect();
        let union: BTreeSet<_> = ma.iter().chain(&mb).chain(&mc).cloned().collect();
        let diff: BTreeSet<_> = ma.iter().filter(|m| !mb.contains(*m) && !mc.contains(*m)).cloned().collect();
        prop_assert_eq!(to_model(&inter_of(&sets)), inter.clone());
        prop_assert_eq!(to_model(&union_of(&sets)), union.clone());
        prop_assert_eq!(to_model(&diff_of(&sets)), diff.clone());
        for (s, m) in [(inter_of(&sets), &inter), (union_of(&sets), &union)] {
            // Built from an empty intset: intset exactly when all-integer and small.
            let small_ints = m.iter().all(|x| is_int(x)) && m.len() <= LIM.intset_max;
            prop_assert_eq!(s.is_intset(), small_ints);
        }
        let mut n = 0;
        inter_each(&sets, 2, |_| n += 1);
        prop_assert_eq!(n, inter.len().min(2));
    }
}

fn opt(s: &Set) -> Option<&Set> {
    if s.is_empty() {
        None
    } else {
        Some(s)
    }
}

fn inter_of(s: &[Option<&Set>]) -> Set {
    inter(s, &LIM)
}

fn union_of(s: &[Option<&Set>]) -> Set {
    union(s, &LIM)
}

fn diff_of(s: &[Option<&Set>]) -> Set {
    diff(s, &LIM)
}

#[test]
fn intset_widths_and_order() {
    let lim = Limits::new(512);
    let mut s = Set::new_for(b"5");
    for m in [
        "5",
        "-1",
        "40000",
        "-9223372036854775808",
        "9223372036854775807",
        "3",
    ] {
        assert!(s.add(m.as_bytes(), &lim));
    }
    assert_eq!(s.encoding(), "intset");
    let got: Vec<String> = s
        .members()
        .iter()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .collect();
    assert_eq!(
        got,
        [
            "-9223372036854775808",
            "-1",
            "3",
            "5",
            "40000",
            "9223372036854775807"
        ]
    );
    assert!(s.contains(b"40000") && !s.contains(b"040000") && !s.contains(b"x"));
    assert!(s.remove(b"-9223372036854775808"));
    assert_eq!(s.len(), 5);
}

#[test]
fn conversions_follow_redis() {
    let lim = Limits::new(512);
    let mut s = Set::new_for(b"1");
    for i in 0..512 {
        s.add(i.to_string().as_bytes(), &lim);
    }
    assert_eq!(s.encoding(), "intset");
    s.add(b"512", &lim);
    assert_eq!(s.encoding(), "hashtable");
    assert!(matches!(s, Set::Big(_)));
    // A small intset taking a string becomes the packed form, still `hashtable`.
    let mut t = Set::new_for(b"1");
    t.add(b"1", &lim);
    t.add(b"abc", &lim);
    assert!(matches!(t, Set::Pack(_)));
    assert_eq!(t.encoding(), "hashtable");
    // Long members go straight to the dict.
    t.add(&[b'z'; 65], &lim);
    assert!(matches!(t, Set::Big(_)));
    // Removing never goes back.
    t.remove(b"abc");
    t.remove(&[b'z'; 65]);
    assert_eq!(t.encoding(), "hashtable");
}

#[test]
fn big_scan_sees_everything() {
    let lim = Limits::new(512);
    let mut s = Set::new_for(b"m");
    for i in 0..5000 {
        s.add(format!("m{i}").as_bytes(), &lim);
    }
    let mut seen = BTreeSet::new();
    let mut cursor = 0;
    loop {
        cursor = s.scan(cursor, 100, |m| {
            seen.insert(m.to_vec());
        });
        if cursor == 0 {
            break;
        }
    }
    assert_eq!(seen.len(), 5000);
}

#[test]
fn small_sets_are_compact() {
    assert!(std::mem::size_of::<Set>() <= 24);
    let lim = Limits::new(512);
    let mut s = Set::new_for(b"member:0");
    for i in 0..10 {
        s.add(format!("member:{i}").as_bytes(), &lim);
    }
    assert!(s.mem_usage() < 24 + 10 * 10);
}
