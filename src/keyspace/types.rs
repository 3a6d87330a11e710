//! The value types of the keyspace, shaped so that what a learner reads back matches Redis.
//!
//! Order is observable in Redis replies, so each type keeps the order Redis would show where
//! Redis's order is deterministic: a small hash (a listpack in Redis) answers in insertion order,
//! an all-integer set (an intset) in ascending numeric order, a sorted set by (score, member), a
//! list by position. Where Redis's order depends on a hash table (large hashes and sets), any
//! order is as good, and tests compare those replies sorted. Every type is a persistent
//! structure, so cloning a whole database for a fork stays O(1).

use std::cmp::Ordering;

use imbl::{HashMap, HashSet, OrdMap, OrdSet, Vector};

use super::Bytes;

/// Redis's `set-max-intset-entries` default.
pub const SET_MAX_INTSET_ENTRIES: usize = 512;

/// A hash that remembers insertion order, as a listpack-encoded Redis hash does.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HashValue {
    by_field: HashMap<Bytes, (u64, Bytes)>,
    order: OrdMap<u64, Bytes>,
    next: u64,
}

impl HashValue {
    /// Number of fields.
    pub fn len(&self) -> usize {
        self.by_field.len()
    }

    /// True if empty.
    pub fn is_empty(&self) -> bool {
        self.by_field.is_empty()
    }

    /// The value of a field.
    pub fn get(&self, field: &[u8]) -> Option<&Bytes> {
        self.by_field.get(field).map(|(_, v)| v)
    }

    /// Sets a field; returns true if it is new. An existing field keeps its position.
    pub fn insert(&mut self, field: Bytes, value: Bytes) -> bool {
        if let Some((_, v)) = self.by_field.get_mut(&field) {
            *v = value;
            return false;
        }
        let seq = self.next;
        self.next += 1;
        self.order.insert(seq, field.clone());
        self.by_field.insert(field, (seq, value));
        true
    }

    /// Removes a field; returns true if it existed.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match self.by_field.remove(field) {
            Some((seq, _)) => {
                self.order.remove(&seq);
                true
            }
            None => false,
        }
    }

    /// Fields and values in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&Bytes, &Bytes)> {
        self.order.values().filter_map(|f| self.by_field.get(f).map(|(_, v)| (f, v)))
    }
}

/// A set that knows whether Redis would hold it as an intset (all integers, at most 512).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SetValue {
    members: HashSet<Bytes>,
    intset: bool,
}

fn as_int(m: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(m).ok()?;
    let n: i64 = s.parse().ok()?;
    (n.to_string() == s).then_some(n)
}

impl SetValue {
    /// An empty set (it starts as an intset, as in Redis, until a non-integer arrives).
    pub fn new() -> Self {
        SetValue { members: HashSet::new(), intset: true }
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// True if empty.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Membership.
    pub fn contains(&self, m: &[u8]) -> bool {
        self.members.contains(m)
    }

    /// Adds a member; returns true if it is new. Like Redis, a set never goes back to an intset.
    pub fn insert(&mut self, m: Bytes) -> bool {
        if self.intset && as_int(&m).is_none() {
            self.intset = false;
        }
        let added = self.members.insert(m).is_none();
        if self.members.len() > SET_MAX_INTSET_ENTRIES {
            self.intset = false;
        }
        added
    }

    /// Removes a member; returns true if it existed.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        self.members.remove(m).is_some()
    }

    /// True while Redis would keep this set as an intset.
    pub fn is_intset(&self) -> bool {
        self.intset
    }

    /// Members in the order Redis would list them where that order is deterministic (ascending
    /// integers for an intset); sorted bytewise otherwise, for reproducibility.
    pub fn members(&self) -> Vec<Bytes> {
        let mut v: Vec<Bytes> = self.members.iter().cloned().collect();
        if self.intset {
            v.sort_by_key(|m| as_int(m).unwrap_or(0));
        } else {
            v.sort();
        }
        v
    }
}

/// A score with the total order Redis uses (no NaN is ever stored).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Score(pub f64);

impl Eq for Score {}

impl PartialOrd for Score {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Score {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// A sorted set: members by score, then bytewise by member, as Redis orders them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ZSetValue {
    scores: HashMap<Bytes, Score>,
    order: OrdSet<(Score, Bytes)>,
}

impl ZSetValue {
    /// Number of members.
    pub fn len(&self) -> usize {
        self.scores.len()
    }

    /// True if empty.
    pub fn is_empty(&self) -> bool {
        self.scores.is_empty()
    }

    /// A member's score.
    pub fn score(&self, m: &[u8]) -> Option<f64> {
        self.scores.get(m).map(|s| s.0)
    }

    /// Sets a member's score; returns true if the member is new.
    pub fn insert(&mut self, m: Bytes, score: f64) -> bool {
        let new = match self.scores.insert(m.clone(), Score(score)) {
            Some(old) => {
                self.order.remove(&(old, m.clone()));
                false
            }
            None => true,
        };
        self.order.insert((Score(score), m));
        new
    }

    /// Removes a member; returns true if it existed.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        match self.scores.remove(m) {
            Some(s) => {
                self.order.remove(&(s, m.to_vec()));
                true
            }
            None => false,
        }
    }

    /// Members with scores, lowest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&Bytes, f64)> {
        self.order.iter().map(|(s, m)| (m, s.0))
    }

    /// 0-based rank of a member, lowest score first.
    pub fn rank(&self, m: &[u8]) -> Option<usize> {
        let s = *self.scores.get(m)?;
        Some(self.order.range(..(s, m.to_vec())).count())
    }
}

/// A value stored under a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// A binary-safe string.
    Str(Bytes),
    /// A list.
    List(Vector<Bytes>),
    /// A hash.
    Hash(HashValue),
    /// A set.
    Set(SetValue),
    /// A sorted set.
    ZSet(ZSetValue),
}

impl Value {
    /// The name `TYPE` prints.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
        }
    }

    /// True for an empty collection, which Redis deletes rather than keeps.
    pub fn is_empty_collection(&self) -> bool {
        match self {
            Value::Str(_) => false,
            Value::List(l) => l.is_empty(),
            Value::Hash(h) => h.is_empty(),
            Value::Set(s) => s.is_empty(),
            Value::ZSet(z) => z.is_empty(),
        }
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn hash_keeps_insertion_order_and_positions() {
        let mut h = HashValue::default();
        assert!(h.insert(b"b".to_vec(), b"1".to_vec()));
        assert!(h.insert(b"a".to_vec(), b"2".to_vec()));
        assert!(!h.insert(b"b".to_vec(), b"3".to_vec()));
        let v: Vec<_> = h.iter().map(|(f, v)| (f.clone(), v.clone())).collect();
        assert_eq!(v, vec![(b"b".to_vec(), b"3".to_vec()), (b"a".to_vec(), b"2".to_vec())]);
        assert!(h.remove(b"b") && !h.remove(b"b"));
        assert_eq!(h.len(), 1);
    }

    #[test]
    fn intset_order_until_a_string_arrives() {
        let mut s = SetValue::new();
        for m in ["10", "-3", "2"] {
            s.insert(m.as_bytes().to_vec());
        }
        assert!(s.is_intset());
        assert_eq!(s.members(), vec![b"-3".to_vec(), b"2".to_vec(), b"10".to_vec()]);
        s.insert(b"x".to_vec());
        s.remove(b"x");
        assert!(!s.is_intset(), "never converts back");
    }

    #[test]
    fn zset_orders_by_score_then_member() {
        let mut z = ZSetValue::default();
        z.insert(b"b".to_vec(), 1.0);
        z.insert(b"a".to_vec(), 1.0);
        z.insert(b"c".to_vec(), 0.5);
        assert!(!z.insert(b"c".to_vec(), 2.0));
        let v: Vec<_> = z.iter().map(|(m, _)| m.clone()).collect();
        assert_eq!(v, vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
        assert_eq!(z.rank(b"b"), Some(1));
    }
}
