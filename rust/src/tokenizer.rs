//! The object users hold: one vocabulary's encoder plus the special tokens matched in text.
//! Immutable and `Send + Sync`; cloning is cheap (the vocabulary is shared).

use std::path::Path;
use std::sync::Arc;

use crate::added::{normalize_segment, AddedVocab, NewToken};
use crate::decoder::{DecodeStyle, Decoder};
use crate::documents::{DocumentCache, HeldText};
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
    /// The added vocabulary: the tokens matched in text, and the ids past the model's vocabulary.
    added: Arc<AddedVocab>,
    /// Tokens matched in the raw text (the file's special tokens among them).
    specials: Arc<SpecialTokens>,
    /// Tokens matched in the normalized text (usually none).
    normalized: Arc<SpecialTokens>,
    /// Every matched token by its text, for the non-legacy mode (`specials` when none is normalized).
    non_legacy: Arc<SpecialTokens>,
    /// `is_special[id]`: the id is a special token (skipped by `skip_special`).
    is_special: Arc<Vec<bool>>,
    /// How this tokenizer was made from its file, so that pickling can make it again: the tokens
    /// given to `with_special_tokens` (None: the file's own) and each `with_added_tokens` call since.
    origin: Arc<Origin>,
    /// Whole documents' ids, for the bindings' one-text calls, when asked for (`with_document_cache`;
    /// a new, empty one for every set of tokens).
    documents: Option<Arc<DocumentCache>>,
    use_cache: bool,
}

/// See `Tokenizer::origin`.
#[derive(Clone, Debug, Default)]
pub struct Origin {
    pub special_tokens: Option<Vec<(String, u32)>>,
    pub added: Vec<Vec<NewToken>>,
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

/// A piece of input after the added tokens are found: text for the encoder (raw, or already
/// normalized, with the map from its byte offsets to the input's), or an added token's id.
enum Part<'a> {
    Raw {
        text: &'a str,
        start: usize,
    },
    Normalized {
        text: &'a str,
        offsets: &'a [usize],
    },
    /// `text`: what the token matched (raw, or normalized), which `tokenizers` gives as its token.
    Token {
        id: u32,
        start: usize,
        end: usize,
        text: &'a str,
    },
}

impl Tokenizer {
    /// A tokenizer over `vocab` (read from `source`), matching the file's own added tokens with
    /// `tokenizers`' rules. Fails if `tokenizers` would give one of them another id than the file's.
    fn new(vocab: Vocab, source: Vec<u8>) -> std::result::Result<Tokenizer, String> {
        let mut added = AddedVocab::new(&vocab);
        let file_tokens: Vec<NewToken> = vocab
            .added_tokens
            .iter()
            .map(|t| NewToken {
                content: t.content.clone(),
                special: t.special,
                normalized: t.normalized,
                lstrip: t.lstrip,
                rstrip: t.rstrip,
                single_word: t.single_word,
            })
            .collect();
        added.add(&file_tokens, &vocab);
        for t in &vocab.added_tokens {
            let got = added.token_to_id(&t.content, &vocab);
            if got != Some(t.id) {
                return Err(format!(
                    "added token {:?} has id {} in the file, but tokenizers gives it {got:?} (ids of added tokens \
                     past the vocabulary must follow it in order)",
                    t.content, t.id
                ));
            }
        }
        let decoder = Arc::new(Decoder::new(&vocab).extended(added.extra_texts()));
        let encoder = Arc::new(Encoder::new(vocab));
        Ok(Tokenizer::assemble(encoder, decoder, Arc::new(source), added, Origin::default(), true))
    }

    fn assemble(
        encoder: Arc<Encoder>,
        decoder: Arc<Decoder>,
        source: Arc<Vec<u8>>,
        added: AddedVocab,
        origin: Origin,
        use_cache: bool,
    ) -> Tokenizer {
        let (raw, normalized) = added.matchers(&encoder.vocab);
        let mut is_special = vec![false; added.len()];
        for (id, token) in added.tokens() {
            is_special[id as usize] = added.is_special_text(&token.content);
        }
        let specials = Arc::new(raw);
        let non_legacy = if normalized.is_empty() { specials.clone() } else { Arc::new(added.raw_matcher()) };
        Tokenizer {
            encoder,
            decoder,
            source,
            added: Arc::new(added),
            specials,
            normalized: Arc::new(normalized),
            non_legacy,
            documents: None,
            is_special: Arc::new(is_special),
            origin: Arc::new(origin),
            use_cache,
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
        Tokenizer::new(vocab, bytes).map_err(|m| Error::model_file(path, format!("not a usable tokenizer.json: {m}")))
    }

    /// The bytes of the file this tokenizer was read from.
    pub fn source(&self) -> &[u8] {
        &self.source
    }

    /// How this tokenizer was made from its file (for pickling).
    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    /// The same model matching exactly these special-token strings, each with its id, as plain
    /// special tokens (shares the vocabulary). Ids past the model's vocabulary must follow it in order;
    /// tokens added earlier and not listed are gone.
    pub fn with_special_tokens(&self, mut tokens: Vec<(String, u32)>) -> Result<Tokenizer> {
        tokens.sort_by_key(|(_, id)| *id);
        let vocab = self.vocab();
        let mut added = AddedVocab::new(vocab);
        let plain: Vec<NewToken> =
            tokens.iter().map(|(t, _)| NewToken { normalized: false, ..NewToken::new(t.clone(), true) }).collect();
        added.add(&plain, vocab);
        if let Some((t, id)) = tokens.iter().find(|(t, id)| added.token_to_id(t, vocab) != Some(*id)) {
            let n = vocab.len();
            return Err(Error::InvalidArgument(match vocab.piece(*id) {
                Some(p) => format!("special token {t:?} has id {id}, which the vocabulary gives to {:?}", p.text),
                None => format!(
                    "special token {t:?} has id {id}, past the vocabulary ({n} ids) and not the next new id (ids \
                     past it must follow it in order)"
                ),
            }));
        }
        let decoder = Arc::new(Decoder::new(vocab).extended(added.extra_texts()));
        let origin = Origin { special_tokens: Some(tokens), added: Vec::new() };
        Ok(self.derived(decoder, added, origin))
    }

    /// A tokenizer of the same file and settings with other added tokens: the caches' settings are
    /// kept, the document cache's entries are not (the ids may differ).
    fn derived(&self, decoder: Arc<Decoder>, added: AddedVocab, origin: Origin) -> Tokenizer {
        Tokenizer::assemble(self.encoder.clone(), decoder, self.source.clone(), added, origin, self.use_cache)
            .with_document_cache(self.document_cache_bytes())
    }

    /// A new tokenizer with `tokens` added as `tokenizers`' `add_tokens` adds them (new texts at ids
    /// from `len()` on; a text the vocabulary or the added tokens have keeps its id), and how many of
    /// them were added (those equal in every flag to an added token are not). This tokenizer is
    /// unchanged: threads using it never see the vocabulary change.
    pub fn with_added_tokens(&self, tokens: &[NewToken]) -> Result<(Tokenizer, usize)> {
        if let Some(t) = tokens.iter().find(|t| t.content.is_empty()) {
            return Err(Error::InvalidArgument(format!("an added token needs text, not {:?}", t.content)));
        }
        let mut added = (*self.added).clone();
        let count = added.add(tokens, self.vocab());
        if added.len() > u32::MAX as usize {
            return Err(Error::InvalidArgument("too many added tokens: ids past 2**32".into()));
        }
        let decoder = if added.len() == self.added.len() {
            self.decoder.clone()
        } else {
            Arc::new(self.decoder.extended(&added.extra_texts()[self.added.extra_texts().len()..]))
        };
        let mut origin = (*self.origin).clone();
        origin.added.push(tokens.to_vec());
        Ok((self.derived(decoder, added, origin), count))
    }

    /// The same tokenizer with the chunk memo and the document cache on or off (results are identical
    /// either way).
    pub fn with_cache(&self, use_cache: bool) -> Tokenizer {
        Tokenizer { use_cache, ..self.clone() }
    }

    pub fn uses_cache(&self) -> bool {
        self.use_cache
    }

    /// The plain-text encoder, for `windows_check.rs` (the fuzz targets).
    #[cfg(feature = "fuzzing")]
    pub(crate) fn encoder(&self) -> &Encoder {
        &self.encoder
    }

    /// The model's vocabulary (without the added ids past it).
    pub fn vocab(&self) -> &Vocab {
        &self.encoder.vocab
    }

    /// The number of ids: the model's vocabulary and the added ids after it.
    pub fn len(&self) -> usize {
        self.added.len()
    }

    pub fn is_empty(&self) -> bool {
        self.added.len() == 0
    }

    /// The text of an id (a piece of the model, or an added token).
    pub fn id_to_token(&self, id: u32) -> Option<&str> {
        self.vocab().piece(id).map(|p| p.text.as_str()).or_else(|| self.added.extra_text(id))
    }

    /// The id of a text: an added token first, else the model's piece (as `tokenizers`).
    pub fn token_to_id(&self, text: &str) -> Option<u32> {
        self.added.token_to_id(text, self.vocab())
    }

    /// Every added token with its id, by id.
    pub fn added_tokens(&self) -> Vec<(u32, &NewToken)> {
        self.added.tokens()
    }

    /// The `(text, id)` pairs matched in the raw text (the model files' special tokens and the tokens
    /// added without `normalized`).
    pub fn special_tokens(&self) -> &[(String, u32)] {
        self.specials.tokens()
    }

    pub fn is_special(&self, id: u32) -> bool {
        self.is_special.get(id as usize).copied().unwrap_or(false)
    }

    /// Whether some token is matched when special tokens are read as text (`literal` mode).
    fn literal_matches(&self) -> bool {
        self.specials.has_non_special() || self.normalized.has_non_special()
    }

    /// `tokenizers`' walk over the added tokens: first the raw text is split at the tokens matched
    /// in it, then each plain piece is normalized and split at the normalized tokens. `skip_special`
    /// leaves special tokens in the text (`split_special_tokens`).
    fn walk_added(&self, text: &str, dummy_prefix: bool, skip_special: bool, mut f: impl FnMut(Part<'_>)) {
        let prefix = dummy_prefix && self.vocab().add_dummy_prefix;
        self.specials.split_with(text, skip_special, |seg| match seg {
            Segment::Special { id, start, end } => f(Part::Token { id, start, end, text: &text[start..end] }),
            Segment::Text { text: piece, start } if self.normalized.is_empty() => f(Part::Raw { text: piece, start }),
            Segment::Text { text: piece, start } => {
                let (norm, mut map) = normalize_segment(piece, prefix);
                for m in &mut map {
                    *m += start;
                }
                self.normalized.split_with(&norm, skip_special, |s| match s {
                    Segment::Special { id, start: a, end: b } => {
                        f(Part::Token { id, start: map[a], end: map[b], text: &norm[a..b] })
                    }
                    Segment::Text { text: t, start: a } => {
                        f(Part::Normalized { text: t, offsets: &map[a..=a + t.len()] })
                    }
                });
            }
        });
    }

    /// Appends the ids of `text` (never BOS/EOS: those belong to the template) to `out`.
    pub fn encode_into(&self, text: &str, opts: EncodeOptions, out: &mut Vec<u32>) {
        let enc = &*self.encoder;
        let emit = |part: Part<'_>, out: &mut Vec<u32>| match part {
            Part::Raw { text, .. } => enc.encode(text, opts.dummy_prefix, self.use_cache, out),
            Part::Normalized { text, .. } => enc.encode(text, false, self.use_cache, out),
            Part::Token { id, .. } => out.push(id),
        };
        match opts.mode {
            SpecialMode::Literal if !self.literal_matches() => enc.encode(text, opts.dummy_prefix, self.use_cache, out),
            SpecialMode::Literal => self.walk_added(text, opts.dummy_prefix, true, |p| emit(p, out)),
            SpecialMode::Legacy if self.normalized.is_empty() => self.specials.split(text, |seg| match seg {
                Segment::Text { text, .. } => enc.encode(text, opts.dummy_prefix, self.use_cache, out),
                Segment::Special { id, .. } => out.push(id),
            }),
            SpecialMode::Legacy => self.walk_added(text, opts.dummy_prefix, false, |p| emit(p, out)),
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
        self.non_legacy.split(prepared, |seg| {
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

    /// The same tokenizer with a new, empty document cache of `capacity` bytes (0: none), which
    /// keeps the ids of whole texts given to the bindings' one-text calls (rust/src/documents.rs).
    /// Tokenizers derived from it get their own, of the same capacity.
    pub fn with_document_cache(&self, capacity: usize) -> Tokenizer {
        let documents = (capacity > 0).then(|| Arc::new(DocumentCache::new(self.len(), capacity)));
        Tokenizer { documents, ..self.clone() }
    }

    /// The capacity of the document cache in bytes (0: none).
    pub fn document_cache_bytes(&self) -> usize {
        self.documents.as_ref().map_or(0, |d| d.capacity())
    }

    /// Appends the ids the document cache keeps for `text` to `out`, if it keeps them (never with the
    /// caches off). For callers that encode one document at a time.
    pub fn recall_document(&self, text: &str, opts: EncodeOptions, out: &mut Vec<u32>) -> bool {
        self.documents_in_use().is_some_and(|documents| documents.recall(text, opts, out))
    }

    /// Gives the document cache `ids`, which must be the complete result of `encode(text, opts)`. The
    /// cache holds the handle `held` gives (asked only if it keeps the text; it must hold `text`), or a
    /// copy of `text` when it gives none.
    pub fn remember_document(
        &self,
        text: &str,
        opts: EncodeOptions,
        ids: &[u32],
        held: impl FnOnce() -> Option<Box<dyn HeldText>>,
    ) {
        if let Some(documents) = self.documents_in_use() {
            documents.remember(text, opts, ids, held);
        }
    }

    /// The document cache, unless there is none or the caches are off.
    fn documents_in_use(&self) -> Option<&DocumentCache> {
        self.documents.as_deref().filter(|_| self.use_cache)
    }

    pub fn encode(&self, text: &str, opts: EncodeOptions) -> Vec<u32> {
        let mut out = Vec::with_capacity(ids_room(text.len(), 1));
        self.encode_into(text, opts, &mut out);
        out
    }

    /// Decodes ids; `skip_special` drops the special tokens (`tokenizers`' rule: the added tokens
    /// marked special).
    pub fn decode(&self, ids: &[u32], style: DecodeStyle, skip_special: bool) -> Result<String> {
        let skip = skip_special.then_some(self.is_special.as_slice());
        self.decoder.decode(self.vocab(), ids, style, skip)
    }
}

/// Room for the ids of `texts` texts of `bytes` bytes in all, each with BOS and EOS, reserved before they are
/// encoded: about what code needs, so that the vector is not grown, and copied, a doubling at a time.
/// Denser text (byte fallback) grows it as before.
pub(crate) fn ids_room(bytes: usize, texts: usize) -> usize {
    bytes / 3 + 2 * texts
}

mod aligned;
#[cfg(test)]
mod tests;

pub use aligned::Aligned;
