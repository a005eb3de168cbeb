//! The commonest JSONL line read without serde_json: an object whose values are all strings. The
//! strings' escapes are undone here (a text with none is borrowed from the line as written), so a
//! line of short code costs a few scans instead of serde_json's visit of every token, and a long
//! document one copy instead of serde_json's two (measured: `benches/results/notes.md`, sessions 23
//! and 25). Anything else, and any line this path is not sure of (a control character, an escape
//! that is not JSON's, a lone surrogate), is left to serde_json (`None`), so the texts given here
//! are the ones serde_json, and so Python's `json`, would give.

use std::borrow::Cow;
use std::ops::Range;

/// Reads `line` as `{"key": "value", ...}` (JSON whitespace allowed between the tokens), storing the
/// value of each of `keys` into `found` (a key given twice: its last value). `None` when the line is
/// anything else; what was stored then must be dropped.
pub(super) fn string_fields<'a>(bytes: &'a [u8], keys: &[&str], found: &mut [Option<Cow<'a, str>>]) -> Option<()> {
    let line = match scan(bytes) {
        Scan::Control => return None,
        // SAFETY: every byte is ASCII, so the bytes are UTF-8.
        Scan::Ascii => unsafe { std::str::from_utf8_unchecked(bytes) },
        // Python decodes the whole line before parsing it: any byte that is not UTF-8 rejects it.
        Scan::NotAscii => std::str::from_utf8(bytes).ok()?,
    };
    let mut at = skip_space(bytes, 0);
    if bytes.get(at) != Some(&b'{') {
        return None;
    }
    at = skip_space(bytes, at + 1);
    loop {
        let (key, next) = string(line, at, true)?;
        at = skip_space(bytes, next);
        if bytes.get(at) != Some(&b':') {
            return None;
        }
        let wanted = keys.iter().position(|k| k.as_bytes() == key.as_bytes(bytes));
        let (value, next) = string(line, skip_space(bytes, at + 1), wanted.is_some())?;
        if let Some(i) = wanted {
            found[i] = Some(value.into_cow(line));
        }
        at = skip_space(bytes, next);
        match bytes.get(at) {
            Some(b',') => at = skip_space(bytes, at + 1),
            Some(b'}') => return (skip_space(bytes, at + 1) == bytes.len()).then_some(()),
            _ => return None,
        }
    }
}

/// The first position at or after `at` that is not JSON whitespace.
fn skip_space(bytes: &[u8], mut at: usize) -> usize {
    while at < bytes.len() && matches!(bytes[at], b' ' | b'\t' | b'\n' | b'\r') {
        at += 1;
    }
    at
}

/// What one pass over a line finds ([`scan`]).
#[derive(Debug, PartialEq, Eq)]
enum Scan {
    /// A control character but the line's ending (`\n` or `\r\n`): a string may hold a character JSON
    /// refuses unescaped, so serde_json reads the line. (A tab between tokens, which JSON allows, sends
    /// the line there too.)
    Control,
    /// None, and every byte is ASCII.
    Ascii,
    /// None, and some byte is not ASCII.
    NotAscii,
}

/// One pass over `line` (its ending aside).
fn scan(line: &[u8]) -> Scan {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    match control_and_high(line) {
        (true, _) => Scan::Control,
        (false, false) => Scan::Ascii,
        (false, true) => Scan::NotAscii,
    }
}

/// Whether `bytes` holds a control character, and whether it holds a byte that is not ASCII: 16 bytes
/// at a time, the last 16 read again where the length is not a multiple of 16 (a short line's bytes
/// would otherwise mostly go one by one through the compiler's vector loop's tail).
#[cfg(target_arch = "x86_64")]
fn control_and_high(bytes: &[u8]) -> (bool, bool) {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
        _mm_setzero_si128,
    };
    let Some(last) = bytes.len().checked_sub(16) else { return control_and_high_bytes(bytes) };
    // SAFETY: SSE2 is part of x86-64, so its intrinsics run on every CPU this code is built for; each
    // load is of the 16 bytes at `at <= last = bytes.len() - 16`, within `bytes`.
    unsafe {
        let below_space = _mm_set1_epi8(0x1f);
        let (mut control, mut any) = (_mm_setzero_si128(), _mm_setzero_si128());
        let mut block = |at: usize| {
            let v = _mm_loadu_si128(bytes.as_ptr().add(at).cast::<__m128i>());
            // A byte is a control character when the unsigned minimum of it and 0x1f is itself.
            control = _mm_or_si128(control, _mm_cmpeq_epi8(_mm_min_epu8(v, below_space), v));
            any = _mm_or_si128(any, v);
        };
        let mut at = 0;
        while at < last {
            block(at);
            at += 16;
        }
        block(last);
        // The top bit of a byte is set when it is not ASCII.
        (_mm_movemask_epi8(control) != 0, _mm_movemask_epi8(any) != 0)
    }
}

#[cfg(not(target_arch = "x86_64"))]
use control_and_high_bytes as control_and_high;

/// [`control_and_high`] a byte at a time.
fn control_and_high_bytes(bytes: &[u8]) -> (bool, bool) {
    bytes.iter().fold((false, false), |(control, high), &b| (control | (b < 0x20), high | (b >= 0x80)))
}

/// A string of the line: its contents as written when they hold no escape, else its text.
enum Text {
    Written(Range<usize>),
    Unescaped(String),
}

impl Text {
    /// Its UTF-8 (compared as bytes: a `str` slice would check its ends are character boundaries).
    fn as_bytes<'a>(&'a self, line: &'a [u8]) -> &'a [u8] {
        match self {
            Text::Written(range) => &line[range.clone()],
            Text::Unescaped(text) => text.as_bytes(),
        }
    }

    fn into_cow(self, line: &str) -> Cow<'_, str> {
        match self {
            // The quotes around it are ASCII: the range starts and ends on character boundaries.
            Text::Written(range) => Cow::Borrowed(&line[range]),
            Text::Unescaped(text) => Cow::Owned(text),
        }
    }
}

/// The string opening at `at` and the position after its closing quote; `None` when no string opens
/// there or an escape in it is one this path leaves to serde_json. `keep` false checks the escapes
/// without keeping the text (a value no key asks for).
fn string(line: &str, at: usize, keep: bool) -> Option<(Text, usize)> {
    let bytes = line.as_bytes();
    if bytes.get(at) != Some(&b'"') {
        return None;
    }
    let start = at + 1;
    let mut stop = quote_or_backslash(bytes, start)?;
    if bytes[stop] == b'"' {
        return Some((Text::Written(start..stop), stop + 1));
    }
    if keep {
        return unescaped(line, start, stop).map(|(text, end)| (Text::Unescaped(text), end));
    }
    loop {
        // `stop` is a quote or a backslash.
        if bytes[stop] == b'"' {
            return Some((Text::Unescaped(String::new()), stop + 1));
        }
        let (_, len) = escape(bytes, stop)?;
        stop = quote_or_backslash(bytes, stop + len)?;
    }
}

/// The text of the string from `start` whose first escape is at `stop`, and the position after its
/// closing quote.
fn unescaped(line: &str, start: usize, mut stop: usize) -> Option<(String, usize)> {
    let bytes = line.as_bytes();
    // Every escape is longer than what it stands for, so the rest of the line bounds the text.
    let mut text: Vec<u8> = Vec::with_capacity(bytes.len() - start);
    let mut from = start;
    loop {
        // `stop` is a quote or a backslash, and `text` holds the string's text before `from`.
        text.extend_from_slice(&bytes[from..stop]);
        if bytes[stop] == b'"' {
            // SAFETY: `text` is pieces of `line` cut at ASCII quotes and backslashes, so at character
            // boundaries, and the UTF-8 of whole characters: it is UTF-8.
            return Some((unsafe { String::from_utf8_unchecked(text) }, stop + 1));
        }
        let (c, len) = escape(bytes, stop)?;
        if c.is_ascii() {
            text.push(c as u8);
        } else {
            text.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
        }
        from = stop + len;
        stop = quote_or_backslash(bytes, from)?;
    }
}

/// A bit per byte of the 16 bytes of `bytes` at `at`, set where it is a quote or a backslash.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn quotes_and_backslashes(bytes: &[u8], at: usize) -> u32 {
    use std::arch::x86_64::{__m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8};
    assert!(at + 16 <= bytes.len(), "16 bytes from {at}");
    // SAFETY: SSE2 is part of x86-64, so its intrinsics run on every CPU this code is built for; the 16
    // bytes loaded are in `bytes` (asserted above).
    unsafe {
        let v = _mm_loadu_si128(bytes.as_ptr().add(at).cast::<__m128i>());
        let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
        let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
        _mm_movemask_epi8(_mm_or_si128(quote, backslash)) as u32
    }
}

/// The position of the first quote or backslash at or after `from`, 16 bytes at a time: a string of a
/// short line ends within a few bytes, where a call to `memchr2` costs more than the search.
#[cfg(target_arch = "x86_64")]
fn quote_or_backslash(bytes: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    while at + 16 <= bytes.len() {
        let hits = quotes_and_backslashes(bytes, at);
        if hits != 0 {
            return Some(at + hits.trailing_zeros() as usize);
        }
        at += 16;
    }
    if at >= bytes.len() {
        return None;
    }
    if let Some(last) = bytes.len().checked_sub(16) {
        // The last 16 bytes, without those before `at` (searched already, or before `from`).
        let hits = quotes_and_backslashes(bytes, last) >> (at - last);
        return (hits != 0).then(|| at + hits.trailing_zeros() as usize);
    }
    bytes[at..].iter().position(|&b| b == b'"' || b == b'\\').map(|i| at + i)
}

/// [`quote_or_backslash`] by `memchr2`, where SSE2 is not at hand.
#[cfg(not(target_arch = "x86_64"))]
fn quote_or_backslash(bytes: &[u8], from: usize) -> Option<usize> {
    memchr::memchr2(b'"', b'\\', &bytes[from..]).map(|i| from + i)
}

/// The character of the escape at `at` (a backslash) and its length in bytes. `None` for anything JSON
/// does not allow and for a surrogate not in a pair (serde_json refuses it; Python keeps it in a `str`,
/// which the caller's fallback then judges).
fn escape(bytes: &[u8], at: usize) -> Option<(char, usize)> {
    let c = match *bytes.get(at + 1)? {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'n' => '\n',
        b'r' => '\r',
        b't' => '\t',
        b'u' => {
            let high = hex4(bytes, at + 2)?;
            if !(0xD800..0xDC00).contains(&high) {
                // A trailing surrogate alone is refused by `from_u32`.
                return Some((char::from_u32(high)?, 6));
            }
            if bytes.get(at + 6..at + 8) != Some(b"\\u") {
                return None;
            }
            let low = hex4(bytes, at + 8)?;
            if !(0xDC00..0xE000).contains(&low) {
                return None;
            }
            return Some((char::from_u32(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))?, 12));
        }
        _ => return None,
    };
    Some((c, 2))
}

/// The four hexadecimal digits at `at`, as a number.
fn hex4(bytes: &[u8], at: usize) -> Option<u32> {
    bytes.get(at..at + 4)?.iter().try_fold(0, |n, &b| Some(n << 4 | char::from(b).to_digit(16)?))
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::super::{serde_fields, text_fields};
    use proptest::prelude::*;

    /// Pieces of JSONL lines: the plain case, escapes valid and not, and everything near them that must go
    /// to serde_json.
    fn token() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "{",
            "}",
            "[",
            "]",
            ":",
            ",",
            " ",
            "\t",
            "\r",
            "\n",
            "\"",
            "\"text\"",
            "\"id\"",
            "\"te\\u0078t\"",
            "\"a b\"",
            "\"é中😀\"",
            "\"x\\\"y\"",
            "\"\\n\"",
            "\\",
            "\\\\",
            "\\/\\b\\f\\r\\t",
            "\\q",
            "\\u00e9",
            "\\u00E9",
            "\\ud83d\\ude00",
            "\\udbff\\udfff",
            "\\ud800\\udc00",
            "\\ud83d\\ue000",
            "\\ud83d\\udbff",
            "a run of text longer than the scans' vectors, 64 bytes and more.",
            "\\ud83d",
            "\\ude00",
            "\\u0000",
            "\\u12g4",
            "\\u",
            "\"\u{1}\"",
            "\"\u{7f}\"",
            "1",
            "-2.5e3",
            "null",
            "true",
            "\u{feff}",
            "\"\"",
            "\"text",
            "x",
        ])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        /// Every line, simple or not, gives what serde_json alone gives.
        #[test]
        fn lines_read_as_serde_json_reads_them(
            parts in prop::collection::vec(token(), 0..14),
            shape in 0..5usize,
            not_utf8 in prop::option::of((0..3usize, any::<prop::sample::Index>())),
        ) {
            let body: String = parts.concat();
            // Most random lines are not objects of strings; the shapes below make many of them.
            let line = match shape {
                0 => body,
                1 => format!("{{\"text\": {body}}}"),
                2 => format!("{{\"id\": \"1\", \"text\": \"{}\"{body}}}\n", body.replace(['"', '\\'], "")),
                // Strings of escapes, valid or not, in the values and in a key.
                3 => format!("{{\"text\": \"{0}\", \"id\": \"{0}\"}}\n", body.replace('"', "")),
                _ => format!("{{\"te\\u0078t\": \"{}\"}}", body.replace('"', "")),
            };
            let mut line = line.into_bytes();
            // Bytes that are not UTF-8 somewhere (a line Python refuses to decode).
            if let Some((kind, at)) = not_utf8 {
                let bad: &[u8] = [&b"\xff"[..], b"\xe4\xb8", b"\xc0\xaf"][kind];
                let at = at.index(line.len() + 1);
                line.splice(at..at, bad.iter().copied());
            }
            for keys in [&["text"][..], &["text", "id"][..], &["id", "text"][..]] {
                prop_assert_eq!(text_fields(&line, keys), serde_fields(&line, keys), "{:?}", String::from_utf8_lossy(&line));
            }
        }
    }

    /// The search stops at the first quote or backslash wherever it falls in or across its blocks of 16
    /// bytes, next to bytes that are not ASCII (`0xa2` is a quote with its top bit set), in lines shorter
    /// and longer than 16 bytes, from every place.
    #[test]
    fn the_search_stops_at_the_first_quote_or_backslash() {
        for len in 0..50 {
            let base: Vec<u8> = (0..len).map(|i| [b'a', 0xe4, 0x80, b'"' | 0x80, b']', 0][i % 6]).collect();
            for at in 0..=len {
                for stop_byte in [b'"', b'\\'] {
                    let mut bytes = base.clone();
                    if at < len {
                        bytes[at] = stop_byte;
                    }
                    for from in 0..=len {
                        let want = (from <= at && at < len).then_some(at);
                        assert_eq!(super::quote_or_backslash(&bytes, from), want, "{bytes:?} from {from}");
                    }
                }
            }
        }
    }

    /// The scan for control characters and bytes that are not ASCII agrees with a byte-by-byte look
    /// wherever such a byte falls, in lines shorter and longer than its 16 bytes.
    #[test]
    fn the_scan_finds_each_byte_wherever_it_falls() {
        for len in 0..50 {
            for at in 0..=len {
                for special in [0x1f, 0x00, 0x80, 0xff, 0x20, 0x7f] {
                    let mut bytes: Vec<u8> = (0..len).map(|i| [b'a', b' ', b'~', b'0'][i % 4]).collect();
                    if at < len {
                        bytes[at] = special;
                    }
                    assert_eq!(super::control_and_high(&bytes), super::control_and_high_bytes(&bytes), "{bytes:?}");
                }
            }
        }
    }

    #[test]
    fn the_simple_path_takes_plain_lines() {
        let mut found = vec![None; 2];
        let line = " {\"id\" : \"7\",\"text\":\"def f(): pass é\" ,\"text\": \"last\"}\r\n";
        assert_eq!(super::string_fields(line.as_bytes(), &["text", "id"], &mut found), Some(()));
        assert_eq!(found, vec![Some("last".into()), Some("7".into())]);
        // Escapes are undone, the keys' too; a text with none is borrowed from the line.
        let line = r#"{"t\u0065xt": "a\nb\"c\\d\/\t\u00e9\ud83d\ude00\u0000", "id": "plain"}"#;
        assert_eq!(super::string_fields(line.as_bytes(), &["text", "id"], &mut found), Some(()));
        assert_eq!(found, vec![Some("a\nb\"c\\d/\t\u{e9}\u{1F600}\0".into()), Some("plain".into())]);
        assert!(matches!(found[1], Some(Cow::Borrowed(_))), "{found:?}");
        // A raw tab in a string is a control character, which JSON refuses unescaped; between tokens JSON
        // allows it, and serde_json reads that line.
        for other in [
            "{\"text\": \"a\tb\"}",
            "{\"text\":\t\"ab\"}",
            "{\"text\": \"a\\qb\"}",
            "{\"text\": \"\\ud800\"}",
            "{\"text\": \"\\udc00\"}",
            "{\"text\": \"\\ud800\\u0041\"}",
            "{\"text\": \"\\u12\"}",
            "{\"text\": \"x\", \"other\": \"\\x\"}",
            "{\"text\": 1}",
            "{}",
            "{\"text\": \"x\",}",
            "{\"text\": \"x\"} y",
        ] {
            assert_eq!(super::string_fields(other.as_bytes(), &["text"], &mut found), None, "{other:?}");
        }
    }
}
