//! RDB, the snapshot format a full sync transfers: version 10 as Redis 7.0 writes it.
//!
//! The layout is taught byte by byte in the lab, so it is written by hand here: opcodes, the
//! length encoding (big-endian lengths, little-endian integers), integer-encoded and
//! LZF-compressed strings, and the CRC-64/Jones trailer. REDIS-REPLICATION.md §9 is the reference.

mod dump;
mod encodings;
pub mod lzf;
mod read;
mod write;

pub use dump::describe;
pub use read::{rdb_sections, read_rdb, RdbFile, Section};
pub use write::{write_rdb, AuxInfo};

use std::fmt;

/// `REDIS0010`: the version Redis 7.0 writes.
pub const RDB_VERSION: u32 = 10;
/// The newest version the reader accepts (Redis 7.2's), so snapshots from 7.2 can be imported.
pub const RDB_VERSION_MAX_READ: u32 = 11;

pub(crate) const OP_FUNCTION2: u8 = 0xF5;
pub(crate) const OP_MODULE_AUX: u8 = 0xF7;
pub(crate) const OP_IDLE: u8 = 0xF8;
pub(crate) const OP_FREQ: u8 = 0xF9;
pub(crate) const OP_AUX: u8 = 0xFA;
pub(crate) const OP_RESIZEDB: u8 = 0xFB;
pub(crate) const OP_EXPIRETIME_MS: u8 = 0xFC;
pub(crate) const OP_EXPIRETIME: u8 = 0xFD;
pub(crate) const OP_SELECTDB: u8 = 0xFE;
pub(crate) const OP_EOF: u8 = 0xFF;
pub(crate) const TYPE_STRING: u8 = 0;
pub(crate) const TYPE_LIST: u8 = 1;
pub(crate) const TYPE_SET: u8 = 2;
pub(crate) const TYPE_ZSET: u8 = 3;
pub(crate) const TYPE_HASH: u8 = 4;
pub(crate) const TYPE_ZSET_2: u8 = 5;
pub(crate) const TYPE_MODULE: u8 = 6;
pub(crate) const TYPE_MODULE_2: u8 = 7;
pub(crate) const TYPE_HASH_ZIPMAP: u8 = 9;
pub(crate) const TYPE_LIST_ZIPLIST: u8 = 10;
pub(crate) const TYPE_SET_INTSET: u8 = 11;
pub(crate) const TYPE_ZSET_ZIPLIST: u8 = 12;
pub(crate) const TYPE_HASH_ZIPLIST: u8 = 13;
pub(crate) const TYPE_LIST_QUICKLIST: u8 = 14;
pub(crate) const TYPE_STREAM_LISTPACKS: u8 = 15;
pub(crate) const TYPE_HASH_LISTPACK: u8 = 16;
pub(crate) const TYPE_ZSET_LISTPACK: u8 = 17;
pub(crate) const TYPE_LIST_QUICKLIST_2: u8 = 18;
pub(crate) const TYPE_STREAM_LISTPACKS_2: u8 = 19;
pub(crate) const TYPE_SET_LISTPACK: u8 = 20;
pub(crate) const TYPE_STREAM_LISTPACKS_3: u8 = 21;

/// CRC-64/Jones as Redis computes it: reflected, initial value 0, no final xor. Sliced 16 bytes
/// at a time (a 32 KB table; Redis slices its crc64 too, with crcspeed): every snapshot is checksummed
/// whole, and the byte-at-a-time table made that a tenth of the time of saving.
pub const CRC64: crc::Crc<u64, crc::Table<16>> = crc::Crc::<u64, crc::Table<16>>::new(&crc::CRC_64_REDIS);

/// `crc64(0, data)` as in Redis's crc64.c.
pub fn crc64(data: &[u8]) -> u64 {
    CRC64.checksum(data)
}

/// A file that cannot be loaded: where, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RdbError {
    /// Byte offset in the file where the problem was found.
    pub offset: usize,
    /// What is wrong, in Redis's words where Redis has them.
    pub reason: String,
}

impl fmt::Display for RdbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at byte {})", self.reason, self.offset)
    }
}

impl std::error::Error for RdbError {}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn crc_vectors_from_redis() {
        assert_eq!(crc64(b"123456789"), 0xe9c6d914c4b8d9ca);
        let lorem = b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat. Duis aute irure dolor in reprehenderit in voluptate velit esse cillum dolore eu fugiat nulla pariatur. Excepteur sint occaecat cupidatat non proident, sunt in culpa qui officia deserunt mollit anim id est laborum.\0";
        assert_eq!(lorem.len(), 446);
        assert_eq!(crc64(lorem), 0xc7794709e69683b3);
        assert_eq!(crc64(&lorem[..445]), 0x912d89c65cd3c415);
    }
}
