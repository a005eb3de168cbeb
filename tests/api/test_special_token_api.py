"""The special-token API transformers users reach for, against transformers 4.57's
``CodeLlamaTokenizerFast`` on the same files: tokens Code Llama lacks are None, the added vocabulary,
the lengths left for text, ``AddedToken`` values, and the id setters."""

from __future__ import annotations

import pickle

import pytest
from api_fixtures import folder, folder_of, load_oracle, load_ours, oracle, ours, vocab  # noqa: F401

import llamatok

ABSENT = ("sep_token", "cls_token", "mask_token", "sep_token_id", "cls_token_id", "mask_token_id")


def test_tokens_code_llama_lacks_are_none(ours, oracle):  # noqa: F811
    for name in ABSENT:
        assert getattr(ours, name) is None and getattr(oracle, name) is None, name


def test_the_added_vocabulary(ours, oracle):  # noqa: F811
    assert ours.get_added_vocab() == oracle.get_added_vocab()
    assert ours.added_tokens_encoder == oracle.added_tokens_encoder
    assert held(ours) == held(oracle)


def held(tok) -> tuple[object, object]:
    """``special_tokens_map_extended`` and ``all_special_tokens_extended`` as plain values (each token a
    string, or an AddedToken's state), taken now (transformers hands out its live lists)."""
    def plain(token):
        return token if isinstance(token, str) else (type(token).__name__, token.__getstate__())

    def plain_value(value):
        return [plain(t) for t in value] if isinstance(value, list) else plain(value)

    return ({k: plain_value(v) for k, v in tok.special_tokens_map_extended.items()},
            [plain(t) for t in tok.all_special_tokens_extended])


def _steps_after_loading(tok, tmp_path):
    """Set-ups whose tokens transformers holds as AddedToken objects or as strings, differently."""
    added = pytest.importorskip("tokenizers").AddedToken
    tok.pad_token = "</s>"
    tok.bos_token = added("<s>", lstrip=True)
    yield "setters"
    tok.add_special_tokens({"pad_token": "<PAD>", "cls_token": added("<CLS>", rstrip=True, normalized=True)})
    yield "add_special_tokens by name"
    tok.add_special_tokens({"additional_special_tokens": ["<q>"]}, replace_additional_special_tokens=False)
    yield "additional tokens appended"
    tok.pad_token_id = 5
    yield "an id setter"
    tok.add_special_tokens({"additional_special_tokens": ["<x>", added("<y>", lstrip=True)]})
    yield "additional tokens replaced"
    tok.additional_special_tokens = ["<x>", added("<y>", lstrip=True)]
    yield "additional tokens set"
    tok.save_pretrained(tmp_path)
    yield "saved"


@pytest.mark.parametrize("kwargs", [
    {}, {"pad_token": "</s>"}, {"pad_token": "<PAD>"}, {"bos_token": "<s>"}, {"additional_special_tokens": ["<z>"]},
    {"pad_token": "AddedToken <P> lstrip"}, {"additional_special_tokens": ["AddedToken <z> rstrip"]},
], ids=repr)
def test_tokens_are_held_as_transformers_holds_them(kwargs, tmp_path):
    """Given to the constructor, set, added, pickled, saved and reloaded: the same AddedToken objects (with
    the same flags) or strings in the two *_extended views as transformers."""
    added = pytest.importorskip("tokenizers").AddedToken
    given = {k: _as_given(v, added) for k, v in kwargs.items()}
    path = folder_of("codellama")
    mine, theirs = load_ours(path, **given), load_oracle(path, **given)
    assert held(mine) == held(theirs), "loaded"
    for step, _ in zip(_steps_after_loading(mine, tmp_path / "ours"),
                       _steps_after_loading(theirs, tmp_path / "theirs")):
        assert held(mine) == held(theirs), step
        assert held(pickle.loads(pickle.dumps(mine))) == held(theirs), (step, "pickled")
    reloaded = [load_ours(tmp_path / "ours"), load_oracle(tmp_path / "theirs")]
    assert held(reloaded[0]) == held(reloaded[1]), "reloaded"


def _as_given(value, added):
    """``"AddedToken <P> lstrip"`` (readable test ids) as ``AddedToken("<P>", lstrip=True)``."""
    if isinstance(value, list):
        return [_as_given(v, added) for v in value]
    if isinstance(value, str) and value.startswith("AddedToken "):
        _, content, flag = value.split()
        return added(content, **{flag: True})
    return value


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
