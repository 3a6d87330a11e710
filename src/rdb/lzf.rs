//! LZF compression, the format Redis uses for RDB strings over 20 bytes (liblzf's token
//! stream: literal runs of up to 32 bytes, and back references of 3 to 264 bytes at most 8 KB
//! back).
//!
//! The compressor is here rather than in a crate because Redis calls it for every long string
//! of a snapshot: the crate we used clears a 256 KB hash table on each call, which made saving a
//! million 64-byte values take seconds. This one keeps a small table per thread and never clears
//! it: a stale entry is harmless because every candidate is checked against the input before it
//! is used. The decompressor is here too: it writes each string straight into its final vector
//! (the crate wanted a zeroed buffer first), and the tests check both against the `lzf-rust`
//! crate's independent implementation.

use std::cell::RefCell;

const HLOG: u32 = 12;
const HSIZE: usize = 1 << HLOG;
const MAX_OFF: usize = 1 << 13;
const MAX_REF: usize = (1 << 8) + (1 << 3);
const MAX_LIT: usize = 1 << 5;

thread_local! {
    static TABLE: RefCell<[u32; HSIZE]> = const { RefCell::new([0; HSIZE]) };
}

/// The table slot of three bytes `v` (liblzf's multiplicative hash).
fn hash(v: u32) -> usize {
    (v.wrapping_mul(2_654_435_761) >> (32 - HLOG)) as usize
}

fn literals(out: &mut Vec<u8>, mut lit: &[u8]) {
    while !lit.is_empty() {
        let n = lit.len().min(MAX_LIT);
        out.push((n - 1) as u8);
        out.extend_from_slice(&lit[..n]);
        lit = &lit[n..];
    }
}

/// Compresses `input`; None if the result would be longer than `max` bytes.
pub fn compress(input: &[u8], max: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(max.min(input.len() + input.len() / 16 + 8));
    compress_into(input, max, &mut out).then_some(out)
}

/// Appends the compressed form of `input` to `out` and returns true, or leaves `out` as it was
/// and returns false if that form would be longer than `max` bytes. Appending spares the writer
/// an allocation per string.
pub fn compress_into(input: &[u8], max: usize, out: &mut Vec<u8>) -> bool {
    let start = out.len();
    let ok = TABLE.with(|t| encode(input, start + max, out, &mut t.borrow_mut()));
    if !ok {
        out.truncate(start);
    }
    ok
}

/// Consecutive positions without a match after which the search starts skipping ahead.
const SKIP_AFTER: usize = 16;

/// The compressor's loop; false as soon as `out` must grow past `limit`. Like LZ4 (and unlike
/// liblzf) it steps faster through input that keeps failing to match: one more byte per step
/// every [`SKIP_AFTER`] misses. Random data, which a snapshot of hashes or tokens is full of, is
/// then given up on after about half the work, at the price of a match missed now and then in
/// data that turns compressible late; the stream format is unchanged.
fn encode(input: &[u8], limit: usize, out: &mut Vec<u8>, table: &mut [u32; HSIZE]) -> bool {
    let n = input.len();
    let (mut ip, mut lit_start, mut misses) = (0usize, 0usize, 0usize);
    while ip + 2 < n {
        let h = hash((input[ip] as u32) << 16 | (input[ip + 1] as u32) << 8 | input[ip + 2] as u32);
        let cand = table[h] as usize;
        table[h] = ip as u32 + 1;
        // A stale entry from an earlier input is harmless: it is checked against this input.
        if cand > 0 && cand <= ip {
            let c = cand - 1;
            let off = ip - c - 1;
            if off < MAX_OFF && input[c] == input[ip] && input[c + 1] == input[ip + 1] && input[c + 2] == input[ip + 2]
            {
                let longest = (n - ip).min(MAX_REF);
                let mut len = 3;
                while len < longest && input[c + len] == input[ip + len] {
                    len += 1;
                }
                literals(out, &input[lit_start..ip]);
                let l = len - 2;
                if l < 7 {
                    out.push(((l << 5) | (off >> 8)) as u8);
                } else {
                    out.push(((7 << 5) | (off >> 8)) as u8);
                    out.push((l - 7) as u8);
                }
                out.push(off as u8);
                ip += len;
                lit_start = ip;
                misses = 0;
                if out.len() > limit {
                    return false;
                }
                continue;
            }
        }
        misses += 1;
        ip += 1 + misses / SKIP_AFTER;
        // The bytes passed so far will be literals: once they alone overflow, stop.
        if out.len() + (ip.min(n) - lit_start) > limit {
            return false;
        }
    }
    literals(out, &input[lit_start..]);
    out.len() <= limit
}

/// Decompresses `input`, which must expand to exactly `len` bytes; None if it is not a valid
/// LZF stream of that length (a back reference before the start, a truncated token, a wrong
/// length). Never allocates more than `len` bytes.
pub fn decompress(input: &[u8], len: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(len);
    let mut ip = 0;
    while let Some(&ctrl) = input.get(ip) {
        let ctrl = ctrl as usize;
        ip += 1;
        if ctrl < MAX_LIT {
            let literal = input.get(ip..ip + ctrl + 1)?;
            if out.len() + literal.len() > len {
                return None;
            }
            out.extend_from_slice(literal);
            ip += literal.len();
            continue;
        }
        let mut n = ctrl >> 5;
        if n == 7 {
            n += *input.get(ip)? as usize;
            ip += 1;
        }
        n += 2;
        let back = ((ctrl & 0x1F) << 8) + *input.get(ip)? as usize + 1;
        ip += 1;
        let from = out.len().checked_sub(back)?;
        if out.len() + n > len {
            return None;
        }
        // A reference may overlap what it writes (a run with period `back`): liblzf copies byte
        // by byte; copying what is already there, in growing chunks, gives the same bytes.
        let mut left = n;
        while left > 0 {
            let chunk = left.min(out.len() - from);
            out.extend_from_within(from..from + chunk);
            left -= chunk;
        }
    }
    (out.len() == len).then_some(out)
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::{compress, decompress};
    use rand_core::{Rng, SeedableRng};

    /// Compresses, then decompresses with ours and with the `lzf-rust` crate (an independent
    /// implementation of liblzf's format): both must give the input back.
    fn round_trip(data: &[u8]) -> Option<usize> {
        let packed = compress(data, data.len() + data.len() / 16 + 64)?;
        let mut back = vec![0u8; data.len()];
        let n = lzf_rust::decompress(&packed, &mut back).expect("liblzf-compatible stream");
        assert_eq!(&back[..n], data);
        assert_eq!(decompress(&packed, data.len()).as_deref(), Some(data));
        Some(packed.len())
    }

    #[test]
    fn decompression_refuses_what_liblzf_would() {
        let packed = compress(&[b'x'; 100], 90).unwrap();
        assert_eq!(decompress(&packed, 99), None, "longer than claimed");
        assert_eq!(decompress(&packed, 101), None, "shorter than claimed");
        assert_eq!(decompress(&packed[..packed.len() - 1], 100), None, "truncated");
        assert_eq!(decompress(&[0x20, 0x05], 3), None, "a reference before the start");
        assert_eq!(decompress(&[0x04, b'a'], 5), None, "a literal run past the input");
        assert_eq!(decompress(&[0x00, b'a', 0x20, 0x00], 4), Some(b"aaaa".to_vec()), "an overlapping run");
        assert_eq!(decompress(&[], 0), Some(Vec::new()));
    }

    #[test]
    fn round_trips_through_the_liblzf_decoder() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for size in [0usize, 1, 2, 3, 21, 64, 100, 1000, 9000, 70_000] {
            let random: Vec<u8> = (0..size).map(|_| rng.next_u32() as u8).collect();
            round_trip(&random);
            let text: Vec<u8> = (0..size).map(|i| b"abcabcabd"[(i * 7 + i / 13) % 9]).collect();
            round_trip(&text);
            let zeros = vec![0u8; size];
            if size > 100 {
                assert!(round_trip(&zeros).unwrap() < size / 20, "long runs compress well");
            }
        }
    }

    #[test]
    fn refuses_results_over_the_limit() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(8);
        let random: Vec<u8> = (0..64).map(|_| rng.next_u32() as u8).collect();
        assert_eq!(compress(&random, 60), None);
        assert!(compress(&[b'x'; 64], 60).is_some());
    }
}
