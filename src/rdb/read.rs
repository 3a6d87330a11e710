//! The RDB reader: loads what the writer and Redis 7.0 write for strings, with checksum
//! verification and an error naming the byte offset for any corruption. It never panics and never
//! allocates more than the input can justify: every length is checked against the bytes left.

use super::*;
use crate::keyspace::{HashValue, Keyspace, SetValue, Value, ZSetValue, DATABASES};

/// A loaded snapshot: the dataset plus the AUX fields replication cares about.
#[derive(Clone, Debug, Default)]
pub struct RdbFile {
    /// The RDB version from the header.
    pub version: u32,
    /// The dataset.
    pub keyspace: Keyspace,
    /// Every AUX field, in file order.
    pub aux: Vec<(Vec<u8>, Vec<u8>)>,
    /// Keys loaded.
    pub keys: usize,
    /// True if the trailer held a checksum that was verified (false when it was 0 or absent).
    pub checksum_verified: bool,
}

impl RdbFile {
    /// The value of an AUX field.
    pub fn aux_field(&self, name: &str) -> Option<&[u8]> {
        self.aux.iter().find(|(k, _)| k == name.as_bytes()).map(|(_, v)| v.as_slice())
    }

    /// The AUX field parsed as an integer.
    pub fn aux_int(&self, name: &str) -> Option<i64> {
        std::str::from_utf8(self.aux_field(name)?).ok()?.parse().ok()
    }
}

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn err<T>(&self, reason: impl Into<String>) -> Result<T, RdbError> {
        Err(RdbError { offset: self.pos, reason: reason.into() })
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], RdbError> {
        if self.buf.len() - self.pos < n {
            return self.err(format!("Unexpected EOF reading RDB file (wanted {n} bytes)"));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn byte(&mut self) -> Result<u8, RdbError> {
        Ok(self.take(1)?[0])
    }

    /// A length, or an "encoded" marker (the low 6 bits of a `11xxxxxx` byte).
    fn len_or_enc(&mut self) -> Result<(u64, bool), RdbError> {
        let first = self.byte()?;
        Ok(match first >> 6 {
            0 => ((first & 0x3F) as u64, false),
            1 => ((((first & 0x3F) as u64) << 8) | self.byte()? as u64, false),
            3 => ((first & 0x3F) as u64, true),
            _ => match first {
                0x80 => (u32::from_be_bytes(self.take(4)?.try_into().unwrap_or_default()) as u64, false),
                0x81 => (u64::from_be_bytes(self.take(8)?.try_into().unwrap_or_default()), false),
                _ => {
                    self.pos -= 1;
                    return self.err("Unknown length encoding in rdbLoadLen()");
                }
            },
        })
    }

    fn len(&mut self) -> Result<u64, RdbError> {
        match self.len_or_enc()? {
            (n, false) => Ok(n),
            _ => self.err("Unexpected encoded length where a plain length was expected"),
        }
    }

    /// A length that must be backed by at least `min_each` bytes per item of remaining input.
    fn bounded_len(&mut self, min_each: usize) -> Result<usize, RdbError> {
        let n = self.len()?;
        let left = (self.buf.len() - self.pos) as u64;
        if n.saturating_mul(min_each as u64) > left {
            return self.err(format!("Length {n} exceeds the {left} bytes left in the file"));
        }
        Ok(n as usize)
    }

    fn string(&mut self) -> Result<Vec<u8>, RdbError> {
        let (n, encoded) = self.len_or_enc()?;
        if !encoded {
            let n = usize::try_from(n).or_else(|_| self.err("String length overflows"))?;
            return Ok(self.take(n)?.to_vec());
        }
        Ok(match n {
            0 => (self.byte()? as i8).to_string().into_bytes(),
            1 => i16::from_le_bytes([self.byte()?, self.byte()?]).to_string().into_bytes(),
            2 => i32::from_le_bytes(self.take(4)?.try_into().unwrap_or_default()).to_string().into_bytes(),
            3 => {
                let clen = self.bounded_len(1)?;
                let ulen = self.len()?;
                // LZF expands at most ~256x; a larger claim is corruption, not a reason to allocate.
                if ulen > (clen as u64).saturating_mul(256) + 64 {
                    return self.err(format!("Invalid LZF lengths: {clen} compressed, {ulen} claimed"));
                }
                let data = self.take(clen)?;
                let mut out = vec![0u8; ulen as usize];
                match lzf_rust::decompress(data, &mut out) {
                    Ok(got) if got == out.len() => out,
                    _ => return self.err("Invalid LZF compressed string"),
                }
            }
            other => return self.err(format!("Unknown RDB string encoding type {other}")),
        })
    }
}

impl Cursor<'_> {
    /// A legacy ASCII double of type 3 zsets: a length byte, then the text (253 nan, 254 +inf,
    /// 255 -inf).
    fn ascii_double(&mut self) -> Result<f64, RdbError> {
        Ok(match self.byte()? {
            253 => return self.err("Invalid NaN score in a sorted set"),
            254 => f64::INFINITY,
            255 => f64::NEG_INFINITY,
            n => {
                let text = self.take(n as usize)?;
                match std::str::from_utf8(text).ok().and_then(|t| t.parse::<f64>().ok()) {
                    Some(v) => v,
                    None => return self.err("Invalid double value in a sorted set"),
                }
            }
        })
    }

    fn binary_double(&mut self) -> Result<f64, RdbError> {
        let v = f64::from_le_bytes(self.take(8)?.try_into().unwrap_or_default());
        if v.is_nan() {
            return self.err("Zset with NAN score detected");
        }
        Ok(v)
    }

    /// A value of one of the simple (non-packed) types.
    fn value(&mut self, kind: u8) -> Result<Value, RdbError> {
        Ok(match kind {
            TYPE_STRING => Value::Str(self.string()?),
            TYPE_LIST => {
                let n = self.bounded_len(1)?;
                let mut l = imbl::Vector::new();
                for _ in 0..n {
                    l.push_back(self.string()?);
                }
                Value::List(l)
            }
            TYPE_SET => {
                let n = self.bounded_len(1)?;
                let mut s = SetValue::new();
                for _ in 0..n {
                    let at = self.pos;
                    if !s.insert(self.string()?) {
                        self.pos = at;
                        return self.err("Duplicate set members detected");
                    }
                }
                Value::Set(s)
            }
            TYPE_HASH => {
                let n = self.bounded_len(2)?;
                let mut h = HashValue::default();
                for _ in 0..n {
                    let at = self.pos;
                    let f = self.string()?;
                    let v = self.string()?;
                    if !h.insert(f, v) {
                        self.pos = at;
                        return self.err("Duplicate hash fields detected");
                    }
                }
                Value::Hash(h)
            }
            _ => {
                let n = self.bounded_len(2)?;
                let mut z = ZSetValue::default();
                for _ in 0..n {
                    let at = self.pos;
                    let m = self.string()?;
                    let score = if kind == TYPE_ZSET { self.ascii_double()? } else { self.binary_double()? };
                    if !z.insert(m, score) {
                        self.pos = at;
                        return self.err("Duplicate zset fields detected");
                    }
                }
                Value::ZSet(z)
            }
        })
    }
}

/// Parses a whole RDB file.
pub fn read_rdb(buf: &[u8]) -> Result<RdbFile, RdbError> {
    let mut c = Cursor { buf, pos: 0 };
    let magic = c.take(9).or_else(|_| c.err("Short read or OOM loading DB. Unrecoverable error, aborting now."))?;
    if &magic[..5] != b"REDIS" {
        return Err(RdbError { offset: 0, reason: "Wrong signature trying to load DB from file".into() });
    }
    let version = std::str::from_utf8(&magic[5..]).ok().and_then(|v| v.parse::<u32>().ok()).unwrap_or(0);
    if !(1..=RDB_VERSION_MAX_READ).contains(&version) {
        return Err(RdbError { offset: 5, reason: format!("Can't handle RDB format version {version}") });
    }
    let mut file = RdbFile { version, ..Default::default() };
    let mut db = 0usize;
    let mut expire: Option<i64> = None;
    loop {
        let op_at = c.pos;
        match c.byte()? {
            OP_EOF => break,
            OP_AUX => {
                let k = c.string()?;
                let v = c.string()?;
                file.aux.push((k, v));
            }
            OP_SELECTDB => {
                let n = c.len()?;
                if n >= DATABASES as u64 {
                    c.pos = op_at;
                    return c.err(format!(
                        "FATAL: Data file was created with a Redis server configured to handle more than {DATABASES} databases. Exiting"
                    ));
                }
                db = n as usize;
            }
            OP_RESIZEDB => {
                c.len()?;
                c.len()?;
            }
            OP_EXPIRETIME_MS => expire = Some(i64::from_le_bytes(c.take(8)?.try_into().unwrap_or_default())),
            OP_EXPIRETIME => expire = Some(i32::from_le_bytes(c.take(4)?.try_into().unwrap_or_default()) as i64 * 1000),
            OP_IDLE => {
                c.len()?;
            }
            OP_FREQ => {
                c.byte()?;
            }
            OP_FUNCTION2 => {
                c.string()?;
            }
            OP_MODULE_AUX => {
                c.pos = op_at;
                return c.err("The RDB file contains AUX module data I can't load: no matching module");
            }
            t @ (TYPE_STRING | TYPE_LIST | TYPE_SET | TYPE_ZSET | TYPE_HASH | TYPE_ZSET_2) => {
                let key = c.string()?;
                let value = c.value(t)?;
                let d = file.keyspace.db_mut(db);
                if d.get_raw(&key).is_some() {
                    c.pos = op_at;
                    return c.err(format!("Duplicate key '{}' found in RDB file", String::from_utf8_lossy(&key)));
                }
                let expire = expire.take();
                // Redis skips empty collections with a warning rather than loading them.
                if value.is_empty_collection() {
                    continue;
                }
                d.set(key.clone(), value);
                if let Some(at) = expire {
                    d.set_expire(&key, at);
                }
                file.keys += 1;
            }
            other => {
                c.pos = op_at;
                return c.err(format!("Unknown RDB encoding type {other}"));
            }
        }
    }
    if version >= 5 {
        let body_end = c.pos;
        let stored = u64::from_le_bytes(c.take(8)?.try_into().unwrap_or_default());
        if stored != 0 {
            let actual = crc64(&buf[..body_end]);
            if stored != actual {
                return Err(RdbError {
                    offset: body_end,
                    reason: format!("Wrong RDB checksum expected: ({stored:x}) got: ({actual:x}). Aborting now."),
                });
            }
            file.checksum_verified = true;
        }
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        s.split_whitespace().map(|b| u8::from_str_radix(b, 16).unwrap()).collect()
    }

    #[test]
    fn minimal_files_of_the_spec() {
        let empty = [b"REDIS0010".to_vec(), hex("FF A9 FD 37 FE 89 A7 7E EB")].concat();
        let f = read_rdb(&empty).unwrap();
        assert!(f.checksum_verified);
        assert_eq!(f.keys, 0);
        let unchecked = [b"REDIS0010".to_vec(), hex("FF 00 00 00 00 00 00 00 00")].concat();
        assert!(!read_rdb(&unchecked).unwrap().checksum_verified);
        let v11 = [b"REDIS0011".to_vec(), hex("FF C0 22 8A 8D 74 38 97 62")].concat();
        assert_eq!(read_rdb(&v11).unwrap().version, 11);
        let one = [
            b"REDIS0010".to_vec(),
            hex("FE 00 00 03"),
            b"foo".to_vec(),
            vec![3],
            b"bar".to_vec(),
            hex("FF 7B E7 31 3C B4 02 01 72"),
        ]
        .concat();
        let f = read_rdb(&one).unwrap();
        assert_eq!(f.keyspace.db(0).get_raw(b"foo"), Some(&Value::Str(b"bar".to_vec())));
    }

    #[test]
    fn corruption_names_offset_and_reason() {
        let mut bad = [b"REDIS0010".to_vec(), hex("FF A9 FD 37 FE 89 A7 7E EB")].concat();
        bad[12] ^= 1;
        let e = read_rdb(&bad).unwrap_err();
        assert!(e.reason.starts_with("Wrong RDB checksum"), "{e}");
        assert_eq!(e.offset, 10);
        assert!(read_rdb(b"REDIS0012\xff").unwrap_err().reason.contains("version 12"));
        assert!(read_rdb(b"REDIS0010\x00\x81\xff\xff\xff\xff\xff\xff\xff\xff").is_err());
        assert!(read_rdb(b"RED").is_err());
    }

    #[test]
    fn round_trip_with_expiry_ints_and_lzf() {
        use crate::rdb::write::*;
        let mut ks = Keyspace::default();
        ks.db_mut(0).set(b"n".to_vec(), Value::Str(b"-70000".to_vec()));
        ks.db_mut(3).set(b"long".to_vec(), Value::Str(vec![b'x'; 300]));
        ks.db_mut(3).set_expire(b"long", 1_800_000_000_123);
        let info = AuxInfo { ctime_secs: 5, used_mem: 6, repl: Some((0, "a".repeat(40), 14)) };
        let f = read_rdb(&write_rdb(&ks, &info)).unwrap();
        assert_eq!(f.keyspace.digest(), ks.digest());
        assert_eq!(f.aux_int("repl-offset"), Some(14));
        assert_eq!(f.keyspace.db(3).expire_at(b"long"), Some(1_800_000_000_123));
    }

    #[test]
    fn round_trip_of_every_type() {
        use crate::rdb::write::*;
        let mut ks = Keyspace::default();
        let db = ks.db_mut(0);
        db.set(b"l".to_vec(), Value::List(["a", "bb", "12"].iter().map(|s| s.as_bytes().to_vec()).collect()));
        let mut h = HashValue::default();
        h.insert(b"f2".to_vec(), b"v".to_vec());
        h.insert(b"f1".to_vec(), vec![b'z'; 100]);
        db.set(b"h".to_vec(), Value::Hash(h));
        let mut s = SetValue::new();
        s.insert(b"5".to_vec());
        s.insert(b"-1".to_vec());
        db.set(b"s".to_vec(), Value::Set(s));
        let mut z = ZSetValue::default();
        z.insert(b"m".to_vec(), 1.5);
        z.insert(b"n".to_vec(), f64::NEG_INFINITY);
        db.set(b"z".to_vec(), Value::ZSet(z));
        db.set_expire(b"z", 1_900_000_000_000);
        let info = AuxInfo { ctime_secs: 0, used_mem: 0, repl: None };
        let f = read_rdb(&write_rdb(&ks, &info)).unwrap();
        assert_eq!(f.keys, 4);
        assert_eq!(f.keyspace.digest(), ks.digest());
        assert_eq!(f.keyspace.db(0).get_raw(b"h"), ks.db(0).get_raw(b"h"), "hash field order kept");
    }
}
