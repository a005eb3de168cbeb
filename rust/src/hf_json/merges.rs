//! `model.merges`: each merge written as `"left right"` (older files) or `["left", "right"]` (newer
//! ones), read with its strings borrowed from the file where they hold no escape, and checked against
//! the vocabulary. Read through serde's untagged enums, which first copy every value into a generic
//! tree, the list took a fifth of a tokenizer's load (`benches/results/notes.md`, session 24).

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, SeqAccess, Visitor};

use super::Res;

/// One merge as written.
pub(super) enum MergeEntry<'a> {
    Joined(Cow<'a, str>),
    Pair(Cow<'a, str>, Cow<'a, str>),
}

/// A JSON string, borrowed from the file when it has no escape.
struct Text<'a>(Cow<'a, str>);

struct TextVisitor<'a>(PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for TextVisitor<'a> {
    type Value = Text<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Text(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Text(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Text(Cow::Owned(v)))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(TextVisitor(PhantomData))
    }
}

struct EntryVisitor<'a>(PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for EntryVisitor<'a> {
    type Value = MergeEntry<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a merge: \"left right\" or [\"left\", \"right\"]")
    }

    // A string is read as `Text` reads it.
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        TextVisitor(PhantomData).visit_borrowed_str(v).map(|t| MergeEntry::Joined(t.0))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        TextVisitor(PhantomData).visit_str(v).map(|t| MergeEntry::Joined(t.0))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        TextVisitor(PhantomData).visit_string(v).map(|t| MergeEntry::Joined(t.0))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let left: Text<'a> = seq.next_element()?.ok_or_else(|| de::Error::invalid_length(0, &self))?;
        let right: Text<'a> = seq.next_element()?.ok_or_else(|| de::Error::invalid_length(1, &self))?;
        if seq.next_element::<IgnoredAny>()?.is_some() {
            return Err(de::Error::invalid_length(3, &self));
        }
        Ok(MergeEntry::Pair(left.0, right.0))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for MergeEntry<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(EntryVisitor(PhantomData))
    }
}

/// The merges in rank order, as ids.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Merges {
    /// Each merge's left and right.
    pub pairs: Vec<(u32, u32)>,
    /// The id each merge makes.
    pub made: Vec<u32>,
}

/// The merges of `list`; each of a merge's two sides and their concatenation must be in the vocabulary
/// (`ids`).
pub(super) fn read_merges(list: &[MergeEntry], ids: &dyn Fn(&str) -> Option<u32>) -> Res<Merges> {
    let mut pairs = Vec::with_capacity(list.len());
    let mut made = Vec::with_capacity(list.len());
    let mut joined = String::new();
    for (rank, m) in list.iter().enumerate() {
        let (left, right) = match m {
            // The space is ASCII, so both sides are whole characters.
            MergeEntry::Joined(s) => match memchr::memchr(b' ', s.as_bytes()) {
                Some(at) => (&s[..at], &s[at + 1..]),
                None => return Err(format!("merge {rank} {s:?} is not \"left right\"")),
            },
            MergeEntry::Pair(l, r) => (l.as_ref(), r.as_ref()),
        };
        let lookup = |t: &str| {
            ids(t)
                .ok_or_else(|| format!("merge {rank} ({left:?} {right:?}) names {t:?}, which is not in the vocabulary"))
        };
        let (l, r) = (lookup(left)?, lookup(right)?);
        joined.clear();
        joined.push_str(left);
        joined.push_str(right);
        made.push(lookup(&joined)?);
        pairs.push((l, r));
    }
    Ok(Merges { pairs, made })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(json: &str) -> Result<Vec<MergeEntry<'_>>, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn both_spellings_are_read_and_plain_strings_borrowed() {
        let list = entries(r#"["a b", ["c", "d e"], "\u0061 \u0062", ["\u00e9", "f"]]"#).unwrap();
        let shown: Vec<(String, bool)> = list
            .iter()
            .map(|m| match m {
                MergeEntry::Joined(s) => (s.to_string(), matches!(s, Cow::Borrowed(_))),
                MergeEntry::Pair(l, r) => (format!("{l}|{r}"), matches!((l, r), (Cow::Borrowed(_), Cow::Borrowed(_)))),
            })
            .collect();
        let want = [("a b", true), ("c|d e", true), ("a b", false), ("é|f", false)];
        assert_eq!(shown, want.map(|(s, b)| (s.to_string(), b)));
    }

    #[test]
    fn anything_else_is_refused_with_what_a_merge_is() {
        for bad in [r#"[["a"]]"#, r#"[["a", "b", "c"]]"#, "[1]", r#"[["a", 2]]"#, "[null]", r#"[{"a": "b"}]"#] {
            let err = entries(bad).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(
                err.contains("a merge: \"left right\" or [\"left\", \"right\"]") || err.contains("a string"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn each_side_and_their_join_must_be_in_the_vocabulary() {
        let vocab = ["a", "b", "ab", "é", "éb"];
        let ids = |t: &str| vocab.iter().position(|v| *v == t).map(|i| i as u32);
        let list = entries(r#"["a b", ["é", "b"]]"#).unwrap();
        assert_eq!(read_merges(&list, &ids).unwrap(), Merges { pairs: vec![(0, 1), (3, 1)], made: vec![2, 4] });
        for (bad, message) in [
            (r#"["ab"]"#, "merge 0 \"ab\" is not \"left right\""),
            (r#"["a x"]"#, "names \"x\", which is not in the vocabulary"),
            (r#"["b a"]"#, "names \"ba\", which is not in the vocabulary"),
        ] {
            let err = read_merges(&entries(bad).unwrap(), &ids).unwrap_err();
            assert!(err.contains(message), "{bad}: {err}");
        }
    }
}
