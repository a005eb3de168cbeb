//! The three special-token modes against their plain definitions (naive.rs), with the dummy prefix on
//! and off and the memo on and off; the offsets of every mode; and the round trip of literal text.

use proptest::prelude::*;

use super::chunk_cuts::capped;
use super::naive::{self, NaiveBpe};
use super::texts::{bits, render};
use super::vocabs;
use crate::{DecodeStyle, EncodeOptions, PieceKind, SpecialMode};

const MODES: [SpecialMode; 3] = [SpecialMode::Legacy, SpecialMode::NonLegacy, SpecialMode::Literal];

proptest! {
    #[test]
    fn modes_match_their_definitions(bits in bits(), prefix in any::<bool>()) {
        for named in vocabs::all() {
            let (tok, text) = (&named.tok, capped(render(&bits, &named.tok)));
            let bpe = NaiveBpe::new(tok.vocab());
            for mode in MODES {
                let expected = naive::encode(&bpe, tok.special_tokens(), &text, mode, prefix);
                let opts = EncodeOptions { mode, dummy_prefix: prefix };
                prop_assert_eq!(&tok.encode(&text, opts), &expected, "{} {:?}: {:?}", named.name, opts, text);
                prop_assert_eq!(&tok.with_cache(false).encode(&text, opts), &expected, "{} uncached", named.name);
            }
        }
    }

    #[test]
    fn offsets_come_with_the_ids_of_encode(bits in bits(), prefix in any::<bool>()) {
        for named in vocabs::all() {
            let (tok, text) = (&named.tok, render(&bits, &named.tok));
            for mode in MODES {
                let opts = EncodeOptions { mode, dummy_prefix: prefix };
                let (ids, spans) = tok.encode_with_spans(&text, opts);
                let what = format!("{} {opts:?}: {text:?} {spans:?}", named.name);
                prop_assert_eq!(&ids, &tok.encode(&text, opts), "{}", what);
                prop_assert_eq!(spans.len(), ids.len(), "{}", what);
                for (k, &(a, b)) in spans.iter().enumerate() {
                    prop_assert!(a <= b && b <= text.len(), "{}", what);
                    prop_assert!(text.is_char_boundary(a) && text.is_char_boundary(b), "{}", what);
                    prop_assert!(k == 0 || spans[k - 1].0 <= a, "starts go backwards: {}", what);
                    // In legacy mode a control token spans its own text (non-legacy may match through the
                    // dummy `▁`; normal pieces made special, like `▁<PRE>`, may also come out of merges).
                    let control = tok.vocab().piece(ids[k]).is_some_and(|p| p.kind == PieceKind::Control);
                    if mode == SpecialMode::Legacy && tok.is_special(ids[k]) && control {
                        let content = tok.special_tokens().iter().find(|(_, id)| *id == ids[k]).map(|(t, _)| t.as_str());
                        prop_assert_eq!(Some(&text[a..b]), content, "{}", what);
                    }
                }
            }
        }
    }

    /// decode(encode(x)) == x in literal mode, `▁` coming back as a space (docs/decoding.md).
    #[test]
    fn literal_text_decodes_back(bits in bits()) {
        for named in vocabs::all() {
            let (tok, text) = (&named.tok, render(&bits, &named.tok));
            let ids = tok.encode(&text, EncodeOptions { mode: SpecialMode::Literal, dummy_prefix: true });
            for style in [DecodeStyle::SentencePiece, DecodeStyle::Transformers] {
                let back = tok.decode(&ids, style, false).expect("encoded ids are in the vocabulary");
                prop_assert_eq!(back, text.replace('\u{2581}', " "), "{} {:?}", named.name, style);
            }
        }
    }
}
