"""``--format npy``: OLMo-core's numpy token files, as dolma's tokenizer writes them
(docs/shards.md, "npy").

- ``BASE.npy``: every document's ids one after the other, a flat array of ``uint16`` (vocabularies
  under 65536 ids) or ``uint32``, with no header: OLMo-core memory-maps it with ``np.memmap`` and
  the dtype it is told, and splits documents at the EOS id (so use ``--append-eod``).
- ``BASE.csv.gz``: dolma's metadata beside it, one line per document: ``start,end,id,src,loc``
  (token offsets in the ``.npy``, end exclusive; the document's number in the run; where it came
  from is left empty). It records the boundaries of documents without an EOS too; a document with
  no ids has no line (OLMo-core refuses one that starts at the end of the array).
- ``BASE.label_mask.npy`` with FIM: one ``bool`` per id, True where the model learns the id
  (encode.py), what OLMo-core's ``label_mask_paths`` take.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from llamatok._native import NpyMetadata
from llamatok.preprocess import storage
from llamatok.preprocess.writers.base import FormatWriter, TmpNamer, WriterSpec


class NpyWriter(FormatWriter):
    name = "npy"
    stores_ids_flat = True

    def __init__(self, base: str, spec: WriterSpec, tmp: TmpNamer, **options: Any) -> None:
        super().__init__(base, spec, tmp, **options)
        self._ids = self._ids_file(base + ".npy")
        self._meta_sink = self._file(base + ".csv.gz")
        # Lines formatted and gzipped by the core, each byte Huffman-coded without looking for repeats:
        # Python's formatting and gzip, and even libdeflate's fastest level, cost a large part of the
        # encoding's CPU on corpora of short documents (benches/results/notes.md, sessions 19, 20 and 30).
        # The file is a series of gzip members cut at fixed offsets of its text, so the same documents
        # give the same bytes.
        self._meta = NpyMetadata()
        self._mask = self._file(base + ".label_mask.npy") if spec.loss_masks else None

    @classmethod
    def outputs(cls, base: str, loss_masks: bool = False) -> dict[str, str]:
        masks = {"label_mask": base + ".label_mask.npy"} if loss_masks else {}
        return {"npy": base + ".npy", "metadata": base + ".csv.gz", **masks}

    def add(self, ids: np.ndarray, lengths: np.ndarray, learned: np.ndarray | None = None) -> None:
        self._write_ids(self._ids, ids, self.tokens)
        if self._mask is not None:
            self._mask.write(self._learned(ids, learned))
        # The core numbers the documents and finds their offsets from the lengths.
        self._meta_sink.write(self._meta.add(np.ascontiguousarray(lengths, dtype="<u8").tobytes(), self.tokens,
                                             self.documents))
        self.documents += len(lengths)
        self.tokens += int(len(ids))

    def _finish(self) -> list[tuple[storage.AtomicWriter, str]]:
        self._meta_sink.write(self._meta.finish())
        self._ids.commit()
        self._meta_sink.commit()
        done = [(self._ids, "npy"), (self._meta_sink, "npy-metadata")]
        if self._mask is not None:
            self._mask.commit()
            done.append((self._mask, "npy-label-mask"))
        return done

