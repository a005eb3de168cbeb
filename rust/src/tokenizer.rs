//! The object users hold: one vocabulary's encoder plus the special tokens matched in text.
//! Immutable and `Send + Sync`; cloning is cheap (the vocabulary is shared).

use std::path::Path;
use std::sync::Arc;

use crate::decoder::{DecodeStyle, Decoder};
use crate::encoder::Encoder;
use crate::error::{read_file, Error, Result};
use crate::special::{NonLegacyText, Segment, SpecialMode, SpecialTokens};
use crate::vocab::Vocab;
use crate::{hf_json, model_proto};

#[derive(Clone)]
pub struct Tokenizer {
    encoder: Arc<Encoder>,
    decoder: Arc<Decoder>,
    /// The file the vocabulary was read from, kept so a tokenizer can be shipped to another
    /// process (pickling) and rebuilt exactly.
    source: Arc<Vec<u8>>,
    specials: Arc<SpecialTokens>,
    /// `is_special[id]`: the id is one of the matched special tokens.
    is_special: Arc<Vec<bool>>,
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
    /// A tokenizer over `vocab` (read from `source`), matching the file's own special tokens.
    fn new(vocab: Vocab, source: Vec<u8>) -> Tokenizer {
        let specials: Vec<(String, u32)> = vocab.added_tokens.iter().map(|t| (t.content.clone(), t.id)).collect();
        let decoder = Arc::new(Decoder::new(&vocab));
        let encoder = Arc::new(Encoder::new(vocab));
        Tokenizer::assemble(encoder, decoder, Arc::new(source), specials)
    }

    fn assemble(
        encoder: Arc<Encoder>,
        decoder: Arc<Decoder>,
        source: Arc<Vec<u8>>,
        specials: Vec<(String, u32)>,
    ) -> Tokenizer {
        let mut is_special = vec![false; encoder.vocab.len()];
        for (_, id) in &specials {
            is_special[*id as usize] = true;
        }
        Tokenizer {
            encoder,
            decoder,
            source,
            specials: Arc::new(SpecialTokens::new(specials)),
            is_special: Arc::new(is_special),
            use_cache: true,
        }
    }

    /// Reads a `tokenizer.json` or a SentencePiece `tokenizer.model` (told apart by content).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Tokenizer> {
        let path = path.as_ref();
        Tokenizer::from_bytes(read_file(path)?, path)
    }

    /// Builds from the bytes of a `tokenizer.json` or `tokenizer.model`; `path` names them in errors.
    pub fn from_bytes(bytes: Vec<u8>, path: &Path) -> Result<Tokenizer> {
        let looks_like_json = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
        let vocab = if looks_like_json {
            hf_json::parse(&bytes).map_err(|m| Error::model_file(path, format!("not a usable tokenizer.json: {m}")))?
        } else {
            model_proto::parse(&bytes)
                .map_err(|m| Error::model_file(path, format!("not a usable SentencePiece model: {m}")))?
        };
        Ok(Tokenizer::new(vocab, bytes))
    }

    /// The bytes of the file this tokenizer was read from.
    pub fn source(&self) -> &[u8] {
        &self.source
    }

    /// The same vocabulary matching exactly these special-token strings (shares the vocabulary).
    pub fn with_special_tokens(&self, tokens: Vec<(String, u32)>) -> Result<Tokenizer> {
        if let Some((t, id)) = tokens.iter().find(|(_, id)| *id as usize >= self.vocab().len()) {
            return Err(Error::InvalidArgument(format!(
                "special token {t:?} has id {id}, past the vocabulary ({} ids)",
                self.vocab().len()
            )));
        }
        let mut tok = Tokenizer::assemble(self.encoder.clone(), self.decoder.clone(), self.source.clone(), tokens);
        tok.use_cache = self.use_cache;
        Ok(tok)
    }

    /// The same tokenizer with the chunk cache on or off (results are identical either way).
    pub fn with_cache(&self, use_cache: bool) -> Tokenizer {
        Tokenizer { use_cache, ..self.clone() }
    }

    pub fn uses_cache(&self) -> bool {
        self.use_cache
    }

    pub fn vocab(&self) -> &Vocab {
        &self.encoder.vocab
    }

    pub fn special_tokens(&self) -> &[(String, u32)] {
        self.specials.tokens()
    }

    pub fn is_special(&self, id: u32) -> bool {
        self.is_special.get(id as usize).copied().unwrap_or(false)
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
            SpecialMode::NonLegacy => {
                if text.is_empty() {
                    return;
                }
                let prepared = NonLegacyText::new(text, opts.dummy_prefix);
                self.walk_non_legacy(&prepared.text, out, |seg, out| match seg {
                    Segment::Text { text, .. } => enc.encode(text, false, self.use_cache, out),
                    Segment::Special { id, .. } => out.push(id),
                });
            }
        }
    }

    /// The non-legacy rule (docs/encoding.md, "Special-token modes"), for both `encode_into` and
    /// `encode_with_spans`: splits `prepared` (a [`NonLegacyText`]) into segments, hands each to `emit`,
    /// which appends its ids to `ids`, and then drops the first of those ids if the result starts with
    /// a lone `▁` followed by a special token. Returns the index of the dropped id.
    fn walk_non_legacy<'t>(
        &self,
        prepared: &'t str,
        ids: &mut Vec<u32>,
        mut emit: impl FnMut(Segment<'t>, &mut Vec<u32>),
    ) -> Option<usize> {
        let first = ids.len();
        let mut drop_first = false;
        let mut specials_seen = 0;
        self.specials.split(prepared, |seg| {
            if let Segment::Special { .. } = seg {
                drop_first |= specials_seen == 0 && ids.len() == first + 1 && Some(ids[first]) == self.space_id();
                specials_seen += 1;
            }
            emit(seg, ids);
        });
        if drop_first {
            ids.remove(first);
            return Some(first);
        }
        None
    }

    /// The id of the lone `▁` piece.
    fn space_id(&self) -> Option<u32> {
        self.vocab().id("\u{2581}")
    }

    pub fn encode(&self, text: &str, opts: EncodeOptions) -> Vec<u32> {
        let mut out = Vec::with_capacity(text.len() / 3 + 4);
        self.encode_into(text, opts, &mut out);
        out
    }

    /// The ids of `text` with, for each, the byte span of `text` it comes from (special tokens:
    /// their match; the rest as docs/encoding.md, "Offsets", says). Slower than `encode`.
    pub fn encode_with_spans(&self, text: &str, opts: EncodeOptions) -> (Vec<u32>, Vec<(usize, usize)>) {
        let enc = &*self.encoder;
        let (mut ids, mut spans) = (Vec::new(), Vec::new());
        // Encodes a plain segment found at `offset` of the text the segments come from.
        let plain =
            |segment: &str, offset: usize, prefix: bool, ids: &mut Vec<u32>, spans: &mut Vec<(usize, usize)>| {
                let from = spans.len();
                enc.encode_with_spans(segment, prefix, ids, spans);
                for span in &mut spans[from..] {
                    *span = (span.0 + offset, span.1 + offset);
                }
            };
        match opts.mode {
            SpecialMode::Literal => plain(text, 0, opts.dummy_prefix, &mut ids, &mut spans),
            SpecialMode::Legacy => self.specials.split(text, |seg| match seg {
                Segment::Text { text: segment, start } => {
                    plain(segment, start, opts.dummy_prefix, &mut ids, &mut spans)
                }
                Segment::Special { id, start, end } => {
                    ids.push(id);
                    spans.push((start, end));
                }
            }),
            SpecialMode::NonLegacy => {
                if text.is_empty() {
                    return (ids, spans);
                }
                let prepared = NonLegacyText::new(text, opts.dummy_prefix);
                let dropped = self.walk_non_legacy(&prepared.text, &mut ids, |seg, ids| match seg {
                    Segment::Text { text: segment, start } => plain(segment, start, false, ids, &mut spans),
                    Segment::Special { id, start, end } => {
                        ids.push(id);
                        spans.push((start, end));
                    }
                });
                if let Some(i) = dropped {
                    spans.remove(i);
                }
                // Spans so far are offsets of the prepared text: map them back to the caller's.
                let map = prepared.offset_map();
                for span in &mut spans {
                    *span = (map[span.0], map[span.1]);
                }
            }
        }
        (ids, spans)
    }

    /// Decodes ids; `skip_special` drops the special tokens this tokenizer matches.
    pub fn decode(&self, ids: &[u32], style: DecodeStyle, skip_special: bool) -> Result<String> {
        let skip = skip_special.then_some(self.is_special.as_slice());
        self.decoder.decode(self.vocab(), ids, style, skip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo() -> Tokenizer {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("python/llamatok/data/demo/tokenizer.json");
        Tokenizer::from_file(path).expect("the demo vocabulary loads")
    }

    const TEXTS: [&str; 12] = [
        "",
        "Hello <s>.",
        "<s>Hello",
        " <s>x",
        "<s>",
        "a</s>b<unk>",
        "x \u{2581} y",
        "\u{2581}<s> x",
        "  def f(x):\n\treturn x  # caf\u{e9} \u{1F600}",
        "</s></s>",
        " ",
        "\u{2581}",
    ];

    #[test]
    fn spans_come_with_the_ids_of_encode_in_every_mode() {
        let tok = demo();
        for mode in [SpecialMode::Legacy, SpecialMode::NonLegacy, SpecialMode::Literal] {
            for dummy_prefix in [true, false] {
                let opts = EncodeOptions { mode, dummy_prefix };
                for text in TEXTS {
                    let (ids, spans) = tok.encode_with_spans(text, opts);
                    assert_eq!(ids, tok.encode(text, opts), "{text:?} {opts:?}");
                    assert_eq!(spans.len(), ids.len(), "{text:?} {opts:?}");
                    assert!(spans.iter().all(|&(a, b)| a <= b && b <= text.len()), "{text:?} {opts:?}: {spans:?}");
                }
            }
        }
    }

    #[test]
    fn non_legacy_drops_a_lone_space_before_a_leading_special_token() {
        let tok = demo();
        let bos = tok.vocab().id("<s>").unwrap();
        let opts = EncodeOptions { mode: SpecialMode::NonLegacy, dummy_prefix: true };
        assert_eq!(tok.encode("<s>", opts), vec![bos]);
        let (ids, spans) = tok.encode_with_spans("<s>x", opts);
        assert_eq!(ids[0], bos);
        assert_eq!(spans[0], (0, 3));
        // Legacy mode keeps a dummy `▁` before the text segment after the token, and none before it.
        let legacy = tok.encode("<s>x", EncodeOptions::default());
        assert_eq!(legacy[0], bos);
    }
}
