"""``CodeLlamaTokenizerFast.__call__``: texts and infill prompts to model inputs (a ``BatchEncoding``).

The steps, each in its own module: split prompts at ``<FILL_ME>`` (infill), encode every sequence with
the Rust core (a whole batch in one call, GIL released), choose a template (template), truncate with
stride and overflow (truncation), lay out rows (rows), pad (padding), convert to tensors
(batch_encoding). Arguments and their defaults follow transformers 4.x; where transformers has a bug,
this does what its documentation says (docs/transformers.md, "Differences"). The tokenizer hands
in a frozen :class:`~llamatok.settings.CallSettings`; nothing here reads the tokenizer itself.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Optional

from llamatok import loggers
from llamatok import padding as padding_
from llamatok import truncation as truncation_
from llamatok.alignment import RowAlignment, aligned, encode_each_word, encode_words, fill_dummy_spans
from llamatok.batch_encoding import BatchEncoding, tensor_type_name
from llamatok.infill import prefix_text, split_prompt
from llamatok.integers import optional_int, required_int
from llamatok.rows import Encoded, Row, build_rows
from llamatok.settings import CallSettings
from llamatok.template import Template, added_count

if TYPE_CHECKING:
    from llamatok._native import Tokenizer


_warned: set[str] = set()


def _warn_once(message: str) -> None:
    """Logs an advice once per process, as transformers does."""
    if message not in _warned:
        _warned.add(message)
        loggers.OWN.warning(message)


#: Pre-tokenized input: the words of the text (or infill prefix) and of the infill suffix (None: plain).
Words = tuple[tuple[str, ...], Optional[tuple[str, ...]]]


class Prompt(NamedTuple):
    """One input after ``<FILL_ME>`` splitting: plain text (suffix None) or an infill prefix + suffix.
    ``suffix_start`` is where the suffix begins in the caller's text (0 when passed separately).
    Pre-tokenized input (``is_split_into_words=True``) has its words in ``words``; ``prefix`` is then ""
    and ``suffix`` "" for an infill prompt."""

    prefix: str
    suffix: str | None
    suffix_start: int
    words: Words | None = None


def make_prompt(text: Any, pair: str | None, fill_token: str | None) -> Prompt:
    prefix, suffix = split_prompt(text, pair, fill_token)
    start = len(prefix) + len(fill_token or "") if pair is None and suffix is not None else 0
    return Prompt(prefix, suffix, start)


def _words(value: Any, what: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise TypeError(f"with is_split_into_words=True, {what} must be a list of words (str), not "
                        f"{type(value).__name__}")
    return tuple(value)


def words_prompt(words: Any, suffix_words: Any) -> Prompt:
    """Pre-tokenized input; a non-empty list of suffix words makes an infill prompt."""
    prefix = _words(words, "the text")
    suffix = None if suffix_words is None else _words(suffix_words, "the suffix")
    if not suffix:
        return Prompt("", None, 0, (prefix, None))
    return Prompt("", "", 0, (prefix, suffix))


def batch_word_prompts(text: Any, pair: Any) -> tuple[list[Prompt], bool]:
    """Prompts of pre-tokenized input: a list of words, or a batch (a list of lists of words)."""
    batched = isinstance(text, (list, tuple)) and len(text) > 0 and isinstance(text[0], (list, tuple))
    if not batched:
        return [words_prompt(text, pair)], False
    if pair is None:
        return [words_prompt(t, None) for t in text], True
    if not isinstance(pair, (list, tuple)) or len(pair) != len(text):
        raise ValueError("for a batch of word lists, the suffixes (text_pair or suffix=) must be a list of word "
                         "lists of the same length")
    return [words_prompt(t, p) for t, p in zip(text, pair)], True


def batch_prompts(text: Any, text_pair: Any, suffix: Any, fill_token: str | None,
                  is_split_into_words: bool = False) -> tuple[list[Prompt], bool]:
    """The prompts of a call and whether the call is batched. A text pair is an infill suffix, as in
    transformers' ``CodeLlamaTokenizerFast`` (single calls) - here for batches too."""
    if text is None:
        raise ValueError("text is required: a str, or a list of str (or of (prefix, suffix) pairs)")
    if suffix is not None and text_pair is not None:
        raise ValueError("pass the infill suffix as text_pair or as suffix=, not both")
    pair = suffix if suffix is not None else text_pair
    if is_split_into_words:
        return batch_word_prompts(text, pair)
    if isinstance(text, str):
        if pair is not None and not isinstance(pair, str):
            raise TypeError(f"the suffix of a single text must be a str, not {type(pair).__name__}")
        return [make_prompt(text, pair, fill_token)], False
    if not isinstance(text, (list, tuple)):
        raise TypeError(f"text must be a str or a list of str, not {type(text).__name__}")
    if pair is not None:
        if isinstance(pair, str) or not isinstance(pair, (list, tuple)) or len(pair) != len(text):
            raise ValueError("for a batch of texts, the suffixes (text_pair or suffix=) must be a list of the same "
                             "length")
        return [make_prompt(t, p, fill_token) for t, p in zip(text, pair)], True
    prompts = []
    for item in text:
        if isinstance(item, (list, tuple)):
            if len(item) != 2:
                raise ValueError(f"a batch item that is a sequence must be a (prefix, suffix) pair, not {item!r}")
            prompts.append(make_prompt(item[0], item[1], fill_token))
        else:
            prompts.append(make_prompt(item, None, fill_token))
    return prompts, True


# -- encoding the sequences -------------------------------------------------------------------

def _encode_with_offsets(core: Tokenizer, text: str, mode: str, dummy_prefix: bool, shift: int,
                         length: int) -> Encoded:
    ids, spans, words, texts = aligned(core, text, mode, dummy_prefix)
    if shift:
        spans = [(max(a + shift, 0), max(b + shift, 0)) for a, b in spans]
    return Encoded(ids, fill_dummy_spans(spans, length), words, texts)


def encode_prompts(core: Tokenizer, prompts: Sequence[Prompt], mode: str, with_offsets: bool) -> list[list[Encoded]]:
    """The encoded sequences of every prompt: ``[text]`` or ``[prefix, suffix]``.

    Offsets index the caller's strings: the text, the infill prompt before ``<FILL_ME>`` splitting, or
    the separately passed suffix."""
    if any(p.words is not None for p in prompts):
        groups = [[g for g in p.words if g is not None] for p in prompts]  # type: ignore[union-attr]
        if not with_offsets:  # every word of the batch in one native call
            per_word = encode_each_word(core, [w for seqs in groups for g in seqs for w in g], mode)
            out, at = [], 0
            for seqs in groups:
                encoded = []
                for g in seqs:
                    encoded.append(Encoded([i for word in per_word[at:at + len(g)] for i in word]))
                    at += len(g)
                out.append(encoded)
            return out
        return [[Encoded(*encode_words(core, g, mode)) for g in seqs] for seqs in groups]
    if with_offsets:
        out = []
        for p in prompts:
            if p.suffix is None:
                out.append([_encode_with_offsets(core, p.prefix, mode, True, 0, len(p.prefix))])
            else:
                pre = _encode_with_offsets(core, prefix_text(p.prefix), mode, False, -1, len(p.prefix))
                suf = _encode_with_offsets(core, p.suffix, mode, False, 0, len(p.suffix))
                if p.suffix_start:
                    suf.offsets = [(a + p.suffix_start, b + p.suffix_start) for a, b in suf.offsets]  # type: ignore[union-attr]
                out.append([pre, suf])
        return out
    plain = [i for i, p in enumerate(prompts) if p.suffix is None]
    infill = [i for i, p in enumerate(prompts) if p.suffix is not None]
    result: list[list[Encoded]] = [[] for _ in prompts]
    if plain:
        for i, ids in zip(plain, _encode_many(core, [prompts[i].prefix for i in plain], mode, True)):
            result[i] = [Encoded(ids)]
    if infill:
        prefixes = _encode_many(core, [prefix_text(prompts[i].prefix) for i in infill], mode, False)
        suffixes = _encode_many(core, [prompts[i].suffix for i in infill], mode, False)  # type: ignore[misc]
        for i, prefix_ids, suffix_ids in zip(infill, prefixes, suffixes):
            result[i] = [Encoded(prefix_ids), Encoded(suffix_ids)]
    return result


def _encode_many(core: Tokenizer, texts: list[str], mode: str, dummy_prefix: bool) -> list[list[int]]:
    """One text directly; several in one native batch call (all cores, GIL released)."""
    if len(texts) == 1:
        return [core.encode(texts[0], mode, dummy_prefix)]
    return core.encode_batch(texts, mode, dummy_prefix)


# -- the call ---------------------------------------------------------------------------------

class Strategies(NamedTuple):
    padding: str
    truncation: str | None
    max_length: int | None


def strategies(tok: CallSettings, padding: Any, truncation: Any, max_length: int | None,
               pad_to_multiple_of: int | None, verbose: bool) -> Strategies:
    """transformers' ``_get_padding_truncation_strategies``, with its defaults and errors (``max_length``
    and ``pad_to_multiple_of`` already checked ints)."""
    if max_length is not None and padding is False and truncation is None:
        if verbose:
            _warn_once("max_length is given without truncation=True: truncating ('longest_first') as transformers does")
        truncation = "longest_first"
    pad = padding_.strategy_name(padding)
    if padding is True and max_length is not None and truncation in (None, False, "do_not_truncate") and verbose:
        warnings.warn(
            "`max_length` is ignored when `padding`=`True` and there is no truncation strategy. "
            "To pad to max length, use `padding='max_length'`.",
            UserWarning,
            stacklevel=4,
        )
    trunc = None if truncation in (None, False, "do_not_truncate") else truncation_.strategy_name(truncation)
    if max_length is None:
        unlimited = tok.unlimited
        if pad == "max_length":
            if unlimited:
                if verbose:
                    _warn_once("padding='max_length' without max_length and no model_max_length: not padding")
                pad = "do_not_pad"
            else:
                max_length = tok.model_max_length
        if trunc is not None:
            if unlimited:
                if verbose:
                    _warn_once("truncation without max_length and no model_max_length: not truncating")
                trunc = None
            else:
                max_length = tok.model_max_length
    if pad != "do_not_pad" and tok.pad_token_id is None:
        raise ValueError(padding_.NO_PAD_TOKEN)
    if (trunc is not None and pad != "do_not_pad" and pad_to_multiple_of and max_length is not None
            and max_length % pad_to_multiple_of):
        raise ValueError(
            f"Truncation and padding are both activated but truncation length ({max_length}) is not a "
            f"multiple of pad_to_multiple_of ({pad_to_multiple_of})."
        )
    return Strategies(pad, trunc, max_length)


def _rows_of(template: Template, seqs: list[Encoded], strat: Strategies, stride: int, side: str,
             with_offsets: bool) -> list[Row]:
    if strat.truncation is None or strat.max_length is None:
        plans = [[(0, len(s))] for s in seqs]
    else:
        n_added = added_count(template)
        budget = strat.max_length - n_added
        if budget < 0:
            raise ValueError(
                f"max_length={strat.max_length} cannot hold the {n_added} special tokens this input needs"
            )
        plans = truncation_.plan([len(s) for s in seqs], budget, strat.truncation, stride, side)
    return build_rows(template, seqs, plans, with_offsets)


class RowLayout(NamedTuple):
    """Everything that decides a call's rows once the arguments are checked, kept so that the rows can be
    made again with offsets, words and sequences when an alignment method of the result is first called
    (``BatchEncoding.word_ids()``...): the plain call stays as fast as without alignment."""

    tok: CallSettings
    prompts: list[Prompt]
    mode: str
    add_special_tokens: bool
    suffix_first: bool
    strat: Strategies
    stride: int
    side: str
    pad_to_multiple_of: int | None
    overflowing: bool

    def rows(self, with_offsets: bool) -> tuple[list[Row], list[int]]:
        """The rows (kept, then overflowing ones when asked, padded when asked) and the sample each comes
        from."""
        tok = self.tok
        templates = {}
        if any(p.suffix is None for p in self.prompts):
            templates[False] = tok.plain_template(self.add_special_tokens)
        if any(p.suffix is not None for p in self.prompts):
            templates[True] = tok.infill_template(self.add_special_tokens, self.suffix_first)
        encoded = encode_prompts(tok.core, self.prompts, self.mode, with_offsets)
        rows: list[Row] = []
        mains: list[Row] = []
        sample: list[int] = []
        for index, (prompt, seqs) in enumerate(zip(self.prompts, encoded)):
            template = templates[prompt.suffix is not None]
            got = _rows_of(template, seqs, self.strat, self.stride, tok.truncation_side, with_offsets)
            mains.append(got[0])
            if not self.overflowing:
                got = got[:1]
            rows.extend(got)
            sample.extend([index] * len(got))
        target = padding_.target_length(mains, self.strat.padding, self.strat.max_length, self.pad_to_multiple_of)
        if target is not None:
            padding_.pad_rows(rows, target, self.side, tok.pad_token_id)  # type: ignore[arg-type]
        return rows, sample

    def alignment_of(self, rows: list[Row]) -> list[RowAlignment]:
        """The alignment of rows made with offsets."""
        piece = self.tok.core.id_to_piece
        return [RowAlignment([piece(i) if t is None else t for i, t in zip(r.ids, r.texts)],  # type: ignore[arg-type]
                             r.offsets, r.words, r.sequences)  # type: ignore[arg-type]
                for r in rows]

    def alignment(self) -> list[RowAlignment]:
        """The rows made again with offsets, as alignment."""
        return self.alignment_of(self.rows(True)[0])


def encode_call(
    tok: CallSettings,
    prompts: list[Prompt],
    batched: bool,
    *,
    mode: str,
    add_special_tokens: bool,
    suffix_first: bool,
    padding: Any,
    truncation: Any,
    max_length: int | None,
    stride: int,
    pad_to_multiple_of: int | None,
    padding_side: str | None,
    return_tensors: Any,
    return_token_type_ids: bool | None,
    return_attention_mask: bool | None,
    return_overflowing_tokens: bool,
    return_special_tokens_mask: bool,
    return_offsets_mapping: bool,
    return_length: bool,
    verbose: bool,
) -> BatchEncoding:
    tensor_type = tensor_type_name(return_tensors)
    max_length = optional_int(max_length, "max_length", 0)
    pad_to_multiple_of = optional_int(pad_to_multiple_of, "pad_to_multiple_of", 1)
    stride = required_int(stride, "stride", 0)
    strat = strategies(tok, padding, truncation, max_length, pad_to_multiple_of, verbose)
    if strat.truncation is not None and strat.max_length is not None and any(p.suffix is None for p in prompts):
        plain_added = added_count(tok.plain_template(add_special_tokens))
        if strat.max_length < plain_added:
            raise ValueError(f"max_length={strat.max_length} cannot hold the {plain_added} special tokens added to "
                             "each text")
        if stride > strat.max_length - plain_added:
            raise ValueError(
                f"stride={stride} must be smaller than max_length={strat.max_length} minus the "
                f"{plain_added} special tokens added to each text"
            )
    side = padding_side if padding_side is not None else tok.padding_side
    layout = RowLayout(tok, prompts, mode, add_special_tokens, suffix_first, strat, stride, side, pad_to_multiple_of,
                       return_overflowing_tokens)
    rows, sample = layout.rows(return_offsets_mapping)
    if verbose and strat.max_length is None:  # as transformers: rows as returned (padded), no length asked
        tok.warn_too_long(rows)

    if return_token_type_ids is None:
        return_token_type_ids = "token_type_ids" in tok.model_input_names
    if return_attention_mask is None:
        return_attention_mask = "attention_mask" in tok.model_input_names
    data: dict[str, Any] = {"input_ids": [r.ids for r in rows]}
    if return_token_type_ids:
        data["token_type_ids"] = [r.type_ids for r in rows]
    if return_attention_mask:
        data["attention_mask"] = [r.attention for r in rows]
    if return_special_tokens_mask:
        data["special_tokens_mask"] = [r.special for r in rows]
    if return_offsets_mapping:
        data["offset_mapping"] = [r.offsets for r in rows]
    if return_length:
        data["length"] = [len(r) for r in rows]
    if return_overflowing_tokens:
        data["overflow_to_sample_mapping"] = sample
    if not batched and tensor_type is None and not return_overflowing_tokens:
        data = {k: (v[0] if v and isinstance(v[0], list) else v) for k, v in data.items()}
    kinds = {p.suffix is not None for p in prompts}
    n_sequences = (2 if kinds == {True} else 1) if len(kinds) == 1 else None
    # With offsets the rows already hold the alignment; otherwise it is made on first use.
    alignment = layout.alignment_of(rows) if return_offsets_mapping else layout.alignment
    return BatchEncoding(data, tensor_type=tensor_type, n_sequences=n_sequences, alignment=alignment)
