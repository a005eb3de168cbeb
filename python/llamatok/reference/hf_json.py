"""Read a Hugging Face ``tokenizer.json`` holding a Llama-style BPE model.

Only the shape the Llama family uses is accepted; anything else is refused with a ``ModelFileError``
rather than tokenized differently from ``tokenizers``:

- ``model``: ``type`` BPE, ``vocab`` (piece -> id, ids 0..n-1), ``merges`` (``"a b"`` strings or
  ``["a", "b"]`` pairs, rank = position), ``unk_token``, ``byte_fallback``, ``fuse_unk``; no dropout,
  no ``continuing_subword_prefix`` / ``end_of_word_suffix``, no ``ignore_merges``.
- ``normalizer``: ``Prepend("▁")`` (the dummy prefix, optional) then ``Replace(" " -> "▁")``.
- ``pre_tokenizer``: none (the whole text between special tokens is one BPE word).
- ``decoder``: ``Replace("▁" -> " ")``, ``ByteFallback``, ``Fuse``, ``Strip(" ", 1, 0)``.
- ``added_tokens``: matched on the raw text, so ``normalized``, ``lstrip``, ``rstrip`` and
  ``single_word`` must all be false. An added token either names a piece of ``vocab`` with the same
  id, or gets the next id after the vocabulary.
- ``truncation`` and ``padding``: must be null (they would change what ``encode`` returns).
- ``post_processor`` is not read: adding BOS/EOS is the caller's business.

Kinds (there are no piece types in this format): the ``unk_token`` is ``unknown``; added tokens are
``control`` when marked special, else ``user_defined``; the 256 ``<0xXX>`` pieces are ``byte`` when
byte fallback is on; everything else is ``normal``. There are no scores either: every score is 0.0.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ModelFileError
from .pieces import BYTE, CONTROL, NORMAL, SPACE_SYMBOL, UNKNOWN, USER_DEFINED, byte_piece

# The decoder chain of every Llama tokenizer.json, written the way `tokenizers` serializes it.
LLAMA_DECODER = [
    {"type": "Replace", "pattern": {"String": SPACE_SYMBOL}, "content": " "},
    {"type": "ByteFallback"},
    {"type": "Fuse"},
    {"type": "Strip", "content": " ", "start": 1, "stop": 0},
]
PREPEND_SPACE = {"type": "Prepend", "prepend": SPACE_SYMBOL}
REPLACE_SPACE = {"type": "Replace", "pattern": {"String": " "}, "content": SPACE_SYMBOL}


@dataclass(frozen=True)
class HuggingFaceModel:
    """What the reference needs from a ``tokenizer.json``."""

    path: str
    pieces: list[tuple[str, float, str]]  # (text, score, kind); the id is the index
    model_vocab: dict[str, int]  # the BPE model's own vocabulary (added tokens excluded)
    merges: dict[tuple[int, int], tuple[int, int]]  # (left id, right id) -> (rank, merged id)
    unk_id: int | None
    byte_fallback: bool
    fuse_unk: bool
    add_dummy_prefix: bool
    added_tokens: dict[str, int]  # content -> id, all of them
    special_ids: frozenset[int]  # the added tokens marked special


def read_hf_json(path: str | Path) -> HuggingFaceModel:
    """Parse and check a ``tokenizer.json``. Raises FileNotFoundError or ModelFileError."""
    path_str = str(path)
    raw = Path(path).read_bytes()
    try:
        document = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise ModelFileError(path_str, f"not UTF-8 ({error})") from None
    except json.JSONDecodeError as error:
        raise ModelFileError(path_str, f"broken JSON: {error}") from None
    return _Reader(path_str).read(document)


class _Reader:
    def __init__(self, path: str) -> None:
        self.path = path

    def fail(self, problem: str) -> ModelFileError:
        return ModelFileError(self.path, problem)

    def read(self, document: Any) -> HuggingFaceModel:
        if not isinstance(document, dict):
            raise self.fail("the top level is not a JSON object")
        model = document.get("model")
        if not isinstance(model, dict):
            raise self.fail("'model' is missing or not an object: this is not a tokenizer.json")
        for key in ("truncation", "padding"):
            if document.get(key) is not None:
                raise self.fail(f"'{key}' is set; the reference does not truncate or pad")
        if document.get("pre_tokenizer") is not None:
            raise self.fail(f"unsupported pre_tokenizer {_short(document['pre_tokenizer'])}; expected null")
        if document.get("decoder") != {"type": "Sequence", "decoders": LLAMA_DECODER}:
            raise self.fail(
                f"unsupported decoder {_short(document.get('decoder'))}; expected the Llama chain "
                "Replace(▁ -> ' '), ByteFallback, Fuse, Strip(' ', 1, 0)"
            )
        add_dummy_prefix = self.read_normalizer(document.get("normalizer"))

        if model.get("type", "BPE") != "BPE":
            raise self.fail(f"model type is {model.get('type')!r}; only BPE is supported")
        if model.get("dropout") not in (None, 0, 0.0):
            raise self.fail(f"BPE dropout is {model.get('dropout')!r}; only deterministic BPE is supported")
        for key in ("continuing_subword_prefix", "end_of_word_suffix"):
            if model.get(key) not in (None, ""):
                raise self.fail(f"'{key}' is {model.get(key)!r}; it is not supported")
        if model.get("ignore_merges", False) is not False:
            raise self.fail("'ignore_merges' is set; it is not supported")
        byte_fallback = self.read_bool(model, "byte_fallback")
        fuse_unk = self.read_bool(model, "fuse_unk")

        vocab = self.read_vocab(model.get("vocab"))
        texts = [""] * len(vocab)
        for text, i in vocab.items():
            texts[i] = text

        unk_token = model.get("unk_token")
        if unk_token is not None and (not isinstance(unk_token, str) or unk_token not in vocab):
            raise self.fail(f"unk_token {unk_token!r} is not in the vocabulary")
        unk_id = None if unk_token is None else vocab[unk_token]

        byte_ids = {}
        if byte_fallback:
            byte_ids = {b: vocab[byte_piece(b)] for b in range(256) if byte_piece(b) in vocab}
            if len(byte_ids) != 256:
                raise self.fail(f"byte_fallback is on but only {len(byte_ids)} of the 256 byte pieces exist")
        elif unk_id is None:
            raise self.fail(
                "there is neither byte_fallback nor an unk_token: unknown characters would be lost"
            )

        merges = self.read_merges(model.get("merges"), vocab)

        kinds = [NORMAL] * len(vocab)
        for i in byte_ids.values():
            kinds[i] = BYTE
        if unk_id is not None:
            kinds[unk_id] = UNKNOWN

        added_tokens, special_ids = self.read_added_tokens(
            document.get("added_tokens", []), vocab, texts, kinds
        )
        pieces = [(text, 0.0, kind) for text, kind in zip(texts, kinds)]
        return HuggingFaceModel(
            path=self.path,
            pieces=pieces,
            model_vocab=vocab,
            merges=merges,
            unk_id=unk_id,
            byte_fallback=byte_fallback,
            fuse_unk=fuse_unk,
            add_dummy_prefix=add_dummy_prefix,
            added_tokens=added_tokens,
            special_ids=frozenset(special_ids),
        )

    def read_bool(self, model: dict[str, Any], key: str) -> bool:
        value = model.get(key, False)
        if not isinstance(value, bool):
            raise self.fail(f"model '{key}' is {value!r}, expected true or false")
        return value

    def read_normalizer(self, normalizer: Any) -> bool:
        """Returns whether the normalizer prepends the dummy ``▁``."""
        if isinstance(normalizer, dict) and normalizer.get("type") == "Sequence":
            steps = normalizer.get("normalizers")
        else:
            steps = [normalizer]
        if steps == [PREPEND_SPACE, REPLACE_SPACE]:
            return True
        if steps == [REPLACE_SPACE]:
            return False
        raise self.fail(
            f"unsupported normalizer {_short(normalizer)}; expected Prepend('▁') then Replace(' ' -> '▁')"
        )

    def read_vocab(self, vocab: Any) -> dict[str, int]:
        if not isinstance(vocab, dict) or not vocab:
            raise self.fail("model 'vocab' is missing, empty or not an object")
        seen: dict[int, str] = {}
        for text, i in vocab.items():
            if not text:
                raise self.fail("the vocabulary has an empty piece")
            if not isinstance(i, int) or isinstance(i, bool) or not 0 <= i < len(vocab):
                raise self.fail(f"vocabulary id {i!r} of {text!r} is not in 0..{len(vocab) - 1}")
            if i in seen:
                raise self.fail(f"vocabulary id {i} is given to both {seen[i]!r} and {text!r}")
            seen[i] = text
        return dict(vocab)

    def read_merges(self, merges: Any, vocab: dict[str, int]) -> dict[tuple[int, int], tuple[int, int]]:
        if not isinstance(merges, list):
            raise self.fail("model 'merges' is missing or not a list")
        table: dict[tuple[int, int], tuple[int, int]] = {}
        for rank, merge in enumerate(merges):
            if isinstance(merge, str):
                parts = merge.split(" ")
            elif isinstance(merge, list) and all(isinstance(p, str) for p in merge):
                parts = merge
            else:
                raise self.fail(f"merge #{rank} {_short(merge)} is neither 'a b' nor ['a', 'b']")
            if len(parts) != 2:
                raise self.fail(f"merge #{rank} {merge!r} does not have exactly two parts")
            left, right = parts
            for text in (left, right, left + right):
                if text not in vocab:
                    raise self.fail(f"merge #{rank} {merge!r} names {text!r}, which is not in the vocabulary")
            # Like `tokenizers` (a HashMap built in order), a repeated pair keeps its last rank.
            table[(vocab[left], vocab[right])] = (rank, vocab[left + right])
        return table

    def read_added_tokens(
        self, entries: Any, vocab: dict[str, int], texts: list[str], kinds: list[str]
    ) -> tuple[dict[str, int], set[int]]:
        """Checks the added tokens and appends new ones to ``texts``/``kinds``.

        Returns content -> id for all of them, and the ids of those marked special.
        """
        if not isinstance(entries, list):
            raise self.fail("'added_tokens' is not a list")
        checked = []
        for entry in entries:
            i = entry.get("id") if isinstance(entry, dict) else None
            content = entry.get("content") if isinstance(entry, dict) else None
            if not isinstance(i, int) or isinstance(i, bool) or not isinstance(content, str) or not content:
                raise self.fail(
                    f"added token {_short(entry)} needs an integer 'id' and a non-empty 'content'"
                )
            for flag in ("normalized", "lstrip", "rstrip", "single_word"):
                if entry.get(flag, False):
                    raise self.fail(
                        f"added token {content!r} sets '{flag}'; the reference does not implement it"
                    )
            checked.append((i, content, bool(entry.get("special", False))))

        added: dict[str, int] = {}
        special_ids: set[int] = set()
        for i, content, special in sorted(checked):
            if content in added:
                raise self.fail(f"added token {content!r} is listed twice")
            if content in vocab:
                if vocab[content] != i:
                    raise self.fail(
                        f"added token {content!r} has id {i} but the vocabulary gives it {vocab[content]}"
                    )
            elif i == len(texts):
                texts.append(content)
                kinds.append(NORMAL)
            else:
                raise self.fail(f"added token {content!r} has id {i}; the next free id is {len(texts)}")
            if kinds[i] == NORMAL:  # <unk> stays unknown
                kinds[i] = CONTROL if special else USER_DEFINED
            if special:
                special_ids.add(i)
            added[content] = i
        return added, special_ids


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 120 else text[:117] + "..."
