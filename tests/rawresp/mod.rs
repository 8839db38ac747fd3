//! A tiny RESP2/RESP3 client over a raw `std::net::TcpStream`, for tests that need the
//! exact bytes a server sends (error texts, nulls, close-after-reply), plus helpers to
//! pick key names by hash slot (CRC16-XMODEM, computed here independently of the server).
//!
//! Every read is bounded by a read timeout and every loop by a deadline.

#![allow(dead_code)]

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

/// One decoded reply.
#[derive(Debug, Clone, PartialEq)]
pub enum Resp {
    Simple(String),
    Error(String),
    Int(i64),
    /// `$-1` in RESP2 is `Bulk(None)`.
    Bulk(Option<Vec<u8>>),
    /// `*-1` in RESP2 is `Array(None)`.
    Array(Option<Vec<Resp>>),
    /// RESP3 `_`.
    Null,
    Double(String),
    Bool(bool),
    BigNumber(String),
    Verbatim(String, Vec<u8>),
    Map(Vec<(Resp, Resp)>),
    Set(Vec<Resp>),
    Push(Vec<Resp>),
}

impl Resp {
    pub fn bulk(s: &str) -> Resp {
        Resp::Bulk(Some(s.as_bytes().to_vec()))
    }
    pub fn ok() -> Resp {
        Resp::Simple("OK".into())
    }
    pub fn queued() -> Resp {
        Resp::Simple("QUEUED".into())
    }
    pub fn err(s: &str) -> Resp {
        Resp::Error(s.into())
    }
    /// The text of a bulk / simple / verbatim reply (lossy), None otherwise.
    pub fn text(&self) -> Option<String> {
        match self {
            Resp::Simple(s) => Some(s.clone()),
            Resp::Bulk(Some(b)) => Some(String::from_utf8_lossy(b).into_owned()),
            Resp::Verbatim(_, b) => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        }
    }
    pub fn int(&self) -> Option<i64> {
        match self {
            Resp::Int(i) => Some(*i),
            _ => None,
        }
    }
    pub fn items(&self) -> Option<&[Resp]> {
        match self {
            Resp::Array(Some(v)) | Resp::Set(v) | Resp::Push(v) => Some(v),
            _ => None,
        }
    }
}

/// Encode a command as a RESP multibulk.
pub fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

pub fn encode_strs(args: &[&str]) -> Vec<u8> {
    let v: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
    encode(&v)
}

pub struct RawConn {
    pub stream: TcpStream,
    buf: Vec<u8>,
    pos: usize,
}

/// Outcome of reading until the peer closes.
#[derive(Debug)]
pub struct Drained {
    pub bytes: Vec<u8>,
    /// The peer closed (EOF or reset) before the deadline.
    pub closed: bool,
}

impl RawConn {
    pub fn connect(port: u16) -> RawConn {
        Self::connect_addr(&format!("127.0.0.1:{port}"))
    }

    pub fn connect_addr(addr: &str) -> RawConn {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match TcpStream::connect(addr) {
                Ok(s) => return RawConn::from_stream(s),
                Err(e) if Instant::now() < deadline => {
                    eprintln!("connect {addr}: {e}; retrying");
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => panic!("cannot connect to {addr}: {e}"),
            }
        }
    }

    pub fn from_stream(s: TcpStream) -> RawConn {
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        s.set_nodelay(true).unwrap();
        RawConn {
            stream: s,
            buf: Vec::new(),
            pos: 0,
        }
    }

    pub fn set_timeout(&self, d: Duration) {
        self.stream.set_read_timeout(Some(d)).unwrap();
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write to server");
    }

    /// Send one command and read its reply.
    pub fn cmd(&mut self, args: &[&str]) -> Resp {
        self.send(&encode_strs(args));
        self.read()
    }

    pub fn cmd_bytes(&mut self, args: &[&[u8]]) -> Resp {
        self.send(&encode(args));
        self.read()
    }

    fn fill(&mut self) {
        if self.pos > 0 && self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
        let mut chunk = vec![0u8; 1 << 16];
        match self.stream.read(&mut chunk) {
            Ok(0) => panic!(
                "server closed the connection while a reply was expected (buffered: {:?})",
                String::from_utf8_lossy(&self.buf[self.pos..])
            ),
            Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            Err(e) => panic!(
                "reading a reply failed: {e} (buffered: {:?})",
                String::from_utf8_lossy(&self.buf[self.pos..])
            ),
        }
    }

    fn line(&mut self) -> String {
        loop {
            if let Some(off) = self.buf[self.pos..].windows(2).position(|w| w == b"\r\n") {
                let line =
                    String::from_utf8_lossy(&self.buf[self.pos..self.pos + off]).into_owned();
                self.pos += off + 2;
                return line;
            }
            self.fill();
        }
    }

    fn exact(&mut self, n: usize) -> Vec<u8> {
        while self.buf.len() - self.pos < n + 2 {
            if self.pos > 0 {
                self.buf.drain(..self.pos);
                self.pos = 0;
            }
            let want = n + 2 - self.buf.len();
            if want > (1 << 20) {
                // big payload: read straight into a reserved buffer
                self.buf.reserve(want);
                let start = self.buf.len();
                self.buf.resize(start + want, 0);
                let mut got = 0;
                while got < want {
                    match self.stream.read(&mut self.buf[start + got..]) {
                        Ok(0) => panic!("server closed the connection inside a bulk"),
                        Ok(k) => got += k,
                        Err(e) => panic!("reading a bulk failed: {e}"),
                    }
                }
            } else {
                self.fill();
            }
        }
        let v = self.buf[self.pos..self.pos + n].to_vec();
        assert_eq!(
            &self.buf[self.pos + n..self.pos + n + 2],
            b"\r\n",
            "bulk not followed by CRLF"
        );
        self.pos += n + 2;
        v
    }

    /// Read one reply.
    pub fn read(&mut self) -> Resp {
        let line = self.line();
        let (t, rest) = line.split_at(1.min(line.len()));
        match t {
            "+" => Resp::Simple(rest.to_string()),
            "-" => Resp::Error(rest.to_string()),
            ":" => Resp::Int(rest.parse().expect("integer reply")),
            "$" => {
                let n: i64 = rest.parse().expect("bulk length");
                if n < 0 {
                    Resp::Bulk(None)
                } else {
                    Resp::Bulk(Some(self.exact(n as usize)))
                }
            }
            "*" | "~" | ">" => {
                let n: i64 = rest.parse().expect("aggregate length");
                if n < 0 {
                    return Resp::Array(None);
                }
                let v: Vec<Resp> = (0..n).map(|_| self.read()).collect();
                match t {
                    "*" => Resp::Array(Some(v)),
                    "~" => Resp::Set(v),
                    _ => Resp::Push(v),
                }
            }
            "%" => {
                let n: usize = rest.parse().expect("map length");
                Resp::Map((0..n).map(|_| (self.read(), self.read())).collect())
            }
            "_" => Resp::Null,
            "#" => Resp::Bool(rest == "t"),
            "," => Resp::Double(rest.to_string()),
            "(" => Resp::BigNumber(rest.to_string()),
            "=" => {
                let n: usize = rest.parse().expect("verbatim length");
                let b = self.exact(n);
                Resp::Verbatim(
                    String::from_utf8_lossy(&b[..3]).into_owned(),
                    b[4..].to_vec(),
                )
            }
            _ => panic!("unexpected reply line {line:?}"),
        }
    }

    /// Read raw bytes until `needle` has been received (bounded by `timeout`); returns
    /// everything up to and including it. Panics on timeout or close.
    pub fn read_until(&mut self, needle: &[u8], timeout: Duration) -> Vec<u8> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(off) = self.buf[self.pos..]
                .windows(needle.len())
                .position(|w| w == needle)
            {
                let out = self.buf[self.pos..self.pos + off + needle.len()].to_vec();
                self.pos += off + needle.len();
                return out;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {:?}; got {:?}",
                String::from_utf8_lossy(needle),
                String::from_utf8_lossy(&self.buf[self.pos..])
            );
            self.set_timeout(Duration::from_millis(200));
            let mut chunk = vec![0u8; 1 << 16];
            match self.stream.read(&mut chunk) {
                Ok(0) => panic!(
                    "connection closed while waiting for {:?}; got {:?}",
                    String::from_utf8_lossy(needle),
                    String::from_utf8_lossy(&self.buf[self.pos..])
                ),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) => panic!("read failed: {e}"),
            }
        }
    }

    /// Read everything until the peer closes or `timeout` passes.
    pub fn drain(&mut self, timeout: Duration) -> Drained {
        let mut bytes = self.buf[self.pos..].to_vec();
        self.buf.clear();
        self.pos = 0;
        let deadline = Instant::now() + timeout;
        let mut chunk = vec![0u8; 1 << 16];
        loop {
            let now = Instant::now();
            if now >= deadline {
                return Drained {
                    bytes,
                    closed: false,
                };
            }
            self.stream
                .set_read_timeout(Some((deadline - now).max(Duration::from_millis(1))))
                .unwrap();
            match self.stream.read(&mut chunk) {
                Ok(0) => {
                    return Drained {
                        bytes,
                        closed: true,
                    }
                }
                Ok(n) => bytes.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted
                    ) =>
                {
                    return Drained {
                        bytes,
                        closed: true,
                    }
                }
                Err(e) => panic!("read failed: {e}"),
            }
        }
    }

    /// Nothing more arrives within `wait` and the connection is still open.
    pub fn assert_silent(&mut self, wait: Duration) {
        let d = self.drain(wait);
        assert!(
            !d.closed,
            "connection closed unexpectedly; got {:?}",
            String::from_utf8_lossy(&d.bytes)
        );
        assert!(
            d.bytes.is_empty(),
            "unexpected bytes: {:?}",
            String::from_utf8_lossy(&d.bytes)
        );
    }

    pub fn close(self) {
        let _ = self.stream.shutdown(Shutdown::Both);
    }
}

/// Send `bytes` on a fresh connection (half-closing nothing) and collect everything the
/// server sends until it closes the connection or `timeout` passes. Write errors (the
/// server may close while we still write) are ignored.
pub fn exchange(port: u16, bytes: &[u8], timeout: Duration) -> Drained {
    let mut c = RawConn::connect(port);
    let _ = c.stream.write_all(bytes);
    c.drain(timeout)
}

// ---------------------------------------------------------------------------
// Hash slots
// ---------------------------------------------------------------------------

/// CRC16-XMODEM (poly 0x1021, init 0), as Redis Cluster uses.
pub fn crc16(data: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &b in data {
        crc ^= (b as u16) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// Hash slot of a key without hash tags (the tests never use `{`).
pub fn key_slot(key: &str) -> u16 {
    assert!(!key.contains('{'), "test keys carry no hash tags");
    crc16(key.as_bytes()) & 16383
}

/// The shard a key lands on with `shards` shard threads (slot % shards).
pub fn shard_of(key: &str, shards: usize) -> usize {
    key_slot(key) as usize % shards
}

/// A key `prefix-N` that lands on `shard` of `shards`.
pub fn key_on_shard(prefix: &str, shard: usize, shards: usize) -> String {
    (0..100_000)
        .map(|i| format!("{prefix}-{i}"))
        .find(|k| shard_of(k, shards) == shard)
        .expect("some key lands on every shard")
}

/// `n` distinct keys `prefix-N` spread round-robin over the shards of a 3-shard server
/// (so with 3 shards every shard holds some of them; with 1 shard they are just keys).
pub fn spread_keys(prefix: &str, n: usize) -> Vec<String> {
    let shards = 3;
    let mut out = Vec::with_capacity(n);
    let mut i = 0;
    while out.len() < n {
        let want = out.len() % shards;
        let k = format!("{prefix}-{i}");
        i += 1;
        if shard_of(&k, shards) == want {
            out.push(k);
        }
    }
    out
}

#[test]
fn crc16_matches_redis_cluster_vectors() {
    // From the Redis Cluster specification / CLUSTER KEYSLOT.
    assert_eq!(crc16(b"123456789"), 0x31C3);
    assert_eq!(key_slot("foo"), 12182);
    assert_eq!(key_slot("bar"), 5061);
}
