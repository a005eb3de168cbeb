"""``save_pretrained``: the files transformers 4.x and ``tokenizers`` load back into the same tokenizer.

- ``tokenizer.json``: the loaded file with its added tokens and post-processor brought up to date (the
  special tokens matched in text, ``<s>``/``</s>`` per ``add_bos_token``/``add_eos_token``); for a
  tokenizer loaded from a ``tokenizer.model``, built from its pieces with merges ranked by
  (score descending, id ascending), the order that reproduces SentencePiece (docs/encoding.md).
- ``tokenizer.model``: the SentencePiece file, when the tokenizer was loaded from one (or next to one).
- ``tokenizer_config.json`` and ``special_tokens_map.json``: the settings and special tokens.

Everything is read from the core (its model file and matched tokens) and a
:class:`~llamatok.settings.Settings` snapshot.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llamatok.constants import SPIECE_UNDERLINE as SPACE
from llamatok.settings import Settings

if TYPE_CHECKING:
    from llamatok._native import Tokenizer

MERGEABLE = ("normal", "user_defined", "unused")


def dump_json(obj: Any) -> bytes:
    return (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def is_json_source(source: bytes) -> bool:
    return source.lstrip()[:1] == b"{"


#: An added token's flags by id, as ``CodeLlamaTokenizerFast.added_tokens_flags`` gives them.
AddedFlags = dict[int, dict[str, Any]]


def added_token(token_id: int, flags: dict[str, Any]) -> dict[str, Any]:
    """One entry of ``tokenizer.json``'s ``added_tokens``, in ``tokenizers``' key order."""
    return {"id": token_id, "content": flags["content"], "single_word": flags["single_word"],
            "lstrip": flags["lstrip"], "rstrip": flags["rstrip"], "normalized": flags["normalized"],
            "special": flags["special"]}


def post_processor(bos: tuple[str, int] | None, eos: tuple[str, int] | None) -> dict[str, Any]:
    """A ``TemplateProcessing`` for ``[<s>] $A [</s>]`` / ``[<s>] $A [</s>] [<s>] $B [</s>]``
    (``bos``/``eos`` None when their flag is off), as transformers' ``update_post_processor`` builds it."""
    def half(seq: str, type_id: int) -> list[dict[str, Any]]:
        out = [{"SpecialToken": {"id": bos[0], "type_id": type_id}}] if bos else []
        out.append({"Sequence": {"id": seq, "type_id": type_id}})
        if eos:
            out.append({"SpecialToken": {"id": eos[0], "type_id": type_id}})
        return out

    specials = {t: {"id": t, "ids": [i], "tokens": [t]} for t, i in (x for x in (bos, eos) if x)}
    return {"type": "TemplateProcessing", "single": half("A", 0), "pair": half("A", 0) + half("B", 1),
            "special_tokens": specials}


def score_ranked_merges(pieces: Sequence[tuple[str, float, str]]) -> list[str]:
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


def json_from_pieces(core: Tokenizer) -> dict[str, Any]:
    """A ``tokenizer.json`` for a tokenizer read from a SentencePiece ``tokenizer.model``."""
    pieces = core.pieces()
    normalizers: list[dict[str, Any]] = [{"type": "Replace", "pattern": {"String": " "}, "content": SPACE}]
    decoders: list[dict[str, Any]] = [{"type": "Replace", "pattern": {"String": SPACE}, "content": " "}]
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


def _special(core: Tokenizer, token: str | None, on: bool) -> tuple[str, int] | None:
    if not on or token is None:
        return None
    token_id = core.piece_to_id(token)
    return None if token_id is None else (token, token_id)


def tokenizer_json(core: Tokenizer, settings: Settings, added: AddedFlags) -> dict[str, Any]:
    source = core.to_bytes()
    data = json.loads(source) if is_json_source(source) else json_from_pieces(core)
    if is_json_source(source):  # the model's vocabulary only: added ids past it are in added_tokens
        vocab = data["model"]["vocab"]
        data["model"]["vocab"] = {t: i for t, i in vocab.items() if i < core.vocab_size}
    data["added_tokens"] = [added_token(i, flags) for i, flags in sorted(added.items())]
    bos = _special(core, settings.bos_token, settings.add_bos_token)
    eos = _special(core, settings.eos_token, settings.add_eos_token)
    data["post_processor"] = post_processor(bos, eos)
    return data


def _token_dict(content: str) -> dict[str, Any]:
    return {"content": content, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False}


def extra_special_tokens(settings: Settings) -> list[str]:
    """The additional special tokens besides the infill tokens, which the constructor adds itself
    (transformers lists them twice after loading a config that names them)."""
    infill = (settings.prefix_token, settings.middle_token, settings.suffix_token, settings.eot_token)
    return [t for t in settings.additional_special_tokens if t not in infill]


def special_tokens_map(settings: Settings) -> dict[str, Any]:
    out: dict[str, Any] = {}
    extra = extra_special_tokens(settings)
    if extra:
        out["additional_special_tokens"] = extra
    for name in ("bos_token", "cls_token", "eos_token", "mask_token", "pad_token", "sep_token", "unk_token"):
        value = getattr(settings, name)
        if value is not None:
            out[name] = _token_dict(value)
    return out


def tokenizer_config(settings: Settings, added: AddedFlags) -> dict[str, Any]:
    config: dict[str, Any] = dict(settings.init_kwargs)
    config.update({
        "add_bos_token": settings.add_bos_token,
        "add_eos_token": settings.add_eos_token,
        "added_tokens_decoder": {str(i): dict(sorted(flags.items())) for i, flags in sorted(added.items())},
        "additional_special_tokens": extra_special_tokens(settings),
        "bos_token": settings.bos_token,
        "clean_up_tokenization_spaces": settings.clean_up_tokenization_spaces,
        "eos_token": settings.eos_token,
        "eot_token": settings.eot_token,
        "fill_token": settings.fill_token,
        "legacy": settings.legacy,
        "middle_token": settings.middle_token,
        "model_max_length": settings.model_max_length,
        "pad_token": settings.pad_token,
        "padding_side": settings.padding_side,
        "prefix_token": settings.prefix_token,
        "suffix_token": settings.suffix_token,
        "tokenizer_class": "CodeLlamaTokenizer",
        "truncation_side": settings.truncation_side,
        "unk_token": settings.unk_token,
        "use_default_system_prompt": settings.use_default_system_prompt,
    })
    for name in ("sep_token", "cls_token", "mask_token"):  # Code Llama has none: written only when set
        if getattr(settings, name) is not None:
            config[name] = getattr(settings, name)
    if settings.split_special_tokens:
        config["split_special_tokens"] = True
    if settings.suffix_first:
        config["suffix_first"] = True
    return dict(sorted(config.items()))


def save(core: Tokenizer, settings: Settings, vocab_file: str | None, folder: os.PathLike[str] | str,
         filename_prefix: str | None = None, legacy_format: bool | None = None,
         added: AddedFlags | None = None) -> tuple[str, ...]:
    """Writes the files into ``folder`` (created if needed) as transformers' fast tokenizers do, and returns
    transformers' list of them: the two configs; with ``legacy_format`` None or True and a SentencePiece
    file (the source, or ``vocab_file`` beside it), ``tokenizer.model`` and ``added_tokens.json`` (listed
    always, written when some added id is past the model's vocabulary); with ``legacy_format`` None or
    False, ``tokenizer.json``."""
    out = Path(os.fspath(folder))
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"save_pretrained needs a folder, and {out} is a file")
    out.mkdir(parents=True, exist_ok=True)
    added = added if added is not None else {}
    prefix = f"{filename_prefix}-" if filename_prefix else ""
    written = []
    for name, data in (
        ("tokenizer_config.json", tokenizer_config(settings, added)),
        ("special_tokens_map.json", special_tokens_map(settings)),
    ):
        path = out / (prefix + name)
        path.write_bytes(dump_json(data))
        written.append(str(path))
    source = core.to_bytes()
    has_model = not is_json_source(source) or bool(vocab_file and os.path.isfile(vocab_file))
    if legacy_format in (None, True) and has_model:
        model_path = out / (prefix + "tokenizer.model")
        if not is_json_source(source):
            model_path.write_bytes(source)
        elif vocab_file is not None and os.path.abspath(vocab_file) != os.path.abspath(model_path):
            shutil.copyfile(vocab_file, model_path)
        added_path = out / (prefix + "added_tokens.json")
        past = {flags["content"]: i for i, flags in added.items() if i >= core.vocab_size}
        if past:
            added_path.write_text(json.dumps(past, indent=2, sort_keys=True, ensure_ascii=False) + "\n",
                                  encoding="utf-8")
        written += [str(model_path), str(added_path)]
    if legacy_format in (None, False):
        path = out / (prefix + "tokenizer.json")
        path.write_bytes(dump_json(tokenizer_json(core, settings, added)))
        written.append(str(path))
    return tuple(written)
