//! The commonest JSONL line read without serde_json: an object whose values are all strings, with no
//! backslash anywhere in the line (so no escape to undo: every text is its bytes as written). A
//! line of short code then costs a few scans instead of serde_json's visit of every token (measured:
//! `benches/results/notes.md`, session 23). Anything else is left to serde_json (`None`), so the
//! texts given here are the ones serde_json, and so Python's `json`, would give.

use std::borrow::Cow;
use std::ops::Range;

/// Reads `line` as `{"key": "value", ...}` (JSON whitespace allowed between the tokens), storing the
/// value of each of `keys` into `found` (a key given twice: its last value). `None` when the line is
/// anything else; what was stored then must be dropped.
pub(super) fn string_fields<'a>(bytes: &'a [u8], keys: &[&str], found: &mut [Option<Cow<'a, str>>]) -> Option<()> {
    let line = match scan(bytes) {
        Scan::Escapes => return None,
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
        let (key, next) = string(bytes, at)?;
        at = skip_space(bytes, next);
        if bytes.get(at) != Some(&b':') {
            return None;
        }
        let (value, next) = string(bytes, skip_space(bytes, at + 1))?;
        if let Some(i) = keys.iter().position(|k| k.as_bytes() == &bytes[key.clone()]) {
            // The quotes around it are ASCII: the range starts and ends on character boundaries.
            found[i] = Some(Cow::Borrowed(&line[value]));
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
    /// A backslash, or a control character but the line's ending (`\n` or `\r\n`): a string may hold an
    /// escape or a character JSON refuses unescaped, so serde_json reads the line. (A tab between
    /// tokens, which JSON allows, sends the line there too.)
    Escapes,
    /// Neither, and every byte is ASCII.
    Ascii,
    /// Neither, and some byte is not ASCII.
    NotAscii,
}

/// One pass over `line` without an early exit, which the compiler turns into a vector loop.
fn scan(line: &[u8]) -> Scan {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let (escapes, high) = line
        .iter()
        .fold((false, false), |(escapes, high), &b| (escapes | (b == b'\\') | (b < 0x20), high | (b >= 0x80)));
    match (escapes, high) {
        (true, _) => Scan::Escapes,
        (false, false) => Scan::Ascii,
        (false, true) => Scan::NotAscii,
    }
}

/// The string opening at `at`: its contents and the position after its closing quote. `None` when no
/// string opens there. In a line without [`Scan::Escapes`], the next quote closes it.
fn string(bytes: &[u8], at: usize) -> Option<(Range<usize>, usize)> {
    if bytes.get(at) != Some(&b'"') {
        return None;
    }
    let start = at + 1;
    let end = start + memchr::memchr(b'"', &bytes[start..])?;
    Some((start..end, end + 1))
}

#[cfg(test)]
mod tests {
    use super::super::{serde_fields, text_fields};
    use proptest::prelude::*;

    /// Pieces of JSONL lines: the plain case and everything near it that must go to serde_json.
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
            shape in 0..3usize,
            not_utf8 in prop::option::of((0..3usize, any::<prop::sample::Index>())),
        ) {
            let body: String = parts.concat();
            // Most random lines are not objects of strings; the shapes below make many of them.
            let line = match shape {
                0 => body,
                1 => format!("{{\"text\": {body}}}"),
                _ => format!("{{\"id\": \"1\", \"text\": \"{}\"{body}}}\n", body.replace(['"', '\\'], "")),
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

    #[test]
    fn the_simple_path_takes_plain_lines() {
        let mut found = vec![None; 2];
        let line = " {\"id\" : \"7\",\"text\":\"def f(): pass é\" ,\"text\": \"last\"}\r\n";
        assert_eq!(super::string_fields(line.as_bytes(), &["text", "id"], &mut found), Some(()));
        assert_eq!(found, vec![Some("last".into()), Some("7".into())]);
        // A raw tab in a string is a control character, which JSON refuses unescaped; between tokens JSON
        // allows it, and serde_json reads that line.
        for other in [
            "{\"text\": \"a\tb\"}",
            "{\"text\":\t\"ab\"}",
            "{\"text\": \"a\\nb\"}",
            "{\"text\": 1}",
            "{}",
            "{\"text\": \"x\",}",
            "{\"text\": \"x\"} y",
        ] {
            assert_eq!(super::string_fields(other.as_bytes(), &["text"], &mut found), None, "{other:?}");
        }
    }
}
