"""``save_pretrained``: the files transformers 4.x and ``tokenizers`` load back into the same tokenizer.

- ``tokenizer.json``: the loaded file with its added tokens and post-processor brought up to date (the
  special tokens matched in text, ``<s>``/``</s>`` per ``add_bos_token``/``add_eos_token``); for a
  tokenizer loaded from a ``tokenizer.model``, built from its pieces with merges ranked by
  (score descending, id ascending), the order that reproduces SentencePiece (SPEC §2).
- ``tokenizer.model``: the SentencePiece file, when the tokenizer was loaded from one (or next to one).
- ``tokenizer_config.json`` and ``special_tokens_map.json``: the settings and special tokens.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple

if TYPE_CHECKING:
    from llamatok.code_llama import CodeLlamaTokenizerFast

SPACE = "\u2581"
MERGEABLE = ("normal", "user_defined", "unused")


def dump_json(obj: Any) -> bytes:
    return (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def is_json_source(source: bytes) -> bool:
    return source.lstrip()[:1] == b"{"


def added_token(token_id: int, content: str) -> Dict[str, Any]:
    return {"id": token_id, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
            "normalized": False, "special": True}


def post_processor(bos: Optional[Tuple[str, int]], eos: Optional[Tuple[str, int]]) -> Dict[str, Any]:
    """A ``TemplateProcessing`` for ``[<s>] $A [</s>]`` / ``[<s>] $A [</s>] [<s>] $B [</s>]``
    (``bos``/``eos`` None when their flag is off), as transformers' ``update_post_processor`` builds it."""
    def half(seq: str, type_id: int) -> List[Dict[str, Any]]:
        out = [{"SpecialToken": {"id": bos[0], "type_id": type_id}}] if bos else []
        out.append({"Sequence": {"id": seq, "type_id": type_id}})
        if eos:
            out.append({"SpecialToken": {"id": eos[0], "type_id": type_id}})
        return out

    specials = {t: {"id": t, "ids": [i], "tokens": [t]} for t, i in (x for x in (bos, eos) if x)}
    return {"type": "TemplateProcessing", "single": half("A", 0), "pair": half("A", 0) + half("B", 1),
            "special_tokens": specials}


def score_ranked_merges(pieces: Sequence[Tuple[str, float, str]]) -> List[str]:
    """Every split of every mergeable piece into two mergeable pieces, ranked by the merged piece's score
    (descending), then its id, then the left and right ids."""
    ids = {text: i for i, (text, _, kind) in enumerate(pieces) if kind in MERGEABLE}
    ranked = []
    for i, (text, score, kind) in enumerate(pieces):
        if kind not in MERGEABLE:
            continue
        for k in range(1, len(text)):
            left, right = text[:k], text[k:]
            if left in ids and right in ids:
                ranked.append((-score, i, ids[left], ids[right], left, right))
    ranked.sort()
    return [f"{left} {right}" for *_, left, right in ranked]


def json_from_pieces(tok: "CodeLlamaTokenizerFast") -> Dict[str, Any]:
    """A ``tokenizer.json`` for a tokenizer read from a SentencePiece ``tokenizer.model``."""
    core = tok._core
    pieces = core.pieces()
    normalizers: List[Dict[str, Any]] = [{"type": "Replace", "pattern": {"String": " "}, "content": SPACE}]
    decoders: List[Dict[str, Any]] = [{"type": "Replace", "pattern": {"String": SPACE}, "content": " "}]
    if core.byte_fallback:
        decoders.append({"type": "ByteFallback"})
    decoders.append({"type": "Fuse"})
    if core.add_dummy_prefix:
        normalizers.insert(0, {"type": "Prepend", "prepend": SPACE})
        decoders.append({"type": "Strip", "content": " ", "start": 1, "stop": 0})
    unk = core.unk_id
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [],
        "normalizer": {"type": "Sequence", "normalizers": normalizers},
        "pre_tokenizer": None,
        "post_processor": None,
        "decoder": {"type": "Sequence", "decoders": decoders},
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": None if unk is None else pieces[unk][0],
            "continuing_subword_prefix": None,
            "end_of_word_suffix": None,
            "fuse_unk": True,
            "byte_fallback": bool(core.byte_fallback),
            "vocab": {text: i for i, (text, _, _) in enumerate(pieces)},
            "merges": score_ranked_merges(pieces),
        },
    }


def tokenizer_json(tok: "CodeLlamaTokenizerFast") -> Dict[str, Any]:
    source = tok._core.to_bytes()
    data = json.loads(source) if is_json_source(source) else json_from_pieces(tok)
    data["added_tokens"] = [added_token(i, t) for t, i in sorted(tok._core.special_tokens, key=lambda x: x[1])]
    bos = (tok.bos_token, tok.bos_token_id) if tok.add_bos_token else None
    eos = (tok.eos_token, tok.eos_token_id) if tok.add_eos_token else None
    data["post_processor"] = post_processor(bos, eos)  # type: ignore[arg-type]
    return data


def _token_dict(content: str) -> Dict[str, Any]:
    return {"content": content, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False}


def extra_special_tokens(tok: "CodeLlamaTokenizerFast") -> List[str]:
    """The additional special tokens besides the infill tokens, which the constructor adds itself
    (transformers lists them twice after loading a config that names them)."""
    infill = (tok.prefix_token, tok.middle_token, tok.suffix_token, tok.eot_token)
    return [t for t in tok.additional_special_tokens if t not in infill]


def special_tokens_map(tok: "CodeLlamaTokenizerFast") -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    extra = extra_special_tokens(tok)
    if extra:
        out["additional_special_tokens"] = extra
    for name in ("bos_token", "eos_token", "pad_token", "unk_token"):
        value = getattr(tok, name)
        if value is not None:
            out[name] = _token_dict(value)
    return out


def tokenizer_config(tok: "CodeLlamaTokenizerFast") -> Dict[str, Any]:
    config: Dict[str, Any] = dict(tok.init_kwargs)
    config.update({
        "add_bos_token": tok.add_bos_token,
        "add_eos_token": tok.add_eos_token,
        "added_tokens_decoder": {
            str(i): {k: v for k, v in added_token(i, t).items() if k != "id"}
            for t, i in sorted(tok._core.special_tokens, key=lambda x: x[1])
        },
        "additional_special_tokens": extra_special_tokens(tok),
        "bos_token": tok.bos_token,
        "clean_up_tokenization_spaces": tok.clean_up_tokenization_spaces,
        "eos_token": tok.eos_token,
        "eot_token": tok.eot_token,
        "fill_token": tok.fill_token,
        "legacy": tok.legacy,
        "middle_token": tok.middle_token,
        "model_max_length": tok.model_max_length,
        "pad_token": tok.pad_token,
        "padding_side": tok.padding_side,
        "prefix_token": tok.prefix_token,
        "suffix_token": tok.suffix_token,
        "tokenizer_class": "CodeLlamaTokenizer",
        "truncation_side": tok.truncation_side,
        "unk_token": tok.unk_token,
        "use_default_system_prompt": tok.use_default_system_prompt,
    })
    if tok.split_special_tokens:
        config["split_special_tokens"] = True
    if tok.suffix_first:
        config["suffix_first"] = True
    return dict(sorted(config.items()))


def save(tok: "CodeLlamaTokenizerFast", folder: "os.PathLike[str] | str", filename_prefix: Optional[str] = None) -> Tuple[str, ...]:
    """Writes the files into ``folder`` (created if needed); returns their paths."""
    out = Path(os.fspath(folder))
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"save_pretrained needs a folder, and {out} is a file")
    out.mkdir(parents=True, exist_ok=True)
    prefix = f"{filename_prefix}-" if filename_prefix else ""
    written = []
    for name, data in (
        ("tokenizer_config.json", tokenizer_config(tok)),
        ("special_tokens_map.json", special_tokens_map(tok)),
        ("tokenizer.json", tokenizer_json(tok)),
    ):
        path = out / (prefix + name)
        path.write_bytes(dump_json(data))
        written.append(str(path))
    model_path = out / (prefix + "tokenizer.model")
    source = tok._core.to_bytes()
    if not is_json_source(source):
        model_path.write_bytes(source)
        written.append(str(model_path))
    elif tok.vocab_file and os.path.isfile(tok.vocab_file):
        if os.path.abspath(tok.vocab_file) != os.path.abspath(model_path):
            shutil.copyfile(tok.vocab_file, model_path)
        written.append(str(model_path))
    return tuple(written)
