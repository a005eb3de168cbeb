//! The text fields of one JSONL line, parsed where the batch is encoded (on the worker threads), for
//! `llamatok preprocess`. Only the plain case is taken: a JSON object whose fields named by the keys
//! are all strings. Anything else (not JSON, not an object, a field missing, null or not a string, a
//! lone surrogate, a number JSON allows and serde_json refuses, ...) gives `None`, and the caller reads
//! the line again with Python's `json` module, which decides what the line is and how it is rejected:
//! a line taken here gives the same texts as Python's parser would.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

mod simple;

/// The texts of `keys` in `line` (a JSON object), in the keys' order; `None` unless every key holds a
/// string. A key given twice counts as its last value, as in Python's `json`.
pub fn text_fields<'a>(line: &'a [u8], keys: &[&str]) -> Option<Vec<Cow<'a, str>>> {
    let mut found = Vec::new();
    if !text_fields_into(line, keys, &mut found) {
        return None;
    }
    found.into_iter().collect()
}

/// [`text_fields`] into `found` (cleared first, then one entry per key, each `Some` when this returns
/// true): the caller keeps `found` from line to line, so that a line whose texts need no unescaping
/// allocates nothing.
pub fn text_fields_into<'a>(line: &'a [u8], keys: &[&str], found: &mut Vec<Option<Cow<'a, str>>>) -> bool {
    fields_into(line, keys, found, true)
}

/// [`text_fields_into`], with the simple path tried first or (`simple` false: the tests' reference) not.
fn fields_into<'a>(line: &'a [u8], keys: &[&str], found: &mut Vec<Option<Cow<'a, str>>>, simple: bool) -> bool {
    found.clear();
    found.resize(keys.len(), None);
    // The simple path checks the line's UTF-8 itself (an ASCII line needs no check), and its lines hold
    // no number, so the digit runs below do not concern it.
    if simple && simple::string_fields(line, keys, found).is_some() {
        return found.iter().all(Option::is_some);
    }
    found.fill(None);
    // Python decodes the whole line before parsing it, and serde_json does not check the UTF-8 of the
    // strings it skips.
    let Ok(line) = std::str::from_utf8(line) else { return false };
    if has_long_digit_run(line.as_bytes()) {
        return false;
    }
    let mut de = serde_json::Deserializer::from_str(line);
    if (Fields { keys, found: &mut found[..] }).deserialize(&mut de).is_err() || de.end().is_err() {
        return false;
    }
    found.iter().all(Option::is_some)
}

/// [`text_fields`] by serde_json alone, which the simple path is held to.
#[cfg(test)]
fn serde_fields<'a>(line: &'a [u8], keys: &[&str]) -> Option<Vec<Cow<'a, str>>> {
    let mut found = Vec::new();
    fields_into(line, keys, &mut found, false).then(|| found.into_iter().flatten().collect())
}

/// Python refuses to read an integer of more digits than `sys.get_int_max_str_digits()` (4300 unless
/// set, 640 at the least), and serde_json reads any: a line with a run of that many digits anywhere
/// (a false alarm inside a string only costs the fallback) is left to Python.
const PYTHON_MIN_INT_DIGITS: usize = 640;

/// Whether `line` has a run of [`PYTHON_MIN_INT_DIGITS`] ASCII digits. Such a run covers a multiple of
/// half that length, so only the bytes there are looked at first, and a run is measured only around a
/// digit found there: a line is read at a few bytes in 320, not byte by byte.
fn has_long_digit_run(line: &[u8]) -> bool {
    const STRIDE: usize = PYTHON_MIN_INT_DIGITS / 2;
    let mut at = 0;
    while at < line.len() {
        if line[at].is_ascii_digit() {
            let start = line[..at].iter().rposition(|b| !b.is_ascii_digit()).map_or(0, |i| i + 1);
            let end = line[at..].iter().position(|b| !b.is_ascii_digit()).map_or(line.len(), |i| at + i);
            if end - start >= PYTHON_MIN_INT_DIGITS {
                return true;
            }
            // The next multiple of STRIDE past this run (a run is never measured twice).
            at = (end / STRIDE + 1) * STRIDE;
        } else {
            at += STRIDE;
        }
    }
    false
}

struct Fields<'k, 'f, 'de> {
    keys: &'k [&'k str],
    found: &'f mut [Option<Cow<'de, str>>],
}

impl<'de> DeserializeSeed<'de> for Fields<'_, '_, 'de> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Fields<'_, '_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            match self.keys.iter().position(|k| *k == key) {
                Some(i) => self.found[i] = map.next_value::<MaybeText<'de>>()?.0,
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// A JSON value: its text when it is a string, else `None` (the value is read and dropped).
struct MaybeText<'de>(Option<Cow<'de, str>>);

impl<'de> Deserialize<'de> for MaybeText<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(MaybeTextVisitor)
    }
}

struct MaybeTextVisitor;

impl<'de> Visitor<'de> for MaybeTextVisitor {
    type Value = MaybeText<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(MaybeText(Some(Cow::Borrowed(v))))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(MaybeText(Some(Cow::Owned(v.to_owned()))))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(MaybeText(Some(Cow::Owned(v))))
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(MaybeText(None))
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(MaybeText(None))
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(MaybeText(None))
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(MaybeText(None))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(MaybeText(None))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(MaybeText(None))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(MaybeText(None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(line: &str, keys: &[&str]) -> Option<Vec<String>> {
        text_fields(line.as_bytes(), keys).map(|v| v.into_iter().map(|c| c.into_owned()).collect())
    }

    #[test]
    fn plain_objects_give_their_texts() {
        assert_eq!(texts("{\"text\": \"a\\nb\"}\n", &["text"]), Some(vec!["a\nb".into()]));
        assert_eq!(texts(" {\"id\": [1, {\"x\": null}], \"text\": \"\"}\r\n", &["text"]), Some(vec!["".into()]));
        assert_eq!(texts("{\"b\": \"2\", \"a\": \"1\"}", &["a", "b"]), Some(vec!["1".into(), "2".into()]));
        assert_eq!(texts("{\"text\": \"x\", \"text\": \"last\"}", &["text"]), Some(vec!["last".into()]));
        assert_eq!(texts("{\"text\": \"\\u00e9\\ud83d\\ude00\\u0000\"}", &["text"]), Some(vec!["é😀\0".into()]));
        // serde_json's raw-value marker key is a key like any other here (as in Python).
        let marker = "{\"$serde_json::private::RawValue\": [null], \"text\": \"t\", \"x\": {\"$serde_json::private::RawValue\": 1}}";
        assert_eq!(texts(marker, &["text"]), Some(vec!["t".into()]));
        // Python reads 1e400 as inf: the line is an object with its text.
        assert_eq!(texts("{\"text\": \"x\", \"n\": 1e400}", &["text"]), Some(vec!["x".into()]));
    }

    #[test]
    fn everything_else_is_left_to_the_caller() {
        for line in [
            "",
            "[\"text\"]",
            "\"text\"",
            "{\"text\": 3}",
            "{\"text\": null}",
            "{\"other\": \"x\"}",
            "{\"text\": \"x\", \"text\": 1}",
            "{\"text\": \"x\"} trailing",
            "{\"text\": \"x\",}",
            "{\"text\": \"\\ud800\"}",
            "{\"text\": \"\\udc00 lone trailing\"}",
            "{\"text\": \"x\", \"n\": NaN}",
            "{\"text\": \"raw\u{1}control\"}",
            "\u{feff}{\"text\": \"bom\"}",
            "{\"text\": \"x\", \"other\": \"raw\u{1}control\"}",
            "{\"text\": \"x\", \"other\": [\"\\q\"]}",
        ] {
            assert_eq!(texts(line, &["text"]), None, "{line:?}");
        }
        assert_eq!(text_fields(b"{\"text\": \"\xff\"}", &["text"]), None);
        // Python refuses integers of over 4300 digits (by default): such lines are Python's to judge.
        let long_int = format!("{{\"text\": \"x\", \"n\": {}}}", "1".repeat(5000));
        assert_eq!(texts(&long_int, &["text"]), None);
        let short_int = format!("{{\"text\": \"x\", \"n\": {}}}", "1".repeat(639));
        assert_eq!(texts(&short_int, &["text"]), Some(vec!["x".into()]));
        // Every place and length of a run around the limit, against a byte-by-byte count.
        let naive = |line: &[u8]| line.split(|b| !b.is_ascii_digit()).any(|run| run.len() >= PYTHON_MIN_INT_DIGITS);
        for len in [0, 1, 319, 320, 321, 639, 640, 641, 1300] {
            for start in [0, 1, 5, 319, 320, 321, 639, 640, 700] {
                for tail in [0, 1, 400] {
                    let mut line = vec![b'x'; start];
                    line.extend(std::iter::repeat_n(b'7', len));
                    line.extend(std::iter::repeat_n(b'y', tail));
                    line.extend(b"12345");
                    assert_eq!(has_long_digit_run(&line), naive(&line), "{len} {start} {tail}");
                }
            }
        }
        // Python decodes the whole line first: bytes that are not UTF-8 anywhere make it a reject.
        assert_eq!(text_fields(b"{\"text\": \"x\", \"other\": \"\xff\"}", &["text"]), None);
    }
}
