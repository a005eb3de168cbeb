//! The `added_tokens` section: special tokens and other whole-text tokens, each either an entry of
//! the vocabulary again or a new id right after it (docs/model-files.md).

use serde_json::Value;

use super::{field, opt_bool, Res};
use crate::vocab::AddedToken;

/// Reads the section, growing `texts` (the vocabulary by id) by the tokens that come after it.
pub(super) fn read(root: &Value, texts: &mut Vec<String>) -> Res<Vec<AddedToken>> {
    let Some(section) = field(root, "added_tokens") else { return Ok(Vec::new()) };
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
        for key in ["lstrip", "rstrip", "single_word", "normalized"] {
            if opt_bool(tok, key, &what)? {
                return Err(format!("{what}: {key}=true is not supported yet"));
            }
        }
        let special = opt_bool(tok, "special", &what)?;
        match id.cmp(&texts.len()) {
            std::cmp::Ordering::Less if texts[id] == content => {}
            std::cmp::Ordering::Less => {
                return Err(format!("{what}: id {id}, which the vocabulary gives to {:?}", texts[id]))
            }
            std::cmp::Ordering::Equal => texts.push(content.clone()),
            std::cmp::Ordering::Greater => {
                return Err(format!("{what}: id {id} leaves a gap after the last id {}", texts.len() - 1))
            }
        }
        added.push(AddedToken { content, id: id as u32, special });
    }
    Ok(added)
}
