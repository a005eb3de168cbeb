//! A gzip member whose deflate stream codes every byte as a literal, with one Huffman code built for
//! the block (RFC 1951's dynamic block, no matches). The `.csv.gz` of `--format npy` is digits, commas
//! and line ends: a code of a few bits per character compresses it to under half its size, and coding
//! it is a table load and a shift per byte, where libdeflate's fastest level, searching for matches,
//! cost about a fifth of the encoding's CPU on corpora of short documents. It is a plain dynamic block,
//! with the two unused distance codes zlib itself writes, so any inflater reads it (the tests read it with
//! libdeflate; Python's `gzip` and OLMo-core read the files the npy writer makes).

/// The end-of-block symbol; literals are 0-255.
const END: usize = 256;
/// Literal/length codes written: the literals and the end of block.
const LITERALS: usize = 257;
/// Distance codes written: two of one bit, none used (as zlib's encoder writes a block without matches).
const DISTANCES: usize = 2;
/// Longest codes deflate allows for literals and for the code-length alphabet.
const MAX_LITERAL_BITS: u8 = 15;
const MAX_LENGTH_CODE_BITS: u8 = 7;
/// The order the code-length alphabet's own lengths are written in (RFC 1951, 3.2.7).
const LENGTH_CODE_ORDER: [usize; 19] = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/// Bits written least significant first, as deflate packs them, into a buffer sized beforehand.
struct Bits<'a> {
    buf: &'a mut [u8],
    /// Bytes of `buf` written.
    at: usize,
    word: u64,
    count: u32,
}

impl Bits<'_> {
    /// Writes the low `len` bits of `value` (`len` at most 32).
    #[inline(always)]
    fn put(&mut self, value: u32, len: u32) {
        self.word |= u64::from(value) << self.count;
        self.count += len;
        if self.count >= 32 {
            self.buf[self.at..self.at + 4].copy_from_slice(&(self.word as u32).to_le_bytes());
            self.at += 4;
            self.word >>= 32;
            self.count -= 32;
        }
    }

    /// Writes the low `len` bits of `value` (`len` at most 56) when fewer than 8 bits are pending, and
    /// leaves fewer than 8 pending: all 8 bytes of the word are stored, and the position moves past the
    /// whole ones.
    #[inline(always)]
    fn put_long(&mut self, value: u64, len: u32) {
        debug_assert!(self.count < 8 && len <= 56);
        self.word |= value << self.count;
        self.count += len;
        self.buf[self.at..self.at + 8].copy_from_slice(&self.word.to_le_bytes());
        let whole = self.count / 8;
        self.at += whole as usize;
        // At most 7 whole bytes (63 bits), so the shift stays below 64.
        self.word >>= 8 * whole;
        self.count -= 8 * whole;
    }

    /// Stores the whole bytes pending, leaving fewer than 8 bits (what [`Bits::put_long`] needs).
    #[inline(always)]
    fn settle(&mut self) {
        while self.count >= 8 {
            self.buf[self.at] = self.word as u8;
            self.at += 1;
            self.word >>= 8;
            self.count -= 8;
        }
    }

    /// Writes what is left, the last byte padded with zero bits; the bytes written in all.
    fn flush(self) -> usize {
        let bytes = self.count.div_ceil(8) as usize;
        self.buf[self.at..self.at + bytes].copy_from_slice(&self.word.to_le_bytes()[..bytes]);
        self.at + bytes
    }
}

/// Huffman code lengths for `freqs` of at most `limit` bits; symbols of frequency 0 get none. At least
/// two symbols must have a frequency, so that the code is complete (every reader accepts it). Where the
/// optimal code is too deep, the frequencies are halved (rounded up) until it is not: a complete code
/// still, a little longer.
fn code_lengths(freqs: &[u64], limit: u8) -> Vec<u8> {
    debug_assert!(freqs.iter().filter(|&&f| f > 0).count() >= 2);
    let mut weights = freqs.to_vec();
    loop {
        let lengths = huffman_lengths(&weights);
        if lengths.iter().all(|&l| l <= limit) {
            return lengths;
        }
        for w in weights.iter_mut().filter(|w| **w > 0) {
            *w = w.div_ceil(2);
        }
    }
}

/// The optimal code lengths (unbounded depth) for `weights`: the two lightest nodes joined until one
/// is left, ties broken by node number so the same weights always give the same code.
fn huffman_lengths(weights: &[u64]) -> Vec<u8> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    let mut parent: Vec<usize> = vec![usize::MAX; weights.len()];
    let mut heap: BinaryHeap<Reverse<(u64, usize)>> =
        weights.iter().enumerate().filter(|(_, &w)| w > 0).map(|(i, &w)| Reverse((w, i))).collect();
    while heap.len() > 1 {
        let Reverse((a, i)) = heap.pop().expect("two nodes at least");
        let Reverse((b, j)) = heap.pop().expect("two nodes at least");
        let node = parent.len();
        parent.push(usize::MAX);
        (parent[i], parent[j]) = (node, node);
        heap.push(Reverse((a + b, node)));
    }
    // Nodes are numbered after their children, so depths are known walking down from the root.
    let mut depth = vec![0u8; parent.len()];
    for node in (0..parent.len()).rev() {
        if parent[node] != usize::MAX {
            depth[node] = depth[parent[node]] + 1;
        }
    }
    (0..weights.len()).map(|i| if weights[i] > 0 { depth[i] } else { 0 }).collect()
}

/// The canonical codes of `lengths` (RFC 1951, 3.2.2), bit-reversed: deflate sends a code's most
/// significant bit first into a stream filled from the least significant end.
fn canonical_codes(lengths: &[u8]) -> Vec<u32> {
    let mut count = [0u32; 16];
    for &l in lengths.iter().filter(|&&l| l > 0) {
        count[usize::from(l)] += 1;
    }
    let mut next = [0u32; 16];
    let mut code = 0;
    for bits in 1..16 {
        code = (code + count[bits - 1]) << 1;
        next[bits] = code;
    }
    lengths
        .iter()
        .map(|&l| {
            if l == 0 {
                return 0;
            }
            let code = next[usize::from(l)];
            next[usize::from(l)] += 1;
            code.reverse_bits() >> (32 - u32::from(l))
        })
        .collect()
}

/// The code lengths as the code-length alphabet writes them: `(symbol, extra bits' value)`, runs of
/// zeros as 17 and 18, runs of a length as the length then 16s.
fn run_lengths(lengths: &[u8]) -> Vec<(u8, u32)> {
    let mut runs = Vec::new();
    let mut i = 0;
    while i < lengths.len() {
        let len = lengths[i];
        let run = lengths[i..].iter().take_while(|&&l| l == len).count();
        let mut left = run;
        if len == 0 {
            while left >= 11 {
                let n = left.min(138);
                runs.push((18, (n - 11) as u32));
                left -= n;
            }
            if left >= 3 {
                runs.push((17, (left - 3) as u32));
                left = 0;
            }
        } else {
            runs.push((len, 0));
            left -= 1;
            while left >= 3 {
                let n = left.min(6);
                runs.push((16, (n - 3) as u32));
                left -= n;
            }
        }
        runs.extend(std::iter::repeat_n((len, 0), left));
        i += run;
    }
    runs
}

/// Extra bits after each code-length symbol.
fn extra_bits(symbol: u8) -> u32 {
    match symbol {
        16 => 2,
        17 => 3,
        18 => 7,
        _ => 0,
    }
}

/// Appends to `out` a gzip member holding `text` (modification time 0, so the same text gives the same
/// bytes).
pub fn gzip_member(text: &[u8], out: &mut Vec<u8>) {
    // ID1 ID2, deflate, no flags, no time, no extra flags, unknown OS.
    out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]);
    deflate_block(text, out);
    out.extend_from_slice(&libdeflater::crc32(text).to_le_bytes());
    out.extend_from_slice(&(text.len() as u32).to_le_bytes());
}

/// Appends to `out` one final dynamic deflate block of `text`'s bytes as literals.
fn deflate_block(text: &[u8], out: &mut Vec<u8>) {
    let mut freqs = [0u64; LITERALS];
    // Four tables of counts, so that runs of one byte do not wait on one counter.
    let mut counts = [[0u32; 256]; 4];
    let mut quads = text.chunks_exact(4);
    for q in &mut quads {
        for (table, &b) in counts.iter_mut().zip(q) {
            table[usize::from(b)] += 1;
        }
    }
    for &b in quads.remainder() {
        counts[0][usize::from(b)] += 1;
    }
    // Blocks are at most a few MiB (u32 counts do not overflow), summed in u64.
    for (b, f) in freqs.iter_mut().take(256).enumerate() {
        *f = counts.iter().map(|t| u64::from(t[b])).sum();
    }
    freqs[END] = 1;
    if text.is_empty() {
        freqs[0] = 1; // a code needs two symbols to be complete
    }
    let lengths = code_lengths(&freqs, MAX_LITERAL_BITS);
    let codes = canonical_codes(&lengths);

    let mut all = lengths.clone();
    all.extend_from_slice(&[1; DISTANCES]);
    let runs = run_lengths(&all);
    let mut run_freqs = [0u64; 19];
    for &(symbol, _) in &runs {
        run_freqs[usize::from(symbol)] += 1;
    }
    // Two symbols at least, so that their code is complete: the literals' code has lengths other than 1
    // (257 symbols) and zeros or lengths of 2 and more, beside the distance codes' 1s.
    debug_assert!(run_freqs.iter().filter(|&&f| f > 0).count() >= 2);
    let run_lengths_bits = code_lengths(&run_freqs, MAX_LENGTH_CODE_BITS);
    let run_codes = canonical_codes(&run_lengths_bits);
    let written = LENGTH_CODE_ORDER.iter().rposition(|&s| run_lengths_bits[s] > 0).map_or(0, |i| i + 1).max(4);

    // The block's size is known from the counts: the header (3 + 5 + 5 + 4 bits, 3 per code-length
    // length, at most 7 + 7 per run), the literals and the end of block.
    let header_bits = 17 + 3 * written + runs.len() * 14;
    let body_bits: u64 = freqs.iter().zip(&lengths).map(|(&f, &l)| f * u64::from(l)).sum();
    let start = out.len();
    out.resize(start + (header_bits + body_bits as usize).div_ceil(8) + 8, 0);
    let mut bits = Bits { buf: &mut out[start..], at: 0, word: 0, count: 0 };
    bits.put(1, 1); // the last block
    bits.put(2, 2); // dynamic Huffman codes
    bits.put((LITERALS - 257) as u32, 5);
    bits.put((DISTANCES - 1) as u32, 5);
    bits.put((written - 4) as u32, 4);
    for &s in &LENGTH_CODE_ORDER[..written] {
        bits.put(u32::from(run_lengths_bits[s]), 3);
    }
    for &(symbol, extra) in &runs {
        let s = usize::from(symbol);
        bits.put(run_codes[s], u32::from(run_lengths_bits[s]));
        bits.put(extra, extra_bits(symbol));
    }
    let table: [(u32, u32); 256] = std::array::from_fn(|b| (codes[b], u32::from(lengths[b])));
    let rest = match pair_bytes(&freqs, &lengths) {
        Some(present) => PAIR_CODES.with_borrow_mut(|pairs| put_by_pairs(text, &table, &present, pairs, &mut bits)),
        None => text,
    };
    put_by_quads(rest, &table, &mut bits);
    bits.put(codes[END], u32::from(lengths[END]));
    let written = bits.flush();
    out.truncate(start + written);
}

/// The bytes a block holds (their counts in `freqs`), when every one's code (its length in `lengths`) is
/// short enough for [`put_by_pairs`]; `None` otherwise.
fn pair_bytes(freqs: &[u64], lengths: &[u8]) -> Option<Vec<usize>> {
    let present: Vec<usize> = (0..256).filter(|&b| freqs[b] > 0).collect();
    present.iter().all(|&b| lengths[b] <= PAIR_MAX_BITS).then_some(present)
}

/// The longest code of a byte for [`put_by_pairs`]: eight bytes, four pairs, fill at most 56 bits.
const PAIR_MAX_BITS: u8 = 7;
/// In a [`PAIR_CODES`] entry: the bits of the code below this shift, its length above.
const PAIR_LEN_SHIFT: u32 = 26;

thread_local! {
    /// The codes of two bytes one after the other, at `first | second << 8` (the pair as a little-endian
    /// `u16` of the text), as `code | length << PAIR_LEN_SHIFT`. Kept per thread and filled for each block
    /// only at the pairs of bytes the block holds, so that a block pays for a few hundred entries, not
    /// for the table; entries of earlier blocks are never read. 256 KiB, made on a thread's first block
    /// (in `llamatok preprocess`, the npy writer's thread).
    static PAIR_CODES: std::cell::RefCell<Option<Box<PairCodes>>> = const { std::cell::RefCell::new(None) };
}

/// One entry per `u16`: indexed by one, it needs no bounds check.
type PairCodes = [u32; 1 << 16];

/// Puts the codes of `text`'s bytes eight at a time, two from each load of [`PAIR_CODES`]: where the
/// digits' codes are short, a byte costs half the loads and shifts of [`put_by_quads`]. `present` holds
/// every byte of `text`, each with a code of at most [`PAIR_MAX_BITS`]; returns the bytes left over
/// (fewer than eight).
fn put_by_pairs<'t>(
    text: &'t [u8],
    table: &[(u32, u32); 256],
    present: &[usize],
    pairs: &mut Option<Box<PairCodes>>,
    bits: &mut Bits<'_>,
) -> &'t [u8] {
    // Made on the heap (a 256 KiB array would be built on the stack first).
    let pairs = pairs.get_or_insert_with(|| vec![0; 1 << 16].into_boxed_slice().try_into().expect("1 << 16 entries"));
    for &a in present {
        for &b in present {
            let ((ca, la), (cb, lb)) = (table[a], table[b]);
            pairs[a | b << 8] = (ca | cb << la) | (la + lb) << PAIR_LEN_SHIFT;
        }
    }
    bits.settle();
    let mut octets = text.chunks_exact(8);
    for octet in &mut octets {
        let word = u64::from_le_bytes(octet.try_into().expect("chunks of 8"));
        let (mut value, mut len) = (0u64, 0u32);
        for shift in [0, 16, 32, 48] {
            let entry = pairs[usize::from((word >> shift) as u16)];
            value |= u64::from(entry & ((1 << PAIR_LEN_SHIFT) - 1)) << len;
            len += entry >> PAIR_LEN_SHIFT;
        }
        bits.put_long(value, len);
    }
    octets.remainder()
}

/// Puts the codes of `text`'s bytes, each byte's code and length side by side in `table` (one load per
/// byte). Four bytes are put at once when their codes take 32 bits at most, which quarters the chain of
/// shifts that each put waits on; else two and two (30 bits at most each).
fn put_by_quads(text: &[u8], table: &[(u32, u32); 256], bits: &mut Bits<'_>) {
    let mut quads = text.chunks_exact(4);
    for quad in &mut quads {
        let [(c0, l0), (c1, l1), (c2, l2), (c3, l3)] = [0, 1, 2, 3].map(|i| table[usize::from(quad[i])]);
        let (low, high) = (u64::from(c0) | u64::from(c1) << l0, u64::from(c2) | u64::from(c3) << l2);
        let (low_len, high_len) = (l0 + l1, l2 + l3);
        if low_len + high_len <= 32 {
            bits.put((low | high << low_len) as u32, low_len + high_len);
        } else {
            bits.put(low as u32, low_len);
            bits.put(high as u32, high_len);
        }
    }
    for &b in quads.remainder() {
        let (code, len) = table[usize::from(b)];
        bits.put(code, len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use libdeflater::Decompressor;
    use proptest::prelude::*;

    fn round_trip(text: &[u8]) {
        let mut gz = Vec::new();
        gzip_member(text, &mut gz);
        let mut back = vec![0; text.len()];
        let n = Decompressor::new().gzip_decompress(&gz, &mut back).expect("libdeflate reads the member");
        assert_eq!(n, text.len());
        assert!(back == text, "the member holds other bytes");
    }

    #[test]
    fn empty_one_byte_and_every_byte() {
        round_trip(b"");
        round_trip(b"a");
        round_trip(&[0; 1000]);
        round_trip(&(0..=255).collect::<Vec<u8>>());
    }

    /// Frequencies growing like Fibonacci's numbers make the optimal code deeper than 15 bits: the
    /// limit must hold and the code stay complete.
    #[test]
    fn a_code_deeper_than_the_limit_is_flattened() {
        let mut text = Vec::new();
        let (mut a, mut b) = (1usize, 1usize);
        for symbol in 0..25u8 {
            text.extend(std::iter::repeat_n(symbol, a));
            (a, b) = (b, a + b);
        }
        assert!(huffman_lengths(&[1, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 987, 1597, 2584])
            .iter()
            .any(|&l| l > 15));
        round_trip(&text);
    }

    /// The lines the npy writer compresses get under half their size.
    #[test]
    fn document_rows_compress() {
        let mut text = Vec::new();
        let mut start = 0u64;
        for n in 0..50_000u64 {
            let end = start + 5 + n % 40;
            text.extend_from_slice(format!("{start},{end},{n},,\n").as_bytes());
            start = end;
        }
        let mut gz = Vec::new();
        gzip_member(&text, &mut gz);
        assert!(gz.len() * 2 < text.len(), "{} bytes of {}", gz.len(), text.len());
        round_trip(&text);
    }

    /// The counts of a block of `text` (its bytes and the end of block) and the code lengths built for them, as
    /// `deflate_block` makes them.
    fn block_code(text: &[u8]) -> ([u64; LITERALS], Vec<u8>) {
        let mut freqs = [0u64; LITERALS];
        for &b in text {
            freqs[usize::from(b)] += 1;
        }
        freqs[END] = 1;
        if text.is_empty() {
            freqs[0] = 1; // as `deflate_block` does: a code needs two symbols
        }
        let lengths = code_lengths(&freqs, MAX_LITERAL_BITS);
        (freqs, lengths)
    }

    /// The bits `put_by_pairs` then `put_by_quads` write for `text`, and those `put_by_quads` alone
    /// writes, under the code built for `text` (after `lead` bits, so that the pairs start mid-byte);
    /// `None` when some byte's code is too long for pairs (a rare byte in a short text).
    fn both_loops(text: &[u8], lead: u32) -> Option<(Vec<u8>, Vec<u8>)> {
        let (freqs, lengths) = block_code(text);
        let codes = canonical_codes(&lengths);
        let table: [(u32, u32); 256] = std::array::from_fn(|b| (codes[b], u32::from(lengths[b])));
        let present = pair_bytes(&freqs, &lengths)?;
        let write = |pairs: bool| {
            let mut buf = vec![0u8; text.len() * 2 + 32];
            let mut bits = Bits { buf: &mut buf, at: 0, word: 0, count: 0 };
            bits.put((1 << lead) - 1, lead);
            let rest = if pairs {
                PAIR_CODES.with_borrow_mut(|p| put_by_pairs(text, &table, &present, p, &mut bits))
            } else {
                text
            };
            put_by_quads(rest, &table, &mut bits);
            let n = bits.flush();
            buf.truncate(n);
            buf
        };
        Some((write(true), write(false)))
    }

    /// The pairs start with the most bits pending that the block's header can leave (31), and the first
    /// eight bytes take 7-bit codes: more than the 64-bit word holds unless the whole bytes pending are
    /// stored first.
    #[test]
    fn pairs_after_a_full_word_of_pending_bits() {
        // Counts halving from byte to byte give codes of 1 to 7 bits (the end of block takes a 7-bit code
        // too); the rarest bytes, of 6 and 7 bits, come first.
        let mut text = b"fgfgfgfg".to_vec();
        for (byte, n) in [(b'a', 512), (b'b', 256), (b'c', 128), (b'd', 64), (b'e', 32), (b'f', 12), (b'g', 12)] {
            text.extend(std::iter::repeat_n(byte, n));
        }
        let (_, lengths) = block_code(&text);
        assert!(lengths[usize::from(b'f')] >= 6 && lengths[usize::from(b'g')] >= 6, "{:?}", &lengths[b'a'.into()..]);
        let (pairs, quads) = both_loops(&text, 31).expect("codes of 7 bits at most");
        assert_eq!(pairs, quads);
    }

    /// An empty text (the property test below draws one now and then) gets its code as the writer makes it.
    #[test]
    fn both_loops_take_an_empty_text() {
        assert_eq!(both_loops(b"", 5).map(|(p, q)| p == q), Some(true));
    }

    proptest! {
        /// Where codes are short enough for pairs, both loops write the same bits.
        #[test]
        fn pairs_write_what_quads_write(
            text in proptest::collection::vec(prop_oneof![4 => 0x30u8..0x3a, 1 => Just(b','), 1 => Just(b'\n')], 0..2000),
            lead in 0u32..32,
        ) {
            let both = both_loops(&text, lead);
            prop_assume!(both.is_some());
            let (pairs, quads) = both.expect("assumed");
            prop_assert_eq!(pairs, quads);
        }

        #[test]
        fn any_bytes_round_trip(text in proptest::collection::vec(any::<u8>(), 0..3000)) {
            round_trip(&text);
        }

        #[test]
        fn few_distinct_bytes_round_trip(text in proptest::collection::vec(prop_oneof![Just(b'0'), Just(b','), Just(b'\n'), 0u8..4], 0..3000)) {
            round_trip(&text);
        }

        #[test]
        fn skewed_counts_round_trip(counts in proptest::collection::vec(0usize..5000, 1..40)) {
            let text: Vec<u8> = counts.iter().enumerate().flat_map(|(b, &n)| std::iter::repeat_n(b as u8 * 3, n)).collect();
            round_trip(&text);
        }
    }
}
