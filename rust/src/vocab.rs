//! The vocabulary: every piece with its score and kind, read from either model file format.
//! Immutable once built; everything else (merge table, chunk rules) is derived from it.

use rustc_hash::FxHashMap;

/// SentencePiece piece types (`ModelProto.SentencePiece.Type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PieceKind {
    Normal,
    Unknown,
    Control,
    UserDefined,
    Unused,
    Byte,
}

impl PieceKind {
    /// Pieces that a merge may produce. CONTROL, UNKNOWN and BYTE pieces never come out of text.
    pub fn is_mergeable(self) -> bool {
        matches!(self, PieceKind::Normal | PieceKind::UserDefined | PieceKind::Unused)
    }

    pub fn name(self) -> &'static str {
        match self {
            PieceKind::Normal => "normal",
            PieceKind::Unknown => "unknown",
            PieceKind::Control => "control",
            PieceKind::UserDefined => "user_defined",
            PieceKind::Unused => "unused",
            PieceKind::Byte => "byte",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Piece {
    pub text: String,
    pub score: f32,
    pub kind: PieceKind,
}

/// How the merge loop ranks candidate pairs.
#[derive(Clone, Debug)]
pub enum MergeOrder {
    /// SentencePiece: the pair whose merged piece has the highest score; ties go to the leftmost pair.
    PieceScore,
    /// Hugging Face BPE: pairs `(left id, right id)` in rank order; lowest rank first, ties leftmost.
    MergeList(Vec<(u32, u32)>),
}

/// A string that transformers matches in text and maps straight to an id (`added_tokens` of a
/// `tokenizer.json`; the CONTROL/UNKNOWN pieces of a `tokenizer.model`). Its id may be past the
/// model's vocabulary (a token added to it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddedToken {
    pub content: String,
    pub id: u32,
    pub special: bool,
    /// `tokenizers`' matching flags (docs/model-files.md, "Added tokens").
    pub normalized: bool,
    pub lstrip: bool,
    pub rstrip: bool,
    pub single_word: bool,
}

impl AddedToken {
    /// A special token matched as its text alone (a SentencePiece CONTROL or UNKNOWN piece).
    pub fn plain_special(content: String, id: u32) -> AddedToken {
        AddedToken { content, id, special: true, normalized: false, lstrip: false, rstrip: false, single_word: false }
    }
}

/// Which special tokens the file's own post-processor puts around a single sequence.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Template {
    pub before: Vec<u32>,
    pub after: Vec<u32>,
}

#[derive(Clone, Debug)]
pub struct Vocab {
    pieces: Vec<Piece>,
    ids: FxHashMap<String, u32>,
    /// `<0xXX>` piece for each byte value, when the model has byte fallback.
    byte_ids: Option<Box<[u32; 256]>>,
    pub unk_id: Option<u32>,
    /// What sentencepiece prints for `<unk>` (`" ⁇ "` by default).
    pub unk_surface: String,
    /// Prepend `▁` to the text before encoding (SentencePiece `add_dummy_prefix`).
    pub add_dummy_prefix: bool,
    pub(crate) merge_order: MergeOrder,
    /// Without byte fallback, a run of unknown characters gives one `<unk>` (SentencePiece always).
    pub fuse_unk: bool,
    /// In file order; the tokenizer checks that `tokenizers` gives each its id.
    pub added_tokens: Vec<AddedToken>,
    pub bos_id: Option<u32>,
    pub eos_id: Option<u32>,
    pub pad_id: Option<u32>,
    /// The single-sequence template found in the file (empty for `tokenizer.model`).
    pub template: Template,
}

/// Parses `<0x41>` into 0x41.
pub fn parse_byte_piece(text: &str) -> Option<u8> {
    let hex = text.strip_prefix("<0x")?.strip_suffix('>')?;
    if hex.len() != 2 {
        return None;
    }
    u8::from_str_radix(hex, 16).ok()
}

impl Vocab {
    /// Builds the lookup tables. Fails (with a message for the reader to wrap) on duplicate
    /// pieces, or when byte fallback is asked for but some `<0xXX>` piece is missing.
    pub(crate) fn new(
        pieces: Vec<Piece>,
        merge_order: MergeOrder,
        byte_fallback: bool,
    ) -> std::result::Result<Vocab, String> {
        let mut ids = FxHashMap::default();
        for (i, p) in pieces.iter().enumerate() {
            if ids.insert(p.text.clone(), i as u32).is_some() {
                return Err(format!("piece {:?} appears twice (second time at id {i})", p.text));
            }
        }
        let mut table = [u32::MAX; 256];
        for (i, p) in pieces.iter().enumerate() {
            if p.kind == PieceKind::Byte {
                if let Some(b) = parse_byte_piece(&p.text) {
                    table[b as usize] = i as u32;
                }
            }
        }
        let byte_ids = if byte_fallback {
            if let Some(b) = table.iter().position(|&id| id == u32::MAX) {
                return Err(format!("byte fallback is on but there is no <0x{b:02X}> piece"));
            }
            Some(Box::new(table))
        } else {
            None
        };
        let unk_id = pieces.iter().position(|p| p.kind == PieceKind::Unknown).map(|i| i as u32);
        Ok(Vocab {
            pieces,
            ids,
            byte_ids,
            unk_id,
            unk_surface: " \u{2047} ".to_string(),
            add_dummy_prefix: true,
            merge_order,
            fuse_unk: true,
            added_tokens: Vec::new(),
            bos_id: None,
            eos_id: None,
            pad_id: None,
            template: Template::default(),
        })
    }

    pub fn len(&self) -> usize {
        self.pieces.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pieces.is_empty()
    }

    pub fn pieces(&self) -> &[Piece] {
        &self.pieces
    }

    pub fn piece(&self, id: u32) -> Option<&Piece> {
        self.pieces.get(id as usize)
    }

    pub fn id(&self, text: &str) -> Option<u32> {
        self.ids.get(text).copied()
    }

    /// The `<0xXX>` id of every byte, when the model falls back to bytes.
    #[inline]
    pub fn byte_table(&self) -> Option<&[u32; 256]> {
        self.byte_ids.as_deref()
    }

    pub fn has_byte_fallback(&self) -> bool {
        self.byte_ids.is_some()
    }

    /// The byte value of a `<0xXX>` piece.
    pub fn byte_value(&self, id: u32) -> Option<u8> {
        let p = self.piece(id)?;
        if p.kind == PieceKind::Byte {
            parse_byte_piece(&p.text)
        } else {
            None
        }
    }
}
