//! Process-wide state shared by all shards: configuration, identity, counters.
//!
//! Nothing here guards keyspace data. The config sits behind a lock that is written only
//! by CONFIG SET and read by a shard only when the version number says it changed.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use crate::config::Config;

pub struct Server {
    config: RwLock<Arc<Config>>,
    config_version: AtomicU64,
    pub shards: usize,
    pub port: AtomicUsize,
    pub start_ms: u64,
    pub run_id: String,
    pub shutdown: AtomicBool,
    pub connected_clients: AtomicUsize,
    pub total_connections: AtomicU64,
    pub rejected_connections: AtomicU64,
    pub next_client_id: AtomicU64,
    pub lastsave: AtomicU64,
    pub executable: String,
    pub config_file: String,
}

static SERVER: OnceLock<Server> = OnceLock::new();

pub fn init(config: Config, shards: usize) -> &'static Server {
    let run_id = {
        use rand::Rng;
        let mut rng = rand::thread_rng();
        (0..40)
            .map(|_| char::from(b"0123456789abcdef"[rng.gen_range(0..16)]))
            .collect()
    };
    let config_file = config
        .config_file()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let now = crate::util::now_ms();
    let s = Server {
        port: AtomicUsize::new(config.port() as usize),
        config: RwLock::new(Arc::new(config)),
        config_version: AtomicU64::new(1),
        shards,
        start_ms: now,
        run_id,
        shutdown: AtomicBool::new(false),
        connected_clients: AtomicUsize::new(0),
        total_connections: AtomicU64::new(0),
        rejected_connections: AtomicU64::new(0),
        next_client_id: AtomicU64::new(1),
        lastsave: AtomicU64::new(now / 1000),
        executable: std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        config_file,
    };
    let _ = SERVER.set(s);
    server()
}

/// The server. Panics if called before `init` (a programming error, never input-driven).
pub fn server() -> &'static Server {
    SERVER.get().expect("server state initialised at start-up")
}

/// Whether `init` ran (unit tests run shard code without a server).
pub fn initialised() -> bool {
    SERVER.get().is_some()
}

impl Server {
    pub fn config(&self) -> Arc<Config> {
        match self.config.read() {
            Ok(c) => c.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    pub fn config_version(&self) -> u64 {
        self.config_version.load(Ordering::Acquire)
    }

    /// Apply a change to the config atomically (CONFIG SET); bumps the version.
    pub fn update_config<R>(&self, f: impl FnOnce(&mut Config) -> R) -> R {
        let mut guard = match self.config.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let mut cfg = (**guard).clone();
        let r = f(&mut cfg);
        *guard = Arc::new(cfg);
        self.config_version.fetch_add(1, Ordering::AcqRel);
        r
    }

    pub fn port(&self) -> u16 {
        self.port.load(Ordering::Relaxed) as u16
    }

    pub fn uptime_secs(&self) -> u64 {
        (crate::util::now_ms().saturating_sub(self.start_ms)) / 1000
    }
}
