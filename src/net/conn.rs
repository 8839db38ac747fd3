//! One client connection: read -> parse every complete request -> dispatch -> one write.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;

use bytes::{Bytes, BytesMut};
use futures_lite::{AsyncReadExt, AsyncWriteExt, StreamExt};
use glommio::net::TcpStream;
use tracing::{debug, info};

use super::client::{Client, ClientInfo};
use super::dispatch::run_requests;
use super::registry;
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

/// What woke the connection.
enum Event {
    Read(std::io::Result<usize>),
    Monitor(Option<Bytes>),
    Killed,
}

pub async fn serve(mut stream: TcpStream, fd: i32) {
    let srv = server();
    let peer = stream.peer_addr().ok();
    let local = stream.local_addr().ok();
    let _ = stream.set_nodelay(true);
    let cfg = srv.config();
    let maxclients = cfg.get_i64("maxclients").max(1) as usize;
    if srv.connected_clients.load(std::sync::atomic::Ordering::Relaxed) >= maxclients {
        srv.rejected_connections.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let _ = stream.write_all(b"-ERR max number of clients reached\r\n").await;
        return;
    }
    let requirepass = cfg.requirepass().map(|s| s.to_string());
    if cfg.get_bool("protected-mode") && requirepass.is_none() && peer.as_ref().is_some_and(|p| !is_loopback(p)) {
        srv.rejected_connections.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let _ = stream.write_all(format!("-{DENIED}\r\n").as_bytes()).await;
        return;
    }
    drop(cfg);
    let id = srv.next_client_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    srv.connected_clients.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    srv.total_connections.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
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
        kill: false,
        no_evict: false,
        flags: "N".into(),
    }));
    let mut kill = registry::register(info.clone());
    let _cleanup = Cleanup { id };
    let mut client = Client::new(info.clone(), requirepass.is_none());
    debug!("Accepted {}", info.borrow().addr);
    let mut parser = RequestParser::new();
    let mut rbuf = BytesMut::with_capacity(READ_CHUNK);
    // Small reads land here and are appended to `rbuf` (copying what arrived costs less
    // than zero-filling `rbuf`'s spare capacity on every read). Big bulk strings are read
    // straight into `rbuf`.
    let mut chunk = vec![0u8; READ_CHUNK];
    let mut wbuf = BytesMut::with_capacity(READ_CHUNK);
    let mut reqs: Vec<Vec<Bytes>> = Vec::new();
    'conn: loop {
        let hint = parser.pending_hint();
        let len = rbuf.len();
        let direct = hint > READ_CHUNK;
        if direct {
            rbuf.resize(len + hint.min(1 << 20), 0);
        }
        let killed = async {
            let _ = (&mut kill).await;
        };
        let monitor_line = async {
            match client.monitor.as_mut() {
                Some(rx) => Some(rx.next().await),
                None => std::future::pending().await,
            }
        };
        let buf: &mut [u8] = if direct { &mut rbuf[len..] } else { &mut chunk };
        let read = futures_lite::future::or(
            async { Event::Read(stream.read(buf).await) },
            futures_lite::future::or(
                async { Event::Monitor(monitor_line.await.flatten()) },
                async {
                    killed.await;
                    Event::Killed
                },
            ),
        )
        .await;
        let read = match read {
            Event::Read(r) => Some(r),
            Event::Killed => None,
            Event::Monitor(line) => {
                if direct {
                    rbuf.truncate(len);
                }
                let Some(line) = line else { continue };
                let mut out = BytesMut::from(&line[..]);
                if let Some(rx) = client.monitor.as_mut() {
                    while let Ok(more) = rx.try_recv() {
                        out.extend_from_slice(&more);
                    }
                }
                if stream.write_all(&out).await.is_err() {
                    break;
                }
                continue;
            }
        };
        let n = match read {
            Some(Ok(0)) | Some(Err(_)) | None => {
                rbuf.truncate(len);
                break;
            }
            Some(Ok(n)) => n,
        };
        if direct {
            rbuf.truncate(len + n);
        } else {
            rbuf.extend_from_slice(&chunk[..n]);
        }
        let tun = crate::shard::with_shard(|s| {
            s.refresh_config();
            s.stats.net_input_bytes += n as u64;
            s.tun
        });
        let limits = ParseLimits { max_bulk_len: tun.max_bulk_len, ..ParseLimits::default() };
        loop {
            match parser.next(&mut rbuf, &limits) {
                Ok(Some(req)) => reqs.push(req.args),
                Ok(None) => break,
                Err(e) => {
                    info!("Protocol error ({}) from client: id={} addr={}", e.0, id, info.borrow().addr);
                    if !reqs.is_empty() {
                        run_requests(&mut client, std::mem::take(&mut reqs), &mut wbuf).await;
                    }
                    encode(&Reply::Error(Bytes::from(format!("ERR {}", e.0))), client.resp3, &mut wbuf);
                    let _ = stream.write_all(&wbuf).await;
                    break 'conn;
                }
            }
        }
        if parser.partial_len() + rbuf.len() > tun.query_buffer_limit {
            tracing::warn!("Closing client that reached max query buffer length: id={id} addr={}", info.borrow().addr);
            break;
        }
        if !reqs.is_empty() {
            {
                let mut i = info.borrow_mut();
                i.last_cmd_ms = now_ms();
            }
            run_requests(&mut client, std::mem::take(&mut reqs), &mut wbuf).await;
        }
        if !wbuf.is_empty() {
            let out = wbuf.len() as u64;
            if stream.write_all(&wbuf).await.is_err() {
                break;
            }
            crate::shard::with_shard(|s| s.stats.net_output_bytes += out);
            wbuf.clear();
            if wbuf.capacity() > 1 << 20 {
                wbuf = BytesMut::with_capacity(READ_CHUNK);
            }
        }
        if client.shutdown {
            crate::runtime::request_shutdown();
        }
        if client.close {
            break;
        }
        if rbuf.is_empty() && rbuf.capacity() > 1 << 20 {
            rbuf = BytesMut::with_capacity(READ_CHUNK);
        }
    }
    crate::families::tx_cmds::unwatch_all(&mut client).await;
}

/// Unregisters the client however the connection ends (a panic included).
struct Cleanup {
    id: u64,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        crate::net::monitor::remove_if_present(self.id);
        registry::unregister(self.id);
        server().connected_clients.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}
