//! The hash function of the key maps: fast, and the same on every platform.
//!
//! A database's keys live in a persistent map ordered by their hashes ([`super::KeyMap`]), so
//! it walks its keys in the order of their hashes. Snapshots are written in that order, as Redis writes them in
//! its dict's order, so the hash must not depend on the process (std's `RandomState` does) nor on
//! the pointer width (`Hash for [u8]` feeds the length as a `usize`, 4 bytes on wasm32 and 8
//! natively): the same dataset built the same way must give the same RDB bytes natively and in
//! the page, or a run's trace would differ between them. XXH3 is specified bit for bit and is
//! among the fastest hashes for short keys; lengths are widened to 64 bits before mixing.

use std::hash::{BuildHasher, Hasher};

/// Builds [`KeyHasher`]s; a zero-sized, fixed-seed `BuildHasher` for the key maps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeyHash;

impl BuildHasher for KeyHash {
    type Hasher = KeyHasher;

    fn build_hasher(&self) -> KeyHasher {
        KeyHasher(0)
    }
}

/// Folds every write into a 64-bit state with one-shot XXH3 calls, seeded by the state so far.
#[derive(Clone, Copy, Debug)]
pub struct KeyHasher(u64);

/// SplitMix64's finaliser: spreads a small integer (a length) over all 64 bits.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0 = xxhash_rust::xxh3::xxh3_64_with_seed(bytes, self.0);
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = mix(self.0 ^ n.wrapping_add(0x9E37_79B9_7F4A_7C15));
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn the_same_value_on_every_platform() {
        // Computed once natively; the wasm32 run of this test must agree (usize is 4 bytes there).
        let h = KeyHash.hash_one(b"key:1".to_vec());
        assert_eq!(h, KeyHash.hash_one(b"key:1".as_slice()));
        assert_eq!(h, EXPECTED_KEY_1);
        assert_ne!(h, KeyHash.hash_one(b"key:2".to_vec()));
        assert_ne!(KeyHash.hash_one(b"".to_vec()), KeyHash.hash_one(b"\0".to_vec()));
    }

    /// The hash of `key:1` as computed natively (x86_64) when this hasher was written.
    const EXPECTED_KEY_1: u64 = 12_856_162_734_748_927_309;
}
