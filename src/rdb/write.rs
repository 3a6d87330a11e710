//! The RDB writer: what `rdbSaveRio` produces for a Redis 7.0 node.

use super::*;
use crate::keyspace::{Keyspace, Value};

/// The AUX fields of a snapshot, in the order Redis writes them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuxInfo {
    /// `ctime`: unix seconds at save time.
    pub ctime_secs: i64,
    /// `used-mem`: the node's memory estimate in bytes.
    pub used_mem: u64,
    /// `repl-stream-db`, `repl-id`, `repl-offset`, present when replication info exists.
    pub repl: Option<(i64, String, i64)>,
}

/// The RDB length encoding of `n` (6, 14, 32 or 64 bits), on the stack: bytes and how many.
fn len_bytes(n: u64) -> ([u8; 9], usize) {
    let mut b = [0u8; 9];
    let used = if n < 1 << 6 {
        b[0] = n as u8;
        1
    } else if n < 1 << 14 {
        b[..2].copy_from_slice(&(0x4000 | n as u16).to_be_bytes());
        2
    } else if n <= u32::MAX as u64 {
        b[0] = 0x80;
        b[1..5].copy_from_slice(&(n as u32).to_be_bytes());
        5
    } else {
        b[0] = 0x81;
        b[1..].copy_from_slice(&n.to_be_bytes());
        9
    };
    (b, used)
}

fn len(out: &mut Vec<u8>, n: u64) {
    let (b, used) = len_bytes(n);
    out.extend_from_slice(&b[..used]);
}

/// The integer a string spells canonically (an optional `-`, then digits without a leading zero,
/// no `-0`, within 64 bits), if any: Redis's `string2ll`, whose successful parses are exactly the
/// strings `rdbTryIntegerEncoding` finds unchanged by the round trip back to text.
fn canonical_int(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, s),
    };
    match digits {
        [] => return None,
        [b'0'] => return (!neg).then_some(0),
        [b'1'..=b'9', ..] if digits.len() <= 19 => {}
        _ => return None,
    }
    // Accumulated negatively, so that i64::MIN fits.
    let mut n: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_sub((d - b'0') as i64)?;
    }
    if neg {
        Some(n)
    } else {
        n.checked_neg()
    }
}

/// Writes a string as `rdbSaveRawString` does: small canonical integers int-encoded, strings over
/// 20 bytes LZF-compressed when that saves at least 4 bytes, the rest length-prefixed.
pub(crate) fn string(out: &mut Vec<u8>, s: &[u8]) {
    if s.len() <= 11 {
        if let Some(n) = canonical_int(s) {
            if let Ok(v) = i8::try_from(n) {
                out.extend_from_slice(&[0xC0, v as u8]);
                return;
            } else if let Ok(v) = i16::try_from(n) {
                out.push(0xC1);
                out.extend_from_slice(&v.to_le_bytes());
                return;
            } else if let Ok(v) = i32::try_from(n) {
                out.push(0xC2);
                out.extend_from_slice(&v.to_le_bytes());
                return;
            }
        }
    }
    if s.len() > 20 && compressed(out, s) {
        return;
    }
    len(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// Appends `0xC3 <compressed len> <original len> <LZF bytes>` if LZF saves at least 4 bytes.
/// The payload is compressed in place after room for the longest header it could need; a
/// shorter actual header moves it back (rarely: only across a length-encoding boundary).
fn compressed(out: &mut Vec<u8>, s: &[u8]) -> bool {
    let max = s.len() - 4;
    let at = out.len();
    let (orig, orig_used) = len_bytes(s.len() as u64);
    let room = 1 + len_bytes(max as u64).1 + orig_used;
    out.resize(at + room, 0);
    if !super::lzf::compress_into(s, max, out) {
        out.truncate(at);
        return false;
    }
    let (packed, packed_used) = len_bytes((out.len() - at - room) as u64);
    let header = 1 + packed_used + orig_used;
    out[at] = 0xC3;
    out[at + 1..at + 1 + packed_used].copy_from_slice(&packed[..packed_used]);
    out[at + 1 + packed_used..at + header].copy_from_slice(&orig[..orig_used]);
    if header < room {
        out.copy_within(at + room.., at + header);
        out.truncate(out.len() - (room - header));
    }
    true
}

/// The value types as the simple encodings Redis still loads: string (0), list (1), set (2),
/// hash (4) and zset (5, scores as little-endian doubles, highest first as Redis saves them).
fn write_value(out: &mut Vec<u8>, key: &[u8], value: &Value) {
    let kind = match value {
        Value::Str(_) => TYPE_STRING,
        Value::List(_) => TYPE_LIST,
        Value::Set(_) => TYPE_SET,
        Value::Hash(_) => TYPE_HASH,
        Value::ZSet(_) => TYPE_ZSET_2,
    };
    out.push(kind);
    string(out, key);
    match value {
        Value::Str(s) => string(out, s),
        Value::List(l) => {
            len(out, l.len() as u64);
            l.iter().for_each(|e| string(out, e));
        }
        Value::Set(set) => {
            let members = set.members();
            len(out, members.len() as u64);
            members.iter().for_each(|m| string(out, m));
        }
        Value::Hash(h) => {
            len(out, h.len() as u64);
            for (f, v) in h.iter() {
                string(out, f);
                string(out, v);
            }
        }
        Value::ZSet(z) => {
            len(out, z.len() as u64);
            for (m, score) in z.iter().rev() {
                string(out, m);
                out.extend_from_slice(&score.to_le_bytes());
            }
        }
    }
}

/// Entries written per batch (see [`write_batch`]).
const BATCH: usize = 32;

/// Writes a run of entries. The keys and string values sit wherever the allocator put them and
/// the map is walked in hash order, so nearly every one is a cache miss; touching all of a
/// batch's bytes first lets the processor fetch them in parallel instead of one after another
/// (what a prefetch instruction would do, in portable code that wasm runs too).
fn write_batch(out: &mut Vec<u8>, batch: &[(&Vec<u8>, &Value, Option<i64>)]) {
    let mut touched = 0u8;
    for (key, value, _) in batch {
        touched ^= key.first().copied().unwrap_or(0);
        if let Value::Str(s) = value {
            touched ^= s.first().copied().unwrap_or(0);
        }
    }
    std::hint::black_box(touched);
    for &(key, value, expire) in batch {
        if let Some(at) = expire {
            out.push(OP_EXPIRETIME_MS);
            out.extend_from_slice(&at.to_le_bytes());
        }
        write_value(out, key, value);
    }
}

fn aux(out: &mut Vec<u8>, key: &str, value: &[u8]) {
    out.push(OP_AUX);
    string(out, key.as_bytes());
    string(out, value);
}

/// Serialises a keyspace as an RDB version 10 file, CRC trailer included.
pub fn write_rdb(ks: &Keyspace, info: &AuxInfo) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(format!("REDIS{RDB_VERSION:04}").as_bytes());
    aux(&mut out, "redis-ver", crate::REDIS_VERSION.as_bytes());
    aux(&mut out, "redis-bits", b"64");
    aux(&mut out, "ctime", info.ctime_secs.to_string().as_bytes());
    aux(&mut out, "used-mem", info.used_mem.to_string().as_bytes());
    if let Some((db, id, off)) = &info.repl {
        aux(&mut out, "repl-stream-db", db.to_string().as_bytes());
        aux(&mut out, "repl-id", id.as_bytes());
        aux(&mut out, "repl-offset", off.to_string().as_bytes());
    }
    aux(&mut out, "aof-base", b"0");
    for (i, db) in ks.dbs() {
        if db.is_empty() {
            continue;
        }
        out.push(OP_SELECTDB);
        len(&mut out, i as u64);
        out.push(OP_RESIZEDB);
        len(&mut out, db.len() as u64);
        len(&mut out, db.expires_len() as u64);
        let mut batch = Vec::with_capacity(BATCH);
        for entry in db.entries() {
            batch.push(entry);
            if batch.len() == BATCH {
                write_batch(&mut out, &batch);
                batch.clear();
            }
        }
        write_batch(&mut out, &batch);
    }
    out.push(OP_EOF);
    let crc = crc64(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    fn enc(s: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        string(&mut v, s);
        v
    }

    #[test]
    fn string_encodings_as_redis_writes_them() {
        assert_eq!(enc(b"64"), [0xC0, 0x40]);
        assert_eq!(enc(b"1244"), [0xC1, 0xDC, 0x04]);
        assert_eq!(enc(b"14"), [0xC0, 0x0E]);
        assert_eq!(enc(b"007"), [3, b'0', b'0', b'7']);
        assert_eq!(enc(b"+1"), [2, b'+', b'1']);
        assert_eq!(enc(b"100000"), [0xC2, 0xA0, 0x86, 0x01, 0x00]);
        assert_eq!(enc(b"-128"), [0xC0, 0x80]);
        assert_eq!(enc(b"-0"), [2, b'-', b'0']);
        assert_eq!(enc(b"0"), [0xC0, 0]);
        assert_eq!(enc(b"2147483648")[0], 10, "past i32: stored as text");
        assert_eq!(enc(b"-")[0], 1);
        let long = vec![b'a'; 100];
        assert_eq!(enc(&long)[0], 0xC3, "compressible strings over 20 bytes use LZF");
        let tiny = b"abcdefghijklmnopqrstu";
        assert_eq!(enc(tiny)[0] as usize, tiny.len(), "incompressible strings stay plain");
        let wide = vec![b'b'; 70];
        let e = enc(&wide);
        assert_eq!(&e[..3], [0xC3, e.len() as u8 - 4, 0x40], "a short payload behind a two-byte original length");
        assert_eq!(e[3], 70);
    }

    #[test]
    fn lengths_at_each_encoding_boundary() {
        let l = |n: u64| {
            let mut v = Vec::new();
            len(&mut v, n);
            v
        };
        assert_eq!(l(63), [63]);
        assert_eq!(l(64), [0x40, 64]);
        assert_eq!(l(16_383), [0x7F, 0xFF]);
        assert_eq!(l(16_384), [0x80, 0, 0, 0x40, 0]);
        assert_eq!(l(u32::MAX as u64), [0x80, 0xFF, 0xFF, 0xFF, 0xFF]);
        assert_eq!(l(1 << 32), [0x81, 0, 0, 0, 1, 0, 0, 0, 0]);
    }

    #[test]
    fn canonical_int_is_the_text_round_trip() {
        let by_round_trip = |s: &[u8]| {
            let text = std::str::from_utf8(s).ok()?;
            let n: i64 = text.parse().ok()?;
            (n.to_string() == text).then_some(n)
        };
        let edge = [
            "0",
            "-0",
            "00",
            "01",
            "-01",
            "+1",
            " 1",
            "1 ",
            "",
            "-",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775808",
            "-9223372036854775809",
            "12345678901234567890",
            "1e3",
            "٣",
        ];
        let mut cases: Vec<Vec<u8>> = edge.iter().map(|s| s.as_bytes().to_vec()).collect();
        let mut state = 0x1234_5678_u64;
        for _ in 0..20_000 {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let len = (state >> 59) as usize;
            cases.push((0..len).map(|i| b"-0123456789+ a"[((state >> (i * 3 % 56)) % 14) as usize]).collect());
        }
        for s in cases {
            assert_eq!(canonical_int(&s), by_round_trip(&s), "{:?}", String::from_utf8_lossy(&s));
        }
    }

    #[test]
    fn empty_keyspace_is_header_aux_eof_crc() {
        let info = AuxInfo { ctime_secs: 1, used_mem: 2, repl: None };
        let rdb = write_rdb(&Keyspace::default(), &info);
        assert!(rdb.starts_with(b"REDIS0010\xFA\x09redis-ver\x067.0.15"));
        let body = &rdb[..rdb.len() - 8];
        assert_eq!(*body.last().unwrap(), OP_EOF);
        assert_eq!(u64::from_le_bytes(rdb[rdb.len() - 8..].try_into().unwrap()), crc64(body));
    }
}
