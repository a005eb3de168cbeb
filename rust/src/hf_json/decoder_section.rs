//! The `decoder` section. llamatok does not use it (its two decode styles are fixed, see
//! docs/decoding.md), but a file whose decoder `tokenizers` cannot read is not a usable
//! tokenizer.json, so the section is checked for shape: known types, with their fields of the right
//! JSON types.

use serde_json::Value;

use super::Res;

/// A field's expected JSON type.
#[derive(Clone, Copy)]
enum Kind {
    Bool,
    Str,
    /// A string of exactly one character (tokenizers reads a `char`).
    Char,
    Uint,
}

/// A field of a decoder: its name, its JSON type, whether it is required.
type Field = (&'static str, Kind, bool);

/// Each decoder type with its fields.
const TYPES: &[(&str, &[Field])] = &[
    ("ByteFallback", &[]),
    ("Fuse", &[]),
    ("Strip", &[("content", Kind::Char, true), ("start", Kind::Uint, true), ("stop", Kind::Uint, true)]),
    ("Replace", &[("content", Kind::Str, true)]),
    (
        "Metaspace",
        &[
            ("replacement", Kind::Char, true),
            ("prepend_scheme", Kind::Str, false),
            ("split", Kind::Bool, false),
            ("add_prefix_space", Kind::Bool, false),
        ],
    ),
    (
        "ByteLevel",
        &[
            ("add_prefix_space", Kind::Bool, false),
            ("trim_offsets", Kind::Bool, false),
            ("use_regex", Kind::Bool, false),
        ],
    ),
    ("WordPiece", &[("prefix", Kind::Str, false), ("cleanup", Kind::Bool, false)]),
    ("BPEDecoder", &[("suffix", Kind::Str, false)]),
    (
        "CTC",
        &[("pad_token", Kind::Str, false), ("word_delimiter_token", Kind::Str, false), ("cleanup", Kind::Bool, false)],
    ),
    ("Sequence", &[]),
];

pub(super) fn check(root: &Value) -> Res<()> {
    match root.get("decoder") {
        None | Some(Value::Null) => Ok(()),
        Some(decoder) => check_one(decoder, "decoder"),
    }
}

fn check_one(decoder: &Value, what: &str) -> Res<()> {
    let kind =
        decoder.get("type").and_then(Value::as_str).ok_or_else(|| format!("{what}: not an object with a \"type\""))?;
    let fields = TYPES
        .iter()
        .find(|(name, _)| *name == kind)
        .map(|(_, fields)| *fields)
        .ok_or_else(|| format!("{what}: unknown decoder type {kind:?}"))?;
    for &(name, expected, required) in fields {
        let ok = match (decoder.get(name), expected) {
            (None, _) => !required,
            (Some(v), Kind::Bool) => v.is_boolean(),
            (Some(v), Kind::Str) => v.is_string(),
            (Some(v), Kind::Char) => v.as_str().is_some_and(|s| s.chars().count() == 1),
            (Some(v), Kind::Uint) => v.is_u64(),
        };
        if !ok {
            let wanted = match expected {
                Kind::Bool => "a boolean",
                Kind::Str => "a string",
                Kind::Char => "a one-character string",
                Kind::Uint => "an integer of 0 or more",
            };
            return Err(format!("{what} ({kind}): {name} is {}, not {wanted}", describe(decoder.get(name))));
        }
    }
    match kind {
        "Replace" => {
            let pattern = decoder.get("pattern").and_then(Value::as_object);
            let one_string = pattern.is_some_and(|p| {
                p.len() == 1 && ["String", "Regex"].iter().any(|k| p.get(*k).is_some_and(Value::is_string))
            });
            if !one_string {
                return Err(format!("{what} (Replace): pattern is not {{\"String\": ...}} or {{\"Regex\": ...}}"));
            }
        }
        "Sequence" => {
            let list = decoder
                .get("decoders")
                .and_then(Value::as_array)
                .ok_or_else(|| format!("{what} (Sequence): decoders is missing or not a list"))?;
            for (i, inner) in list.iter().enumerate() {
                check_one(inner, &format!("{what}.decoders[{i}]"))?;
            }
        }
        "Metaspace" => {
            let scheme = decoder.get("prepend_scheme").and_then(Value::as_str);
            if scheme.is_some_and(|s| !["always", "never", "first"].contains(&s)) {
                return Err(format!("{what} (Metaspace): prepend_scheme {scheme:?} is not always, never or first"));
            }
        }
        _ => {}
    }
    Ok(())
}

fn describe(value: Option<&Value>) -> String {
    match value {
        None => "missing".into(),
        Some(v) => format!("{v}"),
    }
}
