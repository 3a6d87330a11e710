//! The replication backlog and the shared replication buffer of Redis 7.x.
//!
//! Redis 7 keeps one list of blocks that serves both the backlog (history kept for partial
//! resyncs) and every replica's pending output: replicas hold cursors into the same bytes instead
//! of private copies. A block at the head is freed only when no replica still needs it, the rest
//! still holds at least `repl-backlog-size` bytes, and it is not the only block. That is why
//! `repl_backlog_histlen` can exceed the configured size (by up to a block in steady state, and
//! without bound while a slow replica pins old blocks). REDIS-REPLICATION.md §4.

use std::collections::VecDeque;

/// Redis's PROTO_REPLY_CHUNK_BYTES: the smallest block the shared buffer allocates.
pub const BLOCK_MIN: usize = 16 * 1024;

#[derive(Clone, Debug)]
struct Block {
    /// Replication offset of the block's first byte.
    start: i64,
    /// Shared between clones of the backlog (a checkpoint of the world); only the tail block is
    /// ever written, so a clone costs one tail copy at most.
    data: std::sync::Arc<Vec<u8>>,
    cap: usize,
}

/// The backlog: bytes `[first_byte, end]` of the replication stream, held in blocks.
#[derive(Clone, Debug)]
pub struct Backlog {
    blocks: VecDeque<Block>,
    size: usize,
    first_byte: i64,
    end: i64,
}

impl Backlog {
    /// A fresh backlog after offset `master_repl_offset`: it will hold from the next byte on.
    pub fn new(size: usize, master_repl_offset: i64) -> Self {
        Backlog { blocks: VecDeque::new(), size, first_byte: master_repl_offset + 1, end: master_repl_offset }
    }

    /// `repl_backlog_first_byte_offset`.
    pub fn first_byte(&self) -> i64 {
        self.first_byte
    }

    /// `repl_backlog_histlen`: bytes held.
    pub fn histlen(&self) -> i64 {
        self.end - self.first_byte + 1
    }

    /// The configured `repl-backlog-size`.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Changes `repl-backlog-size` (Redis enforces a 16 KB minimum).
    pub fn resize(&mut self, size: usize) {
        self.size = size.max(BLOCK_MIN);
    }

    /// The blocks, oldest first: `(offset of the first byte, bytes used, bytes allocated)`.
    pub fn blocks(&self) -> impl Iterator<Item = (i64, usize, usize)> + '_ {
        self.blocks.iter().map(|b| (b.start, b.data.len(), b.cap))
    }

    /// The offset of the last byte held (`master_repl_offset` on a master).
    pub fn end(&self) -> i64 {
        self.end
    }

    /// Bytes allocated for the whole shared buffer (`mem_total_replication_buffers`, roughly).
    pub fn allocated(&self) -> usize {
        self.blocks.iter().map(|b| b.cap).sum()
    }

    /// Appends stream bytes, allocating blocks as Redis's `feedReplicationBuffer` sizes them.
    /// Returns true if a new block was allocated (when Redis checks output-buffer limits).
    pub fn append(&mut self, mut bytes: &[u8]) -> bool {
        let mut new_block = false;
        while !bytes.is_empty() {
            if let Some(tail) = self.blocks.back_mut() {
                let room = tail.cap - tail.data.len();
                if room > 0 {
                    let n = room.min(bytes.len());
                    std::sync::Arc::make_mut(&mut tail.data).extend_from_slice(&bytes[..n]);
                    self.end += n as i64;
                    bytes = &bytes[n..];
                    continue;
                }
            }
            let cap = bytes.len().max(BLOCK_MIN).min((self.size / 16).max(BLOCK_MIN));
            self.blocks.push_back(Block {
                start: self.end + 1,
                data: std::sync::Arc::new(Vec::with_capacity(cap)),
                cap,
            });
            new_block = true;
        }
        new_block
    }

    /// Frees head blocks that nobody needs: `oldest_cursor` is the lowest offset a replica still
    /// has to send (None if no replica pins anything).
    pub fn trim(&mut self, oldest_cursor: Option<i64>) {
        while self.blocks.len() > 1 {
            let head = &self.blocks[0];
            let head_end = head.start + head.data.len() as i64; // first offset after the block
            let pinned = oldest_cursor.is_some_and(|c| c < head_end);
            if pinned || self.histlen() - (head.data.len() as i64) < self.size as i64 {
                break;
            }
            self.first_byte = head_end;
            self.blocks.pop_front();
        }
    }

    /// True if a PSYNC from offset `from` can be served: `first_byte <= from <= end + 1`.
    pub fn covers(&self, from: i64) -> bool {
        from >= self.first_byte && from <= self.end + 1
    }

    /// The bytes from offset `from` to the end (empty if `from` is `end + 1`).
    pub fn bytes_from(&self, from: i64) -> Vec<u8> {
        self.bytes_range(from, usize::MAX)
    }

    /// At most `max` bytes from offset `from` on.
    pub fn bytes_range(&self, from: i64, max: usize) -> Vec<u8> {
        let want = ((self.end + 1 - from).max(0) as usize).min(max);
        let mut out = Vec::with_capacity(want);
        for b in &self.blocks {
            let b_end = b.start + b.data.len() as i64;
            if b_end <= from {
                continue;
            }
            let skip = (from - b.start).max(0) as usize;
            let take = (b.data.len() - skip).min(want - out.len());
            out.extend_from_slice(&b.data[skip..skip + take]);
            if out.len() == want {
                break;
            }
        }
        out
    }

    /// What a replica whose next byte is `cursor` holds of the shared buffer, as Redis counts a
    /// replica's output buffer: from the start of the block it references to the end of the
    /// tail block's allocation (`getClientOutputBufferMemoryUsage`).
    pub fn referenced_span(&self, cursor: i64) -> u64 {
        let Some(tail) = self.blocks.back() else {
            return 0;
        };
        let tail_end = tail.start + tail.cap as i64;
        let start = self.blocks.iter().find(|b| cursor < b.start + b.data.len() as i64).map_or(tail.start, |b| b.start);
        (tail_end - start).max(0) as u64
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn offsets_and_partial_reads() {
        let mut b = Backlog::new(1 << 20, 0);
        assert_eq!((b.first_byte(), b.histlen()), (1, 0));
        b.append(b"*1\r\n$4\r\nping\r\n");
        assert_eq!(b.histlen(), 14);
        assert!(b.covers(1) && b.covers(15) && !b.covers(16) && !b.covers(0));
        assert_eq!(b.bytes_from(9), b"ping\r\n");
        assert!(b.bytes_from(15).is_empty());
    }

    #[test]
    fn trimming_keeps_at_least_size_and_respects_cursors() {
        let mut b = Backlog::new(BLOCK_MIN, 100);
        for _ in 0..10 {
            b.append(&[b'x'; 10_000]);
            b.trim(None);
        }
        assert!(b.histlen() >= BLOCK_MIN as i64 && b.histlen() < 2 * BLOCK_MIN as i64, "{}", b.histlen());
        assert_eq!(b.first_byte() + b.histlen() - 1, 100 + 100_000);
        let mut pinned = Backlog::new(BLOCK_MIN, 0);
        for _ in 0..10 {
            pinned.append(&[b'y'; 10_000]);
            pinned.trim(Some(1));
        }
        assert_eq!(pinned.histlen(), 100_000, "a replica at offset 1 pins every block");
    }
}
