//! Server commands: INFO CONFIG TIME LASTSAVE SHUTDOWN DEBUG SLOWLOG.

use std::collections::VecDeque;
use std::fmt::Write;

use bytes::Bytes;

use super::connection::REDIS_VERSION;
use super::numbers::parse_i64;
use crate::command::table::TableBuilder;
use crate::command::{flags, Command};
use crate::error::CmdError;
use crate::net::client::Client;
use crate::protocol::Reply;
use crate::server::server;
use crate::shard::mesh::call_all;
use crate::shard::{CmdStat, ShardStats};

pub fn register(t: &mut TableBuilder) {
    t.conn("info", |c, a| Box::pin(info(c, a)));
    t.conn_sync("config|get", config_get);
    t.conn_sync("config|set", config_set);
    t.conn("config|resetstat", |_, _| Box::pin(resetstat()));
    t.conn_sync("config|rewrite", |_, _| match server().config().rewrite() {
        Ok(()) => Reply::Ok,
        Err(e) => Reply::Error(Bytes::from(e)),
    });
    t.conn_sync("config|help", |_, _| super::help::help("config"));
    t.conn_sync("time", |_, _| {
        let us = crate::util::now_us();
        Reply::Array(vec![
            Reply::Bulk(Bytes::from((us / 1_000_000).to_string())),
            Reply::Bulk(Bytes::from((us % 1_000_000).to_string())),
        ])
    });
    t.conn_sync("lastsave", |_, _| {
        Reply::Int(server().lastsave.load(std::sync::atomic::Ordering::Relaxed) as i64)
    });
    t.conn_sync("shutdown", shutdown);
    t.conn_sync("debug", debug);
    t.conn_sync("slowlog|get", slowlog_get);
    t.conn_sync("slowlog|len", |_, _| Reply::Int(slowlog().len() as i64));
    t.conn_sync("slowlog|reset", |_, _| {
        slowlog().clear();
        Reply::Ok
    });
    t.conn_sync("slowlog|help", |_, _| super::help::help("slowlog"));
}

fn config_get(_: &mut Client, a: &[Bytes]) -> Reply {
    let pats: Vec<&[u8]> = a[2..].iter().map(|b| b.as_ref()).collect();
    let pairs = server().config().get(&pats);
    Reply::Map(
        pairs
            .into_iter()
            .map(|(k, v)| (Reply::Bulk(Bytes::from(k)), Reply::Bulk(Bytes::from(v))))
            .collect(),
    )
}

fn config_set(_: &mut Client, a: &[Bytes]) -> Reply {
    if (a.len() - 2) % 2 != 0 {
        return Reply::error(&CmdError::Syntax);
    }
    let pairs: Vec<(&[u8], &[u8])> = a[2..]
        .chunks_exact(2)
        .map(|p| (p[0].as_ref(), p[1].as_ref()))
        .collect();
    match server().update_config(|cfg| {
        cfg.set(&pairs)
            .map(|changed| (changed, cfg.dir().to_path_buf()))
    }) {
        Ok((changed, dir)) => {
            if changed.iter().any(|n| n == "dir") {
                if let Err(e) = std::env::set_current_dir(&dir) {
                    return Reply::Error(Bytes::from(format!(
                        "ERR CONFIG SET failed (possibly related to argument 'dir') - {e}"
                    )));
                }
            }
            Reply::Ok
        }
        Err(e) => Reply::Error(Bytes::from(e)),
    }
}

async fn resetstat() -> Reply {
    let srv = server();
    srv.total_connections
        .store(0, std::sync::atomic::Ordering::Relaxed);
    srv.rejected_connections
        .store(0, std::sync::atomic::Ordering::Relaxed);
    call_all(|s| {
        s.stats = ShardStats::default();
        s.cmdstats.clear();
        s.errorstats.clear();
    })
    .await;
    Reply::Ok
}

fn shutdown(c: &mut Client, a: &[Bytes]) -> Reply {
    let (mut nosave, mut save, mut abort, mut other) = (false, false, false, false);
    for o in &a[1..] {
        match o.to_ascii_lowercase().as_slice() {
            b"nosave" => nosave = true,
            b"save" => save = true,
            b"now" | b"force" => other = true,
            b"abort" => abort = true,
            _ => return Reply::error(&CmdError::Syntax),
        }
    }
    if (nosave && save) || (abort && (nosave || save || other)) {
        return Reply::error(&CmdError::Syntax);
    }
    if abort {
        return Reply::error(&CmdError::err("No shutdown in progress."));
    }
    tracing::warn!("User requested shutdown...");
    c.shutdown = true;
    c.close = true;
    c.reply_mode = crate::net::client::ReplyMode::Off;
    Reply::Ok
}

fn debug(_: &mut Client, a: &[Bytes]) -> Reply {
    let sub = a[1].to_ascii_lowercase();
    match sub.as_slice() {
        b"sleep" if a.len() == 3 => {
            let secs: f64 = std::str::from_utf8(&a[2])
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0.0);
            // Like Redis, this blocks the thread (this shard) for the whole time.
            std::thread::sleep(std::time::Duration::from_secs_f64(secs.clamp(0.0, 3600.0)));
            Reply::Ok
        }
        b"set-active-expire" if a.len() == 3 => {
            // Redis takes atoi() of the argument: on when its leading digits are not 0.
            let digits = a[2].strip_prefix(b"-").unwrap_or(&a[2]);
            let on = digits
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .any(|&b| b != b'0');
            crate::shard::expire::ACTIVE_EXPIRE.store(on, std::sync::atomic::Ordering::Relaxed);
            Reply::Ok
        }
        b"help" => super::help::help("debug"),
        _ => Reply::error(&CmdError::Custom(format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try DEBUG HELP.",
            String::from_utf8_lossy(&a[1])
        ))),
    }
}

#[derive(Clone)]
struct SlowEntry {
    id: u64,
    time: u64,
    usec: u64,
    args: Vec<Bytes>,
    addr: String,
    name: Bytes,
}

/// Redis keeps at most 32 arguments of 128 bytes each per entry.
const SLOWLOG_MAX_ARGC: usize = 32;
const SLOWLOG_MAX_STRING: usize = 128;

fn slowlog_args(args: &[Bytes]) -> Vec<Bytes> {
    let argc = args.len().min(SLOWLOG_MAX_ARGC);
    let mut out = Vec::with_capacity(argc);
    for (j, a) in args.iter().take(argc).enumerate() {
        if argc != args.len() && j == argc - 1 {
            out.push(Bytes::from(format!(
                "... ({} more arguments)",
                args.len() - argc + 1
            )));
        } else if a.len() > SLOWLOG_MAX_STRING {
            let mut v = a[..SLOWLOG_MAX_STRING].to_vec();
            v.extend_from_slice(
                format!("... ({} more bytes)", a.len() - SLOWLOG_MAX_STRING).as_bytes(),
            );
            out.push(Bytes::from(v));
        } else {
            out.push(Bytes::copy_from_slice(a));
        }
    }
    out
}

/// The slowlog is server-wide (its length limit is): one list behind a lock that is
/// taken only for commands slower than the threshold and by SLOWLOG itself.
static SLOWLOG: std::sync::Mutex<VecDeque<SlowEntry>> = std::sync::Mutex::new(VecDeque::new());

static SLOW_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn slowlog() -> std::sync::MutexGuard<'static, VecDeque<SlowEntry>> {
    SLOWLOG.lock().unwrap_or_else(|p| p.into_inner())
}

/// Log a command that ran for at least slowlog-log-slower-than; keep `max` entries.
pub fn slowlog_add(
    cmd: &'static Command,
    args: &[Bytes],
    usec: u64,
    max: usize,
    addr: &str,
    name: Option<&Bytes>,
) {
    if cmd.has(flags::SKIP_SLOWLOG) {
        return;
    }
    let entry = SlowEntry {
        id: SLOW_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        time: crate::util::now_ms() / 1000,
        usec,
        args: slowlog_args(args),
        addr: addr.to_string(),
        name: name.cloned().unwrap_or_default(),
    };
    let mut l = slowlog();
    l.push_front(entry);
    l.truncate(max);
}

fn slowlog_get(_: &mut Client, a: &[Bytes]) -> Reply {
    if a.len() > 3 {
        return Reply::error(&CmdError::Custom(format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try SLOWLOG HELP.",
            String::from_utf8_lossy(&a[1])
        )));
    }
    let count = match a.get(2) {
        None => 10,
        Some(n) => match parse_i64(n) {
            Ok(-1) => i64::MAX,
            Ok(v) if v >= 0 => v,
            _ => {
                return Reply::error(&CmdError::err(
                    "count should be greater than or equal to -1",
                ))
            }
        },
    };
    let all: Vec<SlowEntry> = slowlog()
        .iter()
        .take(count.min(1 << 20) as usize)
        .cloned()
        .collect();
    Reply::Array(
        all.into_iter()
            .map(|e| {
                Reply::Array(vec![
                    Reply::Int(e.id as i64),
                    Reply::Int(e.time as i64),
                    Reply::Int(e.usec as i64),
                    Reply::Array(e.args.into_iter().map(Reply::Bulk).collect()),
                    Reply::Bulk(Bytes::from(e.addr)),
                    Reply::Bulk(e.name),
                ])
            })
            .collect(),
    )
}

struct ShardSnapshot {
    stats: ShardStats,
    cmdstats: Vec<CmdStat>,
    errorstats: Vec<(String, u64)>,
    keyspace: Vec<(usize, usize, u64)>,
    clients: usize,
}

async fn info(c: &mut Client, a: &[Bytes]) -> Reply {
    let snaps = call_all(|s| ShardSnapshot {
        stats: s.stats.clone(),
        cmdstats: s.cmdstats.clone(),
        errorstats: s.errorstats.iter().map(|(k, v)| (k.clone(), *v)).collect(),
        keyspace: s
            .dbs
            .iter()
            .map(|d| (d.len(), d.expires, d.avg_ttl))
            .collect(),
        clients: crate::net::registry::count(),
    })
    .await;
    let _ = c;
    let wanted: Vec<String> = a[1..]
        .iter()
        .map(|s| String::from_utf8_lossy(s).to_ascii_lowercase())
        .collect();
    let all_sections = [
        "server",
        "clients",
        "memory",
        "persistence",
        "stats",
        "replication",
        "cpu",
        "modules",
        "commandstats",
        "errorstats",
        "latencystats",
        "cluster",
        "keyspace",
    ];
    let sections: Vec<&str> = if wanted.is_empty() || wanted.iter().any(|w| w == "default") {
        // The default set: everything but the per-command tables.
        all_sections
            .iter()
            .copied()
            .filter(|s| !matches!(*s, "commandstats" | "latencystats"))
            .collect()
    } else if wanted.iter().any(|w| w == "all" || w == "everything") {
        all_sections.to_vec()
    } else {
        all_sections
            .iter()
            .copied()
            .filter(|s| wanted.iter().any(|w| w == s))
            .collect()
    };
    let mut out = String::new();
    for (i, sec) in sections.iter().enumerate() {
        if i > 0 {
            out.push_str("\r\n");
        }
        render(&mut out, sec, &snaps);
    }
    Reply::Verbatim(Bytes::from(out))
}

fn render(out: &mut String, sec: &str, snaps: &[ShardSnapshot]) {
    let srv = server();
    let cfg = srv.config();
    let mut total = ShardStats::default();
    for s in snaps {
        let t = &s.stats;
        total.keyspace_hits += t.keyspace_hits;
        total.keyspace_misses += t.keyspace_misses;
        total.expired_keys += t.expired_keys;
        total.evicted_keys += t.evicted_keys;
        total.total_commands += t.total_commands;
        total.net_input_bytes += t.net_input_bytes;
        total.net_output_bytes += t.net_output_bytes;
        total.dirty += t.dirty;
    }
    let w = out;
    match sec {
        "server" => {
            let _ = write!(
                w,
                "# Server\r\nredis_version:{REDIS_VERSION}\r\ntessera_version:{}\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\nredis_build_id:0\r\nredis_mode:standalone\r\nos:{}\r\narch_bits:64\r\nmonotonic_clock:POSIX clock_gettime\r\nmultiplexing_api:io_uring\r\natomicvar_api:c11-builtin\r\ngcc_version:0.0.0\r\nprocess_id:{}\r\nprocess_supervised:no\r\nrun_id:{}\r\ntcp_port:{}\r\nserver_time_usec:{}\r\nuptime_in_seconds:{}\r\nuptime_in_days:{}\r\nhz:{}\r\nconfigured_hz:{}\r\nlru_clock:{}\r\nexecutable:{}\r\nconfig_file:{}\r\nio_threads_active:0\r\nshards:{}\r\n",
                env!("CARGO_PKG_VERSION"),
                std::env::consts::OS,
                std::process::id(),
                srv.run_id,
                srv.port(),
                crate::util::now_us(),
                srv.uptime_secs(),
                srv.uptime_secs() / 86400,
                cfg.hz(),
                cfg.hz(),
                crate::shard::db::lru_clock() & 0xff_ffff,
                srv.executable,
                srv.config_file,
                srv.shards,
            );
        }
        "clients" => {
            let n: usize = snaps.iter().map(|s| s.clients).sum();
            let _ = write!(w, "# Clients\r\nconnected_clients:{n}\r\ncluster_connections:0\r\nmaxclients:{}\r\nclient_recent_max_input_buffer:0\r\nclient_recent_max_output_buffer:0\r\nblocked_clients:{}\r\ntracking_clients:0\r\nclients_in_timeout_table:{}\r\n", cfg.get_i64("maxclients"), crate::net::blocked::blocked_clients(), crate::net::blocked::timed_blocked_clients());
        }
        "memory" => {
            let used = crate::alloc::used_memory();
            let rss = crate::alloc::rss();
            let maxmemory = cfg.maxmemory();
            let _ = write!(
                w,
                "# Memory\r\nused_memory:{used}\r\nused_memory_human:{}\r\nused_memory_rss:{rss}\r\nused_memory_rss_human:{}\r\nused_memory_peak:{used}\r\nused_memory_peak_human:{}\r\nused_memory_dataset:{used}\r\nallocator_allocated:{used}\r\nallocator_resident:{rss}\r\ntotal_system_memory:{}\r\nmaxmemory:{maxmemory}\r\nmaxmemory_human:{}\r\nmaxmemory_policy:{}\r\nmem_fragmentation_ratio:{:.2}\r\nmem_allocator:mimalloc\r\nlazyfree_pending_objects:0\r\n",
                human(used as u64),
                human(rss as u64),
                human(used as u64),
                total_system_memory(),
                human(maxmemory),
                cfg.maxmemory_policy(),
                if used > 0 { rss as f64 / used as f64 } else { 0.0 },
            );
        }
        "persistence" => {
            let _ = write!(w, "# Persistence\r\nloading:0\r\nasync_loading:0\r\ncurrent_cow_peak:0\r\ncurrent_cow_size:0\r\ncurrent_cow_size_age:0\r\ncurrent_fork_perc:0.00\r\ncurrent_save_keys_processed:0\r\ncurrent_save_keys_total:0\r\nrdb_changes_since_last_save:{}\r\nrdb_bgsave_in_progress:0\r\nrdb_last_save_time:{}\r\nrdb_last_bgsave_status:ok\r\nrdb_last_bgsave_time_sec:-1\r\nrdb_current_bgsave_time_sec:-1\r\naof_enabled:0\r\naof_rewrite_in_progress:0\r\naof_rewrite_scheduled:0\r\naof_last_rewrite_time_sec:-1\r\naof_current_rewrite_time_sec:-1\r\naof_last_bgrewrite_status:ok\r\naof_last_write_status:ok\r\n", total.dirty, srv.lastsave.load(std::sync::atomic::Ordering::Relaxed));
        }
        "stats" => {
            let (ps_channels, ps_patterns, ps_shard) = crate::families::pubsub::info_counts();
            let _ = write!(
                w,
                "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\ninstantaneous_ops_per_sec:0\r\ntotal_net_input_bytes:{}\r\ntotal_net_output_bytes:{}\r\nrejected_connections:{}\r\nexpired_keys:{}\r\nevicted_keys:{}\r\nkeyspace_hits:{}\r\nkeyspace_misses:{}\r\npubsub_channels:{}\r\npubsub_patterns:{}\r\npubsubshard_channels:{}\r\nlatest_fork_usec:0\r\ntotal_forks:0\r\ntotal_error_replies:{}\r\n",
                srv.total_connections.load(std::sync::atomic::Ordering::Relaxed),
                total.total_commands,
                total.net_input_bytes,
                total.net_output_bytes,
                srv.rejected_connections.load(std::sync::atomic::Ordering::Relaxed),
                total.expired_keys,
                total.evicted_keys,
                total.keyspace_hits,
                total.keyspace_misses,
                ps_channels,
                ps_patterns,
                ps_shard,
                snaps.iter().flat_map(|s| s.errorstats.iter().map(|e| e.1)).sum::<u64>(),
            );
        }
        "replication" => {
            let _ = write!(w, "# Replication\r\nrole:master\r\nconnected_slaves:0\r\nmaster_failover_state:no-failover\r\nmaster_replid:{}\r\nmaster_replid2:0000000000000000000000000000000000000000\r\nmaster_repl_offset:0\r\nsecond_repl_offset:-1\r\nrepl_backlog_active:0\r\nrepl_backlog_size:1048576\r\nrepl_backlog_first_byte_offset:0\r\nrepl_backlog_histlen:0\r\n", srv.run_id);
        }
        "cpu" => {
            let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
            unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
            let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
            let _ = write!(w, "# CPU\r\nused_cpu_sys:{:.6}\r\nused_cpu_user:{:.6}\r\nused_cpu_sys_children:0.000000\r\nused_cpu_user_children:0.000000\r\n", t(ru.ru_stime), t(ru.ru_utime));
        }
        "modules" => w.push_str("# Modules\r\n"),
        // Per-command latency percentiles are not tracked yet: the section is empty.
        "latencystats" => w.push_str("# Latencystats\r\n"),
        "cluster" => w.push_str("# Cluster\r\ncluster_enabled:0\r\n"),
        "commandstats" => {
            w.push_str("# Commandstats\r\n");
            let mut merged: std::collections::BTreeMap<&str, CmdStat> = Default::default();
            for s in snaps {
                let all = &crate::command::table::table().all;
                for (id, v) in s.cmdstats.iter().enumerate() {
                    if v.calls == 0 && v.rejected_calls == 0 {
                        continue;
                    }
                    let m = merged.entry(all[id].name).or_default();
                    m.calls += v.calls;
                    m.usec += v.usec;
                    m.rejected_calls += v.rejected_calls;
                    m.failed_calls += v.failed_calls;
                }
            }
            for (k, v) in merged {
                let per = if v.calls > 0 {
                    v.usec as f64 / v.calls as f64
                } else {
                    0.0
                };
                let _ = write!(w, "cmdstat_{k}:calls={},usec={},usec_per_call={per:.2},rejected_calls={},failed_calls={}\r\n", v.calls, v.usec, v.rejected_calls, v.failed_calls);
            }
        }
        "errorstats" => {
            w.push_str("# Errorstats\r\n");
            let mut merged: std::collections::BTreeMap<String, u64> = Default::default();
            for s in snaps {
                for (k, v) in &s.errorstats {
                    *merged.entry(k.clone()).or_default() += v;
                }
            }
            for (k, v) in merged {
                let _ = write!(w, "errorstat_{k}:count={v}\r\n");
            }
        }
        "keyspace" => {
            w.push_str("# Keyspace\r\n");
            let ndb = snaps.first().map_or(0, |s| s.keyspace.len());
            for db in 0..ndb {
                let keys: usize = snaps.iter().map(|s| s.keyspace[db].0).sum();
                let expires: usize = snaps.iter().map(|s| s.keyspace[db].1).sum();
                if keys > 0 {
                    let _ = write!(w, "db{db}:keys={keys},expires={expires},avg_ttl=0\r\n");
                }
            }
        }
        _ => {}
    }
}

fn human(n: u64) -> String {
    let f = n as f64;
    if f < 1024.0 {
        format!("{n}B")
    } else if f < 1024.0 * 1024.0 {
        format!("{:.2}K", f / 1024.0)
    } else if f < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2}M", f / 1024.0 / 1024.0)
    } else {
        format!("{:.2}G", f / 1024.0 / 1024.0 / 1024.0)
    }
}

fn total_system_memory() -> u64 {
    let pages = unsafe { libc::sysconf(libc::_SC_PHYS_PAGES) };
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    (pages.max(0) as u64) * (size.max(0) as u64)
}
