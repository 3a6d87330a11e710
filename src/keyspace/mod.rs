//! The dataset: 16 databases of keys, values and expiry times.
//!
//! Databases are persistent maps ([`KeyMap`]), so cloning the whole keyspace is O(1) and shares
//! structure until one side writes. That is how the lab forks for BGSAVE: the "child" holds a
//! clone taken at fork time and writes after the fork never reach it, exactly as copy-on-write
//! pages behave for a forked Redis. Expiry times are absolute unix milliseconds on the node's
//! virtual clock, as Redis stores them.

mod hash;
mod keymap;
mod packed;
mod types;

pub use hash::{KeyHash, KeyHasher};
pub use keymap::KeyMap;
pub use types::{HashValue, ListValue, Score, SetValue, Value, ZSetValue, SET_MAX_INTSET_ENTRIES, SMALL_ENTRIES};

/// Number of databases, as Redis's default `databases 16`.
pub const DATABASES: usize = 16;

/// A key or a string value: Redis strings are binary-safe byte strings.
pub type Bytes = Vec<u8>;

/// One database: keys and their expiry times.
#[derive(Clone, Debug, Default)]
pub struct Db {
    map: KeyMap<Value>,
    expires: KeyMap<i64>,
    /// No key of `expires` is due before this time (`None`: none is), so the 10 Hz active
    /// expiry of an idle database costs a comparison, not a walk of its keys. A lower bound:
    /// removing an expiry leaves it alone, the next walk raises it.
    expiry_floor: Option<i64>,
    /// The keys some client WATCHes, with how many clients watch each and a stamp bumped by
    /// every write to it, so EXEC can tell a watched key was touched even when it was written
    /// back with the same value (Redis's `watched_keys` and `signalModifiedKey`). Keys nobody
    /// watches are not tracked: a write to them costs no bookkeeping.
    watched: KeyMap<(u32, u64)>,
    next_version: u64,
}

/// A key met twice while loading a snapshot (the loader knows which: it has just read it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DuplicateKey;

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
        if self.watched.is_empty() {
            return;
        }
        if let Some((_, stamp)) = self.watched.get_mut(key) {
            self.next_version += 1;
            *stamp = self.next_version;
        }
    }

    /// The modification stamp of a watched key (0 for a key nobody watches).
    pub fn version(&self, key: &[u8]) -> u64 {
        self.watched.get(key).map_or(0, |w| w.1)
    }

    /// One more client watches `key`; its stamp now, for EXEC to compare with.
    pub fn watch(&mut self, key: &[u8]) -> u64 {
        match self.watched.get_mut(key) {
            Some((clients, stamp)) => {
                *clients += 1;
                *stamp
            }
            None => {
                self.watched.insert(key.to_vec(), (1, 0));
                0
            }
        }
    }

    /// A client no longer watches `key` (UNWATCH, EXEC, DISCARD, or it went away).
    pub fn unwatch(&mut self, key: &[u8]) {
        if let Some((clients, _)) = self.watched.get_mut(key) {
            *clients -= 1;
            if *clients == 0 {
                self.watched.remove(key);
            }
        }
    }

    /// Touches every watched key that `present` says exists (a flush, a swap, a load).
    fn touch_watched_if(&mut self, present: impl Fn(&[u8]) -> bool) {
        let keys: Vec<Bytes> = self.watched.keys().filter(|k| present(k)).cloned().collect();
        for k in &keys {
            self.touch(k);
        }
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
        self.lower_expiry_floor(at_ms);
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
    /// during a load touches no watched key either), one walk of the map (a check first would
    /// make two), and an error if the key was already there, in which case the load must be
    /// abandoned: the first value has been replaced.
    pub fn insert_loaded(&mut self, key: Bytes, value: Value, expire: Option<i64>) -> Result<(), DuplicateKey> {
        if let Some(at) = expire {
            self.expires.insert(key.clone(), at);
            self.lower_expiry_floor(at);
        }
        match self.map.insert(key, value) {
            None => Ok(()),
            Some(_) => Err(DuplicateKey),
        }
    }

    fn lower_expiry_floor(&mut self, at_ms: i64) {
        self.expiry_floor = Some(self.expiry_floor.map_or(at_ms, |f| f.min(at_ms)));
    }

    /// Removes the keys whose expiry time has passed at `now_ms` and returns them, sorted (a
    /// master's active expiry, which propagates a DEL for each).
    pub fn remove_expired(&mut self, now_ms: i64) -> Vec<Bytes> {
        if self.expiry_floor.is_none_or(|floor| floor > now_ms) {
            return Vec::new();
        }
        let (mut due, mut floor) = (Vec::new(), None::<i64>);
        for (k, &at) in self.expires.iter() {
            if at <= now_ms {
                due.push(k.clone());
            } else {
                floor = Some(floor.map_or(at, |f| f.min(at)));
            }
        }
        self.expiry_floor = floor;
        due.sort();
        for k in &due {
            self.remove(k);
        }
        due
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
        let map = db.map.clone();
        db.touch_watched_if(|k| map.contains_key(k));
        db.map = KeyMap::default();
        db.expires = KeyMap::default();
        db.expiry_floor = None;
    }

    /// Exchanges two databases (SWAPDB); keys in both count as modified.
    pub fn swap(&mut self, a: usize, b: usize) {
        let (ma, mb) = (self.dbs[a].map.clone(), self.dbs[b].map.clone());
        for i in [a, b] {
            self.dbs[i].touch_watched_if(|k| ma.contains_key(k) || mb.contains_key(k));
        }
        let (ma, ea, fa) = (self.dbs[a].map.clone(), self.dbs[a].expires.clone(), self.dbs[a].expiry_floor);
        self.dbs[a].map = self.dbs[b].map.clone();
        self.dbs[a].expires = self.dbs[b].expires.clone();
        self.dbs[a].expiry_floor = self.dbs[b].expiry_floor;
        self.dbs[b].map = ma;
        self.dbs[b].expires = ea;
        self.dbs[b].expiry_floor = fa;
    }

    /// Takes the data of `loaded` (a snapshot just read) in place of this keyspace's, keeping the
    /// WATCH stamps. After a flush and load, the keys the flush touched stay touched and the keys
    /// the load brings in are not (as in Redis 7.0, where a watched key that a full sync creates
    /// does not abort the transaction); `touch_all` also touches every key of both the old and
    /// the new data, as Redis's swap of the main db with a diskless-loaded one does.
    pub fn replace_data(&mut self, loaded: Keyspace, touch_all: bool) {
        for (db, new) in self.dbs.iter_mut().zip(loaded.dbs) {
            if touch_all {
                let old = db.map.clone();
                db.touch_watched_if(|k| old.contains_key(k) || new.map.contains_key(k));
            }
            db.map = new.map;
            db.expires = new.expires;
            db.expiry_floor = new.expiry_floor;
        }
    }

    /// Total keys in all databases.
    pub fn total_keys(&self) -> usize {
        self.dbs.iter().map(Db::len).sum()
    }

    /// A digest of the whole dataset: equal datasets give equal digests (the order of insertion
    /// does not matter). It is not Redis's DEBUG DIGEST value, only its contract.
    pub fn digest(&self) -> String {
        // CRC-64/Jones, as the RDB trailer, only as a hash: the keyspace needs nothing of the
        // file format, which itself is built on the keyspace.
        const HASH: crc::Crc<u64, crc::Table<16>> = crc::Crc::<u64, crc::Table<16>>::new(&crc::CRC_64_REDIS);
        let mut d = HASH.digest();
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

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    fn str(s: &str) -> Value {
        Value::Str(s.as_bytes().to_vec())
    }

    #[test]
    fn loading_inserts_once_and_keeps_expiries() {
        let mut db = Db::default();
        assert_eq!(db.insert_loaded(b"a".to_vec(), str("1"), Some(42)), Ok(()));
        assert_eq!(db.insert_loaded(b"b".to_vec(), str("2"), None), Ok(()));
        assert_eq!(db.insert_loaded(b"a".to_vec(), str("3"), None), Err(DuplicateKey));
        assert_eq!(db.len(), 2);
        assert_eq!((db.expire_at(b"a"), db.expire_at(b"b"), db.expires_len()), (Some(42), None, 1));
        assert_eq!(db.watch(b"a"), 0, "a load stamps nothing for WATCH");
        let listed: Vec<_> = db.entries().map(|(k, _, e)| (k.clone(), e)).collect();
        assert_eq!(listed.len(), 2);
        assert!(listed.contains(&(b"a".to_vec(), Some(42))) && listed.contains(&(b"b".to_vec(), None)));
    }

    #[test]
    fn active_expiry_removes_each_due_key_once_whatever_the_expiries_did_since() {
        let mut db = Db::default();
        for (k, at) in [("c", 300), ("a", 100), ("b", 100)] {
            db.set(k.as_bytes().to_vec(), str("v"));
            assert!(db.set_expire(k.as_bytes(), at));
        }
        assert_eq!(db.remove_expired(99), Vec::<Bytes>::new());
        assert_eq!(db.remove_expired(100), vec![b"a".to_vec(), b"b".to_vec()], "sorted, due at exactly now");
        assert_eq!((db.len(), db.expires_len()), (1, 1));
        assert_eq!(db.remove_expired(200), Vec::<Bytes>::new(), "c is not due before 300");
        db.set(b"d".to_vec(), str("v"));
        assert!(db.set_expire(b"d", 150), "an expiry sooner than any other");
        assert_eq!(db.remove_expired(200), vec![b"d".to_vec()]);
        assert!(db.remove_expire(b"c"), "PERSIST");
        assert_eq!(db.remove_expired(1_000), Vec::<Bytes>::new());
        assert_eq!(db.insert_loaded(b"e".to_vec(), str("v"), Some(500)), Ok(()));
        assert_eq!(db.remove_expired(1_000), vec![b"e".to_vec()], "a loaded key's expiry counts too");
        assert_eq!(db.len(), 1, "only c, persisted, is left");
    }

    #[test]
    fn swapped_and_reloaded_databases_keep_their_due_keys() {
        let mut ks = Keyspace::default();
        ks.db_mut(0).set(b"a".to_vec(), str("v"));
        assert!(ks.db_mut(0).set_expire(b"a", 10));
        ks.swap(0, 1);
        assert_eq!(ks.db_mut(0).remove_expired(20), Vec::<Bytes>::new());
        assert_eq!(ks.db_mut(1).remove_expired(20), vec![b"a".to_vec()], "the expiry moved with SWAPDB");
        let mut loaded = Keyspace::default();
        assert_eq!(loaded.db_mut(2).insert_loaded(b"b".to_vec(), str("v"), Some(10)), Ok(()));
        ks.replace_data(loaded, false);
        assert_eq!(ks.db_mut(2).remove_expired(20), vec![b"b".to_vec()], "and with a full sync's load");
        ks.db_mut(3).set(b"c".to_vec(), str("v"));
        assert!(ks.db_mut(3).set_expire(b"c", 10));
        ks.flush_db(3);
        assert_eq!(ks.db_mut(3).remove_expired(20), Vec::<Bytes>::new());
    }

    #[test]
    fn only_watched_keys_are_stamped_and_the_last_unwatch_forgets_them() {
        let mut db = Db::default();
        db.set(b"k".to_vec(), str("1"));
        assert_eq!(db.version(b"k"), 0, "nobody watches k: no stamp");
        let first = db.watch(b"k");
        assert_eq!(db.watch(b"k"), first, "a second watcher sees the same stamp");
        db.set(b"k".to_vec(), str("1"));
        let touched = db.version(b"k");
        assert_ne!(touched, first, "a write with the same value still touches it");
        db.unwatch(b"k");
        db.set(b"k".to_vec(), str("2"));
        assert_ne!(db.version(b"k"), touched, "one watcher is left");
        db.unwatch(b"k");
        assert!(db.watched.is_empty(), "the last unwatch forgets the key");
        db.set(b"other".to_vec(), str("x"));
        assert_eq!(db.version(b"other"), 0);
    }

    #[test]
    fn replacing_data_keeps_or_adds_watch_stamps_as_redis_does() {
        let loaded = || {
            let mut ks = Keyspace::default();
            ks.db_mut(0).insert_loaded(b"new".to_vec(), str("n"), None).unwrap();
            ks
        };
        let mut ks = Keyspace::default();
        ks.db_mut(0).set(b"old".to_vec(), str("o"));
        let (old_stamp, new_stamp) = (ks.db_mut(0).watch(b"old"), ks.db_mut(0).watch(b"new"));
        ks.flush_all();
        ks.replace_data(loaded(), false);
        assert_ne!(ks.db(0).version(b"old"), old_stamp, "the flush touched the old key");
        assert_eq!(ks.db(0).version(b"new"), new_stamp, "a key the load creates is not touched");
        assert_eq!(ks.db(0).get_raw(b"new"), Some(&str("n")));

        let mut swapped = Keyspace::default();
        swapped.db_mut(0).set(b"old".to_vec(), str("o"));
        let old_stamp = swapped.db_mut(0).watch(b"old");
        swapped.db_mut(0).watch(b"new");
        swapped.replace_data(loaded(), true);
        assert_ne!(swapped.db(0).version(b"old"), old_stamp);
        assert_ne!(swapped.db(0).version(b"new"), 0, "swapdb touches the keys of both sides");
        assert_eq!(swapped.db(0).get_raw(b"old"), None);
    }
}
