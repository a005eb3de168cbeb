//! The `post_processor` section: the ids a `TemplateProcessing` puts around a single sequence
//! (`<s>` before `$A` for Llama). Every part `tokenizers` would read is checked, and every id must be
//! in the vocabulary, so a bad id is refused here instead of reaching the training data.

use serde_json::{Map, Value};

use super::{field, Res};
use crate::vocab::Template;

/// The template of a single sequence; empty without a post-processor.
pub(super) fn read(root: &Value, vocab_size: usize) -> Res<Template> {
    let Some(post) = field(root, "post_processor") else { return Ok(Template::default()) };
    let kind = post.get("type").and_then(Value::as_str).ok_or("post_processor: not an object with a \"type\"")?;
    if kind != "TemplateProcessing" {
        // Bert/Roberta processors and sequences of processors add ids llamatok would not add.
        return Err(format!("post_processor: type {kind:?} is not supported (only TemplateProcessing)"));
    }
    let specials = post
        .get("special_tokens")
        .and_then(Value::as_object)
        .ok_or("post_processor: special_tokens is missing or not an object")?;
    for (name, entry) in specials {
        special_ids(name, entry, vocab_size)?;
    }
    let mut template = Template::default();
    let mut seen_a = 0;
    for item in template_items(post, "single")? {
        match item {
            Item::Sequence("A") => seen_a += 1,
            Item::Sequence(seq) => {
                return Err(format!("post_processor.single: ${seq} in the single-sequence template (only $A)"))
            }
            Item::Special(name) => {
                let entry = specials.get(name).ok_or_else(|| {
                    format!("post_processor.single names {name:?}, which post_processor.special_tokens does not define")
                })?;
                let ids = special_ids(name, entry, vocab_size)?;
                if seen_a == 0 { &mut template.before } else { &mut template.after }.extend(ids);
            }
        }
    }
    if seen_a != 1 {
        return Err(format!("post_processor.single holds $A {seen_a} times (exactly once is supported)"));
    }
    // Not used for ids (pairs are built in Python), but tokenizers refuses a file without it.
    for item in template_items(post, "pair")? {
        if let Item::Special(name) = item {
            if !specials.contains_key(name) {
                return Err(format!("post_processor.pair names {name:?}, which special_tokens does not define"));
            }
        }
    }
    Ok(template)
}

enum Item<'a> {
    Sequence(&'a str),
    Special(&'a str),
}

/// The items of the template `key` ("single" or "pair"), each `{"Sequence": {"id": "A"|"B", "type_id"}}`
/// or `{"SpecialToken": {"id": name, "type_id"}}`.
fn template_items<'a>(post: &'a Value, key: &str) -> Res<Vec<Item<'a>>> {
    let list = post.get(key).and_then(Value::as_array).ok_or_else(|| format!("post_processor.{key}: not a list"))?;
    let mut items = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let what = format!("post_processor.{key}[{i}]");
        let (tag, body) = match item.as_object().map(Map::iter).map(|mut it| (it.next(), it.next())) {
            Some((Some(one), None)) => one,
            _ => return Err(format!("{what}: not an object with one key, Sequence or SpecialToken")),
        };
        let id = body.get("id").and_then(Value::as_str).ok_or_else(|| format!("{what}: no string id"))?;
        let type_id = body.get("type_id").and_then(Value::as_u64);
        if type_id.is_none_or(|t| t > u64::from(u32::MAX)) {
            return Err(format!("{what}: type_id is missing or not an integer in 0..2**32"));
        }
        items.push(match tag.as_str() {
            "Sequence" if id == "A" || id == "B" => Item::Sequence(id),
            "Sequence" => return Err(format!("{what}: sequence {id:?} (only A and B exist)")),
            "SpecialToken" => Item::Special(id),
            other => return Err(format!("{what}: {other:?} is neither Sequence nor SpecialToken")),
        });
    }
    Ok(items)
}

/// The ids of one entry of `special_tokens`, each in the vocabulary.
fn special_ids(name: &str, entry: &Value, vocab_size: usize) -> Res<Vec<u32>> {
    let what = format!("post_processor.special_tokens[{name:?}]");
    if !entry.get("id").is_some_and(Value::is_string) {
        return Err(format!("{what}: id is missing or not a string"));
    }
    if !entry.get("tokens").and_then(Value::as_array).is_some_and(|t| t.iter().all(Value::is_string)) {
        return Err(format!("{what}: tokens is missing or not a list of strings"));
    }
    let ids = entry.get("ids").and_then(Value::as_array).ok_or_else(|| format!("{what}: ids is not a list"))?;
    ids.iter()
        .map(|v| match v.as_u64() {
            Some(id) if id < vocab_size as u64 => Ok(id as u32),
            _ => Err(format!(
                "{what}: id {v} is not in the vocabulary (0..{}); tokenizers would write it as is",
                vocab_size.saturating_sub(1)
            )),
        })
        .collect()
}
