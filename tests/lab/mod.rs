//! Readers shared by the simulator tests: a node's `INFO` fields and its log lines.
//!
//! The simulator tests run natively and, through wasm-bindgen-test, on wasm32, so nothing here
//! starts a process or opens a socket (`common` is the kit of the tests against real servers).
//! Every reader fails loudly: a field its section does not have panics, naming the field and
//! showing the section, rather than returning `""` or `-1` that an assertion could happen to
//! accept (a misspelled `sync_partial_ok` read as `-1` passes `assert!(x < 1)`).
//!
//! Each test file includes this with `mod lab;`; not every file uses every reader.
#![allow(dead_code)]

use redis_repl_lab::sim::World;

/// One `INFO <section>` reply of one node, parsed into its `field:value` lines, in order.
pub struct Info {
    node: usize,
    section: String,
    fields: Vec<(String, String)>,
}

impl Info {
    /// The fields in Redis's order.
    pub fn fields(&self) -> &[(String, String)] {
        &self.fields
    }

    /// The field's names in Redis's order.
    pub fn names(&self) -> Vec<&str> {
        self.fields.iter().map(|(k, _)| k.as_str()).collect()
    }

    /// Whether the section has the field (for the fields Redis shows only in some states).
    pub fn has(&self, name: &str) -> bool {
        self.fields.iter().any(|(k, _)| k == name)
    }

    /// The field's value; panics if the section has no such field.
    pub fn str(&self, name: &str) -> &str {
        match self.fields.iter().find(|(k, _)| k == name) {
            Some((_, v)) => v,
            None => panic!(
                "node {}'s INFO {} has no field {name:?}; it has: {}",
                self.node,
                self.section,
                self.names().join(", ")
            ),
        }
    }

    /// The field's value as an integer; panics if it is missing or not an integer.
    pub fn int(&self, name: &str) -> i64 {
        let v = self.str(name);
        v.parse().unwrap_or_else(|_| {
            panic!("node {}'s INFO {} field {name} is {v:?}, not an integer", self.node, self.section)
        })
    }
}

/// Node `node`'s `INFO <section>`, as its console answers it.
pub fn info(w: &mut World, node: usize, section: &str) -> Info {
    let text = w.console(node, &format!("INFO {section}"));
    let fields = text.lines().filter_map(|l| l.split_once(':')).map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Info { node, section: section.to_string(), fields }
}

/// One field of node `node`'s `INFO <section>`; panics if there is none.
pub fn field(w: &mut World, node: usize, section: &str, name: &str) -> String {
    info(w, node, section).str(name).to_string()
}

/// One integer field of node `node`'s `INFO <section>`; panics if there is none.
pub fn int(w: &mut World, node: usize, section: &str, name: &str) -> i64 {
    info(w, node, section).int(name)
}

/// A counter of node `node`'s `INFO stats` (`sync_full`, `sync_partial_ok`, …).
pub fn stat(w: &mut World, node: usize, name: &str) -> i64 {
    int(w, node, "stats", name)
}

/// How many of node `node`'s log lines contain `needle`.
pub fn logs(w: &World, node: usize, needle: &str) -> usize {
    w.trace().iter().filter(|e| e.node == node && e.kind() == "log" && e.text().contains(needle)).count()
}
