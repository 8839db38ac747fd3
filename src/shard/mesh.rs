//! Shard-to-shard messages: a job is a closure run on the target shard's thread.
//!
//! Each shard drains one unbounded inbox; the sender's task is woken through the reply
//! oneshot (glommio supports wakes from foreign threads).

use std::future::Future;
use std::sync::OnceLock;

use futures_channel::{mpsc, oneshot};

use super::{with_shard, Shard};

pub type Job = Box<dyn FnOnce() + Send + 'static>;

static INBOXES: OnceLock<Vec<mpsc::UnboundedSender<Job>>> = OnceLock::new();

thread_local! {
    static CURRENT: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Create every shard's inbox; returns the receivers in shard order.
pub fn create(n: usize) -> Vec<mpsc::UnboundedReceiver<Job>> {
    let (txs, rxs): (Vec<_>, Vec<_>) = (0..n).map(|_| mpsc::unbounded()).unzip();
    let _ = INBOXES.set(txs);
    rxs
}

pub fn set_current(id: usize) {
    CURRENT.with(|c| c.set(id));
}

#[inline]
pub fn current() -> usize {
    CURRENT.with(|c| c.get())
}

/// Post a job to a shard (fire and forget).
pub fn post(target: usize, job: Job) {
    if let Some(txs) = INBOXES.get() {
        if let Some(tx) = txs.get(target) {
            let _ = tx.unbounded_send(job);
        }
    }
}

/// Run `f` on shard `target` and return its result. Local calls run inline.
pub async fn call<R, F>(target: usize, f: F) -> R
where
    F: FnOnce(&mut Shard) -> R + Send + 'static,
    R: Send + 'static,
{
    if target == current() {
        return with_shard(f);
    }
    let (tx, rx) = oneshot::channel();
    post(
        target,
        Box::new(move || {
            let r = with_shard(f);
            let _ = tx.send(r);
        }),
    );
    match rx.await {
        Ok(r) => r,
        Err(_) => job_lost().await,
    }
}

/// Run an async task on shard `target` (spawned there) and return its result.
pub async fn call_async<R, F, Fut>(target: usize, f: F) -> R
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = R> + 'static,
    R: Send + 'static,
{
    if target == current() {
        return f().await;
    }
    let (tx, rx) = oneshot::channel();
    post(
        target,
        Box::new(move || {
            glommio::spawn_local(async move {
                let r = f().await;
                let _ = tx.send(r);
            })
            .detach();
        }),
    );
    match rx.await {
        Ok(r) => r,
        Err(_) => job_lost().await,
    }
}

/// Run `f` on every shard concurrently; results in shard order.
pub async fn call_all<R, F>(f: F) -> Vec<R>
where
    F: Fn(&mut Shard) -> R + Send + Sync + Clone + 'static,
    R: Send + 'static,
{
    let n = INBOXES.get().map_or(1, |v| v.len());
    let mut pending = Vec::with_capacity(n);
    for target in 0..n {
        let f = f.clone();
        if target == current() {
            pending.push(None);
        } else {
            let (tx, rx) = oneshot::channel();
            post(
                target,
                Box::new(move || {
                    let _ = tx.send(with_shard(f));
                }),
            );
            pending.push(Some(rx));
        }
    }
    let mut local = Some(with_shard(f));
    let mut out = Vec::with_capacity(n);
    for p in pending {
        match p {
            None => out.push(local.take().expect("one local result")),
            Some(rx) => match rx.await {
                Ok(r) => out.push(r),
                Err(_) => job_lost().await,
            },
        }
    }
    out
}

/// A job's reply channel closed without an answer: at shutdown the target stopped
/// (park: this executor is stopping too); otherwise the job panicked on its shard, and
/// the panic is carried to the caller's connection, which is closed.
async fn job_lost<T>() -> T {
    if crate::server::initialised()
        && crate::server::server()
            .shutdown
            .load(std::sync::atomic::Ordering::Relaxed)
    {
        std::future::pending().await
    } else {
        panic!("a job failed on another shard")
    }
}

/// Run one job from another shard; a panic stays inside the job.
pub fn run_job(job: Job) {
    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)).is_err() {
        tracing::warn!("A cross-shard job panicked; its caller gets an error");
    }
}

pub fn shard_count() -> usize {
    INBOXES.get().map_or(1, |v| v.len())
}

/// A closure to run on the shard it names.
pub type ShardJob<R> = (usize, Box<dyn FnOnce(&mut Shard) -> R + Send>);

/// Run one closure on each named shard, each finished before the next is posted, for
/// hops whose side effects (keyspace notifications) must follow the input order.
pub async fn call_in_order<R>(jobs: Vec<ShardJob<R>>) -> Vec<R>
where
    R: Send + 'static,
{
    let mut out = Vec::with_capacity(jobs.len());
    for (target, f) in jobs {
        out.push(call(target, f).await);
    }
    out
}

/// Run one closure on each named shard, all posted before any is awaited so they run
/// concurrently; results in input order.
pub async fn call_each<R>(jobs: Vec<ShardJob<R>>) -> Vec<R>
where
    R: Send + 'static,
{
    let me = current();
    let mut pending: Vec<Result<R, oneshot::Receiver<R>>> = Vec::with_capacity(jobs.len());
    let mut locals = Vec::new();
    for (i, (target, f)) in jobs.into_iter().enumerate() {
        if target == me {
            locals.push((i, f));
            pending.push(Err(oneshot::channel().1));
        } else {
            let (tx, rx) = oneshot::channel();
            post(
                target,
                Box::new(move || {
                    let _ = tx.send(with_shard(f));
                }),
            );
            pending.push(Err(rx));
        }
    }
    for (i, f) in locals {
        pending[i] = Ok(with_shard(f));
    }
    let mut out = Vec::with_capacity(pending.len());
    for p in pending {
        match p {
            Ok(r) => out.push(r),
            Err(rx) => match rx.await {
                Ok(r) => out.push(r),
                Err(_) => job_lost().await,
            },
        }
    }
    out
}
