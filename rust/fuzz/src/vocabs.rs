//! The vocabularies the encoding targets run on, loaded once: the demo vocabulary (in the repository),
//! and Meta's when present where tests/conftest.py looks first (`$LLAMATOK_FIXTURES`, else
//! `../shared/fixtures`). Each matches its file's special tokens and Code Llama's infill pieces.

use std::path::PathBuf;
use std::sync::OnceLock;

use llamatok::Tokenizer;

const INFILL: [&str; 4] = ["\u{2581}<PRE>", "\u{2581}<SUF>", "\u{2581}<MID>", "\u{2581}<EOT>"];

fn load(path: PathBuf) -> Tokenizer {
    let tok = Tokenizer::from_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut specials = tok.special_tokens().to_vec();
    specials.extend(INFILL.iter().filter_map(|t| Some((t.to_string(), tok.vocab().id(t)?))));
    tok.with_special_tokens(specials).expect("ids from the vocabulary")
}

pub fn all() -> &'static [Tokenizer] {
    static ALL: OnceLock<Vec<Tokenizer>> = OnceLock::new();
    ALL.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        let demo = root.join("python/llamatok/data/demo");
        let fixtures =
            std::env::var_os("LLAMATOK_FIXTURES").map(PathBuf::from).unwrap_or_else(|| root.join("../shared/fixtures"));
        let mut paths = vec![demo.join("tokenizer.json"), demo.join("tokenizer.model")];
        for real in [fixtures.join("codellama-7b-hf/tokenizer.json"), fixtures.join("llama2-tokenizer.model")] {
            if real.is_file() {
                paths.push(real);
            } else {
                eprintln!("note: {} is absent: fuzzing without it", real.display());
            }
        }
        paths.into_iter().map(load).collect()
    })
}
