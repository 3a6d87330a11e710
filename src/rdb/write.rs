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

fn len(out: &mut Vec<u8>, n: u64) {
    if n < 1 << 6 {
        out.push(n as u8);
    } else if n < 1 << 14 {
        out.push(0x40 | (n >> 8) as u8);
        out.push(n as u8);
    } else if n <= u32::MAX as u64 {
        out.push(0x80);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// The integer a string spells canonically (no sign plus, no leading zeros, no spaces), if any:
/// the test `string2ll` plus the round trip that Redis's `rdbTryIntegerEncoding` performs.
fn canonical_int(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let text = std::str::from_utf8(s).ok()?;
    let n: i64 = text.parse().ok()?;
    (n.to_string() == text).then_some(n)
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
    if s.len() > 20 {
        if let Some(packed) = super::lzf::compress(s, s.len() - 4) {
            out.push(0xC3);
            len(out, packed.len() as u64);
            len(out, s.len() as u64);
            out.extend_from_slice(&packed);
            return;
        }
    }
    len(out, s.len() as u64);
    out.extend_from_slice(s);
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
        for (key, value, expire) in db.entries_sorted() {
            if let Some(at) = expire {
                out.push(OP_EXPIRETIME_MS);
                out.extend_from_slice(&at.to_le_bytes());
            }
            write_value(&mut out, key, value);
        }
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
        let long = vec![b'a'; 100];
        assert_eq!(enc(&long)[0], 0xC3, "compressible strings over 20 bytes use LZF");
        let tiny = b"abcdefghijklmnopqrstu";
        assert_eq!(enc(tiny)[0] as usize, tiny.len(), "incompressible strings stay plain");
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
