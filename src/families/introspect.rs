//! COMMAND and its subcommands, all read from the table.

use bytes::Bytes;

use crate::command::keys::key_positions;
use crate::command::meta::{BeginSearch, CommandMeta, FindKeys};
use crate::command::table::{self, subcommands_of, TableBuilder};
use crate::command::Command;
use crate::error::CmdError;
use crate::net::client::Client;
use crate::protocol::Reply;
use crate::util::glob_match;

pub fn register(t: &mut TableBuilder) {
    t.conn_sync("command", |_, a| {
        if a.len() > 1 {
            return Reply::error(&CmdError::WrongArity("command".into()));
        }
        Reply::Array(
            table::table()
                .all
                .iter()
                .filter(|c| !c.meta.is_subcommand())
                .map(|c| info_entry(c))
                .collect(),
        )
    });
    t.conn_sync("command|count", |_, _| {
        Reply::Int(
            table::table()
                .all
                .iter()
                .filter(|c| !c.meta.is_subcommand())
                .count() as i64,
        )
    });
    t.conn_sync("command|info", command_info);
    t.conn_sync("command|docs", command_docs);
    t.conn_sync("command|list", command_list);
    t.conn_sync("command|getkeys", command_getkeys);
    t.conn_sync("command|help", |_, _| super::help::help("command"));
}

fn st(s: &'static str) -> Reply {
    Reply::Simple(Bytes::from_static(s.as_bytes()))
}

fn bulk(s: &'static str) -> Reply {
    Reply::Bulk(Bytes::from_static(s.as_bytes()))
}

fn key_spec(m: &CommandMeta) -> Vec<Reply> {
    m.key_specs
        .iter()
        .map(|ks| {
            let mut items = Vec::new();
            if !ks.notes.is_empty() {
                items.push((bulk("notes"), bulk(ks.notes)));
            }
            items.push((
                bulk("flags"),
                Reply::Set(ks.flags.iter().map(|f| st(f)).collect()),
            ));
            let begin = match ks.begin {
                BeginSearch::Index(i) => Reply::Map(vec![
                    (bulk("type"), bulk("index")),
                    (
                        bulk("spec"),
                        Reply::Map(vec![(bulk("index"), Reply::Int(i as i64))]),
                    ),
                ]),
                BeginSearch::Keyword { keyword, startfrom } => Reply::Map(vec![
                    (bulk("type"), bulk("keyword")),
                    (
                        bulk("spec"),
                        Reply::Map(vec![
                            (bulk("keyword"), bulk(keyword)),
                            (bulk("startfrom"), Reply::Int(startfrom as i64)),
                        ]),
                    ),
                ]),
                BeginSearch::Unknown => Reply::Map(vec![
                    (bulk("type"), bulk("unknown")),
                    (bulk("spec"), Reply::Map(vec![])),
                ]),
            };
            let find = match ks.find {
                FindKeys::Range {
                    lastkey,
                    step,
                    limit,
                } => Reply::Map(vec![
                    (bulk("type"), bulk("range")),
                    (
                        bulk("spec"),
                        Reply::Map(vec![
                            (bulk("lastkey"), Reply::Int(lastkey as i64)),
                            (bulk("keystep"), Reply::Int(step as i64)),
                            (bulk("limit"), Reply::Int(limit as i64)),
                        ]),
                    ),
                ]),
                FindKeys::Keynum {
                    keynumidx,
                    firstkey,
                    step,
                } => Reply::Map(vec![
                    (bulk("type"), bulk("keynum")),
                    (
                        bulk("spec"),
                        Reply::Map(vec![
                            (bulk("keynumidx"), Reply::Int(keynumidx as i64)),
                            (bulk("firstkey"), Reply::Int(firstkey as i64)),
                            (bulk("keystep"), Reply::Int(step as i64)),
                        ]),
                    ),
                ]),
                FindKeys::Unknown => Reply::Map(vec![
                    (bulk("type"), bulk("unknown")),
                    (bulk("spec"), Reply::Map(vec![])),
                ]),
            };
            items.push((bulk("begin_search"), begin));
            items.push((bulk("find_keys"), find));
            Reply::Map(items)
        })
        .collect()
}

/// One COMMAND INFO entry, in Redis 7.0's layout.
pub fn info_entry(c: &Command) -> Reply {
    let m = c.meta;
    let subs: Vec<Reply> = if m.is_subcommand() {
        vec![]
    } else {
        subcommands_of(c.name)
            .iter()
            .map(|s| info_entry(s))
            .collect()
    };
    Reply::Array(vec![
        Reply::Bulk(Bytes::from_static(m.name.as_bytes())),
        Reply::Int(m.arity as i64),
        Reply::Set(m.flags.iter().map(|f| st(f)).collect()),
        Reply::Int(m.first_key as i64),
        Reply::Int(m.last_key as i64),
        Reply::Int(m.step as i64),
        Reply::Set(m.acl_categories.iter().map(|f| st(f)).collect()),
        Reply::Set(m.tips.iter().map(|f| bulk(f)).collect()),
        Reply::Set(key_spec(m)),
        Reply::Set(subs),
    ])
}

fn lookup_full(name: &[u8]) -> Option<&'static Command> {
    let lower = String::from_utf8_lossy(name).to_ascii_lowercase();
    match lower.split_once('|') {
        Some((c, s)) => {
            table::lookup(c.as_bytes()).and_then(|c| table::lookup_sub(c, s.as_bytes()))
        }
        None => table::lookup(lower.as_bytes()),
    }
}

fn command_info(_: &mut Client, a: &[Bytes]) -> Reply {
    if a.len() == 2 {
        return Reply::Array(
            table::table()
                .all
                .iter()
                .filter(|c| !c.meta.is_subcommand())
                .map(|c| info_entry(c))
                .collect(),
        );
    }
    Reply::Array(
        a[2..]
            .iter()
            .map(|n| lookup_full(n).map_or(Reply::Nil, info_entry))
            .collect(),
    )
}

fn docs_entry(c: &Command) -> Reply {
    let m = c.meta;
    let mut items = vec![
        (bulk("summary"), bulk(m.summary)),
        (bulk("since"), bulk(m.since)),
        (bulk("group"), bulk(m.group)),
    ];
    if !m.complexity.is_empty() {
        items.push((bulk("complexity"), bulk(m.complexity)));
    }
    if !m.doc_flags.is_empty() {
        items.push((
            bulk("doc_flags"),
            Reply::Set(m.doc_flags.iter().map(|f| st(f)).collect()),
        ));
    }
    if !m.deprecated_since.is_empty() {
        items.push((bulk("deprecated_since"), bulk(m.deprecated_since)));
    }
    if !m.replaced_by.is_empty() {
        items.push((bulk("replaced_by"), bulk(m.replaced_by)));
    }
    if !m.is_subcommand() {
        let subs = subcommands_of(c.name);
        if !subs.is_empty() {
            items.push((
                bulk("subcommands"),
                Reply::Map(subs.iter().map(|s| (bulk(s.name), docs_entry(s))).collect()),
            ));
        }
    }
    Reply::Map(items)
}

fn command_docs(_: &mut Client, a: &[Bytes]) -> Reply {
    let cmds: Vec<&'static Command> = if a.len() == 2 {
        table::table()
            .all
            .iter()
            .copied()
            .filter(|c| !c.meta.is_subcommand())
            .collect()
    } else {
        a[2..].iter().filter_map(|n| lookup_full(n)).collect()
    };
    Reply::Map(
        cmds.into_iter()
            .map(|c| (bulk(c.name), docs_entry(c)))
            .collect(),
    )
}

fn command_list(_: &mut Client, a: &[Bytes]) -> Reply {
    let all = &table::table().all;
    let names = |f: &dyn Fn(&Command) -> bool| {
        Reply::Array(all.iter().filter(|c| f(c)).map(|c| bulk(c.name)).collect())
    };
    match a.len() {
        2 => names(&|_| true),
        5 if a[2].eq_ignore_ascii_case(b"filterby") => {
            let v = a[4].clone();
            if a[3].eq_ignore_ascii_case(b"pattern") {
                names(&|c| glob_match(&v, c.name.as_bytes(), true))
            } else if a[3].eq_ignore_ascii_case(b"aclcat") {
                let cat = format!("@{}", String::from_utf8_lossy(&v).to_ascii_lowercase());
                names(&|c| c.meta.acl_categories.iter().any(|x| *x == cat))
            } else if a[3].eq_ignore_ascii_case(b"module") {
                Reply::Array(vec![])
            } else {
                Reply::error(&CmdError::Syntax)
            }
        }
        _ => Reply::error(&CmdError::Syntax),
    }
}

fn command_getkeys(_: &mut Client, a: &[Bytes]) -> Reply {
    let args = &a[2..];
    let Some(mut cmd) = table::lookup(&args[0]) else {
        return Reply::error(&CmdError::err("Invalid command specified"));
    };
    if cmd.has_subs && args.len() >= 2 {
        match table::lookup_sub(cmd, &args[1]) {
            Some(s) => cmd = s,
            None => return Reply::error(&CmdError::err("Invalid command specified")),
        }
    }
    if !cmd.arity_ok(args.len()) {
        return Reply::error(&CmdError::err(
            "Invalid number of arguments specified for command",
        ));
    }
    let mut pos = Vec::new();
    key_positions(cmd.meta, args, &mut pos);
    if pos.is_empty() {
        return Reply::error(&CmdError::err("The command has no key arguments"));
    }
    Reply::Array(
        pos.into_iter()
            .map(|p| Reply::Bulk(args[p].clone()))
            .collect(),
    )
}
