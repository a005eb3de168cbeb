//! A bounded memo of chunk → ids, one per thread and tokenizer, so the shared tokenizer stays
//! immutable and lock-free. Chunks repeat heavily in code (the 10,000 most common cover ~98%).

use std::cell::RefCell;

use rustc_hash::FxHashMap;

/// Entries per cache before it is emptied; ~40 bytes each, so about 10 MiB per thread at most.
pub const MAX_ENTRIES: usize = 1 << 18;
/// Chunks longer than this are not remembered (they are rare and would bloat the cache).
pub const MAX_KEY_BYTES: usize = 64;
/// Tokenizers remembered per thread; the least recently used beyond this is dropped.
const PER_THREAD: usize = 4;

#[derive(Default)]
pub struct ChunkCache {
    /// Keys of up to 15 bytes packed with their length into a u128.
    short: FxHashMap<u128, u64>,
    long: FxHashMap<Box<[u8]>, u64>,
    /// Ids of results longer than one token.
    arena: Vec<u32>,
}

/// A cached value: one id inline, or a range of the arena. The top bit says which.
const INLINE: u64 = 1 << 63;

#[inline]
fn pack_short(key: &[u8]) -> Option<u128> {
    if key.len() > 15 {
        return None;
    }
    let mut buf = [0u8; 16];
    buf[..key.len()].copy_from_slice(key);
    buf[15] = key.len() as u8;
    Some(u128::from_le_bytes(buf))
}

impl ChunkCache {
    /// Appends the cached ids of `key` to `out`; false when absent.
    #[inline]
    pub fn get_into(&self, key: &[u8], out: &mut Vec<u32>) -> bool {
        let value = match pack_short(key) {
            Some(k) => self.short.get(&k),
            None => self.long.get(key),
        };
        match value {
            None => false,
            Some(&v) if v & INLINE != 0 => {
                out.push(v as u32);
                true
            }
            Some(&v) => {
                let (start, len) = ((v & 0xffff_ffff) as usize, (v >> 32) as usize);
                out.extend_from_slice(&self.arena[start..start + len]);
                true
            }
        }
    }

    pub fn insert(&mut self, key: &[u8], ids: &[u32]) {
        if key.len() > MAX_KEY_BYTES {
            return;
        }
        if self.len() >= MAX_ENTRIES || self.arena.len() >= MAX_ENTRIES * 4 {
            self.clear();
        }
        let value = if ids.len() == 1 {
            INLINE | u64::from(ids[0])
        } else {
            let start = self.arena.len() as u64;
            self.arena.extend_from_slice(ids);
            (ids.len() as u64) << 32 | start
        };
        match pack_short(key) {
            Some(k) => {
                self.short.insert(k, value);
            }
            None => {
                self.long.insert(key.into(), value);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.short.len() + self.long.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn clear(&mut self) {
        self.short.clear();
        self.long.clear();
        self.arena.clear();
    }
}

thread_local! {
    static CACHES: RefCell<Vec<(u64, ChunkCache)>> = const { RefCell::new(Vec::new()) };
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
                caches.push((owner, ChunkCache::default()));
                caches.len() - 1
            }
        };
        // Most recently used last, so eviction drops the stalest.
        caches[index..].rotate_left(1);
        let last = caches.len() - 1;
        f(&mut caches[last].1)
    })
}
