"""A RULER-style long-context suite, generated offline and seeded, at exact token lengths.

Every sample's ``input`` (the user prompt, without chat template or special tokens) is exactly ``length``
tokens in the evaluated model's tokenizer, and every needle sits at the requested depth of the haystack
(snapped to the nearest sentence or word boundary, a few tokens at most; the actual depth is recorded).

Tasks (after Hsieh et al., RULER, 2024; the names say what varies):

========================== ==============================================================================
``niah_single_noise_number``  one needle, repeated-noise haystack, a 7-digit number (RULER niah_single_1)
``niah_single_corpus_number`` one needle, corpus haystack (the demo news by default), a number (niah_single_2)
``niah_single_corpus_word``   one needle, corpus haystack, a word value
``niah_single_corpus_uuid``   one needle, corpus haystack, a UUID value (niah_single_3)
``niah_multikey``             four needles with different keys, one queried (niah_multikey_1)
``niah_multivalue``           four values for one key, all asked for (niah_multivalue)
``niah_multiquery``           four keys, all queried at once (niah_multiquery)
``vt``                        variable tracking: a chain of ``VAR X = VAR Y`` assignments with hops
``cwe``                       common-words extraction from a numbered word list (no needle, no depth)
``passkey``                   the classic pass key in repeated noise
========================== ==============================================================================

Example::

    from litelong_hf.evaluation.ruler import SuiteConfig, generate_suite
    from litelong_hf.tokens import TokenCounter

    samples = list(generate_suite(SuiteConfig(tasks=("niah_multikey",), lengths=(4096,)), TokenCounter.get()))
    assert all(len(TokenCounter.get().encode(s.input)) == 4096 for s in samples)
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from .haystacks import Haystacks, new_key, new_value, new_var_name, word_lists
from .tasks import ALIASES, TASKS, Sample, SuiteConfig, SuiteError, TaskSpec, Tokenizer, resolve_tasks

__all__ = [
    "ALIASES",
    "TASKS",
    "Haystacks",
    "Sample",
    "SuiteConfig",
    "SuiteError",
    "TaskSpec",
    "Tokenizer",
    "generate_suite",
    "make_sample",
    "resolve_tasks",
]


# ------------------------------------------------------------------------------------------ assembly


@dataclass
class _Plan:
    """The parts of one prompt before the haystack is sized: text around it and needles at depths."""

    prefix: str
    suffix: str
    needles: list[tuple[float, str]]
    answers: list[str]
    haystack: str
    """``noise``, ``corpus`` or ``cwe``."""
    filler: Callable[[int, int], np.ndarray] | None = None
    """For ``cwe``: ids of the word list cut to n tokens, starting ``shift`` items in."""


_NIAH_TYPE = {"number": "numbers", "word": "words", "uuid": "uuids"}


def _plan_niah(spec: TaskSpec, depth: float, rng: random.Random) -> _Plan:
    kind = _NIAH_TYPE[spec.value]
    used_keys: set[str] = set()
    used_values: set[str] = set()
    keys = [new_key(rng, used_keys) for _ in range(spec.keys)]
    needles: list[tuple[float, str]] = []
    answers: list[str] = []
    # The first needle carries the requested depth; the others land at seeded random depths.
    for k, key in enumerate(keys):
        for v in range(spec.values):
            value = new_value(spec.value, rng, used_values)
            where = depth if k == 0 and v == 0 else rng.random()
            needles.append((where, f"One of the special magic {kind} for {key} is: {value}."))
            if k < spec.queries:
                answers.append(value)
    queried = keys[: spec.queries]
    if spec.queries > 1:
        question = (
            f"What are all the special magic {kind} for {', '.join(queried[:-1])} and {queried[-1]} "
            "mentioned in the provided text?"
        )
    elif spec.values > 1:
        question = f"What are all the special magic {kind} for {queried[0]} mentioned in the provided text?"
    else:
        question = f"What is the special magic {kind[:-1]} for {queried[0]} mentioned in the provided text?"
    prefix = (
        f"Some special magic {kind} are hidden within the following text. Make sure to memorize them. "
        f"I will quiz you about the {kind} afterwards.\n"
    )
    suffix = f" \n{question} Answer with the {kind} only."
    return _Plan(prefix, suffix, needles, answers, spec.haystack)


def _plan_passkey(spec: TaskSpec, depth: float, rng: random.Random) -> _Plan:
    key = str(rng.randrange(10_000, 100_000))
    prefix = (
        "There is an important info hidden inside a lot of irrelevant text. Find it and memorize it. "
        "I will quiz you about the important information there.\n"
    )
    needle = f"The pass key is {key}. Remember it. {key} is the pass key."
    return _Plan(prefix, " \nWhat is the pass key? The pass key is", [(depth, needle)], [key], "noise")


def _plan_vt(config: SuiteConfig, depth: float, rng: random.Random) -> _Plan:
    used_names: set[str] = set()
    used_values: set[str] = set()
    chains: list[list[str]] = []
    statements: list[list[str]] = []
    for _ in range(config.vt_chains):
        value = new_value("number", rng, used_values)[:5]
        names = [new_var_name(rng, used_names) for _ in range(config.vt_hops + 1)]
        chains.append([value, *names])
        lines = [f"VAR {names[0]} = {value}."]
        lines += [f"VAR {names[i]} = VAR {names[i - 1]}." for i in range(1, len(names))]
        statements.append(lines)
    needles: list[tuple[float, str]] = []
    # The queried chain starts at the requested depth, its hops spread evenly over the rest.
    for c, lines in enumerate(statements):
        start = depth if c == 0 else rng.random()
        for i, line in enumerate(lines):
            needles.append((start + (1.0 - start) * i / len(lines), line))
    value, *names = chains[0]
    prefix = "Memorize and track the chain(s) of variable assignment hidden in the following text.\n\n"
    suffix = (
        f" \nQuestion: Find all variables that are assigned the value {value} in the text above. "
        "Answer with the variable names only."
    )
    return _Plan(prefix, suffix, needles, names, "noise")


def _plan_cwe(config: SuiteConfig, length: int, tokenizer: Tokenizer, rng: random.Random) -> _Plan:
    words = word_lists()
    pool = sorted(set(words.nouns) | set(words.adjectives))
    chosen = rng.sample(pool, min(len(pool), 6000))
    common, rare = chosen[: config.cwe_words], chosen[config.cwe_words :]
    # Tokens per item, measured on items like the real ones (numbers grow with the list); the list is
    # rebuilt longer until it holds more tokens than the prompt needs, then cut to size.
    probe = " ".join(f"{i}. {w}" for i, w in enumerate(rare[:200], start=max(1, length // 8)))
    per_item = max(2.0, len(tokenizer.encode(probe)) / 200)
    items = int(length / per_item) + 16
    for _ in range(6):
        # Rare words appear a few times each; common ones clearly more often, whatever the length.
        rare_freq = max(3, -(-items // (2 * max(1, len(rare)))))
        common_freq = max(3 * rare_freq, min(30, items // (3 * config.cwe_words)))
        sequence = [w for w in common for _ in range(common_freq)]
        for word in rare:
            if len(sequence) >= items:
                break
            sequence.extend([word] * rare_freq)
        rng.shuffle(sequence)
        pieces = [f"{i}. {w}" for i, w in enumerate(sequence, start=1)]
        text = " ".join(pieces)
        ids = np.asarray(tokenizer.encode(text), dtype=np.int64)
        if len(ids) >= length:
            break
        items = int(items * 1.25) + 16
    starts = np.cumsum([0] + [len(p) + 1 for p in pieces])
    prefix = (
        "Below is a numbered list of words. In these words, some appear more often than others. "
        "Memorize the ones that appear most often.\n"
    )
    suffix = (
        f" \nQuestion: What are the {config.cwe_words} most common words in the above list? "
        "Answer with the words only."
    )

    def filler(n: int, shift: int) -> np.ndarray:
        if shift == 0:
            return ids[:n]
        # Rarely needed: start the list a few items in, so the cut at its end falls elsewhere.
        rest = np.asarray(tokenizer.encode(text[int(starts[shift]) :]), dtype=np.int64)
        return rest[:n]

    return _Plan(prefix, suffix, [], common, "cwe", filler=filler)


def _snap(position: int, ids: np.ndarray, haystacks: Haystacks) -> int:
    """Move a cut to the nearest sentence end (else word start) within 1% of the haystack (<= 24 tokens)."""
    n = len(ids)
    window = max(3, min(24, n // 100))
    if position <= 0 or position >= n:
        return max(0, min(position, n))
    best_word: int | None = None
    for delta in range(window + 1):
        for cut in (position - delta, position + delta):
            if not 0 < cut < n:
                continue
            if haystacks.piece(int(ids[cut - 1])).rstrip().endswith((".", "!", "?")):
                return cut
            if best_word is None and haystacks.piece(int(ids[cut]))[:1].isspace():
                best_word = cut
    return best_word if best_word is not None else position


def _assemble(plan: _Plan, filler: np.ndarray, haystacks: Haystacks) -> tuple[str, list[str]]:
    """The prompt text for haystack ids ``filler``, needles inserted at their depths; and the needles."""
    tokenizer = haystacks.tokenizer
    order = sorted(plan.needles, key=lambda item: item[0])
    cuts = [_snap(round(d * len(filler)), filler, haystacks) for d, _ in order]
    parts: list[str] = [plan.prefix]
    tail = plan.prefix[-1:]
    last = 0
    for cut, (_, needle) in zip(cuts, order, strict=True):
        cut = max(cut, last)
        before = tokenizer.decode(filler[last:cut].tolist()) if cut > last else ""
        tail = before[-1:] or tail
        parts.append(before)
        parts.append(needle if not tail or tail.isspace() else " " + needle)
        tail = needle[-1:]
        last = cut
    rest = tokenizer.decode(filler[last:].tolist()) if last < len(filler) else ""
    if order and rest and not rest[:1].isspace():
        rest = " " + rest
    parts.append(rest)
    parts.append(plan.suffix)
    return "".join(parts), [needle for _, needle in order]


def _find(ids: np.ndarray, sub: Sequence[int], start: int = 0) -> int:
    if not sub:
        return -1
    for hit in np.flatnonzero(ids[start:] == sub[0]):
        at = start + int(hit)
        if at + len(sub) <= len(ids) and np.array_equal(ids[at : at + len(sub)], sub):
            return at
    return -1


def _needle_depths(
    text: str, ids: np.ndarray, plan: _Plan, needles: Sequence[str], tokenizer: Tokenizer
) -> list[float]:
    start = len(tokenizer.encode(plan.prefix))
    end = len(ids) - len(tokenizer.encode(plan.suffix))
    span = max(1, end - start - sum(len(tokenizer.encode(" " + n)) for n in needles))
    depths: list[float] = []
    seen = start
    before_tokens = 0
    for needle in needles:
        core = tokenizer.encode(" " + needle)
        # The first and last token may merge with their neighbours; the middle ones are stable.
        at = _find(ids, core[1:-1], seen) - 1 if len(core) > 2 else -1
        if at < 0:
            at = len(tokenizer.encode(text[: text.index(needle)]))
        depths.append(round(min(1.0, max(0.0, (at - start - before_tokens) / span)), 4))
        before_tokens += len(core)
        seen = max(seen, at + 1)
    return depths


def _fit(plan: _Plan, length: int, haystacks: Haystacks, rng: random.Random) -> tuple[str, np.ndarray]:
    """Size the haystack so the prompt is exactly ``length`` tokens; return the text and its ids.

    The count grows with the haystack budget but not always by one: a cut that ends on punctuation can
    merge with what follows. When the target is skipped, the haystack starts a few tokens later, which
    moves the cut.
    """
    tokenizer = haystacks.tokenizer
    seed = rng.random()

    def filler(n: int, shift: int) -> np.ndarray:
        if plan.filler is not None:
            return plan.filler(n, shift)
        return haystacks.ids(plan.haystack, n + shift, random.Random(seed))[shift:]

    def measure(budget: int, shift: int) -> tuple[str, np.ndarray]:
        text, _ = _assemble(plan, filler(budget, shift), haystacks)
        return text, np.asarray(tokenizer.encode(text), dtype=np.int64)

    overhead = len(measure(0, 0)[1])
    if overhead >= length:
        raise SuiteError(
            f"length {length} is too short: the task's instructions and needles alone take {overhead} "
            "tokens; use longer --lengths"
        )
    closest: set[int] = set()
    budget = length - overhead
    for shift in range(6):
        tried: set[int] = set()
        for _ in range(12):
            text, ids = measure(budget, shift)
            if len(ids) == length:
                return text, ids
            closest.add(len(ids))
            tried.add(budget)
            nxt = max(0, budget + length - len(ids))
            if nxt in tried:
                break
            budget = nxt
    raise SuiteError(
        f"could not fit a prompt of exactly {length} tokens (came to {sorted(closest)[:8]}); "
        "try another --seed or length"
    )


# ------------------------------------------------------------------------------------------ generation


def generate_suite(config: SuiteConfig, tokenizer: Tokenizer) -> Iterator[Sample]:
    """Every sample of ``config`` in order (task, length, depth, index); deterministic for a seed."""
    haystacks = Haystacks(tokenizer, config.corpus, config.seed, max(config.lengths))
    for task in config.tasks:
        spec = TASKS[task]
        for length in config.lengths:
            depths: Sequence[float | None] = config.depths if spec.uses_depth else [None]
            for depth in depths:
                for index in range(config.samples):
                    rng = random.Random(f"{config.seed}/{task}/{length}/{depth}/{index}")
                    yield make_sample(config, spec, length, depth, index, tokenizer, haystacks, rng)


def make_sample(
    config: SuiteConfig,
    spec: TaskSpec,
    length: int,
    depth: float | None,
    index: int,
    tokenizer: Tokenizer,
    haystacks: Haystacks,
    rng: random.Random,
) -> Sample:
    """One sample of task ``spec`` at ``length`` tokens with its (first) needle at ``depth``."""
    at = 0.5 if depth is None else depth
    if spec.kind == "niah":
        plan = _plan_niah(spec, at, rng)
    elif spec.kind == "passkey":
        plan = _plan_passkey(spec, at, rng)
    elif spec.kind == "vt":
        plan = _plan_vt(config, at, rng)
    else:
        plan = _plan_cwe(config, length, tokenizer, rng)
    text, ids = _fit(plan, length, haystacks, rng)
    if spec.kind == "cwe":
        plan.answers = _most_common_words(text, config.cwe_words, plan.answers)
    order = sorted(range(len(plan.needles)), key=lambda i: plan.needles[i][0])
    measured = _needle_depths(text, ids, plan, [plan.needles[i][1] for i in order], tokenizer)
    # Reported in plan order: the first is always the needle placed at the requested depth.
    by_plan = dict(zip(order, measured, strict=True))
    depths = [by_plan[i] for i in range(len(plan.needles))]
    label = "none" if depth is None else f"{depth:g}"
    return Sample(
        id=f"{spec.name}/{length}/{label}/{index}",
        task=spec.name,
        length=length,
        depth=depth,
        index=index,
        input=text,
        answers=plan.answers,
        metric=spec.metric,
        max_new_tokens=spec.max_new_tokens,
        needle_depths=depths,
    )


_ITEM = re.compile(r"\d+\. ([a-z]+)")


def _most_common_words(text: str, n: int, planned: list[str]) -> list[str]:
    """The planned common words, checked against the final (cut) list: they must still lead clearly."""
    counts = Counter(_ITEM.findall(text))
    ranked = [w for w, _ in counts.most_common()]
    top = set(ranked[:n])
    if top != set(planned):
        raise SuiteError("common-words list too short to keep its common words apart; use longer --lengths")
    return planned
