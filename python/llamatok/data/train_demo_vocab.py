#!/usr/bin/env python3
"""Build llamatok's built-in DEMO vocabulary (``python/llamatok/data/demo/``) and check it.

The demo vocabulary lets the package and its tests run on any machine without Meta's files. It is NOT the
vocabulary of any model: its ids mean nothing to Code Llama or to any other network. It has the same *shape*
as Code Llama's vocabulary, so every code path of the tokenizer is exercised:

- ids 0 ``<unk>`` (UNKNOWN), 1 ``<s>``, 2 ``</s>`` (CONTROL), 3..258 ``<0x00>``..``<0xFF>`` (BYTE), then the
  NORMAL pieces learned by sentencepiece's BPE trainer, scored ``-(id - 259)``;
- every piece made only of ``▁`` scores ``-1e9``, as in Llama 2 (sentencepiece's trainer does not do this by
  itself; Meta's model has it, and the encoder must break the resulting ties the way sentencepiece does);
- Code Llama's sixteen infill pieces appended after the trained vocabulary, in Code Llama's order, as NORMAL
  pieces scoring ``-1e9`` (evidence below).

Training text: the ``.py`` sources of the running Python's own standard library (PSF license), found through
``sysconfig``, every UTF-8 file in sorted order (minus build-generated files), one sentence per non-empty line.
The trainer runs single-threaded on unshuffled input, so a rerun on the same Python gives the same bytes.
We train on all files rather than a subset: with every other file, for example, ``SU`` is not learned and the
pieces ``▁<SU``, ``▁<SUF``, ``▁<SUF>`` could not come out of text, unlike in Code Llama.

Why the infill pieces are NORMAL pieces scoring -1e9 (re-derive it with ``--evidence FIXTURES``):

1. The Hub's Code Llama ``tokenizer.json`` ranks its 61260 merges by (score of the merged piece descending,
   id of the merged piece ascending); within one piece by left id, then right id. Its last 131 merges are
   the 120 merges that build ``▁``-only pieces (score -1e9, ids 259..29871) followed by 11 merges building
   ids 32000..32010 in id order. A piece scoring above -1e9 (0 for a user-defined piece, or continuing the
   ``-(id - 259)`` sequence, -31741..) would rank BEFORE the ``▁``-only merges; so their score is -1e9
   (equal scores fall back to id order, which is what the file shows).
2. The real Code Llama ``tokenizer.model`` is 500058 bytes, Llama 2's is 499723: 335 more bytes. Sixteen
   ``SentencePiece`` messages with a piece string (191 UTF-8 bytes in all) and a score, and WITHOUT a type
   field, take 191 + 16 * 9 = 335 bytes; with any explicit type (CONTROL, USER_DEFINED, even NORMAL written
   out) it would be 367. An absent type means NORMAL. So they are ordinary pieces that BPE merges can
   produce (``" <E1"`` gives ``▁<E``), not control or user-defined tokens. (This assumes the rest of the
   file kept its size; Llama 2's model plus these pieces does not reproduce Code Llama's sha256, so some
   bytes elsewhere differ, e.g. a trainer_spec string of the same length.)
3. transformers' Code Llama tokenizer adds ``▁<PRE>``, ``▁<SUF>``, ``▁<MID>``, ``▁<EOT>`` as special tokens
   itself at load time; the Hub ``tokenizer.json`` lists only ``<unk>``, ``<s>``, ``</s>`` as added tokens.

The merges of ``tokenizer.json``: the Hub file lists, for every piece, EVERY split of it into two vocabulary
pieces (61260 merges = exactly all such splits of the 29623 pieces that have one; e.g. 15 merges produce
``▁`` * 16), never a split that uses a byte or control piece. We build ours the same way with our own code.

Usage (from the repository root)::

    python python/llamatok/data/train_demo_vocab.py          # train, write the demo folder, then check it
    python python/llamatok/data/train_demo_vocab.py --check  # only check the committed demo folder

Training needs ``sentencepiece``, ``protobuf`` and llamatok itself installed (its ``saving`` module ranks
the merges); the check also uses ``tokenizers`` and, if installed, ``transformers`` 4.x. None of them is a
runtime dependency of llamatok.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import platform
import random
import re
import sys
import sysconfig
from pathlib import Path

DEMO_DIR = Path(__file__).resolve().parent / "demo"

# Trained vocabulary size (meta + byte + learned pieces); the infill pieces come on top, like Code Llama's
# 32000 + 16. 8000 pieces give a tokenizer.model of about 120 KB.
VOCAB_SIZE = 8000

# Llama 2's TrainerSpec, as stored in Meta's tokenizer.model, with the changes needed for a small,
# reproducible demo marked. Options that only the unigram trainer reads are kept as Llama has them.
TRAINER_OPTIONS = {
    "model_type": "bpe",
    "vocab_size": VOCAB_SIZE,  # Llama 2: 32000
    "character_coverage": 0.99995,
    "byte_fallback": True,
    "normalization_rule_name": "identity",
    "add_dummy_prefix": True,
    "remove_extra_whitespaces": False,
    "split_digits": True,
    "allow_whitespace_only_pieces": True,
    "split_by_unicode_script": True,
    "split_by_whitespace": True,
    "split_by_number": True,
    "treat_whitespace_as_suffix": False,
    "max_sentencepiece_length": 16,
    "max_sentence_length": 4192,
    "vocabulary_output_piece_score": True,
    "hard_vocab_limit": True,
    "use_all_vocab": False,
    "unk_id": 0,
    "bos_id": 1,
    "eos_id": 2,
    "pad_id": -1,
    "seed_sentencepiece_size": 1000000,  # unigram only
    "shrinking_factor": 0.75,  # unigram only
    "num_sub_iterations": 2,  # unigram only
    "input_sentence_size": 0,  # Llama 2: 200M sampled sentences; here: all of them
    "shuffle_input_sentence": False,  # Llama 2: True; off for reproducibility
    "num_threads": 1,  # Llama 2: 80; one thread for reproducibility
}

WHITESPACE_SCORE = -1e9  # Llama 2's score for the pieces made only of "▁"
# The lengths of Llama 2's sixteen "▁"-only pieces in id order (ids 259, 268, 308, 418, 462, ..., 29871).
# They share one score, so sentencepiece merges a run of spaces leftmost-first (▁*16, ▁*16, ..., rest),
# while a merge list ranked by (score, id) merges by id. The two agree with Llama's order (checked for every
# run of 1..700 spaces); with the order our trainer produced they disagree on runs of 17, 21, 33, 37, ...
# So the trained "▁"-only pieces are put in Llama's order over the same ids (sentencepiece itself never
# looks at ids when it breaks a tie, so this changes no segmentation, only which id is which run).
LLAMA2_WHITESPACE_ORDER = (2, 4, 8, 5, 16, 6, 12, 13, 10, 14, 3, 9, 7, 11, 15, 1)
INFILL_SCORE = -1e9  # Code Llama's score for its infill pieces (see the module docstring)
INFILL_PIECES = [
    "▁<SU", "▁<SUF", "▁<PRE", "▁<M", "▁<MID", "▁<E", "▁<EOT",
    "▁<PRE>", "▁<SUF>", "▁<MID>", "▁<EOT>",
] + ["▁" + "<EOT>" * n for n in range(2, 7)]

NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6
MERGEABLE = (NORMAL, USER_DEFINED, UNUSED)
SPECIAL_TEXT = re.compile(r"(<unk>|<s>|</s>)")

DEMO_FILES = ("tokenizer.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


# --------------------------------------------------------------------------------------------------- corpus

def stdlib_root() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def is_training_file(rel: Path) -> bool:
    """Standard-library sources proper: no installed third-party packages, no files the build generated."""
    parts = rel.parts
    if any(p in ("site-packages", "dist-packages", "__pycache__") for p in parts):
        return False
    if parts[0].startswith("config-"):  # python-config.py with the build machine's paths
        return False
    return not rel.name.startswith("_sysconfigdata")  # the build machine's compiler flags and paths


def stdlib_sources(training_only: bool) -> tuple[list[tuple[str, str]], list[str]]:
    """(relative path, text) of every UTF-8 ``.py`` file of the standard library, sorted by path, and the
    paths that are not valid UTF-8 (a few test files on purpose)."""
    root = stdlib_root()
    rels = sorted(
        (p.relative_to(root) for p in root.rglob("*.py") if p.is_file()),
        key=lambda r: r.as_posix(),
    )
    rels = [r for r in rels if not any(x in ("site-packages", "dist-packages") for x in r.parts)]
    if training_only:
        rels = [r for r in rels if is_training_file(r)]
    texts, undecodable = [], []
    for rel in rels:
        try:
            texts.append((rel.as_posix(), (root / rel).read_bytes().decode("utf-8")))
        except UnicodeDecodeError:
            undecodable.append(rel.as_posix())
    return texts, undecodable


def training_sentences(sources: list[tuple[str, str]]) -> list[str]:
    return [line for _, text in sources for line in text.split("\n") if line]


# --------------------------------------------------------------------------------------------------- model

def model_pb2():
    try:
        from sentencepiece import sentencepiece_model_pb2 as pb2  # bundled with sentencepiece, needs protobuf
    except ImportError as exc:  # pragma: no cover - depends on the dev environment
        raise SystemExit(f"needs `pip install sentencepiece protobuf` ({exc})") from exc
    return pb2


def train(sentences: list[str]):
    import sentencepiece as spm

    if hasattr(spm, "set_random_generator_seed"):
        spm.set_random_generator_seed(0)  # no sampling or shuffling is on; this only pins anything left
    out = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences), model_writer=out, minloglevel=2, **TRAINER_OPTIONS
    )
    proto = model_pb2().ModelProto()
    proto.ParseFromString(out.getvalue())
    return proto


def apply_code_llama_conventions(proto) -> None:
    """Llama 2's ``▁``-only pieces (score -1e9, Llama's id order), then Code Llama's infill pieces (NORMAL:
    type left unset)."""
    slots = [i for i, p in enumerate(proto.pieces) if p.type == NORMAL and set(p.piece) == {"▁"}]
    if sorted(len(proto.pieces[i].piece) for i in slots) != list(range(1, 17)):
        raise SystemExit("the trained vocabulary does not have exactly the ▁-only pieces ▁ * 1..16")
    for i, length in zip(slots, LLAMA2_WHITESPACE_ORDER):
        proto.pieces[i].piece = "▁" * length
        proto.pieces[i].score = WHITESPACE_SCORE
    existing = {p.piece for p in proto.pieces}
    for piece in INFILL_PIECES:
        if piece in existing:
            raise SystemExit(f"the trained vocabulary already has the infill piece {piece!r}")
        new = proto.pieces.add()
        new.piece = piece
        new.score = INFILL_SCORE


def piece_table(proto) -> list[tuple[str, float, int]]:
    return [(p.piece, p.score, p.type if p.HasField("type") else NORMAL) for p in proto.pieces]


# ------------------------------------------------------------------------------------------ tokenizer.json

KIND_NAMES = {NORMAL: "normal", UNKNOWN: "unknown", CONTROL: "control", USER_DEFINED: "user_defined",
              UNUSED: "unused", BYTE: "byte"}


def score_ranked_merges(pieces: list[tuple[str, float, int]]) -> list[str]:
    """Every split of every mergeable piece into two mergeable pieces, ranked like the Hub's Code Llama file
    (merged piece score descending, merged piece id ascending, then left id, then right id): the same
    function ``save_pretrained`` uses for a tokenizer loaded from a ``tokenizer.model``."""
    from llamatok.saving import score_ranked_merges as ranked

    return ranked([(piece, score, KIND_NAMES[typ]) for piece, score, typ in pieces])


def _added_token(i: int, content: str) -> dict:
    return {"id": i, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
            "normalized": False, "special": True}


def tokenizer_json(proto) -> dict:
    pieces = piece_table(proto)
    spec = proto.trainer_spec
    bos, unk = pieces[spec.bos_id][0], pieces[spec.unk_id][0]
    special = [(i, piece) for i, (piece, _, typ) in enumerate(pieces) if typ in (UNKNOWN, CONTROL)]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [_added_token(i, piece) for i, piece in special],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": "▁"},
            {"type": "Replace", "pattern": {"String": " "}, "content": "▁"},
        ]},
        "pre_tokenizer": None,
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [
                {"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                {"SpecialToken": {"id": bos, "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}},
            ],
            "special_tokens": {bos: {"id": bos, "ids": [spec.bos_id], "tokens": [bos]}},
        },
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
            {"type": "ByteFallback"},
            {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0},
        ]},
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": unk,
            "continuing_subword_prefix": None,
            "end_of_word_suffix": None,
            "fuse_unk": True,
            "byte_fallback": True,
            "vocab": {piece: i for i, (piece, _, _) in enumerate(pieces)},
            "merges": score_ranked_merges(pieces),
        },
    }


def _token_entry(content: str, with_type: bool) -> dict:
    entry = {"__type": "AddedToken"} if with_type else {}
    entry.update({"content": content, "lstrip": False, "normalized": True, "rstrip": False, "single_word": False})
    return entry


def tokenizer_config() -> dict:
    return {
        "add_bos_token": True,
        "add_eos_token": False,
        "bos_token": _token_entry("<s>", True),
        "clean_up_tokenization_spaces": False,
        "eos_token": _token_entry("</s>", True),
        "eot_token": "▁<EOT>",
        "fill_token": "<FILL_ME>",
        "legacy": None,
        "middle_token": "▁<MID>",
        "model_max_length": 16384,
        "pad_token": None,
        "prefix_token": "▁<PRE>",
        "sp_model_kwargs": {},
        "suffix_token": "▁<SUF>",
        "tokenizer_class": "CodeLlamaTokenizer",
        "unk_token": _token_entry("<unk>", True),
        "use_default_system_prompt": False,
    }


def special_tokens_map() -> dict:
    return {name: _token_entry(content, False)
            for name, content in (("bos_token", "<s>"), ("eos_token", "</s>"), ("unk_token", "<unk>"))}


def dump_json(obj: dict) -> bytes:
    return (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


# ------------------------------------------------------------------------------------------------- README

README = """\
# llamatok DEMO vocabulary

**A demo vocabulary, not a model's vocabulary.** Its ids mean nothing to Code Llama or to any other
network. It exists so that llamatok and its tests work on any machine without Meta's files, and it has the
shape of Code Llama's vocabulary so that every code path runs:

- ids 0 `<unk>` (UNKNOWN), 1 `<s>`, 2 `</s>` (CONTROL), 3..258 `<0x00>`..`<0xFF>` (BYTE), 259..{last_base}
  NORMAL pieces learned by BPE, scored `-(id - 259)`, except the pieces made only of `▁`, which score
  `-1e9` as in Llama 2;
- ids {first_infill}..{last_infill}: Code Llama's sixteen infill pieces (`▁<SU`, `▁<SUF`, `▁<PRE`, `▁<M`,
  `▁<MID`, `▁<E`, `▁<EOT`, `▁<PRE>` = {pre}, `▁<SUF>` = {suf}, `▁<MID>` = {mid}, `▁<EOT>` = {eot}, then `▁`
  followed by 2..6 copies of `<EOT>`), NORMAL pieces scoring `-1e9`, as Code Llama has them;
- {vocab} ids in all; `tokenizer.json` has {merges} merges, every split of a piece into two pieces,
  ranked by (score descending, id ascending) like the Hub's Code Llama file.

| file | bytes | sha256 |
|---|---|---|
{table}

## How it was made

`python python/llamatok/data/train_demo_vocab.py` (from the repository root) with Python {pyver}
(sentencepiece {spver}): sentencepiece's BPE trainer, single-threaded, on every non-empty line
({lines} lines, {chars} characters) of the {files} UTF-8 `.py` files of that Python's standard library
(found with `sysconfig`, sorted by path; files the build generates, `_sysconfigdata*` and
`config-*/python-config.py`, left out), with Llama 2's trainer settings (read from Meta's `tokenizer.model`):
`model_type=bpe`, `byte_fallback`, `normalization_rule_name=identity`, `add_dummy_prefix`,
`remove_extra_whitespaces=false`, `split_digits`, `allow_whitespace_only_pieces`, `split_by_unicode_script`,
`character_coverage=0.99995`, `max_sentencepiece_length=16`, `unk/bos/eos/pad = 0/1/2/-1`; changed for a
small reproducible demo: `vocab_size={trained}`, all sentences, no shuffling, one thread. The script then
gives the `▁`-only pieces score `-1e9` and Llama 2's relative id order, appends the infill pieces and writes
the four files with its own code. Rerunning it with the same Python and sentencepiece versions gives the
same files; another Python version gives a different vocabulary.

`python python/llamatok/data/train_demo_vocab.py --check` verifies the committed files: sentencepiece on
`tokenizer.model` and `tokenizers` on `tokenizer.json` give the same ids on every standard-library file, and
transformers 4.x loads the folder as `CodeLlamaTokenizerFast` and builds the infill prompt.

## License

Trained by the llamatok authors on the Python standard library's sources, which are under the PSF License
Agreement; no text, model or vocabulary from Meta (or anyone else) is in these files. The vocabulary is a
statistic of that text, not a copy of it, and is distributed under this project's license (MIT OR
Apache-2.0). The infill piece names follow Code Llama's prompt format, a public interface.
"""


def write_readme(out: Path, proto, stats: dict) -> None:
    import sentencepiece as spm

    pieces = piece_table(proto)
    ids = {p: i for i, (p, _, _) in enumerate(pieces)}
    first = ids[INFILL_PIECES[0]]
    rows = []
    for name in DEMO_FILES:
        data = (out / name).read_bytes()
        rows.append(f"| `{name}` | {len(data)} | `{hashlib.sha256(data).hexdigest()}` |")
    table = "\n".join(rows)
    text = README.format(
        last_base=first - 1, first_infill=first, last_infill=len(pieces) - 1,
        pre=ids["▁<PRE>"], suf=ids["▁<SUF>"], mid=ids["▁<MID>"], eot=ids["▁<EOT>"],
        vocab=len(pieces), merges=stats["merges"], table=table, pyver=platform.python_version(),
        spver=spm.__version__, lines=stats["lines"], chars=stats["chars"], files=stats["files"],
        trained=VOCAB_SIZE,
    )
    (out / "README.md").write_text(text, encoding="utf-8")


def build(out: Path) -> None:
    sources, undecodable = stdlib_sources(training_only=True)
    sentences = training_sentences(sources)
    print(f"training on {len(sources)} files of {stdlib_root()} ({len(sentences)} lines; "
          f"{len(undecodable)} non-UTF-8 files skipped)")
    proto = train(sentences)
    apply_code_llama_conventions(proto)
    tj = tokenizer_json(proto)
    out.mkdir(parents=True, exist_ok=True)
    (out / "tokenizer.model").write_bytes(proto.SerializeToString())
    (out / "tokenizer.json").write_bytes(dump_json(tj))
    (out / "tokenizer_config.json").write_bytes(dump_json(tokenizer_config()))
    (out / "special_tokens_map.json").write_bytes(dump_json(special_tokens_map()))
    stats = {"merges": len(tj["model"]["merges"]), "lines": len(sentences),
             "chars": sum(map(len, sentences)), "files": len(sources)}
    write_readme(out, proto, stats)
    for name in DEMO_FILES + ("README.md",):
        data = (out / name).read_bytes()
        print(f"  wrote {name}: {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()}")


# -------------------------------------------------------------------------------------------------- check

class CheckFailed(Exception):
    pass


def _expect(cond: bool, what: str) -> None:
    if not cond:
        raise CheckFailed(what)


def check_structure(folder: Path, proto) -> dict:
    """The vocabulary has Code Llama's shape; tokenizer.json is exactly what this script generates."""
    pieces = piece_table(proto)
    n = len(pieces)
    first = n - len(INFILL_PIECES)
    _expect(pieces[0][0] == "<unk>" and pieces[0][2] == UNKNOWN, "id 0 is <unk> (UNKNOWN)")
    _expect([(p, t) for p, _, t in pieces[1:3]] == [("<s>", CONTROL), ("</s>", CONTROL)], "ids 1, 2 control")
    _expect(all(pieces[3 + b] == (f"<0x{b:02X}>", 0.0, BYTE) for b in range(256)), "ids 3..258 bytes")
    _expect([p for p, _, _ in pieces[first:]] == INFILL_PIECES, "infill pieces last, in Code Llama's order")
    _expect(all(s == INFILL_SCORE and t == NORMAL for _, s, t in pieces[first:]), "infill: NORMAL, -1e9")
    _expect(not any(p.HasField("type") for p in proto.pieces[first:]), "infill pieces have no type field")
    for i in range(259, first):
        piece, score, typ = pieces[i]
        _expect(typ == NORMAL, f"id {i} is NORMAL")
        want = WHITESPACE_SCORE if set(piece) == {"▁"} else -float(i - 259)
        _expect(score == want, f"score of id {i} {piece!r} is {score}, want {want}")
    ws = [len(p) for p, _, _ in pieces if set(p) == {"▁"}]
    _expect(tuple(ws) == LLAMA2_WHITESPACE_ORDER, f"the ▁-only pieces are ▁ * 1..16 in Llama 2's order ({ws})")
    # The fast-path facts of docs/encoding.md ("The merge order"): no ▁ after a non-▁ character; only ▁-only pieces end with ▁.
    for piece, _, typ in pieces:
        if typ in MERGEABLE:
            stripped = piece.lstrip("▁")
            _expect("▁" not in stripped, f"piece {piece!r} has ▁ after another character")
    norm = proto.normalizer_spec
    _expect(norm.name == "identity" and not norm.precompiled_charsmap, "identity normalizer")
    _expect(norm.add_dummy_prefix and not norm.remove_extra_whitespaces, "dummy prefix, whitespace kept")
    spec = proto.trainer_spec
    _expect(spec.model_type == 2 and spec.byte_fallback, "BPE with byte fallback")
    _expect((spec.unk_id, spec.bos_id, spec.eos_id, spec.pad_id) == (0, 1, 2, -1), "special ids")

    tj = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    _expect(tj == tokenizer_json(proto), "tokenizer.json is what this script generates from tokenizer.model")
    _expect(json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8")) == tokenizer_config(),
            "tokenizer_config.json")
    _expect(json.loads((folder / "special_tokens_map.json").read_text(encoding="utf-8")) == special_tokens_map(),
            "special_tokens_map.json")
    merges = [tuple(m.split(" ")) for m in tj["model"]["merges"]]
    per_piece: dict[str, int] = {}
    for left, right in merges:
        per_piece[left + right] = per_piece.get(left + right, 0) + 1
    return {"vocab": n, "infill_first_id": first, "merges": len(merges), "merged_pieces": len(per_piece),
            "max_merges_per_piece": max(per_piece.values()),
            "infill_merges": [f"{a} {b}" for a, b in merges if a + b in INFILL_PIECES]}


def stress_texts(seed: int = 20240601, count: int = 20000) -> list[str]:
    """Deterministic random texts: whitespace runs (the -1e9 ties), code, infill-looking text, non-ASCII."""
    rng = random.Random(seed)
    atoms = [" ", "  ", "    ", "\t", "\n", "x", "self", "def", "return", "(", ")", ":", "_", "0", "123",
             "<", ">", "<E", "<EOT>", "<PRE>", "<SUF>", "<MID>", "<M", "<SU", "OT", "ID", "PRE", "SU", "F",
             "é", "中文", "😀", "\u2581", "\u2581\u2581", "ا", "\x00", "\x7f", "λ", "Ж", "\ufffd"]
    texts = ["", " ", "  ", "\n", "def f(x):", "    return x", " <E1", "<EOT><EOT><EOT>"]
    texts += [" " * n + "x" for n in range(300)] + ["a" + " " * n + "b" for n in range(300)]
    texts += [" " * n for n in range(1, 300)] + ["\t" + " " * n + "#" for n in range(300)]
    for _ in range(count):
        texts.append("".join(rng.choice(atoms) for _ in range(rng.randint(1, 30))))
    for _ in range(count // 4):
        texts.append("".join(chr(rng.choice([rng.randint(32, 126), rng.randint(0x80, 0x2FFF),
                                              rng.randint(0x1F300, 0x1F64F)]))
                             for _ in range(rng.randint(1, 20))))
    return texts


def check_against_oracles(folder: Path) -> dict:
    import sentencepiece as spm
    from tokenizers import Tokenizer

    sp = spm.SentencePieceProcessor(model_file=str(folder / "tokenizer.model"))
    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    _expect(sp.get_piece_size() == tok.get_vocab_size(), "same vocabulary size")
    _expect(all(sp.id_to_piece(i) == tok.id_to_token(i) for i in range(sp.get_piece_size())), "same pieces")
    special_ids = {"<unk>": 0, "<s>": 1, "</s>": 2}

    def hf(text: str) -> list[int]:
        return tok.encode(text, add_special_tokens=False).ids

    def hf_expected(text: str) -> list[int]:
        # tokenizers first cuts out added tokens written in the text, then normalizes (▁ prefix) every
        # remaining segment on its own (docs/encoding.md, "Special-token modes": legacy).
        ids: list[int] = []
        for part in SPECIAL_TEXT.split(text):
            if part in special_ids:
                ids.append(special_ids[part])
            elif part:
                ids.extend(sp.encode(part))
        return ids

    sources, undecodable = stdlib_sources(training_only=False)
    equal, explained, failures = 0, [], []
    n_tokens = 0
    for rel, text in sources:
        want = sp.encode(text)
        n_tokens += len(want)
        got = hf(text)
        if got == want:
            equal += 1
        elif SPECIAL_TEXT.search(text) and got == hf_expected(text):
            explained.append(rel)
        else:
            failures.append(rel)
    stress = stress_texts()
    stress_fail = [t for t in stress if not SPECIAL_TEXT.search(t) and hf(t) != sp.encode(t)]
    _expect(not failures, f"sentencepiece and tokenizers differ on {failures[:5]}")
    _expect(not stress_fail, f"sentencepiece and tokenizers differ on stress texts {stress_fail[:5]!r}")

    infill_from_text = {}
    for piece in INFILL_PIECES:
        ids = sp.encode(piece[1:])  # the dummy prefix supplies the leading ▁
        infill_from_text[piece] = ids == [sp.piece_to_id(piece)]
        _expect(hf(piece[1:]) == ids, f"tokenizers agrees on {piece[1:]!r}")
    return {"files": len(sources), "tokens": n_tokens, "identical": equal,
            "special_text_files": explained, "undecodable_skipped": undecodable,
            "stress_texts": len(stress), "infill_reachable": [p for p, ok in infill_from_text.items() if ok],
            "infill_unreachable": [p for p, ok in infill_from_text.items() if not ok]}


def check_transformers(folder: Path) -> dict:
    try:
        import transformers
        from transformers import AutoTokenizer, CodeLlamaTokenizer, CodeLlamaTokenizerFast
    except ImportError:
        return {"skipped": "transformers is not installed"}
    if int(transformers.__version__.split(".")[0]) != 4:
        return {"skipped": f"transformers {transformers.__version__}: the oracle is 4.x (docs/transformers.md)"}
    import sentencepiece as spm

    proto = model_pb2().ModelProto()
    proto.ParseFromString((folder / "tokenizer.model").read_bytes())
    sp = spm.SentencePieceProcessor(model_file=str(folder / "tokenizer.model"))
    proto.normalizer_spec.add_dummy_prefix = False
    sp_raw = spm.SentencePieceProcessor(model_proto=proto.SerializeToString())
    pre, suf, mid, eot = (sp.piece_to_id(p) for p in ("▁<PRE>", "▁<SUF>", "▁<MID>", "▁<EOT>"))

    tok = CodeLlamaTokenizerFast.from_pretrained(str(folder))
    auto = AutoTokenizer.from_pretrained(str(folder))
    _expect(type(auto).__name__ == "CodeLlamaTokenizerFast", f"AutoTokenizer gives {type(auto).__name__}")
    _expect((tok.prefix_id, tok.suffix_id, tok.middle_id, tok.eot_id) == (pre, suf, mid, eot), "infill ids")
    prefix, suffix = "def f(x):", "    return x"
    got = tok.encode(prefix, suffix=suffix)
    # docs/infill.md: <s> ▁<PRE> (" " + prefix, no dummy prefix) ▁<SUF> (suffix, no dummy prefix) ▁<MID>
    want = [1, pre] + sp_raw.encode(" " + prefix) + [suf] + sp_raw.encode(suffix) + [mid]
    _expect(got == want, f"infill encode {got} != {want}")
    spm_order = tok.encode(prefix, suffix=suffix, suffix_first=True)
    want_spm = [1, pre, suf] + sp_raw.encode(suffix) + [mid] + sp_raw.encode(" " + prefix)
    _expect(spm_order == want_spm, f"suffix_first encode {spm_order} != {want_spm}")
    _expect(tok.encode(prefix + "<FILL_ME>" + suffix) == got, "<FILL_ME> splits prefix and suffix")
    plain = tok.encode("def f(x):\n    return x")
    _expect(plain == [1] + sp.encode("def f(x):\n    return x"), "plain encode after infilling")
    tok_eos = CodeLlamaTokenizerFast.from_pretrained(str(folder), add_eos_token=True)
    _expect(tok_eos.encode(prefix, suffix=suffix) == want + [2], "add_eos_token=True appends </s>")
    slow = CodeLlamaTokenizer.from_pretrained(str(folder))  # reads tokenizer.model through sentencepiece
    _expect(slow.encode(prefix, suffix=suffix) == want, "the slow CodeLlamaTokenizer agrees")
    return {"transformers": transformers.__version__, "infill_ids": got,
            "infill_pieces": tok.convert_ids_to_tokens(got)}


def evidence(fixtures: Path) -> None:
    """Re-derive the infill pieces' type and score from Meta's files (read in place, never copied): Llama 2's
    ``tokenizer.model`` plus the sixteen pieces as NORMAL / -1e9 must give the real Code Llama model's size and,
    through this script's own generator, the Hub's Code Llama ``tokenizer.json``."""
    pb2 = model_pb2()
    llama = (fixtures / "llama2-tokenizer.model").read_bytes()
    hub = json.loads((fixtures / "codellama-7b-hf" / "tokenizer.json").read_text(encoding="utf-8"))
    for label, score, typ in (("NORMAL, -1e9", INFILL_SCORE, None), ("NORMAL, 0", 0.0, None),
                              ("NORMAL, -31741", -31741.0, None), ("CONTROL, -1e9", INFILL_SCORE, CONTROL),
                              ("USER_DEFINED, 0", 0.0, USER_DEFINED)):
        proto = pb2.ModelProto()
        proto.ParseFromString(llama)
        for piece in INFILL_PIECES:
            new = proto.pieces.add()
            new.piece, new.score = piece, score
            if typ is not None:
                new.type = typ
        size = len(proto.SerializeToString())
        same = tokenizer_json(proto) == hub
        print(f"Llama 2 + infill pieces as {label}: {size} bytes (Code Llama's is 500058); "
              f"generated tokenizer.json {'equals' if same else 'differs from'} the Hub's")


def check(folder: Path) -> None:
    proto = model_pb2().ModelProto()
    proto.ParseFromString((folder / "tokenizer.model").read_bytes())
    try:
        structure = check_structure(folder, proto)
        print(f"structure: {structure['vocab']} ids, infill pieces from id {structure['infill_first_id']}, "
              f"{structure['merges']} merges for {structure['merged_pieces']} pieces "
              f"(up to {structure['max_merges_per_piece']} per piece); "
              f"infill merges: {structure['infill_merges']}")
        oracles = check_against_oracles(folder)
        print(f"sentencepiece vs tokenizers on {oracles['files']} standard-library files "
              f"({oracles['tokens']} tokens): {oracles['identical']} identical, "
              f"{len(oracles['special_text_files'])} differ only through literal <s>/</s>/<unk> "
              f"(tokenizers matches them as added tokens): {oracles['special_text_files']}; "
              f"{len(oracles['undecodable_skipped'])} non-UTF-8 files skipped: {oracles['undecodable_skipped']}")
        print(f"stress: {oracles['stress_texts']} random texts identical")
        print(f"infill pieces that plain text can produce: {oracles['infill_reachable']}; "
              f"cannot: {oracles['infill_unreachable']}")
        hf = check_transformers(folder)
        if "skipped" in hf:
            print(f"transformers: skipped ({hf['skipped']})")
        else:
            print(f"transformers {hf['transformers']}: encode('def f(x):', suffix='    return x') = "
                  f"{hf['infill_ids']} = {hf['infill_pieces']}")
    except CheckFailed as exc:
        raise SystemExit(f"CHECK FAILED: {exc}") from None
    print("check passed")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only verify the files in --out")
    parser.add_argument("--out", type=Path, default=DEMO_DIR, help=f"the demo folder (default {DEMO_DIR})")
    parser.add_argument("--evidence", type=Path, metavar="FIXTURES",
                        help="only re-derive the infill pieces' type and score from Meta's files in FIXTURES "
                             "(llama2-tokenizer.model, codellama-7b-hf/tokenizer.json)")
    args = parser.parse_args(argv)
    if args.evidence:
        evidence(args.evidence)
        return
    if not args.check:
        build(args.out)
    check(args.out)


if __name__ == "__main__":
    sys.exit(main())
