"""The libraries compared, behind one small interface each.

Every adapter loads the same vocabulary (Code Llama's tokenizer.json; sentencepiece, which cannot
read it, gets Llama 2's tokenizer.model, whose ids 0..31999 are Code Llama's) and offers:
``encode(text) -> ids``, ``encode_batch(texts) -> object holding all ids``, ``decode(ids) -> str``,
``decode_batch(list of id lists) -> list of str`` (on all cores where the library can),
and ``ids_of(result)`` turning whatever encode returned into a list for the exactness check.
A missing capability is ``None`` and shows as "n/a" in the table.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable


@dataclass
class Peer:
    name: str
    encode: Callable[[str], Any]
    encode_batch: Callable[[list[str]], Any] | None
    decode: Callable[[Any], Any] | None
    ids_of: Callable[[Any], list[int]]
    batch_ids: Callable[[Any], list[list[int]]] | None
    version: str
    decode_batch: Callable[[list[Any]], list[Any]] | None = None
    #: The batch encoder on a given number of threads, for the scaling row (peers that take one).
    encode_batch_threads: Callable[[list[str], int], Any] | None = None
    #: A new encoder with a document cache, where the library makes it optional (llamatok).
    with_document_cache: Callable[[], Callable[[str], Any]] | None = None


def _llamatok(json_path: str, model_path: str) -> Peer:
    import numpy as np

    import llamatok

    tok = llamatok.Tokenizer.from_file(json_path)

    def batch(texts: list[str], threads: int | None = None) -> Any:
        # The zero-copy API: flat uint16 ids plus offsets, read by numpy in place.
        ids, offsets = tok.encode_batch_flat(texts, dtype="uint16", num_threads=threads)
        return np.frombuffer(ids, dtype=np.uint16), np.frombuffer(offsets, dtype=np.uint64)

    def split(result: Any) -> list[list[int]]:
        ids, offsets = result
        return [ids[a:b].tolist() for a, b in zip(offsets[:-1], offsets[1:])]

    return Peer("llamatok", tok.encode, batch, tok.decode, list, split, llamatok.__version__, tok.decode_batch, batch,
                lambda: tok.with_document_cache().encode)


def _sentencepiece(json_path: str, model_path: str) -> Peer:
    import sentencepiece

    sp = sentencepiece.SentencePieceProcessor(model_file=model_path)
    threads = os.cpu_count() or 1
    return Peer(
        "sentencepiece",
        sp.encode,
        lambda texts: sp.encode(texts, num_threads=threads),
        sp.decode,
        list,
        lambda r: r,
        sentencepiece.__version__,
        lambda batch: sp.decode(batch, num_threads=threads),
    )


def _tokenizers(json_path: str, model_path: str) -> Peer:
    import tokenizers

    tok = tokenizers.Tokenizer.from_file(json_path)
    fast = getattr(tok, "encode_batch_fast", tok.encode_batch)
    return Peer(
        "tokenizers",
        lambda t: tok.encode(t, add_special_tokens=False).ids,
        lambda texts: fast(texts, add_special_tokens=False),
        tok.decode,
        list,
        lambda r: [e.ids for e in r],
        tokenizers.__version__,
        tok.decode_batch,
    )


def _tuetoken(json_path: str, model_path: str) -> Peer:
    import tuetoken

    # The transformers-style class reads the config too, so that `<s>` in text is the special token as in
    # transformers (its plain `Tokenizer.encode_ordinary` treats it as text). No batch encoder.
    config = os.path.join(os.path.dirname(json_path), "tokenizer_config.json")
    tok = tuetoken.AutoTokenizer.from_file(json_path, config)
    return Peer(
        "tuetoken",
        lambda t: tok.encode(t, add_special_tokens=False),
        None,
        tok.decode,
        list,
        None,
        tuetoken.__version__,
        tok.batch_decode,
    )


def _splintr(json_path: str, model_path: str) -> Peer:
    import numpy as np
    import splintr

    tok = splintr.from_json(json_path)
    bos = 1  # Code Llama's <s>

    def batch(texts: list[str]) -> Any:
        ids, offsets = tok.encode_batch_flat(texts)
        return np.frombuffer(ids, dtype=np.uint32), np.frombuffer(offsets, dtype=np.uint64)

    def split(result: Any) -> list[list[int]]:
        # Its batch encoders apply the template (a leading <s> per text), which encode_raw does not.
        ids, offsets = result
        rows = [ids[a:b].tolist() for a, b in zip(offsets[:-1], offsets[1:])]
        return [r[1:] if r[:1] == [bos] else r for r in rows]

    from importlib.metadata import version

    # Its decoders drop special ids (skip_special_tokens=True in transformers' terms).
    return Peer("splintr", tok.encode_raw, batch, tok.decode, list, split, version("splintr-rs"), tok.decode_batch)


def _fastokens(json_path: str, model_path: str) -> Peer:
    import fastokens
    import numpy as np

    tok = fastokens.Tokenizer.from_file(json_path)

    def batch(texts: list[str]) -> Any:
        ids, offsets = tok.encode_batch_flat(texts)
        return np.frombuffer(ids, dtype=np.uint32), np.frombuffer(offsets, dtype=np.uint64)

    def split(result: Any) -> list[list[int]]:
        ids, offsets = result
        return [ids[a:b].tolist() for a, b in zip(offsets[:-1], offsets[1:])]

    from importlib.metadata import version

    # fastokens has no decoder of its own (it falls back to tokenizers): not measured.
    # gigatoken has no batch decoder: its single decode is the figure to compare with.
    return Peer("fastokens", lambda t: tok.encode(t).ids, batch, None, list, split, version("fastokens"))


def _gigatoken(json_path: str, model_path: str) -> Peer:
    import gigatoken

    tok = gigatoken.Tokenizer(json_path)
    from importlib.metadata import version

    return Peer(
        "gigatoken",
        tok.encode,
        tok.encode_batch,
        tok.decode,
        lambda r: [int(x) for x in r],
        lambda r: [[int(x) for x in row] for row in r],
        version("gigatoken"),
    )


LOADERS = {
    "llamatok": _llamatok,
    "sentencepiece": _sentencepiece,
    "tokenizers": _tokenizers,
    "fastokens": _fastokens,
    "gigatoken": _gigatoken,
    "tuetoken": _tuetoken,
    "splintr": _splintr,
}

#: Peers that are another version of a library installed beside the benchmark's own: the package goes into
#: its own folder (``pip install --target``), which that peer's worker process puts first on its path.
SIDE_VERSIONS = {"tokenizers-0.23": ("tokenizers", "tokenizers==0.23.3")}


def load(name: str, json_path: str, model_path: str) -> Peer:
    if name in SIDE_VERSIONS:
        peer = LOADERS[SIDE_VERSIONS[name][0]](json_path, model_path)
        peer.name = name
        return peer
    return LOADERS[name](json_path, model_path)
