//! The memo's table for keys of 9 to 32 bytes (and for short keys whose results did not fit a short
//! entry): 4-way set-associative, one 64-byte cache line per entry, with the ways' 16-bit tags kept
//! apart, eight bytes per set. A lookup reads its set's tags first and then only the entry whose tag
//! matches, so a miss usually touches no entry at all, and a hit one entry, where reading the ways
//! in turn touched up to four lines of the large table. Tags only choose which entries to compare:
//! an entry is returned only when its whole key equals the one looked up.

use super::{empty_table, mix, ZeroIsEmpty, LONG_SETS_BITS, MAX_KEY_BYTES, WAYS};

/// Ids a long entry holds inline.
pub(super) const LONG_IDS: usize = 6;

/// One 64-byte cache line: the key, its length, and up to six ids.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
pub(super) struct LongEntry {
    key: [u8; MAX_KEY_BYTES],
    ids: [u32; LONG_IDS],
    /// 0 when empty (no key is empty).
    len: u8,
    count: u8,
}

// SAFETY: integer fields and arrays of integers only.
unsafe impl ZeroIsEmpty for LongEntry {}
// SAFETY: integers only.
unsafe impl ZeroIsEmpty for [u16; WAYS] {}

pub(super) struct LongTable {
    /// The index mask of the sets: indexes come from the hash bits a full-size table would use,
    /// masked to the current size.
    sets_mask: usize,
    /// Per set, each way's tag; 0 for an empty way (no tag is 0).
    tags: Box<[[u16; WAYS]]>,
    entries: Box<[LongEntry]>,
}

/// A key's hash: its set comes from the top bits, its tag from bits well below them.
#[inline]
fn hash(key: &[u8]) -> u64 {
    let mut h = key.len() as u64;
    for part in key.chunks(8) {
        let mut buf = [0u8; 8];
        buf[..part.len()].copy_from_slice(part);
        h = mix(h ^ u64::from_le_bytes(buf)).rotate_left(23);
    }
    mix(h)
}

#[inline]
fn tag(h: u64) -> u16 {
    (h >> 24) as u16 | 1
}

impl LongTable {
    /// An empty table of `1 << sets_bits` sets (at most full size, [`LONG_SETS_BITS`]).
    pub fn new(sets_bits: u32) -> Self {
        debug_assert!(sets_bits <= LONG_SETS_BITS);
        LongTable {
            sets_mask: (1 << sets_bits) - 1,
            tags: empty_table(1 << sets_bits),
            entries: empty_table(WAYS << sets_bits),
        }
    }

    #[inline]
    fn set(&self, h: u64) -> usize {
        (h >> (64 - LONG_SETS_BITS)) as usize & self.sets_mask
    }

    /// The ids stored for `key` (at most [`MAX_KEY_BYTES`] long), if any.
    #[inline]
    pub fn get(&self, key: &[u8]) -> Option<&[u32]> {
        let h = hash(key);
        let set = self.set(h);
        let tag = tag(h);
        for (way, &t) in self.tags[set].iter().enumerate() {
            if t == tag {
                let e = &self.entries[set * WAYS + way];
                if usize::from(e.len) == key.len() && &e.key[..key.len()] == key {
                    return Some(&e.ids[..usize::from(e.count)]);
                }
            }
        }
        None
    }

    /// Stores `ids` (1 to [`LONG_IDS`]) for `key` (1 to [`MAX_KEY_BYTES`] bytes) in `way` of its set.
    pub fn insert(&mut self, key: &[u8], ids: &[u32], way: usize) {
        debug_assert!((1..=MAX_KEY_BYTES).contains(&key.len()) && (1..=LONG_IDS).contains(&ids.len()));
        let h = hash(key);
        let set = self.set(h);
        self.tags[set][way] = tag(h);
        let e = &mut self.entries[set * WAYS + way];
        e.len = key.len() as u8;
        e.key[..key.len()].copy_from_slice(key);
        e.count = ids.len() as u8;
        e.ids[..ids.len()].copy_from_slice(ids);
    }

    /// Every stored key and its ids.
    pub fn entries(&self) -> impl Iterator<Item = (&[u8], &[u32])> {
        self.entries
            .iter()
            .filter(|e| e.len != 0)
            .map(|e| (&e.key[..usize::from(e.len)], &e.ids[..usize::from(e.count)]))
    }

    /// Bytes held by the table now.
    #[cfg(test)]
    pub fn bytes(&self) -> usize {
        std::mem::size_of_val(&*self.tags) + std::mem::size_of_val(&*self.entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_keys_never_return_a_wrong_value() {
        // Far more keys than slots: tags collide often, and only whole keys may answer.
        let key = |i: u32| format!("key number {i:>12}").into_bytes();
        let mut table = LongTable::new(4);
        for i in 0..50_000u32 {
            table.insert(&key(i), &[i, i + 1], i as usize % WAYS);
        }
        let mut found = 0;
        for i in 0..50_000u32 {
            if let Some(ids) = table.get(&key(i)) {
                assert_eq!(ids, [i, i + 1]);
                found += 1;
            }
        }
        assert!(found > 0 && found <= WAYS << 4, "{found}");
        assert_eq!(table.entries().count(), WAYS << 4);
        assert!(table.get(b"never stored").is_none());
    }
}
