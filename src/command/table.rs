//! Building and looking up the command table. Families register handlers by name; the
//! metadata row of that name supplies arity, flags and key specs.

use std::sync::OnceLock;

use hashbrown::HashMap;

use super::meta::{self, CommandMeta};
use super::{flags, Command, ConnFn, ConnSyncFn, CrossFn, Handler, KeyedFn};
use crate::protocol::Reply;

#[derive(Default)]
pub struct TableBuilder {
    cmds: Vec<(&'static CommandMeta, Handler)>,
}

fn meta_of(name: &str) -> &'static CommandMeta {
    meta::lookup(name).unwrap_or_else(|| panic!("command '{name}' has no metadata row"))
}

impl TableBuilder {
    pub fn keyed(&mut self, name: &str, f: KeyedFn) {
        self.cmds.push((meta_of(name), Handler::Keyed(f)));
    }
    pub fn multi(&mut self, name: &str, f: KeyedFn, cross: CrossFn) {
        self.cmds.push((meta_of(name), Handler::Multi(f, cross)));
    }
    pub fn conn(&mut self, name: &str, f: ConnFn) {
        self.cmds.push((meta_of(name), Handler::Conn(f)));
    }
    pub fn conn_sync(&mut self, name: &str, f: ConnSyncFn) {
        self.cmds.push((meta_of(name), Handler::ConnSync(f)));
    }
}

pub struct Table {
    by_name: HashMap<&'static [u8], &'static Command>,
    /// Sorted, for COMMAND / COMMAND LIST.
    pub all: Vec<&'static Command>,
}

fn container_placeholder(_: &mut crate::net::client::Client, _: &[bytes::Bytes]) -> Reply {
    Reply::error(&crate::error::CmdError::err(
        "container command needs a subcommand",
    ))
}

static TABLE: OnceLock<Table> = OnceLock::new();

fn build() -> Table {
    let mut b = TableBuilder::default();
    crate::families::register_all(&mut b);
    let mut cmds: Vec<Command> = Vec::new();
    let mut containers = Vec::new();
    for (m, h) in b.cmds {
        let mut f = flags::parse(m.flags);
        if flags::PROTECTED_COMMANDS.contains(&m.name) {
            f |= flags::PROTECTED;
        }
        if m.is_subcommand() {
            containers.push(m.container());
        }
        cmds.push(Command {
            id: 0,
            name: m.name,
            meta: m,
            flags: f,
            handler: h,
            has_subs: m.has_subcommands(),
        });
    }
    for c in containers {
        if cmds.iter().any(|x| x.name == c) {
            continue;
        }
        let m = meta_of(c);
        cmds.push(Command {
            id: 0,
            name: m.name,
            meta: m,
            flags: flags::parse(m.flags),
            handler: Handler::ConnSync(container_placeholder),
            has_subs: true,
        });
    }
    cmds.sort_by_key(|c| c.name);
    cmds.dedup_by_key(|c| c.name);
    let all: Vec<&'static Command> = cmds
        .into_iter()
        .enumerate()
        .map(|(id, c)| &*Box::leak(Box::new(Command { id, ..c })))
        .collect();
    let by_name = all.iter().map(|c| (c.name.as_bytes(), *c)).collect();
    Table { by_name, all }
}

pub fn table() -> &'static Table {
    TABLE.get_or_init(build)
}

/// Case-insensitive lookup of a top-level command.
#[inline]
pub fn lookup(name: &[u8]) -> Option<&'static Command> {
    let mut buf = [0u8; 48];
    if name.len() > buf.len() {
        return None;
    }
    for (d, s) in buf.iter_mut().zip(name) {
        *d = s.to_ascii_lowercase();
    }
    table().by_name.get(&buf[..name.len()]).copied()
}

/// `container|sub`, case-insensitive.
pub fn lookup_sub(container: &Command, sub: &[u8]) -> Option<&'static Command> {
    if sub.len() > 40 {
        return None;
    }
    let mut full = Vec::with_capacity(container.name.len() + 1 + sub.len());
    full.extend_from_slice(container.name.as_bytes());
    full.push(b'|');
    full.extend(sub.iter().map(|c| c.to_ascii_lowercase()));
    table().by_name.get(full.as_slice()).copied()
}

/// Registered subcommands of a container.
pub fn subcommands_of(container: &str) -> Vec<&'static Command> {
    let prefix = format!("{container}|");
    table()
        .all
        .iter()
        .copied()
        .filter(|c| c.name.starts_with(&prefix))
        .collect()
}
