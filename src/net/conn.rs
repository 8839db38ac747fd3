//! One client connection: read -> parse every complete request -> dispatch -> one write.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::rc::Rc;

use bytes::{Bytes, BytesMut};
use futures_lite::StreamExt;
use tracing::{debug, info};

use super::client::{Client, ClientInfo};
use super::dispatch::run_requests;
use super::registry;
use super::uring::Socket;
use crate::protocol::{encode, ParseLimits, Reply, RequestParser};
use crate::server::server;
use crate::util::now_ms;

const DENIED: &str = "DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.";

fn is_loopback(addr: &SocketAddr) -> bool {
    match addr {
        SocketAddr::V4(a) => a.ip().is_loopback(),
        SocketAddr::V6(a) => {
            a.ip().is_loopback() || a.ip().to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

const READ_CHUNK: usize = 16 * 1024;
/// Unsent output above which a connection stops reading until the peer catches up.
const OUT_HIGH: usize = 1 << 20;
const OUT_LOW: usize = 256 << 10;
/// Input parsed into one batch of requests. Bigger arrivals run as several batches, so
/// the checks made between batches (maxmemory, output backpressure) stay close to what
/// Redis checks per 16 KB read.
const BATCH_INPUT: usize = 16 << 10;
/// Emptied buffers with more capacity than this are dropped rather than kept for the
/// next request: a connection that once received or sent a burst (a deep pipeline)
/// must not hold that memory while idle, as it counts toward maxmemory.
pub const KEEP_CAPACITY: usize = 64 << 10;

/// What woke the connection.
enum Event {
    Read,
    Monitor(Option<Bytes>),
    Pubsub(Option<crate::pubsub::Delivery>),
    Killed,
}

/// Send one message, wait until the kernel took it; the caller then drops the socket.
async fn refuse(sock: &Socket, msg: &str) {
    let mut out = BytesMut::from(msg.as_bytes());
    if sock.send(&mut out) {
        sock.flushed(0).await;
    }
}

pub async fn serve(sock: Socket) {
    let srv = server();
    if srv.shutdown.load(std::sync::atomic::Ordering::SeqCst) {
        // Shutting down: new connections are closed at once, as the process is exiting.
        return;
    }
    let fd = sock.fd();
    let peer = sock.peer_addr();
    let local = sock.local_addr();
    let cfg = srv.config();
    let maxclients = cfg.get_i64("maxclients").max(1) as usize;
    if srv
        .connected_clients
        .load(std::sync::atomic::Ordering::Relaxed)
        >= maxclients
    {
        srv.rejected_connections
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        refuse(&sock, "-ERR max number of clients reached\r\n").await;
        return;
    }
    let requirepass = cfg.requirepass().map(|s| s.to_string());
    if cfg.get_bool("protected-mode")
        && requirepass.is_none()
        && peer.as_ref().is_some_and(|p| !is_loopback(p))
    {
        srv.rejected_connections
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        refuse(&sock, &format!("-{DENIED}\r\n")).await;
        return;
    }
    drop(cfg);
    let id = srv
        .next_client_id
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    srv.connected_clients
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    srv.total_connections
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let now = now_ms();
    let info = Rc::new(RefCell::new(ClientInfo {
        id,
        addr: peer.map(|p| p.to_string()).unwrap_or_default(),
        laddr: local.map(|p| p.to_string()).unwrap_or_default(),
        fd,
        name: None,
        created_ms: now,
        last_cmd_ms: now,
        db: 0,
        last_cmd: "NULL",
        resp: 2,
        multi: -1,
        watch: 0,
        qbuf: 0,
        obl: 0,
        omem: 0,
        oll: 0,
        kill: false,
        no_evict: false,
        flags: "N".into(),
        pubsub: [0; 3],
    }));
    let mut kill = registry::register(info.clone(), sock.output());
    let _cleanup = Cleanup { id };
    let mut client = Client::new(info.clone(), requirepass.is_none());
    debug!("Accepted {}", info.borrow().addr);
    let mut parser = RequestParser::new();
    let mut rbuf = BytesMut::with_capacity(READ_CHUNK);
    let mut wbuf = BytesMut::with_capacity(READ_CHUNK);
    let mut reqs: VecDeque<Vec<Bytes>> = VecDeque::new();
    // Whether output still owed to the client is sent before the socket closes (QUIT,
    // protocol errors); a killed client or a failed socket closes at once.
    let mut flush_on_close = true;
    // The last batch stopped at BATCH_INPUT with more complete input waiting.
    let mut more_input = false;
    'conn: loop {
        // Requests left over from the last round (it stopped at OUT_HIGH bytes of
        // replies) run before anything new is parsed.
        let leftover = !reqs.is_empty();
        let tun = if leftover || more_input {
            if futures_lite::future::poll_once(&mut kill).await.is_some() {
                flush_on_close = false;
                break;
            }
            crate::shard::with_shard(|s| s.tun)
        } else {
            let killed = async {
                let _ = (&mut kill).await;
            };
            let monitor_line = async {
                match client.monitor.as_mut() {
                    Some(rx) => Some(rx.next().await),
                    None => std::future::pending().await,
                }
            };
            let event = futures_lite::future::or(
                async {
                    sock.readable().await;
                    Event::Read
                },
                futures_lite::future::or(
                    async { Event::Monitor(monitor_line.await.flatten()) },
                    futures_lite::future::or(
                        async { Event::Pubsub(client.pubsub.next().await) },
                        async {
                            killed.await;
                            Event::Killed
                        },
                    ),
                ),
            )
            .await;
            match event {
                Event::Read => {}
                Event::Pubsub(msg) => {
                    if let Some(msg) = msg {
                        if !super::pubsub::deliver(&mut client, &sock, msg) {
                            flush_on_close = false;
                            break;
                        }
                    }
                    continue;
                }
                Event::Killed => {
                    flush_on_close = false;
                    break;
                }
                Event::Monitor(line) => {
                    let Some(line) = line else { continue };
                    let mut out = BytesMut::from(&line[..]);
                    if let Some(rx) = client.monitor.as_mut() {
                        while let Ok(more) = rx.try_recv() {
                            out.extend_from_slice(&more);
                        }
                    }
                    if !sock.send(&mut out) {
                        flush_on_close = false;
                        break;
                    }
                    if sock.unsent() > OUT_HIGH {
                        let limit = crate::shard::with_shard(|s| s.tun.query_buffer_limit);
                        match drain(&sock, &mut kill, &mut rbuf, &parser, limit, &mut client).await
                        {
                            Drained::Flushed => more_input = !rbuf.is_empty(),
                            other => {
                                flush_on_close = other.flush_before_close(id, &info);
                                break;
                            }
                        }
                    }
                    continue;
                }
            }
            let n = match sock.take_input(&mut rbuf) {
                Ok(0) => continue,
                Ok(n) => n,
                Err(()) => break,
            };
            crate::shard::with_shard(|s| {
                s.refresh_config();
                s.stats.net_input_bytes += n as u64;
                s.tun
            })
        };
        if !leftover {
            more_input = false;
            if !parse_batch(
                &mut parser,
                &mut rbuf,
                &tun,
                &mut reqs,
                &mut more_input,
                &mut client,
                &mut wbuf,
                id,
                &info,
            )
            .await
            {
                sock.send(&mut wbuf);
                break 'conn;
            }
        }
        if parser.partial_len() + rbuf.len() > tun.query_buffer_limit {
            tracing::warn!(
                "Closing client that reached max query buffer length: id={id} addr={}",
                info.borrow().addr
            );
            flush_on_close = false;
            break;
        }
        if !reqs.is_empty() {
            // One clock read for the batch: it also starts the first command's timing.
            let start = std::time::Instant::now();
            info.borrow_mut().last_cmd_ms = crate::util::unix_ms_at(start);
            // Messages that arrived first are written first, as Redis would have.
            client.pubsub.flush_into(client.resp3, &mut wbuf);
            run_requests(&mut client, &mut reqs, &mut wbuf, OUT_HIGH, start).await;
        }
        if !wbuf.is_empty() {
            let out = wbuf.len() as u64;
            // Checked before the bytes go out, as Redis checks when it queues a reply.
            if super::pubsub::output_limit_reached(&mut client, sock.unsent() + wbuf.len()) {
                flush_on_close = false;
                break;
            }
            if !sock.send(&mut wbuf) {
                flush_on_close = false;
                break;
            }
            crate::shard::with_shard(|s| s.stats.net_output_bytes += out);
            if wbuf.capacity() > KEEP_CAPACITY {
                wbuf = BytesMut::with_capacity(READ_CHUNK);
            }
            if sock.unsent() > OUT_HIGH {
                match drain(
                    &sock,
                    &mut kill,
                    &mut rbuf,
                    &parser,
                    tun.query_buffer_limit,
                    &mut client,
                )
                .await
                {
                    Drained::Flushed => more_input = !rbuf.is_empty(),
                    other => {
                        flush_on_close = other.flush_before_close(id, &info);
                        break;
                    }
                }
            }
        }
        if let Some(pb) = client.block.take() {
            // The replies before it went out above; now wait, reading (not running) any
            // input meanwhile, as Redis does for a blocked client.
            let limit = tun.query_buffer_limit;
            match super::blocked::wait(&mut client, pb, &sock, &mut kill, &mut rbuf, limit).await {
                Some(reply) => {
                    super::dispatch::emit(&mut client, &mut wbuf, &reply);
                    if !sock.send(&mut wbuf) {
                        flush_on_close = false;
                        break;
                    }
                    more_input = !rbuf.is_empty();
                }
                None => {
                    flush_on_close = false;
                    break;
                }
            }
        }
        if client.shutdown {
            // Like redis-server exiting: no reply, the connection just ends.
            crate::runtime::request_shutdown();
            flush_on_close = false;
            break;
        }
        if client.close {
            break;
        }
        if rbuf.is_empty() && rbuf.capacity() > KEEP_CAPACITY {
            rbuf = BytesMut::with_capacity(READ_CHUNK);
        }
    }
    crate::families::tx_cmds::unwatch_all(&mut client).await;
    if flush_on_close && sock.unsent() > 0 {
        let killed = async {
            let _ = (&mut kill).await;
            false
        };
        futures_lite::future::or(sock.flushed(0), killed).await;
    }
}

/// How waiting for the peer to take its replies ended.
enum Drained {
    /// Unsent output is down to OUT_LOW.
    Flushed,
    /// The socket failed.
    Failed,
    /// CLIENT KILL or shutdown.
    Killed,
    /// The peer closed its side.
    InputEnd,
    /// The input that arrived meanwhile passed client-query-buffer-limit.
    InputLimit,
    /// Pub/sub messages written meanwhile passed client-output-buffer-limit.
    OutputLimit,
}

impl Drained {
    /// Whether replies already made are still sent before the socket closes.
    fn flush_before_close(&self, id: u64, info: &Rc<RefCell<ClientInfo>>) -> bool {
        if let Drained::InputLimit = self {
            tracing::warn!(
                "Closing client that reached max query buffer length: id={id} addr={}",
                info.borrow().addr
            );
        }
        matches!(self, Drained::InputEnd)
    }
}

/// Wait until the peer took most of its replies. Input keeps being read into `rbuf`
/// meanwhile (it runs later), so a client that sends its whole pipeline before reading
/// cannot deadlock against us; only execution waits.
async fn drain(
    sock: &Socket,
    kill: &mut super::registry::Killed,
    rbuf: &mut BytesMut,
    parser: &RequestParser,
    limit: usize,
    client: &mut Client,
) -> Drained {
    enum Ev {
        Flushed(bool),
        Input,
        Pubsub(Option<crate::pubsub::Delivery>),
        Killed,
    }
    loop {
        let ev = futures_lite::future::or(
            async { Ev::Flushed(sock.flushed(OUT_LOW).await) },
            futures_lite::future::or(
                async {
                    sock.readable().await;
                    Ev::Input
                },
                futures_lite::future::or(async { Ev::Pubsub(client.pubsub.next().await) }, async {
                    let _ = (&mut *kill).await;
                    Ev::Killed
                }),
            ),
        )
        .await;
        match ev {
            Ev::Pubsub(None) => {}
            Ev::Pubsub(Some(msg)) => {
                // Messages keep flowing while the peer is slow; the output limit is
                // what bounds them.
                if !super::pubsub::deliver(client, sock, msg) {
                    return Drained::OutputLimit;
                }
            }
            Ev::Flushed(true) => return Drained::Flushed,
            Ev::Flushed(false) => return Drained::Failed,
            Ev::Killed => return Drained::Killed,
            Ev::Input => match sock.take_input(rbuf) {
                Ok(n) => {
                    crate::shard::with_shard(|s| s.stats.net_input_bytes += n as u64);
                    if parser.partial_len() + rbuf.len() > limit {
                        return Drained::InputLimit;
                    }
                }
                Err(()) => return Drained::InputEnd,
            },
        }
    }
}

/// Parse up to BATCH_INPUT bytes of complete requests into `reqs` (`more` says whether
/// complete input may remain). On a protocol error, runs what came before it, writes
/// Redis's error to `wbuf` and returns false: the connection then closes.
#[allow(clippy::too_many_arguments)]
async fn parse_batch(
    parser: &mut RequestParser,
    rbuf: &mut BytesMut,
    tun: &crate::shard::Tunables,
    reqs: &mut VecDeque<Vec<Bytes>>,
    more: &mut bool,
    client: &mut Client,
    wbuf: &mut BytesMut,
    id: u64,
    info: &Rc<RefCell<ClientInfo>>,
) -> bool {
    let limits = ParseLimits {
        max_bulk_len: tun.max_bulk_len,
        ..ParseLimits::default()
    };
    let start = rbuf.len();
    loop {
        if start - rbuf.len() >= BATCH_INPUT {
            *more = !rbuf.is_empty();
            return true;
        }
        match parser.next(rbuf, &limits) {
            Ok(Some(req)) => reqs.push_back(req.args),
            Ok(None) => return true,
            Err(e) => {
                info!(
                    "Protocol error ({}) from client: id={} addr={}",
                    e.0,
                    id,
                    info.borrow().addr
                );
                if !reqs.is_empty() {
                    run_requests(client, reqs, wbuf, usize::MAX, std::time::Instant::now()).await;
                }
                encode(
                    &Reply::Error(Bytes::from(format!("ERR {}", e.0))),
                    client.resp3,
                    wbuf,
                );
                return false;
            }
        }
    }
}

/// Unregisters the client however the connection ends (a panic included).
struct Cleanup {
    id: u64,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        crate::net::monitor::remove_if_present(self.id);
        registry::unregister(self.id);
        server()
            .connected_clients
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}
