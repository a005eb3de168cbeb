//! Ids back to text (docs/decoding.md), in sentencepiece's style or in transformers 4.x's
//! (`CodeLlamaTokenizerFast`: the Hub file's Replace → ByteFallback → Fuse → Strip decoder).

use crate::error::{Error, Result};
use crate::vocab::{parse_byte_piece, PieceKind, Vocab};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DecodeStyle {
    SentencePiece,
    Transformers,
}

impl DecodeStyle {
    pub fn parse(name: &str) -> Option<DecodeStyle> {
        match name {
            "sentencepiece" => Some(DecodeStyle::SentencePiece),
            "transformers" => Some(DecodeStyle::Transformers),
            _ => None,
        }
    }
}

/// Checks that every id is below `len` (the model's vocabulary and the added ids).
pub(crate) fn check_ids(len: usize, ids: &[u32]) -> Result<()> {
    match ids.iter().position(|&id| id as usize >= len) {
        None => Ok(()),
        Some(i) => Err(Error::token_id(ids[i], Some(i), len)),
    }
}

/// Appends bytes decoded as sentencepiece does: each valid UTF-8 character is kept, each byte that
/// does not start one becomes U+FFFD.
pub(crate) fn push_bytes_lossy_per_byte(bytes: &[u8], out: &mut String) {
    let mut i = 0;
    while i < bytes.len() {
        let len = match bytes[i] {
            0x00..=0x7F => 1,
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            _ => 0,
        };
        match bytes.get(i..i + len).filter(|_| len > 0).and_then(|s| std::str::from_utf8(s).ok()) {
            Some(s) => {
                out.push_str(s);
                i += len;
            }
            None => {
                out.push('\u{FFFD}');
                i += 1;
            }
        }
    }
}

/// Grows `out` (zero-filled) so that it holds at least `needed` bytes plus 16 of slack.
#[inline]
fn ensure(out: &mut Vec<u8>, needed: usize) {
    if out.len() < needed + 16 {
        out.resize((needed + 16).max(out.len() * 2), 0);
    }
}

const KIND_TEXT: u8 = 0;
const KIND_CONTROL: u8 = 1;
const KIND_UNKNOWN: u8 = 2;
const KIND_BYTE: u8 = 3;

/// What decoding needs per id, precomputed once so that decoding is a copy per id.
#[derive(Clone)]
pub struct Decoder {
    /// Every piece's text with each `▁` as a space, back to back; piece `i` is
    /// `surfaces[starts[i]..starts[i + 1]]`.
    surfaces: Vec<u8>,
    starts: Vec<u32>,
    /// The same surfaces in fixed 16-byte slots (zero padded) with their lengths, for the pieces
    /// that fit: copying a fixed 16 bytes and advancing by the length beats a `memcpy` call per id.
    slots: Vec<([u8; 16], u8)>,
    /// sentencepiece's view of each id (text, control, unknown, byte).
    kinds: Vec<u8>,
    /// Whether the piece starts with `▁` (the dummy prefix sentencepiece drops once).
    leading_mark: Vec<bool>,
    /// The byte of pieces whose TEXT is `<0xXX>` (how `tokenizers`' ByteFallback decoder sees
    /// them), or -1.
    text_bytes: Vec<i16>,
    unk_surface: String,
    add_dummy_prefix: bool,
}

impl Decoder {
    pub fn new(vocab: &Vocab) -> Decoder {
        let mut d = Decoder {
            surfaces: Vec::new(),
            starts: vec![0],
            slots: Vec::with_capacity(vocab.len()),
            kinds: Vec::with_capacity(vocab.len()),
            leading_mark: Vec::with_capacity(vocab.len()),
            text_bytes: Vec::with_capacity(vocab.len()),
            unk_surface: vocab.unk_surface.clone(),
            add_dummy_prefix: vocab.add_dummy_prefix,
        };
        for p in vocab.pieces() {
            d.push(&p.text, p.kind);
        }
        d
    }

    /// The same decoder with added tokens' ids after the last one: each decodes as its text (as any
    /// token does in `tokenizers`: `▁` as a space, a `<0xXX>` text as that byte).
    pub fn extended(&self, texts: &[String]) -> Decoder {
        let mut d = self.clone();
        for text in texts {
            d.push(text, PieceKind::UserDefined);
        }
        d
    }

    fn push(&mut self, text: &str, kind: PieceKind) {
        let d = self;
        let spaced = text.replace('\u{2581}', " ");
        d.surfaces.extend_from_slice(spaced.as_bytes());
        let mut slot = [0u8; 16];
        let fits = spaced.len() <= 16;
        if fits {
            slot[..spaced.len()].copy_from_slice(spaced.as_bytes());
        }
        // A length of 255 marks a surface that lives only in `surfaces`.
        d.slots.push((slot, if fits { spaced.len() as u8 } else { u8::MAX }));
        d.starts.push(d.surfaces.len() as u32);
        d.kinds.push(match kind {
            PieceKind::Control => KIND_CONTROL,
            PieceKind::Unknown => KIND_UNKNOWN,
            PieceKind::Byte => KIND_BYTE,
            _ => KIND_TEXT,
        });
        d.leading_mark.push(text.starts_with('\u{2581}'));
        d.text_bytes.push(parse_byte_piece(text).map_or(-1, i16::from));
    }

    #[inline]
    fn surface(&self, id: u32) -> &[u8] {
        &self.surfaces[self.starts[id as usize] as usize..self.starts[id as usize + 1] as usize]
    }

    /// sentencepiece's `DecodeIds` (ids for which `skip` is true are dropped first).
    pub fn decode_sentencepiece(&self, vocab: &Vocab, ids: &[u32], skip: Option<&[bool]>) -> Result<String> {
        check_ids(self.kinds.len(), ids)?;
        let mut out = String::with_capacity(ids.len() * 4);
        let mut bytes = Vec::new();
        let mut dropped_prefix = false;
        for &id in ids {
            if skip.is_some_and(|s| s[id as usize]) {
                continue;
            }
            let kind = self.kinds[id as usize];
            if kind == KIND_BYTE {
                bytes.push(vocab.byte_value(id).expect("byte pieces are <0xXX>"));
                continue;
            }
            push_bytes_lossy_per_byte(&bytes, &mut out);
            bytes.clear();
            match kind {
                KIND_CONTROL => {}
                KIND_UNKNOWN => out.push_str(&self.unk_surface),
                _ => {
                    let mut surface = self.surface(id);
                    // The dummy prefix: one leading `▁` is dropped, from the first piece that has
                    // one, as long as nothing has been printed yet.
                    if !dropped_prefix && out.is_empty() && self.add_dummy_prefix && self.leading_mark[id as usize] {
                        surface = &surface[1..];
                        dropped_prefix = true;
                    }
                    out.push_str(std::str::from_utf8(surface).expect("pieces are UTF-8"));
                }
            }
        }
        push_bytes_lossy_per_byte(&bytes, &mut out);
        Ok(out)
    }

    /// transformers 4.x / `tokenizers` with the Hub Code Llama decoder: every `▁` becomes a space;
    /// a run of `<0xXX>` tokens becomes its UTF-8 text, or one U+FFFD per token if the run is not
    /// valid UTF-8; then one leading space is stripped from the whole text. Special tokens print
    /// as their text.
    pub fn decode_transformers(&self, ids: &[u32], skip: Option<&[bool]>) -> Result<String> {
        check_ids(self.kinds.len(), ids)?;
        // Written by position into a zeroed buffer with 16 bytes of slack, then truncated.
        let mut out: Vec<u8> = vec![0; ids.len() * 8 + 64];
        let mut len = 0;
        let mut run_start = 0;
        let mut run_len = 0;
        for &id in ids {
            if skip.is_some_and(|s| s[id as usize]) {
                continue;
            }
            let byte = self.text_bytes[id as usize];
            if byte >= 0 {
                if run_len == 0 {
                    run_start = len;
                }
                ensure(&mut out, len + 1);
                out[len] = byte as u8;
                len += 1;
                run_len += 1;
                continue;
            }
            if run_len > 0 {
                len = self.close_run(&mut out, run_start, len, run_len);
                run_len = 0;
            }
            let (slot, n) = &self.slots[id as usize];
            if *n != u8::MAX {
                ensure(&mut out, len + 16);
                out[len..len + 16].copy_from_slice(slot);
                len += usize::from(*n);
            } else {
                let surface = self.surface(id);
                ensure(&mut out, len + surface.len());
                out[len..len + surface.len()].copy_from_slice(surface);
                len += surface.len();
            }
        }
        if run_len > 0 {
            len = self.close_run(&mut out, run_start, len, run_len);
        }
        out.truncate(len);
        if out.first() == Some(&b' ') {
            out.remove(0);
        }
        debug_assert!(std::str::from_utf8(&out).is_ok());
        // SAFETY: `out[..len]` is, back to back, surfaces of pieces and added tokens (each copied whole from
        // a `String`: a slot's bytes past its length are overwritten by the next write or cut off by the
        // truncation) and byte runs that `close_run` left only if valid UTF-8, else replaced by U+FFFD. A
        // concatenation of UTF-8 strings is UTF-8, and the space removed is one whole ASCII character.
        Ok(unsafe { String::from_utf8_unchecked(out) })
    }

    /// Checks the byte run `out[start..end]` (of `count` byte tokens): kept if valid UTF-8, else
    /// replaced by one U+FFFD per token. Returns the new end.
    fn close_run(&self, out: &mut Vec<u8>, start: usize, end: usize, count: usize) -> usize {
        if std::str::from_utf8(&out[start..end]).is_ok() {
            return end;
        }
        let replacement = "\u{FFFD}".as_bytes();
        ensure(out, start + count * replacement.len());
        for i in 0..count {
            let at = start + i * replacement.len();
            out[at..at + replacement.len()].copy_from_slice(replacement);
        }
        start + count * replacement.len()
    }

    pub fn decode(&self, vocab: &Vocab, ids: &[u32], style: DecodeStyle, skip: Option<&[bool]>) -> Result<String> {
        match style {
            DecodeStyle::SentencePiece => self.decode_sentencepiece(vocab, ids, skip),
            DecodeStyle::Transformers => self.decode_transformers(ids, skip),
        }
    }
}
