"""The streaming decoder: what it emits, concatenated, is exactly decode(all ids), in both decoding
styles, with and without special tokens skipped; text is emitted as soon as it is final."""

from __future__ import annotations

import pytest
from api_fixtures import TEXTS, folder_of, load_ours
from hypothesis import given
from hypothesis import strategies as st

TOK = load_ours(folder_of("demo"))
BYTE = {b: 3 + b for b in range(256)}  # Llama's byte pieces: id 3 + byte

any_char = st.characters(blacklist_categories=("Cs",))
texts = st.lists(st.one_of(st.text(any_char, max_size=8),
                           st.sampled_from(TEXTS + ["<s>", "</s>", "\u2581<PRE>", " ", "\n"])),
                 max_size=6).map("".join)
utf8_bytes = st.binary(max_size=8).map(lambda b: [BYTE[x] for x in b])
ids = st.lists(
    st.one_of(
        st.integers(0, TOK.vocab_size - 1),
        st.sampled_from([0, 1, 2, BYTE[0x20], BYTE[0xE2], BYTE[0x82], BYTE[0xAC], BYTE[0xF0], BYTE[0x9F]]),
        utf8_bytes,
        texts.map(lambda t: TOK.encode(t, add_special_tokens=False)),
    ),
    max_size=10,
).map(lambda parts: [i for p in parts for i in (p if isinstance(p, list) else [p])])


def streamed(tok, token_ids, **kwargs) -> list:
    stream = tok.decode_stream(**kwargs)
    pieces = [stream.step(i) for i in token_ids]
    pieces.append(stream.finish())
    assert stream.text == "".join(pieces)
    return pieces


@pytest.mark.parametrize("style", ["transformers", "sentencepiece"])
@pytest.mark.parametrize("skip_special_tokens", [False, True])
@given(token_ids=ids)
def test_stream_equals_decode(style, skip_special_tokens, token_ids):
    pieces = streamed(TOK, token_ids, style=style, skip_special_tokens=skip_special_tokens)
    assert "".join(pieces) == TOK.decode(token_ids, skip_special_tokens=skip_special_tokens, style=style)


@given(text=texts)
def test_stream_of_encoded_text(text):
    token_ids = TOK.encode(text)
    assert ("".join(streamed(TOK, token_ids, skip_special_tokens=True))
            == TOK.decode(token_ids, skip_special_tokens=True))


def test_every_prefix_is_final():
    """After each id, the text emitted so far is a prefix of the final text and as long as possible:
    everything but an unfinished byte run is out."""
    token_ids = TOK.encode("héllo 😀 wörld 日本 ok")
    stream = TOK.decode_stream()
    final = TOK.decode(token_ids)
    for n, i in enumerate(token_ids, 1):
        stream.step(i)
        assert final.startswith(stream.text)
        if i not in BYTE.values():
            assert stream.text == TOK.decode(token_ids[:n]) and not stream.pending_ids


def test_spaces_and_bytes_are_held_until_final():
    stream = TOK.decode_stream(skip_special_tokens=True)
    hello = TOK.encode("Hello", add_special_tokens=False)
    world = TOK.encode("world", add_special_tokens=False)
    assert stream.step(1) == ""  # <s> skipped
    assert stream.extend(hello) == "Hello"  # leading space of the first piece dropped, as decode does
    assert stream.extend(world) == " world"  # later spaces kept
    smile = [BYTE[b] for b in "😀".encode()]
    assert [stream.step(i) for i in smile] == ["", "", "", ""]  # a byte run waits for its end...
    assert stream.pending_ids == smile
    assert stream.step(TOK.encode("!", add_special_tokens=False)[-1]) == "😀!"  # ...in the transformers style
    assert stream.finish() == ""


def test_sentencepiece_style_emits_complete_characters_at_once():
    stream = TOK.decode_stream(style="sentencepiece")
    out = [stream.step(BYTE[b]) for b in "é😀".encode()]
    assert out == ["", "é", "", "", "", "😀"]
    assert stream.step(BYTE[0xE2]) == "" and stream.finish() == "\ufffd"


def test_sentencepiece_style_emits_invalid_bytes_at_once():
    """A byte that cannot start a character is final at once (one U+FFFD): a long run of them must not
    pile up in the decoder, which re-read the whole run on every id (20,000 took 41 s)."""
    stream = TOK.decode_stream(style="sentencepiece")
    for n in range(1, 5001):
        assert stream.step(BYTE[0x80]) == "\ufffd"
        assert stream.pending_ids == [], f"after {n} invalid bytes"
    # A lead byte waits for at most three more; the run's text is still decode's.
    run = [BYTE[b] for b in b"\xf0\x9f\x98" + b"\x80" * 3 + "é".encode() + b"\xe2\x82"]
    pieces, held = [], []
    for i in run:
        pieces.append(stream.step(i))
        held.append(len(stream.pending_ids))
    assert max(held) <= 3, held
    assert "".join(pieces) + stream.finish() == TOK.decode(run, style="sentencepiece")


@pytest.mark.parametrize("skip", [False, True])
def test_sentencepiece_stream_work_is_linear_in_the_run(skip):
    """Secondary check, by timing: twice the invalid bytes take about twice the time, not four times."""
    import time

    def feed(n):
        stream = TOK.decode_stream(style="sentencepiece", skip_special_tokens=skip)
        ids = [BYTE[0x80], 1] * (n // 2) if skip else [BYTE[0x80]] * n
        start = time.perf_counter()
        text = stream.extend(ids) + stream.finish()
        assert text == TOK.decode(ids, style="sentencepiece", skip_special_tokens=skip)
        return time.perf_counter() - start

    feed(2000)  # warm up
    small, large = min(feed(4000) for _ in range(3)), min(feed(16000) for _ in range(3))
    assert large < 4 * small * 2.5, f"4x the ids took {large / small:.1f}x the time"


def test_codellama_stream(codellama_dir):
    tok = load_ours(codellama_dir)
    prompt = 'def remove_non_ascii(s: str) -> str:\n    """ <FILL_ME>\n    return result\n'
    token_ids = tok.encode(prompt) + [3 + 0xF0, 3 + 0x9F, 2]
    for skip in (False, True):
        assert ("".join(streamed(tok, token_ids, skip_special_tokens=skip))
                == tok.decode(token_ids, skip_special_tokens=skip))
