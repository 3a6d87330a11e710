//! Replies printed the way interactive redis-cli prints them, so the lab's consoles read like a
//! terminal next to a real server: `(integer) 1`, `(nil)`, `"v"`, numbered and nested lists.

use super::Frame;

/// Formats a reply as redis-cli does on a terminal, without the final newline.
pub fn format_reply(frame: &Frame) -> String {
    let mut out = String::new();
    tty(frame, "", &mut out);
    if out.ends_with('\n') {
        out.pop();
    }
    out
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
}
