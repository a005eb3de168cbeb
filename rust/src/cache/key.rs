//! The memo's keys: how a chunk (its bytes, after the dummy `▁` when it has one) becomes a packed
//! u64 for the short tables or a byte string for the long one. Two chunks get the same key exactly
//! when their normalized texts are equal. See docs/architecture-core.md, "The chunk cache".

/// The key of a short chunk: its bytes (after the dummy `▁`, written as a space, when
/// `prefixed`) packed little-endian into a u64. `None` when longer than 8 bytes or holding a NUL,
/// which would make the zero padding ambiguous. A packed key is never 0.
#[inline]
pub fn pack(text: &[u8], start: usize, end: usize, prefixed: bool) -> Option<u64> {
    let n = end - start + usize::from(prefixed);
    if n > 8 || n == 0 {
        return None;
    }
    let body = end - start;
    let mut v = if start + 8 <= text.len() {
        let word = u64::from_le_bytes(text[start..start + 8].try_into().expect("8 bytes"));
        if body == 8 {
            word
        } else {
            word & ((1u64 << (8 * body)) - 1)
        }
    } else {
        text[start..end].iter().rev().fold(0u64, |acc, &b| acc << 8 | u64::from(b))
    };
    if prefixed {
        v = v << 8 | u64::from(b' ');
    }
    // Any zero byte among the first n bytes? (Padding bytes are set before the classic test.)
    let padded = if n == 8 { v } else { v | (!0u64 << (8 * n)) };
    let has_zero = padded.wrapping_sub(0x0101_0101_0101_0101) & !padded & 0x8080_8080_8080_8080;
    (has_zero == 0).then_some(v)
}

/// The key [`memo_key`] gives a chunk without the dummy prefix whose bytes `text[start..end]` (1 to 8
/// of them) pack as they are ([`pack`]): `None` when they start with two spaces (which `memo_key`
/// compresses) or do not pack, leaving the chunk to [`memo_key`].
#[inline(always)]
pub fn pack_plain(text: &[u8], start: usize, end: usize) -> Option<u64> {
    if text[start..end].starts_with(b"  ") {
        return None;
    }
    pack(text, start, end, false)
}

/// Marks a compressed run of spaces in a memo key (0xFF never occurs in UTF-8).
const RUN_MARK: u8 = 0xFF;
/// Marks a short key whose result has too many ids for the short table (0xFE never occurs in
/// UTF-8 either), so that it cannot be taken for any other long key.
const OVERFLOW_MARK: u8 = 0xFE;

/// How a chunk is looked up in the memo.
pub enum MemoKey<'a> {
    /// Up to 8 key bytes packed into a u64 (see [`pack`]).
    Short(u64),
    /// The key bytes, when they do not pack.
    Long(&'a [u8]),
}

/// The memo key of the chunk `text[start..end]` (after the dummy `▁` when `prefixed`). A leading run
/// of 2 to 255 spaces, which indentation makes common and varied, is written as two bytes
/// (`0xFF`, length), so that `"            return"` packs into a short key. The encoding is
/// injective: the marker byte cannot occur in text.
#[inline]
pub fn memo_key<'a>(text: &'a [u8], start: usize, end: usize, prefixed: bool, buf: &'a mut Vec<u8>) -> MemoKey<'a> {
    let spaces = text[start..end].iter().take_while(|&&b| b == b' ').count();
    let run = spaces + usize::from(prefixed);
    if (2..=255).contains(&run) {
        buf.clear();
        buf.push(RUN_MARK);
        buf.push(run as u8);
        buf.extend_from_slice(&text[start + spaces..end]);
        return match pack(buf, 0, buf.len(), false) {
            Some(p) => MemoKey::Short(p),
            None => MemoKey::Long(buf),
        };
    }
    if let Some(p) = pack(text, start, end, prefixed) {
        return MemoKey::Short(p);
    }
    if prefixed {
        buf.clear();
        buf.push(b' ');
        buf.extend_from_slice(&text[start..end]);
        MemoKey::Long(buf)
    } else {
        MemoKey::Long(&text[start..end])
    }
}

/// The long-table key of a short key whose result did not fit the short table.
#[inline]
pub(super) fn overflow_key(packed: u64) -> [u8; 9] {
    let mut k = [OVERFLOW_MARK; 9];
    k[1..].copy_from_slice(&packed.to_le_bytes());
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packing_tells_every_short_key_apart() {
        let text = b"ab\0cdefghijkl";
        assert_eq!(pack(text, 0, 2, false), Some(u64::from_le_bytes(*b"ab\0\0\0\0\0\0")));
        assert_eq!(pack(text, 0, 2, true), Some(u64::from_le_bytes(*b" ab\0\0\0\0\0")));
        assert_eq!(pack(text, 0, 3, false), None, "a NUL inside would pad like a shorter key");
        assert_eq!(pack(text, 3, 11, false), Some(u64::from_le_bytes(*b"cdefghij")));
        assert_eq!(pack(text, 3, 11, true), None, "nine bytes do not fit");
        assert_eq!(pack(text, 9, 13, false), Some(u64::from_le_bytes(*b"ijkl\0\0\0\0")), "near the end");
    }

    fn key_bytes(text: &[u8], start: usize, end: usize, prefixed: bool) -> Vec<u8> {
        let mut buf = Vec::new();
        match memo_key(text, start, end, prefixed, &mut buf) {
            MemoKey::Short(p) => {
                let mut v = vec![b'S'];
                v.extend_from_slice(&p.to_le_bytes());
                v
            }
            MemoKey::Long(k) => [b"L".as_slice(), k].concat(),
        }
    }

    #[test]
    fn plain_packing_is_the_memo_key_where_it_answers() {
        let text = b"ab  cd\0e f  gh  i    jklmnopqrstuvwxyz0123456789";
        let mut answered = 0;
        for start in 0..text.len() {
            for end in start + 1..=(start + 8).min(text.len()) {
                if let Some(p) = pack_plain(text, start, end) {
                    answered += 1;
                    let mut buf = Vec::new();
                    match memo_key(text, start, end, false, &mut buf) {
                        MemoKey::Short(q) => assert_eq!(p, q, "{start}..{end}"),
                        MemoKey::Long(_) => panic!("{start}..{end}: packed plain but long in the memo"),
                    }
                }
            }
        }
        assert!(answered > 100, "{answered}");
        assert_eq!(pack_plain(text, 2, 6), None, "two leading spaces are compressed");
        assert_eq!(pack_plain(text, 5, 7), None, "a NUL");
        assert_eq!(pack_plain(text, 0, 9), None, "nine bytes");
    }

    #[test]
    fn memo_keys_are_injective_and_compress_indentation() {
        let cases: Vec<(&[u8], bool)> = vec![
            (b"            return", false),
            (b"           return", true), // the same normalized text as the line above
            (b"          return", true),
            (b" return", false),
            (b"return", true),
            (b"  x", false),
            (b" x", true),
            (b"ab\0", false),
            (b"abcdefghijklmnop", false),
        ];
        // Two chunks share a key exactly when their normalized texts (dummy space first) are equal.
        let normalized: Vec<Vec<u8>> =
            cases.iter().map(|(t, p)| [if *p { b" ".as_slice() } else { b"" }, t].concat()).collect();
        let keys: Vec<Vec<u8>> = cases.iter().map(|(t, p)| key_bytes(t, 0, t.len(), *p)).collect();
        assert_eq!(keys[0][0], b'S', "indentation packs short: {:?}", keys[0]);
        for i in 0..keys.len() {
            for j in 0..keys.len() {
                assert_eq!(keys[i] == keys[j], normalized[i] == normalized[j], "{:?} and {:?}", cases[i], cases[j]);
            }
        }
    }
}
