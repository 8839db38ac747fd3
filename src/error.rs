//! Typed command errors; the Redis `-CODE message` text is produced only at the edge.

use std::fmt;

/// An error a command returns to its client. The connection stays open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CmdError {
    /// `ERR syntax error`
    Syntax,
    /// `ERR value is not an integer or out of range`
    NotInteger,
    /// `ERR value is not a valid float`
    NotFloat,
    /// `WRONGTYPE Operation against a key holding the wrong kind of value`
    WrongType,
    /// `ERR increment or decrement would overflow`
    Overflow,
    /// `ERR no such key`
    NoSuchKey,
    /// `ERR wrong number of arguments for '<cmd>' command`
    WrongArity(String),
    /// `OOM command not allowed when used memory > 'maxmemory'.`
    Oom,
    /// Any other error: the full text without the leading `-`, e.g.
    /// `ERR bit offset is not an integer or out of range`.
    Custom(String),
}

impl CmdError {
    /// Shorthand for an `ERR <msg>` error.
    pub fn err(msg: impl fmt::Display) -> Self {
        CmdError::Custom(format!("ERR {msg}"))
    }

    /// The error code (first word), used for INFO errorstats.
    pub fn code(&self) -> String {
        let text = self.to_string();
        text.split(' ').next().unwrap_or("ERR").to_string()
    }
}

impl fmt::Display for CmdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CmdError::Syntax => f.write_str("ERR syntax error"),
            CmdError::NotInteger => f.write_str("ERR value is not an integer or out of range"),
            CmdError::NotFloat => f.write_str("ERR value is not a valid float"),
            CmdError::WrongType => {
                f.write_str("WRONGTYPE Operation against a key holding the wrong kind of value")
            }
            CmdError::Overflow => f.write_str("ERR increment or decrement would overflow"),
            CmdError::NoSuchKey => f.write_str("ERR no such key"),
            CmdError::WrongArity(cmd) => {
                write!(f, "ERR wrong number of arguments for '{cmd}' command")
            }
            CmdError::Oom => f.write_str("OOM command not allowed when used memory > 'maxmemory'."),
            CmdError::Custom(s) => f.write_str(s),
        }
    }
}

impl std::error::Error for CmdError {}

pub type CmdResult<T> = Result<T, CmdError>;
