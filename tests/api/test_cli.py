"""`llamatok encode` and `llamatok decode` (python/llamatok/cli.py): standard input closed or not UTF-8 gives
a message and the exit status the command line's docstring defines (2: no input at all; 1: input that cannot
be used), never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import llamatok

DEMO = str(llamatok.demo_path())


def run(*args: str, stdin: bytes | None = None, closed: bool = False) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "llamatok.cli", *args, "-t", DEMO, "-q"]
    if closed:  # the child starts with file descriptor 0 closed, as after `<&-` in a shell
        return subprocess.run(command, capture_output=True, preexec_fn=lambda: os.close(0), timeout=60)
    return subprocess.run(command, input=stdin or b"", capture_output=True, timeout=60)


@pytest.mark.parametrize("command", ["encode", "decode"])
def test_closed_standard_input_is_a_usage_error(command):
    proc = run(command, closed=True)
    stderr = proc.stderr.decode()
    assert proc.returncode == 2, stderr
    assert "standard input is closed" in stderr and "Traceback" not in stderr


@pytest.mark.parametrize("command", ["encode", "decode"])
def test_binary_standard_input_is_named(command):
    proc = run(command, stdin=b"def f():\n\xff\xfe\x00 binary")
    stderr = proc.stderr.decode()
    assert proc.returncode == 1, stderr
    assert "standard input is not UTF-8 text: byte 0xFF at offset 9 (line 2)" in stderr, stderr
    assert "Traceback" not in stderr


def test_a_file_that_is_not_utf8_is_named(tmp_path):
    bad = tmp_path / "latin1.py"
    bad.write_bytes("x = 'café'\n".encode("latin-1"))
    proc = run("encode", "-f", str(bad))
    assert proc.returncode == 1 and f"{bad} is not UTF-8 text" in proc.stderr.decode()


def test_standard_input_is_read_as_utf8_whatever_the_locale(tmp_path):
    tok = llamatok.CodeLlamaTokenizerFast.from_pretrained(DEMO)
    text = "héllo wörld 😀\n"
    proc = subprocess.run([sys.executable, "-m", "llamatok.cli", "encode", "-t", DEMO, "-q"], input=text.encode(),
                          capture_output=True, timeout=60, env=dict(os.environ, LC_ALL="C", PYTHONIOENCODING="ascii"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode().split() == [str(i) for i in tok.encode(text)]
    proc = run("decode", stdin=" ".join(map(str, tok.encode(text))).encode())
    assert proc.returncode == 0 and proc.stdout.decode() == tok.decode(tok.encode(text)) + "\n"


def test_bad_ids_exit_with_a_message():
    proc = run("decode", "1", "x")
    assert proc.returncode == 2 and "ids must be integers" in proc.stderr.decode()
    proc = run("decode", "1", "-5")
    assert proc.returncode == 1 and "out of range" in proc.stderr.decode()


def test_numpy_blas_threads_stay_asleep_unless_the_user_says(tmp_path):
    """The command sets OPENBLAS_NUM_THREADS=1 before anything imports numpy (so that numpy's BLAS threads
    do not spin beside the encoder), and keeps a value the user set."""
    data = tmp_path / "in.jsonl"
    data.write_text('{"text": "def f(x):\\n    return x"}\n')
    code = ("import os, sys, llamatok.cli as c; assert 'numpy' not in sys.modules, 'imported too early'; "
            f"c.main(['preprocess', {str(data)!r}, '-o', {str(tmp_path / 'out')!r}, '-t', {DEMO!r}, '-q']); "
            "assert 'numpy' in sys.modules; print(os.environ.get('OPENBLAS_NUM_THREADS'))")
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    for given, expected in ((None, "1"), ("2", "2")):
        if given is not None:
            env["OPENBLAS_NUM_THREADS"] = given
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.split()[-1] == expected


def test_python_dash_m_llamatok_is_the_command():
    """``python -m llamatok`` runs the ``llamatok`` command (where the scripts folder is not on PATH)."""
    tok = llamatok.CodeLlamaTokenizerFast.from_pretrained(DEMO)
    text = "def f(x):\n    return x\n"
    proc = subprocess.run([sys.executable, "-m", "llamatok", "encode", "-t", DEMO, "-q"], input=text.encode(),
                          capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode().split() == [str(i) for i in tok.encode(text)]
    proc = subprocess.run([sys.executable, "-m", "llamatok", "no-such-command"], capture_output=True, timeout=60)
    assert proc.returncode == 2 and "invalid choice" in proc.stderr.decode()


@pytest.mark.parametrize("mode", ["legacy", "literal"])
def test_fill_me_in_a_file_is_text(tmp_path, mode):
    """The command line encodes what it reads: "<FILL_ME>" is text there, not an infill prompt (a file
    holding it three times is counted, not refused)."""
    src = tmp_path / "doc.md"
    src.write_text('x = "<FILL_ME>"\n' * 3, encoding="utf-8")
    proc = run("encode", "--mode", mode, "-f", str(src))
    assert proc.returncode == 0, proc.stderr
    core = llamatok.Tokenizer.from_file(os.path.join(DEMO, "tokenizer.json"))
    want = [1, *core.encode(src.read_text(encoding="utf-8"), "literal" if mode == "literal" else "legacy")]
    assert [int(x) for x in proc.stdout.split()] == want


def test_output_cut_short_by_its_reader_ends_quietly(tmp_path):
    src = tmp_path / "long.txt"
    src.write_text("word " * 200_000, encoding="utf-8")
    command = [sys.executable, "-m", "llamatok.cli", "encode", "-t", DEMO, "-q", "--tokens", "-f", str(src), "-f",
               str(src)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.read(10)
    proc.stdout.close()  # as `| head -c 10` does
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 141 and err == b""
