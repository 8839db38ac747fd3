//! The clients connected to this shard, for CLIENT LIST / KILL / INFO clients.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use futures_channel::oneshot;

use super::client::ClientInfo;
use super::uring::Output;

struct Registered {
    info: Rc<RefCell<ClientInfo>>,
    kill: Option<oneshot::Sender<()>>,
    output: Output,
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

pub fn register(info: Rc<RefCell<ClientInfo>>, output: Output) -> oneshot::Receiver<()> {
    let (tx, rx) = oneshot::channel();
    let id = info.borrow().id;
    CLIENTS.with(|c| {
        c.borrow_mut().insert(
            id,
            Registered {
                info,
                kill: Some(tx),
                output,
            },
        )
    });
    rx
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
                if let Some(tx) = r.kill.take() {
                    let _ = tx.send(());
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
