//! A command's reply as data. Only the encoder knows RESP2 from RESP3.

use bytes::Bytes;

use crate::error::CmdError;

#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// `+OK`
    Ok,
    /// `+<text>` (status reply; no CR/LF inside)
    Simple(Bytes),
    /// `-<text>`; the text is the full message, e.g. `ERR syntax error`.
    Error(Bytes),
    /// `:<n>`
    Int(i64),
    /// `$<len>\r\n<bytes>\r\n`
    Bulk(Bytes),
    /// RESP2 `$-1`, RESP3 `_`
    Nil,
    /// RESP2 `*-1`, RESP3 `_` (a null where Redis sends a null array)
    NilArray,
    /// `*<n>` followed by the items
    Array(Vec<Reply>),
    /// RESP3 `%`, RESP2 flattened to an array of 2n items
    Map(Vec<(Reply, Reply)>),
    /// RESP3 array of 2-element arrays, RESP2 flattened to 2n items (HRANDFIELD and
    /// ZRANDMEMBER WITH..., ZRANGE WITHSCORES: Redis pairs them only in RESP3)
    Pairs(Vec<(Reply, Reply)>),
    /// RESP3 `~`, RESP2 array
    Set(Vec<Reply>),
    /// RESP3 `,`, RESP2 bulk string of the formatted number (Redis's `%.17g` style)
    Double(f64),
    /// A double already formatted by the command (GEOPOS and WITHCOORD send Redis's
    /// 17-decimal "human" text): RESP3 `,<text>`, RESP2 bulk string
    DoubleText(Bytes),
    /// RESP3 `#t`/`#f`, RESP2 `:1`/`:0`
    Bool(bool),
    /// RESP3 `=<len>\r\ntxt:<text>`, RESP2 bulk string
    Verbatim(Bytes),
    /// RESP3 `>` push, RESP2 array
    Push(Vec<Reply>),
    /// Several replies written one after another for one command (SUBSCRIBE a b
    /// confirms each channel separately).
    Many(Vec<Reply>),
    /// An array of bulk strings already in RESP (built by [`BulkArray`]): the same
    /// bytes in RESP2 and RESP3, written out as they are.
    ///
    /// [`BulkArray`]: crate::protocol::encode::BulkArray
    Raw(Bytes),
}

impl Reply {
    pub fn bulk(b: impl Into<Bytes>) -> Reply {
        Reply::Bulk(b.into())
    }

    pub fn simple(s: &'static str) -> Reply {
        Reply::Simple(Bytes::from_static(s.as_bytes()))
    }

    pub fn error(e: &CmdError) -> Reply {
        Reply::Error(Bytes::from(e.to_string()))
    }

    /// Roughly how many bytes the reply encodes to (for output limits).
    pub fn approx_len(&self) -> usize {
        match self {
            Reply::Simple(b)
            | Reply::Error(b)
            | Reply::Bulk(b)
            | Reply::Verbatim(b)
            | Reply::DoubleText(b) => b.len() + 16,
            Reply::Raw(b) => b.len(),
            Reply::Array(v) | Reply::Set(v) | Reply::Push(v) | Reply::Many(v) => {
                16 + v.iter().map(Reply::approx_len).sum::<usize>()
            }
            Reply::Map(v) | Reply::Pairs(v) => {
                16 + v
                    .iter()
                    .map(|(k, v)| k.approx_len() + v.approx_len())
                    .sum::<usize>()
            }
            _ => 16,
        }
    }

    /// A [`Reply::Raw`] decoded back into an array of bulk strings (for comparing
    /// replies structurally); any other reply as it is.
    #[cfg(test)]
    pub fn expand_raw(self) -> Reply {
        let Reply::Raw(raw) = self else {
            return self;
        };
        let mut buf = bytes::BytesMut::from(&raw[..]);
        match crate::protocol::parse::RequestParser::new().next(&mut buf, &Default::default()) {
            Ok(Some(req)) if buf.is_empty() => {
                Reply::Array(req.args.into_iter().map(Reply::Bulk).collect())
            }
            other => panic!("malformed raw reply {raw:?}: {other:?}"),
        }
    }

    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_))
    }

    pub fn from_opt_bytes(b: Option<Bytes>) -> Reply {
        match b {
            Some(b) => Reply::Bulk(b),
            None => Reply::Nil,
        }
    }
}

impl From<CmdError> for Reply {
    fn from(e: CmdError) -> Reply {
        Reply::error(&e)
    }
}

impl From<Result<Reply, CmdError>> for Reply {
    fn from(r: Result<Reply, CmdError>) -> Reply {
        match r {
            Ok(r) => r,
            Err(e) => Reply::error(&e),
        }
    }
}
