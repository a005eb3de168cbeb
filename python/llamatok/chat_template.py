"""``apply_chat_template`` and the tokenizer's chat templates, as in transformers 4.57 (a mixin of
``CodeLlamaTokenizerFast``).

The template (``chat_template``: one Jinja string, or a dict of named ones) comes from the tokenizer's
files (chat_files.py) or is set by the caller; it is rendered by chat_render.py, then the text is
encoded by the tokenizer's own ``__call__`` with ``add_special_tokens=False``, as transformers does: the
template writes ``<s>`` itself (Llama 2's and Code Llama's do, per message), so the encoder must not add
another one in front (the double-BOS), and the ``<s>``/``</s>`` the template writes are matched as
special tokens (legacy mode) and become their ids.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Union

from llamatok.batch_encoding import BatchEncoding, tensor_type_name, to_tensor
from llamatok.chat_render import render

#: A chat template: one Jinja string, or named ones (``"default"``, ``"tool_use"``, ...).
ChatTemplate = Union[str, dict[str, str]]


def normalized(value: Any) -> ChatTemplate | None:
    """A template as given or as read from a config: a str, a dict of names, or transformers' saved list of
    ``{"name": ..., "template": ...}``."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return {str(k): str(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        try:
            return {str(t["name"]): str(t["template"]) for t in value}
        except (TypeError, KeyError):
            pass
    raise ValueError("a chat template must be a str, a dict of named templates, or a list of "
                     f"{{'name': ..., 'template': ...}} dicts, not {value!r}")


def _is_batch(conversation: Any) -> bool:
    if not isinstance(conversation, (list, tuple)) or not conversation:
        return False
    first = conversation[0]
    return isinstance(first, (list, tuple)) or hasattr(first, "messages")


class ChatTemplateMixin:
    """``chat_template``, ``get_chat_template``, ``apply_chat_template``,
    ``encode_message_with_chat_template``. The template is kept in ``init_kwargs`` (so pickling, equality
    and saving carry it like any config key)."""

    init_kwargs: dict[str, Any]

    @property
    def special_tokens_map(self) -> dict[str, str | list[str]]:
        raise NotImplementedError  # the tokenizer's (SpecialTokensMixin comes first)
    __call__: Callable[..., BatchEncoding]  # the tokenizer's

    @property
    def chat_template(self) -> ChatTemplate | None:
        """The tokenizer's chat template(s), as in transformers: None, a Jinja string, or a dict of named
        templates."""
        return normalized(self.init_kwargs.get("chat_template"))

    @chat_template.setter
    def chat_template(self, value: Any) -> None:
        template = normalized(value)
        if template is None:
            self.init_kwargs.pop("chat_template", None)
        else:
            self.init_kwargs["chat_template"] = template

    def get_chat_template(self, chat_template: str | None = None, tools: Sequence[Any] | None = None) -> str:
        """The template a call uses: ``chat_template`` (a template, or the name of one of the tokenizer's),
        else the tokenizer's (``"tool_use"`` when tools are given and it has one, else ``"default"``)."""
        own = self.chat_template
        if isinstance(own, dict):
            if chat_template is not None and chat_template in own:
                return own[chat_template]
            if chat_template is None:
                if tools is not None and "tool_use" in own:
                    return own["tool_use"]
                if "default" in own:
                    return own["default"]
                raise ValueError(
                    "This model has multiple chat templates with no default specified! Please either pass a chat "
                    "template or the name of the template you wish to use to the `chat_template` argument. "
                    f"Available template names are {sorted(own)}."
                )
        elif chat_template is None:
            if own is None:
                raise ValueError(
                    "Cannot use chat template functions because tokenizer.chat_template is not set and no template "
                    "argument was passed! Set tokenizer.chat_template to a Jinja template (Code Llama Instruct's is "
                    "in its tokenizer_config.json on the Hub), or pass chat_template="
                )
            return own
        if not isinstance(chat_template, str):
            raise TypeError(f"chat_template must be a str (a template or a template's name), not "
                            f"{type(chat_template).__name__}")
        return chat_template

    def apply_chat_template(
        self,
        conversation: Any,
        tools: Sequence[Any] | None = None,
        documents: Sequence[Any] | None = None,
        chat_template: str | None = None,
        add_generation_prompt: bool = False,
        continue_final_message: bool = False,
        tokenize: bool = True,
        padding: Any = False,
        truncation: Any = False,
        max_length: int | None = None,
        return_tensors: Any = None,
        return_dict: bool = False,
        return_assistant_tokens_mask: bool = False,
        tokenizer_kwargs: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        """A conversation (a list of ``{"role", "content"}`` dicts), or a batch of them, rendered with the
        chat template and, with ``tokenize=True`` (the default), encoded without adding special tokens.

        Returns the text (``tokenize=False``), the ids, or with ``return_dict=True`` the ``BatchEncoding``
        (plus ``assistant_masks`` with ``return_assistant_tokens_mask=True``: 1 for the tokens of the
        template's ``{% generation %}`` blocks). Other keyword arguments are template variables; the
        special tokens (``bos_token``...) are too. Arguments and errors as in transformers 4.57."""
        if return_dict and not tokenize:
            raise ValueError("`return_dict=True` is incompatible with `tokenize=False`, because there is no dict of "
                             "tokenizer outputs to return.")
        if return_assistant_tokens_mask and not return_dict:
            raise ValueError("`return_assistant_tokens_mask=True` is incompatible with `return_dict=False`")
        if continue_final_message:
            if add_generation_prompt:
                raise ValueError(
                    "continue_final_message and add_generation_prompt are not compatible. Use continue_final_message "
                    "when you want the model to continue the final message, and add_generation_prompt when you want "
                    "to add a header that will prompt it to start a new assistant message instead."
                )
            if return_assistant_tokens_mask:
                raise ValueError("continue_final_message is not compatible with return_assistant_tokens_mask.")
        source = self.get_chat_template(chat_template, tools)
        batched = _is_batch(conversation)
        conversations = list(conversation) if batched else [conversation]
        texts, spans = render(
            conversations, source, tools=tools, documents=documents, add_generation_prompt=add_generation_prompt,
            continue_final_message=continue_final_message, track_generation=return_assistant_tokens_mask,
            variables={**self.special_tokens_map, **kwargs},
        )
        if not tokenize:
            return texts if batched else texts[0]
        out = self(texts if batched else texts[0], padding=padding, truncation=truncation, max_length=max_length,
                   add_special_tokens=False, return_tensors=return_tensors, **dict(tokenizer_kwargs or {}))
        if not return_dict:
            return out["input_ids"]
        if return_assistant_tokens_mask:
            tensors = tensor_type_name(return_tensors)
            masks = assistant_masks(out, spans, batched or tensors is not None)
            # Only the new field becomes a tensor (the others already are).
            out["assistant_masks"] = (masks[0] if not batched and tensors is None
                                      else masks if tensors is None else to_tensor("assistant_masks", masks, tensors))
        return out

    def encode_message_with_chat_template(self, message: Mapping[str, Any],
                                          conversation_history: Sequence[Mapping[str, Any]] | None = None,
                                          **kwargs: Any) -> list[int]:
        """The ids one message adds to a conversation: the conversation's ids after those of the history
        (from the first id where they differ), as transformers computes them."""
        if "add_generation_prompt" in kwargs:
            raise ValueError("`encode_message_with_chat_template` does not support `add_generation_prompt`. Please "
                             "add the generation prompt separately.")
        if not conversation_history:
            ids: list[int] = self.apply_chat_template([message], add_generation_prompt=False, tokenize=True, **kwargs)
            return ids
        whole = self.apply_chat_template([*conversation_history, message], add_generation_prompt=False, **kwargs)
        before = self.apply_chat_template(list(conversation_history), add_generation_prompt=False, **kwargs)
        for n, (a, b) in enumerate(zip(before, whole)):
            if a != b:
                return list(whole[n:])
        return list(whole[min(len(before), len(whole)):])


def assistant_masks(out: BatchEncoding, spans: list[list[tuple[int, int]]], rows_given: bool) -> list[list[int]]:
    """1 for every token that holds a character of a ``{% generation %}`` block, as transformers marks them:
    from the token of a block's first character to that of its last (to the row's end when the last one
    was cut off by truncation; a block whose first character was cut off ends the row's marking)."""
    ids = out["input_ids"]
    rows = [list(r) for r in (ids.tolist() if hasattr(ids, "tolist") else ids)] if rows_given else [ids]
    masks = []
    for row, (ids_row, row_spans) in enumerate(zip(rows, spans)):
        mask = [0] * len(ids_row)
        for start_char, end_char in row_spans:
            start = out.char_to_token(row, start_char)
            end = out.char_to_token(row, end_char - 1)
            if start is None:
                break
            for n in range(start, end + 1 if end else len(ids_row)):
                mask[n] = 1
        masks.append(mask)
    return masks
