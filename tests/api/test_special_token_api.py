"""The special-token API transformers users reach for, against transformers 4.57's
``CodeLlamaTokenizerFast`` on the same files: tokens Code Llama lacks are None, the added vocabulary,
the lengths left for text, ``AddedToken`` values, and the id setters."""

from __future__ import annotations

import pytest
from api_fixtures import folder, load_oracle, load_ours, oracle, ours, vocab  # noqa: F401

import llamatok

ABSENT = ("sep_token", "cls_token", "mask_token", "sep_token_id", "cls_token_id", "mask_token_id")


def test_tokens_code_llama_lacks_are_none(ours, oracle):  # noqa: F811
    for name in ABSENT:
        assert getattr(ours, name) is None and getattr(oracle, name) is None, name


def test_the_added_vocabulary(ours, oracle):  # noqa: F811
    assert ours.get_added_vocab() == oracle.get_added_vocab()
    assert ours.added_tokens_encoder == oracle.added_tokens_encoder
    assert ours.all_special_tokens_extended == [str(t) for t in oracle.all_special_tokens_extended]
    theirs = oracle.special_tokens_map_extended
    assert ours.special_tokens_map_extended == {
        k: (str(v) if not isinstance(v, list) else [str(x) for x in v]) for k, v in theirs.items()
    }


@pytest.mark.parametrize("eos", [False, True])
@pytest.mark.parametrize("limit", [None, 2048])
def test_lengths_left_for_text(folder, eos, limit):  # noqa: F811
    kwargs = {"add_eos_token": eos} if limit is None else {"add_eos_token": eos, "model_max_length": limit}
    ours, oracle = load_ours(folder, **kwargs), load_oracle(folder, **kwargs)  # noqa: F811
    assert ours.max_len_single_sentence == oracle.max_len_single_sentence
    assert ours.max_len_sentences_pair == oracle.max_len_sentences_pair


def test_added_token_values_are_their_text(folder):  # noqa: F811
    from tokenizers import AddedToken

    ours, oracle = load_ours(folder, pad_token=AddedToken("</s>")), load_oracle(folder, pad_token=AddedToken("</s>"))  # noqa: F811
    assert ours.pad_token == oracle.pad_token == "</s>" and ours.pad_token_id == oracle.pad_token_id
    ours.pad_token = AddedToken("<unk>", special=True)
    oracle.pad_token = AddedToken("<unk>", special=True)
    assert ours.pad_token == str(oracle.pad_token) and ours.pad_token_id == oracle.pad_token_id
    with pytest.raises(ValueError, match=r"a special token must be a str or None \(or an AddedToken\)"):
        ours.pad_token = 3.5


def test_sep_cls_mask_survive_save_and_reload(folder, tmp_path):  # noqa: F811
    # special_tokens_map.json writes them as AddedToken dicts, which both libraries must read back.
    import transformers

    tok = load_ours(folder)
    tok.sep_token, tok.cls_token, tok.mask_token = tok.eos_token, tok.bos_token, tok.unk_token
    tok.save_pretrained(tmp_path)
    for reloaded in (llamatok.CodeLlamaTokenizerFast.from_pretrained(tmp_path),
                     transformers.CodeLlamaTokenizerFast.from_pretrained(tmp_path)):
        assert (str(reloaded.sep_token), str(reloaded.cls_token), str(reloaded.mask_token)) == (
            tok.eos_token, tok.bos_token, tok.unk_token)
        assert reloaded.sep_token_id == tok.eos_token_id


def test_id_setters(folder):  # noqa: F811
    ours, oracle = load_ours(folder), load_oracle(folder)  # noqa: F811
    for tok in (ours, oracle):
        tok.bos_token_id = 2
        tok.unk_token_id = 1
        tok.eos_token_id = 0
    for name in ("bos_token", "unk_token", "eos_token"):
        assert getattr(ours, name) == str(getattr(oracle, name)), name
    oracle.update_post_processor()  # transformers uses a new bos_token only after this (a documented difference)
    assert ours.encode("x") == oracle.encode("x")
    with pytest.raises(llamatok.TokenIdError):
        ours.bos_token_id = 10**6


def test_a_named_token_the_vocabulary_lacks(folder):  # noqa: F811
    tok = load_ours(folder, mask_token="<unk>")
    assert tok.mask_token == "<unk>" and tok.mask_token_id == 0 and "mask_token" in tok.special_tokens_map
    # Given to the constructor, it is added (as in transformers); set later, it must be in the vocabulary
    # (transformers would silently give it <unk>'s id: a documented difference).
    ours, oracle = load_ours(folder, sep_token="<SEP>"), load_oracle(folder, sep_token="<SEP>")  # noqa: F811
    assert ours.sep_token_id == oracle.sep_token_id == len(oracle) - 1
    with pytest.raises(ValueError, match="'<CLS>' is not in the vocabulary; add it with"):
        ours.cls_token = "<CLS>"
