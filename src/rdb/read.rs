//! The RDB reader: loads every value type Redis 7.0 (and 7.2) writes or still accepts, with
//! checksum verification and an error naming the byte offset for any corruption.
//!
//! Simple types (0-5) are read directly. The packed types are a string holding a blob that
//! [`super::encodings`] decodes and validates as deeply as Redis's `sanitize-dump-payload yes`
//! would: intsets (11), listpacks (hashes 16, zsets 17, sets 20 from 7.2, the nodes of quicklist2
//! lists 18), and the legacy zipmap (9), ziplists (10, 12, 13) and ziplist-node quicklists (14).
//! They map onto the keyspace types in stored order, which is Redis's order. Streams (15, 19, 21)
//! and module values (6, 7) are refused with an error naming the type.
//!
//! It never panics and never allocates more than the input can justify: every length is checked
//! against the bytes left, and blob decoders only index inside their blob.

use super::encodings::{self, BlobError, Entry};
use super::*;
use crate::keyspace::{DuplicateKey, HashValue, Keyspace, SetValue, Value, ZSetValue, DATABASES};

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

/// A quicklist2 node holding one element as is.
const QUICKLIST_NODE_PLAIN: u64 = 1;
/// A quicklist2 node holding a listpack.
const QUICKLIST_NODE_PACKED: u64 = 2;

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
                match super::lzf::decompress(data, ulen as usize) {
                    Some(out) => out,
                    None => return self.err("Invalid LZF compressed string"),
                }
            }
            other => return self.err(format!("Unknown RDB string encoding type {other}")),
        })
    }
}

/// A string read as a blob, with where it came from for error offsets.
struct Blob {
    data: Vec<u8>,
    /// Offset of the string (its length prefix) in the file.
    at: usize,
    /// Offset of the blob's first byte in the file, when it was stored uncompressed.
    raw_at: Option<usize>,
}

impl Blob {
    /// An error at a position inside the blob: the file offset when the blob is stored as is, the
    /// string's offset when it was LZF-compressed.
    fn err<T>(&self, redis_msg: &str, e: BlobError) -> Result<T, RdbError> {
        let (offset, where_) = match self.raw_at {
            Some(raw) => (raw + e.at, format!("byte {} of the blob", e.at)),
            None => (self.at, format!("byte {} of the decompressed blob", e.at)),
        };
        Err(RdbError { offset, reason: format!("{redis_msg} ({}, at {where_})", e.detail) })
    }

    /// An error about the blob's contents as a whole (duplicates, odd counts).
    fn whole<T>(&self, reason: String) -> Result<T, RdbError> {
        Err(RdbError { offset: self.at, reason })
    }
}

/// Listpack or ziplist entries taken two by two (field/value, member/score); an odd count fails.
fn pairs<'a>(blob: &Blob, entries: &[Entry<'a>], redis_msg: &str) -> Result<Vec<(Entry<'a>, Entry<'a>)>, RdbError> {
    if entries.len() % 2 != 0 {
        return blob.whole(format!("{redis_msg} (an odd number of entries: {})", entries.len()));
    }
    Ok(entries.chunks_exact(2).map(|c| (c[0], c[1])).collect())
}

/// The name of a module type from its 64-bit id (`moduleTypeNameByID`): 9 characters of 6 bits.
fn module_type_name(id: u64) -> String {
    const CSET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut id = id >> 10;
    let mut name = [0u8; 9];
    for c in name.iter_mut().rev() {
        *c = CSET[(id & 63) as usize];
        id >>= 6;
    }
    String::from_utf8_lossy(&name).into_owned()
}

/// A listpack or ziplist of (field, value) pairs as a hash, fields unique, in stored order.
fn hash_of(blob: &Blob, entries: &[Entry<'_>], redis_msg: &str) -> Result<Value, RdbError> {
    let mut h = HashValue::default();
    for (f, v) in pairs(blob, entries, redis_msg)? {
        let f = f.to_bytes();
        if !h.insert(f.clone(), v.to_bytes()) {
            return blob.whole(format!("{redis_msg} (duplicate field '{}')", String::from_utf8_lossy(&f)));
        }
    }
    Ok(Value::Hash(h))
}

/// A listpack or ziplist of (member, score) pairs as a sorted set, members unique; scores are
/// text (or integers) parsed as doubles.
fn zset_of(blob: &Blob, entries: &[Entry<'_>], redis_msg: &str) -> Result<Value, RdbError> {
    let mut z = ZSetValue::default();
    for (m, s) in pairs(blob, entries, redis_msg)? {
        let m = m.to_bytes();
        let score = match s.score() {
            Some(v) if v.is_nan() => return blob.whole("Zset with NAN score detected".to_string()),
            Some(v) => v,
            None => {
                let text = String::from_utf8_lossy(&s.to_bytes()).into_owned();
                return blob.whole(format!("{redis_msg} (score '{text}' is not a number)"));
            }
        };
        if !z.insert(m.clone(), score) {
            return blob.whole(format!("{redis_msg} (duplicate member '{}')", String::from_utf8_lossy(&m)));
        }
    }
    Ok(Value::ZSet(z))
}

impl Cursor<'_> {
    /// A string holding a packed blob (listpack, ziplist, intset, zipmap).
    fn blob(&mut self) -> Result<Blob, RdbError> {
        let at = self.pos;
        let (_, encoded) = self.len_or_enc()?;
        self.pos = at;
        let data = self.string()?;
        let raw_at = (!encoded).then(|| self.pos - data.len());
        Ok(Blob { data, at, raw_at })
    }

    /// A quicklist (type 14: ziplist nodes) or quicklist2 (type 18: PLAIN or PACKED nodes).
    fn quicklist(&mut self, kind: u8) -> Result<Value, RdbError> {
        let nodes = self.bounded_len(if kind == TYPE_LIST_QUICKLIST_2 { 2 } else { 1 })?;
        let mut l = crate::keyspace::ListValue::new();
        for _ in 0..nodes {
            let mut container = QUICKLIST_NODE_PACKED;
            if kind == TYPE_LIST_QUICKLIST_2 {
                let at = self.pos;
                container = self.len()?;
                if container != QUICKLIST_NODE_PACKED && container != QUICKLIST_NODE_PLAIN {
                    self.pos = at;
                    return self.err(format!(
                        "Quicklist integrity check failed. (node container {container}, expected 1 PLAIN or 2 PACKED)"
                    ));
                }
            }
            let blob = self.blob()?;
            if blob.data.is_empty() {
                return blob.whole("Empty quicklist node (a node of zero bytes)".to_string());
            }
            if container == QUICKLIST_NODE_PLAIN {
                l.push_back(blob.data);
                continue;
            }
            let entries = if kind == TYPE_LIST_QUICKLIST_2 {
                encodings::listpack(&blob.data).or_else(|e| blob.err("Listpack integrity check failed.", e))?
            } else {
                encodings::ziplist(&blob.data).or_else(|e| blob.err("Ziplist integrity check failed.", e))?
            };
            // Empty nodes are skipped silently, as Redis does; an empty list is then skipped whole.
            l.extend(entries.into_iter().map(Entry::to_bytes));
        }
        Ok(Value::List(l))
    }

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

    /// A value of any type this reader loads.
    fn value(&mut self, kind: u8) -> Result<Value, RdbError> {
        Ok(match kind {
            TYPE_LIST_QUICKLIST | TYPE_LIST_QUICKLIST_2 => self.quicklist(kind)?,
            TYPE_SET_INTSET => {
                let blob = self.blob()?;
                let members =
                    encodings::intset(&blob.data).or_else(|e| blob.err("Intset integrity check failed.", e))?;
                let mut s = SetValue::new();
                for m in members {
                    s.insert(m.to_string().into_bytes());
                }
                Value::Set(s)
            }
            TYPE_SET_LISTPACK => {
                const MSG: &str = "Set listpack integrity check failed.";
                let blob = self.blob()?;
                let entries = encodings::listpack(&blob.data).or_else(|e| blob.err(MSG, e))?;
                let mut s = SetValue::new();
                for m in entries {
                    let m = m.to_bytes();
                    if !s.insert(m.clone()) {
                        return blob.whole(format!("{MSG} (duplicate member '{}')", String::from_utf8_lossy(&m)));
                    }
                }
                Value::Set(s)
            }
            TYPE_HASH_LISTPACK => {
                const MSG: &str = "Hash listpack integrity check failed.";
                let blob = self.blob()?;
                let entries = encodings::listpack(&blob.data).or_else(|e| blob.err(MSG, e))?;
                hash_of(&blob, &entries, MSG)?
            }
            TYPE_HASH_ZIPLIST => {
                const MSG: &str = "Hash ziplist integrity check failed.";
                let blob = self.blob()?;
                let entries = encodings::ziplist(&blob.data).or_else(|e| blob.err(MSG, e))?;
                hash_of(&blob, &entries, MSG)?
            }
            TYPE_ZSET_LISTPACK => {
                const MSG: &str = "Zset listpack integrity check failed.";
                let blob = self.blob()?;
                let entries = encodings::listpack(&blob.data).or_else(|e| blob.err(MSG, e))?;
                zset_of(&blob, &entries, MSG)?
            }
            TYPE_ZSET_ZIPLIST => {
                const MSG: &str = "Zset ziplist integrity check failed.";
                let blob = self.blob()?;
                let entries = encodings::ziplist(&blob.data).or_else(|e| blob.err(MSG, e))?;
                zset_of(&blob, &entries, MSG)?
            }
            TYPE_LIST_ZIPLIST => {
                let blob = self.blob()?;
                let entries =
                    encodings::ziplist(&blob.data).or_else(|e| blob.err("List ziplist integrity check failed.", e))?;
                Value::List(entries.into_iter().map(Entry::to_bytes).collect())
            }
            TYPE_HASH_ZIPMAP => {
                let blob = self.blob()?;
                let pairs = encodings::zipmap(&blob.data).or_else(|e| blob.err("Zipmap integrity check failed.", e))?;
                let mut h = HashValue::default();
                for (f, v) in pairs {
                    if !h.insert(f.to_vec(), v.to_vec()) {
                        return blob.whole(format!(
                            "Hash zipmap with dup elements, or big length ({}) (duplicate field '{}')",
                            f.len(),
                            String::from_utf8_lossy(f)
                        ));
                    }
                }
                Value::Hash(h)
            }
            TYPE_MODULE => {
                return self
                    .err("Pre-release module format not supported (RDB type 6, MODULE: module values are unsupported)")
            }
            TYPE_MODULE_2 => {
                let id = self.len()?;
                return self.err(format!(
                    "The RDB file contains module data I can't load: no matching module type '{}' (RDB type 7, MODULE_2: module values are unsupported)",
                    module_type_name(id)
                ));
            }
            TYPE_STREAM_LISTPACKS | TYPE_STREAM_LISTPACKS_2 | TYPE_STREAM_LISTPACKS_3 => {
                let name = match kind {
                    TYPE_STREAM_LISTPACKS => "STREAM_LISTPACKS",
                    TYPE_STREAM_LISTPACKS_2 => "STREAM_LISTPACKS_2",
                    _ => "STREAM_LISTPACKS_3",
                };
                return self.err(format!("Stream values are unsupported (RDB type {kind}, {name})"));
            }
            TYPE_STRING => Value::Str(self.string()?),
            TYPE_LIST => {
                let n = self.bounded_len(1)?;
                let mut l = crate::keyspace::ListValue::new();
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
            TYPE_ZSET | TYPE_ZSET_2 => {
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
            other => return self.err(format!("Unknown RDB encoding type {other}")),
        })
    }
}

/// Parses a whole RDB file.
pub fn read_rdb(buf: &[u8]) -> Result<RdbFile, RdbError> {
    read_sections(buf, &mut |_| {})
}

/// What one stretch of an RDB file is, for a hex view that marks the parts of the format.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Section {
    /// Offset of its first byte in the file.
    pub start: usize,
    /// Offset just past its last byte.
    pub end: usize,
    /// `header`, `aux`, `selectdb`, `resizedb`, `expire`, `idle`, `freq`, `function`, `key`, `eof`
    /// or `checksum`.
    pub kind: &'static str,
    /// What it holds: the AUX field, the database, the key with its type, the checksum.
    pub label: String,
}

/// Reads an RDB file as [`read_rdb`] does and lists its parts (header, AUX fields, opcodes, each
/// key with its value, EOF, CRC-64), in file order, as far as the file is valid.
pub fn rdb_sections(buf: &[u8]) -> (Vec<Section>, Result<RdbFile, RdbError>) {
    let mut out = Vec::new();
    let file = read_sections(buf, &mut |s| out.push(s));
    (out, file)
}

fn read_sections(buf: &[u8], section: &mut dyn FnMut(Section)) -> Result<RdbFile, RdbError> {
    let mut c = Cursor { buf, pos: 0 };
    let magic = c.take(9).or_else(|_| c.err("Short read or OOM loading DB. Unrecoverable error, aborting now."))?;
    if &magic[..5] != b"REDIS" {
        return Err(RdbError { offset: 0, reason: "Wrong signature trying to load DB from file".into() });
    }
    let version = std::str::from_utf8(&magic[5..]).ok().and_then(|v| v.parse::<u32>().ok()).unwrap_or(0);
    if !(1..=RDB_VERSION_MAX_READ).contains(&version) {
        return Err(RdbError { offset: 5, reason: format!("Can't handle RDB format version {version}") });
    }
    section(Section { start: 0, end: 9, kind: "header", label: format!("REDIS{version:04}") });
    let mut file = RdbFile { version, ..Default::default() };
    let mut db = 0usize;
    let mut expire: Option<i64> = None;
    loop {
        let op_at = c.pos;
        let op = c.byte()?;
        let mut mark = |c: &Cursor, kind, label: String| section(Section { start: op_at, end: c.pos, kind, label });
        match op {
            OP_EOF => {
                mark(&c, "eof", String::new());
                break;
            }
            OP_AUX => {
                let k = c.string()?;
                let v = c.string()?;
                mark(&c, "aux", format!("{}={}", String::from_utf8_lossy(&k), String::from_utf8_lossy(&v)));
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
                mark(&c, "selectdb", n.to_string());
            }
            OP_RESIZEDB => {
                let keys = c.len()?;
                let expires = c.len()?;
                mark(&c, "resizedb", format!("{keys} {expires}"));
            }
            OP_EXPIRETIME_MS => {
                expire = Some(i64::from_le_bytes(c.take(8)?.try_into().unwrap_or_default()));
                mark(&c, "expire", expire.unwrap_or_default().to_string());
            }
            OP_EXPIRETIME => {
                expire = Some(i32::from_le_bytes(c.take(4)?.try_into().unwrap_or_default()) as i64 * 1000);
                mark(&c, "expire", expire.unwrap_or_default().to_string());
            }
            OP_IDLE => {
                let idle = c.len()?;
                mark(&c, "idle", idle.to_string());
            }
            OP_FREQ => {
                let freq = c.byte()?;
                mark(&c, "freq", freq.to_string());
            }
            OP_FUNCTION2 => {
                c.string()?;
                mark(&c, "function", String::new());
            }
            OP_MODULE_AUX => {
                c.pos = op_at;
                return c.err("The RDB file contains AUX module data I can't load: no matching module");
            }
            t @ (TYPE_STRING
            | TYPE_LIST
            | TYPE_SET
            | TYPE_ZSET
            | TYPE_HASH
            | TYPE_ZSET_2
            | TYPE_MODULE
            | TYPE_MODULE_2
            | TYPE_HASH_ZIPMAP..=TYPE_SET_LISTPACK
            | TYPE_STREAM_LISTPACKS_3) => {
                let key = c.string()?;
                let value = c.value(t)?;
                mark(&c, "key", format!("{} {}", value.type_name(), crate::resp::printable(&key)));
                let expire = expire.take();
                // Redis skips empty collections with a warning rather than loading them.
                if value.is_empty_collection() {
                    continue;
                }
                if let Err(DuplicateKey) = file.keyspace.db_mut(db).insert_loaded(key, value, expire) {
                    // The key was moved into the map: read its name again for the message.
                    c.pos = op_at + 1;
                    let key = c.string()?;
                    c.pos = op_at;
                    return c.err(format!("Duplicate key '{}' found in RDB file", String::from_utf8_lossy(&key)));
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
        section(Section { start: body_end, end: c.pos, kind: "checksum", label: format!("{stored:016x}") });
        if stored != 0 {
            let actual = crc64(&buf[..body_end]);
            if stored != actual {
                return Err(RdbError {
                    offset: body_end,
                    reason: format!("Wrong RDB checksum expected: ({actual:x}) but got ({stored:x}). Aborting now."),
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
    fn sections_cover_the_whole_file_in_order() {
        let mut ks = Keyspace::default();
        ks.db_mut(0).set(b"greeting".to_vec(), Value::Str(b"hello".to_vec()));
        ks.db_mut(2).set(b"n".to_vec(), Value::Str(b"7".to_vec()));
        ks.db_mut(2).set_expire(b"n", 1_800_000_000_000);
        let bytes = write_rdb(&ks, &AuxInfo { ctime_secs: 0, used_mem: 0, repl: None });
        let (sections, file) = rdb_sections(&bytes);
        assert_eq!(file.unwrap().keys, 2);
        assert_eq!(sections.first().map(|s| (s.start, s.kind)), Some((0, "header")));
        assert_eq!(sections.last().map(|s| (s.end, s.kind)), Some((bytes.len(), "checksum")));
        for pair in sections.windows(2) {
            assert_eq!(pair[0].end, pair[1].start, "{:?} then {:?}", pair[0], pair[1]);
        }
        let kinds: Vec<&str> = sections.iter().map(|s| s.kind).filter(|k| *k != "aux").collect();
        assert_eq!(
            kinds,
            ["header", "selectdb", "resizedb", "key", "selectdb", "resizedb", "expire", "key", "eof", "checksum"]
        );
        assert!(sections.iter().any(|s| s.kind == "aux" && s.label.starts_with("redis-ver=7.0.15")));
        assert!(sections.iter().any(|s| s.kind == "key" && s.label == "string greeting"));
        let (cut, err) = rdb_sections(&bytes[..bytes.len() - 3]);
        assert!(err.is_err() && cut.last().is_some_and(|s| s.kind == "eof"), "valid as far as it goes");
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

    /// A length-prefixed plain string, as `rdbSaveRawString` writes short ones.
    fn raw(s: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        if s.len() < 64 {
            out.push(s.len() as u8);
        } else if s.len() < 1 << 14 {
            out.extend_from_slice(&[0x40 | (s.len() >> 8) as u8, s.len() as u8]);
        } else {
            out.push(0x80);
            out.extend_from_slice(&(s.len() as u32).to_be_bytes());
        }
        out.extend_from_slice(s);
        out
    }

    /// A v10 file holding one key of type `kind` whose value is `payload`, with a valid CRC.
    fn one_key(kind: u8, payload: &[u8]) -> Vec<u8> {
        let mut f = b"REDIS0010".to_vec();
        f.push(kind);
        f.extend(raw(b"k"));
        f.extend_from_slice(payload);
        f.push(OP_EOF);
        let crc = crc64(&f);
        f.extend_from_slice(&crc.to_le_bytes());
        f
    }

    /// Offset of the value in a [`one_key`] file.
    const VALUE_AT: usize = 9 + 1 + 2;

    #[test]
    fn a_duplicate_key_is_named_at_its_second_occurrence() {
        let mut f = b"REDIS0010".to_vec();
        for (key, value) in [(&b"other"[..], &b"1"[..]), (b"dup", b"a"), (b"dup", b"b")] {
            f.push(TYPE_STRING);
            f.extend(raw(key));
            f.extend(raw(value));
        }
        f.push(OP_EOF);
        let crc = crc64(&f);
        f.extend_from_slice(&crc.to_le_bytes());
        let e = read_rdb(&f).unwrap_err();
        assert_eq!(e.reason, "Duplicate key 'dup' found in RDB file");
        assert_eq!(e.offset, 9 + 9 + 7, "the offset of the second `dup` entry");
    }

    fn load(kind: u8, payload: &[u8]) -> Result<Option<Value>, RdbError> {
        let f = read_rdb(&one_key(kind, payload))?;
        Ok(f.keyspace.db(0).get_raw(b"k").cloned())
    }

    fn list(items: &[&str]) -> Value {
        Value::List(items.iter().map(|s| s.as_bytes().to_vec()).collect())
    }

    fn hash(pairs: &[(&str, &str)]) -> Value {
        let mut h = HashValue::default();
        for (f, v) in pairs {
            h.insert(f.as_bytes().to_vec(), v.as_bytes().to_vec());
        }
        Value::Hash(h)
    }

    fn zset(pairs: &[(&str, f64)]) -> Value {
        let mut z = ZSetValue::default();
        for (m, s) in pairs {
            z.insert(m.as_bytes().to_vec(), *s);
        }
        Value::ZSet(z)
    }

    #[test]
    fn quicklist2_of_the_spec() {
        // §9.4: RPUSH mylist a b c, observed bytes.
        let mut f = b"REDIS0010".to_vec();
        f.extend(hex("12 06"));
        f.extend_from_slice(b"mylist");
        f.extend(hex("01 02 10 10 00 00 00 03 00 81 61 02 81 62 02 81 63 02 FF FF"));
        f.extend_from_slice(&[0; 8]);
        let got = read_rdb(&f).unwrap();
        assert_eq!(got.keyspace.db(0).get_raw(b"mylist"), Some(&list(&["a", "b", "c"])));
    }

    #[test]
    fn quicklist2_plain_packed_empty_and_lzf_nodes() {
        use super::encodings::build::*;
        let big = vec![b'P'; 9000];
        let lp1 = listpack(&[lp_str(b"x"), lp_int(-5), lp_int(1 << 40)]);
        let lp_long = listpack(&[lp_str(&[b'r'; 100]), lp_str(&[b'r'; 100])]);
        let mut payload = vec![5];
        payload.extend([2]);
        payload.extend(raw(&lp1));
        payload.extend([1]);
        payload.extend(raw(&big));
        payload.extend([2]);
        payload.extend(raw(&listpack(&[]))); // an empty node, skipped
        payload.extend([1]);
        payload.extend([0xC0, 7]); // a plain node that the writer int-encoded
        payload.extend([2]);
        let at = payload.len();
        crate::rdb::write::string(&mut payload, &lp_long);
        assert_eq!(payload[at], 0xC3, "LZF-compressed");
        let Some(Value::List(l)) = load(TYPE_LIST_QUICKLIST_2, &payload).unwrap() else { panic!() };
        let r = "r".repeat(100);
        let want: Vec<Vec<u8>> = [&b"x"[..], b"-5", b"1099511627776", &big, b"7", r.as_bytes(), r.as_bytes()]
            .iter()
            .map(|s| s.to_vec())
            .collect();
        assert_eq!(l.iter().cloned().collect::<Vec<_>>(), want);
        // Only empty nodes: the key is skipped, as Redis skips empty keys.
        let only_empty = [&[1u8, 2][..], &raw(&listpack(&[]))].concat();
        assert_eq!(load(TYPE_LIST_QUICKLIST_2, &only_empty).unwrap(), None);
    }

    #[test]
    fn quicklist2_corruptions_name_the_check() {
        use super::encodings::build::*;
        let lp = listpack(&[lp_str(b"abc")]);
        let bad_container = [&[1u8, 3][..], &raw(&lp)].concat();
        let e = load(TYPE_LIST_QUICKLIST_2, &bad_container).unwrap_err();
        assert!(e.reason.starts_with("Quicklist integrity check failed."), "{e}");
        assert_eq!(e.offset, VALUE_AT + 1);
        let mut bad_lp = lp.clone();
        bad_lp[10] = 9; // the entry's backlen
        let e = load(TYPE_LIST_QUICKLIST_2, &[&[1u8, 2][..], &raw(&bad_lp)].concat()).unwrap_err();
        assert!(e.reason.starts_with("Listpack integrity check failed."), "{e}");
        assert_eq!(e.offset, VALUE_AT + 3 + 10, "points at the corrupt byte in the file");
        let e = load(TYPE_LIST_QUICKLIST_2, &[1, 1, 0]).unwrap_err();
        assert!(e.reason.contains("Empty quicklist node"), "{e}");
        // A node count larger than the file.
        let e = load(TYPE_LIST_QUICKLIST_2, &[0x80, 0x7F, 0, 0, 0]).unwrap_err();
        assert!(e.reason.contains("exceeds"), "{e}");
    }

    #[test]
    fn legacy_quicklist_and_list_ziplist() {
        use super::encodings::build::*;
        let zl1 = ziplist(&[zl_str(b"a"), zl_int(7), zl_int(-100000)]);
        let zl2 = ziplist(&[zl_int(1 << 40), zl_str(&[b'w'; 70])]);
        let payload = [&[3u8][..], &raw(&zl1), &raw(&ziplist(&[])), &raw(&zl2)].concat();
        let w = "w".repeat(70);
        assert_eq!(
            load(TYPE_LIST_QUICKLIST, &payload).unwrap(),
            Some(list(&["a", "7", "-100000", "1099511627776", &w]))
        );
        assert_eq!(load(TYPE_LIST_ZIPLIST, &raw(&zl1)).unwrap(), Some(list(&["a", "7", "-100000"])));
        let mut bad = zl1.clone();
        bad[4] = 0;
        let e = load(TYPE_LIST_QUICKLIST, &[&[1u8][..], &raw(&bad)].concat()).unwrap_err();
        assert!(e.reason.starts_with("Ziplist integrity check failed."), "{e}");
        let e = load(TYPE_LIST_ZIPLIST, &raw(&bad)).unwrap_err();
        assert!(e.reason.starts_with("List ziplist integrity check failed."), "{e}");
        assert_eq!(load(TYPE_LIST_ZIPLIST, &raw(&ziplist(&[]))).unwrap(), None, "empty: skipped");
    }

    #[test]
    fn intsets_of_every_width() {
        use super::encodings::build::intset;
        for (width, members) in [(2, vec![-3i64, 2, 10]), (4, vec![-70000, 5, 70000]), (8, vec![i64::MIN, 0, 1 << 40])]
        {
            let Some(Value::Set(s)) = load(TYPE_SET_INTSET, &raw(&intset(width, &members))).unwrap() else { panic!() };
            assert!(s.is_intset());
            let want: Vec<Vec<u8>> = members.iter().map(|m| m.to_string().into_bytes()).collect();
            assert_eq!(s.members(), want);
        }
        let e = load(TYPE_SET_INTSET, &raw(&intset(2, &[5, 5]))).unwrap_err();
        assert!(e.reason.starts_with("Intset integrity check failed."), "{e}");
        assert_eq!(e.offset, VALUE_AT + 1 + 10, "the second member");
        let e = load(TYPE_SET_INTSET, &raw(&intset(2, &[]))).unwrap_err();
        assert!(e.reason.starts_with("Intset integrity check failed."), "{e}");
    }

    #[test]
    fn set_listpack_of_7_2() {
        use super::encodings::build::*;
        let lp = listpack(&[lp_str(b"apple"), lp_int(42), lp_str(b"")]);
        let Some(Value::Set(s)) = load(TYPE_SET_LISTPACK, &raw(&lp)).unwrap() else { panic!() };
        assert_eq!(s.len(), 3);
        assert!(s.contains(b"42") && s.contains(b"") && !s.is_intset());
        let dup = listpack(&[lp_int(42), lp_str(b"42")]);
        let e = load(TYPE_SET_LISTPACK, &raw(&dup)).unwrap_err();
        assert!(e.reason.starts_with("Set listpack integrity check failed.") && e.reason.contains("duplicate"), "{e}");
        assert_eq!(load(TYPE_SET_LISTPACK, &raw(&listpack(&[]))).unwrap(), None);
    }

    #[test]
    fn hashes_from_listpack_ziplist_and_zipmap_keep_order() {
        use super::encodings::build::*;
        let want = hash(&[("z", "1"), ("a", "-20000"), ("m", "text")]);
        let lp = listpack(&[lp_str(b"z"), lp_int(1), lp_str(b"a"), lp_int(-20000), lp_str(b"m"), lp_str(b"text")]);
        assert_eq!(load(TYPE_HASH_LISTPACK, &raw(&lp)).unwrap().as_ref(), Some(&want));
        let zl = ziplist(&[zl_str(b"z"), zl_int(1), zl_str(b"a"), zl_int(-20000), zl_str(b"m"), zl_str(b"text")]);
        assert_eq!(load(TYPE_HASH_ZIPLIST, &raw(&zl)).unwrap().as_ref(), Some(&want));
        let zm = zipmap(&[(b"z", b"1", 0), (b"a", b"-20000", 2), (b"m", b"text", 0)]);
        assert_eq!(load(TYPE_HASH_ZIPMAP, &raw(&zm)).unwrap().as_ref(), Some(&want));
        let Some(Value::Hash(h)) = load(TYPE_HASH_LISTPACK, &raw(&lp)).unwrap() else { panic!() };
        assert_eq!(
            h.iter().map(|(f, _)| f.to_vec()).collect::<Vec<_>>(),
            [b"z".to_vec(), b"a".to_vec(), b"m".to_vec()]
        );

        let odd = listpack(&[lp_str(b"f"), lp_str(b"v"), lp_str(b"g")]);
        let e = load(TYPE_HASH_LISTPACK, &raw(&odd)).unwrap_err();
        assert!(e.reason.starts_with("Hash listpack integrity check failed.") && e.reason.contains("odd"), "{e}");
        let dup = listpack(&[lp_str(b"f"), lp_str(b"v"), lp_str(b"f"), lp_str(b"w")]);
        let e = load(TYPE_HASH_LISTPACK, &raw(&dup)).unwrap_err();
        assert!(e.reason.contains("duplicate field 'f'"), "{e}");
        // A value may repeat a field's text: only fields must be unique.
        let ok = listpack(&[lp_str(b"f"), lp_str(b"g"), lp_str(b"g"), lp_str(b"f")]);
        assert!(load(TYPE_HASH_LISTPACK, &raw(&ok)).is_ok());
        let dup = ziplist(&[zl_int(1), zl_str(b"v"), zl_str(b"1"), zl_str(b"w")]);
        let e = load(TYPE_HASH_ZIPLIST, &raw(&dup)).unwrap_err();
        assert!(e.reason.starts_with("Hash ziplist integrity check failed."), "{e}");
        let dup = zipmap(&[(b"f", b"1", 0), (b"f", b"2", 0)]);
        let e = load(TYPE_HASH_ZIPMAP, &raw(&dup)).unwrap_err();
        assert!(e.reason.starts_with("Hash zipmap with dup elements, or big length (1)"), "{e}");
        let mut bad = zipmap(&[(b"f", b"1", 0)]);
        bad[0] = 3;
        let e = load(TYPE_HASH_ZIPMAP, &raw(&bad)).unwrap_err();
        assert!(e.reason.starts_with("Zipmap integrity check failed."), "{e}");
    }

    #[test]
    fn zsets_from_listpack_and_ziplist_parse_scores() {
        use super::encodings::build::*;
        let want = zset(&[
            ("neg", f64::NEG_INFINITY),
            ("a", 1.0),
            ("b", 1.5),
            ("c", -2.0),
            ("big", 1e300),
            ("top", f64::INFINITY),
        ]);
        let lp = listpack(&[
            lp_str(b"neg"),
            lp_str(b"-inf"),
            lp_str(b"c"),
            lp_int(-2),
            lp_str(b"a"),
            lp_int(1),
            lp_str(b"b"),
            lp_str(b"1.5"),
            lp_str(b"big"),
            lp_str(b"1.0000000000000001e+300"),
            lp_str(b"top"),
            lp_str(b"inf"),
        ]);
        assert_eq!(load(TYPE_ZSET_LISTPACK, &raw(&lp)).unwrap().as_ref(), Some(&want));
        let zl = ziplist(&[
            zl_str(b"neg"),
            zl_str(b"-inf"),
            zl_str(b"c"),
            zl_int(-2),
            zl_str(b"a"),
            zl_int(1),
            zl_str(b"b"),
            zl_str(b"1.5"),
            zl_str(b"big"),
            zl_str(b"1e300"),
            zl_str(b"top"),
            zl_str(b"inf"),
        ]);
        assert_eq!(load(TYPE_ZSET_ZIPLIST, &raw(&zl)).unwrap().as_ref(), Some(&want));

        let nan = listpack(&[lp_str(b"m"), lp_str(b"nan")]);
        assert_eq!(load(TYPE_ZSET_LISTPACK, &raw(&nan)).unwrap_err().reason, "Zset with NAN score detected");
        let text = listpack(&[lp_str(b"m"), lp_str(b"abc")]);
        let e = load(TYPE_ZSET_LISTPACK, &raw(&text)).unwrap_err();
        assert!(e.reason.starts_with("Zset listpack integrity check failed.") && e.reason.contains("'abc'"), "{e}");
        let dup = listpack(&[lp_int(5), lp_int(1), lp_str(b"5"), lp_int(2)]);
        let e = load(TYPE_ZSET_LISTPACK, &raw(&dup)).unwrap_err();
        assert!(e.reason.contains("duplicate member '5'"), "{e}");
        let odd = ziplist(&[zl_str(b"m")]);
        let e = load(TYPE_ZSET_ZIPLIST, &raw(&odd)).unwrap_err();
        assert!(e.reason.starts_with("Zset ziplist integrity check failed."), "{e}");
        let mut bad = lp.clone();
        bad[0] ^= 1;
        let e = load(TYPE_ZSET_LISTPACK, &raw(&bad)).unwrap_err();
        assert!(e.reason.starts_with("Zset listpack integrity check failed."), "{e}");
    }

    #[test]
    fn compressed_blob_errors_point_at_the_string() {
        use super::encodings::build::*;
        let mut lp = listpack(&[lp_str(&[b'q'; 60]), lp_str(&[b'q'; 60])]);
        lp[4] = 9; // wrong count
        let mut payload = Vec::new();
        crate::rdb::write::string(&mut payload, &lp);
        assert_eq!(payload[0], 0xC3, "LZF-compressed");
        let e = load(TYPE_HASH_LISTPACK, &payload).unwrap_err();
        assert!(e.reason.contains("decompressed blob"), "{e}");
        assert_eq!(e.offset, VALUE_AT);
    }

    #[test]
    fn streams_and_modules_are_refused_by_name() {
        for (t, name) in [(15, "STREAM_LISTPACKS"), (19, "STREAM_LISTPACKS_2"), (21, "STREAM_LISTPACKS_3")] {
            let e = load(t, &[0]).unwrap_err();
            assert!(e.reason.contains("unsupported") && e.reason.contains(name), "{e}");
            assert_eq!(e.offset, VALUE_AT);
        }
        let e = load(TYPE_MODULE, &[0]).unwrap_err();
        assert!(e.reason.contains("unsupported") && e.reason.contains("type 6"), "{e}");
        // A module id for "ReJSON-RL" version 3, as RedisJSON writes it.
        let id: u64 = b"ReJSON-RL".iter().fold(0u64, |id, c| {
            let pos = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                .iter()
                .position(|x| x == c)
                .unwrap();
            (id << 6) | pos as u64
        }) << 10
            | 3;
        let payload = [&[0x81u8][..], &id.to_be_bytes()].concat();
        let e = load(TYPE_MODULE_2, &payload).unwrap_err();
        assert!(e.reason.contains("'ReJSON-RL'") && e.reason.contains("unsupported"), "{e}");
        assert!(load(8, &[0]).unwrap_err().reason.contains("Unknown RDB encoding type 8"));
        assert!(load(22, &[0]).unwrap_err().reason.contains("Unknown RDB encoding type 22"));
    }

    #[test]
    fn mutated_legacy_and_packed_blobs_never_panic() {
        use super::encodings::build::*;
        // One seed file per packed type, hand-built, then seeded random byte edits (the CRC is
        // zeroed so that the edits reach the decoders); every result must be Ok or Err.
        let lp = listpack(&[lp_str(b"f"), lp_int(-5000), lp_str(&[b'x'; 70]), lp_str(b"2.5")]);
        let zl = ziplist(&[zl_str(b"f"), zl_int(300), zl_str(&[b'y'; 70]), zl_str(b"2.5")]);
        let seeds = [
            one_key(TYPE_HASH_ZIPMAP, &raw(&zipmap(&[(b"a", b"1", 1), (&[b'k'; 300], b"2", 0)]))),
            one_key(TYPE_LIST_ZIPLIST, &raw(&zl)),
            one_key(TYPE_SET_INTSET, &raw(&intset(4, &[-70000, 1, 70000]))),
            one_key(TYPE_ZSET_ZIPLIST, &raw(&zl)),
            one_key(TYPE_HASH_ZIPLIST, &raw(&zl)),
            one_key(TYPE_LIST_QUICKLIST, &[&[2u8][..], &raw(&zl), &raw(&zl)].concat()),
            one_key(TYPE_HASH_LISTPACK, &raw(&lp)),
            one_key(TYPE_ZSET_LISTPACK, &raw(&lp)),
            one_key(TYPE_LIST_QUICKLIST_2, &[&[2u8, 2][..], &raw(&lp), &[1], &raw(b"plain")].concat()),
            one_key(TYPE_SET_LISTPACK, &raw(&lp)),
        ];
        let mut state = 0x5EED_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let (mut ok, mut err) = (0, 0);
        for i in 0..20_000 {
            let mut f = seeds[i % seeds.len()].clone();
            let n = f.len();
            f[n - 8..].fill(0);
            for _ in 0..1 + next() % 3 {
                let at = 9 + (next() as usize) % (f.len() - 9);
                match next() % 4 {
                    0 => f[at] ^= 1 << (next() % 8),
                    1 => f[at] = next() as u8,
                    2 => {
                        f.insert(at, next() as u8);
                    }
                    _ => {
                        f.remove(at);
                    }
                }
            }
            match read_rdb(&f) {
                Ok(_) => ok += 1,
                Err(_) => err += 1,
            }
        }
        assert!(ok > 100 && err > 10_000, "{ok} loaded, {err} rejected");
    }
}
