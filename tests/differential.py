"""Differential test of the three special-token modes against the real libraries, on generated text:

- ``literal`` (no special-token parsing): the core on Llama 2's ``tokenizer.model`` against sentencepiece;
- ``legacy`` (special tokens parsed, Code Llama's default): the core on Code Llama's ``tokenizer.json`` with the
  infill tokens against ``tokenizers`` (the file plus the infill tokens, as transformers registers them);
- ``non_legacy``: the core on Llama 2's model against transformers' slow ``LlamaTokenizer(legacy=False)``, id
  for id, and ``CodeLlamaTokenizerFast(legacy=False)`` on Code Llama's files against the slow
  ``CodeLlamaTokenizer(legacy=False)`` piece for piece, on the texts where that comparison is meaningful
  (the slow class reads Llama 2's model, which lacks 16 of Code Llama's pieces: see ``comparable_in_pieces``
  and tests/core/test_non_legacy_oracle.py).

Texts mix adversarial fragments (``CLASSES``): characters only byte fallback can encode, whitespace runs, ``▁``,
strings that look like special tokens, random unicode, code. With ``--long``, each text is instead a run of 1 to
12 KB that the chunker cannot cut (``LONG_KINDS``: the core merges it in windows, rust/src/windows.rs) between a
few of those fragments. Usage (one command, the figures it prints are in benches/results/fuzzing.md):

    python tests/differential.py --texts 1000000 [--seed 0] [--modes literal,legacy,non_legacy] [--long]

Exits 1 on any difference, printing the first few. tests/core/test_differential.py runs a small version.
"""

from __future__ import annotations

import argparse
import random
import string
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import CODELLAMA_DIR, CODELLAMA_JSON, INFILL_TOKENS, LLAMA2_MODEL  # noqa: E402

MODES = ("literal", "legacy", "non_legacy")
SPECIAL_TEXT = ["<s>", "</s>", "<unk>", "<PRE>", "<SUF>", "<MID>", "<EOT>", "\u2581<PRE>", "\u2581<SUF>",
                "\u2581<MID>", "\u2581<EOT>"]
# Near misses: parts, neighbours and look-alikes of special tokens and byte pieces.
SPECIAL_LIKE = ["<", ">", "<s", "s>", "</", "<s >", "< s>", "<S>", "<0x41>", "<0xE2>", "<E", "<SU", "<M", "<unk",
                "unk>", "<<s>>", "</s/>", "<PRE", "PRE>", "▁<", "<\u2581s>"]
CODE = ["def ", "return", "self.", "(x)", " == ", "#", "'", '"""', "{}", "[0]", "import ", "\\n", "x", "if", "_",
        "0", "1234", "foo_bar", "Hello", "é", "ü", "ß", "naïve"]
WHITESPACE = [" ", "  ", "\t", "\n", "\r\n", "\u00a0", "\u3000", "\u2009", "\u2581", "\u2581\u2581", "\x0b", "\x0c"]


def _random_char(rng: random.Random) -> str:
    """Any code point but a surrogate, weighted towards planes and blocks the vocabulary lacks."""
    while True:
        cp = rng.choice([rng.randint(0, 0x7F), rng.randint(0x80, 0x7FF), rng.randint(0x800, 0xFFFF),
                         rng.randint(0x10000, 0x10FFFF), rng.randint(0x1F300, 0x1FAFF), rng.randint(0xE000, 0xF8FF)])
        if not 0xD800 <= cp <= 0xDFFF:
            return chr(cp)


#: Each fragment class and how to draw one fragment of it.
CLASSES: dict[str, Callable[[random.Random], str]] = {
    # Characters outside the vocabulary: CJK extension, emoji, private use, controls, non-characters.
    "byte_fallback": lambda r: "".join(
        r.choice([chr(r.randint(0x20000, 0x2A6DF)), chr(r.randint(0x1F300, 0x1FAFF)), chr(r.randint(0xE000, 0xF8FF)),
                  chr(r.randint(0, 0x1F)), "\ufffd", "\ufeff", "\U0010ffff", "\x7f"]) for _ in range(r.randint(1, 4))),
    "whitespace": lambda r: "".join(r.choice(WHITESPACE) for _ in range(r.randint(1, 3))) * r.choice([1, 1, 2, 17, 70]),
    "special_token": lambda r: r.choice(SPECIAL_TEXT),
    "special_like": lambda r: r.choice(SPECIAL_LIKE),
    "unicode": lambda r: "".join(_random_char(r) for _ in range(r.randint(1, 6))),
    "code": lambda r: r.choice(CODE),
    "ascii": lambda r: "".join(chr(r.randint(0x20, 0x7E)) for _ in range(r.randint(1, 8))),
}


#: Long runs without cut points: minified JavaScript's pieces, and the units a run repeats.
JS = ["function(a,b){return a+b}", "var x=1;", "if(x<y){", "}", "[0,1,2]", "'str'", "===", "this.value", "&&", "=>"]
UNITS = ["a", "ab", "aa", "é", "\u4e00", "😀", "\u2581", " ", "  a", "ing", "the", "==", "0x", "__", "Zz"]
#: The alphabets of the long runs drawn character by character.
ALPHABETS = {
    "letters": string.ascii_lowercase,
    "mixed-case": string.ascii_letters,
    "base64": string.ascii_letters + string.digits + "+/",
    "cjk": "".join(chr(c) for c in range(0x4E00, 0x4E40)) + "ぁあぃいぅう",
}
LONG_KINDS = ("repeat", "js", *ALPHABETS)


def long_run(kind: str, size: int, rng: random.Random, unit: str = "") -> str:
    """About `size` bytes of a `LONG_KINDS` family (`repeat` repeats `unit`, one to three `UNITS` when not given)."""
    if kind == "repeat":
        unit = unit or "".join(rng.choice(UNITS) for _ in range(rng.randint(1, 3)))
        return unit * (size // len(unit.encode()) + 1)
    if kind == "js":
        return "".join(rng.choice(JS) for _ in range(size // 8))
    alphabet = ALPHABETS[kind]
    return "".join(rng.choice(alphabet) for _ in range(size // len(alphabet[-1].encode())))


def _fragments(rng: random.Random, count: int, used: set[str]) -> list[str]:
    names = list(CLASSES)
    parts = []
    for _ in range(count):
        name = rng.choice(names)
        used.add(name)
        parts.append(CLASSES[name](rng))
    return parts


def generate(n: int, seed: int, long: bool = False) -> Iterator[tuple[str, set[str]]]:
    """`n` texts and the classes each contains; the same for the same seed. A text is 0 to 12 fragments, or
    (`long`) a long run of one of `LONG_KINDS` with 0 to 3 fragments on each side."""
    rng = random.Random(seed)
    for _ in range(n):
        used: set[str] = set()
        if not long:
            yield "".join(_fragments(rng, rng.randint(0, 12), used)), used
            continue
        before = _fragments(rng, rng.randint(0, 3), used)
        kind = rng.choice(LONG_KINDS)
        used.add("long " + kind)
        run = long_run(kind, rng.randint(1_000, 12_000), rng)
        yield "".join([*before, run, *_fragments(rng, rng.randint(0, 3), used)]), used


def comparable_in_pieces(text: str) -> bool:
    """Whether the slow CodeLlamaTokenizer (on Llama 2's model) can agree with Code Llama's files: no `<` but
    those of `<s>`, `</s>`, `<unk>` and one infill token at the very start, where the dummy `▁` completes it
    (Code Llama's extra merges build `▁<SU`, `▁<PRE>`... from any other `<`)."""
    for token in ("<PRE>", "<SUF>", "<MID>", "<EOT>"):
        text = text.removeprefix(token)
    for token in ("<s>", "</s>", "<unk>"):
        text = text.replace(token, "")
    return "<" not in text


class Checkers:
    """Per mode, a function from a batch of texts to the texts whose ids differ (with both results)."""

    def __init__(self) -> None:
        import sentencepiece
        import tokenizers
        import transformers

        import llamatok

        self.sp = sentencepiece.SentencePieceProcessor(model_file=str(LLAMA2_MODEL))
        self.model = llamatok.Tokenizer.from_file(str(LLAMA2_MODEL))
        hf = tokenizers.Tokenizer.from_file(str(CODELLAMA_JSON))
        hf.add_special_tokens(list(INFILL_TOKENS))
        self.hf = hf
        js = llamatok.Tokenizer.from_file(str(CODELLAMA_JSON))
        self.json = js.with_special_tokens([(t, i) for t, i, _ in js.added_tokens] + list(INFILL_TOKENS.items()))
        self.slow_llama = transformers.LlamaTokenizer(vocab_file=str(LLAMA2_MODEL), legacy=False)
        self.slow_code_llama = transformers.CodeLlamaTokenizer(vocab_file=str(LLAMA2_MODEL), legacy=False)
        self.fast_code_llama = llamatok.CodeLlamaTokenizerFast.from_pretrained(CODELLAMA_DIR, legacy=False)
        self.compared = {"literal": 0, "legacy": 0, "non_legacy": 0, "non_legacy (CodeLlama pieces)": 0}

    def literal(self, texts: list[str]) -> list[tuple[str, object, object]]:
        self.compared["literal"] += len(texts)
        expected = self.sp.encode(texts)
        got = self.model.encode_batch(texts, "literal", num_threads=1)
        return [(t, a, b) for t, a, b in zip(texts, got, expected) if a != b]

    def legacy(self, texts: list[str]) -> list[tuple[str, object, object]]:
        self.compared["legacy"] += len(texts)
        expected = [e.ids for e in self.hf.encode_batch(texts, add_special_tokens=False)]
        got = self.json.encode_batch(texts, "legacy", num_threads=1)
        return [(t, a, b) for t, a, b in zip(texts, got, expected) if a != b]

    def non_legacy(self, texts: list[str]) -> list[tuple[str, object, object]]:
        self.compared["non_legacy"] += len(texts)
        bad = [(t, a, b) for t, a, b in zip(texts, self.model.encode_batch(texts, "non_legacy", num_threads=1),
                                            (self.slow_llama.encode(t, add_special_tokens=False) for t in texts))
               if a != b]
        plain = [t for t in texts if comparable_in_pieces(t)]
        self.compared["non_legacy (CodeLlama pieces)"] += len(plain)
        for t in plain:
            expected = self.slow_code_llama.convert_ids_to_tokens(self.slow_code_llama.encode(t))
            got = self.fast_code_llama.convert_ids_to_tokens(self.fast_code_llama.encode(t))
            if got != expected:
                bad.append((t, got, expected))
        return bad


def run(n: int, seed: int, modes: tuple[str, ...] = MODES, batch: int = 5000, quiet: bool = False,
        long: bool = False) -> dict:
    """Compares `n` texts (long runs with `long`) in each of `modes`; returns the figures (texts compared,
    differences, examples)."""
    checkers = Checkers()
    differences: dict[str, list] = {m: [] for m in modes}
    classes = dict.fromkeys([*CLASSES, *(["long " + k for k in LONG_KINDS] if long else [])], 0)
    start = time.monotonic()
    texts: list[str] = []
    done = 0

    def flush() -> None:
        for mode in modes:
            differences[mode] += getattr(checkers, mode)(texts)
        texts.clear()

    for text, used in generate(n, seed, long):
        for name in used:
            classes[name] += 1
        texts.append(text)
        if len(texts) == batch:
            done += batch
            flush()
            if not quiet and done % (100_000 if not long else 5_000) == 0:
                print(f"  {done} texts, {time.monotonic() - start:.0f} s, "
                      f"{sum(map(len, differences.values()))} differences", flush=True)
    flush()
    return {"texts": n, "seed": seed, "seconds": time.monotonic() - start, "compared": checkers.compared,
            "differences": {m: len(d) for m, d in differences.items()}, "examples": {m: d[:5] for m, d in
                                                                                      differences.items()},
            "texts_with_class": classes}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=int, default=1_000_000, help="texts generated, each compared in every mode")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated, of " + ", ".join(MODES))
    parser.add_argument("--long", action="store_true", help="texts of 1 to 12 KB without cut points")
    args = parser.parse_args()
    modes = tuple(args.modes.split(","))
    if unknown := set(modes) - set(MODES):
        parser.error(f"unknown modes {sorted(unknown)}: choose from {', '.join(MODES)}")
    figures = run(args.texts, args.seed, modes, batch=500 if args.long else 5000, long=args.long)
    what = "long texts" if args.long else "texts"
    print(f"== differential: {figures['texts']} {what} (seed {figures['seed']}) in {figures['seconds']:.0f} s")
    for name, count in figures["texts_with_class"].items():
        print(f"  texts with {name}: {count}")
    for what, count in figures["compared"].items():
        if count:
            print(f"  {what}: {count} texts compared")
    for mode, count in figures["differences"].items():
        print(f"  {mode}: {count} differences")
        for text, got, expected in figures["examples"][mode]:
            print(f"    {text!r}: llamatok {got}, oracle {expected}")
    return 1 if any(figures["differences"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
