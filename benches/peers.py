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


def _llamatok(json_path: str, model_path: str) -> Peer:
    import numpy as np

    import llamatok

    tok = llamatok.Tokenizer.from_file(json_path)

    def batch(texts: list[str]) -> Any:
        # The zero-copy API: flat uint16 ids plus offsets, read by numpy in place.
        ids, offsets = tok.encode_batch_flat(texts, dtype="uint16")
        return np.frombuffer(ids, dtype=np.uint16), np.frombuffer(offsets, dtype=np.uint64)

    def split(result: Any) -> list[list[int]]:
        ids, offsets = result
        return [ids[a:b].tolist() for a, b in zip(offsets[:-1], offsets[1:])]

    return Peer("llamatok", tok.encode, batch, tok.decode, list, split, llamatok.__version__, tok.decode_batch)


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
}


def load(name: str, json_path: str, model_path: str) -> Peer:
    return LOADERS[name](json_path, model_path)
