"""Chat-template token counting (checked against an independent recount) and instruction-row assembly."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from litelong_hf.chat import (
    DOCUMENTS_INTRO,
    ChatBudget,
    ChatTemplateError,
    JinjaChatFormat,
    Llama3ChatFormat,
    QATurn,
    build_messages,
    chat_format,
    document_block,
    encode_with_special_tokens,
    fit_messages,
)
from litelong_hf.rows import INSTRUCTION_SCHEMA, instruction_row, instruction_table
from litelong_hf.strategies.base import ConversationDraft
from litelong_hf.tokens import TokenCounter

# The independent recount: the `tokenizers` library itself (not the tiktoken fast path the counter uses),
# which matches every added token (<|eot_id|>...) in the input text, like a trainer's tokenizer does.
RECOUNT = TokenCounter.get("llama-3", prefer_tiktoken=False)

# Our own Jinja rendering of the Llama-3 Instruct format, as a tokenizer_config.json would carry it.
LLAMA3_JINJA = (
    "{% for message in messages %}"
    "{% if loop.first %}{{ bos_token }}{% endif %}"
    "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}"
)

contents = st.lists(
    st.one_of(
        st.sampled_from(list("ab .?\n\t")),
        st.sampled_from(["<|eot_id|>", "<|start_header_id|>", "é", "🙂", "  ", "\n\n", "word "]),
        st.characters(codec="utf-8"),
    ),
    max_size=40,
).map("".join)
roles = st.sampled_from(["system", "user", "assistant"])
conversations = st.lists(st.tuples(roles, contents), min_size=0, max_size=6).map(
    lambda pairs: [{"role": r, "content": c} for r, c in pairs]
)


def recount(text: str) -> int:
    return len(RECOUNT.encode(text))


def test_llama3_render_is_the_official_format() -> None:
    fmt = chat_format("llama-3")
    assert isinstance(fmt, Llama3ChatFormat)
    messages = [{"role": "user", "content": "  Hi there \n"}, {"role": "assistant", "content": "Hello."}]
    assert fmt.render(messages) == (
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|>"
    )
    ids = fmt.encode(messages)
    assert ids[:2] == [128000, 128006] and ids[-1] == 128009
    assert ids == RECOUNT.encode(fmt.render(messages))


@settings(max_examples=120, deadline=None)
@given(messages=conversations)
def test_llama3_count_equals_an_independent_recount_and_adds_up(messages: list[dict[str, str]]) -> None:
    fmt = chat_format("llama-3")
    rendered = fmt.render(messages)
    assert fmt.count(messages) == recount(rendered)
    assert fmt.encode(messages) == RECOUNT.encode(rendered)
    # Every message is enclosed in special tokens: the parts add up exactly.
    assert fmt.base_tokens + sum(fmt.message_tokens(m["role"], m["content"]) for m in messages) == fmt.count(
        messages
    )


def test_special_token_text_inside_content_counts_as_one_token() -> None:
    fmt = chat_format("llama-3")
    counter = TokenCounter.get()
    text = "before <|eot_id|> after"
    assert encode_with_special_tokens(counter, text, fmt.specials) == RECOUNT.encode(text)
    assert len(counter.encode(text)) > len(RECOUNT.encode(text))  # the ordinary encoding spells it out


@pytest.fixture
def jinja_tokenizer(tmp_path: Path) -> str:
    """A copy of the Llama-3 tokenizer whose tokenizer_config.json carries a Jinja chat template."""
    source = TokenCounter.get().folder
    assert source is not None
    folder = tmp_path / "llama3-with-template"
    folder.mkdir()
    shutil.copy(source / "tokenizer.json", folder / "tokenizer.json")
    config = json.loads((source / "tokenizer_config.json").read_text())
    config["chat_template"] = LLAMA3_JINJA
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    return str(folder)


def test_a_tokenizers_own_jinja_template_is_used_and_counts_exactly(jinja_tokenizer: str) -> None:
    fmt = chat_format(jinja_tokenizer)
    assert isinstance(fmt, JinjaChatFormat)
    llama3 = chat_format("llama-3")
    messages = [
        {"role": "user", "content": "Read this.\n\nWhat is it?"},
        {"role": "assistant", "content": "A test."},
        {"role": "user", "content": "Sure?"},
        {"role": "assistant", "content": "Yes."},
    ]
    assert fmt.render(messages) == llama3.render(messages)
    assert fmt.count(messages) == llama3.count(messages) == recount(fmt.render(messages))
    # The per-message estimate is exact for this template too.
    assert fmt.base_tokens + sum(fmt.message_tokens(m["role"], m["content"]) for m in messages) == fmt.count(
        messages
    )


def test_template_from_a_file_or_inline(tmp_path: Path) -> None:
    path = tmp_path / "template.jinja"
    path.write_text(LLAMA3_JINJA)
    messages = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."}]
    expected = chat_format("llama-3").count(messages)
    assert chat_format("llama-3", str(path)).count(messages) == expected
    assert chat_format("llama-3", LLAMA3_JINJA).count(messages) == expected


def test_missing_template_names_the_fix(tmp_path: Path) -> None:
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace

    tokenizer = Tokenizer(WordLevel({"[UNK]": 0, "hello": 1}, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = Whitespace()
    folder = tmp_path / "plain"
    folder.mkdir()
    tokenizer.save(str(folder / "tokenizer.json"))
    with pytest.raises(ChatTemplateError, match="Set chat_template"):
        chat_format(str(folder))
    with pytest.raises(ChatTemplateError, match="lacks the Llama-3 special tokens"):
        chat_format(str(folder), "llama-3")
    with pytest.raises(ChatTemplateError, match="neither"):
        chat_format("llama-3", "no-such-template")
    with pytest.raises(ChatTemplateError, match="refused"):
        chat_format("llama-3", "{{ raise_exception('only user turns') }}").count(
            [{"role": "user", "content": "x"}]
        )


def _turns(n: int, doc_index: int = 0) -> list[QATurn]:
    return [
        QATurn(
            f"About document {doc_index + 1}: What is item {i}?",
            f"Item {i} is a thing.",
            "small",
            "detail",
            doc_index,
        )
        for i in range(n)
    ]


def test_messages_alternate_and_the_first_user_turn_holds_the_documents() -> None:
    blocks = [document_block(1, " First text. \n"), document_block(2, "Second text.")]
    messages = build_messages(blocks, _turns(3))
    assert [m["role"] for m in messages] == ["user", "assistant"] * 3
    first = messages[0]["content"]
    assert first.startswith(DOCUMENTS_INTRO)
    assert '<document index="1">\nFirst text.\n</document>' in first
    assert first.index('index="1"') < first.index('index="2"') < first.index("What is item 0?")
    assert messages[2]["content"] == "About document 1: What is item 1?"


def test_budget_plans_the_exact_count() -> None:
    fmt = chat_format("llama-3")
    budget = ChatBudget(fmt)
    blocks = [
        document_block(1, "The first document. It has text."),
        document_block(2, "Zweites Dokument: 42."),
    ]
    turns = _turns(2) + _turns(2, doc_index=1)
    for block in blocks:
        budget.add(budget.block_tokens(block), 0)
    budget.add(budget.turns_tokens(turns[:2], first_turn=0), 2)
    budget.add(budget.turns_tokens(turns[2:], first_turn=2), 2)
    messages, kept, n_tokens = fit_messages(fmt, blocks, turns, 10_000)
    assert kept == turns
    assert budget.used == n_tokens == fmt.count(messages) == recount(fmt.render(messages))


def test_fit_drops_trailing_turns_and_refuses_documents_over_the_target() -> None:
    fmt = chat_format("llama-3")
    blocks = [document_block(1, "Some document text.")]
    turns = _turns(5)
    full = fmt.count(build_messages(blocks, turns))
    messages, kept, n_tokens = fit_messages(fmt, blocks, turns, full - 1)
    assert kept == turns[:4] and n_tokens <= full - 1 and len(messages) == 8
    with pytest.raises(ValueError, match="documents alone"):
        fit_messages(fmt, blocks, turns, 10)


def test_instruction_row_fits_the_schema() -> None:
    fmt = chat_format("llama-3")
    blocks = [document_block(1, "Text.")]
    turns = _turns(2)
    messages, kept, n_tokens = fit_messages(fmt, blocks, turns, 1000)
    draft = ConversationDraft(
        messages=messages,
        n_tokens=n_tokens,
        documents=[{"doc_id": "doc-1", "n_tokens": 2}],
        questions=[{"level": t.level, "kind": t.kind, "doc_index": t.doc_index} for t in kept],
    )
    row = instruction_row(
        draft, id="abc/00000/000000", tokenizer="llama-3", strategy="hierarchical", config_hash="abc"
    )
    table = instruction_table(row)
    assert table.schema == INSTRUCTION_SCHEMA
    assert table.column("questions").to_pylist()[0] == [
        {"level": "small", "kind": "detail", "doc_index": 0},
        {"level": "small", "kind": "detail", "doc_index": 0},
    ]
    assert isinstance(table.column("n_tokens"), pa.ChunkedArray)


class _CountingFormat(Llama3ChatFormat):
    """The Llama-3 format counting how many whole conversations it counts; ``under`` makes its per-message
    estimate that many tokens too low (an estimating, non-additive template)."""

    def __init__(self, fmt: Llama3ChatFormat, *, under: int = 0) -> None:
        self.__dict__.update(fmt.__dict__)
        self.under = under
        self.full_counts = 0

    def count(self, messages: Any) -> int:
        self.full_counts += 1
        return super().count(messages)

    def message_tokens(self, role: str, content: str) -> int:
        return super().message_tokens(role, content) - self.under

    @property
    def additive(self) -> bool:
        return self.under == 0


@pytest.mark.parametrize("under", [0, 3])
def test_fit_messages_counts_each_turn_once_not_the_conversation_per_drop(under: int) -> None:
    base = chat_format("llama-3")
    assert isinstance(base, Llama3ChatFormat)
    fmt = _CountingFormat(base, under=under)
    blocks = [document_block(1, "Some document text. " * 20)]
    turns = _turns(200)
    full = base.count(build_messages(blocks, turns))
    target = full - 150 * 2 * base.message_tokens("user", turns[-1].question)  # about 150 turns must go
    messages, kept, n_tokens = fit_messages(fmt, blocks, turns, target)
    assert n_tokens == base.count(messages) <= target
    assert base.count(build_messages(blocks, turns[: len(kept) + 1])) > target  # the longest prefix that fits
    assert 10 < len(kept) < 100
    # Exact template: one check, however many turns were dropped; an estimate: a binary search.
    assert fmt.full_counts == 1 if under == 0 else 1 < fmt.full_counts <= 1 + 8
