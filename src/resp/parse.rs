//! Streaming decoding: frames as a client reads replies, commands as a server reads requests.

use super::{split_args, Frame, RespError};

/// Redis refuses an inline request or a multibulk header line longer than this (PROTO_INLINE_MAX_SIZE).
const INLINE_MAX: usize = 64 * 1024;
/// Largest multibulk count Redis 7.0 accepts (INT_MAX; Redis 6 stopped at 1024 × 1024). Nothing
/// is allocated for the count itself: arguments are kept as they arrive.
const MULTIBULK_MAX: i64 = i32::MAX as i64;
/// Largest bulk string in a request (`proto-max-bulk-len`'s default, 512 MB).
pub const BULK_MAX: u64 = 512 * 1024 * 1024;
/// Nesting deeper than this in a reply is refused rather than recursed into.
const DEPTH_MAX: usize = 64;

/// The outcome of looking at the bytes received so far.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed<T> {
    /// A whole value, and how many bytes of the input it used.
    Complete(T, usize),
    /// More bytes are needed; nothing was consumed.
    Incomplete,
}

/// Finds the end of the line starting at `from`: the index of its `\r` (and the `\n` follows).
fn crlf(buf: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i + 1 < buf.len() {
        if buf[i] == b'\r' && buf[i + 1] == b'\n' {
            return Some(i);
        }
        i += 1;
    }
    None
}

fn int(bytes: &[u8], what: &str) -> Result<i64, RespError> {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or_else(|| RespError(format!("invalid {what}")))
}

/// Decodes one RESP2 frame from the start of `buf`, as a client reads a reply.
pub fn parse_frame(buf: &[u8]) -> Result<Parsed<Frame>, RespError> {
    frame_at(buf, 0, 0).map(|p| match p {
        Some((f, end)) => Parsed::Complete(f, end),
        None => Parsed::Incomplete,
    })
}

fn frame_at(buf: &[u8], pos: usize, depth: usize) -> Result<Option<(Frame, usize)>, RespError> {
    if depth > DEPTH_MAX {
        return Err(RespError("reply nested too deeply".into()));
    }
    let Some(&kind) = buf.get(pos) else {
        return Ok(None);
    };
    let Some(eol) = crlf(buf, pos + 1) else {
        if buf.len() - pos > INLINE_MAX {
            return Err(RespError("too big reply line".into()));
        }
        return Ok(None);
    };
    let body = &buf[pos + 1..eol];
    let next = eol + 2;
    let text = || String::from_utf8_lossy(body).into_owned();
    Ok(match kind {
        b'+' => Some((Frame::Simple(text()), next)),
        b'-' => Some((Frame::Error(text()), next)),
        b':' => Some((Frame::Integer(int(body, "integer")?), next)),
        b'$' => {
            let len = int(body, "bulk length")?;
            if len < 0 {
                return Ok(Some((Frame::Null, next)));
            }
            if len as u64 > BULK_MAX {
                return Err(RespError("invalid bulk length".into()));
            }
            let end = next + len as usize;
            if buf.len() < end + 2 {
                return Ok(None);
            }
            if &buf[end..end + 2] != b"\r\n" {
                return Err(RespError("bulk string not terminated by CRLF".into()));
            }
            Some((Frame::Bulk(buf[next..end].to_vec()), end + 2))
        }
        b'*' => {
            let n = int(body, "multibulk length")?;
            if n < 0 {
                return Ok(Some((Frame::NullArray, next)));
            }
            if n > MULTIBULK_MAX {
                return Err(RespError("invalid multibulk length".into()));
            }
            let mut items = Vec::with_capacity((n as usize).min(1024));
            let mut at = next;
            for _ in 0..n {
                match frame_at(buf, at, depth + 1)? {
                    Some((f, end)) => {
                        items.push(f);
                        at = end;
                    }
                    None => return Ok(None),
                }
            }
            Some((Frame::Array(items), at))
        }
        other => return Err(RespError(format!("unexpected reply type byte '{}'", (other as char).escape_default()))),
    })
}

/// What a server lets one request hold (Redis 7.0's `processMultibulkBuffer` checks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestLimits {
    /// `proto-max-bulk-len`: the longest bulk string (`u64::MAX` for what a master sends,
    /// which Redis does not limit).
    pub max_bulk: u64,
    /// The client has not authenticated where a password is required: at most
    /// `UNAUTHENTICATED_ARGS` arguments of at most `UNAUTHENTICATED_BULK` bytes.
    pub unauthenticated: bool,
}

impl Default for RequestLimits {
    fn default() -> Self {
        RequestLimits { max_bulk: BULK_MAX, unauthenticated: false }
    }
}

/// The most arguments a request of a client that has not authenticated may have.
pub const UNAUTHENTICATED_ARGS: i64 = 10;
/// The longest argument a client that has not authenticated may send.
pub const UNAUTHENTICATED_BULK: i64 = 16 * 1024;

/// Decodes one request from the start of `buf`, as a Redis server reads its query buffer:
/// a multibulk array of bulk strings, or an inline command line (`PING\r\n`, `SYNC\n`).
///
/// An empty line or `*0` completes with no arguments; the caller just skips those bytes.
/// Requests are held to the default [`RequestLimits`].
pub fn parse_command(buf: &[u8]) -> Result<Parsed<Vec<Vec<u8>>>, RespError> {
    parse_command_within(buf, RequestLimits::default())
}

/// [`parse_command`] held to other limits (a server's settings, its client's authentication).
pub fn parse_command_within(buf: &[u8], limits: RequestLimits) -> Result<Parsed<Vec<Vec<u8>>>, RespError> {
    parse_command_resuming(buf, limits, &mut None)
}

/// How far a request that arrives in pieces has been read. Kept between reads (as Redis keeps a
/// client's `multibulklen` and `bulklen`), it makes reading a request of a million arguments, or
/// an inline line of 64 KB, linear in its size instead of reading it again from the start at
/// every piece.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestProgress(Reading);

#[derive(Clone, Debug, PartialEq, Eq)]
enum Reading {
    /// An inline request whose first `scanned` bytes hold no newline.
    Inline { scanned: usize },
    /// A multibulk request: the arguments complete so far, how many it has in all, and where
    /// the next one starts in the buffer.
    Multibulk { args: Vec<Vec<u8>>, count: usize, at: usize },
}

/// What one read of a request came to: the request and the bytes it used, or how far it got.
enum Step {
    Done(Vec<Vec<u8>>, usize),
    More(Reading),
}

/// [`parse_command_within`] for a buffer that only grows at its end between calls (a client's
/// query buffer): `progress` carries what earlier calls read of an incomplete request. Once a
/// request completes (or is refused) `progress` is empty again and the caller removes the bytes.
pub fn parse_command_resuming(
    buf: &[u8],
    limits: RequestLimits,
    progress: &mut Option<RequestProgress>,
) -> Result<Parsed<Vec<Vec<u8>>>, RespError> {
    let reading = match progress.take() {
        Some(RequestProgress(reading)) => reading,
        None => match buf.first() {
            None => return Ok(Parsed::Incomplete),
            Some(b'*') => match multibulk_header(buf, limits)? {
                None => return Ok(Parsed::Incomplete),
                Some((0, at)) => return Ok(Parsed::Complete(Vec::new(), at)),
                Some((count, at)) => Reading::Multibulk { args: Vec::with_capacity(count.min(1024)), count, at },
            },
            Some(_) => Reading::Inline { scanned: 0 },
        },
    };
    let step = match reading {
        Reading::Inline { scanned } => inline(buf, scanned)?,
        Reading::Multibulk { args, count, at } => multibulk_args(buf, limits, args, count, at)?,
    };
    Ok(match step {
        Step::Done(args, used) => Parsed::Complete(args, used),
        Step::More(reading) => {
            *progress = Some(RequestProgress(reading));
            Parsed::Incomplete
        }
    })
}

/// The `*<count>` line: the count (0 for none or a negative one) and where the arguments start,
/// or None until the line is whole.
fn multibulk_header(buf: &[u8], limits: RequestLimits) -> Result<Option<(usize, usize)>, RespError> {
    let Some(eol) = crlf(buf, 1) else {
        if buf.len() > INLINE_MAX {
            return Err(RespError("too big mbulk count string".into()));
        }
        return Ok(None);
    };
    let n = int(&buf[1..eol], "multibulk length")?;
    if n > MULTIBULK_MAX {
        return Err(RespError("invalid multibulk length".into()));
    }
    if limits.unauthenticated && n > UNAUTHENTICATED_ARGS {
        return Err(RespError("unauthenticated multibulk length".into()));
    }
    Ok(Some((n.max(0) as usize, eol + 2)))
}

/// Reads the arguments that have arrived from `at` on, up to `count` in all.
fn multibulk_args(
    buf: &[u8],
    limits: RequestLimits,
    mut args: Vec<Vec<u8>>,
    count: usize,
    mut at: usize,
) -> Result<Step, RespError> {
    while args.len() < count {
        let Some(&first) = buf.get(at) else {
            return Ok(Step::More(Reading::Multibulk { args, count, at }));
        };
        if first != b'$' {
            return Err(RespError(format!("expected '$', got '{}'", (first as char).escape_default())));
        }
        let Some(eol) = crlf(buf, at + 1) else {
            if buf.len() - at > INLINE_MAX {
                return Err(RespError("too big bulk count string".into()));
            }
            return Ok(Step::More(Reading::Multibulk { args, count, at }));
        };
        let len = int(&buf[at + 1..eol], "bulk length")?;
        if len < 0 || len as u64 > limits.max_bulk {
            return Err(RespError("invalid bulk length".into()));
        }
        if limits.unauthenticated && len > UNAUTHENTICATED_BULK {
            return Err(RespError("unauthenticated bulk length".into()));
        }
        let start = eol + 2;
        let end = start + len as usize;
        if buf.len() < end + 2 {
            return Ok(Step::More(Reading::Multibulk { args, count, at }));
        }
        args.push(buf[start..end].to_vec());
        at = end + 2;
    }
    Ok(Step::Done(args, at))
}

/// An inline request: the line up to its newline, split as redis-cli splits a line. The bytes
/// before `scanned` are known to hold no newline.
fn inline(buf: &[u8], scanned: usize) -> Result<Step, RespError> {
    let Some(nl) = buf[scanned..].iter().position(|&b| b == b'\n').map(|i| scanned + i) else {
        if buf.len() > INLINE_MAX {
            return Err(RespError("too big inline request".into()));
        }
        return Ok(Step::More(Reading::Inline { scanned: buf.len() }));
    };
    let mut line = &buf[..nl];
    if line.last() == Some(&b'\r') {
        line = &line[..line.len() - 1];
    }
    let args = split_args(line).map_err(|_| RespError("unbalanced quotes in request".into()))?;
    Ok(Step::Done(args, nl + 1))
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn a_request_read_in_pieces_resumes_where_it_stopped() {
        let mut wire = b"*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n$2\r\nEX\r\n".to_vec();
        wire.extend_from_slice(b"PING\r\n");
        let whole = parse_command(&wire).unwrap();
        let Parsed::Complete(_, used) = whole else { panic!("whole: {whole:?}") };
        let mut progress = None;
        for end in 0..used {
            let got = parse_command_resuming(&wire[..end], RequestLimits::default(), &mut progress).unwrap();
            assert_eq!(got, Parsed::Incomplete, "{end} bytes");
        }
        assert_eq!(parse_command_resuming(&wire, RequestLimits::default(), &mut progress).unwrap(), whole);
        assert_eq!(progress, None, "done: nothing carried to the next request");
        // A refusal after some arguments leaves nothing behind either.
        let bad = b"*3\r\n$3\r\nGET\r\n$-2\r\n";
        let mut progress = None;
        assert_eq!(parse_command_resuming(&bad[..12], RequestLimits::default(), &mut progress), Ok(Parsed::Incomplete));
        assert!(progress.is_some());
        let e = parse_command_resuming(bad, RequestLimits::default(), &mut progress).unwrap_err();
        assert_eq!((e.0.as_str(), progress), ("invalid bulk length", None));
    }

    #[test]
    fn an_inline_request_read_in_pieces_is_the_request_read_whole() {
        let wire = b"SET k \"a b\"\r\nPING\r\n";
        let mut progress = None;
        for end in 0..13 {
            let got = parse_command_resuming(&wire[..end], RequestLimits::default(), &mut progress);
            assert_eq!(got, Ok(Parsed::Incomplete), "{end} bytes");
        }
        let got = parse_command_resuming(wire, RequestLimits::default(), &mut progress);
        assert_eq!((got, progress), (parse_command(wire), None));
        // A line with no end is refused once it passes 64 KB, as read whole.
        let endless = vec![b'x'; INLINE_MAX + 1];
        let mut progress = None;
        let got = parse_command_resuming(&endless[..INLINE_MAX], RequestLimits::default(), &mut progress);
        assert_eq!(got, Ok(Parsed::Incomplete));
        let e = parse_command_resuming(&endless, RequestLimits::default(), &mut progress).unwrap_err();
        assert_eq!((e.0.as_str(), progress), ("too big inline request", None));
    }

    #[test]
    fn every_split_point_is_incomplete_then_complete() {
        let f = Frame::Array(vec![Frame::bulk("SET"), Frame::Integer(-3), Frame::Null]);
        let wire = f.encode();
        for cut in 0..wire.len() {
            assert_eq!(parse_frame(&wire[..cut]).unwrap(), Parsed::Incomplete, "cut {cut}");
        }
        assert_eq!(parse_frame(&wire).unwrap(), Parsed::Complete(f, wire.len()));
    }

    #[test]
    fn inline_commands_are_split_like_redis() {
        let p = parse_command(b"SET k \"a b\"\r\nrest").unwrap();
        assert_eq!(p, Parsed::Complete(vec![b"SET".to_vec(), b"k".to_vec(), b"a b".to_vec()], 13));
        assert_eq!(parse_command(b"\n").unwrap(), Parsed::Complete(vec![], 1));
        assert!(parse_command(b"SET \"k\n").is_err());
    }

    #[test]
    fn bad_multibulk_is_a_protocol_error() {
        assert_eq!(parse_command(b"*1\r\n+x\r\n").unwrap_err().to_string(), "Protocol error: expected '$', got '+'");
        assert!(parse_command(b"*x\r\n").is_err());
        assert!(parse_frame(b"!x\r\n").is_err());
    }
}
