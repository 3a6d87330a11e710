//! The key browser: a page of one database's keys, each with its type, expiry and a short
//! preview of its value, for the page's inspector.
//!
//! It reads the keyspace directly and changes nothing (no lazy expiry, no WATCH stamp, no
//! statistics), so looking at a node never alters what it does next. Keys that have expired but
//! are still stored are listed and marked: on a replica they stay until the master's `DEL`
//! arrives (REDIS-REPLICATION.md §7.3), which is one of the things a learner comes to see.

use serde::Serialize;

use super::Node;
use crate::keyspace::Value;

/// Values longer than this are cut in previews (in characters of their redis-cli quoting).
const PREVIEW_CHARS: usize = 60;
/// Elements of a collection shown in a preview.
const PREVIEW_ITEMS: usize = 6;
/// Databases up to this many keys are listed in key order; larger ones in the map's own order
/// (as SCAN walks them), which needs no sort of every key for each page.
pub const SORTED_UP_TO: usize = 10_000;

/// One key of a [`KeyPage`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyEntry {
    /// The key, quoted as redis-cli prints it.
    pub key: String,
    /// `string`, `list`, `hash`, `set` or `zset`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Elements of a collection, bytes of a string.
    pub size: usize,
    /// Milliseconds left to live (`PTTL`), -1 without an expiry; 0 or less once expired.
    pub pttl: i64,
    /// The expiry time has passed but the key is still stored.
    pub expired: bool,
    /// The value, shortened: a string quoted, collections as their first elements.
    pub preview: String,
}

/// A page of keys.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyPage {
    /// The database.
    pub db: usize,
    /// Keys in the database matching the pattern.
    pub total: usize,
    /// The first key's position among them.
    pub offset: usize,
    /// Listed in key order (else in the map's order, for large databases).
    pub sorted: bool,
    /// The keys.
    pub keys: Vec<KeyEntry>,
}

impl Node {
    /// Up to `count` keys of database `db` matching the glob `pattern` (all keys when None),
    /// from position `offset`.
    pub fn browse(&self, db: usize, pattern: Option<&[u8]>, offset: usize, count: usize) -> KeyPage {
        let now = self.unix_ms();
        let Some(d) = self.keyspace.dbs().find(|(i, _)| *i == db).map(|(_, d)| d) else {
            return KeyPage { db, total: 0, offset, sorted: true, keys: Vec::new() };
        };
        let matches = |k: &[u8]| pattern.is_none_or(|p| crate::commands::string_match(p, k, false));
        let sorted = d.len() <= SORTED_UP_TO;
        let mut entries: Vec<_> = d.entries().filter(|(k, _, _)| matches(k)).collect();
        if sorted {
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
        }
        let total = entries.len();
        let keys = entries
            .into_iter()
            .skip(offset)
            .take(count)
            .map(|(k, v, at)| KeyEntry {
                key: quoted(k),
                kind: v.type_name(),
                size: size(v),
                pttl: at.map_or(-1, |at| at - now),
                expired: at.is_some_and(|at| at <= now),
                preview: preview(v),
            })
            .collect();
        KeyPage { db, total, offset, sorted, keys }
    }
}

fn quoted(b: &[u8]) -> String {
    crate::resp::format_reply(&crate::resp::Frame::bulk(b))
}

fn size(v: &Value) -> usize {
    match v {
        Value::Str(s) => s.len(),
        Value::List(l) => l.len(),
        Value::Hash(h) => h.len(),
        Value::Set(s) => s.len(),
        Value::ZSet(z) => z.len(),
    }
}

fn cut(s: String) -> String {
    match s.char_indices().nth(PREVIEW_CHARS) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s,
    }
}

fn preview(v: &Value) -> String {
    let items: Vec<String> = match v {
        Value::Str(s) => return cut(quoted(s)),
        Value::List(l) => l.iter().take(PREVIEW_ITEMS + 1).map(|e| cut(quoted(e))).collect(),
        Value::Hash(h) => {
            h.iter().take(PREVIEW_ITEMS + 1).map(|(f, x)| cut(format!("{}={}", quoted(f), quoted(x)))).collect()
        }
        Value::Set(s) => s.members().iter().take(PREVIEW_ITEMS + 1).map(|m| cut(quoted(m))).collect(),
        Value::ZSet(z) => z.iter().take(PREVIEW_ITEMS + 1).map(|(m, s)| cut(format!("{}:{s}", quoted(m)))).collect(),
    };
    let more = items.len() > PREVIEW_ITEMS;
    let mut text = items.into_iter().take(PREVIEW_ITEMS).collect::<Vec<_>>().join(", ");
    if more {
        text.push_str(", …");
    }
    text
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use crate::sim::World;

    #[test]
    fn a_page_lists_keys_in_order_with_type_ttl_and_preview() {
        let mut w = World::new(1);
        let n = w.add_node();
        for line in ["SET b \"x\\ny\"", "RPUSH a 1 2 3 4 5 6 7 8", "HSET h f v", "SET e 1 PX 100", "SELECT 0"] {
            w.console(n, line);
        }
        let page = w.node(n).browse(0, None, 0, 10);
        assert_eq!((page.total, page.sorted), (4, true));
        let keys: Vec<&str> = page.keys.iter().map(|k| k.key.as_str()).collect();
        assert_eq!(keys, ["\"a\"", "\"b\"", "\"e\"", "\"h\""]);
        assert_eq!((page.keys[0].kind, page.keys[0].size), ("list", 8));
        assert_eq!(page.keys[0].preview, "\"1\", \"2\", \"3\", \"4\", \"5\", \"6\", …");
        assert_eq!(page.keys[1].preview, "\"x\\ny\"");
        assert_eq!((page.keys[2].pttl, page.keys[2].expired), (100, false));
        assert_eq!(page.keys[3].preview, "\"f\"=\"v\"");
        let second = w.node(n).browse(0, Some(b"[ab]"), 1, 10);
        assert_eq!((second.total, second.keys.len(), second.keys[0].key.as_str()), (2, 1, "\"b\""));
        w.console(n, "DEBUG SET-ACTIVE-EXPIRE 0");
        w.run_for_ms(200);
        let e = &w.node(n).browse(0, Some(b"e"), 0, 1).keys[0];
        assert!(e.expired && e.pttl <= 0, "stored but expired: {e:?}");
    }
}
