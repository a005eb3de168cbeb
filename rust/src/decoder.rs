//! Ids back to text (SPEC §6), in sentencepiece's style or in transformers 4.x's
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

pub(crate) fn check_ids(vocab: &Vocab, ids: &[u32]) -> Result<()> {
    match ids.iter().position(|&id| id as usize >= vocab.len()) {
        None => Ok(()),
        Some(i) => Err(Error::InvalidArgument(format!(
            "id {} at position {i} is out of range: the vocabulary has {} ids (0..{})",
            ids[i],
            vocab.len(),
            vocab.len() - 1
        ))),
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

/// Appends a piece's text with every `▁` turned into a space.
fn push_piece(text: &str, out: &mut String) {
    for c in text.chars() {
        out.push(if c == '\u{2581}' { ' ' } else { c });
    }
}

/// sentencepiece's `DecodeIds`, with `skip(id)` dropping ids first.
pub fn decode_sentencepiece(vocab: &Vocab, ids: &[u32], skip: &dyn Fn(u32) -> bool) -> Result<String> {
    check_ids(vocab, ids)?;
    let mut out = String::with_capacity(ids.len() * 4);
    let mut bytes = Vec::new();
    let mut dropped_prefix = false;
    for &id in ids.iter().filter(|&&id| !skip(id)) {
        let piece = vocab.piece(id).expect("checked");
        if piece.kind == PieceKind::Byte {
            bytes.push(vocab.byte_value(id).expect("byte pieces are <0xXX>"));
            continue;
        }
        push_bytes_lossy_per_byte(&bytes, &mut out);
        bytes.clear();
        match piece.kind {
            PieceKind::Control => {}
            PieceKind::Unknown => out.push_str(&vocab.unk_surface),
            _ => {
                // The dummy prefix: one leading `▁` is dropped, from the first piece that has one,
                // as long as nothing has been printed yet.
                let mut text = piece.text.as_str();
                if !dropped_prefix && out.is_empty() && vocab.add_dummy_prefix {
                    if let Some(rest) = text.strip_prefix('\u{2581}') {
                        text = rest;
                        dropped_prefix = true;
                    }
                }
                push_piece(text, &mut out);
            }
        }
    }
    push_bytes_lossy_per_byte(&bytes, &mut out);
    Ok(out)
}

/// transformers 4.x / `tokenizers` with the Hub Code Llama decoder: every `▁` becomes a space; a run
/// of `<0xXX>` tokens becomes its UTF-8 text, or one U+FFFD per token if the run is not valid UTF-8;
/// then one leading space is stripped from the whole text. Special tokens print as their text.
pub fn decode_transformers(vocab: &Vocab, ids: &[u32], skip: &dyn Fn(u32) -> bool) -> Result<String> {
    check_ids(vocab, ids)?;
    let mut out = String::with_capacity(ids.len() * 4);
    let mut bytes = Vec::new();
    let flush = |bytes: &mut Vec<u8>, out: &mut String| {
        if bytes.is_empty() {
            return;
        }
        match std::str::from_utf8(bytes) {
            Ok(s) => out.push_str(s),
            Err(_) => out.extend(std::iter::repeat('\u{FFFD}').take(bytes.len())),
        }
        bytes.clear();
    };
    for &id in ids.iter().filter(|&&id| !skip(id)) {
        let text = &vocab.piece(id).expect("checked").text;
        if let Some(b) = parse_byte_piece(text) {
            bytes.push(b);
            continue;
        }
        flush(&mut bytes, &mut out);
        push_piece(text, &mut out);
    }
    flush(&mut bytes, &mut out);
    if out.starts_with(' ') {
        out.remove(0);
    }
    Ok(out)
}

pub fn decode(vocab: &Vocab, ids: &[u32], style: DecodeStyle, skip: &dyn Fn(u32) -> bool) -> Result<String> {
    match style {
        DecodeStyle::SentencePiece => decode_sentencepiece(vocab, ids, skip),
        DecodeStyle::Transformers => decode_transformers(vocab, ids, skip),
    }
}
