//! The shard's socket reactor: one io_uring per shard, beside glommio's own rings, that
//! carries every client socket's I/O.
//!
//! Why our own ring: glommio arms a one-shot POLL for every read, and its rings deliver
//! completions as task work raised by an inter-processor interrupt while the shard runs.
//! Under load that costs more than the request itself. This ring is created with
//! DEFER_TASKRUN, so socket events queue silently until the shard asks for them, and one
//! `io_uring_enter` per turn:
//! - submits every queued send (replies of many connections in one syscall),
//! - runs the queued receive work into provided buffers (multishot recv: one
//!   registration per connection, like a persistent epoll interest),
//! - and accepts new connections (multishot accept).
//!
//! The driver task turns the ring while there is work and yields to glommio between
//! turns; when the shard is idle it sleeps on an eventfd the ring signals, read through
//! glommio, so timers and cross-shard messages keep running.

use std::cell::RefCell;
use std::future::Future;
use std::os::fd::{FromRawFd, RawFd};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Poll, Waker};

use bytes::BytesMut;
use io_uring::{cqueue, opcode, squeue, types, IoUring};
use tracing::warn;

/// Provided receive buffers per shard, and their size. The kernel fills them in ring
/// order and the driver copies each out and hands it back in the same turn.
const BUF_COUNT: u16 = 256;
const BUF_SIZE: usize = 4096;
const BGID: u16 = 0;
/// Received bytes a connection may hold before its receive is paused (it resumes when
/// the connection takes its input).
const RX_PAUSE: usize = 64 << 10;

/// How long the driver keeps polling an idle ring before it sleeps.
const SPIN_BEFORE_SLEEP: std::time::Duration = std::time::Duration::from_micros(50);

const K_RECV: u64 = 1;
const K_SEND: u64 = 2;
const K_CANCEL: u64 = 3;
const K_ACCEPT: u64 = 4;

const IORING_ENTER_GETEVENTS: u32 = 1;
const IORING_ENTER_REGISTERED_RING: u32 = 1 << 4;
const IORING_REGISTER_RING_FDS: u32 = 20;

/// Register the ring's own descriptor with it, so `io_uring_enter` names it by index
/// and the kernel skips the file lookup on every call (Linux 5.18+). None: not
/// available, enter with the descriptor.
fn register_ring_fd(fd: RawFd) -> Option<u32> {
    // struct io_uring_rsrc_update { u32 offset; u32 resv; u64 data; }
    #[repr(C)]
    struct RsrcUpdate {
        offset: u32,
        resv: u32,
        data: u64,
    }
    let mut up = RsrcUpdate {
        offset: u32::MAX,
        resv: 0,
        data: fd as u64,
    };
    // SAFETY: one io_uring_rsrc_update, as IORING_REGISTER_RING_FDS expects.
    let r = unsafe {
        libc::syscall(
            libc::SYS_io_uring_register,
            fd as libc::c_long,
            IORING_REGISTER_RING_FDS as libc::c_long,
            &mut up as *mut RsrcUpdate,
            1 as libc::c_long,
        )
    };
    (r == 1).then_some(up.offset)
}

fn user_data(idx: u32, kind: u64) -> u64 {
    (idx as u64) << 8 | kind
}

/// The provided-buffer ring shared by every receive on this shard.
struct BufRing {
    ring: *mut u8,
    mem: *mut u8,
    tail: u16,
}

impl BufRing {
    fn new() -> Self {
        // Mapped directly, not through the allocator: like the kernel's socket buffers,
        // this is I/O memory and not part of used_memory (maxmemory counts data).
        let map = |len: usize| unsafe {
            let p = libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            if p == libc::MAP_FAILED {
                panic!(
                    "mmap of {len} bytes for receive buffers failed: {}",
                    std::io::Error::last_os_error()
                );
            }
            p as *mut u8
        };
        let ring = map(BUF_COUNT as usize * 16);
        let mem = map(BUF_COUNT as usize * BUF_SIZE);
        let mut b = BufRing { ring, mem, tail: 0 };
        for bid in 0..BUF_COUNT {
            b.push(bid);
        }
        b.publish();
        b
    }

    fn buf(&self, bid: u16, len: usize) -> &[u8] {
        debug_assert!(bid < BUF_COUNT && len <= BUF_SIZE);
        // SAFETY: bid indexes a BUF_SIZE slice inside `mem`; the kernel finished writing it
        // when it posted the completion naming it.
        unsafe {
            std::slice::from_raw_parts(self.mem.add(bid as usize * BUF_SIZE), len.min(BUF_SIZE))
        }
    }

    /// Hand buffer `bid` back (visible to the kernel at the next `publish`).
    fn push(&mut self, bid: u16) {
        let slot = (self.tail & (BUF_COUNT - 1)) as usize;
        // SAFETY: struct io_uring_buf { u64 addr; u32 len; u16 bid; u16 resv } at slot*16;
        // resv of entry 0 is the shared tail, so it is never written here.
        unsafe {
            let e = self.ring.add(slot * 16);
            (e as *mut u64).write(self.mem.add(bid as usize * BUF_SIZE) as u64);
            (e.add(8) as *mut u32).write(BUF_SIZE as u32);
            (e.add(12) as *mut u16).write(bid);
        }
        self.tail = self.tail.wrapping_add(1);
    }

    fn publish(&self) {
        // SAFETY: the tail lives at byte 14 of the ring, aligned for u16.
        let tail = unsafe { &*(self.ring.add(14) as *const std::sync::atomic::AtomicU16) };
        tail.store(self.tail, std::sync::atomic::Ordering::Release);
    }
}

#[derive(Default)]
struct Slot {
    fd: RawFd,
    /// The connection still holds its `Socket`.
    live: bool,
    /// Operations the kernel still owns (their final completion has not arrived).
    ops: u32,
    rx: BytesMut,
    /// Set once the receive side ended: 0 for EOF, a negative errno for an error.
    rx_end: Option<i32>,
    rx_armed: bool,
    rx_paused: bool,
    /// The connection's task, kept between requests so waiting for input does not clone
    /// a waker each time; `rx_wanted` says it is waiting now.
    rx_waker: Option<Waker>,
    rx_wanted: bool,
    /// The buffer the kernel is sending from (`tx_off` bytes of it sent so far) while
    /// `tx_busy`, and what queued up behind it. The connection's reply buffer and these
    /// two rotate by swapping, so steady traffic neither allocates nor copies.
    tx: BytesMut,
    tx_off: usize,
    tx_busy: bool,
    tx_more: BytesMut,
    tx_err: bool,
    tx_waker: Option<Waker>,
}

impl Slot {
    fn wake_rx(&mut self) {
        if std::mem::take(&mut self.rx_wanted) {
            if let Some(w) = &self.rx_waker {
                w.wake_by_ref();
            }
        }
    }
}

pub struct Reactor {
    ring: IoUring,
    bufs: BufRing,
    slots: Vec<Slot>,
    free: Vec<u32>,
    listeners: Vec<RawFd>,
    cqes: Vec<(u64, i32, u32)>,
    rearm: Vec<u32>,
    /// The driver sleeps (eventfd armed); a new submission must wake it.
    idle: bool,
    driver: Option<Waker>,
    poke: bool,
    efd: RawFd,
    accepted: Vec<Socket>,
    /// The ring's registered index for `io_uring_enter` (see `register_ring_fd`).
    ring_index: Option<u32>,
}

thread_local! {
    static REACTOR: RefCell<Option<Reactor>> = const { RefCell::new(None) };
}

fn with<T>(f: impl FnOnce(&mut Reactor) -> T) -> Option<T> {
    REACTOR
        .try_with(|r| r.borrow_mut().as_mut().map(f))
        .ok()
        .flatten()
}

/// Create this shard's ring and start its driver. `spawn` serves each accepted socket.
pub fn install(spawn: fn(Socket)) -> Result<(), String> {
    let ring = IoUring::builder()
        .setup_single_issuer()
        .setup_defer_taskrun()
        .setup_taskrun_flag()
        .setup_cqsize(4096)
        .build(1024)
        .map_err(|e| {
            format!("Could not create the socket io_uring (DEFER_TASKRUN needs Linux 6.1+): {e}")
        })?;
    let bufs = BufRing::new();
    // SAFETY: the ring memory stays allocated for the life of the io_uring (see Drop).
    unsafe {
        ring.submitter()
            .register_buf_ring_with_flags(bufs.ring as u64, BUF_COUNT, BGID, 0)
            .map_err(|e| format!("Could not register receive buffers: {e}"))?;
    }
    let efd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
    if efd < 0 {
        return Err(format!("eventfd: {}", std::io::Error::last_os_error()));
    }
    ring.submitter()
        .register_eventfd(efd)
        .map_err(|e| format!("Could not register the ring eventfd: {e}"))?;
    let mut r = Reactor {
        ring,
        bufs,
        slots: Vec::new(),
        free: Vec::new(),
        listeners: Vec::new(),
        cqes: Vec::with_capacity(256),
        rearm: Vec::new(),
        idle: false,
        driver: None,
        poke: false,
        efd,
        accepted: Vec::new(),
        ring_index: None,
    };
    r.ring_index = register_ring_fd(std::os::fd::AsRawFd::as_raw_fd(&r.ring));
    REACTOR.with(|cell| *cell.borrow_mut() = Some(r));
    glommio::spawn_local(drive(efd, spawn)).detach();
    Ok(())
}

/// Accept connections on `fd` (a listening socket) through the ring.
pub fn listen(fd: RawFd) {
    with(|r| {
        let idx = r.listeners.len() as u32;
        r.listeners.push(fd);
        r.arm_accept(idx);
    });
}

impl Reactor {
    /// Queue an entry (submitted at the next turn). False if the submission queue stays
    /// full because the kernel refuses submissions; the caller fails the operation.
    #[must_use]
    fn push(&mut self, e: squeue::Entry) -> bool {
        let mut tries = 0;
        // SAFETY: every buffer an entry points at is owned by its slot (or the buffer
        // ring) until the entry's final completion.
        while unsafe { self.ring.submission().push(&e).is_err() } {
            tries += 1;
            if tries > 64 {
                tracing::error!("io_uring submission queue stays full; failing the operation");
                return false;
            }
            if let Err(err) = self.ring.submit() {
                warn!("io_uring submit: {err}");
            }
        }
        if self.idle && !self.poke {
            self.poke = true;
            if let Some(w) = self.driver.take() {
                w.wake();
            }
        }
        true
    }

    /// A receive or send could not be queued: the socket counts as failed.
    fn fail(&mut self, idx: u32) {
        let s = &mut self.slots[idx as usize];
        s.rx_end.get_or_insert(-libc::EIO);
        s.tx_err = true;
        s.wake_rx();
        if let Some(w) = s.tx_waker.take() {
            w.wake();
        }
    }

    fn arm_accept(&mut self, idx: u32) {
        let fd = self.listeners[idx as usize];
        let e = opcode::AcceptMulti::new(types::Fd(fd))
            .flags(libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK)
            .build()
            .user_data(user_data(idx, K_ACCEPT));
        if !self.push(e) {
            tracing::error!("Could not re-arm accepting on listener {fd}");
        }
    }

    fn arm_recv(&mut self, idx: u32) {
        let s = &mut self.slots[idx as usize];
        if s.rx_armed || s.rx_end.is_some() || !s.live {
            return;
        }
        let e = opcode::RecvMulti::new(types::Fd(s.fd), BGID)
            .build()
            .user_data(user_data(idx, K_RECV));
        if self.push(e) {
            let s = &mut self.slots[idx as usize];
            s.rx_armed = true;
            s.ops += 1;
        } else {
            self.fail(idx);
        }
    }

    /// Send the unsent part of the slot's `tx` buffer.
    fn start_send(&mut self, idx: u32) {
        let s = &mut self.slots[idx as usize];
        let data = &s.tx[s.tx_off..];
        // A send takes at most 1 GiB; the rest follows as a partial send would.
        let len = data.len().min(1 << 30) as u32;
        let e = opcode::Send::new(types::Fd(s.fd), data.as_ptr(), len)
            .flags(libc::MSG_NOSIGNAL)
            .build()
            .user_data(user_data(idx, K_SEND));
        if self.push(e) {
            let s = &mut self.slots[idx as usize];
            s.tx_busy = true;
            s.ops += 1;
        } else {
            self.fail(idx);
        }
    }

    fn unsent(s: &Slot) -> usize {
        (if s.tx_busy { s.tx.len() - s.tx_off } else { 0 }) + s.tx_more.len()
    }

    fn register(&mut self, fd: RawFd) -> u32 {
        let idx = match self.free.pop() {
            Some(i) => i,
            None => {
                self.slots.push(Slot::default());
                (self.slots.len() - 1) as u32
            }
        };
        let s = &mut self.slots[idx as usize];
        *s = Slot {
            fd,
            live: true,
            ..Slot::default()
        };
        self.arm_recv(idx);
        idx
    }

    /// The connection dropped its socket: cancel what the kernel still holds, then close.
    fn release(&mut self, idx: u32) {
        let s = &mut self.slots[idx as usize];
        s.live = false;
        s.rx = BytesMut::new();
        s.tx_more = BytesMut::new();
        s.rx_waker = None;
        s.tx_waker = None;
        if s.ops == 0 {
            self.close_slot(idx);
        } else {
            let fd = s.fd;
            let e = opcode::AsyncCancel2::new(types::CancelBuilder::fd(types::Fd(fd)).all())
                .build()
                .user_data(user_data(idx, K_CANCEL));
            // If even this cannot be queued, the operations end with the peer and the
            // slot closes then.
            let _ = self.push(e);
        }
    }

    fn close_slot(&mut self, idx: u32) {
        let s = &mut self.slots[idx as usize];
        if s.fd >= 0 {
            unsafe { libc::close(s.fd) };
        }
        *s = Slot {
            fd: -1,
            ..Slot::default()
        };
        self.free.push(idx);
    }

    /// Submit, run the kernel's queued socket work and handle every completion.
    /// Returns whether anything happened. Unless `force`, the system call is skipped
    /// when there is nothing to submit and the kernel flags no queued work: while the
    /// driver spins between requests, most turns would otherwise be empty syscalls.
    fn turn(&mut self, force: bool) -> bool {
        let to_submit = self.ring.submission().len() as u32;
        if !force && to_submit == 0 && !self.ring.submission().taskrun() {
            if self.ring.completion().is_empty() {
                return false;
            }
            return self.complete(0);
        }
        let entered = match self.ring_index {
            // SAFETY: the registered index names this ring; no argument is passed.
            Some(idx) => unsafe {
                let r = libc::syscall(
                    libc::SYS_io_uring_enter,
                    idx as libc::c_long,
                    to_submit as libc::c_long,
                    0 as libc::c_long,
                    (IORING_ENTER_GETEVENTS | IORING_ENTER_REGISTERED_RING) as libc::c_long,
                    std::ptr::null::<libc::c_void>(),
                    0 as libc::c_long,
                );
                if r < 0 {
                    Err(std::io::Error::last_os_error())
                } else {
                    Ok(r as usize)
                }
            },
            // SAFETY: no argument is passed; flags are plain GETEVENTS.
            None => unsafe {
                self.ring.submitter().enter::<libc::sigset_t>(
                    to_submit,
                    0,
                    IORING_ENTER_GETEVENTS,
                    None,
                )
            },
        };
        if let Err(e) = entered {
            if !matches!(
                e.raw_os_error(),
                Some(libc::EINTR) | Some(libc::EAGAIN) | Some(libc::EBUSY)
            ) {
                warn!("io_uring_enter: {e}");
            }
        }
        self.complete(to_submit)
    }

    /// Handle every completion waiting in the ring; true if there were any or
    /// `submitted` entries went in.
    fn complete(&mut self, submitted: u32) -> bool {
        let mut cqes = std::mem::take(&mut self.cqes);
        cqes.extend(
            self.ring
                .completion()
                .map(|c| (c.user_data(), c.result(), c.flags())),
        );
        let busy = !cqes.is_empty() || submitted > 0;
        for &(ud, res, flags) in &cqes {
            let idx = (ud >> 8) as u32;
            match ud & 0xff {
                K_RECV => self.on_recv(idx, res, flags),
                K_SEND => self.on_send(idx, res),
                K_ACCEPT => self.on_accept(idx, res, flags),
                _ => {}
            }
        }
        cqes.clear();
        self.cqes = cqes;
        self.bufs.publish();
        while let Some(idx) = self.rearm.pop() {
            self.arm_recv(idx);
        }
        busy
    }

    fn on_recv(&mut self, idx: u32, res: i32, flags: u32) {
        let more = cqueue::more(flags);
        let s = &mut self.slots[idx as usize];
        if let Some(bid) = cqueue::buffer_select(flags) {
            if res > 0 && s.live {
                s.rx.extend_from_slice(self.bufs.buf(bid, res as usize));
            }
            self.bufs.push(bid);
        }
        let s = &mut self.slots[idx as usize];
        let mut wake = res > 0;
        if res == 0 {
            s.rx_end = Some(0);
            wake = true;
        } else if res < 0 && res != -libc::ENOBUFS && res != -libc::ECANCELED {
            s.rx_end = Some(res);
            wake = true;
        }
        if !more {
            s.rx_armed = false;
            s.ops -= 1;
            if !s.live {
                if s.ops == 0 {
                    self.close_slot(idx);
                }
                return;
            }
            if s.rx_end.is_none() && !s.rx_paused {
                self.rearm.push(idx);
            }
        } else if s.rx.len() > RX_PAUSE && !s.rx_paused && s.live {
            s.rx_paused = true;
            let e = opcode::AsyncCancel::new(user_data(idx, K_RECV))
                .build()
                .user_data(user_data(idx, K_CANCEL));
            if !self.push(e) {
                // Not paused after all; the input just keeps arriving.
                self.slots[idx as usize].rx_paused = false;
            }
        }
        if wake {
            self.slots[idx as usize].wake_rx();
        }
    }

    fn on_send(&mut self, idx: u32, res: i32) {
        let s = &mut self.slots[idx as usize];
        s.ops -= 1;
        s.tx_busy = false;
        if !s.live {
            if s.ops == 0 {
                self.close_slot(idx);
            }
            return;
        }
        if res < 0 {
            s.tx_err = true;
            s.tx = BytesMut::new();
            s.tx_more = BytesMut::new();
        } else {
            s.tx_off += res as usize;
            if s.tx_off < s.tx.len() {
                self.start_send(idx);
            } else {
                s.tx.clear();
                s.tx_off = 0;
                if s.tx.capacity() > crate::net::conn::KEEP_CAPACITY {
                    s.tx = BytesMut::new();
                }
                if !s.tx_more.is_empty() {
                    std::mem::swap(&mut s.tx, &mut s.tx_more);
                    self.start_send(idx);
                }
            }
        }
        let s = &mut self.slots[idx as usize];
        if let Some(w) = s.tx_waker.take() {
            w.wake();
        }
    }

    fn on_accept(&mut self, idx: u32, res: i32, flags: u32) {
        if res >= 0 {
            set_nodelay(res);
            let slot = self.register(res);
            // Spawned by the driver once the reactor is released (glommio runs a new task
            // right away).
            self.accepted.push(Socket { idx: slot, fd: res });
        } else if res != -libc::ECANCELED {
            warn!(
                "Accepting client connection: {}",
                std::io::Error::from_raw_os_error(-res)
            );
        }
        if !cqueue::more(flags) {
            if res < 0 {
                // Out of descriptors and the like: retry shortly instead of spinning.
                glommio::spawn_local(async move {
                    glommio::timer::sleep(std::time::Duration::from_millis(10)).await;
                    with(|r| r.arm_accept(idx));
                })
                .detach();
            } else {
                self.arm_accept(idx);
            }
        }
    }

    /// Work may be pending in the kernel that the last turn did not run.
    fn kernel_work_pending(&mut self) -> bool {
        let sq = self.ring.submission();
        sq.taskrun() || !sq.is_empty()
    }
}

fn set_nodelay(fd: RawFd) {
    let one: libc::c_int = 1;
    unsafe {
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_NODELAY,
            &one as *const _ as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

/// Turn the ring while there is work; sleep on the ring's eventfd when there is none.
async fn drive(efd: RawFd, spawn: fn(Socket)) {
    // glommio reads the eventfd for us while the shard is idle; the file owns a dup.
    let dup = unsafe { libc::dup(efd) };
    let file = Rc::new(unsafe { glommio::io::BufferedFile::from_raw_fd(dup) });
    let mut wait: Option<Pin<Box<dyn Future<Output = ()>>>> = None;
    let mut accepted = Vec::new();
    // The pending-work flag was still set after a brief sleep and a turn that found
    // nothing: it is stale and no reason to stay awake.
    let mut stale_flag = false;
    let mut woke_by_fallback = false;
    // When the last turn that found work ended (None while working).
    let mut quiet_since: Option<std::time::Instant> = None;
    let mut forced = 0u32;
    loop {
        let busy = with(|r| {
            // Every 64th turn enters the kernel even with nothing flagged.
            forced = forced.wrapping_add(1);
            let busy = r.turn(forced % 64 == 0);
            std::mem::swap(&mut accepted, &mut r.accepted);
            busy
        });
        for sock in accepted.drain(..) {
            spawn(sock);
        }
        if busy.unwrap_or(false) {
            stale_flag = false;
            woke_by_fallback = false;
            quiet_since = None;
            futures_lite::future::yield_now().await;
            continue;
        }
        // Keep turning for a moment before sleeping: under request/reply traffic the
        // next request is usually microseconds away, and catching it here is far cheaper
        // than the eventfd wake-up through glommio.
        let quiet = *quiet_since.get_or_insert_with(std::time::Instant::now);
        if quiet.elapsed() < SPIN_BEFORE_SLEEP {
            futures_lite::future::yield_now().await;
            continue;
        }
        quiet_since = None;
        // About to sleep: let the kernel signal the eventfd, then look once more so a
        // completion that raced with this decision is not slept through.
        let worked = with(|r| {
            r.ring.completion().enable_eventfd();
            r.turn(true) || !r.accepted.is_empty()
        })
        .unwrap_or(false);
        if worked {
            with(|r| r.ring.completion().disable_eventfd());
            futures_lite::future::yield_now().await;
            continue;
        }
        // Signals raised by that last turn's own completions are stale: clear them, then
        // check the kernel's pending-work flag (set before it signals, so a signal this
        // read swallowed shows there).
        let mut v = 0u64;
        unsafe { libc::read(efd, &mut v as *mut u64 as *mut libc::c_void, 8) };
        let flagged = with(|r| r.kernel_work_pending()).unwrap_or(false);
        if flagged && woke_by_fallback {
            stale_flag = true;
        }
        let flagged = flagged && !stale_flag;
        with(|r| {
            r.idle = true;
            r.poke = false;
        });
        let w = wait.get_or_insert_with(|| {
            let f = file.clone();
            Box::pin(async move {
                let _ = f.read_at(0, 8).await;
            })
        });
        // The flag can also be left set with nothing pending (raised just after the work
        // was run); then sleep, but only briefly, once.
        let mut fallback =
            flagged.then(|| Box::pin(glommio::timer::sleep(std::time::Duration::from_millis(1))));
        woke_by_fallback = false;
        let fired = std::future::poll_fn(|cx| {
            if w.as_mut().poll(cx).is_ready() {
                return Poll::Ready(true);
            }
            if fallback
                .as_mut()
                .is_some_and(|t| t.as_mut().poll(cx).is_ready())
            {
                woke_by_fallback = true;
                return Poll::Ready(false);
            }
            let poked = with(|r| {
                if r.poke {
                    true
                } else {
                    r.driver = Some(cx.waker().clone());
                    false
                }
            })
            .unwrap_or(true);
            if poked {
                Poll::Ready(false)
            } else {
                Poll::Pending
            }
        })
        .await;
        if fired {
            wait = None;
            let mut v = 0u64;
            unsafe { libc::read(efd, &mut v as *mut u64 as *mut libc::c_void, 8) };
        }
        with(|r| {
            r.idle = false;
            r.poke = false;
            r.driver = None;
            r.ring.completion().disable_eventfd();
        });
    }
}

/// A client socket whose I/O runs on this shard's ring. Dropping it closes the socket
/// once the kernel has let go of it.
pub struct Socket {
    idx: u32,
    fd: RawFd,
}

impl Socket {
    pub fn fd(&self) -> RawFd {
        self.fd
    }

    pub fn peer_addr(&self) -> Option<std::net::SocketAddr> {
        let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(self.fd) };
        socket2::SockRef::from(&fd)
            .peer_addr()
            .ok()
            .and_then(|a| a.as_socket())
    }

    pub fn local_addr(&self) -> Option<std::net::SocketAddr> {
        let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(self.fd) };
        socket2::SockRef::from(&fd)
            .local_addr()
            .ok()
            .and_then(|a| a.as_socket())
    }

    /// Resolves once input (or the end of input) is waiting.
    pub fn readable(&self) -> impl Future<Output = ()> + '_ {
        std::future::poll_fn(move |cx| {
            with(|r| {
                let s = &mut r.slots[self.idx as usize];
                if !s.rx.is_empty() || s.rx_end.is_some() {
                    Poll::Ready(())
                } else {
                    match &s.rx_waker {
                        Some(w) if w.will_wake(cx.waker()) => {}
                        _ => s.rx_waker = Some(cx.waker().clone()),
                    }
                    s.rx_wanted = true;
                    Poll::Pending
                }
            })
            .unwrap_or(Poll::Ready(()))
        })
    }

    /// Move the received bytes to the end of `dst`. `Ok(0)` means nothing yet; `Err`
    /// means the peer closed (or the socket failed) and nothing is left.
    pub fn take_input(&self, dst: &mut BytesMut) -> Result<usize, ()> {
        with(|r| {
            let s = &mut r.slots[self.idx as usize];
            let n = s.rx.len();
            if n == 0 {
                return if s.rx_end.is_some() { Err(()) } else { Ok(0) };
            }
            if dst.is_empty() {
                std::mem::swap(dst, &mut s.rx);
            } else {
                dst.extend_from_slice(&s.rx);
                s.rx.clear();
                if s.rx.capacity() > crate::net::conn::KEEP_CAPACITY {
                    s.rx = BytesMut::new();
                }
            }
            // A paused receive resumes now; if its cancel is still on the way, the final
            // completion re-arms it.
            let resume = s.rx_paused && !s.rx_armed;
            s.rx_paused = false;
            if resume {
                r.arm_recv(self.idx);
            }
            Ok(n)
        })
        .unwrap_or(Err(()))
    }

    /// Queue `out` to be sent (it is left empty). Returns false once the socket failed.
    pub fn send(&self, out: &mut BytesMut) -> bool {
        with(|r| {
            let s = &mut r.slots[self.idx as usize];
            if s.tx_err {
                out.clear();
                return false;
            }
            if out.is_empty() {
                return true;
            }
            if !s.tx_busy {
                std::mem::swap(out, &mut s.tx);
                out.clear();
                s.tx_off = 0;
                r.start_send(self.idx);
            } else {
                s.tx_more.extend_from_slice(out);
                out.clear();
            }
            true
        })
        .unwrap_or(false)
    }

    /// A handle to read this socket's pending output later (CLIENT LIST).
    pub fn output(&self) -> Output {
        Output {
            idx: self.idx,
            fd: self.fd,
        }
    }

    /// Bytes accepted by `send` that the kernel has not taken yet.
    pub fn unsent(&self) -> usize {
        with(|r| {
            let s = &r.slots[self.idx as usize];
            Reactor::unsent(s)
        })
        .unwrap_or(0)
    }

    /// Wait until at most `limit` bytes are unsent. Returns false if the socket failed.
    pub async fn flushed(&self, limit: usize) -> bool {
        std::future::poll_fn(|cx| {
            with(|r| {
                let s = &mut r.slots[self.idx as usize];
                if s.tx_err {
                    return Poll::Ready(false);
                }
                let unsent = Reactor::unsent(s);
                if unsent <= limit {
                    return Poll::Ready(true);
                }
                s.tx_waker = Some(cx.waker().clone());
                Poll::Pending
            })
            .unwrap_or(Poll::Ready(false))
        })
        .await
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        let idx = self.idx;
        if with(|r| r.release(idx)).is_none() {
            // The shard is being torn down; the socket just closes.
            unsafe { libc::close(self.fd) };
        }
    }
}

impl Drop for Reactor {
    fn drop(&mut self) {
        unsafe { libc::close(self.efd) };
        // The kernel may still write into the receive buffers until the ring is gone;
        // they are left allocated (this only happens when the shard exits).
    }
}

/// Where a socket's pending output can be looked up from its shard, without the
/// `Socket` itself: read only when asked (CLIENT LIST / INFO), so sending does no
/// extra bookkeeping for it.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    idx: u32,
    fd: RawFd,
}

impl Output {
    /// `(unsent bytes, queued buffers)` as CLIENT LIST's `omem` and `oll`. The bytes
    /// are the kernel's current send buffer's unsent rest plus everything queued
    /// behind it. Redis's reply list holds the replies that did not fit its fixed
    /// buffer; ours is the one buffer queued behind the one being sent, so `oll` is 1
    /// while output waits behind a send in progress and 0 when it all fits one buffer.
    pub fn pending(&self) -> (usize, usize) {
        with(|r| match r.slots.get(self.idx as usize) {
            Some(s) if s.live && s.fd == self.fd => {
                (Reactor::unsent(s), usize::from(!s.tx_more.is_empty()))
            }
            _ => (0, 0),
        })
        .unwrap_or((0, 0))
    }
}
