//! The dataset: 16 databases of keys, values and expiry times.
//!
//! Databases are persistent maps (`imbl`), so cloning the whole keyspace is O(1) and shares
//! structure until one side writes. That is how the lab forks for BGSAVE: the "child" holds a
//! clone taken at fork time and writes after the fork never reach it, exactly as copy-on-write
//! pages behave for a forked Redis. Expiry times are absolute unix milliseconds on the node's
//! virtual clock, as Redis stores them.

mod hash;
mod types;

use imbl::shared_ptr::DefaultSharedPtr;
use imbl::GenericHashMap;

pub use hash::{KeyHash, KeyHasher};
pub use types::{HashValue, Score, SetValue, Value, ZSetValue, SET_MAX_INTSET_ENTRIES};

/// Number of databases, as Redis's default `databases 16`.
pub const DATABASES: usize = 16;

/// A key or a string value: Redis strings are binary-safe byte strings.
pub type Bytes = Vec<u8>;

/// A persistent map keyed by Redis keys, hashed the same way on every platform.
type KeyMap<V> = GenericHashMap<Bytes, V, KeyHash, DefaultSharedPtr>;

/// One database: keys and their expiry times.
#[derive(Clone, Debug, Default)]
pub struct Db {
    map: KeyMap<Value>,
    expires: KeyMap<i64>,
    /// A stamp per key, bumped by every write, so WATCH can tell a key was touched even when it
    /// was written back with the same value (Redis's `signalModifiedKey`).
    versions: KeyMap<u64>,
    next_version: u64,
}

/// A key met twice while loading a snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DuplicateKey(pub Bytes);

impl Db {
    /// The value under `key`, whether or not it is logically expired.
    pub fn get_raw(&self, key: &[u8]) -> Option<&Value> {
        self.map.get(key)
    }

    /// The absolute expiry time of `key` in unix ms, if it has one.
    pub fn expire_at(&self, key: &[u8]) -> Option<i64> {
        self.expires.get(key).copied()
    }

    /// True if the key exists and its expiry time has passed at `now_ms`.
    pub fn is_expired(&self, key: &[u8], now_ms: i64) -> bool {
        self.expire_at(key).is_some_and(|at| at <= now_ms)
    }

    /// Marks a key as modified (for WATCH).
    pub fn touch(&mut self, key: &[u8]) {
        self.next_version += 1;
        self.versions.insert(key.to_vec(), self.next_version);
    }

    /// The modification stamp of a key (0 if never written).
    pub fn version(&self, key: &[u8]) -> u64 {
        self.versions.get(key).copied().unwrap_or(0)
    }

    /// Stores a value, dropping any expiry (as SET without KEEPTTL does).
    pub fn set(&mut self, key: Bytes, value: Value) {
        self.touch(&key);
        self.expires.remove(&key);
        self.map.insert(key, value);
    }

    /// Stores a value and keeps the key's expiry time.
    pub fn set_keep_ttl(&mut self, key: Bytes, value: Value) {
        self.touch(&key);
        self.map.insert(key, value);
    }

    /// The value under `key` for modification in place (counts as a write for WATCH). The
    /// caller removes the key if it leaves an empty collection, as Redis does.
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut Value> {
        if self.map.contains_key(key) {
            self.touch(key);
        }
        self.map.get_mut(key)
    }

    /// Removes the key if it holds an empty collection; returns true if it did.
    pub fn remove_if_empty(&mut self, key: &[u8]) -> bool {
        if self.map.get(key).is_some_and(Value::is_empty_collection) {
            return self.remove(key);
        }
        false
    }

    /// Sets the expiry of an existing key; returns false if the key does not exist.
    pub fn set_expire(&mut self, key: &[u8], at_ms: i64) -> bool {
        if !self.map.contains_key(key) {
            return false;
        }
        self.touch(key);
        self.expires.insert(key.to_vec(), at_ms);
        true
    }

    /// Drops the expiry of a key (PERSIST); returns true if it had one.
    pub fn remove_expire(&mut self, key: &[u8]) -> bool {
        let had = self.expires.remove(key).is_some();
        if had {
            self.touch(key);
        }
        had
    }

    /// Removes a key; returns true if it existed.
    pub fn remove(&mut self, key: &[u8]) -> bool {
        self.expires.remove(key);
        let existed = self.map.remove(key).is_some();
        if existed {
            self.touch(key);
        }
        existed
    }

    /// Every key, sorted bytewise (expired or not).
    pub fn keys_sorted(&self) -> Vec<Bytes> {
        let mut v: Vec<Bytes> = self.map.keys().cloned().collect();
        v.sort();
        v
    }

    /// Number of keys, expired or not (what DBSIZE counts).
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True if the database holds no key.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Number of keys with an expiry time.
    pub fn expires_len(&self) -> usize {
        self.expires.len()
    }

    /// Every key with its value and expiry time, sorted by key so that every digest and listing
    /// is independent of the history that built the database.
    pub fn entries_sorted(&self) -> Vec<(&Bytes, &Value, Option<i64>)> {
        let mut v: Vec<_> = self.entries().collect();
        v.sort_unstable_by(|a, b| a.0.cmp(b.0));
        v
    }

    /// Every key with its value and expiry time, in the map's own order, as Redis walks its dict
    /// to save a snapshot. The order is that of the keys' hashes (see [`KeyHash`]): the same on
    /// every platform, and without the cost of sorting a million keys.
    pub fn entries(&self) -> impl Iterator<Item = (&Bytes, &Value, Option<i64>)> {
        let expires = (!self.expires.is_empty()).then_some(&self.expires);
        self.map.iter().map(move |(k, v)| (k, v, expires.and_then(|e| e.get(k).copied())))
    }

    /// Adds a key while loading a snapshot into a fresh database: no WATCH stamp (Redis's `dbAdd`
    /// during a load touches no watched key either), and an error if the key is already there.
    pub fn insert_loaded(&mut self, key: Bytes, value: Value, expire: Option<i64>) -> Result<(), DuplicateKey> {
        let key = match self.map.entry(key) {
            imbl::hashmap::Entry::Occupied(e) => return Err(DuplicateKey(e.key().clone())),
            imbl::hashmap::Entry::Vacant(e) => {
                let key = expire.map(|_| e.key().clone());
                e.insert(value);
                key
            }
        };
        if let (Some(key), Some(at)) = (key, expire) {
            self.expires.insert(key, at);
        }
        Ok(())
    }

    /// Keys whose expiry time has passed at `now_ms`, sorted.
    pub fn expired_keys(&self, now_ms: i64) -> Vec<Bytes> {
        let mut v: Vec<_> = self.expires.iter().filter(|(_, &at)| at <= now_ms).map(|(k, _)| k.clone()).collect();
        v.sort();
        v
    }
}

/// The running CRC-64 of a dataset digest.
type Digest<'a> = crc::Digest<'a, u64, crc::Table<16>>;

fn digest_bytes(d: &mut Digest<'_>, b: &[u8]) {
    d.update(&(b.len() as u64).to_le_bytes());
    d.update(b);
}

/// Feeds a value into a digest so that equal values digest equally, whatever their history.
fn digest_value(d: &mut Digest<'_>, v: &Value) {
    d.update(v.type_name().as_bytes());
    match v {
        Value::Str(s) => digest_bytes(d, s),
        Value::List(l) => l.iter().for_each(|e| digest_bytes(d, e)),
        Value::Hash(h) => {
            let mut fields: Vec<_> = h.iter().collect();
            fields.sort();
            for (f, v) in fields {
                digest_bytes(d, f);
                digest_bytes(d, v);
            }
        }
        Value::Set(s) => s.members().iter().for_each(|m| digest_bytes(d, m)),
        Value::ZSet(z) => {
            for (m, score) in z.iter() {
                digest_bytes(d, m);
                d.update(&score.to_bits().to_le_bytes());
            }
        }
    }
}

/// The 16 databases of one node.
#[derive(Clone, Debug)]
pub struct Keyspace {
    dbs: Vec<Db>,
}

impl Default for Keyspace {
    fn default() -> Self {
        Keyspace { dbs: vec![Db::default(); DATABASES] }
    }
}

impl Keyspace {
    /// Database `i` (callers validate the index, as SELECT does).
    pub fn db(&self, i: usize) -> &Db {
        &self.dbs[i]
    }

    /// Database `i`, mutably.
    pub fn db_mut(&mut self, i: usize) -> &mut Db {
        &mut self.dbs[i]
    }

    /// All databases with their indices.
    pub fn dbs(&self) -> impl Iterator<Item = (usize, &Db)> {
        self.dbs.iter().enumerate()
    }

    /// Empties every database (FLUSHALL, or a replica about to load an RDB); every existing key
    /// counts as modified for WATCH.
    pub fn flush_all(&mut self) {
        (0..self.dbs.len()).for_each(|i| self.flush_db(i));
    }

    /// Empties one database (FLUSHDB).
    pub fn flush_db(&mut self, i: usize) {
        let db = &mut self.dbs[i];
        for k in db.keys_sorted() {
            db.touch(&k);
        }
        db.map = KeyMap::default();
        db.expires = KeyMap::default();
    }

    /// Exchanges two databases (SWAPDB); keys in both count as modified.
    pub fn swap(&mut self, a: usize, b: usize) {
        for i in [a, b] {
            for k in self.dbs[i].keys_sorted() {
                self.dbs[a].touch(&k);
                self.dbs[b].touch(&k);
            }
        }
        let (ma, ea) = (self.dbs[a].map.clone(), self.dbs[a].expires.clone());
        self.dbs[a].map = self.dbs[b].map.clone();
        self.dbs[a].expires = self.dbs[b].expires.clone();
        self.dbs[b].map = ma;
        self.dbs[b].expires = ea;
    }

    /// Takes the data of `loaded` (a snapshot just read) in place of this keyspace's, keeping the
    /// WATCH stamps: keys the flush before a load touched stay touched, and keys the load brings
    /// in are not (as in Redis 7.0, where a watched key created by a full sync does not abort the
    /// transaction).
    pub fn replace_data(&mut self, loaded: Keyspace) {
        for (db, new) in self.dbs.iter_mut().zip(loaded.dbs) {
            db.map = new.map;
            db.expires = new.expires;
        }
    }

    /// Total keys in all databases.
    pub fn total_keys(&self) -> usize {
        self.dbs.iter().map(Db::len).sum()
    }

    /// A digest of the whole dataset: equal datasets give equal digests (the order of insertion
    /// does not matter). It is not Redis's DEBUG DIGEST value, only its contract.
    pub fn digest(&self) -> String {
        let mut d = crate::rdb::CRC64.digest();
        for (i, db) in self.dbs() {
            for (k, v, exp) in db.entries_sorted() {
                d.update(&(i as u32).to_le_bytes());
                d.update(&(k.len() as u64).to_le_bytes());
                d.update(k);
                digest_value(&mut d, v);
                d.update(&exp.unwrap_or(-1).to_le_bytes());
            }
        }
        if self.total_keys() == 0 {
            return "0".repeat(40);
        }
        format!("{:016x}{:024x}", d.finalize(), self.total_keys())
    }
}
