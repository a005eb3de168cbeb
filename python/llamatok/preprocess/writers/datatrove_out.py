"""``--format datatrove``: the files datatrove's ``DocumentTokenizer`` writes and nanotron trains
on through datatrove's ``DatatroveFolderDataset`` (docs/shards.md, "datatrove").

- ``BASE.ds``: every document's ids one after the other, ``uint16`` (2-byte tokens) or ``uint32``
  (4-byte tokens, pass ``token_size=4`` to the dataset);
- ``BASE.ds.index``: one little-endian ``uint64`` per document, the token position where it ends
  (exclusive), which the dataset reads to give position ids that restart at every document;
- ``BASE.ds.loss`` with FIM: one byte (bool) per id, 1 where the model learns the id
  (encode.py), as datatrove's ``save_loss_metadata`` writes it;
- ``BASE.ds.metadata``: the tokenizer's name, the token count and the count written for people
  (``1.2MT``), one per line.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from llamatok.preprocess import storage
from llamatok.preprocess.writers.base import FormatWriter, TmpNamer, WriterSpec


def _metric(count: int) -> str:
    """The count as ``humanize.metric(count, unit="T")`` writes it (three significant digits)."""
    for power, prefix in ((12, "T"), (9, "G"), (6, "M"), (3, "k")):
        if count >= 10 ** power:
            value = count / 10 ** power
            digits = max(0, 2 - len(str(int(value))) + 1)
            return f"{value:.{digits}f} {prefix}T"
    return f"{count} T"


class DatatroveWriter(FormatWriter):
    name = "datatrove"
    stores_ids_flat = True

    def __init__(self, base: str, spec: WriterSpec, tmp: TmpNamer, **options: Any) -> None:
        super().__init__(base, spec, tmp, **options)
        self._ids = self._ids_file(base + ".ds")
        self._index = self._file(base + ".ds.index")
        self._loss = self._file(base + ".ds.loss") if spec.loss_masks else None

    @classmethod
    def outputs(cls, base: str, loss_masks: bool = False) -> dict[str, str]:
        masks = {"loss": base + ".ds.loss"} if loss_masks else {}
        return {"ds": base + ".ds", "index": base + ".ds.index", "metadata": base + ".ds.metadata", **masks}

    def add(self, ids: np.ndarray, lengths: np.ndarray, learned: np.ndarray | None = None) -> None:
        self._write_ids(self._ids, ids, self.tokens)
        if self._loss is not None:
            self._loss.write(self._learned(ids, learned))
        ends = np.cumsum(np.asarray(lengths, dtype=np.int64)) + self.tokens
        self._index.write(ends.astype("<u8"))
        self.documents += len(ends)
        self.tokens += int(len(ids))

    def _finish(self) -> list[tuple[storage.AtomicWriter, str]]:
        meta = self._file(self.base + ".ds.metadata")
        name = self.spec.tokenizer_name or "unknown tokenizer"
        meta.write("\n".join([name, str(self.tokens), _metric(self.tokens)]).encode("utf-8"))
        done = [(self._ids, "ds"), (self._index, "ds-index"), (meta, "ds-metadata")]
        if self._loss is not None:
            done.insert(2, (self._loss, "ds-loss"))
        for f, _ in done:
            f.commit()
        return done
