"""Rendering chat templates as transformers 4.57 does: Jinja2's ``ImmutableSandboxedEnvironment`` with
``trim_blocks`` and ``lstrip_blocks``, the ``loopcontrols`` extension, transformers' globals
(``raise_exception``, ``strftime_now``), its ``tojson`` filter (no HTML escaping; ``ensure_ascii``,
``indent``, ``separators``, ``sort_keys``), and the ``{% generation %}`` block that marks the characters
of assistant messages (for ``return_assistant_tokens_mask``).

Jinja2 is imported here only, when a template is first rendered: it is an optional dependency
(``pip install 'llamatok[chat]'``), and the error says so when it is missing.

A compiled template is cached by its text. Unlike transformers, the ``{% generation %}`` tracking is
per thread (a context variable), so one tokenizer can render chats on several threads at once.
"""

from __future__ import annotations

import contextvars
import copy
import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from importlib import import_module
from typing import Any

from llamatok import loggers

logger = loggers.CHAT_TEMPLATE

#: What transformers appends to the final message to find where it ends after rendering.
CONTINUE_TAG = "CONTINUE_FINAL_MESSAGE_TAG "
GENERATION_BLOCK = re.compile(r"\{\%-?\s*generation\s*-?\%\}")

#: The rendering in progress on this thread that tracks ``{% generation %}`` blocks: (output so far, spans).
_tracking: contextvars.ContextVar[tuple[list[str], list[tuple[int, int]]] | None] = contextvars.ContextVar(
    "llamatok_chat_tracking", default=None)


def _jinja() -> Any:
    try:
        import jinja2
    except ImportError:
        raise ImportError(
            "apply_chat_template renders Jinja templates and needs jinja2 (>= 3.1), which is not installed: "
            "pip install 'llamatok[chat]' (or pip install jinja2)"
        ) from None
    major, minor = (int(x) for x in jinja2.__version__.split(".")[:2])
    if (major, minor) < (3, 1):
        raise ImportError(f"apply_chat_template needs jinja2 >= 3.1, and {jinja2.__version__} is installed: "
                          "pip install -U jinja2")
    return jinja2


def _raise_exception(message: str) -> None:
    raise _jinja().exceptions.TemplateError(message)


def _tojson(value: Any, ensure_ascii: bool = False, indent: int | None = None,
            separators: tuple[str, str] | None = None, sort_keys: bool = False) -> str:
    return json.dumps(value, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def _strftime_now(format: str) -> str:
    return datetime.now().strftime(format)


def _generation_extension(ext: Any, nodes: Any) -> Any:
    """The ``{% generation %}...{% endgeneration %}`` tag: renders its body, and when spans are tracked
    records where the body starts and ends in the output (the output streamed so far, measured when the
    block runs, as transformers measures it)."""

    class Generation(ext.Extension):  # type: ignore[misc]
        tags = {"generation"}

        def parse(self, parser: Any) -> Any:
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
            return nodes.CallBlock(self.call_method("_mark"), [], [], body).set_lineno(lineno)

        def _mark(self, caller: Any) -> str:
            text: str = caller()
            tracked = _tracking.get()
            if tracked is not None:
                blocks, spans = tracked
                start = sum(len(b) for b in blocks)
                spans.append((start, start + len(text)))
            return text

    return Generation


@lru_cache(maxsize=64)
def compile_template(source: str) -> Any:
    """The compiled template (cached by its text)."""
    _jinja()
    ext = import_module("jinja2.ext")
    nodes = import_module("jinja2.nodes")
    sandbox = import_module("jinja2.sandbox")
    env = sandbox.ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[_generation_extension(ext, nodes), ext.loopcontrols]
    )
    env.filters["tojson"] = _tojson
    env.globals["raise_exception"] = _raise_exception
    env.globals["strftime_now"] = _strftime_now
    return env.from_string(source)


def _with_continue_tag(chat: list[Any]) -> tuple[list[Any], str]:
    """A copy of the chat whose final message (or its last text block) ends with the tag, and that text."""
    chat = copy.deepcopy(list(chat))
    final = chat[-1]["content"]
    if isinstance(final, (list, tuple)):
        for block in reversed(final):
            if "text" in block:
                text: str = block["text"]
                block["text"] = text + CONTINUE_TAG
                return chat, text
        raise ValueError("continue_final_message is set but we could not find any text to continue in the final "
                         "message!")
    chat[-1]["content"] = final + CONTINUE_TAG
    return chat, str(final)


def _cut_at_tag(rendered: str, final: str) -> str:
    """The rendered chat up to where the final message ends (the template may have trimmed its spacing)."""
    tag = CONTINUE_TAG.strip()
    if final.strip() not in rendered or tag not in rendered:
        raise ValueError(
            "continue_final_message is set but the final message does not appear in the chat after applying the "
            "chat template! This can happen if the chat template deletes portions of the final message. Please "
            "verify the chat template and final message in your chat to ensure they are compatible."
        )
    at = rendered.rindex(tag)
    if rendered[at:at + len(CONTINUE_TAG)] == CONTINUE_TAG:
        return rendered[:at]
    return rendered[:at].rstrip()


def tool_schemas(tools: Sequence[Any] | None) -> list[dict[str, Any]] | None:
    """Tools as JSON schemas (dicts). transformers also converts Python functions from their type hints
    and docstrings; llamatok takes the schemas (``transformers.utils.get_json_schema(f)`` makes one)."""
    if tools is None:
        return None
    out = []
    for tool in tools:
        if not isinstance(tool, Mapping):
            raise TypeError(
                f"a tool must be a JSON schema (a dict), not {type(tool).__name__}; for a Python function, pass "
                "transformers.utils.get_json_schema(function)"
            )
        out.append(dict(tool))
    return out


def render(
    conversations: Sequence[Any],
    source: str,
    *,
    tools: Sequence[Any] | None = None,
    documents: Sequence[Any] | None = None,
    add_generation_prompt: bool = False,
    continue_final_message: bool = False,
    track_generation: bool = False,
    variables: Mapping[str, Any] | None = None,
) -> tuple[list[str], list[list[tuple[int, int]]]]:
    """Every conversation rendered with ``source``, and (when ``track_generation``) the character spans of
    its ``{% generation %}`` blocks. ``variables`` are the template's other variables (the special
    tokens, and the caller's keyword arguments)."""
    if track_generation and not GENERATION_BLOCK.search(source):
        logger.warning("return_assistant_tokens_mask==True but chat template does not contain `{% generation %}` "
                       "keyword.")
    template = compile_template(source)
    schemas = tool_schemas(tools)
    if documents is not None and any(not isinstance(d, Mapping) for d in documents):
        raise TypeError("Documents should be a list of dicts with 'title' and 'text' keys!")
    context = dict(variables or {})
    texts: list[str] = []
    all_spans: list[list[tuple[int, int]]] = []
    for chat in conversations:
        messages = getattr(chat, "messages", chat)  # transformers' Conversation objects
        final = ""
        if continue_final_message:
            messages, final = _with_continue_tag(messages)
        arguments = {**context, "messages": messages, "tools": schemas, "documents": documents,
                     "add_generation_prompt": add_generation_prompt}
        if track_generation:
            blocks: list[str] = []
            spans: list[tuple[int, int]] = []
            token = _tracking.set((blocks, spans))
            try:
                for block in template.generate(**arguments):
                    blocks.append(block)
            finally:
                _tracking.reset(token)
            rendered = "".join(blocks)
            all_spans.append(spans)
        else:
            rendered = template.render(**arguments)
        if continue_final_message:
            rendered = _cut_at_tag(rendered, final)
        texts.append(rendered)
    return texts, all_spans
