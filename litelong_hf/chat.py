"""Chat rows: exact token counts with the target tokenizer's chat template, and instruction-row layout.

This is the instruction-row analogue of :mod:`litelong_hf.packing`: a strategy decides which documents and
question/answer turns belong together; this module lays them out as chat ``messages`` (the first user turn
holds the numbered, delimited documents and the first question, then user/assistant turns alternate),
and counts the tokens exactly as a trainer would see them (``rows.py`` turns the result into a row).

Counting: a :class:`ChatFormat` (:mod:`litelong_hf.chat_formats`, whose public names are re-exported here)
renders messages as the tokenizer's chat template does and counts them exactly; the built-in Llama-3 format
serves the packaged tokenizer, a tokenizer's own Jinja ``chat_template`` serves any other.

Example::

    fmt = chat_format("llama-3")
    messages = build_messages([document_block(1, text)], [QATurn("About document 1: Who?", "Ann.", ...)])
    assert fmt.count(messages) == len(fmt.encode(messages))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .chat_formats import LLAMA3_BOS as LLAMA3_BOS
from .chat_formats import LLAMA3_END_HEADER as LLAMA3_END_HEADER
from .chat_formats import LLAMA3_EOT as LLAMA3_EOT
from .chat_formats import LLAMA3_START_HEADER as LLAMA3_START_HEADER
from .chat_formats import ChatFormat
from .chat_formats import ChatTemplateError as ChatTemplateError
from .chat_formats import JinjaChatFormat as JinjaChatFormat
from .chat_formats import Llama3ChatFormat as Llama3ChatFormat
from .chat_formats import Message as Message
from .chat_formats import added_tokens as added_tokens
from .chat_formats import chat_format as chat_format
from .chat_formats import encode_with_special_tokens as encode_with_special_tokens

DOCUMENTS_INTRO = "Read the documents below, then answer the questions about them."
"""First line of every row's first user turn."""


# -- rows -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QATurn:
    """One question/answer turn of a row, as shown (the question already says which document it is about)."""

    question: str
    answer: str
    level: str
    """``global``, ``medium``, ``small``, ``diverse`` or ``revisit``."""
    kind: str
    """What was asked: ``summary``, ``detail``, ``multi_hop``, ``comparison``..."""
    doc_index: int
    """Index (from 0) of the document in the row's ``documents``."""


def document_block(number: int, text: str) -> str:
    """One numbered, delimited document of the first user turn (``number`` counts from 1)."""
    return f'<document index="{number}">\n{text.strip()}\n</document>\n\n'


def first_user_content(blocks: Sequence[str], first_question: str | None) -> str:
    """The first user turn: the intro, every document block, then the first question."""
    return f"{DOCUMENTS_INTRO}\n\n{''.join(blocks)}{first_question or ''}"


def build_messages(blocks: Sequence[str], turns: Sequence[QATurn]) -> list[dict[str, str]]:
    """Chat messages of a row: documents plus the first question, then alternating answers and questions."""
    messages = [{"role": "user", "content": first_user_content(blocks, turns[0].question if turns else None)}]
    for i, turn in enumerate(turns):
        if i > 0:
            messages.append({"role": "user", "content": turn.question})
        messages.append({"role": "assistant", "content": turn.answer})
    return messages


class ChatBudget:
    """Running token count of a row being planned, from the sizes of its parts.

    The first user turn is counted as its parts (intro, document blocks, first question): the blocks end in a
    blank line and questions start with a letter, where the Llama-3 pre-tokenizer always splits, so the parts
    add up. The plan is checked with an exact count of the finished row (:func:`fit_messages`).
    """

    def __init__(self, fmt: ChatFormat) -> None:
        self.fmt = fmt
        head = DOCUMENTS_INTRO + "\n\n"
        user_overhead = fmt.message_tokens("user", DOCUMENTS_INTRO) - fmt.text_tokens(DOCUMENTS_INTRO)
        self.used = fmt.base_tokens + user_overhead + fmt.text_tokens(head)
        self.turns = 0

    def block_tokens(self, block: str) -> int:
        return self.fmt.text_tokens(block)

    def turns_tokens(self, turns: Sequence[QATurn], *, first_turn: int) -> int:
        """Tokens of ``turns`` when the first of them is turn number ``first_turn`` of the row (from 0)."""
        total = 0
        for offset, turn in enumerate(turns):
            if first_turn + offset == 0:
                total += self.fmt.text_tokens(turn.question)
            else:
                total += self.fmt.message_tokens("user", turn.question)
            total += self.fmt.message_tokens("assistant", turn.answer)
        return total

    def add(self, tokens: int, turns: int) -> None:
        self.used += tokens
        self.turns += turns


def fit_messages(
    fmt: ChatFormat, blocks: Sequence[str], turns: Sequence[QATurn], target: int
) -> tuple[list[dict[str, str]], list[QATurn], int]:
    """The messages of ``blocks`` and the longest prefix of ``turns`` that fits ``target``, counted exactly.

    Returns ``(messages, kept turns, n_tokens)``; raises ``ValueError`` when even the documents alone are over
    ``target``. Each turn is counted once on its own (linear in the row): for an additive format (Llama-3)
    the sum of the parts is the exact count, so the kept prefix is found by subtraction and checked with one
    full count; for any other template the estimate's prefix is checked with full counts in a binary search
    (``log2(turns)`` renders at most).
    """
    budget = ChatBudget(fmt)
    total = budget.used + sum(budget.block_tokens(b) for b in blocks)
    keep = 0
    for turn in turns:
        size = budget.turns_tokens([turn], first_turn=keep)
        if total + size > target:
            break
        total += size
        keep += 1

    def exact(n: int) -> tuple[list[dict[str, str]], int]:
        messages = build_messages(blocks, turns[:n])
        return messages, fmt.count(messages)

    messages, n_tokens = exact(keep)
    if n_tokens > target:  # only an estimating (non-additive) template gets here
        low, high = 0, keep - 1  # the answer is the largest n in [0, high] that fits, if any
        best: tuple[int, list[dict[str, str]], int] | None = None
        while low <= high:
            middle = (low + high) // 2
            candidate, count = exact(middle)
            if count <= target:
                best, low = (middle, candidate, count), middle + 1
            else:
                high = middle - 1
        if best is None:
            raise ValueError(f"the documents alone take more than target {target} tokens")
        keep, messages, n_tokens = best
    return messages, list(turns[:keep]), n_tokens
