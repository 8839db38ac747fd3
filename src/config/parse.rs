//! redis.conf syntax: line splitting (Redis `sdssplitargs`), quoting (`sdscatrepr`),
//! command-line options turned into config lines, and the file loader with `include`.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::directives::{Kind, StrCheck, DIRECTIVES};
use super::glob::{expand_file_glob, has_glob_chars};
use super::value::{self, os_error_text, Ctx};
use super::{lookup, Config, ConfigError};

/// Split one config line into words like Redis's `sdssplitargs`: blanks separate words;
/// `"..."` supports `\n \r \t \b \a \\ \" \xHH` escapes; `'...'` supports `\'`; a closing
/// quote must be followed by a blank or the end. `None` means unbalanced quotes.
pub fn split_args(line: &str) -> Option<Vec<String>> {
    let line = bytes::Bytes::copy_from_slice(line.as_bytes());
    let args = crate::protocol::parse::split_args(&line)?;
    Some(
        args.iter()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect(),
    )
}

/// Quote a string like Redis's `sdscatrepr`: `"..."` with escapes for `\ " \n \r \t \a \b`
/// and `\xHH` for other non-printable bytes.
pub fn repr(s: &str) -> String {
    crate::util::repr_bytes(s.as_bytes())
}

/// Turn redis-server style arguments (`--port 6380 --bind 127.0.0.1 ::1`) into config
/// text, one directive per line, exactly as redis-server 7.0 does (values are quoted).
pub fn options_text(args: &[String]) -> String {
    let mut out = String::new();
    let mut have_value = true;
    for (i, a) in args.iter().enumerate() {
        if have_value && a.starts_with("--") {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&a[2..]);
            out.push(' ');
            let words = split_args(a).map(|w| w.len()).unwrap_or(1);
            if words == 1 {
                have_value = false;
                // `--save` with no value (last, or followed by an option) means `save ""`.
                let next_is_opt = args.get(i + 1).is_some_and(|n| n.starts_with("--"));
                if a.eq_ignore_ascii_case("--save") && (next_is_opt || i + 1 == args.len()) {
                    out.push_str("\"\"");
                    have_value = true;
                }
            } else {
                have_value = true;
            }
        } else {
            out.push_str(&repr(a));
            out.push(' ');
            have_value = true;
        }
    }
    out
}

/// Why a line was refused: a message for this line, or an error from an included file.
enum LineErr {
    Msg(String),
    Nested(ConfigError),
}

impl From<String> for LineErr {
    fn from(m: String) -> Self {
        LineErr::Msg(m)
    }
}

const BAD_DIRECTIVE: &str = "Bad directive or wrong number of arguments";
const MAX_INCLUDE_DEPTH: usize = 32;

/// Applies config text to a [`Config`], tracking what Redis tracks while loading.
pub(crate) struct Loader<'a> {
    cfg: &'a mut Config,
    /// The working directory as Redis would have it: `dir` lines change it.
    cwd: PathBuf,
    save_started: bool,
    depth: usize,
}

impl<'a> Loader<'a> {
    pub fn new(cfg: &'a mut Config, cwd: PathBuf) -> Self {
        Loader {
            cfg,
            cwd,
            save_started: false,
            depth: 0,
        }
    }

    pub fn cwd(&self) -> &Path {
        &self.cwd
    }

    /// Apply `text`; its first line is number `first_line`; errors name `source`.
    pub fn load_text(
        &mut self,
        text: &str,
        source: &str,
        first_line: usize,
    ) -> Result<(), ConfigError> {
        for (i, raw) in text.split('\n').enumerate() {
            let line = raw.trim_matches([' ', '\t', '\r', '\n']);
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let lineno = first_line + i;
            let Some(argv) = split_args(line) else {
                return Err(ConfigError::directive(
                    source,
                    lineno,
                    line,
                    "Unbalanced quotes in configuration line",
                ));
            };
            let Some((name, args)) = argv.split_first() else {
                continue;
            };
            match self.apply(&name.to_ascii_lowercase(), args) {
                Ok(()) => {}
                Err(LineErr::Msg(m)) => {
                    return Err(ConfigError::directive(source, lineno, line, &m))
                }
                Err(LineErr::Nested(e)) => return Err(e),
            }
        }
        Ok(())
    }

    fn apply(&mut self, name: &str, args: &[String]) -> Result<(), LineErr> {
        let Some(idx) = lookup(name) else {
            return Err(BAD_DIRECTIVE.to_string().into());
        };
        let d = &DIRECTIVES[idx];
        match d.kind {
            Kind::Include => match args {
                [path] => self.include(path),
                _ => Err(BAD_DIRECTIVE.to_string().into()),
            },
            Kind::RenameCommand => match args {
                [from, to] => {
                    self.cfg.rename_commands.push((from.clone(), to.clone()));
                    Ok(())
                }
                _ => Err(BAD_DIRECTIVE.to_string().into()),
            },
            Kind::User => {
                if args.is_empty() {
                    return Err(BAD_DIRECTIVE.to_string().into());
                }
                self.cfg.users.push(args.to_vec());
                Ok(())
            }
            Kind::LoadModule => {
                if args.is_empty() {
                    return Err(BAD_DIRECTIVE.to_string().into());
                }
                self.cfg.modules.push(args.to_vec());
                Ok(())
            }
            Kind::Sentinel => {
                if args.is_empty() {
                    Ok(())
                } else {
                    Err("sentinel directive while not in sentinel mode"
                        .to_string()
                        .into())
                }
            }
            Kind::Deprecated => {
                if args.len() != 1 {
                    return Err(BAD_DIRECTIVE.to_string().into());
                }
                tracing::warn!(
                    "Configuration directive '{}' is deprecated and ignored",
                    d.name
                );
                Ok(())
            }
            _ => {
                let ctx = Ctx {
                    from_file: true,
                    save_started: self.save_started,
                    cwd: &self.cwd,
                };
                let v = value::parse(d, args, &self.cfg.values[idx], &ctx)?;
                if d.kind == Kind::Save {
                    self.save_started = true;
                }
                if d.kind == Kind::Str(StrCheck::Dir) {
                    self.cwd = PathBuf::from(&v.text);
                }
                self.cfg.values[idx] = v;
                self.cfg.set_by_user[idx] = true;
                Ok(())
            }
        }
    }

    fn include(&mut self, path: &str) -> Result<(), LineErr> {
        if self.depth >= MAX_INCLUDE_DEPTH {
            return Err("Too many nested include directives".to_string().into());
        }
        let full = self.cwd.join(path);
        if has_glob_chars(path) {
            for p in expand_file_glob(&full) {
                let shown = p.to_string_lossy().into_owned();
                self.load_file(&p, &shown).map_err(LineErr::Nested)?;
            }
            Ok(())
        } else {
            self.load_file(&full, path)
                .map(drop)
                .map_err(LineErr::Nested)
        }
    }

    /// Load a whole file; `shown` is the name used in an open error.
    pub fn load_file(&mut self, path: &Path, shown: &str) -> Result<String, ConfigError> {
        let text = read_file(path, shown)?;
        let source = path.to_string_lossy().into_owned();
        self.depth += 1;
        let r = self.load_text(&text, &source, 1);
        self.depth -= 1;
        r.map(|()| text)
    }
}

fn read_file(path: &Path, shown: &str) -> Result<String, ConfigError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
        Err(e) => Err(ConfigError::open(shown, &os_error_text(&e))),
    }
}

pub(crate) fn read_stdin() -> Result<String, ConfigError> {
    let mut bytes = Vec::new();
    match std::io::stdin().read_to_end(&mut bytes) {
        Ok(_) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
        Err(e) => Err(ConfigError::open("-", &os_error_text(&e))),
    }
}

/// Make `p` absolute against `cwd` and drop `.` and `..` components (like Redis's
/// getAbsolutePath, no symlink resolution).
pub(crate) fn absolute(cwd: &Path, p: &str) -> PathBuf {
    use std::path::Component;
    let joined = cwd.join(p);
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}
