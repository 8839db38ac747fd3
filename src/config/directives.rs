//! The directives table: every Redis 7.0 configuration directive (plus Tessera's own
//! `threads`), with its kind, default, aliases and flags.
//!
//! Defaults are written exactly as the real redis-server 7.0 shows them in `CONFIG GET`.
//! The table is data; the behaviour lives in `value.rs` (parsing and formatting),
//! `parse.rs` (files and command lines) and `rewrite.rs` (CONFIG REWRITE).

/// How a directive's value is parsed, shown and rewritten.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `yes` / `no` (case-insensitive). Shown as `yes`/`no`.
    Bool,
    /// A plain integer (no units) within `min..=max`.
    Int { min: i64, max: i64 },
    /// A memory size: plain bytes or a number with a unit (`k`=1000, `kb`=1024, `m`, `mb`,
    /// `g`, `gb`, `b`; case-insensitive), within `min..=max` bytes. Shown in bytes.
    Mem { min: u64, max: u64 },
    /// A memory size or a percentage (`maxmemory-clients`): `10%` or `1gb`.
    MemOrPercent,
    /// An octal number (`unixsocketperm`), within `0..=max`.
    Octal { max: i64 },
    /// One of a fixed set of names (case-insensitive). Names sharing an id are aliases; the
    /// first name with the current id is the one shown.
    Enum(&'static [(&'static str, i32)]),
    /// One or more flag names (`shutdown-on-sigint`); the first entry is the "none" name.
    Flags(&'static [(&'static str, u32)]),
    /// A free string, with an optional check.
    Str(StrCheck),
    /// `save <seconds> <changes> [<seconds> <changes> ...]`, or `save ""`.
    Save,
    /// `bind <addr> [<addr> ...]` (at most 16 addresses).
    Bind,
    /// `client-output-buffer-limit <class> <hard> <soft> <soft-seconds> [...]`, merged per class.
    ClientOutputBufferLimit,
    /// `oom-score-adj-values <replica> <master> <bg-child>`.
    OomScoreAdjValues,
    /// `latency-tracking-info-percentiles <p> [<p> ...]` (floats in 0..=100).
    Percentiles,
    /// `replicaof <host> <port>` or `replicaof no one`.
    ReplicaOf,
    /// `notify-keyspace-events <classes>`, e.g. `KEA`.
    NotifyKeyspaceEvents,
    /// `include <path-or-glob>` (file only).
    Include,
    /// `rename-command <command> <new-name>` (file only).
    RenameCommand,
    /// `user <name> [rules ...]` (file only, stored for the ACL module).
    User,
    /// `loadmodule <path> [args ...]` (file only, stored).
    LoadModule,
    /// `sentinel ...` (file only; refused as redis-server does outside sentinel mode).
    Sentinel,
    /// Directives Redis 7.0 still accepts in a file but ignores.
    Deprecated,
}

impl Kind {
    /// Directives that take several arguments on one line (in a file) and whose CONFIG SET
    /// value is split on single spaces, as Redis does.
    pub fn is_multi_arg(&self) -> bool {
        matches!(
            self,
            Kind::Flags(_)
                | Kind::Save
                | Kind::Bind
                | Kind::ClientOutputBufferLimit
                | Kind::OomScoreAdjValues
                | Kind::Percentiles
                | Kind::ReplicaOf
        )
    }

    /// Directives that exist only in configuration files (never in CONFIG GET/SET).
    pub fn is_file_only(&self) -> bool {
        matches!(
            self,
            Kind::Include
                | Kind::RenameCommand
                | Kind::User
                | Kind::LoadModule
                | Kind::Sentinel
                | Kind::Deprecated
        )
    }
}

/// Extra validation for string directives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrCheck {
    None,
    /// Must be an existing directory; stored as its absolute path.
    Dir,
    /// A file name without `/` (`dbfilename`).
    FileName,
    /// A non-empty file name without `/` (`appendfilename`).
    AofFileName,
    /// A non-empty directory name without `/` (`appenddirname`).
    DirName,
    /// Letters, digits, `-` and `.` only (`cluster-announce-hostname`).
    Hostname,
    /// `{title}`-style template with known variables (`proc-title-template`).
    ProcTitle,
}

/// One configuration directive.
#[derive(Debug, Clone, Copy)]
pub struct Directive {
    /// Canonical (Redis 7.0) name, lower case.
    pub name: &'static str,
    /// Other names accepted everywhere (file, CONFIG GET/SET), e.g. `slaveof`.
    pub aliases: &'static [&'static str],
    pub kind: Kind,
    /// The default, formatted as CONFIG GET shows it. (`dir` defaults to the working
    /// directory at start-up and is filled in at run time.)
    pub default: &'static str,
    /// Settable with CONFIG SET (Redis's non-IMMUTABLE configs).
    pub mutable: bool,
    /// Redis "protected" config: CONFIG SET refused unless `enable-protected-configs`.
    pub protected: bool,
    /// Hidden configs only match an exact name in CONFIG GET, never a pattern.
    pub hidden: bool,
    /// Tessera acts on this directive; all others are accepted and stored only.
    pub implemented: bool,
    /// An empty string means "not set": CONFIG REWRITE drops the line instead of writing
    /// `name ""` (Redis's nullable string configs).
    pub nullable: bool,
}

const fn d(name: &'static str, kind: Kind, default: &'static str) -> Directive {
    Directive {
        name,
        aliases: &[],
        kind,
        default,
        mutable: true,
        protected: false,
        hidden: false,
        implemented: false,
        nullable: false,
    }
}

/// A file-only directive (never in CONFIG GET/SET, nothing to default).
const fn f(name: &'static str, kind: Kind) -> Directive {
    let mut x = d(name, kind, "");
    x.mutable = false;
    x
}

impl Directive {
    const fn imm(mut self) -> Self {
        self.mutable = false;
        self
    }
    const fn imp(mut self) -> Self {
        self.implemented = true;
        self
    }
    const fn hidden(mut self) -> Self {
        self.hidden = true;
        self
    }
    const fn protected(mut self) -> Self {
        self.protected = true;
        self
    }
    const fn nullable(mut self) -> Self {
        self.nullable = true;
        self
    }
    const fn alias(mut self, aliases: &'static [&'static str]) -> Self {
        self.aliases = aliases;
        self
    }
}

const fn int(min: i64, max: i64) -> Kind {
    Kind::Int { min, max }
}
const fn mem(min: u64, max: u64) -> Kind {
    Kind::Mem { min, max }
}

const INTMAX: i64 = i32::MAX as i64;
const INTMIN: i64 = i32::MIN as i64;
const UINTMAX: i64 = u32::MAX as i64;
const I64MAX: u64 = i64::MAX as u64;

pub const ACL_PUBSUB_DEFAULT: &[(&str, i32)] = &[("allchannels", 0), ("resetchannels", 1)];
pub const APPENDFSYNC: &[(&str, i32)] = &[("everysec", 0), ("always", 1), ("no", 2)];
pub const CLUSTER_PREFERRED_ENDPOINT_TYPE: &[(&str, i32)] =
    &[("ip", 0), ("hostname", 1), ("unknown-endpoint", 2)];
pub const NO_YES_LOCAL: &[(&str, i32)] = &[("no", 0), ("yes", 1), ("local", 2)];
pub const LOGLEVEL: &[(&str, i32)] = &[("debug", 0), ("verbose", 1), ("notice", 2), ("warning", 3)];
pub const MAXMEMORY_POLICY: &[(&str, i32)] = &[
    ("volatile-lru", 0),
    ("volatile-lfu", 1),
    ("volatile-random", 2),
    ("volatile-ttl", 3),
    ("allkeys-lru", 4),
    ("allkeys-lfu", 5),
    ("allkeys-random", 6),
    ("noeviction", 7),
];
/// `yes` is Redis's old spelling of `relative`.
pub const OOM_SCORE_ADJ: &[(&str, i32)] =
    &[("no", 0), ("yes", 1), ("relative", 1), ("absolute", 2)];
pub const PROPAGATION_ERROR_BEHAVIOR: &[(&str, i32)] =
    &[("ignore", 0), ("panic", 1), ("panic-on-replicas", 2)];
pub const REPL_DISKLESS_LOAD: &[(&str, i32)] =
    &[("disabled", 0), ("on-empty-db", 1), ("swapdb", 2)];
pub const SANITIZE_DUMP_PAYLOAD: &[(&str, i32)] = &[("no", 0), ("yes", 1), ("clients", 2)];
pub const SUPERVISED: &[(&str, i32)] = &[("upstart", 0), ("systemd", 1), ("auto", 2), ("no", 3)];
pub const SYSLOG_FACILITY: &[(&str, i32)] = &[
    ("user", 0),
    ("local0", 1),
    ("local1", 2),
    ("local2", 3),
    ("local3", 4),
    ("local4", 5),
    ("local5", 6),
    ("local6", 7),
    ("local7", 8),
];
pub const TLS_AUTH_CLIENTS: &[(&str, i32)] = &[("no", 0), ("yes", 1), ("optional", 2)];
/// `shutdown-on-sigint` / `shutdown-on-sigterm` flags; `default` is "no flag".
pub const SHUTDOWN_FLAGS: &[(&str, u32)] = &[
    ("default", 0),
    ("save", 1),
    ("nosave", 2),
    ("now", 4),
    ("force", 8),
];

/// Every directive. Sorted by name, except Tessera's own and the file-only ones at the end.
#[rustfmt::skip]
pub static DIRECTIVES: &[Directive] = &[
    d("acl-pubsub-default", Kind::Enum(ACL_PUBSUB_DEFAULT), "resetchannels"),
    d("aclfile", Kind::Str(StrCheck::None), "").imm(),
    d("acllog-max-len", int(0, i64::MAX), "128"),
    d("active-defrag-cycle-max", int(1, 99), "25"),
    d("active-defrag-cycle-min", int(1, 99), "1"),
    d("active-defrag-ignore-bytes", mem(1, I64MAX), "104857600"),
    d("active-defrag-max-scan-fields", int(1, i64::MAX), "1000"),
    d("active-defrag-threshold-lower", int(0, 1000), "10"),
    d("active-defrag-threshold-upper", int(0, 1000), "100"),
    d("active-expire-effort", int(1, 10), "1").imp(),
    d("activedefrag", Kind::Bool, "no"),
    d("activerehashing", Kind::Bool, "yes"),
    d("always-show-logo", Kind::Bool, "no").imm(),
    d("aof-disable-auto-gc", Kind::Bool, "no"),
    d("aof-load-truncated", Kind::Bool, "yes"),
    d("aof-rewrite-incremental-fsync", Kind::Bool, "yes"),
    d("aof-timestamp-enabled", Kind::Bool, "no"),
    d("aof-use-rdb-preamble", Kind::Bool, "yes"),
    d("aof_rewrite_cpulist", Kind::Str(StrCheck::None), "").imm().nullable(),
    d("appenddirname", Kind::Str(StrCheck::DirName), "appendonlydir").imm(),
    d("appendfilename", Kind::Str(StrCheck::AofFileName), "appendonly.aof").imm(),
    d("appendfsync", Kind::Enum(APPENDFSYNC), "everysec"),
    d("appendonly", Kind::Bool, "no"),
    d("auto-aof-rewrite-min-size", mem(0, I64MAX), "67108864"),
    d("auto-aof-rewrite-percentage", int(0, INTMAX), "100"),
    d("bgsave_cpulist", Kind::Str(StrCheck::None), "").imm().nullable(),
    d("bind", Kind::Bind, "* -::*").imp(),
    d("bind-source-addr", Kind::Str(StrCheck::None), "").nullable(),
    d("bio_cpulist", Kind::Str(StrCheck::None), "").imm().nullable(),
    d("busy-reply-threshold", int(0, i64::MAX), "5000").alias(&["lua-time-limit"]),
    d("client-output-buffer-limit", Kind::ClientOutputBufferLimit, "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60").imp(),
    d("client-query-buffer-limit", mem(1048576, I64MAX), "1073741824").imp(),
    d("cluster-allow-pubsubshard-when-down", Kind::Bool, "yes"),
    d("cluster-allow-reads-when-down", Kind::Bool, "no"),
    d("cluster-allow-replica-migration", Kind::Bool, "yes"),
    d("cluster-announce-bus-port", int(0, 65535), "0"),
    d("cluster-announce-hostname", Kind::Str(StrCheck::Hostname), "").nullable(),
    d("cluster-announce-ip", Kind::Str(StrCheck::None), "").nullable(),
    d("cluster-announce-port", int(0, 65535), "0"),
    d("cluster-announce-tls-port", int(0, 65535), "0"),
    d("cluster-config-file", Kind::Str(StrCheck::None), "nodes.conf").imm(),
    d("cluster-enabled", Kind::Bool, "no").imm(),
    d("cluster-link-sendbuf-limit", mem(0, u64::MAX), "0"),
    d("cluster-migration-barrier", int(0, INTMAX), "1"),
    d("cluster-node-timeout", int(0, i64::MAX), "15000"),
    d("cluster-port", int(0, 65535), "0").imm(),
    d("cluster-preferred-endpoint-type", Kind::Enum(CLUSTER_PREFERRED_ENDPOINT_TYPE), "ip"),
    d("cluster-replica-no-failover", Kind::Bool, "no").alias(&["cluster-slave-no-failover"]),
    d("cluster-replica-validity-factor", int(0, INTMAX), "10").alias(&["cluster-slave-validity-factor"]),
    d("cluster-require-full-coverage", Kind::Bool, "yes"),
    d("crash-log-enabled", Kind::Bool, "yes"),
    d("crash-memcheck-enabled", Kind::Bool, "yes"),
    d("daemonize", Kind::Bool, "no").imm().imp(),
    d("databases", int(1, INTMAX), "16").imm().imp(),
    d("dbfilename", Kind::Str(StrCheck::FileName), "dump.rdb").protected().imp(),
    d("dir", Kind::Str(StrCheck::Dir), "").protected().imp(),
    d("disable-thp", Kind::Bool, "yes").imm(),
    d("dynamic-hz", Kind::Bool, "yes").imp(),
    d("enable-debug-command", Kind::Enum(NO_YES_LOCAL), "no").imm(),
    d("enable-module-command", Kind::Enum(NO_YES_LOCAL), "no").imm(),
    d("enable-protected-configs", Kind::Enum(NO_YES_LOCAL), "no").imm(),
    d("hash-max-listpack-entries", int(0, i64::MAX), "512").alias(&["hash-max-ziplist-entries"]),
    d("hash-max-listpack-value", mem(0, I64MAX), "64").alias(&["hash-max-ziplist-value"]),
    d("hll-sparse-max-bytes", mem(0, I64MAX), "3000"),
    d("hz", int(0, INTMAX), "10").imp(),
    d("ignore-warnings", Kind::Str(StrCheck::None), ""),
    d("io-threads", int(1, 128), "1").imm(),
    d("io-threads-do-reads", Kind::Bool, "no").imm(),
    d("jemalloc-bg-thread", Kind::Bool, "yes"),
    d("key-load-delay", int(INTMIN, INTMAX), "0").hidden(),
    d("latency-monitor-threshold", int(0, i64::MAX), "0"),
    d("latency-tracking", Kind::Bool, "yes").imp(),
    d("latency-tracking-info-percentiles", Kind::Percentiles, "50 99 99.9"),
    d("lazyfree-lazy-eviction", Kind::Bool, "no").imp(),
    d("lazyfree-lazy-expire", Kind::Bool, "no").imp(),
    d("lazyfree-lazy-server-del", Kind::Bool, "no").imp(),
    d("lazyfree-lazy-user-del", Kind::Bool, "no").imp(),
    d("lazyfree-lazy-user-flush", Kind::Bool, "no").imp(),
    d("lfu-decay-time", int(0, INTMAX), "1").imp(),
    d("lfu-log-factor", int(0, INTMAX), "10").imp(),
    d("list-compress-depth", int(0, INTMAX), "0"),
    d("list-max-listpack-size", int(INTMIN, INTMAX), "-2").alias(&["list-max-ziplist-size"]),
    d("loading-process-events-interval-bytes", int(1024, INTMAX), "2097152").hidden(),
    d("logfile", Kind::Str(StrCheck::None), "").imm().imp(),
    d("loglevel", Kind::Enum(LOGLEVEL), "notice").imp(),
    d("lua-enable-deprecated-api", Kind::Bool, "no").imm().hidden(),
    d("masterauth", Kind::Str(StrCheck::None), "").nullable(),
    d("masteruser", Kind::Str(StrCheck::None), "").nullable(),
    d("maxclients", int(1, UINTMAX), "10000").imp(),
    d("maxmemory", mem(0, u64::MAX), "0").imp(),
    d("maxmemory-clients", Kind::MemOrPercent, "0"),
    d("maxmemory-eviction-tenacity", int(0, 100), "10").imp(),
    d("maxmemory-policy", Kind::Enum(MAXMEMORY_POLICY), "noeviction").imp(),
    d("maxmemory-samples", int(1, INTMAX), "5").imp(),
    d("min-replicas-max-lag", int(0, INTMAX), "10").alias(&["min-slaves-max-lag"]),
    d("min-replicas-to-write", int(0, INTMAX), "0").alias(&["min-slaves-to-write"]),
    d("no-appendfsync-on-rewrite", Kind::Bool, "no"),
    d("notify-keyspace-events", Kind::NotifyKeyspaceEvents, "").imp(),
    d("oom-score-adj", Kind::Enum(OOM_SCORE_ADJ), "no"),
    d("oom-score-adj-values", Kind::OomScoreAdjValues, "0 200 800"),
    d("pidfile", Kind::Str(StrCheck::None), "").imm().imp().nullable(),
    d("port", int(0, 65535), "6379").imp(),
    d("proc-title-template", Kind::Str(StrCheck::ProcTitle), "{title} {listen-addr} {server-mode}"),
    d("propagation-error-behavior", Kind::Enum(PROPAGATION_ERROR_BEHAVIOR), "ignore"),
    d("protected-mode", Kind::Bool, "yes").imp(),
    d("proto-max-bulk-len", mem(1048576, I64MAX), "536870912").imp(),
    d("rdb-del-sync-files", Kind::Bool, "no"),
    d("rdb-key-save-delay", int(INTMIN, INTMAX), "0").hidden(),
    d("rdb-save-incremental-fsync", Kind::Bool, "yes"),
    d("rdbchecksum", Kind::Bool, "yes").imm(),
    d("rdbcompression", Kind::Bool, "yes"),
    d("repl-backlog-size", mem(1, I64MAX), "1048576"),
    d("repl-backlog-ttl", int(0, i64::MAX), "3600"),
    d("repl-disable-tcp-nodelay", Kind::Bool, "no"),
    d("repl-diskless-load", Kind::Enum(REPL_DISKLESS_LOAD), "disabled"),
    d("repl-diskless-sync", Kind::Bool, "yes"),
    d("repl-diskless-sync-delay", int(0, INTMAX), "5"),
    d("repl-diskless-sync-max-replicas", int(0, INTMAX), "0"),
    d("repl-ping-replica-period", int(1, INTMAX), "10").alias(&["repl-ping-slave-period"]),
    d("repl-timeout", int(1, INTMAX), "60"),
    d("replica-announce-ip", Kind::Str(StrCheck::None), "").alias(&["slave-announce-ip"]).nullable(),
    d("replica-announce-port", int(0, 65535), "0").alias(&["slave-announce-port"]),
    d("replica-announced", Kind::Bool, "yes"),
    d("replica-ignore-disk-write-errors", Kind::Bool, "no"),
    d("replica-ignore-maxmemory", Kind::Bool, "yes").alias(&["slave-ignore-maxmemory"]),
    d("replica-lazy-flush", Kind::Bool, "no").alias(&["slave-lazy-flush"]),
    d("replica-priority", int(0, INTMAX), "100").alias(&["slave-priority"]),
    d("replica-read-only", Kind::Bool, "yes").alias(&["slave-read-only"]),
    d("replica-serve-stale-data", Kind::Bool, "yes").alias(&["slave-serve-stale-data"]),
    d("replicaof", Kind::ReplicaOf, "").alias(&["slaveof"]).imm(),
    d("requirepass", Kind::Str(StrCheck::None), "").imp().nullable(),
    d("sanitize-dump-payload", Kind::Enum(SANITIZE_DUMP_PAYLOAD), "no"),
    d("save", Kind::Save, "3600 1 300 100 60 10000"),
    d("server_cpulist", Kind::Str(StrCheck::None), "").imm().nullable(),
    d("set-max-intset-entries", int(0, i64::MAX), "512"),
    d("set-proc-title", Kind::Bool, "yes").imm(),
    d("shutdown-on-sigint", Kind::Flags(SHUTDOWN_FLAGS), "default"),
    d("shutdown-on-sigterm", Kind::Flags(SHUTDOWN_FLAGS), "default"),
    d("shutdown-timeout", int(0, INTMAX), "10"),
    d("slowlog-log-slower-than", int(-1, i64::MAX), "10000").imp(),
    d("slowlog-max-len", int(0, i64::MAX), "128").imp(),
    d("socket-mark-id", int(0, UINTMAX), "0").imm(),
    d("stop-writes-on-bgsave-error", Kind::Bool, "yes"),
    d("stream-node-max-bytes", mem(0, I64MAX), "4096"),
    d("stream-node-max-entries", int(0, i64::MAX), "100"),
    d("supervised", Kind::Enum(SUPERVISED), "no").imm(),
    d("syslog-enabled", Kind::Bool, "no").imm(),
    d("syslog-facility", Kind::Enum(SYSLOG_FACILITY), "local0").imm(),
    d("syslog-ident", Kind::Str(StrCheck::None), "redis").imm(),
    d("tcp-backlog", int(0, INTMAX), "511").imm().imp(),
    d("tcp-keepalive", int(0, INTMAX), "300").imp(),
    d("timeout", int(0, INTMAX), "0").imp(),
    d("tls-auth-clients", Kind::Enum(TLS_AUTH_CLIENTS), "yes"),
    d("tls-ca-cert-dir", Kind::Str(StrCheck::None), "").nullable(),
    d("tls-ca-cert-file", Kind::Str(StrCheck::None), "").nullable(),
    d("tls-cert-file", Kind::Str(StrCheck::None), "").nullable(),
    d("tls-ciphers", Kind::Str(StrCheck::None), "").nullable(),
    d("tls-ciphersuites", Kind::Str(StrCheck::None), "").nullable(),
    d("tls-client-cert-file", Kind::Str(StrCheck::None), "").nullable(),
    d("tls-client-key-file", Kind::Str(StrCheck::None), "").nullable(),
    d("tls-client-key-file-pass", Kind::Str(StrCheck::None), "").nullable(),
    d("tls-cluster", Kind::Bool, "no"),
    d("tls-dh-params-file", Kind::Str(StrCheck::None), "").nullable(),
    d("tls-key-file", Kind::Str(StrCheck::None), "").nullable(),
    d("tls-key-file-pass", Kind::Str(StrCheck::None), "").nullable(),
    d("tls-port", int(0, 65535), "0"),
    d("tls-prefer-server-ciphers", Kind::Bool, "no"),
    d("tls-protocols", Kind::Str(StrCheck::None), "").nullable(),
    d("tls-replication", Kind::Bool, "no"),
    d("tls-session-cache-size", int(0, INTMAX), "20480"),
    d("tls-session-cache-timeout", int(0, INTMAX), "300"),
    d("tls-session-caching", Kind::Bool, "yes"),
    d("tracking-table-max-keys", int(0, i64::MAX), "1000000"),
    d("unixsocket", Kind::Str(StrCheck::None), "").imm().nullable(),
    d("unixsocketperm", Kind::Octal { max: 0o777 }, "0").imm(),
    d("use-exit-on-panic", Kind::Bool, "no").hidden(),
    d("watchdog-period", int(0, INTMAX), "0").hidden(),
    d("zset-max-listpack-entries", int(0, i64::MAX), "128").alias(&["zset-max-ziplist-entries"]),
    d("zset-max-listpack-value", mem(0, I64MAX), "64").alias(&["zset-max-ziplist-value"]),
    // ---- Tessera's own directive ----
    // Number of shard threads; 0 = one per CPU core.
    d("threads", int(0, 1024), "0").imm().imp(),
    // ---- file-only directives ----
    f("include", Kind::Include).imp(),
    f("rename-command", Kind::RenameCommand),
    f("user", Kind::User),
    f("loadmodule", Kind::LoadModule),
    f("sentinel", Kind::Sentinel),
    f("list-max-ziplist-entries", Kind::Deprecated),
    f("list-max-ziplist-value", Kind::Deprecated),
    f("lua-replicate-commands", Kind::Deprecated),
];
