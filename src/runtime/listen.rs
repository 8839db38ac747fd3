//! Listening sockets: every shard binds the same addresses with SO_REUSEPORT.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::IntoRawFd;

use socket2::{Domain, Protocol, Socket, Type};
use tracing::warn;

use crate::config::Config;

#[derive(Clone)]
pub struct Addrs {
    pub port: u16,
    /// (address, optional: a failure to bind it is only a warning — Redis's `-` prefix)
    pub list: Vec<(IpAddr, bool)>,
    pub backlog: i32,
    /// Holds the port while port 0 is being resolved; dropped once shards listen.
    pub reservation: std::sync::Arc<Option<Socket>>,
}

fn new_socket(addr: SocketAddr) -> std::io::Result<Socket> {
    let domain = if addr.is_ipv6() {
        Domain::IPV6
    } else {
        Domain::IPV4
    };
    let s = Socket::new(domain, Type::STREAM, Some(Protocol::TCP))?;
    s.set_reuse_address(true)?;
    s.set_reuse_port(true)?;
    if addr.is_ipv6() {
        s.set_only_v6(true)?;
    }
    Ok(s)
}

/// Parse `bind` and settle the port (port 0: one ephemeral port for every shard).
pub fn resolve(cfg: &Config) -> Result<Addrs, String> {
    let mut list = Vec::new();
    for b in cfg.bind() {
        let (optional, b) = match b.strip_prefix('-') {
            Some(rest) => (true, rest.to_string()),
            None => (false, b.clone()),
        };
        let ip = match b.as_str() {
            "*" => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            "::*" => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            other => other
                .parse::<IpAddr>()
                .map_err(|_| format!("Invalid bind address '{other}'"))?,
        };
        list.push((ip, optional));
    }
    if list.is_empty() {
        list.push((IpAddr::V4(Ipv4Addr::UNSPECIFIED), false));
    }
    let mut port = cfg.port();
    let mut reservation = None;
    if port == 0 {
        let first = list[0].0;
        let addr = SocketAddr::new(first, 0);
        let s = new_socket(addr).map_err(|e| format!("Could not create server TCP socket: {e}"))?;
        s.bind(&addr.into())
            .map_err(|e| format!("Could not create server TCP listening socket {addr}: {e}"))?;
        port = s
            .local_addr()
            .ok()
            .and_then(|a| a.as_socket())
            .map(|a| a.port())
            .ok_or("Could not resolve the listening port")?;
        reservation = Some(s);
    }
    let backlog = cfg.get_i64("tcp-backlog").clamp(1, 65535) as i32;
    Ok(Addrs {
        port,
        list,
        backlog,
        reservation: std::sync::Arc::new(reservation),
    })
}

/// Bind and listen on every address on this shard, and spawn the accept loops.
pub fn start_listeners(addrs: &Addrs) -> Result<(), String> {
    let mut bound = 0;
    for &(ip, optional) in &addrs.list {
        let addr = SocketAddr::new(ip, addrs.port);
        let sock = new_socket(addr).and_then(|s| {
            s.bind(&addr.into())?;
            s.listen(addrs.backlog)?;
            Ok(s)
        });
        match sock {
            Ok(s) => {
                crate::net::uring::listen(s.into_raw_fd());
                bound += 1;
            }
            Err(e) if optional => {
                warn!("Warning: Could not create server TCP listening socket {addr}: {e}");
            }
            Err(e) => {
                return Err(format!(
                    "Warning: Could not create server TCP listening socket {addr}: {e}"
                ))
            }
        }
    }
    if bound == 0 {
        return Err("Failed listening on port (tcp), aborting.".into());
    }
    Ok(())
}

/// Serve one accepted client on this shard.
pub fn spawn_connection(sock: crate::net::uring::Socket) {
    glommio::spawn_local(async move {
        // A panic while serving one client closes that client only.
        let served = futures_lite::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(
            crate::net::conn::serve(sock),
        ))
        .await;
        if served.is_err() {
            tracing::warn!("Connection task panicked; the client was disconnected");
        }
    })
    .detach();
}
