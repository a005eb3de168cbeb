//! A bounded memo of whole documents → ids, for texts encoded one call at a time (the bindings'
//! `encode` and `count`) by a tokenizer that asked for one (`Tokenizer::with_document_cache`): a second
//! pass over the same files (an epoch of on-the-fly tokenization, a prompt sent again) copies the ids
//! instead of encoding. The chunk memo (`cache.rs`) already makes repeats cheap inside a document;
//! this one skips the document's whole pipeline. Off by default: keeping every document costs a
//! first pass the copies and, mostly, the fresh memory they fill (benches/results/notes.md).
//!
//! Exact by construction: an entry is found only by the whole text (compared byte for byte after the
//! hash) and the encode options, and a tokenizer with other tokens (`with_special_tokens`,
//! `with_added_tokens`) gets a cache of its own. Batches do not use it: dataset jobs rarely repeat a
//! document and would only pay the copies.
//!
//! No copy of a text whose owner keeps it alive and unchanged: the bindings hand over a Python `str`
//! (immutable) as a [`HeldText`], which the cache holds instead of copying it (a first pass then only
//! copies the ids). Any other text is copied.
//!
//! Bounded: at most its capacity of texts and ids (ids stored as `u16` when the vocabulary allows);
//! when an entry would not fit, every entry is dropped and filling starts again. Only texts of
//! [`MIN_BYTES`] to a sixteenth of the capacity are kept: below, the bookkeeping is a visible share of
//! the encoding it would save; above, one document would crowd out the rest.
//!
//! Never waited on: a thread that finds the table in use (another thread copying an entry in or out)
//! encodes as if it had missed, so threads do not queue behind each other, and a child forked while
//! another thread held the lock is not stuck on it.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Mutex, TryLockError};

use foldhash::fast::RandomState;

use crate::special::SpecialMode;
use crate::tokenizer::EncodeOptions;

/// Shorter texts are not kept.
pub const MIN_BYTES: usize = 1024;
/// What an entry costs besides its text and ids: the table's slot and two allocations' headers.
const ENTRY_OVERHEAD: usize = 64;
/// One table per combination of [`EncodeOptions`]: 3 modes × with or without the dummy prefix.
const OPTION_KINDS: usize = 6;

/// The ids of one document: two bytes each when every id of the vocabulary fits.
enum StoredIds {
    Narrow(Box<[u16]>),
    Wide(Box<[u32]>),
}

impl StoredIds {
    fn new(ids: &[u32], narrow: bool) -> StoredIds {
        if narrow {
            StoredIds::Narrow(ids.iter().map(|&id| id as u16).collect())
        } else {
            StoredIds::Wide(ids.into())
        }
    }

    fn bytes(&self) -> usize {
        match self {
            StoredIds::Narrow(ids) => 2 * ids.len(),
            StoredIds::Wide(ids) => 4 * ids.len(),
        }
    }

    fn append_to(&self, out: &mut Vec<u32>) {
        match self {
            StoredIds::Narrow(ids) => out.extend(ids.iter().map(|&id| u32::from(id))),
            StoredIds::Wide(ids) => out.extend_from_slice(ids),
        }
    }
}

/// A text its owner keeps alive and unchanged for as long as this handle lives, so that the cache can
/// hold the handle instead of a copy.
pub trait HeldText: Send + Sync {
    fn text(&self) -> &str;
}

/// A kept document's text: the cache's copy, or a handle on its owner's. Hashed and compared as the
/// text, so that a lookup by `&str` finds it.
enum Key {
    Copied(Box<str>),
    Held(Box<dyn HeldText>),
}

impl Key {
    fn text(&self) -> &str {
        match self {
            Key::Copied(text) => text,
            Key::Held(held) => held.text(),
        }
    }
}

impl Borrow<str> for Key {
    fn borrow(&self) -> &str {
        self.text()
    }
}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.text().hash(state);
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        self.text() == other.text()
    }
}

impl Eq for Key {}

#[derive(Default)]
struct Table {
    by_options: [HashMap<Key, StoredIds, RandomState>; OPTION_KINDS],
    bytes: usize,
}

/// See the module's documentation.
pub struct DocumentCache {
    table: Mutex<Table>,
    /// Every id of the vocabulary fits a `u16`.
    narrow: bool,
    /// The most bytes of texts, ids and overhead held.
    capacity: usize,
}

fn kind(opts: EncodeOptions) -> usize {
    let mode = match opts.mode {
        SpecialMode::Legacy => 0,
        SpecialMode::NonLegacy => 1,
        SpecialMode::Literal => 2,
    };
    2 * mode + usize::from(opts.dummy_prefix)
}

impl DocumentCache {
    /// An empty cache of `capacity` bytes for a tokenizer of `vocab_len` ids.
    pub fn new(vocab_len: usize, capacity: usize) -> DocumentCache {
        DocumentCache { table: Mutex::default(), narrow: vocab_len <= 1 << 16, capacity }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Whether a text of this length is kept.
    fn keeps(&self, text: &str) -> bool {
        (MIN_BYTES..=self.capacity / 16).contains(&text.len())
    }

    /// The table, unless another thread holds it. A poisoned lock (a panic while copying, which only
    /// an allocation failure could cause) is taken as it is: entries are inserted whole or not at all.
    fn try_table(&self) -> Option<std::sync::MutexGuard<'_, Table>> {
        match self.table.try_lock() {
            Ok(table) => Some(table),
            Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
            Err(TryLockError::WouldBlock) => None,
        }
    }

    /// Appends the ids of `text` to `out` if they are kept; says whether they were.
    pub fn recall(&self, text: &str, opts: EncodeOptions, out: &mut Vec<u32>) -> bool {
        if !self.keeps(text) {
            return false;
        }
        let Some(table) = self.try_table() else { return false };
        table.by_options[kind(opts)].get(text).map(|ids| ids.append_to(out)).is_some()
    }

    /// Keeps `ids` as the whole encoding of `text` with `opts` (the caller's promise: they are what
    /// `encode` gave, complete, for this tokenizer). The text is held by the handle `held` gives (asked
    /// only if the text is kept; it must hold `text`), or copied when it gives none.
    pub fn remember(
        &self,
        text: &str,
        opts: EncodeOptions,
        ids: &[u32],
        held: impl FnOnce() -> Option<Box<dyn HeldText>>,
    ) {
        if !self.keeps(text) {
            return;
        }
        let stored = StoredIds::new(ids, self.narrow);
        // At most 5/16 of the capacity plus the overhead (an id covers at least one byte): it fits.
        let cost = text.len() + stored.bytes() + ENTRY_OVERHEAD;
        let Some(mut table) = self.try_table() else { return };
        if table.bytes + cost > self.capacity {
            *table = Table::default();
        }
        let key = match held() {
            Some(held) => {
                debug_assert_eq!(held.text(), text, "a held text is the text encoded");
                Key::Held(held)
            }
            None => Key::Copied(text.into()),
        };
        if table.by_options[kind(opts)].insert(key, stored).is_none() {
            table.bytes += cost;
        }
    }

    /// Bytes held (texts, ids and the per-entry overhead).
    #[cfg(test)]
    fn held_bytes(&self) -> usize {
        self.table.lock().map_or_else(|p| p.into_inner().bytes, |t| t.bytes)
    }

    /// How many documents are held.
    #[cfg(test)]
    fn documents(&self) -> usize {
        let count = |t: &Table| t.by_options.iter().map(HashMap::len).sum();
        self.table.lock().map_or_else(|p| count(&p.into_inner()), |t| count(&t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAPACITY_BYTES: usize = 64 << 20;
    const MAX_BYTES: usize = CAPACITY_BYTES / 16;

    const LEGACY: EncodeOptions = EncodeOptions { mode: SpecialMode::Legacy, dummy_prefix: true };

    /// A text of `len` bytes, different for every seed.
    fn doc(seed: usize, len: usize) -> String {
        let mut text = format!("{seed:08}");
        text.extend((text.len()..len).map(|i| char::from(b'a' + (i * 7 % 26) as u8)));
        text.truncate(len);
        text
    }

    #[test]
    fn recalls_exactly_what_was_remembered_for_the_same_options() {
        let cache = DocumentCache::new(32_016, CAPACITY_BYTES);
        let text = doc(1, 2000);
        let ids: Vec<u32> = (0..700).map(|i| i * 45 % 32_016).collect();
        cache.remember(&text, LEGACY, &ids, || None);
        let mut out = vec![9];
        assert!(cache.recall(&text, LEGACY, &mut out));
        assert_eq!(out[1..], ids[..]);
        assert_eq!(out[0], 9, "recall appends");
        for opts in [
            EncodeOptions { mode: SpecialMode::Legacy, dummy_prefix: false },
            EncodeOptions { mode: SpecialMode::NonLegacy, dummy_prefix: true },
            EncodeOptions { mode: SpecialMode::Literal, dummy_prefix: true },
        ] {
            assert!(!cache.recall(&text, opts, &mut out), "{opts:?} found the legacy entry");
        }
        let mut other = text.clone();
        other.pop();
        other.push('#');
        assert!(!cache.recall(&other, LEGACY, &mut out), "a text differing in its last byte was found");
        assert!(!cache.recall(&text[..1999], LEGACY, &mut out), "a prefix was found");
    }

    #[test]
    fn wide_vocabularies_keep_ids_past_u16() {
        let cache = DocumentCache::new(200_000, CAPACITY_BYTES);
        let text = doc(2, 1500);
        let ids = vec![0, 65_535, 65_536, 199_999];
        cache.remember(&text, LEGACY, &ids, || None);
        let mut out = Vec::new();
        assert!(cache.recall(&text, LEGACY, &mut out));
        assert_eq!(out, ids);
    }

    #[test]
    fn keeps_only_texts_of_the_sizes_it_serves() {
        let cache = DocumentCache::new(32_016, CAPACITY_BYTES);
        for len in [0, MIN_BYTES - 1, MAX_BYTES + 1] {
            cache.remember(&doc(3, len), LEGACY, &[1], || None);
        }
        assert_eq!(cache.documents(), 0);
        cache.remember(&doc(3, MIN_BYTES), LEGACY, &[1], || None);
        cache.remember(&doc(3, MAX_BYTES), LEGACY, &[1], || None);
        assert_eq!(cache.documents(), 2);
    }

    #[test]
    fn never_holds_more_than_its_capacity() {
        let cache = DocumentCache::new(32_016, CAPACITY_BYTES);
        let len = 256 << 10;
        let ids = vec![7u32; len];
        let mut most = 0;
        for seed in 0..2 * CAPACITY_BYTES / len {
            cache.remember(&doc(seed, len), LEGACY, &ids, || None);
            most = most.max(cache.held_bytes());
            assert!(cache.held_bytes() <= CAPACITY_BYTES);
        }
        assert!(most > CAPACITY_BYTES / 2, "it filled to {most} bytes only");
        let last = doc(2 * CAPACITY_BYTES / len - 1, len);
        let mut out = Vec::new();
        assert!(cache.recall(&last, LEGACY, &mut out), "the newest document was dropped");
        assert_eq!(out, ids);
    }

    #[test]
    fn a_busy_table_is_a_miss_not_a_wait() {
        let cache = DocumentCache::new(32_016, CAPACITY_BYTES);
        let text = doc(4, 4096);
        cache.remember(&text, LEGACY, &[1, 2, 3], || None);
        let held = cache.table.lock().unwrap();
        let mut out = Vec::new();
        assert!(!cache.recall(&text, LEGACY, &mut out));
        cache.remember(&doc(5, 4096), LEGACY, &[4], || None);
        drop(held);
        assert!(cache.recall(&text, LEGACY, &mut out));
        assert_eq!(cache.documents(), 1, "an insert made while the table was busy went in");
    }

    /// A text shared with the test, so that the test sees whether the cache holds it.
    struct Shared(std::sync::Arc<str>);

    impl HeldText for Shared {
        fn text(&self) -> &str {
            &self.0
        }
    }

    #[test]
    fn a_held_text_is_held_not_copied_found_by_its_bytes_and_let_go_when_dropped() {
        let cache = DocumentCache::new(32_016, CAPACITY_BYTES);
        let text: std::sync::Arc<str> = doc(6, 3000).into();
        let held = || Some(Box::new(Shared(text.clone())) as Box<dyn HeldText>);
        cache.remember(&text, LEGACY, &[5, 6], held);
        assert_eq!(std::sync::Arc::strong_count(&text), 2, "the cache holds the text");
        let mut out = Vec::new();
        assert!(cache.recall(&doc(6, 3000), LEGACY, &mut out), "another string of the same bytes finds it");
        assert_eq!(out, [5, 6]);
        cache.remember(&text, LEGACY, &[5, 6], held);
        assert_eq!(std::sync::Arc::strong_count(&text), 2, "a second insert of the same text holds it once");
        cache.remember(&text[..100], LEGACY, &[1], || panic!("a text the cache does not keep asked for a handle"));
        let filler = vec![7u32; MAX_BYTES / 4];
        for seed in 0..40 {
            cache.remember(&doc(100 + seed, MAX_BYTES), LEGACY, &filler, || None);
        }
        assert!(!cache.recall(&text, LEGACY, &mut out), "the cache was emptied when it filled");
        assert_eq!(std::sync::Arc::strong_count(&text), 1, "and let the held text go");
    }

    #[test]
    fn a_text_without_a_handle_is_copied() {
        let cache = DocumentCache::new(32_016, CAPACITY_BYTES);
        let text = doc(7, 2000);
        cache.remember(&text, LEGACY, &[3], || None);
        drop(text);
        let mut out = Vec::new();
        assert!(cache.recall(&doc(7, 2000), LEGACY, &mut out));
        assert_eq!(out, [3]);
    }
}
