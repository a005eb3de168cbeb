//! Reads a Hugging Face `tokenizer.json` holding a SentencePiece-style BPE (byte fallback, `▁` for
//! spaces), as the Hub's Llama and Code Llama files do. Anything that would change the ids in a way
//! this project does not reproduce is refused with a message, never ignored (docs/model-files.md).

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::vocab::{parse_byte_piece, MergeOrder, Piece, PieceKind, Vocab};
use merges::{read_merges, MergeEntry};

mod added_tokens;
mod decoder_section;
mod merges;
mod normalization;
mod post_processor;

type Res<T> = std::result::Result<T, String>;

/// A field that is present and not null.
fn field<'a>(obj: &'a Value, key: &str) -> Option<&'a Value> {
    obj.get(key).filter(|v| !v.is_null())
}

/// An optional boolean setting: false when absent or null, an error naming it when not a boolean
/// (tokenizers refuses such a file; reading it as false would hide the problem).
fn opt_bool(obj: &Value, key: &str, what: &str) -> Res<bool> {
    match field(obj, key) {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(format!("{what}: {key} is {other}, not true or false")),
    }
}

/// The `model` section, read straight into Rust types (a generic JSON tree of 32k vocabulary
/// entries and 61k merges would cost most of the load time).
#[derive(Deserialize)]
struct ModelSection<'a> {
    #[serde(rename = "type")]
    kind: Option<String>,
    dropout: Option<f64>,
    continuing_subword_prefix: Option<String>,
    end_of_word_suffix: Option<String>,
    ignore_merges: Option<bool>,
    byte_fallback: Option<bool>,
    fuse_unk: Option<bool>,
    unk_token: Option<String>,
    vocab: Option<VocabEntries>,
    #[serde(borrow)]
    merges: Option<Vec<MergeEntry<'a>>>,
}

/// The vocabulary object as a list of (text, id), in file order.
struct VocabEntries(Vec<(String, u64)>);

impl<'de> Deserialize<'de> for VocabEntries {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Entries;
        impl<'de> serde::de::Visitor<'de> for Entries {
            type Value = VocabEntries;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object mapping token text to id")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<VocabEntries, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some(entry) = map.next_entry::<String, u64>()? {
                    out.push(entry);
                }
                Ok(VocabEntries(out))
            }
        }
        d.deserialize_map(Entries)
    }
}

/// The file: `model` kept as raw text, read on its own so that its errors name the section.
#[derive(Deserialize)]
struct Root<'a> {
    #[serde(borrow)]
    model: Option<&'a RawValue>,
    #[serde(flatten)]
    rest: serde_json::Map<String, Value>,
}

/// Decodes a `tokenizer.json` text into a vocabulary.
pub fn parse(text: &[u8]) -> Res<Vocab> {
    let parsed: Root =
        serde_json::from_slice(text).map_err(|e| format!("not valid JSON or not a tokenizer file: {e}"))?;
    let root = Value::Object(parsed.rest);
    let model: ModelSection = match parsed.model {
        Some(raw) if raw.get() != "null" => {
            serde_json::from_str(raw.get()).map_err(|e| format!("model: {e} (counted within the section)"))?
        }
        _ => return Err("no \"model\" section".into()),
    };
    match model.kind.as_deref() {
        Some("BPE") => {}
        Some(other) => return Err(format!("model type {other:?}: only BPE is supported")),
        None => return Err("model has no \"type\" (expected \"BPE\")".into()),
    }
    if model.dropout.is_some_and(|p| p > 0.0) {
        return Err("BPE dropout is not supported (it makes encoding random)".into());
    }
    for (key, value) in [
        ("continuing_subword_prefix", &model.continuing_subword_prefix),
        ("end_of_word_suffix", &model.end_of_word_suffix),
    ] {
        if value.as_deref().is_some_and(|s| !s.is_empty()) {
            return Err(format!("model.{key} is not supported"));
        }
    }
    if model.ignore_merges == Some(true) {
        return Err("model.ignore_merges=true is not supported".into());
    }
    let vocab_entries = model.vocab.ok_or("model.vocab is missing")?.0;
    let n = vocab_entries.len();
    let mut texts: Vec<Option<String>> = vec![None; n];
    for (text, id) in vocab_entries {
        let id = id as usize;
        let slot = texts.get_mut(id).ok_or_else(|| {
            format!("id {id} of {text:?} is out of range: the vocabulary has {n} entries, ids must be 0..{n}")
        })?;
        if slot.is_some() {
            return Err(format!("id {id} is used twice"));
        }
        *slot = Some(text);
    }
    let texts: Vec<String> = texts.into_iter().map(|t| t.expect("n distinct ids below n fill every slot")).collect();

    // Added tokens: either an existing vocabulary entry or a new id after the vocabulary.
    let (added, extra_ids) = added_tokens::read(&root, &texts)?;

    let byte_fallback = model.byte_fallback.unwrap_or(false);
    let unk_token = model.unk_token.as_deref();
    let index: rustc_hash::FxHashMap<&str, u32> =
        texts.iter().enumerate().map(|(i, t)| (t.as_str(), i as u32)).collect();
    let ids = |t: &str| index.get(t).copied();
    let read = read_merges(model.merges.as_deref().ok_or("model.merges is missing")?, &ids)?;
    let merges = read.pairs;
    let template = post_processor::read(&root, texts.len() + extra_ids)?;
    decoder_section::check(&root)?;
    let unk_id = match unk_token {
        Some(t) => Some(ids(t).ok_or_else(|| format!("model.unk_token {t:?} is not in the vocabulary"))?),
        None => None,
    };
    let special_ids: rustc_hash::FxHashSet<u32> = added.iter().filter(|a| a.special).map(|a| a.id).collect();
    let mut rank_of = vec![f32::NEG_INFINITY; texts.len()];
    for (rank, &merged) in read.made.iter().enumerate() {
        if rank_of[merged as usize] == f32::NEG_INFINITY {
            rank_of[merged as usize] = -(rank as f32);
        }
    }
    drop(index);
    let pieces: Vec<Piece> = texts
        .into_iter()
        .enumerate()
        .map(|(i, text)| {
            let id = i as u32;
            let kind = if Some(id) == unk_id {
                PieceKind::Unknown
            } else if special_ids.contains(&id) {
                PieceKind::Control
            } else if byte_fallback && parse_byte_piece(&text).is_some() {
                PieceKind::Byte
            } else {
                PieceKind::Normal
            };
            // tokenizer.json has no scores; the merge rank stands in for reading and display.
            let score = if rank_of[i].is_finite() { rank_of[i] } else { 0.0 };
            Piece { text, score, kind }
        })
        .collect();
    for &(l, r) in &merges {
        for side in [l, r] {
            if pieces[side as usize].kind == PieceKind::Byte {
                return Err(format!(
                    "a merge uses the byte piece {:?}, which is not supported",
                    pieces[side as usize].text
                ));
            }
        }
    }
    if let Some(p) = pieces.iter().find(|p| p.kind == PieceKind::Normal && p.text.contains(' ')) {
        return Err(format!("piece {:?} contains a plain space, which this normalizer never produces", p.text));
    }
    if !byte_fallback && unk_id.is_none() {
        return Err("no byte fallback and no unk_token: unknown characters would be dropped".into());
    }
    let add_dummy_prefix = normalization::read_dummy_prefix(&root)?;
    let mut vocab = Vocab::new(pieces, MergeOrder::MergeList(merges), byte_fallback)?;
    vocab.unk_id = unk_id;
    vocab.add_dummy_prefix = add_dummy_prefix;
    vocab.fuse_unk = model.fuse_unk.unwrap_or(false);
    vocab.bos_id = template.before.first().copied().or_else(|| vocab.id("<s>"));
    vocab.eos_id = vocab.id("</s>");
    vocab.template = template;
    vocab.added_tokens = added;
    Ok(vocab)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"{
        "added_tokens": [{"id": 0, "content": "<unk>", "special": true, "normalized": false},
                         {"id": 1, "content": "<s>", "special": true, "normalized": false}],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": "▁"}, {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
        "pre_tokenizer": null,
        "post_processor": {"type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
        "model": {"type": "BPE", "byte_fallback": false, "unk_token": "<unk>",
                  "vocab": {"<unk>": 0, "<s>": 1, "▁": 2, "a": 3, "▁a": 4},
                  "merges": ["▁ a"]}
    }"#;

    #[test]
    fn reads_a_minimal_file() {
        let v = parse(MINIMAL.as_bytes()).unwrap();
        assert_eq!(v.len(), 5);
        assert_eq!(v.unk_id, Some(0));
        assert_eq!(v.template.before, vec![1]);
        assert_eq!(v.piece(1).unwrap().kind, PieceKind::Control);
        assert!(matches!(&v.merge_order, MergeOrder::MergeList(m) if m == &vec![(2, 3)]));
    }

    #[test]
    fn refuses_what_it_cannot_reproduce() {
        let broken = MINIMAL.replace("\"▁ a\"", "\"▁ b\"");
        assert!(parse(broken.as_bytes()).unwrap_err().contains("not in the vocabulary"));
        let unigram = MINIMAL.replace("\"BPE\"", "\"Unigram\"");
        assert!(parse(unigram.as_bytes()).unwrap_err().contains("only BPE"));
        let gap = MINIMAL.replace("\"▁a\": 4", "\"▁a\": 7");
        assert!(parse(gap.as_bytes()).unwrap_err().contains("out of range"));
        assert!(parse(&MINIMAL.as_bytes()[..100]).unwrap_err().contains("JSON"));
    }

    /// Every section llamatok reads is checked, and the message names the section.
    #[test]
    fn malformed_sections_are_refused_by_name() {
        let cases = [
            ("\"ids\": [1]", "\"ids\": [4294967297]", "post_processor.special_tokens[\"<s>\"]: id 4294967297"),
            ("\"ids\": [1]", "\"ids\": [5]", "not in the vocabulary (0..4)"),
            ("\"ids\": [1]", "\"ids\": [-1]", "post_processor.special_tokens"),
            ("\"type\": \"TemplateProcessing\"", "\"type\": \"BertProcessing\"", "post_processor: type"),
            ("\"special_tokens\": {\"<s>\"", "\"special_tokens\": {\"<x>\"", "post_processor.single names \"<s>\""),
            ("\"added_tokens\": [", "\"added_tokens\": 5, \"x\": [", "added_tokens: not a list"),
            (
                "\"special\": true, \"normalized\": false},\n",
                "\"special\": \"yes\"},\n",
                "added_tokens[0] (\"<unk>\"): special",
            ),
            ("{\"id\": 0, \"content\"", "{\"id\": -3, \"content\"", "added_tokens[0] (\"<unk>\"): id -3"),
            ("\"pre_tokenizer\": null", "\"decoder\": 5", "decoder: not an object"),
            ("\"pre_tokenizer\": null", "\"decoder\": {\"type\": \"Nope\"}", "decoder: unknown decoder type"),
            (
                "\"pre_tokenizer\": null",
                "\"decoder\": {\"type\": \"Sequence\", \"decoders\": [{\"type\": \"Strip\"}]}",
                "decoder.decoders[0] (Strip): content is missing",
            ),
            ("\"byte_fallback\": false", "\"byte_fallback\": \"no\"", "model: invalid type"),
            ("\"type\": \"Sequence\", \"normalizers\"", "\"type\": 7, \"normalizers\"", "normalizer: not an object"),
        ];
        for (from, to, message) in cases {
            assert!(MINIMAL.contains(from), "{from}");
            let edited = MINIMAL.replacen(from, to, 1);
            let err = parse(edited.as_bytes()).unwrap_err();
            assert!(err.contains(message), "{to}: {err}");
        }
        let llama_decoder = r#""decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"}, {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}"#;
        assert!(parse(MINIMAL.replacen("\"pre_tokenizer\": null", llama_decoder, 1).as_bytes()).is_ok());
        let two_ids = MINIMAL.replace("\"ids\": [1]", "\"ids\": [1, 0]");
        assert_eq!(parse(two_ids.as_bytes()).unwrap().template.before, vec![1, 0]);
    }
}
