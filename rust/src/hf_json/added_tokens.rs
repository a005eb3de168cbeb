//! The `added_tokens` section: special tokens and other whole-text tokens, each either an entry of
//! the vocabulary again or a new id after it (docs/model-files.md). Tokens past the model's
//! vocabulary are not pieces of it: the tokenizer's added vocabulary (`added.rs`) holds them.

use serde_json::Value;

use super::{field, opt_bool, Res};
use crate::vocab::AddedToken;

/// Reads the section; `texts` is the model's vocabulary by id. Returns the tokens and how many ids
/// they add past the vocabulary.
pub(super) fn read(root: &Value, texts: &[String]) -> Res<(Vec<AddedToken>, usize)> {
    let mut extra: Vec<&str> = Vec::new();
    let Some(section) = field(root, "added_tokens") else { return Ok((Vec::new(), 0)) };
    let list = section.as_array().ok_or("added_tokens: not a list of tokens")?;
    let mut added = Vec::with_capacity(list.len());
    for (i, tok) in list.iter().enumerate() {
        if !tok.is_object() {
            return Err(format!("added_tokens[{i}]: not an object with a content and an id"));
        }
        let content = field(tok, "content")
            .ok_or_else(|| format!("added_tokens[{i}]: no content"))?
            .as_str()
            .ok_or_else(|| format!("added_tokens[{i}]: content is not a string"))?
            .to_string();
        let what = format!("added_tokens[{i}] ({content:?})");
        let id = field(tok, "id").ok_or_else(|| format!("{what}: no id"))?;
        let id = id
            .as_u64()
            .and_then(|id| u32::try_from(id).ok())
            .ok_or_else(|| format!("{what}: id {id} is not a token id (an integer in 0..2**32)"))?
            as usize;
        let special = opt_bool(tok, "special", &what)?;
        // tokenizers' defaults for a missing flag: normalized unless special.
        let normalized = match field(tok, "normalized") {
            None => !special,
            Some(_) => opt_bool(tok, "normalized", &what)?,
        };
        let (lstrip, rstrip, single_word) =
            (opt_bool(tok, "lstrip", &what)?, opt_bool(tok, "rstrip", &what)?, opt_bool(tok, "single_word", &what)?);
        let total = texts.len() + extra.len();
        if id < texts.len() && texts[id] != content {
            return Err(format!("{what}: id {id}, which the vocabulary gives to {:?}", texts[id]));
        }
        if id >= texts.len() && id < total && extra[id - texts.len()] != content {
            return Err(format!("{what}: id {id}, which an earlier added token has"));
        }
        if id == total {
            extra.push(field(tok, "content").and_then(Value::as_str).unwrap_or_default());
        } else if id > total {
            // The next id is `total` (0 when the vocabulary is empty), so say that rather than "the last id".
            return Err(format!("{what}: id {id} leaves a gap: the next free id is {total}"));
        }
        added.push(AddedToken { content, id: id as u32, special, normalized, lstrip, rstrip, single_word });
    }
    Ok((added, extra.len()))
}
