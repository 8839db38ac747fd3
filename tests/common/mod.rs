//! Integration-test harness shared by the files in `tests/`.
//!
//! * [`TestServer`]: a `tessera-server` child process on an ephemeral TCP port.
//! * [`RedisServer`]: a real `redis-server` from PATH, for comparing behaviour.
//! * [`temp_dir`] / [`TempDir`]: unique scratch directories that get removed.
//!
//! Every helper waits with polling loops bounded by deadlines; nothing sleeps to
//! synchronize. Child output is drained by threads into a shared log so that a child
//! never blocks on a full pipe, and the log is printed when a test panics.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, Once};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long a server may take to print its startup lines.
pub const START_TIMEOUT: Duration = Duration::from_secs(20);
/// How long `stop()` waits after SIGTERM before it sends SIGKILL.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// Read timeout set on connections from `client()`, so a hung server fails a test
/// instead of hanging the whole run.
pub const CLIENT_READ_TIMEOUT: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------
// Temporary directories
// ---------------------------------------------------------------------------

static DIR_COUNTER: AtomicU64 = AtomicU64::new(0);

fn make_unique_dir(tag: &str) -> PathBuf {
    let tag: String = tag
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(24)
        .collect();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    loop {
        let n = DIR_COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "tessera-{tag}-{}-{n}-{nanos:x}",
            std::process::id()
        ));
        match std::fs::create_dir(&path) {
            Ok(()) => return path,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => panic!("cannot create temp dir {}: {e}", path.display()),
        }
    }
}

/// A unique directory under `std::env::temp_dir()`, removed (recursively) on drop.
/// Derefs to `Path`, so `dir.join("x")` works.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        TempDir {
            path: make_unique_dir(tag),
        }
    }
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl std::ops::Deref for TempDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.path
    }
}

impl AsRef<Path> for TempDir {
    fn as_ref(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Directories handed out by [`temp_dir`]; a process-wide guard removes them at exit.
static EXIT_DIRS: Mutex<Vec<TempDir>> = Mutex::new(Vec::new());
static EXIT_HOOK: Once = Once::new();

extern "C" fn remove_exit_dirs() {
    if let Ok(mut dirs) = EXIT_DIRS.lock() {
        dirs.clear(); // drops the TempDir guards, which remove the directories
    }
}

/// A fresh unique directory under `std::env::temp_dir()`. It lives until the test
/// process exits, when its guard (registered with `atexit`) removes it. Use
/// [`TempDir::new`] instead for a directory removed as soon as the guard is dropped.
pub fn temp_dir(tag: &str) -> PathBuf {
    EXIT_HOOK.call_once(|| unsafe {
        libc::atexit(remove_exit_dirs);
    });
    let dir = TempDir::new(tag);
    let path = dir.path.clone();
    EXIT_DIRS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(dir);
    path
}

// ---------------------------------------------------------------------------
// Captured child output
// ---------------------------------------------------------------------------

#[derive(Default)]
struct LogState {
    lines: Vec<String>,
    /// Output streams that reached EOF (2 = both stdout and stderr closed).
    closed: usize,
}

/// Lines of a child's stdout and stderr, in arrival order, with ANSI escapes removed.
#[derive(Clone, Default)]
struct SharedLog(Arc<(Mutex<LogState>, Condvar)>);

impl SharedLog {
    fn state(&self) -> std::sync::MutexGuard<'_, LogState> {
        self.0 .0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lines(&self) -> Vec<String> {
        self.state().lines.clone()
    }

    /// Spawns a thread that drains `stream` line by line into the log.
    fn drain<R: Read + Send + 'static>(&self, stream: R, prefix: &'static str) {
        let log = self.clone();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stream);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match reader.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                            buf.pop();
                        }
                        let line =
                            format!("{prefix}{}", strip_ansi(&String::from_utf8_lossy(&buf)));
                        log.state().lines.push(line);
                        log.0 .1.notify_all();
                    }
                }
            }
            log.state().closed += 1;
            log.0 .1.notify_all();
        });
    }

    /// Waits until a line at index >= `from` satisfies `pred`; returns its index.
    /// Gives up at `deadline`, or early when both streams closed (the child is gone).
    fn wait_line(
        &self,
        from: usize,
        deadline: Instant,
        mut pred: impl FnMut(&str) -> bool,
    ) -> Option<usize> {
        let mut st = self.state();
        let mut checked = from;
        loop {
            while checked < st.lines.len() {
                if pred(&st.lines[checked]) {
                    return Some(checked);
                }
                checked += 1;
            }
            let now = Instant::now();
            if st.closed >= 2 || now >= deadline {
                return None;
            }
            let wait = (deadline - now).min(Duration::from_millis(100));
            st = self
                .0
                 .1
                .wait_timeout(st, wait)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

/// Removes ANSI CSI escape sequences (colors) so needles match plain text.
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if ('\u{40}'..='\u{7e}').contains(&c) {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The number after "port=" in `line`, if any.
fn parse_port(line: &str) -> Option<u16> {
    let at = line.find("port=")? + "port=".len();
    let digits: String = line[at..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}

fn spawn_logged(cmd: &mut Command, what: &str) -> (Child, SharedLog) {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot spawn {what} ({cmd:?}): {e}"));
    let log = SharedLog::default();
    log.drain(child.stdout.take().unwrap(), "");
    log.drain(child.stderr.take().unwrap(), "[stderr] ");
    (child, log)
}

/// SIGTERM, then wait up to `timeout`, then SIGKILL and wait.
fn terminate(child: &mut Child, timeout: Duration) -> ExitStatus {
    if let Ok(Some(status)) = child.try_wait() {
        return status;
    }
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        match child.try_wait() {
            Ok(Some(status)) => return status,
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(_) => break,
        }
    }
    let _ = child.kill();
    child.wait().expect("wait for child after SIGKILL")
}

fn print_log(what: &str, lines: &[String]) {
    eprintln!("----- {what} log ({} lines) -----", lines.len());
    for line in lines {
        eprintln!("{line}");
    }
    eprintln!("----- end of {what} log -----");
}

fn tcp_client(port: u16) -> redis::Connection {
    let client =
        redis::Client::open(format!("redis://127.0.0.1:{port}/")).expect("redis::Client::open");
    let con = client
        .get_connection_with_timeout(Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("cannot connect to 127.0.0.1:{port}: {e}"));
    con.set_read_timeout(Some(CLIENT_READ_TIMEOUT))
        .expect("set_read_timeout");
    con
}

fn run_cli(conn_args: &[String], args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(conn_args)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run redis-cli (is redis-tools installed?): {e}"));
    if !out.status.success() {
        eprintln!(
            "redis-cli {args:?} exited with {}; stderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8_lossy(&out.stdout).into_owned()
}

// ---------------------------------------------------------------------------
// TestServer: the tessera-server under test
// ---------------------------------------------------------------------------

/// A running `tessera-server` child on 127.0.0.1 and an ephemeral port.
pub struct TestServer {
    pub port: u16,
    child: Child,
    log: SharedLog,
    /// The child's working directory (files it writes with relative paths land here).
    workdir: TempDir,
    status: Option<ExitStatus>,
    /// The log was already shown (in a startup panic message): Drop need not print it.
    log_shown: bool,
}

impl TestServer {
    /// Spawns `tessera-server --port 0 --bind 127.0.0.1 ARGS...` in a fresh temp working
    /// directory and waits (20 s bound) until it logged its port and
    /// "Ready to accept connections". Panics with the captured log otherwise.
    pub fn start(args: &[&str]) -> TestServer {
        Self::spawn(None, args)
    }

    /// Like [`TestServer::start`], with a config file as the first argument:
    /// `tessera-server PATH --port 0 --bind 127.0.0.1 ARGS...` (a relative PATH is taken
    /// relative to the test's current directory).
    pub fn start_with_file(path: &Path, args: &[&str]) -> TestServer {
        Self::spawn(Some(path), args)
    }

    fn spawn(file: Option<&Path>, args: &[&str]) -> TestServer {
        let workdir = TempDir::new("server");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tessera-server"));
        if let Some(file) = file {
            let abs = if file.is_absolute() {
                file.to_path_buf()
            } else {
                std::env::current_dir().expect("current_dir").join(file)
            };
            cmd.arg(abs);
        }
        cmd.args(["--port", "0", "--bind", "127.0.0.1"])
            .args(args)
            .current_dir(&workdir.path);
        let (child, log) = spawn_logged(&mut cmd, "tessera-server");
        let mut server = TestServer {
            port: 0,
            child,
            log,
            workdir,
            status: None,
            log_shown: false,
        };

        let deadline = Instant::now() + START_TIMEOUT;
        let running = server.log.wait_line(0, deadline, |l| {
            l.contains("Running mode=") && parse_port(l).is_some_and(|p| p != 0)
        });
        let Some(i) = running else {
            server.fail_start("no \"Running mode=... port=N.\" line");
        };
        server.port = parse_port(&server.log.lines()[i]).unwrap();
        if server
            .log
            .wait_line(i, deadline, |l| l.contains("Ready to accept connections"))
            .is_none()
        {
            server.fail_start("no \"Ready to accept connections\" line");
        }
        server
    }

    fn fail_start(&mut self, why: &str) -> ! {
        let exited = matches!(self.child.try_wait(), Ok(Some(_)));
        let _ = self.child.kill();
        let status = self.child.wait().ok();
        // Give the drain threads a moment to collect the last lines.
        self.log
            .wait_line(usize::MAX, Instant::now() + Duration::from_secs(2), |_| {
                false
            });
        self.status = status;
        self.log_shown = true;
        let how = match status {
            Some(s) if exited => format!("it exited ({s})"),
            _ => format!("killed after {START_TIMEOUT:?}"),
        };
        let log = self.log.lines().join("\n");
        panic!(
            "tessera-server did not start: {why}; {how}\n\
             ----- server log -----\n{log}\n----- end of server log -----"
        );
    }

    /// "127.0.0.1:PORT"
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// A new synchronous connection (read timeout [`CLIENT_READ_TIMEOUT`]).
    pub fn client(&self) -> redis::Connection {
        tcp_client(self.port)
    }

    /// Runs `redis-cli -h 127.0.0.1 -p PORT ARGS...` and returns its stdout.
    pub fn cli(&self, args: &[&str]) -> String {
        run_cli(
            &[
                "-h".into(),
                "127.0.0.1".into(),
                "-p".into(),
                self.port.to_string(),
            ],
            args,
        )
    }

    /// Every line the server printed so far (stderr lines prefixed with "[stderr] ").
    pub fn log(&self) -> Vec<String> {
        self.log.lines()
    }

    /// Waits until some log line (printed at any time so far or later) contains `needle`.
    pub fn wait_for_log(&self, needle: &str, timeout: Duration) -> bool {
        self.log
            .wait_line(0, Instant::now() + timeout, |l| l.contains(needle))
            .is_some()
    }

    /// The server's working directory (a temp dir removed when the TestServer drops).
    pub fn dir(&self) -> &Path {
        &self.workdir.path
    }

    /// The child's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL and reap.
    pub fn kill(&mut self) {
        if self.status.is_none() {
            let _ = self.child.kill();
            self.status = self.child.wait().ok();
        }
    }

    /// SIGTERM, then wait (10 s bound, then SIGKILL). Returns the exit status.
    pub fn stop(&mut self) -> ExitStatus {
        if let Some(status) = self.status {
            return status;
        }
        let status = terminate(&mut self.child, STOP_TIMEOUT);
        self.status = Some(status);
        status
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() && !self.log_shown {
            print_log(
                &format!("tessera-server (port {})", self.port),
                &self.log.lines(),
            );
        }
    }
}

// ---------------------------------------------------------------------------
// RedisServer: a real redis-server for comparison
// ---------------------------------------------------------------------------

/// A real `redis-server` (from PATH) in a fresh temp dir, always listening on a unix
/// socket there, and also on a free 127.0.0.1 TCP port if started with
/// [`RedisServer::start_tcp`]. Persistence is off (`--save ''`, `--appendonly no`)
/// unless `args` say otherwise. Panics if redis-server is missing: tests must not skip.
pub struct RedisServer {
    child: Child,
    log: SharedLog,
    dir: TempDir,
    socket: PathBuf,
    port: Option<u16>,
    status: Option<ExitStatus>,
}

impl RedisServer {
    /// Unix socket only (TCP disabled with `--port 0`). `args` are extra redis-server
    /// arguments; if the first one does not start with "--" it is a config file path.
    pub fn start(args: &[&str]) -> RedisServer {
        Self::launch(false, args)
    }

    /// Unix socket plus a free TCP port on 127.0.0.1.
    pub fn start_tcp(args: &[&str]) -> RedisServer {
        Self::launch(true, args)
    }

    fn launch(tcp: bool, args: &[&str]) -> RedisServer {
        check_redis_server();
        let mut last_log = Vec::new();
        for _attempt in 0..8 {
            let port = if tcp { Some(free_port()) } else { None };
            match Self::try_start(port, args) {
                Ok(server) => return server,
                Err((log, retry)) => {
                    last_log = log;
                    if !retry {
                        break;
                    }
                }
            }
        }
        panic!(
            "redis-server did not start\n----- redis-server log -----\n{}\n----- end -----",
            last_log.join("\n")
        );
    }

    /// Err((log, worth retrying with another port)).
    fn try_start(port: Option<u16>, args: &[&str]) -> Result<RedisServer, (Vec<String>, bool)> {
        let dir = TempDir::new("redis");
        let socket = dir.path.join("redis.sock");
        let mut cmd = Command::new("redis-server");
        let mut args = args;
        if let Some(first) = args.first() {
            if !first.starts_with("--") {
                cmd.arg(first);
                args = &args[1..];
            }
        }
        let port_s = port.unwrap_or(0).to_string();
        cmd.args(["--port", &port_s, "--bind", "127.0.0.1", "--unixsocket"])
            .arg(&socket)
            .arg("--dir")
            .arg(&dir.path)
            .args([
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--logfile",
                "",
            ])
            .args(args)
            .current_dir(&dir.path);
        let (child, log) = spawn_logged(&mut cmd, "redis-server");
        let mut server = RedisServer {
            child,
            log,
            dir,
            socket,
            port,
            status: None,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        let ready = server.log.wait_line(0, deadline, |l| {
            l.to_ascii_lowercase()
                .contains("ready to accept connections")
        });
        if ready.is_some() {
            return Ok(server);
        }
        server.kill();
        server
            .log
            .wait_line(usize::MAX, Instant::now() + Duration::from_secs(2), |_| {
                false
            });
        let lines = server.log.lines();
        let retry = port.is_some() && lines.iter().any(|l| l.contains("Address already in use"));
        Err((lines, retry))
    }

    /// A new synchronous connection over the unix socket.
    pub fn client(&self) -> redis::Connection {
        let url = format!("redis+unix://{}", self.socket.display());
        let con = redis::Client::open(url.as_str())
            .expect("redis::Client::open")
            .get_connection()
            .unwrap_or_else(|e| panic!("cannot connect to {url}: {e}"));
        con.set_read_timeout(Some(CLIENT_READ_TIMEOUT))
            .expect("set_read_timeout");
        con
    }

    /// A new synchronous connection over TCP (only for [`RedisServer::start_tcp`]).
    pub fn tcp_client(&self) -> redis::Connection {
        tcp_client(self.port())
    }

    /// The TCP port. Panics if the server was started without TCP.
    pub fn port(&self) -> u16 {
        self.port
            .expect("RedisServer has no TCP port: use RedisServer::start_tcp")
    }

    /// The unix socket path (always present).
    pub fn socket_path(&self) -> &Path {
        &self.socket
    }

    /// The server's temp dir (its --dir and working directory).
    pub fn dir(&self) -> &Path {
        &self.dir.path
    }

    /// Runs `redis-cli -s SOCKET ARGS...` and returns its stdout.
    pub fn cli(&self, args: &[&str]) -> String {
        run_cli(&["-s".into(), self.socket.display().to_string()], args)
    }

    pub fn log(&self) -> Vec<String> {
        self.log.lines()
    }

    pub fn wait_for_log(&self, needle: &str, timeout: Duration) -> bool {
        self.log
            .wait_line(0, Instant::now() + timeout, |l| l.contains(needle))
            .is_some()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL and reap.
    pub fn kill(&mut self) {
        if self.status.is_none() {
            let _ = self.child.kill();
            self.status = self.child.wait().ok();
        }
    }

    /// SIGTERM, then wait (10 s bound, then SIGKILL).
    pub fn stop(&mut self) -> ExitStatus {
        if let Some(status) = self.status {
            return status;
        }
        let status = terminate(&mut self.child, STOP_TIMEOUT);
        self.status = Some(status);
        status
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            print_log("redis-server", &self.log.lines());
        }
        // self.dir (a TempDir) is removed after this, when the fields drop.
    }
}

fn check_redis_server() {
    static CHECKED: Once = Once::new();
    CHECKED.call_once(
        || match Command::new("redis-server").arg("--version").output() {
            Ok(out) if out.status.success() => {}
            Ok(out) => panic!(
                "`redis-server --version` failed ({}); the tests need a real redis-server 7.0 \
                 on PATH (apt-get install -y redis-server redis-tools)",
                out.status
            ),
            Err(e) => panic!(
                "redis-server not found on PATH ({e}); the tests need it: \
                 apt-get install -y redis-server redis-tools"
            ),
        },
    );
}

/// A TCP port on 127.0.0.1 that was free a moment ago (callers retry on a bind race).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0")
}
