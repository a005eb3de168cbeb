//! The object users hold: one vocabulary's encoder plus the special tokens matched in text.
//! Immutable and `Send + Sync`; cloning is cheap (the vocabulary is shared).

use std::path::Path;
use std::sync::Arc;

use rustc_hash::FxHashSet;

use crate::decoder::{self, DecodeStyle};
use crate::encoder::Encoder;
use crate::error::{read_file, Error, Result};
use crate::special::{Segment, SpecialMode, SpecialTokens};
use crate::vocab::Vocab;
use crate::{hf_json, model_proto};

#[derive(Clone)]
pub struct Tokenizer {
    encoder: Arc<Encoder>,
    specials: Arc<SpecialTokens>,
    special_ids: Arc<FxHashSet<u32>>,
    use_cache: bool,
}

/// Options of one encode call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncodeOptions {
    pub mode: SpecialMode,
    /// Prepend the dummy `▁` (per the mode's rule). False for infill prompts.
    pub dummy_prefix: bool,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        EncodeOptions { mode: SpecialMode::Legacy, dummy_prefix: true }
    }
}

impl Tokenizer {
    /// A tokenizer over `vocab`, matching the file's own special tokens.
    pub fn new(vocab: Vocab) -> Tokenizer {
        let specials: Vec<(String, u32)> =
            vocab.added_tokens.iter().map(|t| (t.content.clone(), t.id)).collect();
        let encoder = Arc::new(Encoder::new(vocab));
        Tokenizer::assemble(encoder, specials)
    }

    fn assemble(encoder: Arc<Encoder>, specials: Vec<(String, u32)>) -> Tokenizer {
        let special_ids = specials.iter().map(|(_, id)| *id).collect();
        Tokenizer {
            encoder,
            specials: Arc::new(SpecialTokens::new(specials)),
            special_ids: Arc::new(special_ids),
            use_cache: true,
        }
    }

    /// Reads a `tokenizer.json` or a SentencePiece `tokenizer.model` (told apart by content).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Tokenizer> {
        let path = path.as_ref();
        let bytes = read_file(path)?;
        let looks_like_json = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
        let vocab = if looks_like_json {
            hf_json::parse(&bytes)
                .map_err(|m| Error::model_file(path, format!("not a usable tokenizer.json: {m}")))?
        } else {
            model_proto::parse(&bytes)
                .map_err(|m| Error::model_file(path, format!("not a usable SentencePiece model: {m}")))?
        };
        Ok(Tokenizer::new(vocab))
    }

    /// The same vocabulary matching exactly these special-token strings (shares the vocabulary).
    pub fn with_special_tokens(&self, tokens: Vec<(String, u32)>) -> Result<Tokenizer> {
        if let Some((t, id)) = tokens.iter().find(|(_, id)| *id as usize >= self.vocab().len()) {
            return Err(Error::InvalidArgument(format!(
                "special token {t:?} has id {id}, past the vocabulary ({} ids)",
                self.vocab().len()
            )));
        }
        let mut tok = Tokenizer::assemble(self.encoder.clone(), tokens);
        tok.use_cache = self.use_cache;
        Ok(tok)
    }

    /// The same tokenizer with the chunk cache on or off (results are identical either way).
    pub fn with_cache(&self, use_cache: bool) -> Tokenizer {
        Tokenizer { use_cache, ..self.clone() }
    }

    pub fn vocab(&self) -> &Vocab {
        &self.encoder.vocab
    }

    pub fn special_tokens(&self) -> &[(String, u32)] {
        self.specials.tokens()
    }

    pub fn is_special(&self, id: u32) -> bool {
        self.special_ids.contains(&id)
    }

    /// Appends the ids of `text` (never BOS/EOS: those belong to the template) to `out`.
    pub fn encode_into(&self, text: &str, opts: EncodeOptions, out: &mut Vec<u32>) {
        let enc = &*self.encoder;
        match opts.mode {
            SpecialMode::Literal => enc.encode(text, opts.dummy_prefix, self.use_cache, out),
            SpecialMode::Legacy => self.specials.split(text, |seg| match seg {
                Segment::Text { text, .. } => enc.encode(text, opts.dummy_prefix, self.use_cache, out),
                Segment::Special { id, .. } => out.push(id),
            }),
            SpecialMode::NonLegacy => self.specials.split(text, |seg| match seg {
                Segment::Text { text, start } => {
                    enc.encode(text, opts.dummy_prefix && start == 0, self.use_cache, out)
                }
                Segment::Special { id, .. } => out.push(id),
            }),
        }
    }

    pub fn encode(&self, text: &str, opts: EncodeOptions) -> Vec<u32> {
        let mut out = Vec::with_capacity(text.len() / 3 + 4);
        self.encode_into(text, opts, &mut out);
        out
    }

    /// Decodes ids; `skip_special` drops the special tokens this tokenizer matches.
    pub fn decode(&self, ids: &[u32], style: DecodeStyle, skip_special: bool) -> Result<String> {
        let skip = |id: u32| skip_special && self.special_ids.contains(&id);
        decoder::decode(self.vocab(), ids, style, &skip)
    }
}
