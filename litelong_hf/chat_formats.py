"""Chat formats: render chat ``messages`` as the target tokenizer's chat template does, and count them exactly.

A :class:`ChatFormat` renders messages to the string the template produces and tokenizes it with special
tokens recognised (a template's ``<|eot_id|>`` is one token, not six), so ``count(messages)`` equals
``len(tokenizer(render(messages)))`` of a Hugging Face tokenizer without extra BOS. The packaged Llama-3
tokenizer ships no chat template, so the Llama-3 format is built in (:class:`Llama3ChatFormat`); a tokenizer
with its own Jinja ``chat_template`` uses that (:class:`JinjaChatFormat`). :func:`chat_format` picks one.
:mod:`litelong_hf.chat` lays instruction rows out with them and re-exports these names.
"""

from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import cache, cached_property
from pathlib import Path
from typing import Any

from .tokens import TokenCounter

Message = Mapping[str, str]

LLAMA3_BOS = "<|begin_of_text|>"
LLAMA3_START_HEADER = "<|start_header_id|>"
LLAMA3_END_HEADER = "<|end_header_id|>"
LLAMA3_EOT = "<|eot_id|>"
_LLAMA3_SPECIALS = (LLAMA3_BOS, LLAMA3_START_HEADER, LLAMA3_END_HEADER, LLAMA3_EOT)


class ChatTemplateError(ValueError):
    """No usable chat template for the target tokenizer; the message names the ``chat_template`` fix."""


# -- special tokens ---------------------------------------------------------------------------------------


def added_tokens(counter: TokenCounter) -> dict[str, int]:
    """The tokenizer's added tokens (``<|eot_id|>``...) as ``{text: id}``, from its ``tokenizer.json``."""
    if counter.folder is None:
        return {}
    return dict(_added_tokens_of(str(counter.folder / "tokenizer.json")))


@cache
def _added_tokens_of(path: str) -> tuple[tuple[str, int], ...]:
    file = Path(path)
    if not file.is_file():
        return ()
    data = json.loads(file.read_text(encoding="utf-8"))
    return tuple((str(t["content"]), int(t["id"])) for t in data.get("added_tokens", []))


def encode_with_special_tokens(counter: TokenCounter, text: str, specials: Mapping[str, int]) -> list[int]:
    """Token ids of ``text`` where every occurrence of a special token's text is that one token.

    This is what Hugging Face tokenizers do with added tokens in the input (the longest one wins where two
    overlap); the pieces between them are encoded as ordinary text.
    """
    if not specials:
        return counter.encode(text)
    pattern = _special_pattern(tuple(sorted(specials)))
    ids: list[int] = []
    position = 0
    for match in pattern.finditer(text):
        if match.start() > position:
            ids.extend(counter.encode(text[position : match.start()]))
        ids.append(specials[match.group()])
        position = match.end()
    if position < len(text):
        ids.extend(counter.encode(text[position:]))
    return ids


@cache
def _special_pattern(specials: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(s) for s in sorted(specials, key=len, reverse=True)))


# -- formats ----------------------------------------------------------------------------------------------


class ChatFormat(ABC):
    """A chat template bound to a tokenizer: render messages and count their tokens exactly."""

    name: str

    def __init__(self, counter: TokenCounter) -> None:
        self.counter = counter
        self.specials = added_tokens(counter)

    @abstractmethod
    def render(self, messages: Sequence[Message]) -> str:
        """The templated string (no generation prompt: rows end with an assistant answer)."""

    def encode(self, messages: Sequence[Message]) -> list[int]:
        """Token ids of :meth:`render`, special tokens recognised."""
        return encode_with_special_tokens(self.counter, self.render(messages), self.specials)

    def count(self, messages: Sequence[Message]) -> int:
        """Exact token count of the templated conversation."""
        return len(self.encode(messages))

    def text_tokens(self, text: str) -> int:
        """Tokens of ``text`` placed inside a message (special-token texts count as one token)."""
        return len(encode_with_special_tokens(self.counter, text, self.specials))

    @abstractmethod
    def message_tokens(self, role: str, content: str) -> int:
        """Tokens one message adds to a conversation (exact where the format's messages add up)."""

    @property
    @abstractmethod
    def base_tokens(self) -> int:
        """Tokens of the conversation around its messages (e.g. the BOS token)."""

    @property
    def additive(self) -> bool:
        """True when ``base_tokens + sum(message_tokens)`` is the exact count (no estimate)."""
        return False


class Llama3ChatFormat(ChatFormat):
    """Meta's Llama-3 Instruct format, as its official template writes it::

        <|begin_of_text|><|start_header_id|>{role}<|end_header_id|>\\n\\n{content | trim}<|eot_id|>...

    Every message is enclosed in special tokens, so the count of a conversation is exactly the BOS token plus
    the count of each message on its own.
    """

    name = "llama-3"

    def __init__(self, counter: TokenCounter) -> None:
        super().__init__(counter)
        missing = [s for s in _LLAMA3_SPECIALS if s not in self.specials]
        if missing:
            raise ChatTemplateError(
                f"Tokenizer {counter.name!r} lacks the Llama-3 special tokens {missing}, so the built-in Llama-3 "
                "chat format cannot be used with it. Set chat_template to a Jinja template file (or leave it "
                "'auto' for a tokenizer that ships one)."
            )

    @staticmethod
    def _message(role: str, content: str) -> str:
        return f"{LLAMA3_START_HEADER}{role}{LLAMA3_END_HEADER}\n\n{content.strip()}{LLAMA3_EOT}"

    def render(self, messages: Sequence[Message]) -> str:
        return LLAMA3_BOS + "".join(self._message(m["role"], m["content"]) for m in messages)

    def message_tokens(self, role: str, content: str) -> int:
        return self.text_tokens(self._message(role, content))

    @property
    def base_tokens(self) -> int:
        return 1

    @property
    def additive(self) -> bool:
        return True


def _raise_exception(message: str) -> None:
    raise ChatTemplateError(f"The chat template refused the messages: {message}")


def _strftime_now(format: str) -> str:
    return datetime.now().strftime(format)


def _token_text(value: Any) -> str:
    if isinstance(value, Mapping):
        return str(value.get("content") or "")
    return str(value or "")


class JinjaChatFormat(ChatFormat):
    """A Hugging Face style Jinja chat template (``tokenizer_config.json``'s ``chat_template`` or a file),
    rendered the way ``transformers`` does (sandboxed, ``trim_blocks``/``lstrip_blocks``, ``bos_token``...).

    Messages need not add up under an arbitrary template: :meth:`message_tokens` is an estimate from a probe
    conversation and :meth:`count` is always the exact count of the rendered string.
    """

    name = "jinja"

    def __init__(self, counter: TokenCounter, template: str, *, name: str = "jinja") -> None:
        super().__init__(counter)
        from jinja2.exceptions import TemplateError
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        self.name = name
        environment = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
        environment.globals["raise_exception"] = _raise_exception
        environment.globals["strftime_now"] = _strftime_now
        try:
            self.template = environment.from_string(template)
        except TemplateError as exc:
            raise ChatTemplateError(f"Chat template {name!r} is not valid Jinja: {exc}") from exc
        config = _tokenizer_config(counter)
        self.bos_token = _token_text(config.get("bos_token"))
        self.eos_token = _token_text(config.get("eos_token"))

    def render(self, messages: Sequence[Message], *, generation_prompt: bool = False) -> str:
        from jinja2.exceptions import TemplateError

        try:
            return str(
                self.template.render(
                    messages=[dict(m) for m in messages],
                    bos_token=self.bos_token,
                    eos_token=self.eos_token,
                    add_generation_prompt=generation_prompt,
                )
            )
        except TemplateError as exc:
            raise ChatTemplateError(f"Chat template {self.name!r} failed to render: {exc}") from exc

    @cached_property
    def _probe(self) -> tuple[int, dict[str, int]]:
        """``(base, per-role overhead)`` measured on a small conversation with one-word contents."""
        word = "x"
        size = self.text_tokens(word)
        user, assistant = {"role": "user", "content": word}, {"role": "assistant", "content": word}
        one = self.count([user])
        two = self.count([user, assistant])
        three = self.count([user, assistant, user])
        overhead = {"assistant": two - one - size, "user": three - two - size}
        try:
            overhead["system"] = self.count([{"role": "system", "content": word}, user]) - one - size
        except ChatTemplateError:  # a template may refuse a system message; estimate it as a user message
            overhead["system"] = overhead["user"]
        return max(0, one - size - overhead["user"]), overhead

    def message_tokens(self, role: str, content: str) -> int:
        _, overhead = self._probe
        return self.text_tokens(content.strip()) + overhead.get(role, overhead["user"])

    @property
    def base_tokens(self) -> int:
        return self._probe[0]


def _tokenizer_config(counter: TokenCounter) -> dict[str, Any]:
    if counter.folder is None:
        return {}
    path = counter.folder / "tokenizer_config.json"
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


_FORMATS: dict[tuple[str, str], ChatFormat] = {}


def chat_format(tokenizer: str = "llama-3", template: str = "auto") -> ChatFormat:
    """The chat format rows of ``tokenizer`` are counted with (cached per process).

    ``template``: ``"auto"`` (the tokenizer's own Jinja template, else the built-in Llama-3 format when the
    tokenizer has Llama-3's special tokens), ``"llama-3"``, a path to a Jinja file, or an inline Jinja
    template. Raises :class:`ChatTemplateError` naming the fix when none applies.
    """
    key = (tokenizer, template)
    if key not in _FORMATS:
        _FORMATS[key] = _make_format(TokenCounter.get(tokenizer), template)
    return _FORMATS[key]


def _make_format(counter: TokenCounter, template: str) -> ChatFormat:
    if template in ("llama-3", "llama3"):
        return Llama3ChatFormat(counter)
    if template == "auto":
        if counter.chat_template:
            return JinjaChatFormat(
                counter, counter.chat_template, name=f"{Path(counter.name).name}:chat_template"
            )
        if all(s in added_tokens(counter) for s in _LLAMA3_SPECIALS):
            return Llama3ChatFormat(counter)
        raise ChatTemplateError(
            f"Tokenizer {counter.name!r} has no chat template and is not a Llama-3 tokenizer, so instruction rows "
            "cannot be counted. Set chat_template to a Jinja template file (or 'llama-3' for a tokenizer with "
            "Llama-3's special tokens)."
        )
    if "{{" in template or "{%" in template:
        return JinjaChatFormat(counter, template, name="inline")
    path = Path(template).expanduser()
    if path.is_file():
        return JinjaChatFormat(counter, path.read_text(encoding="utf-8"), name=path.name)
    raise ChatTemplateError(
        f"chat_template {template!r} is neither 'auto', 'llama-3', an existing Jinja file nor a Jinja template."
    )
