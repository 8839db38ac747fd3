//! Executors, CPU placement, listeners, signals and shutdown.

pub mod listen;
pub mod log;

use std::sync::mpsc;
use std::time::Duration;

use futures_channel::oneshot;
use futures_lite::StreamExt;
use glommio::{LocalExecutorBuilder, Placement};
use tracing::{error, info, warn};

use crate::config::Config;
use crate::shard::{self, mesh, Shard};

thread_local! {
    static STOP: std::cell::RefCell<Option<oneshot::Sender<()>>> = const { std::cell::RefCell::new(None) };
}

/// Ask every shard to stop (SIGTERM, SIGINT, SHUTDOWN).
pub fn request_shutdown() {
    let srv = crate::server::server();
    if srv.shutdown.swap(true, std::sync::atomic::Ordering::SeqCst) {
        return;
    }
    for i in 0..srv.shards {
        mesh::post(
            i,
            Box::new(|| {
                crate::net::registry::kill_all();
                STOP.with(|s| {
                    if let Some(tx) = s.borrow_mut().take() {
                        let _ = tx.send(());
                    }
                });
            }),
        );
    }
}

/// CPUs this process may run on (respects taskset / cgroup cpusets).
fn allowed_cpus() -> Vec<usize> {
    let mut out = Vec::new();
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) == 0 {
            for cpu in 0..libc::CPU_SETSIZE as usize {
                if libc::CPU_ISSET(cpu, &set) {
                    out.push(cpu);
                }
            }
        }
    }
    if out.is_empty() {
        out.push(0);
    }
    out
}

/// Block the signals we handle in every thread; a dedicated thread waits for them.
fn block_signals() -> libc::sigset_t {
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
        set
    }
}

fn spawn_signal_thread(set: libc::sigset_t) {
    let _ = std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || loop {
            let mut sig: libc::c_int = 0;
            let rc = unsafe { libc::sigwait(&set, &mut sig) };
            if rc != 0 {
                continue;
            }
            let name = if sig == libc::SIGINT {
                "SIGINT"
            } else {
                "SIGTERM"
            };
            warn!("Received {name} scheduling shutdown...");
            request_shutdown();
        });
}

/// Start every shard and serve until shutdown. Returns the process exit code.
pub fn run(cfg: Config) -> i32 {
    let cpus = allowed_cpus();
    let threads = match cfg.threads() {
        0 => cpus.len(),
        n => n,
    };
    let sigset = block_signals();
    let addrs = match listen::resolve(&cfg) {
        Ok(a) => a,
        Err(e) => {
            error!("{e}");
            return 1;
        }
    };
    let srv = crate::server::init(cfg.clone(), threads);
    srv.port
        .store(addrs.port as usize, std::sync::atomic::Ordering::Relaxed);
    info!(
        "Tessera version={} bits=64 pid={} threads={threads}",
        env!("CARGO_PKG_VERSION"),
        std::process::id()
    );
    for name in cfg.unimplemented_in_use() {
        warn!(
            "Directive '{name}' is accepted and stored but not implemented yet; it has no effect"
        );
    }
    spawn_signal_thread(sigset);
    let inboxes = mesh::create(threads);
    let (ready_tx, ready_rx) = mpsc::channel::<Result<(), String>>();
    let mut handles = Vec::new();
    for (i, inbox) in inboxes.into_iter().enumerate() {
        let cpu = cpus[i % cpus.len()];
        let ready = ready_tx.clone();
        let addrs = addrs.clone();
        let cfg = srv.config();
        let version = srv.config_version();
        // Registered I/O memory serves file DMA, which the network path does not use. It
        // comes from the global allocator, so it counts in used_memory (and toward
        // maxmemory) once per shard: keep it at glommio's minimum.
        let builder = LocalExecutorBuilder::new(Placement::Fixed(cpu))
            .name(&format!("shard-{i}"))
            .io_memory(64 << 10);
        let h = builder.spawn(move || async move {
            crate::alloc::set_thread_slot(i);
            mesh::set_current(i);
            shard::install(Shard::new(i, threads, cfg, version));
            let (stop_tx, stop_rx) = oneshot::channel();
            STOP.with(|s| *s.borrow_mut() = Some(stop_tx));
            glommio::spawn_local(inbox_loop(inbox)).detach();
            glommio::spawn_local(cron()).detach();
            if let Err(e) = crate::net::uring::install(listen::spawn_connection) {
                let _ = ready.send(Err(e));
                return;
            }
            match listen::start_listeners(&addrs) {
                Ok(()) => {
                    let _ = ready.send(Ok(()));
                }
                Err(e) => {
                    let _ = ready.send(Err(e));
                    return;
                }
            }
            let _ = stop_rx.await;
        });
        match h {
            Ok(h) => handles.push(h),
            Err(e) => {
                error!("Failed to start shard {i}: {e}");
                return 1;
            }
        }
    }
    drop(ready_tx);
    for _ in 0..threads {
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                error!("{e}");
                std::process::exit(1);
            }
            Err(_) => {
                error!("A shard failed during start-up");
                std::process::exit(1);
            }
        }
    }
    drop(addrs.reservation);
    info!("Running mode=standalone, port={}.", addrs.port);
    info!("Server initialized");
    info!("Ready to accept connections tcp");
    for h in handles {
        let _ = h.join();
    }
    info!("Tessera is now ready to exit, bye bye...");
    0
}

/// Each shard drains its inbox of jobs from other shards.
async fn inbox_loop(mut inbox: futures_channel::mpsc::UnboundedReceiver<mesh::Job>) {
    while let Some(job) = inbox.next().await {
        mesh::run_job(job);
    }
}

/// Periodic shard work at `hz`: active expiry; about once a second, freed memory goes
/// back to the OS.
async fn cron() {
    let mut last_collect = std::time::Instant::now();
    loop {
        let hz = shard::with_shard(|s| {
            s.refresh_config();
            s.cfg.hz().clamp(1, 500)
        });
        let period = Duration::from_micros(1_000_000 / hz as u64);
        glommio::timer::sleep(period).await;
        crate::util::reanchor();
        let active = crate::shard::expire::ACTIVE_EXPIRE.load(std::sync::atomic::Ordering::Relaxed);
        shard::with_shard(|s| {
            if !active {
                return;
            }
            let effort = s.cfg.get_i64("active-expire-effort").clamp(1, 10) as u32;
            let budget = period * (20 + effort * 5) / 100;
            crate::shard::expire::active_expire_cycle(s, budget);
        });
        if last_collect.elapsed() >= Duration::from_secs(1) {
            last_collect = std::time::Instant::now();
            crate::alloc::collect();
        }
    }
}
