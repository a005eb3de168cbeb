"""``DecodeStream``: the streaming decoder of ``tokenizers`` 0.22 (``tokenizers.decoders.DecodeStream``),
same constructor, same ``step``, same chunks, over llamatok's decoder.

Serving code written for ``tokenizers`` changes its import and nothing else::

    stream = DecodeStream(ids=prompt_ids, skip_special_tokens=True)   # prefill: the prompt's ids
    for token_id in generated:
        chunk = stream.step(tokenizer, token_id)   # a str, or None while the text is not final
        if chunk is not None:
            send(chunk)

``tokenizer`` is a ``CodeLlamaTokenizerFast`` or its ``backend_tokenizer`` (the core), as ``tokenizers``
takes its ``Tokenizer``. The chunks are those ``tokenizers`` gives, by its rule: decode the ids of the
current window; when that text is longer than the window's text before the new ids and does not end with
U+FFFD (a byte-fallback character still incomplete), the difference is the chunk, and the window moves on
to start at the ids that followed the previous window. With a prefill, the prompt's text is the first
window's text, so the first chunk is only new text. (``decode_stream()`` is llamatok's own streaming
decoder, which also flushes an unfinished character at the end; this class reproduces ``tokenizers``.)
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any, Protocol

from llamatok.token_ids import one_id

REPLACEMENT = "\ufffd"


class _Decodes(Protocol):
    def decode(self, ids: Any, style: Any = ..., skip_special_tokens: bool = ...) -> str: ...


class DecodeStreamError(ValueError):
    """The text of the window no longer starts with the text decoded before (``tokenizers``' InvalidPrefix)."""


def _decoder(tokenizer: Any) -> _Decodes:
    """The core of a ``CodeLlamaTokenizerFast``, or the core itself."""
    core = getattr(tokenizer, "backend_tokenizer", tokenizer)
    from llamatok._native import Tokenizer

    if not isinstance(core, Tokenizer):
        raise TypeError(
            f"DecodeStream.step takes a llamatok CodeLlamaTokenizerFast or llamatok.Tokenizer, not "
            f"{type(tokenizer).__name__}"
        )
    return core


class DecodeStream:
    """``tokenizers.decoders.DecodeStream``: ``DecodeStream(ids=None, skip_special_tokens=False)``, then
    ``step(tokenizer, id_or_ids)`` per generated id (or list of ids). Not thread-safe (one per stream);
    ``copy.copy`` forks a stream, as in ``tokenizers``."""

    def __init__(self, ids: Sequence[int] | None = None, skip_special_tokens: bool = False) -> None:
        self._skip = bool(skip_special_tokens)
        self._ids: list[int] = [one_id(i) for i in ids] if ids is not None else []
        self._prefix = ""
        self._prefix_index = 0

    def _decode(self, core: _Decodes, ids: list[int]) -> str:
        return core.decode(ids, "transformers", self._skip)

    def step(self, tokenizer: Any, id: int | Sequence[int]) -> str | None:
        """Adds one id (or a list of ids); returns the text that became final, or None when there is none yet."""
        core = _decoder(tokenizer)
        given = id.tolist() if hasattr(id, "tolist") else id  # numpy arrays and tensors
        new = [one_id(i) for i in given] if isinstance(given, (list, tuple)) else [one_id(given)]
        if not self._prefix and self._ids:
            # The prefill (or a window whose text was still incomplete): its text is what was already shown.
            text = self._decode(core, self._ids)
            if not text.endswith(REPLACEMENT):
                self._prefix, self._prefix_index = text, len(self._ids)
        self._ids.extend(new)
        text = self._decode(core, self._ids)
        # tokenizers compares lengths in UTF-8 bytes.
        if len(text.encode("utf-8")) <= len(self._prefix.encode("utf-8")) or text.endswith(REPLACEMENT):
            return None
        if not text.startswith(self._prefix):
            raise DecodeStreamError(
                f"the text decoded so far {text!r} does not start with the text decoded before {self._prefix!r} "
                f"(after id {self._ids[-1]}); start a new DecodeStream"
            )
        chunk = text[len(self._prefix):]
        start = len(self._ids) - self._prefix_index
        self._ids = self._ids[self._prefix_index:]
        self._prefix = self._decode(core, self._ids)
        self._prefix_index = start
        return chunk

    def __copy__(self) -> DecodeStream:
        other = DecodeStream.__new__(DecodeStream)
        other.__dict__.update(self.__dict__)
        other._ids = list(self._ids)
        return other

    def __deepcopy__(self, memo: dict[int, Any]) -> DecodeStream:
        return copy.copy(self)
