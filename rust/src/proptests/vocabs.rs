//! The vocabularies the property tests run on, loaded once: the demo vocabulary always, and the real ones
//! found where tests/conftest.py looks (`$LLAMATOK_FIXTURES`, else `../shared/fixtures`, else the Hugging
//! Face cache; Mistral's where tests/fetch_mistral.py puts it). Each matches its file's special tokens
//! and Code Llama's infill pieces when the vocabulary has them, as `CodeLlamaTokenizerFast` does.

use std::io::Write;
use std::path::PathBuf;
use std::sync::OnceLock;

use crate::encoder::Encoder;
use crate::Tokenizer;

pub struct Named {
    pub name: &'static str,
    pub tok: Tokenizer,
    /// The plain-text encoder of the same vocabulary, for the stages behind `Tokenizer`.
    pub encoder: Encoder,
}

const INFILL: [&str; 4] = ["\u{2581}<PRE>", "\u{2581}<SUF>", "\u{2581}<MID>", "\u{2581}<EOT>"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn hub_cache() -> Option<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    var("HF_HUB_CACHE")
        .or_else(|| var("HUGGINGFACE_HUB_CACHE"))
        .or_else(|| var("HF_HOME").map(|h| h.join("hub")))
        .or_else(|| var("XDG_CACHE_HOME").map(|c| c.join("huggingface/hub")))
        .or_else(|| var("HOME").map(|h| h.join(".cache/huggingface/hub")))
}

/// `in_fixtures` if it exists, else `file` of the cached snapshot of `repo` (`refs/main` names it).
fn locate(in_fixtures: PathBuf, repo: &str, file: &str) -> Option<PathBuf> {
    if in_fixtures.is_file() {
        return Some(in_fixtures);
    }
    let repo_dir = hub_cache()?.join(format!("models--{}", repo.replace('/', "--")));
    let commit = std::fs::read_to_string(repo_dir.join("refs/main")).ok()?;
    Some(repo_dir.join("snapshots").join(commit.trim()).join(file)).filter(|p| p.is_file())
}

fn with_specials(tok: Tokenizer) -> Tokenizer {
    let mut specials = tok.special_tokens().to_vec();
    specials.extend(INFILL.iter().filter_map(|t| Some((t.to_string(), tok.vocab().id(t)?))));
    tok.with_special_tokens(specials).expect("the ids come from the vocabulary")
}

/// One of Mistral's models where tests/fetch_mistral.py puts them.
fn mistral(file: &str) -> Option<PathBuf> {
    Some(root().join(".cache/mistral").join(file)).filter(|p| p.is_file())
}

/// Every vocabulary available here.
pub fn all() -> &'static [Named] {
    static ALL: OnceLock<Vec<Named>> = OnceLock::new();
    ALL.get_or_init(|| {
        let demo = root().join("python/llamatok/data/demo");
        let fixtures = std::env::var_os("LLAMATOK_FIXTURES")
            .map(PathBuf::from)
            .unwrap_or_else(|| root().join("../shared/fixtures"));
        let files = [
            ("demo tokenizer.model", Some(demo.join("tokenizer.model"))),
            ("demo tokenizer.json", Some(demo.join("tokenizer.json"))),
            (
                "Llama 2 tokenizer.model",
                locate(fixtures.join("llama2-tokenizer.model"), "meta-llama/Llama-2-7b-hf", "tokenizer.model"),
            ),
            (
                "Code Llama tokenizer.json",
                locate(fixtures.join("codellama-7b-hf/tokenizer.json"), "codellama/CodeLlama-7b-hf", "tokenizer.json"),
            ),
            ("Mistral tokenizer.model", mistral("tokenizer.model.v1")),
            // v7's user-defined pieces include all of v3's; v2 adds only control pieces to v1 (tests/core checks
            // all three against sentencepiece).
            ("Mistral v7 tokenizer.model", mistral("mistral_instruct_tokenizer_241114.model.v7")),
        ];
        let mut out = Vec::new();
        for (name, path) in files {
            match path {
                Some(path) => {
                    let tok = Tokenizer::from_file(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
                    let encoder = Encoder::new(tok.vocab().clone());
                    out.push(Named { name, tok: with_specials(tok), encoder });
                }
                // Straight to stderr: the test harness would hide a note printed with eprintln!.
                None => {
                    let _ = writeln!(
                        std::io::stderr(),
                        "note: the {name} is absent (see tests/conftest.py for where it is looked for): \
                         the property tests run without it"
                    );
                }
            }
        }
        out
    })
}
