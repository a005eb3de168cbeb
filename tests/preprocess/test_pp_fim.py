"""Fill-in-the-middle documents (docs/infill.md): their structure (the inference prompt, then the
middle), Meta's reference layout, the rates, and determinism per seed."""

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
    """Checks one document's layout and the encoding of each part; returns 'plain', 'psm' or 'spm'."""
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
        pm = surface(prefix_middle)
        assert pm.startswith(" "), "the SPM prefix is encoded like ' ' + prefix, as in the prompt"
        assert pm[1:] + surface(suffix) == text
        assert suffix == CORE.encode(surface(suffix), "literal", False), "suffix: no dummy prefix"
        return "spm"
    prefix, suffix, middle = body[1:s], body[s + 1:m], body[m + 1:-1]
    assert s < m
    p = surface(prefix)
    assert p.startswith(" "), "the PSM prefix is encoded like ' ' + prefix (an empty one is one ▁)"
    assert p[1:] + surface(middle) + surface(suffix) == text
    assert prefix == CORE.encode(" " + p[1:], "literal", False)
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


def test_documents_are_the_inference_prompt_then_the_middle(tmp_path):
    """The prompt part of a training document is what ``CodeLlamaTokenizerFast`` builds for the same
    prefix and suffix (one builder: ``llamatok.infill``), in both layouts."""
    docs_in = [t for t in texts(300) if t]
    pp.run(texts=docs_in, output_prefix=str(tmp_path / "f"), fim_rate=1.0, fim_spm_rate=0.5, seed=3, quiet=True,
           bos=False)
    seen = set()
    for doc, _text in zip(documents(str(tmp_path / "f")), docs_in):
        m = doc.index(MID)
        spm = doc[1] == SUF
        if doc[doc.index(SUF) + 1] == MID:
            continue  # an empty suffix: the API encodes such a prompt as plain text (as transformers)
        if spm:
            suffix = surface(doc[2:m])
            prefix_middle = surface(doc[m + 1:-1])[1:]
            # the prefix is what is left of the text before the suffix, less the middle: try each cut
            cut = next(i for i in range(len(prefix_middle) + 1)
                       if doc[:-1] == TOK.encode(prefix_middle[:i], suffix=suffix, suffix_first=True,
                                                 add_special_tokens=False)
                       + CORE.encode(prefix_middle[i:], "literal", False))
            assert cut is not None
        else:
            s = doc.index(SUF)
            prefix, suffix = surface(doc[1:s])[1:], surface(doc[s + 1:m])
            prompt = TOK(prefix, suffix=suffix, add_special_tokens=False, split_special_tokens=True)["input_ids"]
            assert doc[:m + 1] == prompt
        seen.add(spm)
    assert seen == {True, False}


def meta_infilling_prompt_tokens(hf, pre: str, suf: str, suffix_first: bool):
    """Meta's reference layout (Code Llama's ``generation.py``, ``infilling_prompt_tokens``), with
    ``tokenizers`` standing in for SentencePiece: ``encode`` adds the implicit leading ``▁``,
    ``encode_infilling`` drops it by encoding ``"☺" + s`` and the two first tokens."""
    def encode(s):
        return hf.encode(s, add_special_tokens=False).ids

    def encode_infilling(s):
        return hf.encode("\u263a" + s, add_special_tokens=False).ids[2:]

    pre_id, suf_id, mid_id = 32007, 32008, 32009
    if suffix_first:
        return [1, pre_id, suf_id] + encode_infilling(suf) + [mid_id] + encode(pre)
    return [1, pre_id] + encode(pre) + [suf_id] + encode_infilling(suf) + [mid_id]


def test_prompts_follow_metas_reference_layout(codellama_json):
    from tokenizers import Tokenizer

    hf = Tokenizer.from_file(str(codellama_json))
    tok = llamatok.CodeLlamaTokenizerFast.from_pretrained(codellama_json.parent, split_special_tokens=True)
    rng = np.random.default_rng(9)
    words = ["def", " f", "(x)", ":", "\n", "    ", "return", " x", "é", "😀", "  ", "#", "1", "\t"]
    for _ in range(300):
        text = "".join(rng.choice(words, size=int(rng.integers(1, 30))))
        a, b = sorted(int(x) for x in rng.integers(0, len(text) + 1, size=2))
        pre, suf = text[:a], text[b:] or "x"
        for suffix_first in (False, True):
            ours = tok.encode(pre, suffix=suf, suffix_first=suffix_first)
            theirs = meta_infilling_prompt_tokens(hf, pre, suf, suffix_first)
            if pre:
                assert ours == theirs, (pre, suf, suffix_first)
            else:
                # The one documented difference (docs/infill.md): an empty prefix is one ▁ here,
                # as transformers encodes it, and nothing in Meta's layout.
                space = [29871]
                want = theirs[:2] + space + theirs[2:] if not suffix_first else theirs + space
                assert ours == want, (suf, suffix_first)


# --- Codestral's layout (--fim-layout codestral) on Mistral's v7 model ----------------------------------------


def codestral_core():
    from conftest import GET_MISTRAL, MISTRAL_FAMILY, require

    return llamatok.Tokenizer.from_file(str(require(MISTRAL_FAMILY["v7"], GET_MISTRAL)))


@pytest.mark.parametrize("append_eod", [True, False])
def test_codestral_documents_are_the_prompt_then_the_middle(tmp_path, append_eod):
    """Each FIM document is ``<s>`` + mistral-common's prompt (``[SUFFIX] suffix [PREFIX] prefix``), then the
    middle without a dummy ``▁``, then one ``</s>`` (also with --append-eod: the middle's end is the EOS)."""
    from llamatok.codestral import fim_prompt

    core = codestral_core()
    docs_in = [t + " [INST] [REF]x" * (i % 3) for i, t in enumerate(texts(300))]
    pp.run(texts=docs_in, output_prefix=str(tmp_path / "c"), tokenizer=core, fim_rate=0.7, fim_layout="codestral",
           seed=3, append_eod=append_eod, quiet=True)
    fim = 0
    for doc, text in zip(documents(str(tmp_path / "c")), docs_in):
        if doc[1:2] != [core.piece_to_id("[SUFFIX]")]:
            assert doc == [core.bos_id, *core.encode(text, "literal"), *([core.eos_id] if append_eod and text else [])]
            continue
        fim += 1
        assert doc[-1] == core.eos_id and doc.count(core.eos_id) == 1
        # Some cut (lo, hi) gives exactly this document.
        assert any(
            doc == fim_prompt(core, text[:lo], text[hi:]) + core.encode(text[lo:hi], "literal", False) + [core.eos_id]
            for hi in range(len(text) + 1)
            for lo in range(hi + 1)
            if core.encode(text[hi:], "literal", False) == doc[2:2 + len(core.encode(text[hi:], "literal", False))]
        ), text
    assert 150 < fim < 270


def test_codestral_layout_needs_its_pieces(tmp_path):
    with pytest.raises(pp.OptionsError, match=r"--fim-layout codestral: .*no \[PREFIX\] or \[SUFFIX\]"):
        pp.run(texts=["x"], output_prefix=str(tmp_path / "d"), fim_rate=0.5, fim_layout="codestral", quiet=True)
    with pytest.raises(pp.OptionsError, match="--fim-layout must be one of codellama, codestral"):
        pp.run(texts=["x"], output_prefix=str(tmp_path / "d"), fim_rate=0.5, fim_layout="spm", quiet=True)


def test_plain_documents_holding_mid_text_are_learned_whole(tmp_path):
    """A plain document whose text encodes to ▁<MID> (Code Llama's vocabulary, literal mode) is learned
    whole, in every format that carries a mask."""
    from conftest import CODELLAMA_DIR, require

    texts = ["if x <MID> y: pass", "<MID> at the start", "no marker here"]
    prefix = str(tmp_path / "m")
    pp.run(texts=texts, output_prefix=prefix, tokenizer=str(require(CODELLAMA_DIR)), fim_rate=1e-12,
           formats="npy,datatrove,parquet", quiet=True)
    ids = np.fromfile(prefix + ".npy", np.uint16)
    assert (ids == 32009).sum() == 2, "the texts' own ▁<MID>"
    assert np.fromfile(prefix + ".label_mask.npy", np.bool_).all()
    assert np.fromfile(prefix + ".ds.loss", np.bool_).all()
    import pyarrow.parquet as pq

    assert all(all(m) for m in pq.read_table(prefix + ".parquet").column("loss_mask").to_pylist())


def test_codestral_documents_have_loss_masks(tmp_path):
    # Codestral's layout has no token between the prefix and the middle; the mask is made where the parts
    # are laid out (test_pp_fim_assembly.py), so its documents have one too: the middle and </s> learned.
    import pyarrow.parquet as pq

    prefix = str(tmp_path / "c")
    summary = pp.run(texts=texts(50), output_prefix=prefix, tokenizer=codestral_core(), fim_rate=1.0,
                     fim_layout="codestral", formats="megatron,npy,datatrove,parquet", quiet=True)
    assert summary["documents"] == 50
    mask = np.fromfile(prefix + ".label_mask.npy", np.bool_)
    assert np.array_equal(np.fromfile(prefix + ".ds.loss", np.bool_), mask)
    assert sum(pq.read_table(prefix + ".parquet").column("loss_mask").to_pylist(), []) == mask.tolist()
    at = 0
    for doc in documents(prefix):
        learned = mask[at:at + len(doc)].tolist()
        at += len(doc)
        first = learned.index(True)
        assert first > 0 and all(learned[first:]) and not any(learned[:first]), "the prompt, then the middle"
    assert at == len(mask)


def test_codestral_layout_refuses_an_spm_rate(tmp_path):
    # Codestral's documents have one order: an SPM rate would be dropped silently, so it is refused.
    with pytest.raises(pp.OptionsError, match="--fim-spm-rate does not apply to --fim-layout codestral"):
        pp.run(texts=["x"], output_prefix=str(tmp_path / "d"), fim_rate=0.5, fim_spm_rate=0.3,
               fim_layout="codestral", quiet=True)
    options = pp.Options(inputs=["-"], output_prefix="-", fim_rate=0.5).validate_encoding()
    assert options.fim_spm_rate == 0.5


def test_codestral_layout_from_the_command_line(tmp_path):
    from pp_helpers import cli

    from conftest import GET_MISTRAL, MISTRAL_FAMILY, require

    model = require(MISTRAL_FAMILY["v7"], GET_MISTRAL)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.py").write_text("def f(x):\n    return [INST] x\n")
    proc = cli(str(tmp_path / "src"), "--tokenizer", str(model), "-o", str(tmp_path / "out"),
               "--fim-rate", "1", "--fim-layout", "codestral", "--append-eod", "-q")
    assert proc.returncode == 0, proc.stderr
    (doc,) = documents(str(tmp_path / "out"))
    assert doc[:2] == [1, 13] and doc.count(11) == 1 and doc[-1] == 2 and doc.count(2) == 1
