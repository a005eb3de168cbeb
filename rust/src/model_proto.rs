//! Reads a SentencePiece `tokenizer.model` (a `ModelProto`, protobuf proto2) by hand.
//! Only the fields this project needs are decoded; unknown fields are skipped, as protobuf requires.
//! What is read and what is refused: docs/model-files.md.

use crate::vocab::{AddedToken, MergeOrder, Piece, PieceKind, Vocab};

/// A cursor over protobuf wire-format bytes.
struct Wire<'a> {
    buf: &'a [u8],
    pos: usize,
}

enum Value<'a> {
    Varint(u64),
    Fixed32(u32),
    Fixed64,
    Bytes(&'a [u8]),
}

impl<'a> Wire<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Wire { buf, pos: 0 }
    }

    fn varint(&mut self) -> std::result::Result<u64, String> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let Some(&byte) = self.buf.get(self.pos) else {
                return Err("truncated varint".into());
            };
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("varint longer than 10 bytes".into())
    }

    fn take(&mut self, n: usize) -> std::result::Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        let end = end.ok_or_else(|| format!("truncated: a field wants {n} bytes past offset {}", self.pos))?;
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    /// The next `(field number, value)`, or `None` at the end of the message.
    fn field(&mut self) -> std::result::Result<Option<(u64, Value<'a>)>, String> {
        if self.pos == self.buf.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        let value = match key & 7 {
            0 => Value::Varint(self.varint()?),
            1 => {
                self.take(8)?;
                Value::Fixed64
            }
            2 => {
                let len = usize::try_from(self.varint()?).map_err(|_| "length overflows")?;
                Value::Bytes(self.take(len)?)
            }
            5 => {
                let b = self.take(4)?;
                Value::Fixed32(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            }
            w => return Err(format!("unsupported wire type {w} at offset {}", self.pos)),
        };
        Ok(Some((key >> 3, value)))
    }
}

fn utf8(bytes: &[u8], what: &str) -> std::result::Result<String, String> {
    String::from_utf8(bytes.to_vec()).map_err(|_| format!("{what} is not valid UTF-8"))
}

/// proto2 int32 fields carry negative values as 64-bit two's complement.
fn int32(v: u64) -> i64 {
    i64::from(v as i32)
}

#[derive(Default)]
struct TrainerSpec {
    model_type: Option<u64>,
    byte_fallback: bool,
    treat_whitespace_as_suffix: bool,
    bos_id: Option<i64>,
    eos_id: Option<i64>,
    pad_id: Option<i64>,
    unk_surface: Option<String>,
}

struct NormalizerSpec {
    name: String,
    charsmap_len: usize,
    add_dummy_prefix: bool,
    remove_extra_whitespaces: bool,
    escape_whitespaces: bool,
}

fn parse_piece(bytes: &[u8]) -> std::result::Result<Piece, String> {
    let mut w = Wire::new(bytes);
    let (mut text, mut score, mut kind) = (None, 0.0f32, 1u64);
    while let Some((field, value)) = w.field()? {
        match (field, value) {
            (1, Value::Bytes(b)) => text = Some(utf8(b, "a piece")?),
            (2, Value::Fixed32(bits)) => score = f32::from_bits(bits),
            (3, Value::Varint(v)) => kind = v,
            (1..=3, _) => return Err(format!("field {field} of a piece has the wrong wire type")),
            _ => {}
        }
    }
    let text = text.ok_or("a piece has no text")?;
    let kind = match kind {
        1 => PieceKind::Normal,
        2 => PieceKind::Unknown,
        3 => PieceKind::Control,
        4 => PieceKind::UserDefined,
        5 => PieceKind::Unused,
        6 => PieceKind::Byte,
        other => return Err(format!("piece {text:?} has unknown type {other}")),
    };
    if text.is_empty() {
        return Err("a piece has empty text".into());
    }
    if score.is_nan() {
        return Err(format!("piece {text:?} has a NaN score"));
    }
    Ok(Piece { text, score, kind })
}

fn parse_trainer(bytes: &[u8]) -> std::result::Result<TrainerSpec, String> {
    let mut spec = TrainerSpec::default();
    let mut w = Wire::new(bytes);
    while let Some((field, value)) = w.field()? {
        match (field, value) {
            (3, Value::Varint(v)) => spec.model_type = Some(v),
            (24, Value::Varint(v)) => spec.treat_whitespace_as_suffix = v != 0,
            (35, Value::Varint(v)) => spec.byte_fallback = v != 0,
            (41, Value::Varint(v)) => spec.bos_id = Some(int32(v)),
            (42, Value::Varint(v)) => spec.eos_id = Some(int32(v)),
            (43, Value::Varint(v)) => spec.pad_id = Some(int32(v)),
            (44, Value::Bytes(b)) => spec.unk_surface = Some(utf8(b, "unk_surface")?),
            _ => {}
        }
    }
    Ok(spec)
}

fn parse_normalizer(bytes: &[u8]) -> std::result::Result<NormalizerSpec, String> {
    // proto2 defaults: the three booleans are true when absent.
    let mut spec = NormalizerSpec {
        name: String::new(),
        charsmap_len: 0,
        add_dummy_prefix: true,
        remove_extra_whitespaces: true,
        escape_whitespaces: true,
    };
    let mut w = Wire::new(bytes);
    while let Some((field, value)) = w.field()? {
        match (field, value) {
            (1, Value::Bytes(b)) => spec.name = utf8(b, "normalizer name")?,
            (2, Value::Bytes(b)) => spec.charsmap_len = b.len(),
            (3, Value::Varint(v)) => spec.add_dummy_prefix = v != 0,
            (4, Value::Varint(v)) => spec.remove_extra_whitespaces = v != 0,
            (5, Value::Varint(v)) => spec.escape_whitespaces = v != 0,
            _ => {}
        }
    }
    Ok(spec)
}

/// Decodes a `ModelProto` and checks that it is a model this project reproduces exactly.
pub fn parse(bytes: &[u8]) -> std::result::Result<Vocab, String> {
    let mut pieces = Vec::new();
    let mut trainer = None;
    let mut normalizer = None;
    let mut w = Wire::new(bytes);
    while let Some((field, value)) = w.field()? {
        match (field, value) {
            (1, Value::Bytes(b)) => pieces.push(parse_piece(b).map_err(|e| format!("piece {}: {e}", pieces.len()))?),
            (2, Value::Bytes(b)) => trainer = Some(parse_trainer(b)?),
            (3, Value::Bytes(b)) => normalizer = Some(parse_normalizer(b)?),
            (1..=3, _) => return Err(format!("field {field} of ModelProto has the wrong wire type")),
            _ => {}
        }
    }
    if pieces.is_empty() {
        return Err("no pieces: this is not a SentencePiece model (or it is truncated)".into());
    }
    let trainer = trainer.ok_or("no trainer_spec: this is not a SentencePiece model")?;
    match trainer.model_type {
        Some(2) => {}
        Some(1) | None => {
            return Err("a unigram model: only BPE models (Llama, Code Llama, Mistral) are supported".into())
        }
        Some(t) => return Err(format!("model_type {t} is not BPE: only BPE models are supported")),
    }
    if trainer.treat_whitespace_as_suffix {
        return Err("treat_whitespace_as_suffix is not supported".into());
    }
    let normalizer = normalizer.ok_or("no normalizer_spec")?;
    if normalizer.charsmap_len > 0 {
        return Err(format!(
            "the normalizer {:?} has a precompiled charsmap (NFKC-style normalization), which is not supported; \
             only identity normalization (Llama) is",
            normalizer.name
        ));
    }
    if normalizer.remove_extra_whitespaces {
        return Err("remove_extra_whitespaces=true is not supported (Llama models set it to false)".into());
    }
    if !normalizer.escape_whitespaces {
        return Err("escape_whitespaces=false is not supported".into());
    }
    for p in &pieces {
        match p.kind {
            PieceKind::Byte if crate::vocab::parse_byte_piece(&p.text).is_none() => {
                return Err(format!("byte piece {:?} is not of the form <0xXX>", p.text))
            }
            _ if p.kind.is_mergeable() && p.text.contains(' ') => {
                return Err(format!("piece {:?} contains a plain space, which SentencePiece never produces", p.text))
            }
            _ => {}
        }
    }
    let unk_count = pieces.iter().filter(|p| p.kind == PieceKind::Unknown).count();
    if unk_count != 1 {
        return Err(format!("a model needs exactly one UNKNOWN piece, this one has {unk_count}"));
    }
    let added_tokens = pieces
        .iter()
        .enumerate()
        .filter(|(_, p)| matches!(p.kind, PieceKind::Control | PieceKind::Unknown))
        .map(|(i, p)| AddedToken::plain_special(p.text.clone(), i as u32))
        .collect();
    let n = pieces.len() as i64;
    let id_in_range = |id: Option<i64>, what: &str| -> std::result::Result<Option<u32>, String> {
        match id {
            None => Ok(None),
            Some(i) if i < 0 => Ok(None),
            Some(i) if i < n => Ok(Some(i as u32)),
            Some(i) => Err(format!("{what} {i} is past the last piece ({})", n - 1)),
        }
    };
    // proto2 defaults for the special ids: bos 1, eos 2, pad -1.
    let bos_id = id_in_range(Some(trainer.bos_id.unwrap_or(1)), "bos_id")?;
    let eos_id = id_in_range(Some(trainer.eos_id.unwrap_or(2)), "eos_id")?;
    let pad_id = id_in_range(Some(trainer.pad_id.unwrap_or(-1)), "pad_id")?;
    let mut vocab = Vocab::new(pieces, MergeOrder::PieceScore, trainer.byte_fallback)?;
    vocab.add_dummy_prefix = normalizer.add_dummy_prefix;
    vocab.unk_surface = trainer.unk_surface.unwrap_or_else(|| " \u{2047} ".to_string());
    vocab.added_tokens = added_tokens;
    vocab.bos_id = bos_id;
    vocab.eos_id = eos_id;
    vocab.pad_id = pad_id;
    Ok(vocab)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn varint(mut v: u64, out: &mut Vec<u8>) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    fn bytes_field(field: u64, payload: &[u8], out: &mut Vec<u8>) {
        varint(field << 3 | 2, out);
        varint(payload.len() as u64, out);
        out.extend_from_slice(payload);
    }

    fn piece(text: &str, score: f32, kind: u64) -> Vec<u8> {
        let mut p = Vec::new();
        bytes_field(1, text.as_bytes(), &mut p);
        varint(2 << 3 | 5, &mut p);
        p.extend_from_slice(&score.to_le_bytes());
        varint(3 << 3, &mut p);
        varint(kind, &mut p);
        p
    }

    fn model(model_type: u64, remove_ws: u64) -> Vec<u8> {
        let mut m = Vec::new();
        bytes_field(1, &piece("<unk>", 0.0, 2), &mut m);
        bytes_field(1, &piece("<s>", 0.0, 3), &mut m);
        bytes_field(1, &piece("</s>", 0.0, 3), &mut m);
        bytes_field(1, &piece("\u{2581}a", -1.0, 1), &mut m);
        let mut trainer = Vec::new();
        varint(3 << 3, &mut trainer);
        varint(model_type, &mut trainer);
        varint(43 << 3, &mut trainer);
        varint((-1i64) as u64, &mut trainer); // pad_id = -1 is a 10-byte varint
        varint(99 << 3, &mut trainer); // an unknown field is skipped
        varint(7, &mut trainer);
        bytes_field(2, &trainer, &mut m);
        let mut norm = Vec::new();
        varint(4 << 3, &mut norm);
        varint(remove_ws, &mut norm);
        bytes_field(3, &norm, &mut m);
        m
    }

    #[test]
    fn reads_a_minimal_bpe_model() {
        let vocab = parse(&model(2, 0)).unwrap();
        assert_eq!(vocab.len(), 4);
        assert_eq!(vocab.id("\u{2581}a"), Some(3));
        assert_eq!(vocab.unk_id, Some(0));
        assert_eq!((vocab.bos_id, vocab.eos_id, vocab.pad_id), (Some(1), Some(2), None));
        assert!(vocab.add_dummy_prefix);
    }

    #[test]
    fn refuses_unigram_and_extra_whitespace_removal() {
        assert!(parse(&model(1, 0)).unwrap_err().contains("unigram"));
        assert!(parse(&model(2, 1)).unwrap_err().contains("remove_extra_whitespaces"));
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let full = model(2, 0);
        for cut in 0..full.len() {
            let _ = parse(&full[..cut]); // must return, Ok or Err, for every prefix
        }
        assert!(parse(&full[..full.len() - 3]).is_err());
    }
}
