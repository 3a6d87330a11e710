//! `repl-diskless-load`: a replica that parses the RDB straight from the master's socket instead
//! of writing it to disk first (REDIS-REPLICATION.md §2.5).
//!
//! With `disabled` (the default) the payload goes to a file while the replica keeps serving its
//! old data, and the flush and load happen at the end. With `on-empty-db` (when the replica holds
//! no key) or `swapdb`, Redis loads while the bytes arrive, so the transfer *is* the loading:
//!
//! - `on-empty-db`, and `swapdb` when the master's replication id differs from ours, block the
//!   node: INFO shows `loading:1` and commands without Redis's LOADING flag get `-LOADING`;
//! - `swapdb` when the id is our own (a full sync inside the same history, after a backlog
//!   overflow for instance) is *async loading*: the old dataset keeps serving reads
//!   (`async_loading:1`) and only a few commands (SYNC, PSYNC, REPLICAOF, SAVE, BGSAVE) get
//!   `-LOADING`; the loaded dataset replaces the old one at the end.
//!
//! Loading takes no virtual time in the lab: the time shown is the transfer's.

use crate::node::Node;
use crate::resp::Frame;

/// How the replica loads the payload it is receiving.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SocketLoad {
    /// `swapdb`: load into a temporary dataset, swap at the end.
    pub swapdb: bool,
    /// Async loading: the old dataset keeps serving while the new one loads.
    pub async_loading: bool,
    /// `loading_start_time` (unix seconds).
    pub start_secs: i64,
}

/// Commands Redis 7.0 flags LOADING (allowed while a dataset loads), among those the lab has.
const ALLOWED_WHILE_LOADING: &[&str] = &[
    "auth", "command", "config", "debug", "discard", "echo", "exec", "info", "lastsave", "multi", "replconf", "role",
    "select", "time", "unwatch", "watch", "shutdown", "client",
];

/// Commands Redis 7.0 flags NO_ASYNC_LOADING (refused even during async loading).
const REFUSED_WHILE_ASYNC_LOADING: &[&str] = &["bgsave", "psync", "replicaof", "slaveof", "save", "sync"];

/// The `-LOADING` error.
pub(crate) fn loading_error() -> Frame {
    Frame::error("LOADING Redis is loading the dataset in memory")
}

/// `used-mem` from the AUX fields at the head of a partly received RDB, which Redis uses as the
/// size estimate of an EOF-marked payload (`loading_rdb_used_mem`).
fn used_mem_aux(head: &[u8]) -> u64 {
    const KEY: &[u8] = b"\xfa\x08used-mem";
    let Some(at) = head.windows(KEY.len()).position(|w| w == KEY) else {
        return 0;
    };
    let v = &head[at + KEY.len()..];
    let le = |n: usize| v.get(1..1 + n).map_or(0, |b| b.iter().rev().fold(0u64, |acc, &x| (acc << 8) | x as u64));
    match v.first() {
        Some(0xC0) => le(1),
        Some(0xC1) => le(2),
        Some(0xC2) => le(4),
        // Past 32 bits Redis stores the number as text (a 6-bit length, then the digits).
        Some(&n) if n < 0x40 => {
            v.get(1..1 + n as usize).and_then(|d| std::str::from_utf8(d).ok()).and_then(|d| d.parse().ok()).unwrap_or(0)
        }
        _ => 0,
    }
}

impl Node {
    /// `repl-diskless-load`'s choice for a payload starting now (`useDisklessLoad`).
    pub(crate) fn diskless_load_mode(&self) -> Option<bool> {
        match self.config_text.get("repl-diskless-load").map(String::as_str) {
            Some("swapdb") => Some(true),
            Some("on-empty-db") if self.keyspace.total_keys() == 0 => Some(false),
            _ => None,
        }
    }

    /// The socket load under way, if any.
    pub(crate) fn socket_load(&self) -> Option<&SocketLoad> {
        self.master.as_ref().and_then(|l| l.transfer.as_ref()).and_then(|t| t.load.as_ref())
    }

    /// `(loading, async_loading)` as INFO persistence shows them.
    pub(crate) fn loading_flags(&self) -> (bool, bool) {
        match self.socket_load() {
            Some(l) => (!l.async_loading, l.async_loading),
            None => (false, false),
        }
    }

    /// The `-LOADING` rejection of `processCommand` for a client command, if it applies.
    pub(crate) fn loading_rejects(&self, cmd: &str) -> Option<Frame> {
        let load = self.socket_load()?;
        let refused = if load.async_loading {
            REFUSED_WHILE_ASYNC_LOADING.contains(&cmd)
        } else {
            !ALLOWED_WHILE_LOADING.contains(&cmd)
        };
        refused.then(loading_error)
    }

    /// The `loading_*` lines INFO persistence adds while a dataset loads.
    pub(crate) fn info_loading(&self) -> Option<String> {
        let load = self.socket_load()?;
        let t = self.master.as_ref().and_then(|l| l.transfer.as_ref())?;
        let total = t.size.unwrap_or(0) as u64;
        let loaded = t.data.len() as u64;
        let used_mem = if total == 0 { used_mem_aux(&t.data) } else { 0 };
        let (perc, remaining) = if total > 0 {
            (loaded as f64 * 100.0 / total as f64, total.saturating_sub(loaded))
        } else if used_mem > 0 {
            ((loaded as f64 * 100.0 / used_mem as f64).min(99.99), used_mem.saturating_sub(loaded).max(1))
        } else {
            (0.0, 1)
        };
        let elapsed = (self.unix_ms() / 1000 - load.start_secs).max(0) as u64;
        let eta = if elapsed == 0 { 1 } else { elapsed * remaining / (loaded + 1) };
        Some(format!(
            "loading_start_time:{}\r\nloading_total_bytes:{total}\r\nloading_rdb_used_mem:{used_mem}\r\n\
             loading_loaded_bytes:{loaded}\r\nloading_loaded_perc:{perc:.2}\r\nloading_eta_seconds:{eta}\r\n",
            load.start_secs
        ))
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::used_mem_aux;

    #[test]
    fn used_mem_is_read_from_each_integer_encoding() {
        assert_eq!(used_mem_aux(b"REDIS0010\xfa\x08used-mem\xc0\x40"), 64);
        assert_eq!(used_mem_aux(b"REDIS0010\xfa\x08used-mem\xc1\xdc\x04"), 1244);
        assert_eq!(used_mem_aux(b"REDIS0010\xfa\x08used-mem\xc2\x40\x42\x0f\x00"), 1_000_000);
        assert_eq!(used_mem_aux(b"REDIS0010\xfa\x08used-mem\x0a3000000000"), 3_000_000_000, "text past 32 bits");
        assert_eq!(used_mem_aux(b"REDIS0010\xfa\x08used-mem\x0a30000"), 0, "text not all arrived");
        assert_eq!(used_mem_aux(b"REDIS0010\xfa\x08used-"), 0, "not arrived yet");
    }
}
