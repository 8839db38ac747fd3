//! Tests of the test harness itself (tests/common), against a real redis-server only,
//! so they pass without a working tessera-server.

mod common;

use common::{free_port, temp_dir, RedisServer, TempDir};
use std::time::Duration;

#[test]
fn redis_server_on_unix_socket() {
    let mut srv = RedisServer::start(&[]);
    let dir = srv.dir().to_path_buf();
    assert!(srv.socket_path().exists());
    assert!(srv.log().iter().any(|l| l.contains("Running mode=")));
    assert!(srv.wait_for_log("ready to accept connections", Duration::from_secs(1)));
    assert!(!srv.wait_for_log("no such line in the log", Duration::from_millis(50)));

    let mut con = srv.client();
    let () = redis::cmd("SET").arg("k").arg("v").query(&mut con).unwrap();
    let v: String = redis::cmd("GET").arg("k").query(&mut con).unwrap();
    assert_eq!(v, "v");
    // TCP is disabled.
    let port: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("port")
        .query(&mut con)
        .unwrap();
    assert_eq!(port, ["port", "0"]);
    assert_eq!(srv.cli(&["GET", "k"]), "v\n");

    let status = srv.stop();
    assert!(
        status.success(),
        "redis-server exit after SIGTERM: {status:?}"
    );
    assert!(srv.wait_for_log("ready to exit", Duration::from_secs(5)));
    drop(srv);
    assert!(!dir.exists(), "temp dir {} not removed", dir.display());
}

#[test]
fn redis_server_on_tcp_with_config_file() {
    let conf_dir = TempDir::new("conf");
    let conf = conf_dir.join("redis.conf");
    std::fs::write(&conf, "maxmemory-policy allkeys-lru\n").unwrap();

    let a = RedisServer::start_tcp(&[conf.to_str().unwrap(), "--hz", "17"]);
    let b = RedisServer::start_tcp(&[]);
    assert_ne!(a.port(), b.port());

    let mut con = a.tcp_client();
    let cfg: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("maxmemory-policy")
        .query(&mut con)
        .unwrap();
    assert_eq!(cfg, ["maxmemory-policy", "allkeys-lru"]);
    let hz: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("hz")
        .query(&mut con)
        .unwrap();
    assert_eq!(hz, ["hz", "17"]);
    let port: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("port")
        .query(&mut con)
        .unwrap();
    assert_eq!(port, ["port".to_string(), a.port().to_string()]);
    // The unix socket works as well.
    let pong: String = redis::cmd("PING").query(&mut b.client()).unwrap();
    assert_eq!(pong, "PONG");
}

#[test]
fn kill_is_immediate_and_idempotent() {
    let mut srv = RedisServer::start(&[]);
    let pid = srv.pid() as libc::pid_t;
    srv.kill();
    srv.kill();
    // The process is reaped: signal 0 to its pid fails.
    assert_eq!(unsafe { libc::kill(pid, 0) }, -1);
    let status = srv.stop(); // already dead: returns the recorded status
    assert!(!status.success());
}

#[test]
fn temp_dirs_are_unique_and_cleaned() {
    let a = temp_dir("self test");
    let b = temp_dir("self test");
    assert_ne!(a, b);
    assert!(a.is_dir() && b.is_dir());
    assert!(a.starts_with(std::env::temp_dir()));

    let path = {
        let guard = TempDir::new("guard");
        std::fs::write(guard.join("file"), b"x").unwrap();
        std::fs::create_dir(guard.join("sub")).unwrap();
        guard.path().to_path_buf()
    };
    assert!(!path.exists());
    assert_ne!(free_port(), 0);
}
