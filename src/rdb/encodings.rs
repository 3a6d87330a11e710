//! Decoders for the compact blobs Redis stores inside RDB strings: listpacks (7.0+ hashes, zsets,
//! quicklist nodes; 7.2 sets), ziplists (the pre-7.0 equivalent), intsets and the Redis 2.4
//! zipmaps.
//!
//! Each decoder validates as deeply as Redis's `*ValidateIntegrity(..., deep = 1)` does: the header
//! byte count must equal the blob's size, the blob must end with its terminator, every entry must
//! lie inside the blob, every back-pointer (a listpack entry's `backlen`, a ziplist entry's
//! `prevlen`, a ziplist's tail offset) must agree with the forward walk, and the element count in
//! the header must match (unless it holds the "unknown" marker). Every index is checked before it is
//! read, and nothing is allocated beyond one small record per entry actually present, so a hostile
//! blob can neither panic nor make the reader allocate more than the input justifies.
//!
//! The layouts, from Redis 7.0's listpack.c, ziplist.c, intset.c and zipmap.c:
//!
//! * **listpack**: `<total-bytes u32 LE> <num-elements u16 LE> <entry>* <0xFF>`; an entry is an
//!   encoding byte (plus length bytes), the data, then `backlen`, the size of encoding + data
//!   written backwards in 1-5 bytes of 7 bits each (the high bit marks "more bytes to the left").
//!   Encodings: `0xxxxxxx` 7-bit uint; `10xxxxxx` string up to 63 bytes; `110xxxxx` + 1 byte 13-bit
//!   int; `1110xxxx` + 1 byte string up to 4095 bytes; `F0` + u32 LE length string; `F1`/`F2`/`F3`/`F4`
//!   16/24/32/64-bit ints, little-endian, two's complement.
//! * **ziplist**: `<zlbytes u32 LE> <zltail u32 LE> <zllen u16 LE> <entry>* <0xFF>`; an entry is
//!   `prevlen` (1 byte below 254, else `FE` + u32 LE), an encoding, then the data. Encodings:
//!   `00xxxxxx` string up to 63 bytes; `01xxxxxx` + 1 byte 14-bit length (big-endian); `80` + u32
//!   **big-endian** length; `C0` int16, `D0` int32, `E0` int64, `F0` int24, `FE` int8 (LE);
//!   `F1`..`FD` the immediates 0..12.
//! * **intset**: `<encoding u32 LE: 2, 4 or 8> <length u32 LE> <length ints LE>`, strictly ascending.
//! * **zipmap**: `<zmlen u8> (<len> field <len> <free u8> value <free bytes>)* <0xFF>`; a length is
//!   one byte below 254, else `FE` + u32 LE.

/// Why a blob failed validation: the byte within the blob, and what is wrong there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BlobError {
    /// Offset inside the blob.
    pub at: usize,
    /// A short description, appended to Redis's own "... integrity check failed." message.
    pub detail: &'static str,
}

fn fail<T>(at: usize, detail: &'static str) -> Result<T, BlobError> {
    Err(BlobError { at, detail })
}

/// One element of a listpack or ziplist: the bytes of a string, or an integer Redis stored in
/// binary (which reads back as its decimal text).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Entry<'a> {
    Str(&'a [u8]),
    Int(i64),
}

impl Entry<'_> {
    /// The element as Redis would reply it: the string, or the integer's decimal text.
    pub fn to_bytes(self) -> Vec<u8> {
        match self {
            Entry::Str(s) => s.to_vec(),
            Entry::Int(n) => n.to_string().into_bytes(),
        }
    }

    /// The element read as a sorted-set score (Redis stores scores as text, or as an integer when
    /// the text is one). `None` if the text is not a number; NaN is returned for the caller to
    /// refuse.
    pub fn score(self) -> Option<f64> {
        match self {
            Entry::Int(n) => Some(n as f64),
            Entry::Str(s) => std::str::from_utf8(s).ok()?.parse::<f64>().ok(),
        }
    }
}

fn u16_le(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_le(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// The element count a header claims, capped by what the blob could physically hold, so that a
/// lying header cannot reserve memory.
fn capacity(claimed: usize, blob_len: usize, min_entry: usize) -> usize {
    claimed.min(blob_len / min_entry)
}

const LP_HDR_SIZE: usize = 6;
const LP_EOF: u8 = 0xFF;
const LP_NUMELE_UNKNOWN: u16 = u16::MAX;

/// Bytes `lpEncodeBacklen` uses for a backlen of `l`.
fn lp_backlen_size(l: u64) -> u64 {
    match l {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

/// `lpDecodeBacklen` reading backwards from `last`: 7 bits a byte, the high bit meaning that more
/// bytes follow to the left; more than 5 bytes is invalid. Never reads before the blob's start.
fn lp_decode_backlen(b: &[u8], last: usize) -> Option<u64> {
    let (mut val, mut shift, mut i) = (0u64, 0u32, last);
    loop {
        val |= ((b[i] & 127) as u64) << shift;
        if b[i] & 128 == 0 {
            return Some(val);
        }
        shift += 7;
        if shift > 28 || i == 0 {
            return None;
        }
        i -= 1;
    }
}

/// Decodes and validates a whole listpack (`lpValidateIntegrity` with `deep = 1`).
pub(crate) fn listpack(b: &[u8]) -> Result<Vec<Entry<'_>>, BlobError> {
    let size = b.len();
    if size < LP_HDR_SIZE + 1 {
        return fail(0, "shorter than the 7-byte minimum");
    }
    if u32_le(b, 0) as usize != size {
        return fail(0, "the total-bytes header does not match the blob size");
    }
    if b[size - 1] != LP_EOF {
        return fail(size - 1, "the last byte is not the 0xFF terminator");
    }
    let numele = u16_le(b, 4);
    let last = size - 1;
    let mut out = Vec::with_capacity(capacity(numele as usize, size, 2));
    let mut p = LP_HDR_SIZE;
    // Invariant: p <= last, so b[p] is readable.
    while b[p] != LP_EOF {
        let enc = b[p];
        // The bytes of the encoding header (encoding byte plus length bytes).
        let lenbytes: usize = match enc {
            0x00..=0xDF => 1,
            0xE0..=0xEF => 2,
            0xF0 => 5,
            0xF1..=0xF4 => 1,
            _ => return fail(p, "invalid entry encoding byte"),
        };
        if p + lenbytes > last {
            return fail(p, "entry header runs past the end");
        }
        // Encoding + data, as lpCurrentEncodedSizeUnsafe computes it.
        let enc_size: u64 = match enc {
            0x00..=0x7F => 1,
            0x80..=0xBF => 1 + (enc & 0x3F) as u64,
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 2 + ((((enc & 0x0F) as u64) << 8) | b[p + 1] as u64),
            0xF0 => 5 + u32_le(b, p + 1) as u64,
            0xF1 => 3,
            0xF2 => 4,
            0xF3 => 5,
            _ => 9,
        };
        let backlen_size = lp_backlen_size(enc_size);
        let entry_size = enc_size + backlen_size;
        if p as u64 + entry_size > last as u64 {
            return fail(p, "entry runs past the end");
        }
        let next = p + entry_size as usize;
        if lp_decode_backlen(b, next - 1) != Some(enc_size) {
            return fail(next - 1, "backlen does not match the entry size");
        }
        let data = &b[p..p + enc_size as usize];
        out.push(match enc {
            0x00..=0x7F => Entry::Int((enc & 0x7F) as i64),
            0x80..=0xBF => Entry::Str(&data[1..]),
            0xC0..=0xDF => {
                let u = (((enc & 0x1F) as i64) << 8) | data[1] as i64;
                Entry::Int(if u >= 1 << 12 { u - (1 << 13) } else { u })
            }
            0xE0..=0xEF => Entry::Str(&data[2..]),
            0xF0 => Entry::Str(&data[5..]),
            0xF1 => Entry::Int(i16::from_le_bytes([data[1], data[2]]) as i64),
            0xF2 => Entry::Int((i32::from_le_bytes([0, data[1], data[2], data[3]]) >> 8) as i64),
            0xF3 => Entry::Int(i32::from_le_bytes([data[1], data[2], data[3], data[4]]) as i64),
            _ => {
                let mut v = [0u8; 8];
                v.copy_from_slice(&data[1..9]);
                Entry::Int(i64::from_le_bytes(v))
            }
        });
        p = next;
    }
    if p != last {
        return fail(p, "a 0xFF terminator before the end of the blob");
    }
    if numele != LP_NUMELE_UNKNOWN && numele as usize != out.len() {
        return fail(4, "the element count in the header is wrong");
    }
    Ok(out)
}

const ZL_HDR_SIZE: usize = 10;
const ZIP_END: u8 = 0xFF;
const ZIP_BIG_PREVLEN: u8 = 254;

/// Decodes and validates a whole ziplist (`ziplistValidateIntegrity` with `deep = 1`).
pub(crate) fn ziplist(b: &[u8]) -> Result<Vec<Entry<'_>>, BlobError> {
    let size = b.len();
    if size < ZL_HDR_SIZE + 1 {
        return fail(0, "shorter than the 11-byte minimum");
    }
    if u32_le(b, 0) as usize != size {
        return fail(0, "the zlbytes header does not match the blob size");
    }
    let last = size - 1;
    if b[last] != ZIP_END {
        return fail(last, "the last byte is not the 0xFF terminator");
    }
    let tail = u32_le(b, 4) as usize;
    if tail > last {
        return fail(4, "the tail offset points outside the blob");
    }
    let header_count = u16_le(b, 8);
    let mut out = Vec::with_capacity(capacity(header_count as usize, size, 2));
    let mut p = ZL_HDR_SIZE;
    let mut prev: Option<usize> = None;
    let mut prev_raw_size = 0u64;
    // Invariant: p <= last.
    while b[p] != ZIP_END {
        let prevlensize = if b[p] < ZIP_BIG_PREVLEN { 1 } else { 5 };
        if p + prevlensize > last {
            return fail(p, "prevlen runs past the end");
        }
        let mut enc = b[p + prevlensize];
        if enc < 0xC0 {
            enc &= 0xC0;
        }
        let lensize = match enc {
            0x00 | 0xC0 | 0xD0 | 0xE0 | 0xF0 | 0xF1..=0xFE => 1,
            0x40 => 2,
            0x80 => 5,
            _ => return fail(p + prevlensize, "invalid entry encoding byte"),
        };
        let e = p + prevlensize;
        if e + lensize > last {
            return fail(e, "entry header runs past the end");
        }
        let prevlen = if prevlensize == 1 { b[p] as u64 } else { u32_le(b, p + 1) as u64 };
        let len: u64 = match enc {
            0x00 => (b[e] & 0x3F) as u64,
            0x40 => (((b[e] & 0x3F) as u64) << 8) | b[e + 1] as u64,
            0x80 => u32::from_be_bytes([b[e + 1], b[e + 2], b[e + 3], b[e + 4]]) as u64,
            0xC0 => 2,
            0xD0 => 4,
            0xE0 => 8,
            0xF0 => 3,
            0xFE => 1,
            _ => 0,
        };
        let header = (prevlensize + lensize) as u64;
        if p as u64 + header + len > last as u64 {
            return fail(p, "entry runs past the end");
        }
        if prevlen != prev_raw_size {
            return fail(p, "prevlen does not match the previous entry's size");
        }
        let d = e + lensize;
        let data = &b[d..d + len as usize];
        out.push(match enc {
            0x00 | 0x40 | 0x80 => Entry::Str(data),
            0xC0 => Entry::Int(i16::from_le_bytes([data[0], data[1]]) as i64),
            0xD0 => Entry::Int(i32::from_le_bytes([data[0], data[1], data[2], data[3]]) as i64),
            0xE0 => {
                let mut v = [0u8; 8];
                v.copy_from_slice(data);
                Entry::Int(i64::from_le_bytes(v))
            }
            0xF0 => Entry::Int((i32::from_le_bytes([0, data[0], data[1], data[2]]) >> 8) as i64),
            0xFE => Entry::Int(data[0] as i8 as i64),
            imm => Entry::Int((imm & 0x0F) as i64 - 1),
        });
        prev_raw_size = header + len;
        prev = Some(p);
        p += (header + len) as usize;
    }
    if p != last {
        return fail(p, "a 0xFF terminator before the end of the blob");
    }
    if prev.is_some_and(|prev| prev != tail) {
        return fail(4, "the tail offset does not point at the last entry");
    }
    if header_count != u16::MAX && header_count as usize != out.len() {
        return fail(8, "the entry count in the header is wrong");
    }
    Ok(out)
}

/// Decodes and validates an intset (`intsetValidateIntegrity` with `deep = 1`): members ascending.
pub(crate) fn intset(b: &[u8]) -> Result<Vec<i64>, BlobError> {
    if b.len() < 8 {
        return fail(0, "shorter than the 8-byte header");
    }
    let width = match u32_le(b, 0) {
        w @ (2 | 4 | 8) => w as usize,
        _ => return fail(0, "the encoding is not 2, 4 or 8"),
    };
    let count = u32_le(b, 4) as u64;
    if 8 + count * width as u64 != b.len() as u64 {
        return fail(4, "the length does not match the blob size");
    }
    if count == 0 {
        return fail(4, "an empty intset");
    }
    let mut out: Vec<i64> = Vec::with_capacity(count as usize);
    for (i, c) in b[8..].chunks_exact(width).enumerate() {
        let v = match width {
            2 => i16::from_le_bytes([c[0], c[1]]) as i64,
            4 => i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as i64,
            _ => i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]),
        };
        if out.last().is_some_and(|&p| v <= p) {
            return fail(8 + i * width, "members are not in strictly ascending order");
        }
        out.push(v);
    }
    Ok(out)
}

const ZIPMAP_BIGLEN: u8 = 254;
const ZIPMAP_END: u8 = 0xFF;

/// A zipmap's (field, value) pairs, borrowed from the blob.
pub(crate) type Pairs<'a> = Vec<(&'a [u8], &'a [u8])>;

/// Decodes and validates a zipmap (`zipmapValidateIntegrity` with `deep = 1`): (field, value) pairs.
pub(crate) fn zipmap(b: &[u8]) -> Result<Pairs<'_>, BlobError> {
    let size = b.len();
    if size < 2 {
        return fail(0, "shorter than the 2-byte minimum");
    }
    let last = size - 1;
    if b[last] != ZIPMAP_END {
        return fail(last, "the last byte is not the 0xFF terminator");
    }
    // A length: (encoded size, value), the caller having checked that `p + size <= last`.
    let enc_size = |p: usize| if b[p] < ZIPMAP_BIGLEN { 1 } else { 5 };
    let decode = |p: usize| if b[p] < ZIPMAP_BIGLEN { b[p] as u64 } else { u32_le(b, p + 1) as u64 };
    let mut out = Vec::with_capacity(capacity(b[0] as usize, size, 3));
    let mut p = 1usize;
    // Invariant: p <= last.
    while b[p] != ZIPMAP_END {
        let s = enc_size(p);
        if p + s > last {
            return fail(p, "field length runs past the end");
        }
        let flen = decode(p);
        let f = p + s;
        if f as u64 + flen > last as u64 {
            return fail(p, "field runs past the end");
        }
        let field = &b[f..f + flen as usize];
        p = f + flen as usize;
        let s = enc_size(p);
        if p + s > last {
            return fail(p, "value length runs past the end");
        }
        let vlen = decode(p);
        let free = b[p + s] as u64;
        let v = p + s + 1;
        if v as u64 + vlen + free > last as u64 {
            return fail(p, "value runs past the end");
        }
        out.push((field, &b[v..v + vlen as usize]));
        p = v + (vlen + free) as usize;
    }
    if out.is_empty() {
        return fail(0, "an empty zipmap");
    }
    if b[0] != ZIPMAP_BIGLEN && b[0] as usize != out.len() {
        return fail(0, "the pair count in the header is wrong");
    }
    Ok(out)
}

/// Builders of valid blobs, for tests: what Redis's lpAppend / ziplistPush / intsetAdd produce.
#[cfg(test)]
pub(crate) mod build {
    /// `backlen` as lpEncodeBacklen writes it: the leftmost byte without the high bit, every byte
    /// to its right with it, 7 bits each, most significant first.
    fn lp_backlen(out: &mut Vec<u8>, l: usize) {
        let n = match l {
            0..=127 => 1,
            128..=16382 => 2,
            16383..=2097150 => 3,
            2097151..=268435454 => 4,
            _ => 5,
        };
        for i in (0..n).rev() {
            let g = ((l >> (7 * i)) & 127) as u8;
            out.push(if i == n - 1 { g } else { g | 128 });
        }
    }

    /// A listpack entry for a string, choosing the encoding by length.
    pub fn lp_str(s: &[u8]) -> Vec<u8> {
        let mut e = Vec::new();
        if s.len() < 64 {
            e.push(0x80 | s.len() as u8);
        } else if s.len() < 4096 {
            e.push(0xE0 | (s.len() >> 8) as u8);
            e.push(s.len() as u8);
        } else {
            e.push(0xF0);
            e.extend_from_slice(&(s.len() as u32).to_le_bytes());
        }
        e.extend_from_slice(s);
        let l = e.len();
        lp_backlen(&mut e, l);
        e
    }

    /// A listpack entry for an integer, in the smallest encoding.
    pub fn lp_int(v: i64) -> Vec<u8> {
        let mut e = Vec::new();
        if (0..=127).contains(&v) {
            e.push(v as u8);
        } else if (-4096..4096).contains(&v) {
            let u = (v as u16) & 0x1FFF;
            e.extend_from_slice(&[0xC0 | (u >> 8) as u8, u as u8]);
        } else if let Ok(x) = i16::try_from(v) {
            e.push(0xF1);
            e.extend_from_slice(&x.to_le_bytes());
        } else if (-(1 << 23)..(1 << 23)).contains(&v) {
            e.push(0xF2);
            e.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
        } else if let Ok(x) = i32::try_from(v) {
            e.push(0xF3);
            e.extend_from_slice(&x.to_le_bytes());
        } else {
            e.push(0xF4);
            e.extend_from_slice(&v.to_le_bytes());
        }
        let l = e.len();
        lp_backlen(&mut e, l);
        e
    }

    /// A listpack of ready-made entries.
    pub fn listpack(entries: &[Vec<u8>]) -> Vec<u8> {
        let body: Vec<u8> = entries.concat();
        let total = 6 + body.len() + 1;
        let mut out = (total as u32).to_le_bytes().to_vec();
        out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        out.extend_from_slice(&body);
        out.push(0xFF);
        out
    }

    /// A ziplist entry body (encoding + data) for a string.
    pub fn zl_str(s: &[u8]) -> Vec<u8> {
        let mut e = Vec::new();
        if s.len() <= 0x3F {
            e.push(s.len() as u8);
        } else if s.len() <= 0x3FFF {
            e.extend_from_slice(&[0x40 | (s.len() >> 8) as u8, s.len() as u8]);
        } else {
            e.push(0x80);
            e.extend_from_slice(&(s.len() as u32).to_be_bytes());
        }
        e.extend_from_slice(s);
        e
    }

    /// A ziplist entry body (encoding + data) for an integer, in the smallest encoding.
    pub fn zl_int(v: i64) -> Vec<u8> {
        if (0..=12).contains(&v) {
            vec![0xF1 + v as u8]
        } else if let Ok(x) = i8::try_from(v) {
            vec![0xFE, x as u8]
        } else if let Ok(x) = i16::try_from(v) {
            [vec![0xC0], x.to_le_bytes().to_vec()].concat()
        } else if (-(1 << 23)..(1 << 23)).contains(&v) {
            [vec![0xF0], (v as i32).to_le_bytes()[..3].to_vec()].concat()
        } else if let Ok(x) = i32::try_from(v) {
            [vec![0xD0], x.to_le_bytes().to_vec()].concat()
        } else {
            [vec![0xE0], v.to_le_bytes().to_vec()].concat()
        }
    }

    /// A ziplist of entry bodies, adding each entry's prevlen.
    pub fn ziplist(bodies: &[Vec<u8>]) -> Vec<u8> {
        let mut body = Vec::new();
        let mut prev = 0usize;
        let mut tail = 10usize;
        for b in bodies {
            tail = 10 + body.len();
            let start = body.len();
            if prev < 254 {
                body.push(prev as u8);
            } else {
                body.push(254);
                body.extend_from_slice(&(prev as u32).to_le_bytes());
            }
            body.extend_from_slice(b);
            prev = body.len() - start;
        }
        let total = 10 + body.len() + 1;
        let mut out = (total as u32).to_le_bytes().to_vec();
        out.extend_from_slice(&(tail as u32).to_le_bytes());
        out.extend_from_slice(&(bodies.len() as u16).to_le_bytes());
        out.extend_from_slice(&body);
        out.push(0xFF);
        out
    }

    /// An intset of the given width holding `members` in the given order.
    pub fn intset(width: u32, members: &[i64]) -> Vec<u8> {
        let mut out = width.to_le_bytes().to_vec();
        out.extend_from_slice(&(members.len() as u32).to_le_bytes());
        for &m in members {
            out.extend_from_slice(&m.to_le_bytes()[..width as usize]);
        }
        out
    }

    /// A zipmap of (field, value, free bytes) triples.
    pub fn zipmap(pairs: &[(&[u8], &[u8], u8)]) -> Vec<u8> {
        let len = |out: &mut Vec<u8>, l: usize| {
            if l < 254 {
                out.push(l as u8);
            } else {
                out.push(254);
                out.extend_from_slice(&(l as u32).to_le_bytes());
            }
        };
        let mut out = vec![pairs.len().min(254) as u8];
        for (f, v, free) in pairs {
            len(&mut out, f.len());
            out.extend_from_slice(f);
            len(&mut out, v.len());
            out.push(*free);
            out.extend_from_slice(v);
            out.extend(std::iter::repeat_n(0u8, *free as usize));
        }
        out.push(0xFF);
        out
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::build::{lp_int, lp_str, zl_int, zl_str};
    use super::*;

    fn strs(entries: &[Entry<'_>]) -> Vec<String> {
        entries.iter().map(|e| String::from_utf8_lossy(&e.to_bytes()).into_owned()).collect()
    }

    #[test]
    fn listpack_of_the_spec_example() {
        // §9.4: the listpack of `RPUSH mylist a b c`.
        let lp = [&[0x10, 0, 0, 0, 3, 0][..], b"\x81a\x02\x81b\x02\x81c\x02\xff"].concat();
        assert_eq!(listpack(&lp).unwrap(), vec![Entry::Str(b"a"), Entry::Str(b"b"), Entry::Str(b"c")]);
        assert_eq!(lp, build::listpack(&[lp_str(b"a"), lp_str(b"b"), lp_str(b"c")]));
    }

    #[test]
    fn listpack_every_encoding() {
        let ints = [
            0,
            127,
            128,
            -1,
            4095,
            -4096,
            4096,
            -4097,
            32767,
            -32768,
            32768,
            (1 << 23) - 1,
            -(1 << 23),
            1 << 23,
            i32::MAX as i64,
            i32::MIN as i64,
            i32::MAX as i64 + 1,
            i64::MAX,
            i64::MIN,
        ];
        let long = vec![b'x'; 5000];
        let mid = vec![b'y'; 200];
        let mut entries: Vec<Vec<u8>> = ints.iter().map(|&v| lp_int(v)).collect();
        entries.extend([lp_str(b""), lp_str(&[b'z'; 63]), lp_str(&[b'z'; 64]), lp_str(&mid), lp_str(&long)]);
        let lp = build::listpack(&entries);
        let got = listpack(&lp).unwrap();
        let want: Vec<Entry<'_>> = ints
            .iter()
            .map(|&v| Entry::Int(v))
            .chain([Entry::Str(b""), Entry::Str(&[b'z'; 63]), Entry::Str(&[b'z'; 64])])
            .chain([Entry::Str(&mid), Entry::Str(&long)])
            .collect();
        assert_eq!(got, want);
        // Encoding bytes are the expected ones.
        assert_eq!(lp_int(4095)[0], 0xCF);
        assert_eq!(lp_int(-1)[..3], [0xDF, 0xFF, 2]);
        assert_eq!(lp_int(1 << 23)[0], 0xF3);
        // The 5000-byte entry needs a 2-byte backlen; the 200-byte one too.
        assert_eq!(lp_backlen_size(5005), 2);
        // A header count of 65535 means "unknown".
        let mut unknown = lp.clone();
        unknown[4] = 0xFF;
        unknown[5] = 0xFF;
        assert_eq!(listpack(&unknown).unwrap().len(), want.len());
    }

    #[test]
    fn listpack_corruptions() {
        let lp = build::listpack(&[lp_str(b"abc"), lp_int(-300)]);
        assert!(listpack(&lp).is_ok());
        let mut bad = lp.clone();
        bad[0] += 1;
        assert!(listpack(&bad).unwrap_err().detail.contains("total-bytes"));
        let mut bad = lp.clone();
        bad[4] = 3;
        assert!(listpack(&bad).unwrap_err().detail.contains("count"));
        let mut bad = lp.clone();
        bad[10] = 9; // backlen of "abc" (1 + 3 = 4)
        assert_eq!(listpack(&bad).unwrap_err(), BlobError { at: 10, detail: "backlen does not match the entry size" });
        let mut bad = lp.clone();
        bad[6] = 0xF5;
        assert!(listpack(&bad).unwrap_err().detail.contains("encoding"));
        let mut bad = lp.clone();
        bad[6] = 0x80 | 40; // string longer than the blob
        assert!(listpack(&bad).unwrap_err().detail.contains("past the end"));
        let mut bad = lp.clone();
        bad[6] = 0xF0; // 32-bit length from the bytes "abc" + backlen
        assert!(listpack(&bad).is_err());
        let early = build::listpack(&[lp_str(b"a"), vec![0xFF], lp_str(b"b")]);
        assert!(listpack(&early).is_err());
        assert!(listpack(&[7, 0, 0, 0, 0, 0, 0]).is_err(), "no terminator");
        assert!(listpack(&[7, 0, 0, 0, 0, 0, 0xFF]).unwrap().is_empty());
        assert!(listpack(&[]).is_err());
    }

    #[test]
    fn ziplist_every_encoding() {
        let ints = [0, 12, 13, -1, 127, -128, 128, 32767, -32768, 32768, -(1 << 23), (1 << 23) - 1, 1 << 23];
        let ints = [&ints[..], &[i32::MIN as i64, i32::MAX as i64 + 1, i64::MIN, i64::MAX]].concat();
        let big = vec![b'q'; 300];
        let huge = vec![b'h'; 17000];
        let mut bodies: Vec<Vec<u8>> = ints.iter().map(|&v| zl_int(v)).collect();
        bodies.extend([zl_str(b""), zl_str(b"hello"), zl_str(&big), zl_str(&huge), zl_str(b"after-huge")]);
        let zl = build::ziplist(&bodies);
        let got = ziplist(&zl).unwrap();
        let mut want: Vec<Entry<'_>> = ints.iter().map(|&v| Entry::Int(v)).collect();
        want.extend([Entry::Str(b""), Entry::Str(b"hello"), Entry::Str(&big), Entry::Str(&huge)]);
        want.push(Entry::Str(b"after-huge"));
        assert_eq!(got, want);
        assert_eq!(zl_int(12), vec![0xFD]);
        assert_eq!(zl_int(-(1 << 23))[0], 0xF0);
        assert_eq!(zl_str(&huge)[..5], [0x80, 0, 0, 0x42, 0x68], "32-bit length is big-endian");
    }

    #[test]
    fn ziplist_corruptions() {
        let zl = build::ziplist(&[zl_str(b"ab"), zl_int(1000), zl_str(b"c")]);
        assert_eq!(strs(&ziplist(&zl).unwrap()), ["ab", "1000", "c"]);
        let mut bad = zl.clone();
        bad[4] += 1; // tail
        assert!(ziplist(&bad).unwrap_err().detail.contains("tail"));
        let mut bad = zl.clone();
        bad[14] = 7; // prevlen of the second entry (first is 1 + 1 + 2 = 4 bytes)
        assert!(ziplist(&bad).unwrap_err().detail.contains("prevlen"));
        let mut bad = zl.clone();
        bad[8] = 2;
        assert!(ziplist(&bad).unwrap_err().detail.contains("count"));
        let mut bad = zl.clone();
        bad[15] = 0xC5;
        assert!(ziplist(&bad).unwrap_err().detail.contains("encoding"));
        let mut bad = zl.clone();
        bad[11] = 0x80; // a 32-bit length made of "ab" + next bytes
        assert!(ziplist(&bad).is_err());
        let mut unknown = zl.clone();
        unknown[8] = 0xFF;
        unknown[9] = 0xFF;
        assert_eq!(ziplist(&unknown).unwrap().len(), 3);
        assert!(ziplist(&build::ziplist(&[])).unwrap().is_empty());
    }

    #[test]
    fn intsets() {
        assert_eq!(intset(&build::intset(2, &[-5, 3, 300])).unwrap(), vec![-5, 3, 300]);
        assert_eq!(intset(&build::intset(4, &[-70000, 70000])).unwrap(), vec![-70000, 70000]);
        assert_eq!(intset(&build::intset(8, &[i64::MIN, 0, i64::MAX])).unwrap(), vec![i64::MIN, 0, i64::MAX]);
        assert!(intset(&build::intset(2, &[3, 3])).unwrap_err().detail.contains("ascending"));
        assert!(intset(&build::intset(2, &[4, 3])).is_err());
        assert!(intset(&build::intset(2, &[])).unwrap_err().detail.contains("empty"));
        assert!(intset(&build::intset(3, &[1])).is_err());
        let mut short = build::intset(4, &[1, 2]);
        short.pop();
        assert!(intset(&short).unwrap_err().detail.contains("length"));
        let mut huge = build::intset(8, &[1]);
        huge[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(intset(&huge).is_err());
    }

    #[test]
    fn zipmaps() {
        let long = vec![b'v'; 300];
        let zm = build::zipmap(&[(b"f1", b"v1", 0), (b"f2", &long, 3)]);
        assert_eq!(zipmap(&zm).unwrap(), vec![(&b"f1"[..], &b"v1"[..]), (&b"f2"[..], &long[..])]);
        let mut bad = zm.clone();
        bad[0] = 5;
        assert!(zipmap(&bad).unwrap_err().detail.contains("count"));
        let mut big = zm.clone();
        big[0] = 254;
        assert_eq!(zipmap(&big).unwrap().len(), 2);
        let mut bad = zm.clone();
        bad[5] = 200; // the free byte of the first value
        assert!(zipmap(&bad).is_err());
        assert!(zipmap(&[0u8, 0xFF]).unwrap_err().detail.contains("empty"));
        assert!(zipmap(&[1u8, 0xFE, 0xFF]).is_err());
    }
}
