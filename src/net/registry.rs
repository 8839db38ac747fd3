//! The clients connected to this shard, for CLIENT LIST / KILL / INFO clients.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use super::client::ClientInfo;
use super::uring::Output;

struct Registered {
    info: Rc<RefCell<ClientInfo>>,
    kill: Rc<RefCell<KillState>>,
    output: Output,
}

#[derive(Default)]
struct KillState {
    fired: bool,
    waker: Option<Waker>,
}

/// Resolves once the connection is killed (CLIENT KILL, shutdown). Kills are made on the
/// connection's own shard, where the registry lives, so this is a plain shared flag: the
/// connection polls it around every request without cloning a waker or touching an
/// atomic, as a channel would.
pub struct Killed(Rc<RefCell<KillState>>);

impl Future for Killed {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut k = self.0.borrow_mut();
        if k.fired {
            return Poll::Ready(());
        }
        match &k.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => k.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl Registered {
    /// The info with the socket's pending output filled in.
    fn snapshot(&self) -> ClientInfo {
        let mut i = self.info.borrow().clone();
        (i.omem, i.oll) = self.output.pending();
        i
    }
}

thread_local! {
    static CLIENTS: RefCell<BTreeMap<u64, Registered>> = const { RefCell::new(BTreeMap::new()) };
}

pub fn register(info: Rc<RefCell<ClientInfo>>, output: Output) -> Killed {
    let kill = Rc::new(RefCell::new(KillState::default()));
    let id = info.borrow().id;
    CLIENTS.with(|c| {
        c.borrow_mut().insert(
            id,
            Registered {
                info,
                kill: kill.clone(),
                output,
            },
        )
    });
    Killed(kill)
}

pub fn unregister(id: u64) {
    CLIENTS.with(|c| c.borrow_mut().remove(&id));
}

/// Snapshot of this shard's clients.
pub fn list() -> Vec<ClientInfo> {
    CLIENTS.with(|c| c.borrow().values().map(Registered::snapshot).collect())
}

/// Snapshot of one client of this shard (CLIENT INFO).
pub fn get(id: u64) -> Option<ClientInfo> {
    CLIENTS.with(|c| c.borrow().get(&id).map(Registered::snapshot))
}

pub fn count() -> usize {
    CLIENTS.with(|c| c.borrow().len())
}

/// Kill the clients `pred` selects (except `except`); returns how many.
pub fn kill_where(except: Option<u64>, pred: impl Fn(&ClientInfo) -> bool) -> usize {
    CLIENTS.with(|c| {
        let mut n = 0;
        for (id, r) in c.borrow_mut().iter_mut() {
            if Some(*id) == except {
                continue;
            }
            let matched = pred(&r.info.borrow());
            if matched {
                let mut k = r.kill.borrow_mut();
                if !k.fired {
                    k.fired = true;
                    if let Some(w) = k.waker.take() {
                        w.wake();
                    }
                    n += 1;
                }
            }
        }
        n
    })
}

/// Kill every client (shutdown).
pub fn kill_all() {
    kill_where(None, |_| true);
}
