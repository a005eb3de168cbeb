//! The `normalizer` and `pre_tokenizer` sections, which together must amount to "every space
//! becomes `▁`, optionally with a `▁` in front" (docs/model-files.md): whether that `▁` is added is
//! all the core takes from them.

use serde_json::Value;

use super::{field, opt_bool, Res};

fn kind<'a>(v: &'a Value, what: &str) -> Res<&'a str> {
    v.get("type").and_then(Value::as_str).ok_or_else(|| format!("{what}: not an object with a \"type\""))
}

/// Whether the text gets a `▁` in front: the legacy normalizer (Prepend + Replace) or a
/// Metaspace pre-tokenizer that does not split.
pub(super) fn read_dummy_prefix(root: &Value) -> Res<bool> {
    match (field(root, "normalizer"), field(root, "pre_tokenizer")) {
        (Some(n), None) => read_normalizer(n),
        (None, Some(p)) => read_metaspace(p),
        (None, None) => Err("no normalizer and no pre-tokenizer: spaces would not become ▁".into()),
        (Some(_), Some(p)) => Err(format!(
            "pre_tokenizer: a pre-tokenizer ({}) next to a normalizer is not supported",
            kind(p, "pre_tokenizer")?
        )),
    }
}

fn read_normalizer(n: &Value) -> Res<bool> {
    let steps: Vec<&Value> = match kind(n, "normalizer")? {
        "Sequence" => n
            .get("normalizers")
            .and_then(Value::as_array)
            .ok_or("normalizer: a Sequence without a list of normalizers")?
            .iter()
            .collect(),
        _ => vec![n],
    };
    let mut prepend = false;
    let mut replace = false;
    for step in steps {
        match kind(step, "normalizer step")? {
            "Prepend" if step.get("prepend").and_then(Value::as_str) == Some("\u{2581}") => prepend = true,
            "Replace"
                if step.pointer("/pattern/String").and_then(Value::as_str) == Some(" ")
                    && step.get("content").and_then(Value::as_str) == Some("\u{2581}") =>
            {
                replace = true
            }
            other => {
                return Err(format!(
                    "normalizer: step {other:?} is not supported (only Prepend \"▁\" and Replace \" \"→\"▁\")"
                ))
            }
        }
    }
    if !replace {
        return Err("normalizer: it does not replace spaces with ▁".into());
    }
    Ok(prepend)
}

fn read_metaspace(p: &Value) -> Res<bool> {
    let what = "pre_tokenizer (Metaspace)";
    match kind(p, "pre_tokenizer")? {
        "Metaspace" => {}
        other => return Err(format!("pre_tokenizer: {other} is not supported")),
    }
    if p.get("replacement").and_then(Value::as_str) != Some("\u{2581}") {
        return Err(format!("{what}: a replacement other than ▁ is not supported"));
    }
    if opt_bool(p, "split", what)? {
        return Err(format!("{what}: split=true is not supported (it changes SentencePiece's ids)"));
    }
    match field(p, "prepend_scheme").map(|s| s.as_str().ok_or(s)) {
        Some(Ok("always")) => Ok(true),
        Some(Ok("never")) => Ok(false),
        // Files from before prepend_scheme existed say add_prefix_space (true by default).
        None => Ok(field(p, "add_prefix_space").is_none() || opt_bool(p, "add_prefix_space", what)?),
        Some(Ok(other)) => Err(format!("{what}: prepend_scheme {other:?} is not supported yet")),
        Some(Err(v)) => Err(format!("{what}: prepend_scheme is {v}, not a string")),
    }
}
