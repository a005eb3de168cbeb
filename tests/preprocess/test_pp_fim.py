"""Fill-in-the-middle documents: SPEC §9 structure, the rates, and determinism per seed."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from pp_helpers import DEMO, documents, output_bytes, write_jsonl

import llamatok
import llamatok.preprocess as pp

TOK = llamatok.CodeLlamaTokenizerFast.from_pretrained(DEMO)
CORE = TOK._core
BOS, EOS = TOK.bos_token_id, TOK.eos_token_id
PRE, SUF, MID, EOT = TOK.prefix_id, TOK.suffix_id, TOK.middle_id, TOK.eot_id
BYTE = re.compile(r"<0x([0-9A-F]{2})>")


def surface(ids) -> str:
    """The exact text of ids (every ▁ a space, byte pieces as bytes), no leading-space rule."""
    out = bytearray()
    for i in ids:
        piece = CORE.id_to_piece(int(i))
        m = BYTE.fullmatch(piece)
        out += bytes([int(m.group(1), 16)]) if m else piece.replace("\u2581", " ").encode("utf-8")
    return out.decode("utf-8")


def texts(n: int):
    rng = np.random.default_rng(5)
    words = ["def", "x", "return", "(", ")", ":", "\n", "    ", "é", "😀", "  ", "class", "=", "1"]
    return ["".join(rng.choice(words, size=int(rng.integers(0, 60)))) for _ in range(n)]


def parse(doc, text):
    """Checks one document against SPEC §9; returns 'plain', 'psm' or 'spm'."""
    assert doc[0] == BOS and doc[-1] == EOS
    body = doc[1:-1]
    if PRE not in body:
        assert body == CORE.encode(text, "literal", True)
        return "plain"
    assert body[0] == PRE and body[-1] == EOT
    assert body.count(PRE) == body.count(SUF) == body.count(MID) == body.count(EOT) == 1
    s, m = body.index(SUF), body.index(MID)
    if s == 1:  # SPM: PRE SUF suffix MID prefix+middle EOT
        suffix, prefix_middle = body[2:m], body[m + 1:-1]
        assert surface(prefix_middle) + surface(suffix) == text
        assert suffix == CORE.encode(surface(suffix), "literal", False), "suffix: no dummy prefix"
        return "spm"
    prefix, suffix, middle = body[1:s], body[s + 1:m], body[m + 1:-1]
    assert s < m
    p = surface(prefix)
    assert p == "" or p.startswith(" "), "the PSM prefix is encoded like ' ' + prefix"
    assert p[1:] + surface(middle) + surface(suffix) == text
    assert prefix == CORE.encode(p[1:], "literal", True)
    assert suffix == CORE.encode(surface(suffix), "literal", False)
    assert middle == CORE.encode(surface(middle), "literal", False)
    return "psm"


def test_structure_and_round_trip(tmp_path):
    docs_in = texts(400)
    pp.run(texts=docs_in, output_prefix=str(tmp_path / "f"), fim_rate=1.0, fim_spm_rate=0.5, seed=11,
           append_eod=True, quiet=True)
    kinds = [parse(d, t) for d, t in zip(documents(str(tmp_path / "f")), docs_in)]
    assert set(kinds) == {"psm", "spm"}


@pytest.mark.parametrize("rate,spm", [(0.9, 0.5), (0.3, 0.8)])
def test_rates_within_statistical_bounds(tmp_path, rate, spm):
    n = 3000
    docs_in = texts(n)
    pp.run(texts=docs_in, output_prefix=str(tmp_path / "f"), fim_rate=rate, fim_spm_rate=spm, seed=2,
           append_eod=True, quiet=True)
    kinds = [parse(d, t) for d, t in zip(documents(str(tmp_path / "f")), docs_in)]
    fim = sum(k != "plain" for k in kinds)
    spm_n = sum(k == "spm" for k in kinds)
    assert abs(fim - n * rate) < 5 * math.sqrt(n * rate * (1 - rate))
    assert abs(spm_n - fim * spm) < 5 * math.sqrt(fim * spm * (1 - spm))


def test_cut_points_are_uniform_over_characters():
    from llamatok.preprocess.fim import FimSpec, plan

    spec = FimSpec(1.0, 0.5, 7, PRE, SUF, MID, EOT)
    n = 20000
    kind, lo, hi = plan(spec, 0, np.zeros(n, np.uint64), np.arange(n, dtype=np.uint64), [9] * n)
    assert (lo <= hi).all() and lo.min() == 0 and hi.max() == 9
    # Each of the two cuts is uniform on 0..9: the sorted pair's joint law is known.
    counts = np.bincount(lo * 10 + hi, minlength=100).reshape(10, 10)
    expected = np.where(np.eye(10, dtype=bool), n / 100, n / 50)
    mask = np.triu(np.ones((10, 10), bool))
    chi2 = (((counts - expected) ** 2 / expected)[mask]).sum()
    assert chi2 < 55 + 5 * math.sqrt(2 * 54), chi2  # 54 degrees of freedom


def test_deterministic_per_seed_whatever_the_batching(tmp_path):
    docs_in = texts(500)
    src = write_jsonl(tmp_path / "in.jsonl", [{"text": t} for t in docs_in])
    pp.run(str(src), str(tmp_path / "a"), fim_rate=0.9, seed=1, quiet=True, batch_bytes=1 << 20)
    pp.run(str(src), str(tmp_path / "b"), fim_rate=0.9, seed=1, quiet=True, batch_bytes=700, workers=1)
    pp.run(str(src), str(tmp_path / "c"), fim_rate=0.9, seed=2, quiet=True)
    assert output_bytes(str(tmp_path / "a")) == output_bytes(str(tmp_path / "b"))
    assert output_bytes(str(tmp_path / "a"))[".bin"] != output_bytes(str(tmp_path / "c"))[".bin"]


def test_fim_needs_infill_tokens(tmp_path):
    from llamatok.preprocess.encode import EncodeSpec
    from llamatok.preprocess.job import TokenizerInfo, encode_spec
    from llamatok.preprocess.options import Options, OptionsError

    info = TokenizerInfo(CORE, "x", 100, 1, 2, True, {"prefix": None, "suffix": 5, "middle": 6, "eot": 7}, "", False)
    options = Options(inputs=["x"], output_prefix="x", fim_rate=0.5)
    with pytest.raises(OptionsError, match="no prefix token"):
        encode_spec(options, info)
    assert isinstance(encode_spec(Options(inputs=["x"], output_prefix="x"), info), EncodeSpec)
