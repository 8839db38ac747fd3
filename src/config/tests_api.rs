//! CONFIG GET / CONFIG SET behaviour, compared with redis-server 7.0.15.

use super::*;

fn get(c: &Config, pats: &[&str]) -> Vec<(String, String)> {
    let p: Vec<&[u8]> = pats.iter().map(|s| s.as_bytes()).collect();
    c.get(&p)
}

fn names(c: &Config, pats: &[&str]) -> Vec<String> {
    let mut n: Vec<String> = get(c, pats).into_iter().map(|(k, _)| k).collect();
    n.sort();
    n
}

fn set(c: &mut Config, pairs: &[(&str, &str)]) -> Result<Vec<String>, String> {
    let p: Vec<(&[u8], &[u8])> = pairs
        .iter()
        .map(|(a, b)| (a.as_bytes(), b.as_bytes()))
        .collect();
    c.set(&p)
}

fn fail(name: &str, msg: &str) -> Result<Vec<String>, String> {
    Err(format!(
        "ERR CONFIG SET failed (possibly related to argument '{name}') - {msg}"
    ))
}

#[test]
fn glob_matching_like_redis() {
    let m = |p: &str, s: &str| string_match(p.as_bytes(), s.as_bytes(), true);
    assert!(m("*", "port"));
    assert!(m("p?rt", "port"));
    assert!(m("P*RT", "port"));
    assert!(m("[a-b]ind", "bind"));
    assert!(m("p[^a]rt", "port"));
    assert!(!m("p[^o]rt", "port"));
    assert!(m("p[!o]rt", "port")); // '!' is a literal in Redis sets
    assert!(m("b\\ind", "bind"));
    assert!(m("*max*ziplist*entries", "zset-max-ziplist-entries"));
    assert!(!m("*max*ziplist*entries", "zset-max-ziplist-value"));
    assert!(m("[z-a]set*", "zset-max-ziplist-value"));
    assert!(m("a*b*c", "abbbc"));
    assert!(!m("a*b*c", "abbbd"));
    assert!(m("\\*", "*"));
    assert!(!m("\\*", "x"));
    assert!(!string_match(b"PORT", b"port", false));
    // No blow-up on many stars.
    assert!(!m(
        "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    ));
}

#[test]
fn config_get_patterns_aliases_and_dedup() {
    let c = Config::default();
    assert_eq!(
        get(&c, &["maxmemory"]),
        vec![("maxmemory".to_string(), "0".to_string())]
    );
    // An exact name is echoed as given; case-insensitive dedup.
    assert_eq!(
        get(&c, &["PORT", "port"]),
        vec![("PORT".to_string(), "6379".to_string())]
    );
    assert_eq!(
        names(&c, &["slaveof", "replicaof"]),
        vec!["replicaof", "slaveof"]
    );
    assert_eq!(
        names(&c, &["hash-max-*", "hash-max-zip*"]),
        vec![
            "hash-max-listpack-entries",
            "hash-max-listpack-value",
            "hash-max-ziplist-entries",
            "hash-max-ziplist-value"
        ]
    );
    assert_eq!(
        names(&c, &["*max-zip*entries"]),
        vec!["hash-max-ziplist-entries", "zset-max-ziplist-entries"]
    );
    assert_eq!(
        names(&c, &["port", "port", "maxmemory"]),
        vec!["maxmemory", "port"]
    );
    assert_eq!(names(&c, &["MAX*", "maxmemory"]).len(), 6);
    assert_eq!(names(&c, &["[a-b]in?"]), vec!["bind"]);
    assert!(get(&c, &["nosuch"]).is_empty());
    assert!(get(&c, &["b\\ind"]).is_empty()); // no glob char: exact lookup, as in Redis
    assert!(get(
        &c,
        &[
            "include",
            "rename-command",
            "user",
            "lua-replicate-commands"
        ]
    )
    .is_empty());
    let all = get(&c, &["*"]);
    assert_eq!(all.len(), 193); // Redis's 192 + threads
    assert_eq!(get(&c, &["*", "port"]).len(), 193);
    assert_eq!(
        get(&c, &["bind"]),
        vec![("bind".to_string(), "* -::*".to_string())]
    );
    assert_eq!(
        get(&c, &["client-output-buffer-limit"])[0].1,
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
    );
}

#[test]
fn config_set_values_and_formatting() {
    let mut c = Config::default();
    assert_eq!(
        set(
            &mut c,
            &[("maxmemory", "1gb"), ("MAXMEMORY-POLICY", "ALLKEYS-LRU")]
        ),
        Ok(vec![
            "maxmemory".to_string(),
            "maxmemory-policy".to_string()
        ])
    );
    assert_eq!(c.maxmemory(), 1 << 30);
    assert_eq!(c.get_str("maxmemory"), "1073741824");
    assert_eq!(c.maxmemory_policy(), "allkeys-lru");
    // Setting the same value reports no change.
    assert_eq!(set(&mut c, &[("maxmemory", "1073741824")]), Ok(vec![]));
    assert_eq!(
        set(&mut c, &[("save", "3600 1 300 100")]),
        Ok(vec!["save".to_string()])
    );
    assert_eq!(c.get_str("save"), "3600 1 300 100");
    assert_eq!(set(&mut c, &[("save", "")]), Ok(vec!["save".to_string()]));
    assert_eq!(c.get_str("save"), "");
    assert_eq!(
        set(&mut c, &[("save", "3600  1")]),
        fail("save", "Invalid save parameters")
    );
    assert_eq!(
        set(
            &mut c,
            &[("client-output-buffer-limit", "normal 1mb 2mb 3")]
        ),
        Ok(vec!["client-output-buffer-limit".to_string()])
    );
    assert_eq!(
        c.get_str("client-output-buffer-limit"),
        "normal 1048576 2097152 3 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
    );
    assert!(set(&mut c, &[("bind", "127.0.0.1 -::1")]).is_ok());
    assert_eq!(c.bind(), vec!["127.0.0.1", "-::1"]);
    assert!(set(&mut c, &[("slave-read-only", "no")]).is_ok());
    assert_eq!(c.get_str("replica-read-only"), "no");
    assert!(set(&mut c, &[("notify-keyspace-events", "Anm")]).is_ok());
    assert_eq!(c.get_str("notify-keyspace-events"), "Am");
    assert!(set(&mut c, &[("shutdown-on-sigterm", "default save")]).is_ok());
    assert_eq!(c.get_str("shutdown-on-sigterm"), "save");
    assert!(set(
        &mut c,
        &[(
            "latency-tracking-info-percentiles",
            "0.0000001 1.23456789 +5 -0"
        )]
    )
    .is_ok());
    assert_eq!(
        c.get_str("latency-tracking-info-percentiles"),
        "0 1.234568 5 -0"
    );
    assert!(set(&mut c, &[("maxmemory-clients", "18446744073709551615")]).is_ok());
    assert_eq!(c.get_str("maxmemory-clients"), "1%");
    assert!(set(&mut c, &[("maxmemory-clients", "0%")]).is_ok());
    assert_eq!(c.get_str("maxmemory-clients"), "0");
    assert!(set(
        &mut c,
        &[("latency-tracking-info-percentiles", "0x10 .5 Infinity")]
    )
    .is_err());
    assert!(set(
        &mut c,
        &[("latency-tracking-info-percentiles", "0x10 .5 1E1")]
    )
    .is_ok());
    assert_eq!(c.get_str("latency-tracking-info-percentiles"), "16 0.5 10");
    for bad in ["1e400", "1e-400", "nan", "1_0", "+-5"] {
        let r = set(&mut c, &[("latency-tracking-info-percentiles", bad)]);
        let msg = "Invalid latency-tracking-info-percentiles parameters";
        assert_eq!(r, fail("latency-tracking-info-percentiles", msg), "{bad}");
    }
    assert!(set(&mut c, &[("maxmemory", "")]).is_ok()); // Redis reads "" as 0
    assert_eq!(c.maxmemory(), 0);
    assert!(set(&mut c, &[("requirepass", "a b")]).is_ok());
    assert_eq!(c.requirepass(), Some("a b"));
    assert!(set(&mut c, &[("hz", "1000")]).is_ok());
    assert_eq!(c.hz(), 500);
}

#[test]
fn config_set_errors_match_redis() {
    let mut c = Config::default();
    let unknown = |n: &str| {
        Err(format!(
            "ERR Unknown option or number of arguments for CONFIG SET - '{n}'"
        ))
    };
    assert_eq!(set(&mut c, &[("foo", "1")]), unknown("foo"));
    assert_eq!(
        set(&mut c, &[("maxmemory", "1"), ("foo", "2")]),
        unknown("foo")
    );
    assert_eq!(set(&mut c, &[("include", "x")]), unknown("include"));
    assert_eq!(
        set(&mut c, &[("maxmemory", "1x")]),
        fail("maxmemory", "argument must be a memory value")
    );
    assert_eq!(
        set(&mut c, &[("databases", "4")]),
        fail("databases", "can't set immutable config")
    );
    assert_eq!(
        set(&mut c, &[("slaveof", "a 1")]),
        fail("slaveof", "can't set immutable config")
    );
    assert_eq!(
        set(&mut c, &[("daemonize", "yes")]),
        fail("daemonize", "can't set immutable config")
    );
    assert_eq!(
        set(&mut c, &[("threads", "2")]),
        fail("threads", "can't set immutable config")
    );
    assert_eq!(
        set(&mut c, &[("port", "7903"), ("port", "7904")]),
        fail("port", "duplicate parameter")
    );
    assert_eq!(
        set(&mut c, &[("maxmemory", "1"), ("MAXMEMORY", "2")]),
        fail("MAXMEMORY", "duplicate parameter")
    );
    // Checks run pair by pair, in order, before any value is parsed.
    assert_eq!(
        set(&mut c, &[("maxmemory", "abc"), ("databases", "1")]),
        fail("databases", "can't set immutable config")
    );
    assert_eq!(
        set(
            &mut c,
            &[("maxmemory", "1"), ("maxmemory", "2"), ("databases", "1")]
        ),
        fail("maxmemory", "duplicate parameter")
    );
    assert_eq!(
        set(&mut c, &[("dir", "/tmp")]),
        fail("dir", "can't set protected config")
    );
    assert_eq!(
        set(&mut c, &[("dbfilename", "x.rdb")]),
        fail("dbfilename", "can't set protected config")
    );
    assert_eq!(
        set(&mut c, &[("maxmemory", "5mb"), ("hz", "abc")]),
        fail("hz", "argument couldn't be parsed into an integer")
    );
    assert_eq!(
        set(&mut c, &[("loglevel", "LOUD")]),
        fail(
            "loglevel",
            "argument(s) must be one of the following: debug, verbose, notice, warning"
        )
    );
    assert_eq!(
        set(&mut c, &[("client-output-buffer-limit", "foo 1 2 3")]),
        fail(
            "client-output-buffer-limit",
            "Invalid client class specified in buffer limit configuration."
        )
    );
    assert_eq!(
        set(&mut c, &[("notify-keyspace-events", "Q")]),
        fail(
            "notify-keyspace-events",
            "Invalid event class character. Use 'Ag$lshzxeKEtmdn'."
        )
    );
    assert_eq!(
        set(&mut c, &[("hz", "-1")]),
        fail("hz", "argument must be between 0 and 2147483647 inclusive")
    );
    assert_eq!(
        set(&mut c, &[("maxmemory-clients", "200%")]),
        fail(
            "maxmemory-clients",
            "percentage argument must be less or equal to 100"
        )
    );
    assert_eq!(
        set(&mut c, &[("maxmemory-clients", "-5%")]),
        fail(
            "maxmemory-clients",
            "argument must be a memory or percent value"
        )
    );
    assert_eq!(
        set(&mut c, &[("maxmemory-clients", "9223372036854775808")]),
        fail(
            "maxmemory-clients",
            "percentage argument must be less or equal to 100"
        )
    );
    assert_eq!(
        set(&mut c, &[("timeout", "+10")]),
        fail("timeout", "argument couldn't be parsed into an integer")
    );
    assert_eq!(
        set(&mut c, &[("timeout", "10 ")]),
        fail("timeout", "argument couldn't be parsed into an integer")
    );
    assert_eq!(
        set(&mut c, &[("oom-score-adj-values", "1 2")]),
        fail("oom-score-adj-values", "wrong number of arguments")
    );
    assert_eq!(
        set(&mut c, &[("shutdown-on-sigterm", "")]),
        fail(
            "shutdown-on-sigterm",
            "argument(s) must be one of the following: default, save, nosave, now, force"
        )
    );
    assert_eq!(
        set(&mut c, &[("latency-tracking-info-percentiles", " 5")]),
        fail(
            "latency-tracking-info-percentiles",
            "Invalid latency-tracking-info-percentiles parameters"
        )
    );
    assert_eq!(
        set(&mut c, &[("latency-tracking-info-percentiles", "inf")]),
        fail(
            "latency-tracking-info-percentiles",
            "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]"
        )
    );
    assert_eq!(
        set(&mut c, &[("cluster-announce-hostname", "zz!notvalid")]),
        fail(
            "cluster-announce-hostname",
            "Hostnames may only contain alphanumeric characters, hyphens or dots"
        )
    );
    assert_eq!(
        set(&mut c, &[("proto-max-bulk-len", "1")]),
        fail(
            "proto-max-bulk-len",
            "argument must be between 1048576 and 9223372036854775807 inclusive"
        )
    );
    assert_eq!(
        set(&mut c, &[("hll-sparse-max-bytes", "-1")]),
        fail("hll-sparse-max-bytes", "argument must be a memory value")
    );
    assert_eq!(
        set(&mut c, &[("list-max-listpack-size", "1mb")]),
        fail(
            "list-max-listpack-size",
            "argument couldn't be parsed into an integer"
        )
    );
    // Nothing above changed anything.
    let d = Config::default();
    assert_eq!(get(&c, &["*"]), get(&d, &["*"]));
}

#[test]
fn config_set_is_all_or_nothing() {
    let mut c = Config::default();
    let before = get(&c, &["*"]);
    let r = set(
        &mut c,
        &[("maxmemory", "10mb"), ("timeout", "abc"), ("port", "7000")],
    );
    assert_eq!(
        r,
        fail("timeout", "argument couldn't be parsed into an integer")
    );
    assert_eq!(get(&c, &["*"]), before);
    let r = set(
        &mut c,
        &[
            ("client-output-buffer-limit", "normal 1 1 1"),
            ("save", "1"),
        ],
    );
    assert_eq!(r, fail("save", "Invalid save parameters"));
    assert_eq!(get(&c, &["*"]), before);
    let r = set(
        &mut c,
        &[("maxmemory", "10mb"), ("timeout", "7"), ("port", "7000")],
    );
    assert_eq!(
        r,
        Ok(vec![
            "maxmemory".to_string(),
            "timeout".to_string(),
            "port".to_string()
        ])
    );
    assert_eq!(
        (c.maxmemory(), c.get_i64("timeout"), c.port()),
        (10 << 20, 7, 7000)
    );
}

#[test]
fn alias_and_name_in_one_set_is_not_a_duplicate() {
    // redis-server 7.0 accepts this; the last one wins.
    let mut c = Config::default();
    assert!(set(
        &mut c,
        &[
            ("hash-max-ziplist-entries", "1"),
            ("hash-max-listpack-entries", "2")
        ]
    )
    .is_ok());
    assert_eq!(c.get_str("hash-max-ziplist-entries"), "2");
}

#[test]
fn protected_configs() {
    let dir = super::tests_parse::tmpdir("protected");
    std::fs::create_dir_all(dir.join("data")).expect("mkdir");
    let arg = |s: &str| s.to_string();
    let mut c = Config::load_in(
        &dir,
        None,
        &[arg("--enable-protected-configs"), arg("local")],
        None,
    )
    .expect("ok");
    let pairs: [(&[u8], &[u8]); 1] = [(b"dir", b"data")];
    assert_eq!(
        c.set_as(&pairs, false),
        fail("dir", "can't set protected config")
    );
    assert_eq!(c.set_as(&pairs, true), Ok(vec!["dir".to_string()]));
    assert_eq!(c.dir(), dir.join("data").as_path());
    let mut c = Config::load_in(
        &dir,
        None,
        &[arg("--enable-protected-configs"), arg("yes")],
        None,
    )
    .expect("ok");
    assert_eq!(
        set(&mut c, &[("dir", "/nonexistent-tessera")]),
        fail("dir", "No such file or directory")
    );
    assert_eq!(
        set(&mut c, &[("dbfilename", "a/b")]),
        fail("dbfilename", "dbfilename can't be a path, just a filename")
    );
    assert!(set(&mut c, &[("dbfilename", "x.rdb")]).is_ok());
}

#[test]
fn typed_getters() {
    let c = Config::default();
    assert_eq!(c.port(), 6379);
    assert_eq!(c.bind(), vec!["*", "-::*"]);
    assert_eq!(c.threads(), 0);
    assert_eq!(c.databases(), 16);
    assert_eq!(c.loglevel(), "notice");
    assert_eq!(c.requirepass(), None);
    assert_eq!(c.maxmemory(), 0);
    assert_eq!(c.maxmemory_policy(), "noeviction");
    assert_eq!(c.hz(), 10);
    assert!(c.get_bool("protected-mode"));
    assert!(!c.get_bool("daemonize"));
    assert_eq!(c.get_i64("client-query-buffer-limit"), 1 << 30);
    assert_eq!(c.get_i64("slowlog-log-slower-than"), 10000);
    assert_eq!(c.get_str("no-such-directive"), "");
    assert_eq!(c.get_i64("no-such-directive"), 0);
    assert!(!c.get_bool("no-such-directive"));
    assert_eq!(c.save_params(), vec![(3600, 1), (300, 100), (60, 10000)]);
    assert_eq!(
        c.client_output_buffer_limit("pubsub"),
        Some((32 << 20, 8 << 20, 60))
    );
    assert_eq!(c.client_output_buffer_limit("master"), None);
    assert!(c.is_default("port"));
    assert_eq!(directive("SLAVEOF").map(|d| d.name), Some("replicaof"));
    let c = Config::load(None, &["--threads".to_string(), "3".to_string()]).expect("ok");
    assert_eq!(c.threads(), 3);
    fn assert_traits<T: Clone + Send + Sync + std::fmt::Debug>() {}
    assert_traits::<Config>();
}
