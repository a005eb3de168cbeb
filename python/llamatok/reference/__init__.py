"""The reference tokenizer: the behaviour llamatok reproduces, written as slow, plain Python.

This package is the executable form of the project's specification. It uses the standard library
only, and it is written to be read: each file does one step, and says why. It is slow (the merge loop
rescans every pair after each merge); llamatok's Rust core must give exactly the same ids, and the
tests hold this package to the real libraries (sentencepiece, tokenizers, transformers 4.57).

    >>> from llamatok.reference import load
    >>> tok = load("tokenizer.model")              # or a tokenizer.json
    >>> tok.encode("Hello <s>.")                   # legacy mode (transformers' default)
    [15043, 29871, 1, 869]
    >>> tok.encode("Hello <s>.", mode="literal")   # what sentencepiece does
    [15043, 529, 29879, 15513]
    >>> tok.decode([1, 15043], style="sentencepiece"), tok.decode([1, 15043])
    ('Hello', '<s> Hello')

Where each step lives:

``model_proto.py``
    Reads a SentencePiece ``tokenizer.model`` (a protobuf ``ModelProto``) with a hand-written wire
    reader, and refuses what is out of scope (non-BPE models, normalization maps).
``hf_json.py``
    Reads a Hugging Face ``tokenizer.json`` with a BPE model, and refuses other shapes.
``pieces.py``
    The vocabulary both readers produce: ``(text, score, kind)`` per id; byte-piece names.
``normalize.py``
    Text -> normalized text: the dummy ``▁`` in front, every space -> ``▁`` (nothing else for Llama).
``bpe.py``
    Normalized text -> ids: sentencepiece's merge loop (highest piece score first, leftmost on ties)
    for a ``tokenizer.model``; ``tokenizers``' (lowest merge rank first) for a ``tokenizer.json``;
    byte fallback for characters without a piece. On the Code Llama files both give the same ids.
``special.py``
    Special-token strings (``<s>``, ``</s>``, ``<unk>``, ``▁<PRE>`` ...) inside the text, in the three
    modes ``legacy`` (transformers 4.x fast tokenizer), ``non_legacy`` (transformers' slow tokenizer
    with ``legacy=False``) and ``literal`` (sentencepiece: they are plain text).
``decode.py``
    Ids -> text in sentencepiece's style and in transformers' style.
``tokenizer.py``
    ``load`` and ``ReferenceTokenizer``, tying the steps together and checking arguments.

Errors: a missing file raises ``FileNotFoundError``; a malformed, truncated or unsupported one raises
``ModelFileError`` (a ``ValueError``) whose message starts with the path. Text that is not a ``str``
raises ``TypeError``; an id outside the vocabulary raises ``ValueError``.
"""

from .errors import ModelFileError
from .tokenizer import ReferenceTokenizer, load

__all__ = ["ModelFileError", "ReferenceTokenizer", "load"]
