//! The list type against a `VecDeque` model, with small fills so that node splits and
//! merges happen often.

use std::collections::VecDeque;

use proptest::prelude::*;

use super::*;

#[derive(Debug, Clone)]
enum Op {
    Push(bool, Vec<u8>),
    Pop(bool),
    Insert(usize, Vec<u8>),
    Remove(usize),
    Set(usize, Vec<u8>),
    Trim(usize, usize),
    RetainNot(Vec<u8>),
}

fn elem() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => proptest::collection::vec(b'a'..b'd', 0..4),
        1 => proptest::collection::vec(any::<u8>(), 100..300),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (any::<bool>(), elem()).prop_map(|(l, v)| Op::Push(l, v)),
        3 => any::<bool>().prop_map(Op::Pop),
        2 => (any::<usize>(), elem()).prop_map(|(i, v)| Op::Insert(i, v)),
        2 => any::<usize>().prop_map(Op::Remove),
        2 => (any::<usize>(), elem()).prop_map(|(i, v)| Op::Set(i, v)),
        1 => (0usize..8, 0usize..8).prop_map(|(a, b)| Op::Trim(a, b)),
        1 => elem().prop_map(Op::RetainNot),
    ]
}

fn run(fill: i64, ops: &[Op]) {
    let mut l = List::new();
    let mut m: VecDeque<Vec<u8>> = VecDeque::new();
    for op in ops {
        match op.clone() {
            Op::Push(left, v) => {
                l.push(if left { End::Left } else { End::Right }, &v, fill);
                if left {
                    m.push_front(v)
                } else {
                    m.push_back(v)
                }
            }
            Op::Pop(left) => {
                let got = l.pop(if left { End::Left } else { End::Right });
                let want = if left { m.pop_front() } else { m.pop_back() };
                assert_eq!(got.map(|b| b.to_vec()), want);
            }
            Op::Insert(i, v) => {
                let i = i % (m.len() + 1);
                l.insert(i, &v, fill);
                m.insert(i, v);
            }
            Op::Remove(i) => {
                if !m.is_empty() {
                    let i = i % m.len();
                    assert_eq!(l.remove(i, fill).map(|b| b.to_vec()), m.remove(i));
                }
            }
            Op::Set(i, v) => {
                if !m.is_empty() {
                    let i = i % m.len();
                    assert!(l.set(i, &v, fill));
                    m[i] = v;
                }
            }
            Op::Trim(a, b) => {
                let (a, b) = (a.min(m.len()), m.len().saturating_sub(b));
                l.retain_range(a, b);
                if a >= b {
                    m.clear();
                } else {
                    m = m.iter().skip(a).take(b - a).cloned().collect();
                }
            }
            Op::RetainNot(v) => {
                let before = m.len();
                m.retain(|x| *x != v);
                assert_eq!(l.retain(|_, x| x != v.as_slice(), fill), before - m.len());
            }
        }
        l.check(fill);
        assert_eq!(l.len(), m.len());
        let all: Vec<Vec<u8>> = l.iter().map(|v| v.to_vec()).collect();
        assert_eq!(all, m.iter().cloned().collect::<Vec<_>>());
        let rev: Vec<Vec<u8>> = l.iter().rev().map(|v| v.to_vec()).collect();
        assert_eq!(rev, m.iter().rev().cloned().collect::<Vec<_>>());
        for (i, want) in m.iter().enumerate() {
            assert_eq!(l.get(i), Some(want.as_slice()));
        }
        if !m.is_empty() {
            let r = l.range(1.min(m.len() - 1), m.len() - 1);
            assert_eq!(r.len(), m.len() - 1.min(m.len() - 1));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn matches_model_count_fill(fill in 1i64..5, ops in proptest::collection::vec(op(), 0..120)) {
        run(fill, &ops);
    }

    #[test]
    fn matches_model_size_fill(ops in proptest::collection::vec(op(), 0..200)) {
        // -1: 4 KB nodes; the 100..300 byte elements fill a node in ~20 entries.
        run(-1, &ops);
    }
}

#[test]
fn big_list_has_many_nodes_and_fast_index() {
    let mut l = List::new();
    for i in 0..100_000 {
        l.push(End::Right, format!("{i}").as_bytes(), -2);
    }
    assert!(l.node_count() > 10);
    assert_eq!(l.get(54_321), Some(&b"54321"[..]));
    assert_eq!(l.index(-1), Some(99_999));
    assert_eq!(l.index(-100_001), None);
    l.check(-2);
}

#[test]
fn encoding_is_quicklist() {
    let l = List::from_iter([&b"a"[..]], -2);
    assert_eq!(l.encoding(), "quicklist");
}

/// Entries whose length headers and back-lengths take 1, 2 and 3 bytes, reached from
/// either end of one node and of several.
#[test]
fn back_lengths_of_every_width() {
    let sizes = [
        0usize, 1, 124, 125, 126, 127, 128, 16_379, 16_380, 16_381, 16_384, 20_000,
    ];
    for fill in [-5i64, 1000] {
        let mut l = List::new();
        let mut model = VecDeque::new();
        for (i, &n) in sizes.iter().enumerate() {
            let v = vec![b'a' + (i % 26) as u8; n];
            if i % 2 == 0 {
                l.push(End::Right, &v, fill);
                model.push_back(v);
            } else {
                l.push(End::Left, &v, fill);
                model.push_front(v);
            }
        }
        for i in 0..model.len() {
            assert_eq!(l.get(i), Some(&model[i][..]), "fill {fill} index {i}");
        }
        while !model.is_empty() {
            let right = model.len() % 3 != 0;
            let (got, want) = if right {
                (l.pop(End::Right), model.pop_back())
            } else {
                (l.pop(End::Left), model.pop_front())
            };
            assert_eq!(got.as_deref(), want.as_deref(), "fill {fill}");
        }
        assert!(l.is_empty());
    }
}
