//! The wire view: decodes the bytes that travel over a link into labelled messages.
//!
//! Labels are never taken from what a node meant to send, only from the bytes themselves, so the
//! page cannot show anything the wire did not carry. A decoder follows one direction of one
//! connection: RESP frames, inline commands, keepalive newlines, and, once `+FULLRESYNC` (or a
//! legacy `SYNC` in the other direction) announces it, the RDB payload with either framing.

use crate::resp::{label_args, parse_frame, printable, Frame, Parsed};

/// What a message is, for colouring and filtering.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// PING, REPLCONF, PSYNC/SYNC, AUTH, +FULLRESYNC, +CONTINUE.
    Handshake,
    /// Replies such as +PONG, +OK, errors.
    Reply,
    /// RDB payload bytes (and its `$` header).
    Rdb,
    /// Propagated commands.
    Stream,
    /// The master's in-stream `ping`.
    Ping,
    /// REPLCONF ACK / GETACK.
    Ack,
    /// A bare `\n`.
    Keepalive,
}

#[derive(Clone, Debug)]
enum Mode {
    Resp,
    Payload { header: bool, mark: Option<Vec<u8>>, total: Option<usize>, seen: usize, tail: Vec<u8> },
}

/// Decoder for one direction of one connection.
#[derive(Clone, Debug)]
pub struct WireDecoder {
    buf: Vec<u8>,
    mode: Mode,
    /// The next `$` header starts an RDB payload (after +FULLRESYNC, or SYNC seen the other way).
    pub awaiting_payload: bool,
}

impl Default for WireDecoder {
    fn default() -> Self {
        WireDecoder { buf: Vec::new(), mode: Mode::Resp, awaiting_payload: false }
    }
}

fn command_label(args: &[Vec<u8>]) -> (Kind, String) {
    let text = label_args(args);
    let name = args.first().map(|a| a.as_slice()).unwrap_or(b"");
    let sub = args.get(1).map(|a| a.to_ascii_lowercase()).unwrap_or_default();
    let kind = if name == b"ping" {
        Kind::Ping
    } else if name.eq_ignore_ascii_case(b"replconf") && (sub == b"ack" || sub == b"getack") {
        Kind::Ack
    } else if [&b"ping"[..], b"replconf", b"psync", b"sync", b"auth"].iter().any(|n| name.eq_ignore_ascii_case(n)) {
        Kind::Handshake
    } else {
        Kind::Stream
    };
    (kind, text)
}

impl WireDecoder {
    /// Decodes the next chunk of this direction; returns the labelled messages it completes or
    /// carries, and whether it contained a legacy `SYNC` command (the other direction then
    /// expects a payload).
    pub fn feed(&mut self, data: &[u8]) -> (Vec<(Kind, String)>, bool) {
        self.buf.extend_from_slice(data);
        let mut out = Vec::new();
        let mut saw_sync = false;
        loop {
            match &mut self.mode {
                Mode::Payload { header, mark, total, seen, tail } => {
                    if !*header {
                        while self.buf.first() == Some(&b'\n') {
                            self.buf.remove(0);
                            out.push((Kind::Keepalive, "\\n keepalive".into()));
                        }
                        let Some(nl) = self.buf.iter().position(|&b| b == b'\n') else {
                            break;
                        };
                        let line = String::from_utf8_lossy(&self.buf[..nl]).trim_end().to_string();
                        self.buf.drain(..=nl);
                        if let Some(m) = line.strip_prefix("$EOF:") {
                            *mark = Some(m.as_bytes().to_vec());
                        } else if let Some(n) = line.strip_prefix('$').and_then(|n| n.parse().ok()) {
                            *total = Some(n);
                        } else {
                            out.push((Kind::Reply, printable(line.as_bytes())));
                            self.mode = Mode::Resp;
                            self.awaiting_payload = false;
                            continue;
                        }
                        *header = true;
                        out.push((Kind::Rdb, printable(line.as_bytes())));
                        continue;
                    }
                    if self.buf.is_empty() {
                        break;
                    }
                    let (take, done) = match (*total, mark.as_ref()) {
                        (Some(t), _) => {
                            let take = (t - *seen).min(self.buf.len());
                            (take, *seen + take >= t)
                        }
                        (None, Some(m)) => {
                            let mut window = tail.clone();
                            window.extend_from_slice(&self.buf);
                            match window.windows(m.len()).position(|w| w == m.as_slice()) {
                                Some(p) => (p + m.len() - tail.len(), true),
                                None => {
                                    let keep = window.len().saturating_sub(m.len());
                                    *tail = window[keep..].to_vec();
                                    (self.buf.len(), false)
                                }
                            }
                        }
                        _ => (self.buf.len(), false),
                    };
                    self.buf.drain(..take);
                    *seen += take;
                    let label = match *total {
                        Some(t) => format!("RDB {}/{} bytes", *seen, t),
                        None if done => {
                            format!("RDB {} bytes + EOF mark (end)", *seen - mark.as_ref().map_or(0, |m| m.len()))
                        }
                        None => format!("RDB {} bytes so far (EOF-marked)", *seen),
                    };
                    out.push((Kind::Rdb, label));
                    if done {
                        self.mode = Mode::Resp;
                        self.awaiting_payload = false;
                    }
                }
                Mode::Resp => {
                    let Some(&first) = self.buf.first() else {
                        break;
                    };
                    if first == b'\n' {
                        self.buf.remove(0);
                        out.push((Kind::Keepalive, "\\n keepalive".into()));
                        continue;
                    }
                    if first == b'$' && self.awaiting_payload {
                        self.mode = Mode::Payload { header: false, mark: None, total: None, seen: 0, tail: Vec::new() };
                        continue;
                    }
                    if !matches!(first, b'+' | b'-' | b':' | b'$' | b'*') {
                        let Some(nl) = self.buf.iter().position(|&b| b == b'\n') else {
                            break;
                        };
                        let line: Vec<u8> = self.buf.drain(..=nl).collect();
                        let args = crate::resp::split_args(&line).unwrap_or_default();
                        saw_sync |= args.len() == 1 && args[0].eq_ignore_ascii_case(b"sync");
                        let (kind, text) = command_label(&args);
                        out.push((kind, format!("{text} (inline)")));
                        continue;
                    }
                    match parse_frame(&self.buf) {
                        Ok(Parsed::Incomplete) => {
                            out.push((Kind::Stream, format!("… {} bytes of a frame", self.buf.len())));
                            break;
                        }
                        Ok(Parsed::Complete(frame, used)) => {
                            self.buf.drain(..used);
                            out.push(self.label_frame(frame, &mut saw_sync));
                        }
                        Err(e) => {
                            out.push((Kind::Reply, format!("garbage: {e}")));
                            self.buf.clear();
                            break;
                        }
                    }
                }
            }
        }
        (out, saw_sync)
    }

    fn label_frame(&mut self, frame: Frame, saw_sync: &mut bool) -> (Kind, String) {
        match frame {
            Frame::Array(items) => {
                let args: Vec<Vec<u8>> = items
                    .into_iter()
                    .map(|f| match f {
                        Frame::Bulk(b) => b,
                        other => crate::resp::format_reply(&other).into_bytes(),
                    })
                    .collect();
                *saw_sync |= args.len() == 1 && args[0].eq_ignore_ascii_case(b"sync");
                command_label(&args)
            }
            Frame::Simple(s) if s.starts_with("FULLRESYNC") => {
                self.awaiting_payload = true;
                (Kind::Handshake, format!("+{s}"))
            }
            Frame::Simple(s) if s.starts_with("CONTINUE") => (Kind::Handshake, format!("+{s}")),
            Frame::Simple(s) => (Kind::Reply, format!("+{s}")),
            Frame::Error(e) => (Kind::Reply, format!("-{e}")),
            other => (Kind::Reply, crate::resp::format_reply(&other)),
        }
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn labels_a_diskless_full_sync_split_anywhere() {
        let mark = "a".repeat(40);
        let mut wire = b"+FULLRESYNC 0123456789012345678901234567890123456789 14\r\n".to_vec();
        wire.extend(format!("$EOF:{mark}\r\n").as_bytes());
        wire.extend(vec![7u8; 100]);
        wire.extend(mark.as_bytes());
        wire.extend(b"*1\r\n$4\r\nping\r\n");
        for step in [1, 7, 50, wire.len()] {
            let mut d = WireDecoder::default();
            let mut all = Vec::new();
            for chunk in wire.chunks(step) {
                all.extend(d.feed(chunk).0);
            }
            assert!(all.iter().any(|(k, t)| *k == Kind::Handshake && t.starts_with("+FULLRESYNC")));
            assert!(all.iter().any(|(k, t)| *k == Kind::Rdb && t == "RDB 100 bytes + EOF mark (end)"), "{all:?}");
            assert_eq!(all.last().unwrap(), &(Kind::Ping, "ping".to_string()));
        }
    }

    #[test]
    fn disk_payload_and_inline_sync() {
        let mut d = WireDecoder::default();
        let (l, sync) = d.feed(b"SYNC\r\n");
        assert!(sync && l[0].1 == "SYNC (inline)");
        let mut m = WireDecoder { awaiting_payload: true, ..Default::default() };
        let (l, _) = m.feed(b"\n$3\r\nabc*1\r\n$4\r\nping\r\n");
        let texts: Vec<_> = l.iter().map(|x| x.1.as_str()).collect();
        assert_eq!(texts, ["\\n keepalive", "$3", "RDB 3/3 bytes", "ping"]);
    }
}
