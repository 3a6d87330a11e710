//! Replies printed the way interactive redis-cli prints them, so the lab's consoles read like a
//! terminal next to a real server: `(integer) 1`, `(nil)`, `"v"`, numbered and nested lists, and
//! the replies of `INFO`, `CLIENT LIST` and the like printed raw, as redis-cli prints them even on
//! a terminal.

use super::Frame;

/// Formats a reply as redis-cli does on a terminal (its standard "TTY" output), without the final
/// newline, whatever the command was. [`format_reply_for`] also knows the commands whose replies
/// redis-cli prints raw.
pub fn format_reply(frame: &Frame) -> String {
    let mut out = String::new();
    tty(frame, "", &mut out);
    if out.ends_with('\n') {
        out.pop();
    }
    out
}

/// Formats the reply to the command `argv` as interactive redis-cli 7.0 prints it on a terminal,
/// without the final newline.
///
/// For most commands this is [`format_reply`]. For the commands redis-cli prints raw even on a
/// terminal (`cliSendCommand` in `src/redis-cli.c` of Redis 7.0; names compared without regard to
/// case):
///
/// - `INFO` and `LOLWUT`, with any arguments;
/// - `DEBUG HTSTATS`, `DEBUG HTSTATS-KEY`, `DEBUG CLIENT-EVICTION`, `MEMORY MALLOC-STATS`,
///   `MEMORY DOCTOR`, `CLIENT LIST`, `CLIENT INFO` and `PROXY INFO`, with any further arguments;
/// - `CLUSTER NODES`, `CLUSTER INFO` and `LATENCY DOCTOR` with no further argument, and
///   `LATENCY GRAPH` with exactly one (the event);
///
/// the reply is printed as redis-cli's `cliFormatReplyRaw` does, with nothing appended after it:
/// a bulk or status string as its bytes, an integer as its digits, an error as its message and a
/// newline (no `(error) ` prefix), nil as nothing, and an array's elements one after the other,
/// each in this raw form, separated by a newline (nested arrays flattened the same way).
///
/// `argv` is the command as sent to the server (after redis-cli's own repeat count, as in
/// `3 INFO`, is taken off); like the C comparison, an argument is read up to its first NUL byte.
///
/// The text is made for a console that shows lines: lines are separated by `\n` only, so the
/// `\r\n` line ends of a raw bulk string (INFO's) become `\n`. A lone `\r` is kept, and bytes
/// that are not UTF-8 become U+FFFD. When redis-cli's raw text does not end in a newline (an
/// integer, a status such as the `QUEUED` of `INFO` in a MULTI, a bulk string without one), a real
/// terminal shows the next prompt on the same line, until linenoise redraws that line as the user
/// types; the text is returned as it is.
pub fn format_reply_for<A: AsRef<[u8]>>(argv: &[A], frame: &Frame) -> String {
    if !prints_raw(argv) {
        return format_reply(frame);
    }
    let mut out = Vec::new();
    raw(frame, &mut out);
    if out.ends_with(b"\n") {
        out.pop();
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether redis-cli 7.0 prints the reply to `argv` raw on a terminal (`cliSendCommand`).
fn prints_raw<A: AsRef<[u8]>>(argv: &[A]) -> bool {
    // strcasecmp on C strings: a name matches up to the argument's first NUL byte.
    let is = |i: usize, name: &str| {
        argv.get(i).is_some_and(|a| {
            let a = a.as_ref();
            let end = a.iter().position(|&b| b == 0).unwrap_or(a.len());
            a[..end].eq_ignore_ascii_case(name.as_bytes())
        })
    };
    let argc = argv.len();
    let sub = |names: &[&str]| names.iter().any(|n| is(1, n));
    is(0, "info")
        || is(0, "lolwut")
        || (argc >= 2 && is(0, "debug") && sub(&["htstats", "htstats-key", "client-eviction"]))
        || (argc >= 2 && is(0, "memory") && sub(&["malloc-stats", "doctor"]))
        || (argc == 2 && is(0, "cluster") && sub(&["nodes", "info"]))
        || (argc >= 2 && is(0, "client") && sub(&["list", "info"]))
        || (argc == 3 && is(0, "latency") && sub(&["graph"]))
        || (argc == 2 && is(0, "latency") && sub(&["doctor"]))
        || (argc >= 2 && is(0, "proxy") && sub(&["info"]))
}

/// redis-cli's raw form, with the `\r\n` of bulk strings made `\n`.
fn raw(frame: &Frame, out: &mut Vec<u8>) {
    match frame {
        Frame::Null | Frame::NullArray => {}
        Frame::Error(e) => {
            out.extend_from_slice(e.as_bytes());
            out.push(b'\n');
        }
        Frame::Simple(s) => out.extend_from_slice(s.as_bytes()),
        Frame::Integer(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Frame::Bulk(b) => {
            let mut rest = &b[..];
            while let Some(i) = rest.windows(2).position(|w| w == b"\r\n") {
                out.extend_from_slice(&rest[..i]);
                out.push(b'\n');
                rest = &rest[i + 2..];
            }
            out.extend_from_slice(rest);
        }
        Frame::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b'\n');
                }
                raw(item, out);
            }
        }
    }
}

fn tty(frame: &Frame, prefix: &str, out: &mut String) {
    match frame {
        Frame::Simple(s) => {
            out.push_str(s);
            out.push('\n');
        }
        Frame::Error(e) => {
            out.push_str("(error) ");
            out.push_str(e);
            out.push('\n');
        }
        Frame::Integer(n) => {
            out.push_str(&format!("(integer) {n}\n"));
        }
        Frame::Bulk(b) => {
            repr(b, out);
            out.push('\n');
        }
        Frame::Null | Frame::NullArray => out.push_str("(nil)\n"),
        Frame::Array(items) if items.is_empty() => out.push_str("(empty array)\n"),
        Frame::Array(items) => {
            let width = items.len().to_string().len();
            let nested = format!("{prefix}{}", " ".repeat(width + 2));
            for (i, item) in items.iter().enumerate() {
                let lead = if i == 0 { "" } else { prefix };
                out.push_str(&format!("{lead}{:>width$}) ", i + 1));
                tty(item, &nested, out);
            }
        }
    }
}

/// Bytes shortened for a label (the wire view, the trace): printable ASCII as is, `\r`, `\n`
/// and `\xHH` escapes, at most 32 bytes and an ellipsis.
pub fn printable(a: &[u8]) -> String {
    let mut s = String::with_capacity(a.len().min(34));
    printable_into(a, &mut s);
    s
}

fn printable_into(a: &[u8], s: &mut String) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for &c in a.iter().take(32) {
        match c {
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            0x20..=0x7e => s.push(c as char),
            _ => {
                s.push_str("\\x");
                s.push(HEX[usize::from(c >> 4)] as char);
                s.push(HEX[usize::from(c & 15)] as char);
            }
        }
    }
    if a.len() > 32 {
        s.push('…');
    }
}

/// A command's arguments as one label: each [`printable`], separated by spaces (labels are made
/// for every message that travels, so this builds one string and nothing else).
pub fn label_args<A: AsRef<[u8]>>(args: &[A]) -> String {
    let mut s = String::with_capacity(args.iter().map(|a| a.as_ref().len().min(34) + 1).sum());
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        printable_into(a.as_ref(), &mut s);
    }
    s
}

/// Bytes quoted as Redis's `sdscatrepr` quotes them (in log lines, and in redis-cli).
pub fn sds_repr(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len() + 2);
    repr(b, &mut out);
    out
}

/// Quotes bytes as redis-cli's `sdscatrepr`: printable ASCII as is, the usual escapes, `\xHH` else.
fn repr(b: &[u8], out: &mut String) {
    out.push('"');
    for &c in b {
        match c {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x07 => out.push_str("\\a"),
            0x08 => out.push_str("\\b"),
            0x20..=0x7e => out.push(c as char),
            _ => out.push_str(&format!("\\x{c:02x}")),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn scalars_like_redis_cli() {
        assert_eq!(format_reply(&Frame::ok()), "OK");
        assert_eq!(format_reply(&Frame::Integer(3)), "(integer) 3");
        assert_eq!(format_reply(&Frame::Null), "(nil)");
        assert_eq!(format_reply(&Frame::bulk("a\"\x01")), "\"a\\\"\\x01\"");
        assert_eq!(format_reply(&Frame::error("ERR x")), "(error) ERR x");
        assert_eq!(format_reply(&Frame::Array(vec![])), "(empty array)");
    }

    #[test]
    fn nested_arrays_are_indented() {
        let f = Frame::Array(vec![
            Frame::bulk("master"),
            Frame::Integer(14),
            Frame::Array(vec![Frame::Array(vec![Frame::bulk("127.0.0.1"), Frame::bulk("6380")])]),
        ]);
        assert_eq!(format_reply(&f), "1) \"master\"\n2) (integer) 14\n3) 1) 1) \"127.0.0.1\"\n      2) \"6380\"");
    }

    #[test]
    fn info_is_printed_raw_one_line_per_field() {
        let info = Frame::bulk("# Replication\r\nrole:master\r\nconnected_slaves:0\r\n");
        let lines = "# Replication\nrole:master\nconnected_slaves:0";
        assert_eq!(format_reply_for(&["INFO", "replication"], &info), lines);
        assert_eq!(format_reply_for(&["info"], &info), lines, "any case, any argument count");
        assert_eq!(format_reply_for(&["InFo", "a", "b"], &info), lines);
        // Two sections: the blank line between them stays, only the last line end goes.
        let two = Frame::bulk("# Server\r\nredis_version:7.0.15\r\n\r\n# Keyspace\r\n");
        assert_eq!(
            format_reply_for(&["INFO", "server", "keyspace"], &two),
            "# Server\nredis_version:7.0.15\n\n# Keyspace"
        );
        // An unknown section is an empty bulk string: redis-cli prints nothing.
        assert_eq!(format_reply_for(&["INFO", "nosuch"], &Frame::bulk("")), "");
    }

    #[test]
    fn client_list_and_client_info_are_raw() {
        let list =
            Frame::bulk("id=3 addr=127.0.0.1:5000 name= cmd=client|list\nid=4 addr=127.0.0.1:5001 name=x cmd=get\n");
        assert_eq!(
            format_reply_for(&["CLIENT", "LIST"], &list),
            "id=3 addr=127.0.0.1:5000 name= cmd=client|list\nid=4 addr=127.0.0.1:5001 name=x cmd=get"
        );
        assert_eq!(format_reply_for(&["client", "list", "TYPE", "normal"], &list).lines().count(), 2);
        let one = Frame::bulk("id=3 addr=127.0.0.1:5000\n");
        assert_eq!(format_reply_for(&["Client", "Info"], &one), "id=3 addr=127.0.0.1:5000");
        // Other CLIENT subcommands and a bare CLIENT are not.
        assert_eq!(format_reply_for(&["CLIENT", "ID"], &Frame::Integer(7)), "(integer) 7");
        assert_eq!(format_reply_for(&["CLIENT", "GETNAME"], &Frame::bulk("x")), "\"x\"");
        assert_eq!(format_reply_for(&["CLIENT"], &Frame::error("ERR wrong")), "(error) ERR wrong");
    }

    #[test]
    fn raw_errors_nil_integers_and_arrays() {
        let err = Frame::error("ERR Unknown client type 'bogus'");
        assert_eq!(format_reply_for(&["CLIENT", "LIST", "TYPE", "bogus"], &err), "ERR Unknown client type 'bogus'");
        assert_eq!(format_reply_for(&["client", "list", "TYPE", "bogus"], &err), "ERR Unknown client type 'bogus'");
        assert_eq!(format_reply_for(&["INFO"], &Frame::Null), "");
        assert_eq!(format_reply_for(&["INFO"], &Frame::NullArray), "");
        assert_eq!(format_reply_for(&["INFO"], &Frame::Integer(-5)), "-5");
        assert_eq!(format_reply_for(&["INFO"], &Frame::Simple("QUEUED".into())), "QUEUED");
        assert_eq!(format_reply_for(&["INFO"], &Frame::Array(vec![])), "");
        let nested = Frame::Array(vec![
            Frame::bulk("a\r\nb"),
            Frame::Null,
            Frame::Array(vec![Frame::Integer(1), Frame::error("ERR x")]),
            Frame::bulk("c"),
        ]);
        assert_eq!(format_reply_for(&["INFO"], &nested), "a\nb\n\n1\nERR x\n\nc");
        // Binary bytes are printed as they are (not quoted); a lone \r stays.
        assert_eq!(format_reply_for(&["LOLWUT"], &Frame::bulk("x\ry\"z")), "x\ry\"z");
    }

    #[test]
    fn argument_counts_follow_redis_cli() {
        let doc = Frame::bulk("Dave, no latency spike\n");
        assert_eq!(format_reply_for(&["LATENCY", "DOCTOR"], &doc), "Dave, no latency spike");
        assert_eq!(format_reply_for(&["LATENCY", "DOCTOR", "x"], &doc), "\"Dave, no latency spike\\n\"");
        let e = Frame::error("ERR No samples available for event 'command'");
        assert_eq!(
            format_reply_for(&["LATENCY", "GRAPH", "command"], &e),
            "ERR No samples available for event 'command'"
        );
        assert!(format_reply_for(&["LATENCY", "GRAPH"], &e).starts_with("(error) "));
        let e = Frame::error("ERR This instance has cluster support disabled");
        assert!(!format_reply_for(&["CLUSTER", "NODES"], &e).starts_with("(error) "));
        assert!(!format_reply_for(&["cluster", "info"], &e).starts_with("(error) "));
        assert!(format_reply_for(&["CLUSTER", "INFO", "x"], &e).starts_with("(error) "));
        assert!(format_reply_for(&["CLUSTER", "SLOTS"], &e).starts_with("(error) "));
        for argv in [
            &["DEBUG", "HTSTATS", "0"][..],
            &["DEBUG", "HTSTATS-KEY", "k"],
            &["DEBUG", "CLIENT-EVICTION"],
            &["MEMORY", "MALLOC-STATS"],
            &["MEMORY", "DOCTOR"],
            &["PROXY", "INFO"],
        ] {
            assert_eq!(format_reply_for(argv, &Frame::error("ERR e")), "ERR e", "{argv:?}");
        }
        for argv in [&["DEBUG"][..], &["MEMORY", "USAGE", "k"], &["PROXY"], &[]] {
            assert_eq!(format_reply_for(argv, &Frame::error("ERR e")), "(error) ERR e", "{argv:?}");
        }
        // The C comparison stops at a NUL byte.
        assert_eq!(format_reply_for(&[&b"info\0x"[..]], &Frame::Integer(1)), "1");
    }

    #[test]
    fn ordinary_commands_keep_the_tty_form() {
        let bulk = Frame::bulk("a\r\nb");
        assert_eq!(format_reply_for(&["GET", "k"], &bulk), "\"a\\r\\nb\"");
        assert_eq!(format_reply_for(&["SET", "k", "v"], &Frame::ok()), "OK");
        assert_eq!(format_reply_for(&["GET", "nokey"], &Frame::Null), "(nil)");
        assert_eq!(format_reply_for(&["INCR", "k"], &Frame::error("ERR x")), "(error) ERR x");
        assert_eq!(format_reply_for(&["LRANGE", "k", "0", "-1"], &Frame::Array(vec![])), "(empty array)");
        // EXEC of a MULTI with an INFO inside prints the INFO bulk quoted, as an element.
        let exec = Frame::Array(vec![Frame::bulk("# Keyspace\r\n"), Frame::Integer(2)]);
        assert_eq!(format_reply_for(&["EXEC"], &exec), "1) \"# Keyspace\\r\\n\"\n2) (integer) 2");
        assert_eq!(format_reply_for(&["EXEC"], &exec), format_reply(&exec));
    }
}
