//! Valid `tokenizer.json` documents of a tiny vocabulary, in the shapes the reader accepts, and edits
//! of their values: the structure-aware JSON target starts from one and applies arbitrary edits, so
//! that most inputs are well-formed JSON that reaches the checks behind the syntax.

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use serde_json::{json, Map, Value};

/// After `<unk>`, `<s>`, `</s>` and the 256 byte pieces; each merge joins two of them into a third.
const PIECES: &[&str] = &[
    "\u{2581}",
    "a",
    "b",
    "c",
    "d",
    "e",
    "<",
    ">",
    "s",
    "\u{2581}a",
    "ab",
    "cd",
    "\u{2581}ab",
    "abcd",
    "\u{2581}abcd",
    "\u{2581}<",
    "s>",
    "\u{2581}<s>",
    "ee",
    "eee",
];
const MERGES: &[(&str, &str)] = &[
    ("\u{2581}", "a"),
    ("a", "b"),
    ("c", "d"),
    ("\u{2581}a", "b"),
    ("ab", "cd"),
    ("\u{2581}ab", "cd"),
    ("\u{2581}", "<"),
    ("s", ">"),
    ("\u{2581}<", "s>"),
    ("e", "e"),
    ("ee", "e"),
];

/// One of four valid documents: Llama's legacy normalizer; a Metaspace pre-tokenizer; no byte fallback
/// with merges written as pairs; an added token after the vocabulary. Built once (building one costs
/// more than the rest of a fuzz input).
pub fn base(variant: u8) -> &'static Value {
    static DOCS: OnceLock<Vec<Value>> = OnceLock::new();
    &DOCS.get_or_init(|| (0..4).map(build).collect())[usize::from(variant % 4)]
}

fn build(variant: u8) -> Value {
    let mut vocab = Map::new();
    let specials = ["<unk>", "<s>", "</s>"];
    let bytes = (0..=255u8).map(|b| format!("<0x{b:02X}>"));
    for (id, text) in
        specials.iter().map(|s| s.to_string()).chain(bytes).chain(PIECES.iter().map(|s| s.to_string())).enumerate()
    {
        vocab.insert(text, json!(id));
    }
    let merges: Vec<Value> =
        MERGES.iter().map(|(l, r)| if variant == 2 { json!([l, r]) } else { json!(format!("{l} {r}")) }).collect();
    let mut added: Vec<Value> = specials
        .iter()
        .enumerate()
        .map(|(id, t)| json!({"id": id, "content": t, "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}))
        .collect();
    if variant == 3 {
        added.push(json!({"id": vocab.len(), "content": "<extra>", "special": true, "normalized": false}));
    }
    let legacy_normalizer = json!({"type": "Sequence", "normalizers": [
        {"type": "Prepend", "prepend": "\u{2581}"},
        {"type": "Replace", "pattern": {"String": " "}, "content": "\u{2581}"}]});
    let metaspace = json!({"type": "Metaspace", "replacement": "\u{2581}", "prepend_scheme": "always", "split": false});
    json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added,
        "normalizer": if variant == 1 { Value::Null } else { legacy_normalizer },
        "pre_tokenizer": if variant == 1 { metaspace } else { Value::Null },
        "post_processor": {"type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "<s>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "\u{2581}"}, "content": " "},
            {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        "model": {"type": "BPE", "dropout": null, "unk_token": "<unk>", "continuing_subword_prefix": null,
                  "end_of_word_suffix": null, "fuse_unk": true, "byte_fallback": variant != 2,
                  "ignore_merges": false, "vocab": vocab, "merges": merges}
    })
}

/// What an edit puts at a place in the document.
#[derive(Arbitrary, Debug)]
pub enum NewValue {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// The text of one of the vocabulary's pieces (names that resolve, unlike random strings).
    Piece(u16),
    EmptyList,
    EmptyObject,
    /// The value found at another place (a list where a string was, a merge where a token was...).
    CopyOf(u16),
    /// Delete the member or element.
    Remove,
    /// Give an object member another name (a vocabulary entry another text).
    Rename(String),
}

#[derive(Arbitrary, Debug)]
pub struct Edit {
    /// Which place: an index into the document's places, in walk order.
    pub at: u16,
    pub value: NewValue,
}

/// A place in the document: the keys and indices leading to it from the root.
#[derive(Clone, Debug)]
enum Step {
    Key(String),
    Index(usize),
}

/// How many places (object members and list elements, at any depth) `value` holds.
fn count_places(value: &Value) -> usize {
    match value {
        Value::Object(map) => map.values().map(|v| 1 + count_places(v)).sum(),
        Value::Array(list) => list.iter().map(|v| 1 + count_places(v)).sum(),
        _ => 0,
    }
}

/// The path of the `n`th place of `value` in walk order (each member before the places inside it),
/// found without listing every place: counting is cheap, and each fuzz input edits several times.
fn nth_place(value: &Value, mut n: usize, path: &mut Vec<Step>) -> bool {
    let children: Box<dyn Iterator<Item = (Step, &Value)>> = match value {
        Value::Object(map) => Box::new(map.iter().map(|(k, v)| (Step::Key(k.clone()), v))),
        Value::Array(list) => Box::new(list.iter().enumerate().map(|(i, v)| (Step::Index(i), v))),
        _ => return false,
    };
    for (step, child) in children {
        if n == 0 {
            path.push(step);
            return true;
        }
        let inside = count_places(child);
        if n - 1 < inside {
            path.push(step);
            return nth_place(child, n - 1, path);
        }
        n -= 1 + inside;
    }
    false
}

fn place(doc: &Value, n: usize, count: usize) -> Vec<Step> {
    let mut path = Vec::new();
    nth_place(doc, n % count, &mut path);
    path
}

fn get<'a>(root: &'a Value, path: &[Step]) -> Option<&'a Value> {
    path.iter().try_fold(root, |v, step| match step {
        Step::Key(k) => v.get(k),
        Step::Index(i) => v.get(i),
    })
}

fn get_mut<'a>(root: &'a mut Value, path: &[Step]) -> Option<&'a mut Value> {
    path.iter().try_fold(root, |v, step| match step {
        Step::Key(k) => v.get_mut(k),
        Step::Index(i) => v.get_mut(i),
    })
}

/// Applies `edit` to `doc` (places are listed anew each time: earlier edits change them).
pub fn apply(doc: &mut Value, edit: &Edit) {
    let count = count_places(doc);
    if count == 0 {
        return;
    }
    let path = place(doc, edit.at as usize, count);
    let Some((last, parent_path)) = path.split_last() else { return };
    let new = match &edit.value {
        NewValue::Null => Value::Null,
        NewValue::Bool(b) => json!(b),
        NewValue::Int(i) => json!(i),
        NewValue::Float(f) => json!(f),
        NewValue::Str(s) => json!(s),
        NewValue::Piece(i) => json!(PIECES[*i as usize % PIECES.len()]),
        NewValue::EmptyList => json!([]),
        NewValue::EmptyObject => json!({}),
        NewValue::CopyOf(i) => get(doc, &place(doc, *i as usize, count)).cloned().unwrap_or(Value::Null),
        NewValue::Remove | NewValue::Rename(_) => {
            let Some(parent) = get_mut(doc, parent_path) else { return };
            match (parent, last, &edit.value) {
                (Value::Object(map), Step::Key(k), NewValue::Rename(name)) => {
                    if let Some(v) = map.remove(k) {
                        map.insert(name.clone(), v);
                    }
                }
                (Value::Object(map), Step::Key(k), _) => {
                    map.remove(k);
                }
                (Value::Array(list), Step::Index(i), NewValue::Remove) if *i < list.len() => {
                    list.remove(*i);
                }
                _ => {}
            }
            return;
        }
    };
    if let Some(slot) = get_mut(doc, &path) {
        *slot = new;
    }
}
