//! Geo math checked against redis-server 7.0.15 (expected values are its replies).

use bytes::Bytes;

use super::hash::{self, Cell, LAT_RANGE, LON_RANGE};
use super::search::{self, Hit, ScoreScan, Search, Shape, Sort};
use crate::families::numbers::LongDouble;

fn human(d: f64) -> String {
    String::from_utf8(LongDouble::from_f64(d).expect("finite").to_human()).expect("ascii")
}

fn pos(score: f64) -> (String, String) {
    let (lon, lat) = hash::decode_score(score);
    (human(lon), human(lat))
}

fn gh(score: f64) -> String {
    String::from_utf8(hash::geohash_string(score).to_vec()).expect("ascii")
}

/// A sorted set as a sorted vector, for searches without a server.
struct Sorted(Vec<(Bytes, f64)>);

impl Sorted {
    fn of(points: &[(&str, f64, f64)]) -> Sorted {
        let mut v: Vec<(Bytes, f64)> = points
            .iter()
            .map(|&(m, lon, lat)| {
                let s = hash::encode_score(lon, lat).expect("valid point") as f64;
                (Bytes::copy_from_slice(m.as_bytes()), s)
            })
            .collect();
        v.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
        Sorted(v)
    }
}

impl ScoreScan for Sorted {
    fn scan_scores(&self, min: f64, max: f64, f: &mut dyn FnMut(&[u8], f64) -> bool) {
        for (m, s) in &self.0 {
            if *s >= min && *s < max && !f(m, *s) {
                return;
            }
        }
    }
}

fn names(hits: &[Hit]) -> Vec<String> {
    hits.iter()
        .map(|h| String::from_utf8_lossy(&h.member).into_owned())
        .collect()
}

fn dists(hits: &[Hit], unit: f64) -> Vec<String> {
    hits.iter()
        .map(|h| hash::format_distance(h.dist / unit))
        .collect()
}

#[test]
fn interleave_round_trip() {
    for &(lat, lon) in &[
        (0u32, 0u32),
        (1, 0),
        (0, 1),
        (0x3ff_ffff, 0x155_5555),
        (u32::MAX, 7),
    ] {
        assert_eq!(hash::deinterleave(hash::interleave(lat, lon)), (lat, lon));
    }
    // Longitude owns the highest bit of each pair.
    assert_eq!(hash::interleave(0, 1), 2);
    assert_eq!(hash::interleave(1, 0), 1);
}

#[test]
fn scores_of_sicily() {
    assert_eq!(
        hash::encode_score(13.361389, 38.115556),
        Some(3479099956230698)
    );
    assert_eq!(
        hash::encode_score(15.087269, 37.502669),
        Some(3479447370796909)
    );
    assert_eq!(
        pos(3479099956230698.0),
        ("13.36138933897018433".into(), "38.11555639549629859".into())
    );
    assert_eq!(
        pos(3479447370796909.0),
        ("15.08726745843887329".into(), "37.50266842333162032".into())
    );
    assert_eq!(gh(3479099956230698.0), "sqc8b49rny0");
    assert_eq!(gh(3479447370796909.0), "sqdtr74hyu0");
}

#[test]
fn distances_in_every_unit() {
    let (lon1, lat1) = hash::decode_score(3479099956230698.0);
    let (lon2, lat2) = hash::decode_score(3479447370796909.0);
    let d = hash::distance(lon1, lat1, lon2, lat2);
    let in_unit =
        |u: &str| hash::format_distance(d / hash::unit_factor(u.as_bytes()).expect("unit"));
    assert_eq!(in_unit("m"), "166274.1516");
    assert_eq!(in_unit("KM"), "166.2742");
    assert_eq!(in_unit("mi"), "103.3182");
    assert_eq!(in_unit("Ft"), "545518.8700");
    assert_eq!(hash::unit_factor(b"yd"), None);
    assert_eq!(hash::format_distance(0.0), "0.0000");
}

#[test]
fn limits_and_corners() {
    assert!(hash::valid_lon_lat(180.0, 85.05112878));
    assert!(hash::valid_lon_lat(-180.0, -85.05112878));
    assert!(!hash::valid_lon_lat(180.0000001, 0.0));
    assert!(!hash::valid_lon_lat(0.0, 85.051128781));
    // At the upper limits the offset is exactly 2^26: one bit above the 52.
    assert_eq!(hash::encode_score(0.0, 85.05112878), Some(6755399441055744));
    assert_eq!(
        hash::encode_score(0.0, -85.05112878),
        Some(2251799813685248)
    );
    assert_eq!(hash::encode_score(180.0, 0.0), Some(10133099161583616));
    assert_eq!(hash::encode_score(-180.0, 0.0), Some(1125899906842624));
    assert_eq!(
        hash::encode_score(180.0, 85.05112878),
        Some(13510798882111488)
    );
    assert_eq!(
        pos(6755399441055744.0),
        ("0.00000268220901489".into(), "85.0511287799999991".into())
    );
    assert_eq!(
        pos(2251799813685248.0),
        ("0.00000268220901489".into(), "-85.05112751263942528".into())
    );
    assert_eq!(
        pos(10133099161583616.0),
        ("180".into(), "0.00000126736058093".into())
    );
    assert_eq!(
        pos(1125899906842624.0),
        (
            "-179.99999731779098511".into(),
            "0.00000126736058093".into()
        )
    );
    assert_eq!(gh(6755399441055744.0), "up05b5048p0");
    assert_eq!(gh(2251799813685248.0), "h0bh0hbj200");
    assert_eq!(gh(10133099161583616.0), "80000000000");
    assert_eq!(gh(13510798882111488.0), "bp05b5048p0");
}

#[test]
fn scores_not_written_by_geoadd() {
    // ZADD can store any score; Redis converts it with C's (uint64_t) cast.
    assert_eq!(pos(-5.0), ("180".into(), "85.0511287799999991".into()));
    assert_eq!(
        pos(1e300),
        (
            "-179.99999731779098511".into(),
            "-85.05112751263942528".into()
        )
    );
    assert_eq!(
        pos(1.5),
        (
            "-179.99999731779098511".into(),
            "-85.05112497791824921".into()
        )
    );
    assert_eq!(gh(-5.0), "bp05b5048p0");
    assert_eq!(gh(1e300), "00bh0hbj200");
    assert_eq!(gh(1.5), "00bh0hbj210");
}

#[test]
fn error_texts() {
    assert_eq!(
        hash::invalid_pair_text(181.0, 10.0),
        "ERR invalid longitude,latitude pair 181.000000,10.000000"
    );
    assert_eq!(
        hash::invalid_pair_text(0.0, 85.051128781),
        "ERR invalid longitude,latitude pair 0.000000,85.051129"
    );
    assert_eq!(
        hash::invalid_pair_text(f64::NEG_INFINITY, 0.0),
        "ERR invalid longitude,latitude pair -inf,0.000000"
    );
    let big = hash::invalid_pair_text(1e300, 0.0);
    assert!(big.starts_with("ERR invalid longitude,latitude pair 1000000000000000052504760255204420248704468581108159154915854115511802457988908195786371375080447864043704443832883878176942523235360430575644792184786706982848387200926575803737830233794788090059368953234970799945081119038967640880074652742780142494579258788820056842838115669472196386865459400540160.000000,"));
}

#[test]
fn step_estimate() {
    assert_eq!(search::estimate_step(0.0, 0.0), 26);
    assert_eq!(search::estimate_step(1.0, 0.0), 24);
    assert_eq!(search::estimate_step(1.0, 70.0), 23);
    assert_eq!(search::estimate_step(1.0, -81.0), 22);
    assert_eq!(search::estimate_step(5_000_000.0, 0.0), 2);
    assert_eq!(search::estimate_step(10_000_000.0, 0.0), 1);
    assert_eq!(search::estimate_step(1e9, 0.0), 1);
}

#[test]
fn neighbour_cells_wrap() {
    let s = Search {
        lon: 179.9,
        lat: 0.0,
        shape: Shape::Radius(1.0),
        unit: 1000.0,
    };
    let cells = s.cells();
    assert!(cells[0].is_some());
    let c = Cell { bits: 0, step: 1 };
    let a = hash::decode(LON_RANGE, LAT_RANGE, c);
    assert_eq!(
        (a.lon.min, a.lon.max, a.lat.min),
        (-180.0, 0.0, -85.05112878)
    );
}

fn poles() -> Sorted {
    Sorted::of(&[
        ("n1", 0.0, 85.0),
        ("n2", 179.9, 85.0),
        ("n3", -179.9, 85.0),
        ("n4", 90.0, 85.05),
        ("s1", 0.0, -85.0),
        ("s2", 179.99, -85.0511),
    ])
}

#[test]
fn searches_near_the_poles() {
    let set = poles();
    let run = |lon, lat, shape, sort| {
        let s = Search {
            lon,
            lat,
            shape,
            unit: 1000.0,
        };
        let mut hits = s.run(&set, 0);
        search::finish(&mut hits, sort, 0);
        (names(&hits), dists(&hits, 1000.0))
    };
    assert_eq!(
        run(0.0, 85.0, Shape::Radius(100.0), Sort::Asc),
        (vec!["n1".to_string()], vec!["0.0000".to_string()])
    );
    assert_eq!(
        run(0.0, 85.0, Shape::Radius(2000.0), Sort::Asc),
        (
            vec!["n1".into(), "n4".into(), "n2".into(), "n3".into()],
            vec![
                "0.0000".into(),
                "782.0739".into(),
                "1112.2626".into(),
                "1112.2626".into()
            ]
        )
    );
    assert_eq!(
        run(
            180.0,
            85.0,
            Shape::Box {
                width: 200.0,
                height: 200.0
            },
            Sort::Asc
        ),
        (vec!["n2".into()], vec!["0.9694".into()])
    );
    // The cell across the antimeridian is not scanned: n3 is missed, as in Redis.
    let s = Search {
        lon: 180.0,
        lat: 85.0,
        shape: Shape::Box {
            width: 2000.0,
            height: 2000.0,
        },
        unit: 1000.0,
    };
    let hits = s.run(&set, 0);
    assert_eq!(names(&hits), vec!["n4", "n2"]);
    assert_eq!(hits[0].score, 4315949642813444.0);
    assert_eq!(hits[1].score, 4503598808108472.0);
}

// ---- commands on a bare shard ---------------------------------------------------------

mod commands {
    use std::sync::Arc;

    use bytes::Bytes;

    use crate::command::exec::exec_on_shard;
    use crate::command::table;
    use crate::config::Config;
    use crate::protocol::Reply;
    use crate::shard::Shard;

    fn run(shard: &mut Shard, line: &str) -> Reply {
        let args: Vec<Bytes> = line
            .split(' ')
            .map(|s| Bytes::copy_from_slice(s.as_bytes()))
            .collect();
        let cmd = table::lookup(&args[0]).unwrap_or_else(|| panic!("no command {line}"));
        exec_on_shard(shard, cmd, 0, &args)
    }

    fn bulk(s: &str) -> Reply {
        Reply::Bulk(Bytes::copy_from_slice(s.as_bytes()))
    }

    fn coord(s: &str) -> Reply {
        Reply::DoubleText(Bytes::copy_from_slice(s.as_bytes()))
    }

    fn err(s: &str) -> Reply {
        Reply::Error(Bytes::copy_from_slice(s.as_bytes()))
    }

    fn sicily() -> Shard {
        let mut s = Shard::new(0, 1, Arc::new(Config::default()), 0);
        assert_eq!(
            run(
                &mut s,
                "GEOADD Sicily 13.361389 38.115556 Palermo 15.087269 37.502669 Catania 13.583333 37.316667 Agrigento"
            ),
            Reply::Int(3)
        );
        s
    }

    #[test]
    fn geoadd_flags() {
        let mut s = sicily();
        assert_eq!(run(&mut s, "GEOADD k XX CH 1 2 a"), Reply::Int(0));
        assert_eq!(run(&mut s, "EXISTS k"), Reply::Int(0));
        assert_eq!(run(&mut s, "GEOADD k CH 1 2 a 3 4 b"), Reply::Int(2));
        assert_eq!(run(&mut s, "GEOADD k CH NX 1 3 a 5 6 c"), Reply::Int(1));
        assert_eq!(run(&mut s, "GEOADD k CH XX 1 3 a 5 6 d"), Reply::Int(1));
        assert_eq!(run(&mut s, "GEOADD k 1 3 a"), Reply::Int(0));
        assert_eq!(run(&mut s, "GEOADD k NX XX 1 3 a"), err("ERR syntax error"));
        assert_eq!(run(&mut s, "GEOADD k 1 3 a 4"), err("ERR syntax error"));
        assert_eq!(run(&mut s, "GEOADD k NX CH CH"), err("ERR syntax error"));
        assert_eq!(
            run(&mut s, "GEOADD k 10 86 a"),
            err("ERR invalid longitude,latitude pair 10.000000,86.000000")
        );
        assert_eq!(
            run(&mut s, "GEOADD k 10 abc a"),
            err("ERR value is not a valid float")
        );
        assert_eq!(
            run(&mut s, "TYPE k"),
            Reply::Simple(Bytes::from_static(b"zset"))
        );
        assert_eq!(
            run(&mut s, "ZSCORE Sicily Palermo"),
            Reply::Double(3479099956230698.0)
        );
    }

    #[test]
    fn lookups() {
        let mut s = sicily();
        assert_eq!(
            run(&mut s, "GEOPOS Sicily Palermo Nope"),
            Reply::Array(vec![
                Reply::Array(vec![
                    coord("13.36138933897018433"),
                    coord("38.11555639549629859")
                ]),
                Reply::NilArray
            ])
        );
        assert_eq!(
            run(&mut s, "GEOHASH Sicily Catania Nope"),
            Reply::Array(vec![bulk("sqdtr74hyu0"), Reply::Nil])
        );
        assert_eq!(
            run(&mut s, "GEODIST Sicily Palermo Catania km"),
            bulk("166.2742")
        );
        assert_eq!(run(&mut s, "GEODIST Sicily Palermo Nope"), Reply::Nil);
        assert_eq!(
            run(&mut s, "GEODIST Sicily Palermo Catania yd"),
            err("ERR unsupported unit provided. please use M, KM, FT, MI")
        );
        run(&mut s, "SET str v");
        assert_eq!(
            run(&mut s, "GEOPOS str a"),
            err("WRONGTYPE Operation against a key holding the wrong kind of value")
        );
    }

    #[test]
    fn searches_and_stores() {
        let mut s = sicily();
        assert_eq!(
            run(
                &mut s,
                "GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km COUNT 2 ANY"
            ),
            Reply::Array(vec![bulk("Agrigento"), bulk("Palermo")])
        );
        assert_eq!(
            run(
                &mut s,
                "GEOSEARCHSTORE d Sicily FROMLONLAT 15 37 BYRADIUS 200 km STOREDIST ASC COUNT 2"
            ),
            Reply::Int(2)
        );
        assert_eq!(
            run(&mut s, "ZRANGE d 0 -1 WITHSCORES"),
            Reply::Pairs(vec![
                (bulk("Catania"), Reply::Double(56.441257870158204)),
                (bulk("Agrigento"), Reply::Double(130.42348706714702)),
            ])
        );
        assert_eq!(
            run(&mut s, "GEORADIUS Sicily 15 37 1 km STORE d"),
            Reply::Int(0)
        );
        assert_eq!(run(&mut s, "EXISTS d"), Reply::Int(0));
        assert_eq!(
            run(&mut s, "GEORADIUS_RO Sicily 15 37 200 km STORE d"),
            err("ERR syntax error")
        );
        assert_eq!(
            run(&mut s, "GEOSEARCHSTORE d Sicily FROMLONLAT 15 37 BYRADIUS 200 km WITHDIST"),
            err("ERR GEOSEARCHSTORE is not compatible with WITHDIST, WITHHASH and WITHCOORD options")
        );
        assert_eq!(
            run(&mut s, "GEORADIUS Sicily 15 37 200 km STORE d WITHHASH"),
            err("ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD options")
        );
        assert_eq!(
            run(&mut s, "geosearch Sicily fromlonlat 1 1 byradius 1 km any"),
            err("ERR the ANY argument requires COUNT argument")
        );
        assert_eq!(
            run(&mut s, "geosearch Sicily BYRADIUS 1 km WITHDIST"),
            err("ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for geosearch")
        );
        assert_eq!(
            run(&mut s, "GEORADIUSBYMEMBER Sicily Nope 1 km"),
            err("ERR could not decode requested zset member")
        );
        // A missing source skips the member and radius checks, not the options.
        assert_eq!(
            run(&mut s, "GEORADIUSBYMEMBER missing m abc yd"),
            Reply::Array(Vec::new())
        );
        assert_eq!(
            run(&mut s, "GEORADIUSBYMEMBER missing m abc yd bogus"),
            err("ERR syntax error")
        );
    }
}
