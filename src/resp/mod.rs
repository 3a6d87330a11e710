//! RESP2, the Redis serialisation protocol, as bytes on the wire.
//!
//! Everything that crosses a link in the lab is RESP (or an RDB payload framed inside it), so this
//! module is the foundation of "bytes are the truth": nodes encode their commands and replies here,
//! and the wire view decodes the same bytes to label what is in flight.
//!
//! The parser is streaming: it is handed whatever bytes have arrived so far and answers either a
//! complete frame plus how many bytes it used, or [`Incomplete`](Parsed::Incomplete) when more
//! bytes are needed. Incomplete is not an error: TCP may split a frame anywhere, and so do our
//! simulated links. A [`RespError`] means the bytes can never become a valid frame, which Redis
//! answers with `-ERR Protocol error: ...` and a closed connection.

mod format;
mod parse;
mod split;

pub use format::{format_reply, format_reply_for, label_args, printable, sds_repr};
pub use parse::{
    parse_command, parse_command_resuming, parse_command_within, parse_frame, Parsed, RequestLimits, RequestProgress,
    BULK_MAX,
};
pub use split::{split_args, SplitError};

use std::fmt;

/// One RESP2 value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// `+OK\r\n`
    Simple(String),
    /// `-ERR message\r\n`; the text excludes the leading `-`.
    Error(String),
    /// `:42\r\n`
    Integer(i64),
    /// `$3\r\nfoo\r\n`
    Bulk(Vec<u8>),
    /// `$-1\r\n`
    Null,
    /// `*2\r\n...`
    Array(Vec<Frame>),
    /// `*-1\r\n`
    NullArray,
}

impl Frame {
    /// An error reply from a message that already carries its code (`ERR ...`, `WRONGTYPE ...`).
    pub fn error(msg: impl Into<String>) -> Frame {
        Frame::Error(msg.into())
    }

    /// `+OK`
    pub fn ok() -> Frame {
        Frame::Simple("OK".into())
    }

    /// A bulk string from anything byte-like.
    pub fn bulk(b: impl AsRef<[u8]>) -> Frame {
        Frame::Bulk(b.as_ref().to_vec())
    }

    /// Appends the wire form of this frame to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        match self {
            Frame::Simple(s) => line(out, b'+', s.as_bytes()),
            Frame::Error(s) => line(out, b'-', s.as_bytes()),
            Frame::Integer(n) => line(out, b':', n.to_string().as_bytes()),
            Frame::Bulk(b) => {
                line(out, b'$', b.len().to_string().as_bytes());
                out.extend_from_slice(b);
                out.extend_from_slice(b"\r\n");
            }
            Frame::Null => out.extend_from_slice(b"$-1\r\n"),
            Frame::NullArray => out.extend_from_slice(b"*-1\r\n"),
            Frame::Array(items) => {
                line(out, b'*', items.len().to_string().as_bytes());
                for item in items {
                    item.encode_into(out);
                }
            }
        }
    }

    /// The wire form of this frame.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }
}

fn line(out: &mut Vec<u8>, prefix: u8, body: &[u8]) {
    out.push(prefix);
    out.extend_from_slice(body);
    out.extend_from_slice(b"\r\n");
}

/// Encodes a command as Redis sends commands: an array of bulk strings.
pub fn encode_command<A: AsRef<[u8]>>(args: &[A]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + args.iter().map(|a| a.as_ref().len() + 16).sum::<usize>());
    encode_command_into(args, &mut out);
    out
}

/// Appends a command, an array of bulk strings, to `out`.
pub fn encode_command_into<A: AsRef<[u8]>>(args: &[A], out: &mut Vec<u8>) {
    line(out, b'*', args.len().to_string().as_bytes());
    for a in args {
        let a = a.as_ref();
        line(out, b'$', a.len().to_string().as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// Bytes that can never form a valid frame. The message is Redis's own wording for the same case
/// (after `Protocol error: `).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RespError(pub String);

impl fmt::Display for RespError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Protocol error: {}", self.0)
    }
}

impl std::error::Error for RespError {}
