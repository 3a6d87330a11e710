//! The map under every database: persistent, ordered by the keys' hashes, and compact.
//!
//! A database must clone in O(1) (a fork for BGSAVE, a checkpoint for time travel) and share
//! what two clones have in common, so it is a persistent structure. It must walk its keys in an
//! order that is the same natively and in the page (see [`KeyHash`]), and hold a million keys
//! near the memory Redis needs. A persistent B-tree keyed by each key's 64-bit hash does all
//! three: a HAMT with the key itself in its slots held 285 bytes per string key (its nodes are
//! allocated at full width and a million keys fill them to a sixth), this tree 120, and ordering
//! by a `u64` compares one word where ordering by the key bytes would compare strings (3× slower
//! to insert). Two keys whose hashes are equal share one slot, which then lists both.

use std::hash::BuildHasher;

use imbl::OrdMap;

use super::{Bytes, KeyHash};

/// The keys that share one hash: almost always one.
#[derive(Clone, Debug)]
enum Slot<V> {
    One(Bytes, V),
    Many(Vec<(Bytes, V)>),
}

impl<V> Slot<V> {
    fn entries(&self) -> impl Iterator<Item = (&Bytes, &V)> {
        let (one, many) = match self {
            Slot::One(k, v) => (Some((k, v)), None),
            Slot::Many(list) => (None, Some(list.iter().map(|(k, v)| (k, v)))),
        };
        one.into_iter().chain(many.into_iter().flatten())
    }

    fn get(&self, key: &[u8]) -> Option<&V> {
        self.entries().find(|(k, _)| k.as_slice() == key).map(|(_, v)| v)
    }

    fn get_mut(&mut self, key: &[u8]) -> Option<&mut V> {
        match self {
            Slot::One(k, v) => (k.as_slice() == key).then_some(v),
            Slot::Many(list) => list.iter_mut().find(|(k, _)| k.as_slice() == key).map(|(_, v)| v),
        }
    }
}

/// A persistent map from keys to `V`, walked in the order of the keys' hashes.
#[derive(Clone, Debug)]
pub struct KeyMap<V: Clone> {
    slots: OrdMap<u64, Slot<V>>,
    len: usize,
}

impl<V: Clone> Default for KeyMap<V> {
    fn default() -> Self {
        KeyMap { slots: OrdMap::new(), len: 0 }
    }
}

fn hash(key: &[u8]) -> u64 {
    KeyHash.hash_one(key)
}

impl<V: Clone> KeyMap<V> {
    /// Number of keys.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if the map holds no key.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The value under `key`.
    pub fn get(&self, key: &[u8]) -> Option<&V> {
        self.slots.get(&hash(key))?.get(key)
    }

    /// True if `key` is in the map.
    pub fn contains_key(&self, key: &[u8]) -> bool {
        self.get(key).is_some()
    }

    /// The value under `key`, mutably (copying the path to it if a clone shares it).
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut V> {
        self.slots.get_mut(&hash(key))?.get_mut(key)
    }

    /// Stores `value` under `key`; returns the value it replaced.
    pub fn insert(&mut self, key: Bytes, value: V) -> Option<V> {
        self.insert_hashed(hash(&key), key, value)
    }

    /// One walk of the tree for a new key, one more (read-only) for a replaced one; keys that
    /// share a hash (rare) cost two more.
    fn insert_hashed(&mut self, h: u64, key: Bytes, value: V) -> Option<V> {
        let Some(old) = self.slots.insert(h, Slot::One(key, value)) else {
            self.len += 1;
            return None;
        };
        let same_key = match (&old, self.slots.get(&h)) {
            (Slot::One(k, _), Some(Slot::One(new, _))) => k == new,
            _ => false,
        };
        let mut list = match old {
            Slot::One(_, v) if same_key => return Some(v),
            Slot::One(k, v) => vec![(k, v)],
            Slot::Many(list) => list,
        };
        // Other keys have this hash: the slot lists them all, the new key last.
        let mut replaced = None;
        if let Some(Slot::One(key, value)) = self.slots.remove(&h) {
            match list.iter_mut().find(|(k, _)| *k == key) {
                Some((_, v)) => replaced = Some(std::mem::replace(v, value)),
                None => {
                    list.push((key, value));
                    self.len += 1;
                }
            }
        }
        self.slots.insert(h, Slot::Many(list));
        replaced
    }

    /// Removes `key`; returns its value.
    pub fn remove(&mut self, key: &[u8]) -> Option<V> {
        if self.is_empty() {
            return None;
        }
        self.remove_hashed(hash(key), key)
    }

    /// A read-only walk first: the tree's removal copies the path to where the key would be even
    /// when it is not there, which after a fork or a checkpoint would copy nodes for nothing (a
    /// SET drops the key's expiry this way on every write while any key has one). Then one walk
    /// to take the slot out; putting back what shares it (rare) is another.
    fn remove_hashed(&mut self, h: u64, key: &[u8]) -> Option<V> {
        if self.slots.get(&h).is_none_or(|slot| slot.get(key).is_none()) {
            return None;
        }
        let (removed, rest) = match self.slots.remove(&h)? {
            Slot::One(k, v) if k.as_slice() == key => (Some(v), None),
            one @ Slot::One(..) => (None, Some(one)),
            Slot::Many(mut list) => {
                let removed = list.iter().position(|(k, _)| k.as_slice() == key).map(|i| list.remove(i).1);
                let rest = match list.len() {
                    1 => list.pop().map(|(k, v)| Slot::One(k, v)),
                    _ => Some(Slot::Many(list)),
                };
                (removed, rest)
            }
        };
        if let Some(rest) = rest {
            self.slots.insert(h, rest);
        }
        self.len -= usize::from(removed.is_some());
        removed
    }

    /// Every key and value, in the order of the keys' hashes.
    pub fn iter(&self) -> impl Iterator<Item = (&Bytes, &V)> {
        self.slots.values().flat_map(Slot::entries)
    }

    /// Every key, in the order of their hashes.
    pub fn keys(&self) -> impl Iterator<Item = &Bytes> {
        self.iter().map(|(k, _)| k)
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn keys_that_share_a_hash_share_a_slot() {
        let mut m = KeyMap::default();
        assert_eq!(m.insert_hashed(7, b"a".to_vec(), 1), None);
        assert_eq!(m.insert_hashed(7, b"b".to_vec(), 2), None);
        assert_eq!(m.insert_hashed(7, b"c".to_vec(), 3), None);
        assert_eq!(m.insert_hashed(7, b"b".to_vec(), 20), Some(2));
        assert_eq!((m.len(), m.slots.len()), (3, 1));
        let listed: Vec<_> = m.iter().map(|(k, v)| (k.clone(), *v)).collect();
        assert_eq!(listed, vec![(b"a".to_vec(), 1), (b"b".to_vec(), 20), (b"c".to_vec(), 3)]);
        assert_eq!(m.remove_hashed(7, b"x"), None);
        assert_eq!(m.remove_hashed(7, b"a"), Some(1));
        assert_eq!(m.remove_hashed(7, b"c"), Some(3));
        assert!(matches!(m.slots.get(&7), Some(Slot::One(k, 20)) if k == b"b"), "one left: back to One");
        assert_eq!(m.remove_hashed(7, b"b"), Some(20));
        assert!(m.is_empty() && m.slots.is_empty());
    }

    #[test]
    fn a_clone_keeps_what_it_saw() {
        let mut m = KeyMap::default();
        for i in 0..1000u32 {
            m.insert(i.to_string().into_bytes(), i);
        }
        let fork = m.clone();
        *m.get_mut(b"5").unwrap() = 0;
        m.remove(b"6");
        m.insert(b"new".to_vec(), 1);
        assert_eq!((fork.get(b"5"), fork.get(b"6"), fork.get(b"new"), fork.len()), (Some(&5), Some(&6), None, 1000));
        assert_eq!((m.get(b"5"), m.get(b"6"), m.contains_key(b"new"), m.len()), (Some(&0), None, true, 1000));
        let mut hashes: Vec<u64> = m.keys().map(|k| hash(k)).collect();
        assert!(hashes.windows(2).all(|w| w[0] < w[1]), "walked in hash order");
        hashes.dedup();
        assert_eq!(hashes.len(), 1000);
    }
}
