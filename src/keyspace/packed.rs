//! Pairs of byte strings packed one after another in one buffer: how a small hash (field,
//! value) or a small sorted set (score, member) is held, as Redis holds them in one listpack.
//!
//! Each string is its length (LEB128: 7 bits a byte, low bits first) followed by its bytes, so a
//! hash of two short fields costs one allocation of about a dozen bytes, where a vector of
//! owned strings cost five allocations and a hundred bytes. Finding a field walks the buffer, as
//! Redis walks a listpack; that is why only small collections are packed (see `SMALL_ENTRIES`).
//! The buffer is rebuilt at its exact size on every change: a small collection is cloned out of
//! the keyspace, changed and stored back, so spare room would never be used.

use std::ops::Range;

/// A packed sequence of (first, second) byte-string pairs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Packed(Box<[u8]>);

/// Where one pair lies: its position among the pairs, and its bytes in the buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PairAt {
    /// Its position among the pairs.
    pub index: usize,
    /// Its bytes, headers included.
    pub bytes: Range<usize>,
}

fn write_len(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn encoded_len(a: &[u8], b: &[u8]) -> usize {
    let header = |n: usize| (usize::BITS - (n | 1).leading_zeros()).div_ceil(7) as usize;
    header(a.len()) + a.len() + header(b.len()) + b.len()
}

/// Walks the pairs, with where each lies.
pub struct Pairs<'a> {
    buf: &'a [u8],
    at: usize,
    index: usize,
}

impl<'a> Pairs<'a> {
    /// The string at the cursor, and the cursor moved past it.
    fn string(&mut self) -> &'a [u8] {
        let (mut n, mut shift) = (0usize, 0);
        loop {
            let b = self.buf[self.at];
            self.at += 1;
            n |= usize::from(b & 0x7f) << shift;
            if b < 0x80 {
                break;
            }
            shift += 7;
        }
        let s = &self.buf[self.at..self.at + n];
        self.at += n;
        s
    }
}

impl<'a> Iterator for Pairs<'a> {
    type Item = (PairAt, &'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.at >= self.buf.len() {
            return None;
        }
        let start = self.at;
        let first = self.string();
        let second = self.string();
        let at = PairAt { index: self.index, bytes: start..self.at };
        self.index += 1;
        Some((at, first, second))
    }
}

impl Packed {
    /// Every pair, with where it lies.
    pub fn pairs(&self) -> Pairs<'_> {
        Pairs { buf: &self.0, at: 0, index: 0 }
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.pairs().count()
    }

    /// True if it holds no pair.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Size of the buffer: where a pair pushed now would start.
    pub fn byte_len(&self) -> usize {
        self.0.len()
    }

    /// The first pair whose first string is `first`.
    pub fn find(&self, first: &[u8]) -> Option<(PairAt, &[u8])> {
        self.pairs().find(|(_, f, _)| *f == first).map(|(at, _, s)| (at, s))
    }

    /// The buffer with `bytes` replaced by the pair (a, b), or only removed if `pair` is None.
    pub fn splice(&mut self, bytes: Range<usize>, pair: Option<(&[u8], &[u8])>) {
        let added = pair.map_or(0, |(a, b)| encoded_len(a, b));
        let mut out = Vec::with_capacity(self.0.len() - bytes.len() + added);
        out.extend_from_slice(&self.0[..bytes.start]);
        if let Some((a, b)) = pair {
            for s in [a, b] {
                write_len(&mut out, s.len());
                out.extend_from_slice(s);
            }
        }
        out.extend_from_slice(&self.0[bytes.end..]);
        debug_assert_eq!(out.len(), out.capacity());
        self.0 = out.into_boxed_slice();
    }

    /// Adds the pair (a, b) at the end.
    pub fn push(&mut self, a: &[u8], b: &[u8]) {
        let end = self.byte_len();
        self.splice(end..end, Some((a, b)));
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn pairs_survive_every_edit_at_their_exact_size() {
        let long = vec![b'x'; 300]; // a two-byte length header
        let mut p = Packed::default();
        p.push(b"f1", b"v1");
        p.push(b"f2", &long);
        p.push(b"", b"empty field");
        assert_eq!(p.0.len(), 3 + 3 + 3 + 2 + 300 + 1 + 1 + 11);
        let listed: Vec<_> = p.pairs().map(|(_, a, b)| (a.to_vec(), b.len())).collect();
        assert_eq!(listed, vec![(b"f1".to_vec(), 2), (b"f2".to_vec(), 300), (vec![], 11)]);
        let (at, value) = p.find(b"f2").unwrap();
        assert_eq!((at.index, value), (1, long.as_slice()));
        p.splice(at.bytes, Some((b"f2", b"short")));
        assert_eq!(p.find(b"f2").map(|(_, v)| v), Some(b"short".as_slice()));
        let (first, _) = p.find(b"f1").unwrap();
        p.splice(first.bytes, None);
        assert_eq!((p.len(), p.find(b"f1"), p.find(b"").map(|(at, _)| at.index)), (2, None, Some(1)));
        assert_eq!(p.0.len(), 3 + 6 + 1 + 12);
        p.splice(0..p.0.len(), None);
        assert!(p.is_empty() && p.pairs().next().is_none());
    }
}
