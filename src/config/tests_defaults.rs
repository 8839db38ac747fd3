//! The defaults table checked against redis-server 7.0.15.
//!
//! The expected lists below were captured from a real `redis-server` 7.0.15 (Debian)
//! started with no config file: `CONFIG GET *` (port shown as 6379; `dir` left out as it
//! is the working directory), plus the hidden directives queried by exact name.

use super::*;
use std::collections::HashMap;

const REDIS_DEFAULTS: &[(&str, &str)] = &[
    ("acl-pubsub-default", "resetchannels"),
    ("aclfile", ""),
    ("acllog-max-len", "128"),
    ("active-defrag-cycle-max", "25"),
    ("active-defrag-cycle-min", "1"),
    ("active-defrag-ignore-bytes", "104857600"),
    ("active-defrag-max-scan-fields", "1000"),
    ("active-defrag-threshold-lower", "10"),
    ("active-defrag-threshold-upper", "100"),
    ("active-expire-effort", "1"),
    ("activedefrag", "no"),
    ("activerehashing", "yes"),
    ("always-show-logo", "no"),
    ("aof-disable-auto-gc", "no"),
    ("aof-load-truncated", "yes"),
    ("aof-rewrite-incremental-fsync", "yes"),
    ("aof-timestamp-enabled", "no"),
    ("aof-use-rdb-preamble", "yes"),
    ("aof_rewrite_cpulist", ""),
    ("appenddirname", "appendonlydir"),
    ("appendfilename", "appendonly.aof"),
    ("appendfsync", "everysec"),
    ("appendonly", "no"),
    ("auto-aof-rewrite-min-size", "67108864"),
    ("auto-aof-rewrite-percentage", "100"),
    ("bgsave_cpulist", ""),
    ("bind", "* -::*"),
    ("bind-source-addr", ""),
    ("bio_cpulist", ""),
    ("busy-reply-threshold", "5000"),
    (
        "client-output-buffer-limit",
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
    ),
    ("client-query-buffer-limit", "1073741824"),
    ("cluster-allow-pubsubshard-when-down", "yes"),
    ("cluster-allow-reads-when-down", "no"),
    ("cluster-allow-replica-migration", "yes"),
    ("cluster-announce-bus-port", "0"),
    ("cluster-announce-hostname", ""),
    ("cluster-announce-ip", ""),
    ("cluster-announce-port", "0"),
    ("cluster-announce-tls-port", "0"),
    ("cluster-config-file", "nodes.conf"),
    ("cluster-enabled", "no"),
    ("cluster-link-sendbuf-limit", "0"),
    ("cluster-migration-barrier", "1"),
    ("cluster-node-timeout", "15000"),
    ("cluster-port", "0"),
    ("cluster-preferred-endpoint-type", "ip"),
    ("cluster-replica-no-failover", "no"),
    ("cluster-replica-validity-factor", "10"),
    ("cluster-require-full-coverage", "yes"),
    ("cluster-slave-no-failover", "no"),
    ("cluster-slave-validity-factor", "10"),
    ("crash-log-enabled", "yes"),
    ("crash-memcheck-enabled", "yes"),
    ("daemonize", "no"),
    ("databases", "16"),
    ("dbfilename", "dump.rdb"),
    ("disable-thp", "yes"),
    ("dynamic-hz", "yes"),
    ("enable-debug-command", "no"),
    ("enable-module-command", "no"),
    ("enable-protected-configs", "no"),
    ("hash-max-listpack-entries", "512"),
    ("hash-max-listpack-value", "64"),
    ("hash-max-ziplist-entries", "512"),
    ("hash-max-ziplist-value", "64"),
    ("hll-sparse-max-bytes", "3000"),
    ("hz", "10"),
    ("ignore-warnings", ""),
    ("io-threads", "1"),
    ("io-threads-do-reads", "no"),
    ("jemalloc-bg-thread", "yes"),
    ("latency-monitor-threshold", "0"),
    ("latency-tracking", "yes"),
    ("latency-tracking-info-percentiles", "50 99 99.9"),
    ("lazyfree-lazy-eviction", "no"),
    ("lazyfree-lazy-expire", "no"),
    ("lazyfree-lazy-server-del", "no"),
    ("lazyfree-lazy-user-del", "no"),
    ("lazyfree-lazy-user-flush", "no"),
    ("lfu-decay-time", "1"),
    ("lfu-log-factor", "10"),
    ("list-compress-depth", "0"),
    ("list-max-listpack-size", "-2"),
    ("list-max-ziplist-size", "-2"),
    ("logfile", ""),
    ("loglevel", "notice"),
    ("lua-time-limit", "5000"),
    ("masterauth", ""),
    ("masteruser", ""),
    ("maxclients", "10000"),
    ("maxmemory", "0"),
    ("maxmemory-clients", "0"),
    ("maxmemory-eviction-tenacity", "10"),
    ("maxmemory-policy", "noeviction"),
    ("maxmemory-samples", "5"),
    ("min-replicas-max-lag", "10"),
    ("min-replicas-to-write", "0"),
    ("min-slaves-max-lag", "10"),
    ("min-slaves-to-write", "0"),
    ("no-appendfsync-on-rewrite", "no"),
    ("notify-keyspace-events", ""),
    ("oom-score-adj", "no"),
    ("oom-score-adj-values", "0 200 800"),
    ("pidfile", ""),
    ("port", "6379"),
    ("proc-title-template", "{title} {listen-addr} {server-mode}"),
    ("propagation-error-behavior", "ignore"),
    ("protected-mode", "yes"),
    ("proto-max-bulk-len", "536870912"),
    ("rdb-del-sync-files", "no"),
    ("rdb-save-incremental-fsync", "yes"),
    ("rdbchecksum", "yes"),
    ("rdbcompression", "yes"),
    ("repl-backlog-size", "1048576"),
    ("repl-backlog-ttl", "3600"),
    ("repl-disable-tcp-nodelay", "no"),
    ("repl-diskless-load", "disabled"),
    ("repl-diskless-sync", "yes"),
    ("repl-diskless-sync-delay", "5"),
    ("repl-diskless-sync-max-replicas", "0"),
    ("repl-ping-replica-period", "10"),
    ("repl-ping-slave-period", "10"),
    ("repl-timeout", "60"),
    ("replica-announce-ip", ""),
    ("replica-announce-port", "0"),
    ("replica-announced", "yes"),
    ("replica-ignore-disk-write-errors", "no"),
    ("replica-ignore-maxmemory", "yes"),
    ("replica-lazy-flush", "no"),
    ("replica-priority", "100"),
    ("replica-read-only", "yes"),
    ("replica-serve-stale-data", "yes"),
    ("replicaof", ""),
    ("requirepass", ""),
    ("sanitize-dump-payload", "no"),
    ("save", "3600 1 300 100 60 10000"),
    ("server_cpulist", ""),
    ("set-max-intset-entries", "512"),
    ("set-proc-title", "yes"),
    ("shutdown-on-sigint", "default"),
    ("shutdown-on-sigterm", "default"),
    ("shutdown-timeout", "10"),
    ("slave-announce-ip", ""),
    ("slave-announce-port", "0"),
    ("slave-ignore-maxmemory", "yes"),
    ("slave-lazy-flush", "no"),
    ("slave-priority", "100"),
    ("slave-read-only", "yes"),
    ("slave-serve-stale-data", "yes"),
    ("slaveof", ""),
    ("slowlog-log-slower-than", "10000"),
    ("slowlog-max-len", "128"),
    ("socket-mark-id", "0"),
    ("stop-writes-on-bgsave-error", "yes"),
    ("stream-node-max-bytes", "4096"),
    ("stream-node-max-entries", "100"),
    ("supervised", "no"),
    ("syslog-enabled", "no"),
    ("syslog-facility", "local0"),
    ("syslog-ident", "redis"),
    ("tcp-backlog", "511"),
    ("tcp-keepalive", "300"),
    ("timeout", "0"),
    ("tls-auth-clients", "yes"),
    ("tls-ca-cert-dir", ""),
    ("tls-ca-cert-file", ""),
    ("tls-cert-file", ""),
    ("tls-ciphers", ""),
    ("tls-ciphersuites", ""),
    ("tls-client-cert-file", ""),
    ("tls-client-key-file", ""),
    ("tls-client-key-file-pass", ""),
    ("tls-cluster", "no"),
    ("tls-dh-params-file", ""),
    ("tls-key-file", ""),
    ("tls-key-file-pass", ""),
    ("tls-port", "0"),
    ("tls-prefer-server-ciphers", "no"),
    ("tls-protocols", ""),
    ("tls-replication", "no"),
    ("tls-session-cache-size", "20480"),
    ("tls-session-cache-timeout", "300"),
    ("tls-session-caching", "yes"),
    ("tracking-table-max-keys", "1000000"),
    ("unixsocket", ""),
    ("unixsocketperm", "0"),
    ("zset-max-listpack-entries", "128"),
    ("zset-max-listpack-value", "64"),
    ("zset-max-ziplist-entries", "128"),
    ("zset-max-ziplist-value", "64"),
];

const REDIS_HIDDEN_DEFAULTS: &[(&str, &str)] = &[
    ("key-load-delay", "0"),
    ("loading-process-events-interval-bytes", "2097152"),
    ("lua-enable-deprecated-api", "no"),
    ("rdb-key-save-delay", "0"),
    ("use-exit-on-panic", "no"),
    ("watchdog-period", "0"),
];

#[test]
fn config_get_star_matches_redis_defaults() {
    let cfg = Config::default();
    let got: HashMap<String, String> = cfg.get(&[b"*"]).into_iter().collect();
    for (name, want) in REDIS_DEFAULTS {
        assert_eq!(
            got.get(*name).map(String::as_str),
            Some(*want),
            "default of {name}"
        );
    }
    // Nothing more than Redis's list, besides `dir` and Tessera's own `threads`.
    let mut extra: Vec<&String> = got
        .keys()
        .filter(|k| !REDIS_DEFAULTS.iter().any(|(n, _)| n == k))
        .collect();
    extra.sort();
    assert_eq!(extra, vec!["dir", "threads"]);
    assert_eq!(got.len(), REDIS_DEFAULTS.len() + 2);
}

#[test]
fn hidden_defaults_match_and_need_exact_names() {
    let cfg = Config::default();
    for (name, want) in REDIS_HIDDEN_DEFAULTS {
        let got = cfg.get(&[name.as_bytes()]);
        assert_eq!(
            got,
            vec![(name.to_string(), want.to_string())],
            "hidden {name}"
        );
        let pattern = format!("{name}*");
        assert!(
            cfg.get(&[pattern.as_bytes()]).is_empty(),
            "{name} must not match a pattern"
        );
    }
}

#[test]
fn dir_default_is_the_working_directory() {
    let cfg = Config::default();
    let cwd = std::env::current_dir().expect("cwd");
    assert_eq!(cfg.get_str("dir"), cwd.to_string_lossy());
}

#[test]
fn every_default_parses_back_to_itself() {
    let cwd = std::env::current_dir().expect("cwd");
    for d in DIRECTIVES.iter().filter(|d| !d.kind.is_file_only()) {
        let v = value::default_value(d, &cwd);
        if d.kind != Kind::Str(StrCheck::Dir) {
            assert_eq!(v.text, d.default, "{}", d.name);
        }
    }
}

#[test]
fn table_has_no_duplicate_names() {
    let mut seen = HashSet::new();
    for d in DIRECTIVES {
        assert!(seen.insert(d.name), "{} twice", d.name);
        for a in d.aliases {
            assert!(seen.insert(a), "{a} twice");
        }
        assert_eq!(d.name, d.name.to_ascii_lowercase());
    }
}

#[test]
fn implemented_set_is_the_agreed_one() {
    let mut got: Vec<&str> = DIRECTIVES
        .iter()
        .filter(|d| d.implemented)
        .map(|d| d.name)
        .collect();
    got.sort();
    let mut want = vec![
        "port",
        "bind",
        "protected-mode",
        "requirepass",
        "databases",
        "loglevel",
        "logfile",
        "maxclients",
        "timeout",
        "tcp-keepalive",
        "tcp-backlog",
        "hz",
        "dynamic-hz",
        "maxmemory",
        "maxmemory-policy",
        "maxmemory-samples",
        "proto-max-bulk-len",
        "client-query-buffer-limit",
        "client-output-buffer-limit",
        "slowlog-log-slower-than",
        "slowlog-max-len",
        "threads",
        "daemonize",
        "pidfile",
        "dir",
        "dbfilename",
        "lazyfree-lazy-eviction",
        "lazyfree-lazy-expire",
        "lazyfree-lazy-server-del",
        "lazyfree-lazy-user-del",
        "lazyfree-lazy-user-flush",
        "active-expire-effort",
        "maxmemory-eviction-tenacity",
        "lfu-log-factor",
        "lfu-decay-time",
        "latency-tracking",
        "notify-keyspace-events",
        "include",
    ];
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn immutable_set_matches_redis() {
    // Captured from redis-server 7.0.15: CONFIG SET answers "can't set immutable config".
    let mut want = vec![
        "aclfile",
        "always-show-logo",
        "aof_rewrite_cpulist",
        "appenddirname",
        "appendfilename",
        "bgsave_cpulist",
        "bio_cpulist",
        "cluster-config-file",
        "cluster-enabled",
        "cluster-port",
        "daemonize",
        "databases",
        "disable-thp",
        "enable-debug-command",
        "enable-module-command",
        "enable-protected-configs",
        "io-threads",
        "io-threads-do-reads",
        "logfile",
        "pidfile",
        "rdbchecksum",
        "replicaof",
        "server_cpulist",
        "set-proc-title",
        "socket-mark-id",
        "supervised",
        "syslog-enabled",
        "syslog-facility",
        "syslog-ident",
        "tcp-backlog",
        "unixsocket",
        "unixsocketperm",
        "lua-enable-deprecated-api",
        "threads",
    ];
    want.sort();
    let mut got: Vec<&str> = DIRECTIVES
        .iter()
        .filter(|d| !d.mutable && !d.kind.is_file_only())
        .map(|d| d.name)
        .collect();
    got.sort();
    assert_eq!(got, want);
}

#[test]
fn example_config_file_lists_every_implemented_directive_at_its_default() {
    let text = include_str!("../../config/tessera.conf");
    let cwd = std::env::current_dir().expect("cwd");
    let c = Config::load_in(&cwd, Some("-"), &[], Some(text)).expect("example config loads");
    let d = Config::default();
    assert_eq!(c.get(&[b"*"]), d.get(&[b"*"]), "every value is the default");
    for dir in DIRECTIVES.iter().filter(|d| d.implemented) {
        let active = text
            .lines()
            .any(|l| l.split_whitespace().next() == Some(dir.name));
        let commented = text
            .lines()
            .any(|l| l.starts_with(&format!("# {} ", dir.name)));
        assert!(
            active || commented,
            "{} is missing from config/tessera.conf",
            dir.name
        );
    }
}
