//! Connection commands: PING ECHO QUIT HELLO AUTH SELECT RESET, CLIENT *.

use bytes::Bytes;

use super::numbers::parse_i64;
use crate::command::table::TableBuilder;
use crate::error::CmdError;
use crate::net::client::{Client, ClientInfo, ReplyMode};
use crate::net::registry;
use crate::protocol::Reply;
use crate::server::server;
use crate::shard::mesh::call_all;
use crate::util::now_ms;

pub const REDIS_VERSION: &str = "7.0.15";

pub fn register(t: &mut TableBuilder) {
    t.conn_sync("ping", ping);
    t.conn_sync("echo", |_, a| Reply::Bulk(a[1].clone()));
    t.conn_sync("quit", |c, _| {
        c.close = true;
        Reply::Ok
    });
    t.conn_sync("hello", hello);
    t.conn_sync("monitor", |c, _| {
        if c.multi.is_none() && c.monitor.is_none() {
            c.monitor = Some(crate::net::monitor::add(c.id));
            c.info.borrow_mut().flags = "O".into();
        }
        Reply::Ok
    });
    t.conn("reset", |c, _| Box::pin(reset(c)));
    t.conn_sync("auth", auth);
    t.conn_sync("select", select);
    t.conn_sync("client|id", |c, _| Reply::Int(c.id as i64));
    t.conn_sync("client|setname", client_setname);
    t.conn_sync("client|getname", |c, _| {
        Reply::from_opt_bytes(c.info.borrow().name.clone())
    });
    t.conn("client|list", |c, a| Box::pin(client_list(c, a)));
    t.conn_sync("client|info", |c, _| {
        let i = registry::get(c.id).unwrap_or_else(|| c.info.borrow().clone());
        Reply::Verbatim(Bytes::from(format_client(&i) + "\n"))
    });
    t.conn("client|kill", |c, a| Box::pin(client_kill(c, a)));
    t.conn_sync("client|no-evict", client_no_evict);
    t.conn("client|unblock", |c, a| Box::pin(client_unblock(c, a)));
    t.conn_sync("client|reply", client_reply);
    t.conn_sync("client|help", |_, _| super::help::help("client"));
}

/// RESET: the connection's state as if it had just connected (Redis's
/// clearClientConnectionState): no MULTI, WATCH, MONITOR or subscriptions, database 0,
/// RESP2, default user, no name, replies on, no-evict off.
async fn reset(c: &mut Client) -> Reply {
    if c.monitor.take().is_some() {
        crate::net::monitor::remove(c.id);
    }
    c.multi = None;
    c.multi_error = false;
    super::tx_cmds::unwatch_all(c).await;
    c.pubsub.reset();
    c.db = 0;
    c.resp3 = false;
    c.authenticated = server().config().requirepass().is_none();
    c.reply_mode = ReplyMode::On;
    c.skip_next = false;
    {
        let mut i = c.info.borrow_mut();
        i.db = 0;
        i.resp = 2;
        i.multi = -1;
        i.name = None;
        i.no_evict = false;
        i.flags = "N".into();
        i.pubsub = [0; 3];
    }
    Reply::simple("RESET")
}

fn ping(c: &mut Client, a: &[Bytes]) -> Reply {
    if a.len() > 2 {
        return Reply::error(&CmdError::WrongArity("ping".into()));
    }
    if !c.resp3 && c.pubsub.subscribed() {
        // RESP2 subscribed mode: Redis answers in the shape of a message.
        return Reply::Array(vec![
            Reply::Bulk(Bytes::from_static(b"pong")),
            Reply::Bulk(a.get(1).cloned().unwrap_or_default()),
        ]);
    }
    match a.get(1) {
        Some(m) => Reply::Bulk(m.clone()),
        None => Reply::simple("PONG"),
    }
}

fn check_password(user: &[u8], pass: &[u8]) -> bool {
    let cfg = server().config();
    match cfg.requirepass() {
        Some(p) => user == b"default" && p.as_bytes() == pass,
        None => user == b"default",
    }
}

fn auth(c: &mut Client, a: &[Bytes]) -> Reply {
    if a.len() > 3 {
        return Reply::error(&CmdError::Syntax);
    }
    let (user, pass) = if a.len() == 3 {
        (&a[1][..], &a[2][..])
    } else {
        (&b"default"[..], &a[1][..])
    };
    if a.len() == 2 && server().config().requirepass().is_none() {
        return Reply::error(&CmdError::err("AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"));
    }
    if check_password(user, pass) {
        c.authenticated = true;
        Reply::Ok
    } else {
        Reply::error(&CmdError::Custom(
            "WRONGPASS invalid username-password pair or user is disabled.".into(),
        ))
    }
}

fn hello(c: &mut Client, a: &[Bytes]) -> Reply {
    let mut proto = if c.resp3 { 3 } else { 2 };
    let mut i = 1;
    if a.len() > 1 {
        match parse_i64(&a[1]) {
            Ok(v @ 2..=3) => proto = v,
            Ok(_) => {
                return Reply::error(&CmdError::Custom(
                    "NOPROTO unsupported protocol version".into(),
                ))
            }
            Err(_) => {
                return Reply::error(&CmdError::err(
                    "Protocol version is not an integer or out of range",
                ))
            }
        }
        i = 2;
    }
    let mut name = None;
    while i < a.len() {
        let more = a.len() - i - 1;
        if a[i].eq_ignore_ascii_case(b"auth") && more >= 2 {
            if !check_password(&a[i + 1], &a[i + 2]) {
                return Reply::error(&CmdError::Custom(
                    "WRONGPASS invalid username-password pair or user is disabled.".into(),
                ));
            }
            c.authenticated = true;
            i += 3;
        } else if a[i].eq_ignore_ascii_case(b"setname") && more >= 1 {
            if let Err(e) = valid_name(&a[i + 1]) {
                return Reply::error(&e);
            }
            // Redis 7.0 names the client as it reads the option, even if a later one fails.
            let n = a[i + 1].clone();
            c.info.borrow_mut().name = if n.is_empty() { None } else { Some(n.clone()) };
            name = Some(n);
            i += 2;
        } else {
            return Reply::error(&CmdError::Custom(format!(
                "ERR Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(&a[i])
            )));
        }
    }
    if !c.authenticated {
        return Reply::error(&CmdError::Custom("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time".into()));
    }
    if let Some(n) = name {
        c.info.borrow_mut().name = if n.is_empty() { None } else { Some(n) };
    }
    c.resp3 = proto == 3;
    c.info.borrow_mut().resp = proto as u8;
    let s = |x: &'static str| Reply::Bulk(Bytes::from_static(x.as_bytes()));
    Reply::Map(vec![
        (s("server"), s("redis")),
        (s("version"), s(REDIS_VERSION)),
        (s("proto"), Reply::Int(proto)),
        (s("id"), Reply::Int(c.id as i64)),
        (s("mode"), s("standalone")),
        (s("role"), s("master")),
        (s("modules"), Reply::Array(vec![])),
    ])
}

fn select(c: &mut Client, a: &[Bytes]) -> Reply {
    let Ok(db) = parse_i64(&a[1]) else {
        return Reply::error(&CmdError::NotInteger);
    };
    if db < 0 || db as usize >= server().config().databases() {
        return Reply::error(&CmdError::err("DB index is out of range"));
    }
    c.db = db as u16;
    c.info.borrow_mut().db = c.db;
    Reply::Ok
}

fn valid_name(n: &[u8]) -> Result<(), CmdError> {
    if n.iter().any(|&ch| !(b'!'..=b'~').contains(&ch)) {
        return Err(CmdError::err(
            "Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    Ok(())
}

fn client_setname(c: &mut Client, a: &[Bytes]) -> Reply {
    if let Err(e) = valid_name(&a[2]) {
        return Reply::error(&e);
    }
    c.info.borrow_mut().name = if a[2].is_empty() {
        None
    } else {
        Some(a[2].clone())
    };
    Reply::Ok
}

fn client_no_evict(c: &mut Client, a: &[Bytes]) -> Reply {
    let on = if a[2].eq_ignore_ascii_case(b"on") {
        true
    } else if a[2].eq_ignore_ascii_case(b"off") {
        false
    } else {
        return Reply::error(&CmdError::Syntax);
    };
    c.info.borrow_mut().no_evict = on;
    Reply::Ok
}

fn client_reply(c: &mut Client, a: &[Bytes]) -> Reply {
    let m = &a[2];
    if m.eq_ignore_ascii_case(b"on") {
        c.reply_mode = ReplyMode::On;
        c.skip_this = false;
        Reply::Ok
    } else if m.eq_ignore_ascii_case(b"off") {
        c.reply_mode = ReplyMode::Off;
        Reply::Ok
    } else if m.eq_ignore_ascii_case(b"skip") {
        // Neither SKIP nor the next command is answered; no effect while OFF.
        if c.reply_mode == ReplyMode::On {
            c.skip_this = true;
            c.skip_next = true;
        }
        Reply::Ok
    } else {
        Reply::error(&CmdError::Syntax)
    }
}

pub fn format_client(i: &ClientInfo) -> String {
    let now = now_ms();
    format!(
        "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} qbuf={} qbuf-free=0 argv-mem=0 multi-mem=0 rbs=16384 rbp=0 obl={} oll={} omem={} tot-mem=0 events=r cmd={} user=default redir=-1 resp={}",
        i.id,
        i.addr,
        i.laddr,
        i.fd,
        i.name.as_ref().map(|n| String::from_utf8_lossy(n).into_owned()).unwrap_or_default(),
        now.saturating_sub(i.created_ms) / 1000,
        now.saturating_sub(i.last_cmd_ms) / 1000,
        if i.no_evict { "e" } else { &i.flags },
        i.db,
        i.pubsub[0],
        i.pubsub[1],
        i.pubsub[2],
        i.multi,
        i.qbuf,
        i.obl,
        i.oll,
        i.omem,
        i.last_cmd,
        i.resp
    )
}

async fn client_list(c: &mut Client, a: &[Bytes]) -> Reply {
    // One filter, as Redis takes it: TYPE <type> or ID <id> [<id> ...].
    let mut ids: Option<Vec<u64>> = None;
    // TYPE normal / pubsub: whether a subscribed (flags=P) client is shown.
    let mut pubsub_type: Option<bool> = None;
    if a.len() == 4 && a[2].eq_ignore_ascii_case(b"type") {
        let t = a[3].to_ascii_lowercase();
        if !matches!(
            t.as_slice(),
            b"normal" | b"master" | b"replica" | b"slave" | b"pubsub"
        ) {
            return Reply::error(&CmdError::Custom(format!(
                "ERR Unknown client type '{}'",
                String::from_utf8_lossy(&a[3])
            )));
        }
        match t.as_slice() {
            b"normal" => pubsub_type = Some(false),
            b"pubsub" => pubsub_type = Some(true),
            _ => ids = Some(vec![]),
        }
    } else if a.len() >= 4 && a[2].eq_ignore_ascii_case(b"id") {
        let mut v = Vec::new();
        for x in &a[3..] {
            match parse_i64(x) {
                // Ids that cannot exist simply match nothing.
                Ok(n) => v.push(if n > 0 { n as u64 } else { 0 }),
                Err(_) => return Reply::error(&CmdError::err("Invalid client ID")),
            }
        }
        ids = Some(v);
    } else if a.len() != 2 {
        return Reply::error(&CmdError::Syntax);
    }
    c.info.borrow_mut().last_cmd = "client|list";
    let all = call_all(|_| {
        registry::list()
            .iter()
            .map(format_client_sendable)
            .collect::<Vec<_>>()
    })
    .await;
    let mut rows: Vec<(u64, String)> = all.into_iter().flatten().collect();
    rows.sort_by_key(|r| r.0);
    let mut out = String::new();
    for (id, line) in rows {
        if ids.as_ref().is_some_and(|v| !v.contains(&id)) {
            continue;
        }
        if pubsub_type.is_some_and(|p| p != line.contains(" flags=P ")) {
            continue;
        }
        out.push_str(&line);
        out.push('\n');
    }
    Reply::Verbatim(Bytes::from(out))
}

fn format_client_sendable(i: &ClientInfo) -> (u64, String) {
    (i.id, format_client(i))
}

/// CLIENT UNBLOCK id [TIMEOUT|ERROR]: 1 if that client was blocked and now is not.
async fn client_unblock(_c: &mut Client, a: &[Bytes]) -> Reply {
    let Some(id) = super::numbers::string2ll(&a[2]) else {
        return Reply::error(&CmdError::NotInteger);
    };
    if a.len() > 4 {
        return Reply::error(&CmdError::Custom(format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try CLIENT HELP.",
            String::from_utf8_lossy(&a[1])
        )));
    }
    let error = match a.get(3) {
        None => false,
        Some(m) if m.eq_ignore_ascii_case(b"timeout") => false,
        Some(m) if m.eq_ignore_ascii_case(b"error") => true,
        Some(_) => {
            return Reply::error(&CmdError::err(
                "CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
            ))
        }
    };
    let id = id as u64;
    let hits = call_all(move |_| crate::net::blocked::unblock(id, error)).await;
    Reply::Int(hits.into_iter().any(|h| h) as i64)
}

async fn client_kill(c: &mut Client, a: &[Bytes]) -> Reply {
    let me = c.id;
    if a.len() == 3 {
        // Old form: CLIENT KILL ip:port.
        let addr = String::from_utf8_lossy(&a[2]).into_owned();
        let n: usize = call_all(move |_| registry::kill_where(None, |i| i.addr == addr))
            .await
            .into_iter()
            .sum();
        if n == 0 {
            return Reply::error(&CmdError::err("No such client"));
        }
        if n > 0 && c.info.borrow().addr == String::from_utf8_lossy(&a[2]) {
            c.close = true;
        }
        return Reply::Ok;
    }
    if (a.len() - 2) % 2 != 0 {
        return Reply::error(&CmdError::Syntax);
    }
    let mut id: Option<u64> = None;
    let mut addr: Option<String> = None;
    let mut laddr: Option<String> = None;
    let mut skipme = true;
    let mut typ: Option<Vec<u8>> = None;
    for kv in a[2..].chunks_exact(2) {
        let v = String::from_utf8_lossy(&kv[1]).into_owned();
        match kv[0].to_ascii_lowercase().as_slice() {
            b"id" => match parse_i64(&kv[1]) {
                Ok(n) if n > 0 => id = Some(n as u64),
                _ => return Reply::error(&CmdError::err("client-id should be greater than 0")),
            },
            b"addr" => addr = Some(v),
            b"laddr" => laddr = Some(v),
            b"user" => {
                if v != "default" {
                    return Reply::error(&CmdError::Custom(format!("ERR No such user '{v}'")));
                }
            }
            b"skipme" => match v.as_str() {
                "yes" => skipme = true,
                "no" => skipme = false,
                _ => return Reply::error(&CmdError::Syntax),
            },
            b"type" => {
                let t = kv[1].to_ascii_lowercase();
                if !matches!(
                    t.as_slice(),
                    b"normal" | b"master" | b"replica" | b"slave" | b"pubsub"
                ) {
                    return Reply::error(&CmdError::Custom(format!(
                        "ERR Unknown client type '{v}'"
                    )));
                }
                typ = Some(t);
            }
            _ => return Reply::error(&CmdError::Syntax),
        }
    }
    // TYPE: None any, Some(false) normal, Some(true) pubsub (subscribed clients).
    let pubsub_type = match typ.as_deref() {
        None => None,
        Some(b"normal") => Some(false),
        Some(b"pubsub") => Some(true),
        Some(_) => return Reply::Int(0),
    };
    let except = if skipme { Some(me) } else { None };
    let n: usize = call_all(move |_| {
        let (addr, laddr) = (addr.clone(), laddr.clone());
        registry::kill_where(except, move |i| {
            pubsub_type.is_none_or(|p| p == (i.flags == "P"))
                && id.is_none_or(|x| x == i.id)
                && addr.as_ref().is_none_or(|x| *x == i.addr)
                && laddr.as_ref().is_none_or(|x| *x == i.laddr)
        })
    })
    .await
    .into_iter()
    .sum();
    if !skipme && c.info.borrow().kill {
        c.close = true;
    }
    Reply::Int(n as i64)
}
