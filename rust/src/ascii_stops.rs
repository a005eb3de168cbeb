//! Where a run of ASCII text stops being one chunk, found 64 bytes at a time (chunker.rs).
//!
//! The chunker's byte-by-byte loop ends a chunk on a branch that goes the other way about once per
//! chunk (every few bytes of code). Here the stops of a whole block are computed first, without a
//! branch per byte, into one bit per byte; the chunker then takes each chunk's end from the lowest
//! set bit. A stop is a byte that is not ASCII (the chunker's general path decides there), or an
//! ASCII byte that the ASCII byte before it does not join ([`MergeTable::joins_ascii`]).

use crate::merges::MergeTable;

/// Bytes a block covers: one bit each in a `u64`.
const BLOCK: usize = 64;

/// The stops of the block last computed, reused while the chunker stays inside it.
pub(crate) struct AsciiStops {
    /// The block's first byte. Before the first block, `isize::MAX`: a text holds at most that many
    /// bytes, so no byte's offset from it (wrapping) falls inside a block.
    start: usize,
    /// Bit `k`: byte `start + k` is a stop, or lies past the text's end.
    bits: u64,
    /// Whole blocks are computed with AVX2 ([`block_avx2`]).
    #[cfg(target_arch = "x86_64")]
    avx2: bool,
}

impl Default for AsciiStops {
    fn default() -> Self {
        AsciiStops {
            start: isize::MAX as usize,
            bits: 0,
            #[cfg(target_arch = "x86_64")]
            avx2: std::arch::is_x86_feature_detected!("avx2"),
        }
    }
}

impl AsciiStops {
    /// The first stop at or after byte `i`, or `text.len()` when there is none. The byte before `i`
    /// must be ASCII (so that the stop bit of `i` itself is the right one) and `0 < i < text.len()`.
    #[inline(always)]
    pub fn next(&mut self, table: &MergeTable, text: &[u8], mut i: usize) -> usize {
        loop {
            let offset = i.wrapping_sub(self.start);
            if offset < BLOCK {
                let ahead = self.bits >> offset;
                if ahead != 0 {
                    return (i + ahead.trailing_zeros() as usize).min(text.len());
                }
                i = self.start + BLOCK;
                if i >= text.len() {
                    return text.len();
                }
            }
            self.fill(table, text, i);
        }
    }

    /// How many stops follow each other from byte `i` on, inside the block last computed (0 outside it):
    /// when the bytes before them are ASCII, each of those bytes is a chunk of its own.
    #[inline(always)]
    pub fn run_from(&self, i: usize) -> usize {
        let offset = i.wrapping_sub(self.start);
        if offset >= BLOCK {
            return 0;
        }
        (!(self.bits >> offset)).trailing_zeros() as usize
    }

    /// Computes the stops of the block starting at byte `i` (`0 < i < text.len()`).
    #[inline(never)]
    fn fill(&mut self, table: &MergeTable, text: &[u8], i: usize) {
        let n = (text.len() - i).min(BLOCK);
        // The block and the byte before it.
        let pairs = &text[i - 1..i + n];
        self.start = i;
        // Past the text's end every byte is a stop.
        let past_end = || if n < BLOCK { !0u64 << n } else { 0 };
        #[cfg(target_arch = "x86_64")]
        if self.avx2 {
            if n == BLOCK {
                let pairs: &[u8; BLOCK + 1] = pairs.try_into().expect("a whole block and the byte before it");
                // SAFETY: `avx2` is set only when this CPU has AVX2 (`Default`).
                self.bits = unsafe { block_avx2(table.joins_ascii_words(), pairs) };
            } else {
                // SAFETY: as above.
                self.bits = unsafe { partial_block_avx2(table.joins_ascii_words(), pairs) } | past_end();
            }
            return;
        }
        let mut bits = past_end();
        for (k, pair) in pairs.windows(2).enumerate() {
            bits |= u64::from(is_stop(table, pair[0], pair[1])) << k;
        }
        self.bits = bits;
    }
}

/// Whether ASCII `a` followed by byte `b` ends a run: `b` is not ASCII (the chunker's general path
/// decides there), or `a` does not join `b`. The table is read with 7-bit indexes, so a byte that is
/// not ASCII reads in bounds (its bit never matters: the byte before a stop decides).
#[inline(always)]
fn is_stop(table: &MergeTable, a: u8, b: u8) -> bool {
    b >= 0x80 || !table.joins_ascii(a & 0x7F, b & 0x7F)
}

/// The stops of a whole block (`pairs`: the byte before it, then its 64 bytes), eight pairs at a time:
/// the table's 32-bit words for 8 pairs are gathered by one instruction and each pair's bit shifted
/// down, so no branch depends on the text.
///
/// # Safety
/// The CPU must have AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn block_avx2(words: &[u64; 256], pairs: &[u8; BLOCK + 1]) -> u64 {
    use std::arch::x86_64::{
        __m128i, __m256i, _mm256_and_si256, _mm256_castsi256_ps, _mm256_cmpeq_epi32, _mm256_cvtepu8_epi32,
        _mm256_i32gather_epi32, _mm256_loadu_si256, _mm256_movemask_epi8, _mm256_movemask_ps, _mm256_or_si256,
        _mm256_set1_epi32, _mm256_setzero_si256, _mm256_slli_epi32, _mm256_srli_epi32, _mm256_srlv_epi32,
        _mm_loadl_epi64,
    };
    let low7 = _mm256_set1_epi32(0x7F);
    let low5 = _mm256_set1_epi32(31);
    let one = _mm256_set1_epi32(1);
    let base = pairs.as_ptr();
    // SAFETY: bytes 1..65 of the 65-byte array; unaligned loads read any 32 bytes.
    let not_ascii = unsafe {
        let lo = _mm256_movemask_epi8(_mm256_loadu_si256(base.add(1).cast::<__m256i>())) as u32;
        let hi = _mm256_movemask_epi8(_mm256_loadu_si256(base.add(33).cast::<__m256i>())) as u32;
        u64::from(lo) | u64::from(hi) << 32
    };
    let mut joined = 0u64;
    for g in 0..BLOCK / 8 {
        // SAFETY: bytes 8g..8g + 9 of the 65-byte array (g < 8); `_mm_loadl_epi64` reads 8 bytes at any
        // address.
        let (a, b) = unsafe {
            (
                _mm256_cvtepu8_epi32(_mm_loadl_epi64(base.add(8 * g).cast::<__m128i>())),
                _mm256_cvtepu8_epi32(_mm_loadl_epi64(base.add(8 * g + 1).cast::<__m128i>())),
            )
        };
        let (a, b) = (_mm256_and_si256(a, low7), _mm256_and_si256(b, low7));
        // Bit `b % 64` of u64 word `2a + b / 64` is bit `b % 32` of u32 word `4a + b / 32`.
        let index = _mm256_or_si256(_mm256_slli_epi32::<2>(a), _mm256_srli_epi32::<5>(b));
        // SAFETY: every index is at most 4 * 127 + 3 = 511, inside the table's 512 words of 4 bytes.
        let word = unsafe { _mm256_i32gather_epi32::<4>(words.as_ptr().cast::<i32>(), index) };
        let bit = _mm256_and_si256(_mm256_srlv_epi32(word, _mm256_and_si256(b, low5)), one);
        let no_join = _mm256_cmpeq_epi32(bit, _mm256_setzero_si256());
        let stops = _mm256_movemask_ps(_mm256_castsi256_ps(no_join)) as u64;
        joined |= stops << (8 * g);
    }
    joined | not_ascii
}

/// [`block_avx2`] on a text's last block, shorter than a whole one (all of a short text: most texts of a
/// batch of short lines), copied into a whole one first; the bits past `pairs` are left to the caller.
/// Apart from `fill`, whose whole blocks then need no stack frame for the copy.
///
/// # Safety
/// The CPU must have AVX2.
#[cfg(target_arch = "x86_64")]
#[inline(never)]
unsafe fn partial_block_avx2(words: &[u64; 256], pairs: &[u8]) -> u64 {
    let mut padded = [0u8; BLOCK + 1];
    padded[..pairs.len()].copy_from_slice(pairs);
    // SAFETY: the caller's CPU has AVX2.
    unsafe { block_avx2(words, &padded) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proptests::vocabs;

    /// The first stop at or after `i` by its definition, one byte at a time.
    fn plain_next(table: &MergeTable, text: &[u8], i: usize) -> usize {
        (i..text.len()).find(|&j| text[j] >= 0x80 || !table.joins_ascii(text[j - 1], text[j])).unwrap_or(text.len())
    }

    #[test]
    fn every_stop_is_found_across_blocks() {
        for named in vocabs::all() {
            stops_match_their_definition(&named.encoder.table);
        }
    }

    /// Both ways of computing a block: the scalar loop and, where the CPU has it, AVX2.
    fn both_ways() -> Vec<AsciiStops> {
        let scalar = AsciiStops {
            #[cfg(target_arch = "x86_64")]
            avx2: false,
            ..AsciiStops::default()
        };
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            return vec![scalar, AsciiStops { avx2: true, ..AsciiStops::default() }];
        }
        vec![scalar]
    }

    /// Texts shorter than a block, and the last partial block of longer ones, from every start.
    #[test]
    fn stops_are_found_in_partial_blocks() {
        let line = "    def f(x): return x + 1  # é ok\tdone\n".repeat(4);
        for named in vocabs::all() {
            let table = &named.encoder.table;
            for len in 2..=line.len() {
                let text = &line.as_bytes()[..len];
                for mut stops in both_ways() {
                    for i in (1..len).filter(|&i| text[i - 1] < 0x80) {
                        assert_eq!(stops.next(table, text, i), plain_next(table, text, i), "{len} bytes, from {i}");
                    }
                }
            }
        }
    }

    fn stops_match_their_definition(table: &MergeTable) {
        let mut text = String::new();
        for n in 0..300 {
            text.push_str(
                [
                    "def ",
                    "x",
                    "  ",
                    "é",
                    "return(",
                    "\n",
                    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                    "ab",
                    "\u{7f}{",
                    "中",
                ][n % 10],
            );
        }
        // Every ASCII byte after every byte, the first one not ASCII (its low 7 bits index the table).
        for b in 0..0x80u8 {
            text.extend([char::from(0xC9), char::from(b)]);
        }
        let text = text.as_bytes();
        for mut stops in both_ways() {
            // From every start, in order, as the chunker calls it (the byte before `i` is ASCII).
            for i in 1..text.len() {
                if text[i - 1] < 0x80 {
                    assert_eq!(stops.next(table, text, i), plain_next(table, text, i), "from {i}");
                }
            }
        }
        for mut stops in both_ways() {
            // Jumping ahead, as after a run that is not ASCII.
            for i in (1..text.len()).step_by(97).filter(|&i| text[i - 1] < 0x80) {
                assert_eq!(stops.next(table, text, i), plain_next(table, text, i), "from {i}");
            }
        }
    }
}
