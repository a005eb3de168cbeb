//! Unit tests of `Tokenizer`: offsets in every mode, the non-legacy rule, added tokens' rules.

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

fn token(content: &str, f: impl FnOnce(&mut NewToken)) -> NewToken {
    let mut t = NewToken::new(content, false);
    f(&mut t);
    t
}

/// Ids of `text` in legacy mode, the added ids written as their texts.
fn shown(tok: &Tokenizer, text: &str, mode: SpecialMode) -> Vec<String> {
    let ids = tok.encode(text, EncodeOptions { mode, dummy_prefix: true });
    ids.iter().map(|&id| tok.id_to_token(id).unwrap().to_string()).collect()
}

#[test]
fn added_tokens_follow_the_rules_of_their_flags() {
    let base = demo();
    let n = base.len() as u32;
    let (tok, count) = base
        .with_added_tokens(&[
            token("<x>", |t| t.normalized = false),
            token("<l>", |t| (t.normalized, t.lstrip) = (false, true)),
            token("<r>", |t| (t.normalized, t.rstrip) = (false, true)),
            token("<w>", |t| (t.normalized, t.single_word) = (false, true)),
            token("zq", |_| {}),
            NewToken::new("<sp>", true),
        ])
        .unwrap();
    assert_eq!(count, 6);
    assert_eq!(tok.len(), base.len() + 6);
    assert_eq!((tok.token_to_id("<x>"), tok.token_to_id("<sp>")), (Some(n), Some(n + 5)));
    let legacy = SpecialMode::Legacy;
    // The old tokenizer is unchanged: it neither knows nor matches the new tokens.
    assert_eq!(base.token_to_id("<x>"), None);
    assert!(!shown(&base, "a<x>b", legacy).contains(&"<x>".to_string()));
    // Raw matches split the text; each piece gets its dummy prefix.
    assert!(shown(&tok, "a<x>b", legacy).contains(&"<x>".to_string()));
    // lstrip/rstrip take in the whitespace: no lone ▁ is left beside them.
    assert_eq!(shown(&tok, "a  <l>", legacy), shown(&tok, "a<l>", legacy));
    assert_eq!(shown(&tok, "<r>  b", legacy), shown(&tok, "<r>b", legacy));
    // single_word: not next to a word character.
    assert!(shown(&tok, "a <w> b", legacy).contains(&"<w>".to_string()));
    assert!(!shown(&tok, "a<w> b", legacy).contains(&"<w>".to_string()));
    // normalized: matched as ▁zq in the normalized text.
    let (ids, _) = tok.encode_with_spans("a zq", EncodeOptions::default());
    assert_eq!(ids.last(), Some(&(n + 4)));
    assert!(!tok.encode("azq", EncodeOptions::default()).contains(&(n + 4)));
    // Literal mode leaves special tokens as text and matches the others.
    let literal = shown(&tok, "<sp><x>", SpecialMode::Literal);
    assert!(literal.contains(&"<x>".to_string()) && !literal.contains(&"<sp>".to_string()));
    // Decoding: added ids as their text; special ones skipped on request.
    let ids = tok.encode("<sp>a<x>", EncodeOptions::default());
    assert_eq!(tok.decode(&ids, DecodeStyle::Transformers, false).unwrap(), "<sp> a<x>");
    assert_eq!(tok.decode(&ids, DecodeStyle::Transformers, true).unwrap(), "a<x>");
    // Tokens: what each added token matched.
    let tokens = tok.encode_tokens("a  <l>", EncodeOptions::default());
    assert_eq!(tokens.last().unwrap(), &(n + 1, "  <l>".to_string()));
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

#[test]
fn aligned_numbers_the_parts_the_added_tokens_cut_as_words() {
    let base = demo();
    let n = base.len() as u32;
    let (tok, _) = base
        .with_added_tokens(&[token("<l>", |t| (t.normalized, t.lstrip) = (false, true)), token("zq", |_| {})])
        .unwrap();
    let opts = EncodeOptions::default();
    for text in TEXTS.iter().copied().chain(["a b  <l>c d", "<l><l>", "x zq y", "zq"]) {
        for mode in [SpecialMode::Legacy, SpecialMode::NonLegacy, SpecialMode::Literal] {
            let opts = EncodeOptions { mode, dummy_prefix: true };
            let aligned = tok.encode_aligned(text, opts);
            assert_eq!(aligned.ids, tok.encode(text, opts), "{text:?} {mode:?}");
            assert_eq!(aligned.words.len(), aligned.ids.len(), "{text:?} {mode:?}");
            // Words start at 0 and go up by at most one from token to token.
            let steps = aligned.words.iter().scan(None, |last: &mut Option<u32>, &w| {
                let step = last.map_or(w, |l| w.wrapping_sub(l));
                *last = Some(w);
                Some(step)
            });
            assert!(steps.into_iter().all(|s| s <= 1), "{text:?} {mode:?}: {:?}", aligned.words);
        }
    }
    // "a b", the match "  <l>" (it took in the spaces, so its token is what it matched), "c d".
    let aligned = tok.encode_aligned("a b  <l>c d", opts);
    let at = aligned.ids.iter().position(|&id| id == n).unwrap();
    assert_eq!(aligned.matched, vec![(at, "  <l>".to_string())]);
    assert!(aligned.words[..at].iter().all(|&w| w == 0));
    assert_eq!(aligned.words[at], 1);
    assert!(aligned.words[at + 1..].iter().all(|&w| w == 2));
    // A normalized match is its normalized text; no cut: one word.
    let aligned = tok.encode_aligned("x zq", opts);
    assert_eq!(aligned.matched, vec![(aligned.ids.len() - 1, "\u{2581}zq".to_string())]);
    assert_eq!(*aligned.words.last().unwrap(), 1);
    assert_eq!(tok.encode_aligned("a b", opts).words, vec![0; tok.encode("a b", opts).len()]);
}
