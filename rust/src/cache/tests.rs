//! The memo's tests: sizes, growth, the bypass and its early end, and that no key ever returns another's ids.

use super::key::pack;
use super::*;

/// Bytes held by one cache at full size (its cap).
const FULL_BYTES: usize =
    (16 << HOT_BITS) + ((16 * WAYS) << SHORT_SETS_BITS) + ((64 * WAYS + 2 * WAYS) << LONG_SETS_BITS);

#[test]
fn the_stated_size_is_the_real_size() {
    assert_eq!(std::mem::size_of::<long::LongEntry>(), 64);
    assert_eq!(FULL_BYTES, 3 * 1024 * 1024 + 256 * 1024 + 64 * 1024);
}

#[test]
fn entries_round_trip_and_overflow_is_not_cached() {
    let mut cache = ChunkCache::default();
    let ab = pack(b"ab", 0, 2, false).unwrap();
    cache.insert_short(ab, &[1]);
    cache.insert_long(b"abcdefghij", &[4, 5, 6]);
    cache.insert_long(b"abcdefghijk", &[4, 5, 6, 7, 8, 9, 10]); // seven ids: not cached
    cache.insert_short(pack(b"xyz", 0, 3, false).unwrap(), &[MAX_CACHEABLE_ID + 1]);
    let mut out = Vec::new();
    assert!(cache.get_short(ab, &mut out));
    assert!(cache.get_long(b"abcdefghij", &mut out));
    assert!(!cache.get_long(b"abcdefghijk", &mut out));
    assert!(!cache.get_short(pack(b"abc", 0, 3, false).unwrap(), &mut out));
    assert!(!cache.get_short(pack(b"xyz", 0, 3, false).unwrap(), &mut out));
    assert_eq!(out, vec![1, 4, 5, 6]);
}

#[test]
fn results_too_long_for_a_short_entry_still_round_trip() {
    let mut cache = ChunkCache::default();
    let mut buf = Vec::new();
    let key = memo_key(b"        x", 0, 9, false, &mut buf);
    cache.insert(&key, &[1, 2, 3, 4, 5]);
    let mut out = Vec::new();
    assert!(cache.get(&key, &mut out));
    assert_eq!(out, vec![1, 2, 3, 4, 5]);
}

/// A cache whose first window of lookups all missed (keys 1 to `PROBE_WINDOW`): it is now in a bypass.
fn missed_a_window() -> ChunkCache {
    let mut cache = ChunkCache::default();
    let mut out = Vec::new();
    for i in 1..=u64::from(PROBE_WINDOW) {
        assert!(cache.in_use());
        assert!(!cache.get_short(i, &mut out));
    }
    assert!(cache.bypass_left > 0, "a window of misses starts a bypass");
    cache
}

#[test]
fn a_low_hit_rate_turns_the_memo_off_for_a_while() {
    let (mut cache, mut out) = (missed_a_window(), Vec::new());
    // All misses: a bypass, in which only a sample of the chunks use the memo, and they miss too.
    let mut key = u64::from(PROBE_WINDOW);
    let mut sampled = 0;
    for _ in 0..BYPASS_CHUNKS {
        if cache.in_use() {
            sampled += 1;
            key += 1;
            assert!(!cache.get_short(key, &mut out));
        }
    }
    assert_eq!(sampled, BYPASS_CHUNKS / SAMPLE_EVERY);
    assert!(cache.in_use(), "tries again after the bypass");
}

/// Chunks that repeat again during a bypass (the next document) end it once a window of the sampled
/// lookups hits half the time, long before the bypass would have run out.
#[test]
fn repeating_text_ends_a_bypass_early() {
    let (mut cache, mut out) = (missed_a_window(), Vec::new());
    cache.insert_short(1, &[7]);
    let mut chunks = 0;
    loop {
        let sampled = cache.in_use();
        if sampled && cache.bypass_left == 0 {
            break;
        }
        chunks += 1;
        assert!(chunks < BYPASS_CHUNKS, "the bypass ran its course");
        if sampled {
            assert!(cache.get_short(1, &mut out));
        }
    }
    // A window of sampled hits (the first was in the bypass' first window of samples, or the next).
    assert!(chunks <= 2 * SAMPLE_EVERY * SAMPLE_WINDOW, "{chunks} chunks");
}

/// Text whose sampled lookups hit less than half the time stays in the bypass (hysteresis: it
/// began at under a quarter), so text that hits about a quarter of the time does not go in and out.
#[test]
fn a_third_of_hits_keeps_the_bypass() {
    let (mut cache, mut out) = (missed_a_window(), Vec::new());
    cache.insert_short(1, &[7]);
    let (mut sampled, mut key) = (0u64, 1_000_000u64);
    for _ in 0..BYPASS_CHUNKS - 1 {
        if cache.in_use() {
            sampled += 1;
            key += 1;
            let hit = sampled % 3 == 0;
            assert_eq!(cache.get_short(if hit { 1 } else { key }, &mut out), hit);
        }
    }
    assert!(cache.bypass_left > 0 || !cache.in_use(), "the bypass ended on a third of hits");
}

#[test]
fn many_keys_never_return_a_wrong_value() {
    let mut cache = ChunkCache::default();
    for i in 1..200_000u64 {
        cache.insert_short(i, &[(i % 1000) as u32, 7]);
    }
    let mut out = Vec::new();
    for i in 1..200_000u64 {
        out.clear();
        if cache.get_short(i, &mut out) {
            assert_eq!(out, vec![(i % 1000) as u32, 7]);
        }
    }
}

#[test]
fn a_cache_whose_small_tables_serve_it_or_that_never_hits_stays_small() {
    let lookups = 4 * u64::from(PROBE_WINDOW) * u64::from(GROW_AFTER_WINDOWS);
    let mut cache = ChunkCache::default();
    let mut out = Vec::new();
    for i in 0..lookups {
        let key = 1 + i % 64;
        out.clear();
        if !cache.get_short(key, &mut out) {
            cache.insert_short(key, &[key as u32]);
        }
    }
    assert_eq!(cache.bytes(), FULL_BYTES >> START_SHRINK_BITS);
    let mut never_hits = ChunkCache::default();
    let mut looked_up = 0;
    for i in 1..=lookups * 16 {
        if never_hits.in_use() {
            looked_up += 1;
            assert!(!never_hits.get_short(i, &mut out));
            never_hits.insert_short(i, &[1]);
        }
    }
    assert!(looked_up > u64::from(PROBE_WINDOW) * u64::from(GROW_AFTER_WINDOWS));
    assert_eq!(never_hits.bytes(), FULL_BYTES >> START_SHRINK_BITS);
}

#[test]
fn a_cache_starts_small_and_grows_once_to_its_cap() {
    let mut cache = ChunkCache::default();
    assert_eq!(cache.bytes(), FULL_BYTES >> START_SHRINK_BITS);
    let mut out = Vec::new();
    cache.insert_long(b"abcdefghij", &[4, 5, 6]);
    // Keys seen again and again (hits, so the memo stays on while it grows), and one lookup in 16 a
    // key never stored (misses, so the small tables do not serve the work; nothing is evicted).
    let lookups = u64::from(PROBE_WINDOW) * u64::from(GROW_AFTER_WINDOWS);
    for i in 0..lookups {
        if i % 16 == 15 {
            assert!(!cache.get_long(format!("never stored {i}").as_bytes(), &mut out));
            continue;
        }
        let key = 1 + (i - i / 16) % 64;
        out.clear();
        if !cache.get_short(key, &mut out) {
            cache.insert_short(key, &[key as u32]);
        } else {
            assert_eq!(out, vec![key as u32]);
        }
    }
    assert_eq!(cache.bytes(), FULL_BYTES);
    // The grown cache keeps what the small one held, and then works as before.
    for key in 1..=64 {
        out.clear();
        assert!(cache.get_short(key, &mut out), "key {key} kept");
        assert_eq!(out, vec![key as u32]);
    }
    out.clear();
    assert!(cache.get_long(b"abcdefghij", &mut out), "long entries kept");
    assert_eq!(out, vec![4, 5, 6]);
    out.clear();
    assert!(!cache.get_short(100, &mut out));
    cache.insert_short(100, &[100]);
    assert!(cache.get_short(100, &mut out));
    assert_eq!(out, vec![100]);
    for i in 0..lookups {
        cache.get_short(1 + i % 64, &mut out);
    }
    assert_eq!(cache.bytes(), FULL_BYTES, "grows only once");
}

/// The windows' rule as first written, counting lookups up: whether a bypass is on after each lookup,
/// and whether the tables grew. [`ChunkCache`] counts down instead; the two must agree step by step.
struct CountingUp {
    probes: u32,
    hits: u32,
    bypass_left: u32,
    grow_windows: u32,
    grown: bool,
}

impl CountingUp {
    fn in_use(&mut self) -> bool {
        if self.bypass_left > 0 {
            self.bypass_left -= 1;
            return self.bypass_left.is_multiple_of(SAMPLE_EVERY);
        }
        true
    }

    fn record(&mut self, hit: bool) {
        self.probes += 1;
        self.hits += u32::from(hit);
        let window = if self.bypass_left > 0 { SAMPLE_WINDOW } else { PROBE_WINDOW };
        if self.probes < window {
            return;
        }
        if self.bypass_left > 0 {
            if self.hits >= SAMPLE_WINDOW / 2 {
                self.bypass_left = 0;
            }
        } else if self.hits < PROBE_WINDOW / 4 {
            self.bypass_left = BYPASS_CHUNKS;
        } else if !self.grown && self.probes - self.hits > GROW_MISSES {
            self.grow_windows += 1;
            self.grown = self.grow_windows >= GROW_AFTER_WINDOWS;
        }
        (self.probes, self.hits) = (0, 0);
    }
}

#[test]
fn the_windows_count_as_the_rule_says() {
    // Runs of chunks that hit at one rate, then another: in and out of bypasses, and growing.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut random = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let (mut cache, mut rule) =
        (ChunkCache::default(), CountingUp { probes: 0, hits: 0, bypass_left: 0, grow_windows: 0, grown: false });
    let (mut out, mut fresh) = (Vec::new(), 1u64 << 40);
    let seen = 1u64;
    cache.insert_short(seen, &[1]);
    for step in 0..400_000 {
        let percent = [0, 10, 30, 50, 90, 100][(step / 20_000) % 6];
        let used = cache.in_use();
        assert_eq!(used, rule.in_use(), "step {step}");
        if used {
            let hit = random() % 100 < percent;
            fresh += 1;
            let key = if hit { seen } else { fresh };
            assert_eq!(cache.get_short(key, &mut out), hit, "step {step}");
            rule.record(hit);
            if !hit {
                cache.insert_short(fresh, &[2]);
                cache.insert_short(seen, &[1]);
            }
        }
        assert_eq!(cache.bypass_left, rule.bypass_left, "step {step}");
        assert_eq!(cache.hot.len() == 1 << HOT_BITS, rule.grown, "step {step}");
        out.clear();
    }
    assert!(rule.grown, "the run grew the tables (the test covers growing)");
}
