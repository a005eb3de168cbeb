"""One tokenizer shared by 8 Python threads, each mixing plain encoding, infilling (PSM and SPM, with
<FILL_ME> and suffix=), batches, truncation and decoding, gets exactly the serial results: infilling
is a function of the call's arguments, never a mode switched on shared state."""

from __future__ import annotations

import random
import threading

from api_fixtures import FILL_TEXTS, INFILLS, LONG_CODE, TEXTS, as_plain, folder_of, load_ours


def make_tasks(tok, seed: int) -> list:
    """(name, thunk) pairs; the big texts make the core release the GIL, so threads really overlap."""
    rng = random.Random(seed)
    big = LONG_CODE * 8
    tasks = []
    for i in range(40):
        kind = rng.randrange(7)
        if kind == 0:
            text = rng.choice(TEXTS + [big])
            tasks.append(("encode", lambda t=text: tok.encode(t)))
        elif kind == 1:
            prefix, suffix = rng.choice(INFILLS + [(big, big[::-1])])
            first = rng.random() < 0.5
            tasks.append(("infill", lambda p=prefix, s=suffix, f=first: tok.encode(p, suffix=s, suffix_first=f)))
        elif kind == 2:
            text = rng.choice(FILL_TEXTS)
            tasks.append(("fill",
                          lambda t=text: as_plain(tok(t, return_offsets_mapping=True,
                                                      return_special_tokens_mask=True))))
        elif kind == 3:
            batch = rng.sample(TEXTS + FILL_TEXTS, 6) + [big]
            tasks.append(("batch", lambda b=batch: as_plain(tok(b, padding=True))))
        elif kind == 4:
            tasks.append(("truncate", lambda: as_plain(tok(big, suffix="x", truncation=True, max_length=64, stride=8,
                                                              return_overflowing_tokens=True))))
        elif kind == 5:
            ids = tok.encode(rng.choice(TEXTS + [big]))
            tasks.append(("decode", lambda i=ids: tok.decode(i, skip_special_tokens=bool(i[-1] % 2))))
        else:
            ids = tok.encode(rng.choice(FILL_TEXTS))
            tasks.append(("stream", lambda i=ids: "".join(tok.decode_stream().step(x) for x in i)))
    return tasks


def test_eight_threads_get_the_serial_results():
    tok = load_ours(folder_of("demo"), pad_token="</s>", add_eos_token=True)
    per_thread = [make_tasks(tok, seed) for seed in range(8)]
    expected = [[fn() for _, fn in tasks] for tasks in per_thread]
    got = [[None] * len(t) for t in per_thread]
    errors = []
    barrier = threading.Barrier(8)

    def run(k: int) -> None:
        try:
            barrier.wait()
            for rounds in range(3):
                for j, (_, fn) in enumerate(per_thread[k]):
                    result = fn()
                    if rounds == 0:
                        got[k][j] = result
                    elif result != got[k][j]:
                        errors.append((k, j, "changed between rounds"))
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append((k, repr(e)))

    threads = [threading.Thread(target=run, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for k in range(8):
        bad = [per_thread[k][j][0] for j in range(len(expected[k])) if got[k][j] != expected[k][j]]
        assert not bad, f"thread {k}: {bad}"
