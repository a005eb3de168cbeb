"""``encode.encode_fim`` fills rows of segments with numpy, per kind of document; here every document is built
one at a time instead, from the layout (``llamatok.infill``) and the core's ``encode``: the same ids, lengths and
loss masks for every combination of BOS, EOS, layout and kind, with empty prefixes, middles, suffixes and
documents."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pp_helpers import DEMO

import llamatok
from llamatok.infill import CODESTRAL, EOT, MID, MIDDLE, PRE, PREFIX, SUF, SUFFIX, codestral_layout, layout, part_text
from llamatok.preprocess import fim
from llamatok.preprocess.encode import EncodeSpec, encode_fim

CORE = llamatok.Tokenizer.from_file(str(Path(DEMO) / "tokenizer.json"))
PRE_ID, SUF_ID, MID_ID, EOT_ID, BOS_ID, EOS_ID = 3, 4, 5, 6, 1, 2


def one_by_one(spec: EncodeSpec, text: str, kind: int, lo: int, hi: int,
               core: llamatok.Tokenizer = CORE) -> tuple[list[int], list[bool]]:
    """A document's ids, and whether a model learns each: all of a plain document; of a FIM one, the
    middle, EOT and EOS (not the prompt, whatever ids the prompt's text holds)."""
    f = spec.fim
    assert f is not None
    ids = [] if spec.bos_id is None else [spec.bos_id]
    learned = [kind == fim.PLAIN] * len(ids)
    if kind == fim.PLAIN:
        ids += core.encode(text, spec.mode, True)
        learned += [True] * (len(ids) - len(learned))
    else:
        parts = {PREFIX: text[:lo], MIDDLE: text[lo:hi], SUFFIX: text[hi:]}
        specials = {PRE: f.prefix_id, SUF: f.suffix_id, MID: f.middle_id, EOT: f.eot_id}
        items = codestral_layout() if f.layout == CODESTRAL else layout(kind == fim.SPM)
        for item in (*items, MIDDLE, EOT):
            if item in specials:
                ids.append(specials[item])
            elif f.layout == CODESTRAL and item == PREFIX:
                ids += core.encode(parts[item], spec.mode, True)
            else:
                ids += core.encode(part_text(item, parts[item]), spec.mode, False)
            learned += [item in (MIDDLE, EOT)] * (len(ids) - len(learned))
    ends_with_eos = kind != fim.PLAIN and f.eot_id == spec.eos_id
    if spec.eos_id is not None and ids and not ends_with_eos:
        ids.append(spec.eos_id)
        learned.append(True)
    return ids, learned


SPECS = [
    (layout_name, rate, bos, eos)
    for layout_name, rate, bos, eos in itertools.product(["codellama", CODESTRAL], [0.5, 1.0], [None, BOS_ID],
                                                          [None, EOS_ID])
]


@pytest.mark.parametrize("layout_name, rate, bos, eos", SPECS)
@settings(max_examples=25, deadline=None)
@given(texts=st.lists(st.text(st.sampled_from("ab é\n€\U0001F600x"), max_size=12), max_size=25),
       seed=st.integers(0, 1000))
def test_rows_of_segments_are_the_documents_one_by_one(layout_name, rate, bos, eos, texts, seed):
    codestral = layout_name == CODESTRAL
    f = fim.FimSpec(rate=rate, spm_rate=1.0 if codestral else 0.5, seed=seed, prefix_id=PRE_ID, suffix_id=SUF_ID,
                    middle_id=-1 if codestral else MID_ID, eot_id=EOS_ID if codestral else EOT_ID,
                    layout=layout_name)
    spec = EncodeSpec("literal", bos, eos, "int32", fim=f)
    sources = np.zeros(len(texts), np.uint64)
    positions = np.arange(len(texts), dtype=np.uint64) * 3
    ids, lengths, learned = encode_fim(CORE, texts, spec, 0, sources, positions)
    kinds, lo, hi = fim.plan(f, 0, sources, positions, [len(t) for t in texts])
    want = [one_by_one(spec, t, int(k), int(a), int(b)) for t, k, a, b in zip(texts, kinds, lo, hi)]
    assert lengths.tolist() == [len(w) for w, _ in want]
    assert ids.tolist() == [i for w, _ in want for i in w]
    assert learned is not None and learned.tolist() == [b for _, m in want for b in m]


@settings(max_examples=60, deadline=None)
@given(texts=st.lists(st.lists(st.sampled_from(["x", " ", "<MID>", " <MID>", " <PRE>", " <EOT>", "\n", "é"]),
                               max_size=12).map("".join), min_size=1, max_size=20),
       seed=st.integers(0, 1000))
def test_text_that_encodes_to_infill_tokens_keeps_its_loss_mask(texts, seed):
    """Code Llama's vocabulary encodes " <MID>" written in a text to the very id FIM puts before the
    middle: the mask is made from where FIM placed its tokens, not from finding that id."""
    from conftest import CODELLAMA_JSON, INFILL_TOKENS, require

    core = llamatok.Tokenizer.from_file(str(require(CODELLAMA_JSON)))
    assert core.encode(" <MID>", "literal", False) == [INFILL_TOKENS["\u2581<MID>"]]
    pre, suf, mid, eot = (INFILL_TOKENS[f"\u2581<{t}>"] for t in ("PRE", "SUF", "MID", "EOT"))
    f = fim.FimSpec(rate=0.5, spm_rate=0.5, seed=seed, prefix_id=pre, suffix_id=suf, middle_id=mid, eot_id=eot)
    spec = EncodeSpec("literal", 1, 2, "uint16", fim=f)
    sources, positions = np.zeros(len(texts), np.uint64), np.arange(len(texts), dtype=np.uint64)
    ids, lengths, learned = encode_fim(core, texts, spec, 0, sources, positions)
    kinds, lo, hi = fim.plan(f, 0, sources, positions, [len(t) for t in texts])
    want = [one_by_one(spec, t, int(k), int(a), int(b), core) for t, k, a, b in zip(texts, kinds, lo, hi)]
    assert ids.tolist() == [i for w, _ in want for i in w]
    assert learned is not None and learned.tolist() == [b for _, m in want for b in m]
