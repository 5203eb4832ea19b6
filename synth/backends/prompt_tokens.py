"""Chat prompts to token ids where message contents are data: a special-token string inside a message (corpus
text saying `<|im_end|>`) is tokenized as plain text, never as the control token it spells.

The chat template is rendered with a placeholder for each message's content; the template's own text between
placeholders is tokenized normally (its control tokens stay control tokens) and each content with
`split_special_tokens=True`. On text without special-token strings the ids equal tokenizing the rendered
prompt in one go (tests/synth/test_prompt_tokens.py checks it), so ordinary prompts are unchanged.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Sequence

from synth.backends.base import Message

_SLOT = "\u2063CSYNTH{}\u2063"  # an invisible separator around a number: no template edits or emits it
_SLOT_RE = re.compile("\u2063CSYNTH(\\d+)\u2063")


def content_ids(tokenizer: Any, text: str) -> list[int]:
    """Plain-text ids: special-token strings are split into ordinary tokens."""
    return tokenizer(text, add_special_tokens=False, split_special_tokens=True)["input_ids"]


def escape_specials(tokenizer: Any, text: str) -> str:
    """Fallback for templates that rewrite contents: break each special-token string with a space after `<`."""
    for tok in sorted(
        getattr(tokenizer, "all_special_tokens", []) + list(tokenizer.get_added_vocab()), key=len, reverse=True
    ):
        if len(tok) > 1 and tok in text:
            text = text.replace(tok, tok[0] + " " + tok[1:])
    return text


def prompt_ids(
    tokenizer: Any, messages: Sequence[Message], render: Callable[[list[Message]], str], add_special_tokens: bool
) -> list[int]:
    """Token ids of `render(messages)` with every message content tokenized as plain text."""
    slotted = [{**m, "content": _SLOT.format(i)} for i, m in enumerate(messages)]
    text = render(slotted)
    parts = _SLOT_RE.split(text)  # template, index, template, index, ..., template
    order = [int(p) for p in parts[1::2]]
    if sorted(order) != list(range(len(messages))):  # the template dropped or copied a content: escape instead
        safe = [{**m, "content": escape_specials(tokenizer, m["content"])} for m in messages]
        ids = tokenizer(render(safe), add_special_tokens=False)["input_ids"]
    else:
        ids = []
        for k, piece in enumerate(parts):
            if k % 2 == 0:
                ids += tokenizer(piece, add_special_tokens=False)["input_ids"] if piece else []
            else:
                ids += content_ids(tokenizer, messages[int(piece)]["content"])
    return with_special_tokens(tokenizer, ids) if add_special_tokens else ids


def with_special_tokens(tokenizer: Any, ids: list[int]) -> list[int]:
    """`ids` wrapped the way the tokenizer wraps a text (BOS and/or EOS), for models without a chat template."""
    bare = tokenizer("a", add_special_tokens=False)["input_ids"]
    full = tokenizer("a", add_special_tokens=True)["input_ids"]
    start = next((i for i in range(len(full) - len(bare) + 1) if full[i : i + len(bare)] == bare), 0)
    return full[:start] + ids + full[start + len(bare) :]


def render_plain(messages: Sequence[Message]) -> str:
    """Prompt text for models without a chat template (base models such as Gemma 3 270M)."""
    lines = []
    for m in messages:
        role = {"system": "", "user": "Input: ", "assistant": "Output: "}.get(m["role"], "")
        lines.append(f"{role}{m['content']}")
    return "\n".join(lines) + "\nOutput:"


def render_chat(tokenizer: Any, messages: Sequence[Message]) -> str:
    """The prompt text a locally tokenizing backend sends: the model's chat template, or the plain layout."""
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=True)
    return render_plain(messages)


def chat_prompt_ids(tokenizer: Any, messages: Sequence[Message]) -> list[int]:
    """Token ids of `render_chat`, message contents as plain text (BOS/EOS added only without a template,
    where the template does not write them itself)."""
    return prompt_ids(
        tokenizer,
        messages,
        lambda m: render_chat(tokenizer, m),
        add_special_tokens=not getattr(tokenizer, "chat_template", None),
    )
