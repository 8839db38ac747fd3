//! Configuration: redis.conf compatible loading, CONFIG GET / SET / REWRITE.
//!
//! Every Redis 7.0 directive is known (see [`DIRECTIVES`]): the ones Tessera acts on are
//! marked `implemented`, all others are accepted, validated and stored exactly like
//! redis-server 7.0 does, so that existing redis.conf files keep working.
//!
//! ```text
//! tessera-server [configfile|-] [--directive value ...]
//! ```
//! The arguments after the file become config lines applied after the file, as with
//! redis-server (see [`split_argv`] and [`Config::load`]).
//!
//! Unlike redis-server, loading never changes the process's working directory: a `dir`
//! directive is validated and stored as an absolute path ([`Config::dir`]); relative
//! `include` paths after it are resolved against it, as Redis would. The server should
//! `chdir` to [`Config::dir`] after loading (and after a CONFIG SET of `dir`).

mod directives;
mod glob;
mod num;
mod parse;
mod rewrite;
mod value;

#[cfg(test)]
mod tests_api;
#[cfg(test)]
mod tests_defaults;
#[cfg(test)]
mod tests_parse;
#[cfg(test)]
mod tests_rewrite;

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub use directives::{Directive, Kind, StrCheck, DIRECTIVES};
pub use glob::string_match;
pub use parse::{options_text, repr, split_args};
pub(crate) use value::cobl_limits;
pub use value::notify;

use value::Value;

/// The name shown in fatal config errors.
pub const SERVER_NAME: &str = "Tessera";
/// The version shown in fatal config errors.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

fn index() -> &'static ahash::AHashMap<String, usize> {
    static INDEX: OnceLock<ahash::AHashMap<String, usize>> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut m = ahash::AHashMap::new();
        for (i, d) in DIRECTIVES.iter().enumerate() {
            m.insert(d.name.to_string(), i);
            for a in d.aliases {
                m.insert(a.to_string(), i);
            }
        }
        m
    })
}

/// Index in [`DIRECTIVES`] of a directive name or alias (case-insensitive).
pub(crate) fn lookup(name: &str) -> Option<usize> {
    let m = index();
    m.get(name)
        .or_else(|| m.get(&name.to_ascii_lowercase()))
        .copied()
}

/// The table entry for a directive name or alias (case-insensitive).
pub fn directive(name: &str) -> Option<&'static Directive> {
    lookup(name).and_then(|i| DIRECTIVES.get(i))
}

/// Split the server's arguments (without the program name) into the config file and
/// the `--directive value` arguments, as redis-server does: the first argument is the
/// file unless it starts with `-`; a lone `-` (first or last) means standard input.
pub fn split_argv(argv: &[String]) -> (Option<&str>, &[String]) {
    match argv.split_first() {
        Some((first, rest)) if first == "-" || !first.starts_with('-') => {
            (Some(first.as_str()), rest)
        }
        _ => match argv.split_last() {
            Some((last, rest)) if last == "-" => (Some("-"), rest),
            _ => (None, argv),
        },
    }
}

/// What went wrong while loading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigErrorKind {
    /// A bad line (file, stdin or command line).
    Directive,
    /// A config file (or include) could not be read.
    Open,
    /// Another fatal problem found while loading (e.g. the log file can't be opened).
    Fatal,
}

/// A fatal configuration error. `Display` prints the same block as redis-server
/// (which prints a blank line before it), followed by a `File:` line naming the source.
#[derive(Debug, Clone)]
pub struct ConfigError {
    pub kind: ConfigErrorKind,
    /// The file (absolute path), `"stdin"` or `"command line"`; for `Open`, the path as given.
    pub source: String,
    /// Line number as redis-server counts it (command-line options continue the
    /// numbering after the file's last line). 0 when not about a line.
    pub line: usize,
    /// The offending line, trimmed.
    pub line_text: String,
    /// Redis's message, e.g. `Bad directive or wrong number of arguments`.
    pub message: String,
}

impl ConfigError {
    pub(crate) fn directive(source: &str, line: usize, text: &str, msg: &str) -> Self {
        ConfigError {
            kind: ConfigErrorKind::Directive,
            source: source.to_string(),
            line,
            line_text: text.to_string(),
            message: msg.to_string(),
        }
    }
    pub(crate) fn open(path: &str, msg: &str) -> Self {
        ConfigError {
            kind: ConfigErrorKind::Open,
            source: path.to_string(),
            line: 0,
            line_text: String::new(),
            message: msg.to_string(),
        }
    }
    pub(crate) fn fatal(msg: String) -> Self {
        ConfigError {
            kind: ConfigErrorKind::Fatal,
            source: String::new(),
            line: 0,
            line_text: String::new(),
            message: msg,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            ConfigErrorKind::Directive => write!(
                f,
                "*** FATAL CONFIG FILE ERROR ({SERVER_NAME} {VERSION}) ***\n\
                 Reading the configuration file, at line {}\n>>> '{}'\n{}\nFile: {}",
                self.line, self.line_text, self.message, self.source
            ),
            ConfigErrorKind::Open => write!(
                f,
                "Fatal error, can't open config file '{}': {}",
                self.source, self.message
            ),
            ConfigErrorKind::Fatal => write!(
                f,
                "*** FATAL CONFIG FILE ERROR ({SERVER_NAME} {VERSION}) ***\n{}",
                self.message
            ),
        }
    }
}

impl std::error::Error for ConfigError {}

/// The server configuration: every directive's current value, plus the file-only
/// directives (`rename-command`, `user`, `loadmodule`) as read.
#[derive(Debug, Clone)]
pub struct Config {
    /// Current values, parallel to [`DIRECTIVES`].
    pub(crate) values: Vec<Value>,
    /// Defaults, parallel to [`DIRECTIVES`] (`dir` depends on the start-up directory).
    pub(crate) defaults: Vec<Value>,
    /// Set by the config file or the command line.
    pub(crate) set_by_user: Vec<bool>,
    pub(crate) config_file: Option<PathBuf>,
    pub(crate) rename_commands: Vec<(String, String)>,
    pub(crate) users: Vec<Vec<String>>,
    pub(crate) modules: Vec<Vec<String>>,
}

impl Default for Config {
    /// Every directive at its default (`dir` = the current working directory).
    fn default() -> Config {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
        Config::with_cwd(&cwd)
    }
}

impl Config {
    fn with_cwd(cwd: &Path) -> Config {
        let defaults: Vec<Value> = DIRECTIVES
            .iter()
            .map(|d| value::default_value(d, cwd))
            .collect();
        Config {
            values: defaults.clone(),
            set_by_user: vec![false; defaults.len()],
            defaults,
            config_file: None,
            rename_commands: Vec::new(),
            users: Vec::new(),
            modules: Vec::new(),
        }
    }

    /// Load the configuration like redis-server: `file` is `None`, `Some(path)` or
    /// `Some("-")` for standard input; `args` are the raw arguments after the file
    /// (`--port 6380 --bind 127.0.0.1 ::1`), applied after the file.
    pub fn load(file: Option<&str>, args: &[String]) -> Result<Config, ConfigError> {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
        Config::load_in(&cwd, file, args, None)
    }

    /// [`Config::load`] with an explicit working directory, and optionally the text to
    /// use as standard input (tests).
    pub(crate) fn load_in(
        cwd: &Path,
        file: Option<&str>,
        args: &[String],
        stdin: Option<&str>,
    ) -> Result<Config, ConfigError> {
        let mut cfg = Config::with_cwd(cwd);
        let mut config_file = None;
        let final_cwd = {
            let mut loader = parse::Loader::new(&mut cfg, cwd.to_path_buf());
            let main_text = match file {
                None => String::new(),
                Some("-") => {
                    let text = match stdin {
                        Some(t) => t.to_string(),
                        None => parse::read_stdin()?,
                    };
                    loader.load_text(&text, "stdin", 1)?;
                    text
                }
                Some(path) => {
                    let abs = parse::absolute(cwd, path);
                    let text = loader.load_file(&abs, path)?;
                    config_file = Some(abs);
                    text
                }
            };
            let opts = parse::options_text(args);
            if !opts.is_empty() {
                let first = main_text.matches('\n').count() + 2;
                loader.load_text(&opts, "command line", first)?;
            }
            loader.cwd().to_path_buf()
        };
        cfg.config_file = config_file;
        let logfile = cfg.get_str("logfile");
        if !logfile.is_empty() {
            let p = final_cwd.join(logfile);
            if let Err(e) = std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(&p)
            {
                return Err(ConfigError::fatal(format!(
                    "Can't open the log file: {}",
                    value::os_error_text(&e)
                )));
            }
        }
        Ok(cfg)
    }

    /// Absolute path of the config file (None without a file, or when read from stdin).
    pub fn config_file(&self) -> Option<&Path> {
        self.config_file.as_deref()
    }

    /// CONFIG GET: one or more Redis glob patterns (case-insensitive). Returns
    /// (name, value) pairs without duplicates. A pattern without `*`, `?` or `[` is an
    /// exact name and is echoed as given; hidden directives only match exact names.
    pub fn get(&self, patterns: &[&[u8]]) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        for p in patterns {
            let pat = String::from_utf8_lossy(p);
            if !glob::has_glob_chars(&pat) {
                let key = pat.to_ascii_lowercase();
                if seen.contains(&key) {
                    continue;
                }
                if let Some(i) = lookup(&key).filter(|&i| !DIRECTIVES[i].kind.is_file_only()) {
                    out.push((pat.into_owned(), self.values[i].text.clone()));
                    seen.insert(key);
                }
                continue;
            }
            for (i, d) in DIRECTIVES.iter().enumerate() {
                if d.hidden || d.kind.is_file_only() {
                    continue;
                }
                for key in std::iter::once(&d.name).chain(d.aliases.iter()) {
                    if !seen.contains(*key) && string_match(pat.as_bytes(), key.as_bytes(), true) {
                        out.push((key.to_string(), self.values[i].text.clone()));
                        seen.insert(key.to_string());
                    }
                }
            }
        }
        out
    }

    /// CONFIG SET from a non-local client; see [`Config::set_as`].
    pub fn set(&mut self, pairs: &[(&[u8], &[u8])]) -> Result<Vec<String>, String> {
        self.set_as(pairs, false)
    }

    /// CONFIG SET name value [name value ...], all or nothing. `local_client` matters only
    /// for protected directives (`dir`, `dbfilename`) under `enable-protected-configs local`.
    /// Returns the canonical names whose value changed; errors are Redis's full texts
    /// without the leading '-'.
    pub fn set_as(
        &mut self,
        pairs: &[(&[u8], &[u8])],
        local_client: bool,
    ) -> Result<Vec<String>, String> {
        let protected_ok = match self.get_str("enable-protected-configs") {
            "yes" => true,
            "local" => local_client,
            _ => false,
        };
        let mut seen: Vec<String> = Vec::with_capacity(pairs.len());
        let mut todo: Vec<(usize, String, String)> = Vec::with_capacity(pairs.len());
        for (n, v) in pairs {
            let name = String::from_utf8_lossy(n).into_owned();
            let fail = |m: &str| {
                format!("ERR CONFIG SET failed (possibly related to argument '{name}') - {m}")
            };
            let Some(idx) = lookup(&name).filter(|&i| !DIRECTIVES[i].kind.is_file_only()) else {
                return Err(format!(
                    "ERR Unknown option or number of arguments for CONFIG SET - '{name}'"
                ));
            };
            let d = &DIRECTIVES[idx];
            if !d.mutable {
                return Err(fail("can't set immutable config"));
            }
            if d.protected && !protected_ok {
                return Err(fail("can't set protected config"));
            }
            let key = name.to_ascii_lowercase();
            if seen.contains(&key) {
                return Err(fail("duplicate parameter"));
            }
            seen.push(key);
            todo.push((idx, name, String::from_utf8_lossy(v).into_owned()));
        }
        let cwd = PathBuf::from(self.get_str("dir"));
        let mut staged: Vec<(usize, Value)> = Vec::with_capacity(todo.len());
        for (idx, name, v) in todo {
            let d = &DIRECTIVES[idx];
            let args = if d.kind.is_multi_arg() {
                value::split_set_value(&v)
            } else {
                vec![v]
            };
            let ctx = value::Ctx {
                from_file: false,
                save_started: false,
                cwd: &cwd,
            };
            let nv = value::parse(d, &args, &self.values[idx], &ctx).map_err(|m| {
                format!("ERR CONFIG SET failed (possibly related to argument '{name}') - {m}")
            })?;
            staged.push((idx, nv));
        }
        let before: Vec<(usize, Value)> = staged
            .iter()
            .map(|(i, _)| (*i, self.values[*i].clone()))
            .collect();
        for (idx, nv) in staged {
            self.values[idx] = nv;
        }
        let mut changed: Vec<String> = Vec::new();
        for (idx, old) in before {
            let name = DIRECTIVES[idx].name.to_string();
            if self.values[idx] != old && !changed.contains(&name) {
                changed.push(name);
            }
        }
        Ok(changed)
    }

    /// CONFIG REWRITE (see `rewrite.rs`). Errors are Redis's texts without the leading '-'.
    pub fn rewrite(&self) -> Result<(), String> {
        rewrite::rewrite(self)
    }

    /// Directives given in the file or on the command line with a non-default value
    /// that Tessera accepts but does not act on (plus any `rename-command`, `user` and
    /// `loadmodule` lines), for a start-up warning.
    pub fn unimplemented_in_use(&self) -> Vec<String> {
        let mut out: Vec<String> = DIRECTIVES
            .iter()
            .enumerate()
            .filter(|(i, d)| {
                !d.implemented && self.set_by_user[*i] && self.values[*i] != self.defaults[*i]
            })
            .map(|(_, d)| d.name.to_string())
            .collect();
        for (present, name) in [
            (!self.rename_commands.is_empty(), "rename-command"),
            (!self.users.is_empty(), "user"),
            (!self.modules.is_empty(), "loadmodule"),
        ] {
            if present {
                out.push(name.to_string());
            }
        }
        out
    }

    fn value(&self, name: &str) -> Option<&Value> {
        lookup(name).and_then(|i| self.values.get(i))
    }

    /// The current value as CONFIG GET shows it ("" for an unknown name).
    pub fn get_str(&self, name: &str) -> &str {
        self.value(name).map(|v| v.text.as_str()).unwrap_or("")
    }

    /// Integers and memory sizes (in bytes); bools are 0/1, enums their index, flags their
    /// bits (`notify-keyspace-events`: see [`notify`]); `maxmemory-clients` as a
    /// percentage is negative (-5 for 5%). 0 for an unknown name.
    pub fn get_i64(&self, name: &str) -> i64 {
        self.value(name)
            .map(|v| v.num.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64)
            .unwrap_or(0)
    }

    pub fn get_bool(&self, name: &str) -> bool {
        self.value(name).is_some_and(|v| v.num != 0)
    }

    pub fn port(&self) -> u16 {
        u16::try_from(self.get_i64("port")).unwrap_or(6379)
    }

    /// Addresses to listen on (`* -::*` by default: all IPv4, and all IPv6 if available;
    /// a leading `-` marks an address that may be unavailable).
    pub fn bind(&self) -> Vec<String> {
        self.get_str("bind")
            .split_whitespace()
            .map(str::to_string)
            .collect()
    }

    /// The `threads` directive: number of shard threads, 0 meaning one per CPU core
    /// (the runtime resolves 0).
    pub fn threads(&self) -> usize {
        usize::try_from(self.get_i64("threads")).unwrap_or(0)
    }

    pub fn databases(&self) -> usize {
        usize::try_from(self.get_i64("databases")).unwrap_or(16)
    }

    pub fn loglevel(&self) -> &str {
        self.get_str("loglevel")
    }

    /// `requirepass`, or None when empty.
    pub fn requirepass(&self) -> Option<&str> {
        Some(self.get_str("requirepass")).filter(|s| !s.is_empty())
    }

    pub fn maxmemory(&self) -> u64 {
        self.value("maxmemory")
            .and_then(|v| u64::try_from(v.num).ok())
            .unwrap_or(0)
    }

    pub fn maxmemory_policy(&self) -> &str {
        self.get_str("maxmemory-policy")
    }

    pub fn hz(&self) -> u32 {
        u32::try_from(self.get_i64("hz")).unwrap_or(10)
    }

    /// The working directory (`dir`), absolute.
    pub fn dir(&self) -> &Path {
        Path::new(self.get_str("dir"))
    }

    /// `save` as (seconds, changes) pairs; empty when snapshots are disabled.
    pub fn save_params(&self) -> Vec<(i64, i64)> {
        value::save_pairs(self.get_str("save"))
    }

    /// `client-output-buffer-limit` for a class (`normal`, `replica`/`slave`, `pubsub`):
    /// (hard bytes, soft bytes, soft seconds).
    pub fn client_output_buffer_limit(&self, class: &str) -> Option<(u64, u64, i64)> {
        let limits = value::cobl_limits(self.get_str("client-output-buffer-limit"));
        let i = match class.to_ascii_lowercase().as_str() {
            "normal" => 0,
            "replica" | "slave" => 1,
            "pubsub" => 2,
            _ => return None,
        };
        limits.get(i).copied()
    }

    /// `rename-command` lines as (command, new name); an empty new name disables it.
    pub fn rename_commands(&self) -> &[(String, String)] {
        &self.rename_commands
    }

    /// `user` lines: the words after `user` (name, then ACL rules).
    pub fn users(&self) -> &[Vec<String>] {
        &self.users
    }

    /// `loadmodule` lines: path, then module arguments.
    pub fn load_modules(&self) -> &[Vec<String>] {
        &self.modules
    }

    /// True when `name` currently has its default value.
    pub fn is_default(&self, name: &str) -> bool {
        lookup(name).is_some_and(|i| self.values[i] == self.defaults[i])
    }
}
