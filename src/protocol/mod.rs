//! The RESP wire protocol: request parsing (`parse`), the reply model (`reply`) and its
//! RESP2/RESP3 encoding (`encode`). Nothing else in the server touches raw protocol bytes.

pub mod encode;
pub mod parse;
pub mod reply;

pub use encode::encode;
pub use parse::{ParseLimits, ProtocolError, Request, RequestParser};
pub use reply::Reply;
