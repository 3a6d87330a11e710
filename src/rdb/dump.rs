//! A readable listing of an RDB file, for `repl-lab rdb dump`: what a learner wants to see of a
//! snapshot (AUX fields, databases, keys with their types, expiry times and values).

use std::fmt::Write as _;

use super::RdbFile;
use crate::keyspace::Value;

fn quote(b: &[u8]) -> String {
    crate::resp::format_reply(&crate::resp::Frame::Bulk(b.to_vec()))
}

/// Lists a loaded RDB file, one line per AUX field and per key.
pub fn describe(file: &RdbFile) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "RDB version {}", file.version);
    for (k, v) in &file.aux {
        let _ = writeln!(out, "aux {} = {}", quote(k), quote(v));
    }
    for (i, db) in file.keyspace.dbs() {
        if db.is_empty() {
            continue;
        }
        let _ = writeln!(out, "db {i}: {} keys, {} with an expiry", db.len(), db.expires_len());
        for (key, value, expire) in db.entries_sorted() {
            let exp = expire.map(|ms| format!(" (expires at unix ms {ms})")).unwrap_or_default();
            let body = match value {
                Value::Str(s) => quote(s),
                Value::List(l) => format!("[{}]", l.iter().map(|e| quote(e)).collect::<Vec<_>>().join(", ")),
                Value::Hash(h) => {
                    format!(
                        "{{{}}}",
                        h.iter().map(|(f, v)| format!("{}: {}", quote(f), quote(v))).collect::<Vec<_>>().join(", ")
                    )
                }
                Value::Set(s) => format!("{{{}}}", s.members().iter().map(|m| quote(m)).collect::<Vec<_>>().join(", ")),
                Value::ZSet(z) => {
                    format!("[{}]", z.iter().map(|(m, sc)| format!("{} {sc}", quote(m))).collect::<Vec<_>>().join(", "))
                }
            };
            let _ = writeln!(out, "  {} {}{exp} = {body}", value.type_name(), quote(key));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use crate::rdb::read_rdb;
    use crate::sim::World;

    #[test]
    fn lists_aux_fields_and_keys() {
        let mut w = World::new(1);
        w.add_node();
        w.console(0, "RPUSH l a b");
        w.console(0, "SET s \"x y\" PXAT 4102444800000");
        let text = super::describe(&read_rdb(&w.node(0).rdb_snapshot()).unwrap());
        assert!(text.starts_with("RDB version 10\naux \"redis-ver\" = \"7.0.15\"\n"), "{text}");
        assert!(text.contains("db 0: 2 keys, 1 with an expiry\n"), "{text}");
        assert!(text.contains("  list \"l\" = [\"a\", \"b\"]\n"), "{text}");
        assert!(text.contains("  string \"s\" (expires at unix ms 4102444800000) = \"x y\"\n"), "{text}");
    }
}
