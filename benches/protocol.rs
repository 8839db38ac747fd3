//! Protocol hot paths: request parsing and reply encoding, the per-command fixed cost.

use bytes::{Bytes, BytesMut};
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use tessera::protocol::*;

/// 1000 pipelined `SET key:<12 digits> xxx` requests, as redis-benchmark sends them.
fn set_pipeline() -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..1000 {
        let key = format!("key:{i:012}");
        out.extend_from_slice(b"*3\r\n$3\r\nSET\r\n");
        out.extend_from_slice(format!("${}\r\n{key}\r\n$3\r\nxxx\r\n", key.len()).as_bytes());
    }
    out
}

fn parse_benches(c: &mut Criterion) {
    let limits = ParseLimits::default();
    let pipeline = set_pipeline();
    let mut g = c.benchmark_group("parse");
    g.throughput(Throughput::Elements(1000));
    g.bench_function("pipeline_1000_set", |b| {
        b.iter(|| {
            let mut buf = BytesMut::from(&pipeline[..]);
            let mut parser = RequestParser::new();
            let mut n = 0;
            while let Ok(Some(req)) = parser.next(&mut buf, &limits) {
                n += req.args.len();
            }
            black_box(n)
        })
    });

    let value = vec![b'v'; 1 << 20];
    let mut big = b"*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n".to_vec();
    big.extend_from_slice(format!("${}\r\n", value.len()).as_bytes());
    big.extend_from_slice(&value);
    big.extend_from_slice(b"\r\n");
    g.throughput(Throughput::Bytes(big.len() as u64));
    g.bench_function("bulk_1mb_in_64kb_chunks", |b| {
        b.iter(|| {
            let mut parser = RequestParser::new();
            let mut buf = BytesMut::with_capacity(64 * 1024);
            let mut got = None;
            for chunk in big.chunks(64 * 1024) {
                // What a connection does: reserve once for the announced value.
                buf.reserve(parser.pending_hint().max(chunk.len()));
                buf.extend_from_slice(chunk);
                if let Ok(Some(req)) = parser.next(&mut buf, &limits) {
                    got = Some(req);
                }
            }
            black_box(got)
        })
    });
    g.finish();
}

fn encode_benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("encode");
    let replies: Vec<Reply> = (0..1000)
        .map(|i| Reply::Bulk(Bytes::from(format!("value:{i:010}"))))
        .collect();
    g.throughput(Throughput::Elements(1000));
    g.bench_function("bulk_x1000", |b| {
        let mut out = BytesMut::with_capacity(64 * 1024);
        b.iter(|| {
            out.clear();
            for r in &replies {
                encode(r, false, &mut out);
            }
            black_box(out.len())
        })
    });

    let ints = Reply::Array((0..100).map(|i| Reply::Int(i * 7919)).collect());
    g.throughput(Throughput::Elements(100));
    g.bench_function("array_of_100_ints", |b| {
        let mut out = BytesMut::with_capacity(4096);
        b.iter(|| {
            out.clear();
            encode(black_box(&ints), false, &mut out);
            black_box(out.len())
        })
    });
    g.finish();
}

criterion_group!(benches, parse_benches, encode_benches);
criterion_main!(benches);
