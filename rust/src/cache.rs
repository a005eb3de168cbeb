//! A fixed-size memo of chunk → ids, one per thread and tokenizer, so the shared tokenizer stays
//! immutable and lock-free. Chunks repeat heavily in code, and a few thousand distinct ones make up
//! most of it (see docs/architecture-core.md, "The chunk cache"; the keys are in `cache/key.rs`).
//!
//! Tables have a fixed size and entries are overwritten, never freed: the memory of a cache is
//! capped (3.3 MiB), nothing is allocated per chunk, and random text that never repeats costs no
//! rehashing. A new cache starts at 1/16 of that size and grows once, after a first stretch of work
//! that the small tables could not serve, keeping what it learned (see [`START_SHRINK_BITS`]). Three
//! tables, at full size:
//! - `hot`: direct-mapped, 16k slots (256 KiB, fits a core's L2), for chunks of up to 8 bytes;
//! - `short`: 4-way set-associative, 64k slots (1 MiB), behind `hot`, same keys;
//! - `long` (`cache/long.rs`): 4-way set-associative, 32k slots of one cache line each (2 MiB) behind
//!   16-bit tags (64 KiB), keys of 9 to 32 bytes and
//!   up to six ids stored inline.
//!
//! Short values hold up to three ids, long ones six; longer results are not cached.
//!
//! On text that does not repeat (random base64, hashes) the memo costs more than it saves, so it
//! watches its own hit rate: below a quarter it steps aside for a while, then tries again, or sooner
//! when a sample of the chunks it skips shows that they repeat again.

use std::cell::RefCell;

use key::overflow_key;
pub use key::{memo_key, pack_plain, MemoKey};
use long::{LongTable, LONG_IDS};

mod key;
mod long;

const HOT_BITS: u32 = 14;
const SHORT_SETS_BITS: u32 = 14;
const LONG_SETS_BITS: u32 = 13;
/// A new cache starts this many bits smaller in every table (1/16 of the size, 208 KiB), and grows
/// to full size once it has served [`GROW_AFTER_WINDOWS`] windows of lookups with more than
/// [`GROW_MISSES`] misses each, and hits enough not to be skipped (text that never repeats would not
/// hit in bigger tables either). Clearing the full tables costs more than encoding a small text, and
/// their fresh pages are faulted in one by one as they are first touched: a short-lived or lightly
/// used thread, or one whose chunks the small tables hold (minified code of a few repeated
/// fragments), should not pay for them, and a busy one pays once, after enough work to make it
/// negligible.
const START_SHRINK_BITS: u32 = 4;
/// 16 windows of [`PROBE_WINDOW`] lookups: about 32k chunks.
const GROW_AFTER_WINDOWS: u32 = 16;
/// A window counts towards growing when it missed more than this (1/32 of its lookups): the small
/// tables already serve a window that misses less, and growing would save at most those merges.
const GROW_MISSES: u32 = PROBE_WINDOW / 32;
const WAYS: usize = 4;
/// Chunks longer than this are not remembered (rare, and they seldom repeat).
pub const MAX_KEY_BYTES: usize = 32;
/// Ids must fit 20 bits to be packed three to a value.
pub const MAX_CACHEABLE_ID: u32 = (1 << ID_BITS) - 1;
const ID_BITS: u32 = 20;
/// Tokenizers remembered per thread; the least recently used beyond this is dropped.
const PER_THREAD: usize = 4;
/// The hit rate is judged over this many lookups...
const PROBE_WINDOW: u32 = 2048;
/// ...and when under a quarter, the memo is skipped for this many chunks,
const BYPASS_CHUNKS: u32 = 32 * 1024;
/// ...but for one chunk in this many, whose lookups are judged by windows of [`SAMPLE_WINDOW`]: a window
/// that hits half the time ends the bypass (more than the quarter that starts one, so that text which
/// hits about a quarter of the time does not go in and out).
const SAMPLE_EVERY: u32 = 32;
const SAMPLE_WINDOW: u32 = 64;
/// Marks an empty slot: no chunk packs to 0 (see [`key::pack`]).
const EMPTY: u64 = 0;

/// Packs 1 to 3 ids (each below 2^20) into a non-zero u64: the count in the top 2 bits.
#[inline]
fn pack_ids(ids: &[u32]) -> Option<u64> {
    if ids.is_empty() || ids.len() > 3 || ids.iter().any(|&id| id > MAX_CACHEABLE_ID) {
        return None;
    }
    let mut v = (ids.len() as u64) << 62;
    for (i, &id) in ids.iter().enumerate() {
        v |= u64::from(id) << (ID_BITS * i as u32);
    }
    Some(v)
}

#[inline]
fn unpack_ids(v: u64, out: &mut Vec<u32>) {
    let n = (v >> 62) as u32;
    let mask = (1u64 << ID_BITS) - 1;
    out.push((v & mask) as u32);
    if n > 1 {
        out.push((v >> ID_BITS & mask) as u32);
        if n > 2 {
            out.push((v >> (2 * ID_BITS) & mask) as u32);
        }
    }
}

#[inline]
fn mix(x: u64) -> u64 {
    x.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Tables start as zeroed memory, which is every slot empty, with no fill loop of our own (the
/// allocator may still clear the pages: glibc does for heap memory, hence the small start).
fn empty_table<T: ZeroIsEmpty>(len: usize) -> Box<[T]> {
    // SAFETY: `T: ZeroIsEmpty` promises that all-zero bytes are a valid (empty) `T`.
    unsafe { Box::<[T]>::new_zeroed_slice(len).assume_init() }
}

/// # Safety
/// All-zero bytes must be a valid value of the type (plain integers and arrays of them).
unsafe trait ZeroIsEmpty {}
// SAFETY: integers only.
unsafe impl ZeroIsEmpty for (u64, u64) {}

pub struct ChunkCache {
    /// Index masks of each table: indexes are taken from the hash bits a full-size table would
    /// use (constant shifts), then masked to the current size (see [`START_SHRINK_BITS`]).
    hot_mask: usize,
    short_sets_mask: usize,
    /// Full probe windows served so far (counted while the tables are small).
    windows: u32,
    /// `(packed key, value)`; `EMPTY` keys mark free slots.
    hot: Box<[(u64, u64)]>,
    short: Box<[(u64, u64)]>,
    long: LongTable,
    /// Round-robin victim within a set, so a new key does not always evict the same way.
    victim: usize,
    /// Lookups left in the window being judged: of [`PROBE_WINDOW`], or of [`SAMPLE_WINDOW`] during a
    /// bypass. Counted down, so that a lookup costs a decrement and a test (it is on every chunk's path).
    probes_left: u32,
    hits: u32,
    /// Chunks left to encode without the memo (after a window with a low hit rate).
    bypass_left: u32,
}

impl Default for ChunkCache {
    fn default() -> Self {
        ChunkCache::with_shrink(START_SHRINK_BITS)
    }
}

impl ChunkCache {
    /// Empty tables, `shrink` bits smaller than full size.
    fn with_shrink(shrink: u32) -> Self {
        let (hot_bits, short_sets_bits, long_sets_bits) =
            (HOT_BITS - shrink, SHORT_SETS_BITS - shrink, LONG_SETS_BITS - shrink);
        ChunkCache {
            hot_mask: (1 << hot_bits) - 1,
            short_sets_mask: (1 << short_sets_bits) - 1,
            windows: 0,
            hot: empty_table(1 << hot_bits),
            short: empty_table(WAYS << short_sets_bits),
            long: LongTable::new(long_sets_bits),
            victim: 0,
            probes_left: PROBE_WINDOW,
            hits: 0,
            bypass_left: 0,
        }
    }

    /// Bytes held by the tables now.
    #[cfg(test)]
    fn bytes(&self) -> usize {
        std::mem::size_of_val(&*self.hot) + std::mem::size_of_val(&*self.short) + self.long.bytes()
    }

    /// At the end of a window in which the memo stays on: counts the window if it missed more than
    /// [`GROW_MISSES`], and after [`GROW_AFTER_WINDOWS`] of them trades the small tables for full-size
    /// ones and moves what they hold over, so that the chunks learned first are not merged again.
    fn grow_when_due(&mut self) {
        if self.hot.len() < 1 << HOT_BITS && PROBE_WINDOW - self.hits > GROW_MISSES {
            self.windows += 1;
            if self.windows >= GROW_AFTER_WINDOWS {
                let full = ChunkCache { bypass_left: self.bypass_left, ..ChunkCache::with_shrink(0) };
                let small = std::mem::replace(self, full);
                self.adopt(&small);
            }
        }
    }

    /// Copies every entry of `small` into these tables: the short table's entries as inserted, then
    /// the hot table's into the hot table only (they are the most recently used, and most are in the
    /// short table already), then the long table's.
    fn adopt(&mut self, small: &ChunkCache) {
        for &(packed, value) in small.short.iter().filter(|(k, _)| *k != EMPTY) {
            self.put_short(packed, value);
        }
        for &(packed, value) in small.hot.iter().filter(|(k, _)| *k != EMPTY) {
            let slot = self.hot_slot(mix(packed));
            self.hot[slot] = (packed, value);
        }
        for (key, ids) in small.long.entries() {
            self.insert_long(key, ids);
        }
    }

    /// Whether the next chunk should use the memo at all (see the module notes).
    #[inline]
    pub fn in_use(&mut self) -> bool {
        if self.bypass_left > 0 {
            self.bypass_left -= 1;
            if self.bypass_left == 0 {
                // The bypass ran out: the window of samples in progress goes on as a whole window.
                self.probes_left += PROBE_WINDOW - SAMPLE_WINDOW;
            }
            // A sample of the chunks still uses the memo, so that text which repeats again (the next
            // document) ends the bypass early.
            return self.bypass_left.is_multiple_of(SAMPLE_EVERY);
        }
        true
    }

    /// Counts a lookup, and judges the window when it is the window's last.
    #[inline(always)]
    fn record(&mut self, hit: bool) {
        self.hits += u32::from(hit);
        self.probes_left -= 1;
        if self.probes_left == 0 {
            self.end_window();
        }
    }

    /// A window of samples that hits half the time ends a bypass; outside one, a window that hits under
    /// a quarter of the time starts one, and any other may grow the tables.
    #[inline(never)]
    fn end_window(&mut self) {
        if self.bypass_left > 0 {
            if self.hits >= SAMPLE_WINDOW / 2 {
                self.bypass_left = 0;
            }
        } else if self.hits < PROBE_WINDOW / 4 {
            self.bypass_left = BYPASS_CHUNKS;
        } else {
            self.grow_when_due();
        }
        self.hits = 0;
        self.probes_left = if self.bypass_left > 0 { SAMPLE_WINDOW } else { PROBE_WINDOW };
    }

    #[inline]
    fn next_victim(&mut self) -> usize {
        self.victim = (self.victim + 1) % WAYS;
        self.victim
    }

    /// Appends the cached ids of a chunk to `out`; false when absent.
    #[inline]
    pub fn get(&mut self, key: &MemoKey<'_>, out: &mut Vec<u32>) -> bool {
        match *key {
            MemoKey::Short(p) => self.get_short(p, out) || self.get_long(&overflow_key(p), out),
            MemoKey::Long(k) => self.get_long(k, out),
        }
    }

    /// Remembers the ids of a chunk (unless they are too many to keep inline).
    pub fn insert(&mut self, key: &MemoKey<'_>, ids: &[u32]) {
        match *key {
            MemoKey::Short(p) if pack_ids(ids).is_some() => self.insert_short(p, ids),
            MemoKey::Short(p) => self.insert_long(&overflow_key(p), ids),
            MemoKey::Long(k) => self.insert_long(k, ids),
        }
    }

    /// The hot table alone: appends the cached ids of a packed short key to `out` when the memo is in
    /// use and the key is there. False leaves the chunk to [`ChunkCache::in_use`] and
    /// [`ChunkCache::get`], which count the lookup.
    #[inline(always)]
    pub fn get_hot(&mut self, packed: u64, out: &mut Vec<u32>) -> bool {
        self.bypass_left == 0 && self.hit_hot(packed, self.hot_slot(mix(packed)), out)
    }

    /// Appends the ids of a packed short key found in the hot table at `slot` (its [`Self::hot_slot`]),
    /// counting the hit.
    #[inline(always)]
    fn hit_hot(&mut self, packed: u64, slot: usize, out: &mut Vec<u32>) -> bool {
        let (k, v) = self.hot[slot];
        if k != packed {
            return false;
        }
        unpack_ids(v, out);
        self.record(true);
        true
    }

    /// Appends the cached ids of a packed short chunk to `out`; false when absent.
    #[inline]
    fn get_short(&mut self, packed: u64, out: &mut Vec<u32>) -> bool {
        let h = mix(packed);
        let slot = self.hot_slot(h);
        if self.hit_hot(packed, slot, out) {
            return true;
        }
        let set = self.short_set(h);
        for &(k, v) in &self.short[set..set + WAYS] {
            if k == packed {
                self.hot[slot] = (packed, v);
                unpack_ids(v, out);
                self.record(true);
                return true;
            }
        }
        self.record(false);
        false
    }

    fn insert_short(&mut self, packed: u64, ids: &[u32]) {
        if let Some(value) = pack_ids(ids) {
            self.put_short(packed, value);
        }
    }

    /// Stores a packed key and its packed ids in the hot table and the short one.
    fn put_short(&mut self, packed: u64, value: u64) {
        debug_assert_ne!(packed, EMPTY);
        let h = mix(packed);
        let slot = self.hot_slot(h);
        self.hot[slot] = (packed, value);
        let set = self.short_set(h);
        let way = self.next_victim();
        self.short[set + way] = (packed, value);
    }

    /// A short key's slot in the hot table, from its hash (the top bits).
    #[inline]
    fn hot_slot(&self, h: u64) -> usize {
        (h >> (64 - HOT_BITS)) as usize & self.hot_mask
    }

    /// The first slot of a short key's set, from its hash (bits below the hot table's).
    #[inline]
    fn short_set(&self, h: u64) -> usize {
        ((h >> (64 - HOT_BITS - SHORT_SETS_BITS)) as usize & self.short_sets_mask) * WAYS
    }

    /// Appends the cached ids of a longer chunk (its normalized bytes) to `out`.
    #[inline]
    fn get_long(&mut self, key: &[u8], out: &mut Vec<u32>) -> bool {
        if key.len() > MAX_KEY_BYTES {
            return false;
        }
        let hit = match self.long.get(key) {
            Some(ids) => {
                out.extend_from_slice(ids);
                true
            }
            None => false,
        };
        self.record(hit);
        hit
    }

    fn insert_long(&mut self, key: &[u8], ids: &[u32]) {
        if key.len() > MAX_KEY_BYTES || ids.is_empty() || ids.len() > LONG_IDS {
            return;
        }
        let way = self.next_victim();
        self.long.insert(key, ids, way);
    }
}

thread_local! {
    static CACHES: RefCell<Vec<(u64, Box<ChunkCache>)>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with this thread's cache for the tokenizer `owner`.
pub fn with_cache<R>(owner: u64, f: impl FnOnce(&mut ChunkCache) -> R) -> R {
    CACHES.with(|caches| {
        let mut caches = caches.borrow_mut();
        let index = match caches.iter().position(|(o, _)| *o == owner) {
            Some(i) => i,
            None => {
                if caches.len() >= PER_THREAD {
                    caches.remove(0);
                }
                caches.push((owner, Box::default()));
                caches.len() - 1
            }
        };
        // Most recently used last, so eviction drops the stalest.
        caches[index..].rotate_left(1);
        let last = caches.len() - 1;
        f(&mut caches[last].1)
    })
}

#[cfg(test)]
mod tests;
