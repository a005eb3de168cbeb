"""Fill-in-the-middle training documents (docs/infill.md, "Training documents"; Code Llama paper §2.3).

With probability ``rate`` a document is cut at two uniformly random CHARACTER positions into
prefix / middle / suffix and formatted, in Code Llama's layout with probability ``spm_rate`` as SPM,
otherwise as PSM; in Codestral's layout always suffix first, ending with ``</s>``:

    PSM: ▁<PRE> prefix ▁<SUF> suffix ▁<MID> middle ▁<EOT>
    SPM: ▁<PRE> ▁<SUF> suffix ▁<MID> prefix middle ▁<EOT>
    Codestral: [SUFFIX] suffix [PREFIX] prefix middle </s>

The prompt is exactly the inference prompt (``llamatok.infill``: the same layout, each part encoded
the same way: Code Llama's prefix as ``" " + prefix``, Codestral's with the dummy ``▁``, the suffix without
a leading ``▁``), and the middle is encoded without a leading ``▁``, as the model writes it.

The randomness of a document is a pure function of (seed, json key, source, record position), a
counter-based hash (splitmix64) rather than a generator advanced document by document, so it does
not depend on batches, workers, Ray scheduling or where an interrupted run resumed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

_GOLDEN = 0x9E3779B97F4A7C15
_M1 = 0xBF58476D1CE4E5B9
_M2 = 0x94D049BB133111EB
_TO_UNIT = 2.0 ** -53


def mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer on a uint64 array (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        x = x + np.uint64(_GOLDEN)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(_M1)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(_M2)
        mixed: np.ndarray = x ^ (x >> np.uint64(31))
        return mixed


def document_keys(seed: int, key_index: int, source_index: int, positions: np.ndarray) -> np.ndarray:
    """One 64-bit key per document from where it is in the input; the root of its randomness."""
    base = mix64(np.array([seed], dtype=np.uint64))
    base = mix64(base ^ np.uint64(key_index * 0x100000001 + source_index))
    return mix64(base ^ np.asarray(positions, dtype=np.uint64))


def uniforms(keys: np.ndarray, stream: int) -> np.ndarray:
    """A uniform float in [0, 1) per document key, independent for each ``stream``."""
    with np.errstate(over="ignore"):
        h = mix64(keys + np.uint64((stream + 1) * _GOLDEN & 0xFFFFFFFFFFFFFFFF))
    unit: np.ndarray = (h >> np.uint64(11)).astype(np.float64) * _TO_UNIT
    return unit


@dataclass(frozen=True)
class FimSpec:
    rate: float
    spm_rate: float
    seed: int
    prefix_id: int
    suffix_id: int
    middle_id: int  # unused by the Codestral layout, which has no middle token
    eot_id: int  # Codestral: the EOS id
    layout: str = "codellama"  # infill.CODELLAMA or infill.CODESTRAL


PLAIN, PSM, SPM = 0, 1, 2


def plan(spec: FimSpec, key_index: int, source_index: np.ndarray, positions: np.ndarray,
         lengths: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each document: its format (PLAIN, PSM or SPM) and the two cut points (characters).

    ``source_index`` and ``positions`` say where each document is in the input; ``lengths`` are the
    documents' lengths in characters. The cut points are sorted, each uniform on 0..length."""
    source_index = np.asarray(source_index, dtype=np.uint64)
    keys = np.empty(len(positions), dtype=np.uint64)
    for s in np.unique(source_index):
        mask = source_index == s
        keys[mask] = document_keys(spec.seed, key_index, int(s), np.asarray(positions, dtype=np.uint64)[mask])
    n = np.asarray(lengths, dtype=np.float64) + 1.0
    fim = uniforms(keys, 0) < spec.rate
    spm = uniforms(keys, 1) < spec.spm_rate
    kind = np.where(fim, np.where(spm, SPM, PSM), PLAIN).astype(np.int8)
    a = np.floor(uniforms(keys, 2) * n).astype(np.int64)
    b = np.floor(uniforms(keys, 3) * n).astype(np.int64)
    return kind, np.minimum(a, b), np.maximum(a, b)


def split(text: str, lo: int, hi: int) -> tuple[str, str, str]:
    """(prefix, middle, suffix) of ``text`` cut at characters ``lo`` <= ``hi``."""
    return text[:lo], text[lo:hi], text[hi:]

