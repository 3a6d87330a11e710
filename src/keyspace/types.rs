//! The value types of the keyspace, shaped so that what a learner reads back matches Redis.
//!
//! Order is observable in Redis replies, so each type keeps the order Redis would show where
//! Redis's order is deterministic: a small hash (a listpack in Redis) answers in insertion order,
//! an all-integer set (an intset) in ascending numeric order, a sorted set by (score, member), a
//! list by position. Where Redis's order depends on a hash table (large hashes and sets), any
//! order is as good, and tests compare those replies sorted. Each type is a flat vector
//! while small (as Redis keeps small collections in one listpack) and a persistent structure
//! past [`SMALL_ENTRIES`], so a node's memory per key stays near Redis's and a big value is
//! cheap to clone.

use std::cmp::Ordering;

use imbl::{HashMap, HashSet, OrdMap, OrdSet, Vector};

use super::packed::{Packed, PairAt};
use super::Bytes;

/// Redis's `set-max-intset-entries` default.
pub const SET_MAX_INTSET_ENTRIES: usize = 512;

/// Up to this many elements a collection is one flat vector, searched by walking it, as Redis
/// keeps a small hash or sorted set in one listpack (`hash-max-listpack-entries` and
/// `zset-max-listpack-entries` default to 128). Most keys in a lab are small, and a persistent
/// map preallocates a node of 16 or 32 slots however few it holds: a hash of two fields cost
/// 3 KB that way, against 100 bytes in Redis. Past the limit a collection becomes persistent
/// (cheap to clone for a fork, logarithmic to update) and, as in Redis, never goes back.
pub const SMALL_ENTRIES: usize = 128;

/// Appends with exact capacity: a small collection is cloned out of the keyspace, changed and
/// stored back, so the spare room `Vec` would keep for the next push is never used.
fn push_exact<T>(v: &mut Vec<T>, item: T) {
    v.reserve_exact(1);
    v.push(item);
}

/// One of two iterators: a collection walks its small or its large form.
enum Either<S, L> {
    Small(S),
    Large(L),
}

impl<S: Iterator, L: Iterator<Item = S::Item>> Iterator for Either<S, L> {
    type Item = S::Item;

    fn next(&mut self) -> Option<S::Item> {
        match self {
            Either::Small(s) => s.next(),
            Either::Large(l) => l.next(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            Either::Small(s) => s.size_hint(),
            Either::Large(l) => l.size_hint(),
        }
    }
}

impl<S: DoubleEndedIterator, L: DoubleEndedIterator<Item = S::Item>> DoubleEndedIterator for Either<S, L> {
    fn next_back(&mut self) -> Option<S::Item> {
        match self {
            Either::Small(s) => s.next_back(),
            Either::Large(l) => l.next_back(),
        }
    }
}

/// A list: a flat vector while small, a persistent vector (an RRB tree) past [`SMALL_ENTRIES`].
#[derive(Clone, Debug)]
pub struct ListValue(ListRepr);

#[derive(Clone, Debug)]
enum ListRepr {
    Small(Vec<Bytes>),
    Large(Box<Vector<Bytes>>),
}

impl Default for ListValue {
    fn default() -> Self {
        ListValue(ListRepr::Small(Vec::new()))
    }
}

impl ListValue {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        match &self.0 {
            ListRepr::Small(v) => v.len(),
            ListRepr::Large(v) => v.len(),
        }
    }

    /// True if empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The element at `i`.
    pub fn get(&self, i: usize) -> Option<&Bytes> {
        match &self.0 {
            ListRepr::Small(v) => v.get(i),
            ListRepr::Large(v) => v.get(i),
        }
    }

    /// Elements head first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Bytes> {
        match &self.0 {
            ListRepr::Small(v) => Either::Small(v.iter()),
            ListRepr::Large(v) => Either::Large(v.iter()),
        }
    }

    /// Turns a full small list into a large one, before it grows.
    fn grow_if_full(&mut self) {
        if let ListRepr::Small(v) = &mut self.0 {
            if v.len() >= SMALL_ENTRIES {
                self.0 = ListRepr::Large(Box::new(v.drain(..).collect()));
            }
        }
    }

    /// Inserts `e` before position `i` (`i == len` appends).
    pub fn insert(&mut self, i: usize, e: Bytes) {
        self.grow_if_full();
        match &mut self.0 {
            ListRepr::Small(v) => {
                v.reserve_exact(1);
                v.insert(i, e);
            }
            ListRepr::Large(v) => v.insert(i, e),
        }
    }

    /// Adds `e` at the head.
    pub fn push_front(&mut self, e: Bytes) {
        self.insert(0, e);
    }

    /// Adds `e` at the tail.
    pub fn push_back(&mut self, e: Bytes) {
        self.grow_if_full();
        match &mut self.0 {
            ListRepr::Small(v) => push_exact(v, e),
            ListRepr::Large(v) => v.push_back(e),
        }
    }

    /// Removes the head.
    pub fn pop_front(&mut self) -> Option<Bytes> {
        match &mut self.0 {
            ListRepr::Small(v) => (!v.is_empty()).then(|| v.remove(0)),
            ListRepr::Large(v) => v.pop_front(),
        }
    }

    /// Removes the tail.
    pub fn pop_back(&mut self) -> Option<Bytes> {
        match &mut self.0 {
            ListRepr::Small(v) => v.pop(),
            ListRepr::Large(v) => v.pop_back(),
        }
    }

    /// Replaces the element at `i`, which must exist.
    pub fn set(&mut self, i: usize, e: Bytes) {
        match &mut self.0 {
            ListRepr::Small(v) => v[i] = e,
            ListRepr::Large(v) => {
                v.set(i, e);
            }
        }
    }

    /// The `len` elements from `start` (LTRIM's survivors), in the form their number calls for.
    pub fn slice(&self, start: usize, len: usize) -> ListValue {
        self.iter().skip(start).take(len).cloned().collect()
    }
}

impl Extend<Bytes> for ListValue {
    fn extend<I: IntoIterator<Item = Bytes>>(&mut self, items: I) {
        let items = items.into_iter();
        if let ListRepr::Small(v) = &mut self.0 {
            let (at_least, _) = items.size_hint();
            if v.len() + at_least <= SMALL_ENTRIES {
                v.reserve_exact(at_least);
            }
        }
        for e in items {
            self.push_back(e);
        }
    }
}

impl FromIterator<Bytes> for ListValue {
    fn from_iter<I: IntoIterator<Item = Bytes>>(items: I) -> Self {
        let mut list = ListValue::new();
        list.extend(items);
        list
    }
}

impl PartialEq for ListValue {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for ListValue {}

/// A hash that remembers insertion order, as a listpack-encoded Redis hash does.
#[derive(Clone, Debug)]
pub struct HashValue(HashRepr);

#[derive(Clone, Debug)]
enum HashRepr {
    /// (field, value) pairs in insertion order.
    Small(Packed),
    Large(Box<LargeHash>),
}

/// A large hash: fields by name, and their insertion order apart.
#[derive(Clone, Debug, Default)]
struct LargeHash {
    by_field: HashMap<Bytes, (u64, Bytes)>,
    order: OrdMap<u64, Bytes>,
    next: u64,
}

impl LargeHash {
    fn insert(&mut self, field: Bytes, value: Bytes) -> bool {
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
}

impl Default for HashValue {
    fn default() -> Self {
        HashValue(HashRepr::Small(Packed::default()))
    }
}

impl HashValue {
    /// Number of fields.
    pub fn len(&self) -> usize {
        match &self.0 {
            HashRepr::Small(p) => p.len(),
            HashRepr::Large(h) => h.by_field.len(),
        }
    }

    /// True if empty.
    pub fn is_empty(&self) -> bool {
        match &self.0 {
            HashRepr::Small(p) => p.is_empty(),
            HashRepr::Large(h) => h.by_field.is_empty(),
        }
    }

    /// The value of a field.
    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match &self.0 {
            HashRepr::Small(p) => p.find(field).map(|(_, v)| v),
            HashRepr::Large(h) => h.by_field.get(field).map(|(_, v)| v.as_slice()),
        }
    }

    /// Sets a field; returns true if it is new. An existing field keeps its position.
    pub fn insert(&mut self, field: Bytes, value: Bytes) -> bool {
        match &mut self.0 {
            HashRepr::Large(h) => h.insert(field, value),
            HashRepr::Small(p) => {
                if let Some((at, _)) = p.find(&field) {
                    p.splice(at.bytes, Some((&field, &value)));
                    return false;
                }
                if p.len() < SMALL_ENTRIES {
                    p.push(&field, &value);
                    return true;
                }
                let mut large = LargeHash::default();
                for (_, f, v) in p.pairs() {
                    large.insert(f.to_vec(), v.to_vec());
                }
                large.insert(field, value);
                self.0 = HashRepr::Large(Box::new(large));
                true
            }
        }
    }

    /// Removes a field; returns true if it existed.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match &mut self.0 {
            HashRepr::Small(p) => match p.find(field) {
                Some((at, _)) => {
                    p.splice(at.bytes, None);
                    true
                }
                None => false,
            },
            HashRepr::Large(h) => match h.by_field.remove(field) {
                Some((seq, _)) => {
                    h.order.remove(&seq);
                    true
                }
                None => false,
            },
        }
    }

    /// Fields and values in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        match &self.0 {
            HashRepr::Small(p) => Either::Small(p.pairs().map(|(_, f, v)| (f, v))),
            HashRepr::Large(h) => Either::Large(
                h.order.values().filter_map(|f| h.by_field.get(f).map(|(_, v)| (f.as_slice(), v.as_slice()))),
            ),
        }
    }
}

impl PartialEq for HashValue {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for HashValue {}

/// A set that knows whether Redis would hold it as an intset (all integers, at most 512).
#[derive(Clone, Debug)]
pub struct SetValue {
    members: SetRepr,
    intset: bool,
}

#[derive(Clone, Debug)]
enum SetRepr {
    /// Members in no particular order (the order is never shown: see [`SetValue::members`]).
    Small(Vec<Bytes>),
    Large(Box<HashSet<Bytes>>),
}

impl Default for SetValue {
    fn default() -> Self {
        Self::new()
    }
}

fn as_int(m: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(m).ok()?;
    let n: i64 = s.parse().ok()?;
    (n.to_string() == s).then_some(n)
}

impl SetValue {
    /// An empty set (it starts as an intset, as in Redis, until a non-integer arrives).
    pub fn new() -> Self {
        SetValue { members: SetRepr::Small(Vec::new()), intset: true }
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        match &self.members {
            SetRepr::Small(v) => v.len(),
            SetRepr::Large(s) => s.len(),
        }
    }

    /// True if empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Membership.
    pub fn contains(&self, m: &[u8]) -> bool {
        match &self.members {
            SetRepr::Small(v) => v.iter().any(|x| x == m),
            SetRepr::Large(s) => s.contains(m),
        }
    }

    /// Adds a member; returns true if it is new. Like Redis, a set never goes back to an intset.
    pub fn insert(&mut self, m: Bytes) -> bool {
        if self.intset && as_int(&m).is_none() {
            self.intset = false;
        }
        let added = match &mut self.members {
            SetRepr::Small(v) if v.contains(&m) => false,
            SetRepr::Small(v) if v.len() < SMALL_ENTRIES => {
                push_exact(v, m);
                true
            }
            SetRepr::Small(v) => {
                let mut large: HashSet<Bytes> = v.drain(..).collect();
                large.insert(m);
                self.members = SetRepr::Large(Box::new(large));
                true
            }
            SetRepr::Large(s) => s.insert(m).is_none(),
        };
        if self.len() > SET_MAX_INTSET_ENTRIES {
            self.intset = false;
        }
        added
    }

    /// Removes a member; returns true if it existed.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        match &mut self.members {
            SetRepr::Small(v) => match v.iter().position(|x| x == m) {
                Some(i) => {
                    v.swap_remove(i);
                    true
                }
                None => false,
            },
            SetRepr::Large(s) => s.remove(m).is_some(),
        }
    }

    /// True while Redis would keep this set as an intset.
    pub fn is_intset(&self) -> bool {
        self.intset
    }

    /// Members in the order Redis would list them where that order is deterministic (ascending
    /// integers for an intset); sorted bytewise otherwise, for reproducibility.
    pub fn members(&self) -> Vec<Bytes> {
        let mut v: Vec<Bytes> = match &self.members {
            SetRepr::Small(v) => v.clone(),
            SetRepr::Large(s) => s.iter().cloned().collect(),
        };
        if self.intset {
            v.sort_by_key(|m| as_int(m).unwrap_or(0));
        } else {
            v.sort();
        }
        v
    }
}

impl PartialEq for SetValue {
    fn eq(&self, other: &Self) -> bool {
        self.intset == other.intset && self.members() == other.members()
    }
}

impl Eq for SetValue {}

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
#[derive(Clone, Debug)]
pub struct ZSetValue(ZSetRepr);

#[derive(Clone, Debug)]
enum ZSetRepr {
    /// (score as 8 little-endian bytes, member) pairs in order.
    Small(Packed),
    Large(Box<LargeZSet>),
}

/// A large sorted set: scores by member, and the members in order apart.
#[derive(Clone, Debug, Default)]
struct LargeZSet {
    scores: HashMap<Bytes, Score>,
    order: OrdSet<(Score, Bytes)>,
}

impl LargeZSet {
    fn insert(&mut self, m: Bytes, score: Score) -> bool {
        let new = match self.scores.insert(m.clone(), score) {
            Some(old) => {
                self.order.remove(&(old, m.clone()));
                false
            }
            None => true,
        };
        self.order.insert((score, m));
        new
    }
}

/// A packed score back as a number (it was packed from one, as 8 bytes).
fn unpack_score(b: &[u8]) -> f64 {
    let mut raw = [0u8; 8];
    raw.copy_from_slice(b);
    f64::from_le_bytes(raw)
}

impl Default for ZSetValue {
    fn default() -> Self {
        ZSetValue(ZSetRepr::Small(Packed::default()))
    }
}

impl ZSetValue {
    /// Number of members.
    pub fn len(&self) -> usize {
        match &self.0 {
            ZSetRepr::Small(p) => p.len(),
            ZSetRepr::Large(z) => z.scores.len(),
        }
    }

    /// True if empty.
    pub fn is_empty(&self) -> bool {
        match &self.0 {
            ZSetRepr::Small(p) => p.is_empty(),
            ZSetRepr::Large(z) => z.scores.is_empty(),
        }
    }

    /// A small set's pair for member `m`: where it lies and its score.
    fn find_small(p: &Packed, m: &[u8]) -> Option<(PairAt, f64)> {
        p.pairs().find(|(_, _, x)| *x == m).map(|(at, s, _)| (at, unpack_score(s)))
    }

    /// A member's score.
    pub fn score(&self, m: &[u8]) -> Option<f64> {
        match &self.0 {
            ZSetRepr::Small(p) => Self::find_small(p, m).map(|(_, s)| s),
            ZSetRepr::Large(z) => z.scores.get(m).map(|s| s.0),
        }
    }

    /// Sets a member's score; returns true if the member is new.
    pub fn insert(&mut self, m: Bytes, score: f64) -> bool {
        match &mut self.0 {
            ZSetRepr::Large(z) => z.insert(m, Score(score)),
            ZSetRepr::Small(p) => {
                let old = Self::find_small(p, &m);
                if old.is_none() && p.len() >= SMALL_ENTRIES {
                    let mut large = LargeZSet::default();
                    for (_, s, x) in p.pairs() {
                        large.insert(x.to_vec(), Score(unpack_score(s)));
                    }
                    large.insert(m, Score(score));
                    self.0 = ZSetRepr::Large(Box::new(large));
                    return true;
                }
                let new = old.is_none();
                if let Some((at, _)) = old {
                    p.splice(at.bytes, None);
                }
                let key = (Score(score), m.as_slice());
                let at = p
                    .pairs()
                    .find(|(_, s, x)| (Score(unpack_score(s)), *x) > key)
                    .map_or(p.byte_len(), |(at, _, _)| at.bytes.start);
                p.splice(at..at, Some((&score.to_le_bytes(), &m)));
                new
            }
        }
    }

    /// Removes a member; returns true if it existed.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        match &mut self.0 {
            ZSetRepr::Small(p) => match Self::find_small(p, m) {
                Some((at, _)) => {
                    p.splice(at.bytes, None);
                    true
                }
                None => false,
            },
            ZSetRepr::Large(z) => match z.scores.remove(m) {
                Some(s) => {
                    z.order.remove(&(s, m.to_vec()));
                    true
                }
                None => false,
            },
        }
    }

    /// Members with scores, lowest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&[u8], f64)> {
        match &self.0 {
            // A packed set is walked forwards only: its pairs are gathered for a walk backwards.
            ZSetRepr::Small(p) => {
                let pairs: Vec<_> = p.pairs().map(|(_, s, m)| (m, unpack_score(s))).collect();
                Either::Small(pairs.into_iter())
            }
            ZSetRepr::Large(z) => Either::Large(z.order.iter().map(|(s, m)| (m.as_slice(), s.0))),
        }
    }

    /// 0-based rank of a member, lowest score first.
    pub fn rank(&self, m: &[u8]) -> Option<usize> {
        match &self.0 {
            ZSetRepr::Small(p) => Self::find_small(p, m).map(|(at, _)| at.index),
            ZSetRepr::Large(z) => {
                let s = *z.scores.get(m)?;
                Some(z.order.range(..(s, m.to_vec())).count())
            }
        }
    }
}

impl PartialEq for ZSetValue {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for ZSetValue {}

/// A value stored under a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// A binary-safe string.
    Str(Bytes),
    /// A list.
    List(ListValue),
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
        let v: Vec<_> = h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect();
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

    /// Element `i` of the collections below, as bytes.
    fn b(i: usize) -> Bytes {
        format!("e{i}").into_bytes()
    }

    #[test]
    fn collections_answer_the_same_in_both_forms() {
        let n = SMALL_ENTRIES + 20;
        let mut list: ListValue = (0..n).map(b).collect();
        list.push_front(b(999));
        list.insert(1, b(998));
        assert_eq!(list.pop_back(), Some(b(n - 1)));
        assert_eq!((list.len(), list.get(0), list.get(2)), (n + 1, Some(&b(999)), Some(&b(0))));
        let small = list.slice(2, 3);
        assert_eq!(small, (0..3).map(b).collect::<ListValue>(), "large and small lists compare by content");
        assert!(matches!(small.0, ListRepr::Small(_)) && matches!(list.0, ListRepr::Large(_)));

        let mut hash = HashValue::default();
        for i in (0..n).rev() {
            assert!(hash.insert(b(i), b(i * 2)));
        }
        assert!(!hash.insert(b(5), b(0)), "an existing field keeps its position");
        assert!(matches!(hash.0, HashRepr::Large(_)));
        (3..n).filter(|&i| i != 5).for_each(|i| assert!(hash.remove(&b(i))));
        let order: Vec<_> = hash.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect();
        assert_eq!(order, vec![(b(5), b(0)), (b(2), b(4)), (b(1), b(2)), (b(0), b(0))]);
        let mut fresh = HashValue::default();
        order.into_iter().for_each(|(f, v)| _ = fresh.insert(f, v));
        assert_eq!(hash, fresh);

        let mut z = ZSetValue::default();
        for i in 0..n {
            z.insert(b(i), (i % 7) as f64);
        }
        assert!(matches!(z.0, ZSetRepr::Large(_)));
        let mut small = ZSetValue::default();
        for (m, score) in z.iter().rev() {
            small.insert(m.to_vec(), score);
        }
        assert!(matches!(small.0, ZSetRepr::Large(_)));
        assert_eq!(z, small);
        let first: Vec<_> = z.iter().take(3).map(|(m, s)| (m.to_vec(), s)).collect();
        assert_eq!(first, vec![(b(0), 0.0), (b(105), 0.0), (b(112), 0.0)], "score, then member bytewise");
        assert_eq!((z.rank(&b(105)), z.score(&b(8))), (Some(1), Some(1.0)));
        let mut tiny = ZSetValue::default();
        tiny.insert(b(2), 1.0);
        tiny.insert(b(1), 1.0);
        tiny.insert(b(3), 0.0);
        assert!(!tiny.insert(b(3), 2.0));
        assert_eq!(tiny.iter().map(|(m, _)| m.to_vec()).collect::<Vec<_>>(), vec![b(1), b(2), b(3)]);
        assert_eq!((tiny.rank(&b(2)), tiny.remove(&b(1)), tiny.rank(&b(2))), (Some(1), true, Some(0)));

        let mut set = SetValue::new();
        (0..n).for_each(|i| _ = set.insert(i.to_string().into_bytes()));
        assert!(set.is_intset() && matches!(set.members, SetRepr::Large(_)));
        assert!(set.contains(b"42") && set.remove(b"42") && !set.contains(b"42"));
        assert_eq!(set.members().first(), Some(&b"0".to_vec()));
    }

    #[test]
    fn zset_orders_by_score_then_member() {
        let mut z = ZSetValue::default();
        z.insert(b"b".to_vec(), 1.0);
        z.insert(b"a".to_vec(), 1.0);
        z.insert(b"c".to_vec(), 0.5);
        assert!(!z.insert(b"c".to_vec(), 2.0));
        let v: Vec<_> = z.iter().map(|(m, _)| m.to_vec()).collect();
        assert_eq!(v, vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
        assert_eq!(z.rank(b"b"), Some(1));
    }
}
