"""llamatok's own addition to the transformers-style class: the optional document cache of the Rust
core (``Tokenizer.with_document_cache``; README, "Memory"), for jobs that encode the same texts again."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from llamatok._native import Tokenizer


class DocCacheMixin:
    """``enable_document_cache`` and ``document_cache_bytes``."""

    _core: Tokenizer

    def enable_document_cache(self, max_bytes: int | None = None) -> None:
        """Keeps the ids of texts of 1 KiB to ``max_bytes / 16`` that ``encode`` and ``__call__`` encode one at
        a time, at most ``max_bytes`` of texts and ids (None: the core's default, 64 MiB; 0 turns the cache
        off), so that encoding one of them again copies its ids: for an epoch loop that tokenizes its dataset
        on the fly. Off by default (a first pass pays for the copies); the ids are the same either way.
        Pickled copies keep the setting, not the entries."""
        core = self._core
        self._core = core.with_document_cache() if max_bytes is None else core.with_document_cache(max_bytes)

    @property
    def document_cache_bytes(self) -> int:
        """The document cache's capacity in bytes (0: off)."""
        return self._core.document_cache_bytes
