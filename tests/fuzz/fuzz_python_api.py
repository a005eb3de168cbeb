"""Coverage-guided fuzzing of the public Python API with atheris (libFuzzer for Python): ``CodeLlamaTokenizerFast``
encode (every special-token mode: legacy, ``legacy=False``, ``split_special_tokens``), infill prompts, decode of
arbitrary ints and of numpy buffers of any integer or other dtype in either byte order, ``convert_ids_to_tokens``
and the streaming decoder, on Code Llama's files (the demo vocabulary when they are absent).

Only the documented exceptions may escape (README, "Behaviour modes"; docs/decoding.md): ``TokenIdError`` for an id
outside the vocabulary, ``TypeError`` for ids that are not integers, ``UnicodeEncodeError`` for text with lone
surrogates. Anything else, a wrong answer (the checks below) or a crash in the extension is reported by atheris
with the input. Usage, from the repository root, in the venv tests/run makes (plus ``pip install atheris``):

    python tests/fuzz/fuzz_python_api.py -atheris_runs=1000000 -max_len=512 tests/fuzz/corpus

The figures of a run are in benches/results/fuzzing.md. Not collected by pytest (not a ``test_`` file).
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

# The package imports its modules lazily: import every one the API runs here, where atheris instruments them.
with atheris.instrument_imports():
    import numpy as np

    import llamatok
    import llamatok.batch_encoding
    import llamatok.code_llama
    import llamatok.infill
    import llamatok.loading
    import llamatok.model_inputs
    import llamatok.padding
    import llamatok.settings
    import llamatok.special_tokens
    import llamatok.streaming
    import llamatok.template
    import llamatok.text_cleanup
    import llamatok.token_ids
    import llamatok.truncation
    from llamatok import TokenIdError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import CODELLAMA_DIR, CODELLAMA_JSON  # noqa: E402

DIR = CODELLAMA_DIR if CODELLAMA_JSON.is_file() else llamatok.demo_path()
TOKENIZERS = [
    llamatok.CodeLlamaTokenizerFast.from_pretrained(DIR),
    llamatok.CodeLlamaTokenizerFast.from_pretrained(DIR, legacy=False),
]
VOCAB = len(TOKENIZERS[0])
# Integer dtypes in both byte orders, and dtypes that are not integers (a TypeError).
INT_DTYPES = [np.dtype(f"{order}{kind}{size}") for order in "<>" for kind in "iu" for size in (1, 2, 4, 8)]
OTHER_DTYPES = [np.dtype(d) for d in ("<f4", ">f8", "?", "<c8", "S2")]  # not "U": random bytes are no valid code points


def expect_ids_error(call, ids: list[int]) -> object:
    """Runs `call`; an id outside the vocabulary must give TokenIdError, and only then."""
    valid = all(0 <= i < VOCAB for i in ids)
    try:
        result = call()
    except TokenIdError:
        if valid:
            raise
        return None
    assert valid, f"no TokenIdError for {ids}"
    return result


def text_calls(fdp: atheris.FuzzedDataProvider, tok: llamatok.CodeLlamaTokenizerFast) -> None:
    # "<FILL_ME>" makes an infill prompt; twice, or with an explicit suffix, it is a documented ValueError.
    text = fdp.ConsumeUnicode(fdp.ConsumeIntInRange(0, 64)).replace("<FILL_ME>", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        surrogates = True
    else:
        surrogates = False
    if surrogates:
        try:
            tok.encode(text)
        except UnicodeEncodeError:
            return
        raise AssertionError(f"{text!r} has lone surrogates and was encoded")
    what = fdp.ConsumeIntInRange(0, 3)
    if what == 0:
        split = fdp.ConsumeBool()
        ids = tok.encode(text, add_special_tokens=fdp.ConsumeBool(), split_special_tokens=split)
        assert all(0 <= i < VOCAB for i in ids), ids
        if split:  # literal mode: the round trip of README, "Behaviour modes"
            plain = tok.encode(text, add_special_tokens=False, split_special_tokens=True)
            back = tok.decode(plain, style="sentencepiece", clean_up_tokenization_spaces=False)
            assert back == text.replace("\u2581", " "), (text, plain)
    elif what == 1:
        suffix = fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 32)).replace("<FILL_ME>", "")
        ids = tok.encode(text, suffix=suffix, suffix_first=fdp.ConsumeBool())
        assert all(0 <= i < VOCAB for i in ids), ids
    elif what == 2:
        enc = tok(text, return_offsets_mapping=True)
        assert len(enc["offset_mapping"]) == len(enc["input_ids"])
        assert all(0 <= a <= b <= len(text) for a, b in enc["offset_mapping"]), enc["offset_mapping"]
    else:
        ids = tok.encode(text + "<FILL_ME>" + text[: len(text) // 2])
        assert all(0 <= i < VOCAB for i in ids), ids


def id_calls(fdp: atheris.FuzzedDataProvider, tok: llamatok.CodeLlamaTokenizerFast) -> None:
    # Mostly ids of the vocabulary, some just past it, some anywhere in 64 bits.
    n = fdp.ConsumeIntInRange(0, 24)
    ids = [fdp.PickValueInList([fdp.ConsumeIntInRange(0, VOCAB - 1), fdp.ConsumeIntInRange(VOCAB - 2, VOCAB + 2),
                                fdp.ConsumeIntInRange(-(2**63), 2**64)]) for _ in range(n)]
    skip = fdp.ConsumeBool()
    style = fdp.PickValueInList(["transformers", "sentencepiece"])
    what = fdp.ConsumeIntInRange(0, 2)
    if what == 0:
        expect_ids_error(lambda: tok.decode(ids, skip_special_tokens=skip, style=style), ids)
        expect_ids_error(lambda: tok.convert_ids_to_tokens(ids), ids)
    elif what == 1:
        # The streaming decoder: step by step, exactly decode() of all ids (docs/decoding.md).
        whole = expect_ids_error(
            lambda: tok.decode(ids, skip_special_tokens=skip, style=style, clean_up_tokenization_spaces=False), ids)
        stream = tok.decode_stream(skip_special_tokens=skip, style=style)
        parts = []
        for i in ids:
            try:
                parts.append(stream.step(i))
            except TokenIdError:
                assert not 0 <= i < VOCAB, i
                return
        parts.append(stream.finish())
        assert "".join(parts) == whole, (ids, parts, whole)
    else:
        # A numpy array of any dtype and byte order, from raw bytes: the same as its values as a list.
        dtype = fdp.PickValueInList(INT_DTYPES + OTHER_DTYPES)
        raw = fdp.ConsumeBytes(dtype.itemsize * fdp.ConsumeIntInRange(0, 16))
        raw = raw[: len(raw) - len(raw) % dtype.itemsize]  # the data may run out mid-item
        array = np.frombuffer(raw, dtype=dtype)
        if fdp.ConsumeBool() and len(array) > 1:
            array = array[::2]  # strided
        values = [int(v) for v in array] if dtype.kind in "iub" else None
        # The extension's tokenizer (the one the class holds) reads the buffer itself (rust/src/id_bytes.rs):
        # integer dtypes only, never a bool.
        if dtype.kind not in "iu":
            try:
                tok._core.decode(array)
            except TypeError:
                pass
            else:
                raise AssertionError(f"the core decoded a {dtype} array")
        else:
            got = expect_ids_error(lambda: tok._core.decode(array, style, skip), values)
            if got is not None:
                assert got == tok._core.decode(values, style, skip), (dtype, values)
        # The class goes through tolist(), as transformers does: bools are ints, an empty array is no ids.
        if values is None:
            try:
                got = tok.decode(array)
            except TypeError:
                return
            assert got == "" and len(array) == 0, f"a {dtype} array was decoded"
            return
        got = expect_ids_error(lambda: tok.decode(array, skip_special_tokens=skip, style=style), values)
        if got is not None:
            assert got == tok.decode(values, skip_special_tokens=skip, style=style), (dtype, values)


def one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    tok = TOKENIZERS[fdp.ConsumeIntInRange(0, len(TOKENIZERS) - 1)]
    if fdp.ConsumeBool():
        text_calls(fdp, tok)
    else:
        id_calls(fdp, tok)


def main() -> None:
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
