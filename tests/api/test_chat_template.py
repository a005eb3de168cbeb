"""``apply_chat_template`` against transformers 4.57's CodeLlamaTokenizerFast on the same folder: Llama 2
chat's and Code Llama Instruct's templates (as their Hub ``tokenizer_config.json`` files give them), rendered
strings, ids, dicts, batches, padding and truncation, generation prompts, continued messages, assistant masks,
tools and documents, transformers' Jinja globals and filters, the sandbox, and the template saved and loaded
as transformers saves and loads it.
"""

from __future__ import annotations

import json
import pickle
import shutil

import pytest
from api_fixtures import folder, load_oracle, load_ours, oracle, ours, vocab
from hypothesis import given, settings
from hypothesis import strategies as st

__all__ = ["folder", "oracle", "ours", "vocab"]  # fixtures used by name

jinja2 = pytest.importorskip("jinja2")

_SYSTEM_FIRST = (
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
    "{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}"
    "{% set system_message = false %}{% endif %}{% for message in loop_messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if loop.index0 == 0 and system_message != false %}"
    "{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}"
    "{% else %}{% set content = message['content'] %}{% endif %}"
)
#: meta-llama/Llama-2-7b-chat-hf's tokenizer_config.json.
LLAMA2_CHAT = _SYSTEM_FIRST + (
    "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}"
)
#: codellama/CodeLlama-7b-Instruct-hf's (13b and 34b have the same).
CODELLAMA_INSTRUCT = _SYSTEM_FIRST + (
    "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content | trim + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ ' ' + content | trim + ' ' + eos_token }}{% endif %}{% endfor %}"
)
#: codellama/CodeLlama-70b-Instruct-hf's (writes '<s>' itself, and no eos_token).
CODELLAMA_70B_INSTRUCT = (
    "{% if messages[0]['role'] == 'system' %}{% set user_index = 1 %}{% else %}{% set user_index = 0 %}{% endif %}"
    "{% for message in messages %}{% if (message['role'] == 'user') != ((loop.index0 + user_index) % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if loop.index0 == 0 %}{{ '<s>' }}{% endif %}"
    "{% set content = 'Source: ' + message['role'] + '\\n\\n ' + message['content'] | trim %}"
    "{{ content + ' <step> ' }}{% endfor %}{{'Source: assistant\\nDestination: user\\n\\n '}}"
)
#: Llama 2 chat's with the assistant messages in {% generation %} blocks, and a generation prompt.
LLAMA2_GENERATION = _SYSTEM_FIRST + (
    "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{% generation %}{{ ' '  + content.strip() + ' ' + eos_token }}"
    "{% endgeneration %}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ ' ' }}{% endif %}"
)
TEMPLATES = {"llama2": LLAMA2_CHAT, "instruct": CODELLAMA_INSTRUCT, "70b": CODELLAMA_70B_INSTRUCT}

CHATS = [
    [{"role": "user", "content": "Write a function that adds two numbers."}],
    [{"role": "system", "content": "Answer in Python only."},
     {"role": "user", "content": "  Reverse a list  "},
     {"role": "assistant", "content": "def rev(xs):\n    return xs[::-1]\n"},
     {"role": "user", "content": "And a string? 😀 <s> </s> ▁<PRE>"}],
    [{"role": "user", "content": "日本語"}, {"role": "assistant", "content": "はい。"}],
]
CONTENT = st.lists(st.sampled_from(list("ab ()\n\t:_") + ["😀", "日", "<s>", "</s>", "[INST]", "\u2581", "  "]),
                   max_size=12).map("".join)


def both(mine, theirs, method, *args, **kwargs):
    """The same call on both tokenizers: the results, or the same exception type on both."""
    results = []
    for tok in (mine, theirs):
        try:
            results.append(getattr(tok, method)(*args, **kwargs))
        except Exception as e:  # compared below
            results.append(e)
    a, b = results
    if isinstance(a, Exception) or isinstance(b, Exception):
        assert type(a) is type(b), (a, b)
        return None
    return plain(a), plain(b)


def plain(value):
    if hasattr(value, "items"):
        return {k: plain(v) for k, v in value.items()}
    if hasattr(value, "tolist"):
        return value.tolist()
    return value


@pytest.fixture(scope="module")
def pair(folder):
    mine, theirs = load_ours(folder), load_oracle(folder)
    mine.pad_token = theirs.pad_token = "</s>"
    return mine, theirs


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_templates_give_transformers_strings_and_ids(pair, name):
    mine, theirs = pair
    template = TEMPLATES[name]
    for chat in CHATS:
        for kwargs in ({"tokenize": False}, {}, {"return_dict": True}, {"add_generation_prompt": True},
                       {"return_dict": True, "return_tensors": "np"}):
            got = both(mine, theirs, "apply_chat_template", chat, chat_template=template, **kwargs)
            assert got is not None and got[0] == got[1], (chat, kwargs)
    for kwargs in ({"tokenize": False}, {"padding": True, "return_dict": True},
                   {"truncation": True, "max_length": 9, "return_dict": True},
                   {"padding": "max_length", "max_length": 200, "return_tensors": "np"}):
        got = both(mine, theirs, "apply_chat_template", CHATS, chat_template=template, **kwargs)
        assert got is not None and got[0] == got[1], kwargs


def test_no_double_bos(pair):
    """The template writes <s> before every [INST]: the encoder adds none (add_special_tokens=False, as in
    transformers), and the <s>/</s> the template writes are matched as special tokens."""
    mine, theirs = pair
    chat = [*CHATS[1][:3], {"role": "user", "content": "Thanks."}]
    ids = mine.apply_chat_template(chat, chat_template=LLAMA2_CHAT)
    assert ids == theirs.apply_chat_template(chat, chat_template=LLAMA2_CHAT)
    assert ids[:2] != [1, 1] and ids[0] == mine.bos_token_id
    assert ids.count(mine.bos_token_id) == 2 and ids.count(mine.eos_token_id) == 1  # two [INST] turns, one answer


@settings(max_examples=40, deadline=None)
@given(contents=st.lists(CONTENT, min_size=1, max_size=5), system=st.booleans(),
       name=st.sampled_from(sorted(TEMPLATES)))
def test_generated_conversations(pair, contents, system, name):
    mine, theirs = pair
    chat = [{"role": "user" if i % 2 == 0 else "assistant", "content": c} for i, c in enumerate(contents)]
    if system:
        chat.insert(0, {"role": "system", "content": "Be brief."})
    got = both(mine, theirs, "apply_chat_template", chat, chat_template=TEMPLATES[name], return_dict=True)
    if got is not None:
        assert got[0] == got[1]
    if chat[-1]["content"].strip():
        got = both(mine, theirs, "apply_chat_template", chat, chat_template=TEMPLATES[name],
                   continue_final_message=True, tokenize=False)
        assert got is None or got[0] == got[1]


@settings(max_examples=40, deadline=None)
@given(contents=st.lists(CONTENT, min_size=2, max_size=6), max_length=st.sampled_from([None, 12, 40]),
       tensors=st.booleans())
def test_assistant_masks(pair, contents, max_length, tensors):
    """Masks of the {% generation %} blocks: the same as transformers' whenever some text comes before
    the first block (see test_assistant_mask_of_a_leading_block)."""
    mine, theirs = pair
    chat = [{"role": "user" if i % 2 == 0 else "assistant", "content": c} for i, c in enumerate(contents)]
    kwargs = {"chat_template": LLAMA2_GENERATION, "return_dict": True, "return_assistant_tokens_mask": True,
              "return_tensors": "np" if tensors else None}
    if max_length:
        kwargs.update(truncation=True, max_length=max_length)
    for conversation in (chat, [chat, chat[:2]]):
        batch_kwargs = dict(kwargs, padding=True) if conversation is not chat else kwargs
        got = both(mine, theirs, "apply_chat_template", conversation, **batch_kwargs)
        assert got is not None and got[0] == got[1]
    if max_length is None:
        masks = mine.apply_chat_template(chat, **dict(kwargs, return_tensors=None))["assistant_masks"]
        assert any(masks) == any(m["role"] == "assistant" for m in chat)


def test_assistant_mask_of_a_leading_block(pair):
    """DIFFERENCE: transformers tracks a {% generation %} block only once some text was rendered before it,
    so a block at the very start of the output gets no mask; llamatok marks it."""
    mine, theirs = pair
    template = "{% for m in messages %}{% generation %}{{ m['content'] }}{% endgeneration %}{{ '\\n' }}{% endfor %}"
    chat = [{"role": "assistant", "content": "hello there"}, {"role": "assistant", "content": "again"}]
    kwargs = {"chat_template": template, "return_dict": True, "return_assistant_tokens_mask": True}
    ours_masks = mine.apply_chat_template(chat, **kwargs)["assistant_masks"]
    theirs_masks = theirs.apply_chat_template(chat, **kwargs)["assistant_masks"]
    ids = mine.apply_chat_template(chat, chat_template=template)
    newline = ids.index(mine.convert_tokens_to_ids("<0x0A>"))
    assert ours_masks[:newline] == [1] * newline and theirs_masks[:newline] == [0] * newline
    assert ours_masks[newline:] == theirs_masks[newline:]


def test_globals_filters_tools_documents(pair):
    mine, theirs = pair
    template = (
        "{% for t in tools %}{{ t | tojson(indent=2, sort_keys=True) }}{% endfor %}|"
        "{{ documents | tojson(separators=(',', ':')) }}|{{ 'é<>' | tojson }}|{{ 'é' | tojson(ensure_ascii=True) }}|"
        "{{ strftime_now('%Y') }}|{{ bos_token }}{{ eos_token }}{{ unk_token }}{{ pad_token }}|{{ extra }}|"
        "{% for m in messages %}{% if loop.index > 1 %}{% break %}{% endif %}{{ m['content'] }}{% endfor %}"
        "{{ additional_special_tokens | join(',') }}"
    )
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"b": 1, "a": [1, "ü"]}}}]
    documents = [{"title": "T", "text": "x & y"}]
    chat = [{"role": "user", "content": "one"}, {"role": "user", "content": "two"}]
    got = both(mine, theirs, "apply_chat_template", chat, chat_template=template, tools=tools, documents=documents,
               extra="kwarg", tokenize=False)
    assert got is not None and got[0] == got[1]
    assert "one" in got[0] and "two" not in got[0]


def test_errors_like_transformers(pair):
    mine, theirs = pair
    bad_roles = [{"role": "assistant", "content": "x"}]
    sandboxed = "{{ ''.__class__.__mro__[1].__subclasses__() }}"
    for template in (LLAMA2_CHAT, sandboxed, "{{ raise_exception('no') }}"):
        for tok in (mine, theirs):
            with pytest.raises(jinja2.exceptions.TemplateError):
                tok.apply_chat_template(bad_roles, chat_template=template)
    for kwargs, match in (({"return_dict": True, "tokenize": False}, "return_dict"),
                          ({"return_assistant_tokens_mask": True}, "return_dict"),
                          ({"continue_final_message": True, "add_generation_prompt": True}, "not compatible"),
                          ({"documents": ["not a dict"]}, "Documents")):
        for tok in (mine, theirs):
            with pytest.raises((ValueError, TypeError), match=match):
                tok.apply_chat_template(CHATS[0], chat_template=LLAMA2_CHAT, **kwargs)
    fresh = load_ours(pair[0].name_or_path)
    with pytest.raises(ValueError, match="chat_template is not set"):
        fresh.apply_chat_template(CHATS[0])
    with pytest.raises(TypeError, match="get_json_schema"):
        mine.apply_chat_template(CHATS[0], chat_template=LLAMA2_CHAT, tools=[len])


def test_named_templates(pair):
    mine, theirs = pair
    named = {"default": LLAMA2_CHAT, "tool_use": CODELLAMA_INSTRUCT + "{{ tools | length }}",
             "70b": CODELLAMA_70B_INSTRUCT}
    saved = mine.chat_template, theirs.chat_template
    try:
        for tok in (mine, theirs):
            tok.chat_template = named
        for kwargs in ({}, {"chat_template": "70b"}, {"tools": [{"name": "x"}]}):
            got = both(mine, theirs, "apply_chat_template", CHATS[1], tokenize=False, **kwargs)
            assert got is not None and got[0] == got[1], kwargs
        for tok in (mine, theirs):
            tok.chat_template = {"a": LLAMA2_CHAT, "b": CODELLAMA_INSTRUCT}
            with pytest.raises(ValueError, match="no default"):
                tok.apply_chat_template(CHATS[0])
    finally:
        mine.chat_template, theirs.chat_template = saved


def test_encode_message_with_chat_template(pair):
    mine, theirs = pair
    history = CHATS[1][:3]
    for kwargs in ({"conversation_history": history}, {}):
        got = both(mine, theirs, "encode_message_with_chat_template", CHATS[1][3], chat_template=LLAMA2_CHAT,
                   **kwargs)
        assert got is not None and got[0] == got[1]


@pytest.mark.parametrize("jinja_files", [True, False])
def test_saved_and_loaded_as_transformers_does(folder, tmp_path, jinja_files):
    mine, theirs = load_ours(folder), load_oracle(folder)
    for tok, name in ((mine, "ours"), (theirs, "theirs")):
        tok.chat_template = LLAMA2_CHAT
        tok.save_pretrained(tmp_path / name, save_jinja_files=jinja_files)
    assert (tmp_path / "ours" / "chat_template.jinja").is_file() is jinja_files
    assert sorted(p.name for p in (tmp_path / "ours").iterdir() if "chat" in p.name) == \
        sorted(p.name for p in (tmp_path / "theirs").iterdir() if "chat" in p.name)
    config = json.loads((tmp_path / "ours" / "tokenizer_config.json").read_text())
    assert ("chat_template" in config) is not jinja_files
    for saved in ("ours", "theirs"):
        assert load_ours(tmp_path / saved).chat_template == LLAMA2_CHAT
        assert load_oracle(tmp_path / saved).chat_template == LLAMA2_CHAT
    assert load_ours(tmp_path / "ours")._behaviour_key()[1] == mine._behaviour_key()[1]  # every setting kept
    again = pickle.loads(pickle.dumps(mine))
    assert again.chat_template == LLAMA2_CHAT and again == mine
    mine.chat_template = None
    assert again != mine  # the template is part of what a tokenizer is


def test_named_templates_saved_and_loaded(folder, tmp_path):
    named = {"default": LLAMA2_CHAT, "tool_use": CODELLAMA_INSTRUCT}
    mine = load_ours(folder, chat_template=named)
    written = mine.save_pretrained(tmp_path / "ours")
    assert str(tmp_path / "ours" / "additional_chat_templates" / "tool_use.jinja") in written
    assert load_oracle(tmp_path / "ours").chat_template == named
    assert load_ours(tmp_path / "ours").chat_template == named
    mine.save_pretrained(tmp_path / "config", save_jinja_files=False)
    listed = json.loads((tmp_path / "config" / "tokenizer_config.json").read_text())["chat_template"]
    assert listed == [{"name": "default", "template": LLAMA2_CHAT},
                      {"name": "tool_use", "template": CODELLAMA_INSTRUCT}]
    assert load_oracle(tmp_path / "config").chat_template == named == load_ours(tmp_path / "config").chat_template


def test_template_in_tokenizer_config(folder, tmp_path):
    """A Hub folder whose tokenizer_config.json holds the template (as the Instruct models' do)."""
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        if (folder / name).is_file():
            shutil.copyfile(folder / name, tmp_path / name)
    config = json.loads((tmp_path / "tokenizer_config.json").read_text())
    config["chat_template"] = CODELLAMA_INSTRUCT
    (tmp_path / "tokenizer_config.json").write_text(json.dumps(config))
    mine, theirs = load_ours(tmp_path), load_oracle(tmp_path)
    assert mine.chat_template == theirs.chat_template == CODELLAMA_INSTRUCT
    assert mine.apply_chat_template(CHATS[1]) == theirs.apply_chat_template(CHATS[1])
    (tmp_path / "chat_template.jinja").write_text(LLAMA2_CHAT)  # the .jinja file wins, as in transformers
    assert load_ours(tmp_path).chat_template == load_oracle(tmp_path).chat_template == LLAMA2_CHAT


def test_jinja_missing(ours, monkeypatch):
    from llamatok import chat_render

    chat_render.compile_template.cache_clear()
    monkeypatch.setitem(__import__("sys").modules, "jinja2", None)
    with pytest.raises(ImportError, match=r"llamatok\[chat\]"):
        ours.apply_chat_template(CHATS[0], chat_template=LLAMA2_CHAT + "{# uncached #}")
    monkeypatch.undo()
    chat_render.compile_template.cache_clear()


def test_assistant_masks_on_threads(pair):
    """The {% generation %} tracking is per thread: chats rendered at once get their own masks."""
    from concurrent.futures import ThreadPoolExecutor

    mine = pair[0]
    chats = [[{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": "a " * i}] for i in range(1, 40)]
    kwargs = {"chat_template": LLAMA2_GENERATION, "return_dict": True, "return_assistant_tokens_mask": True}
    alone = [mine.apply_chat_template(c, **kwargs)["assistant_masks"] for c in chats]
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(lambda c: mine.apply_chat_template(c, **kwargs)["assistant_masks"], chats))
    assert together == alone and all(any(m) for m in alone)
