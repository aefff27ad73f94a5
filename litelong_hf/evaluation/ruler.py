"""A RULER-style long-context suite, generated offline and seeded, at exact token lengths.
(Over 400 lines on purpose: the ten task generators share one exact-length haystack builder.)

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
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any, Protocol

import numpy as np

from .scoring import MetricName


class SuiteError(ValueError):
    """The suite cannot be generated as asked (unknown task, length too short, ...); the message says why."""


class Tokenizer(Protocol):
    """What the suite needs of the evaluated model's tokenizer (``TokenCounter`` and the runners' adapters)."""

    name: str

    def encode(self, text: str) -> list[int]: ...

    def decode(self, ids: Sequence[int]) -> str: ...


# --------------------------------------------------------------------------------------------- samples


@dataclass(frozen=True)
class Sample:
    """One probe: a prompt of exactly ``length`` tokens and the strings a correct answer contains."""

    id: str
    """``task/length/depth/index``; unique within a suite."""
    task: str
    length: int
    """Tokens of ``input`` in the suite's tokenizer (exact)."""
    depth: float | None
    """Requested depth of the (first) needle in the haystack, 0 = start, 1 = end; None for ``cwe``."""
    index: int
    input: str
    """The whole user prompt: instructions, haystack with needles, question."""
    answers: list[str]
    """References scored by ``metric``."""
    metric: MetricName
    max_new_tokens: int
    """Tokens the model may generate (RULER's budgets)."""
    needle_depths: list[float] = field(default_factory=list)
    """Measured depth of each needle (token offset inside the haystack / haystack tokens), in order."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --------------------------------------------------------------------------------------------- tasks


@dataclass(frozen=True)
class TaskSpec:
    """How one task builds its samples."""

    name: str
    kind: str
    """``niah``, ``vt``, ``cwe`` or ``passkey``."""
    haystack: str = "noise"
    """``noise`` or ``corpus``."""
    value: str = "number"
    """``number``, ``word`` or ``uuid`` (NIAH values)."""
    keys: int = 1
    """Needles with different keys (NIAH)."""
    values: int = 1
    """Values per key (NIAH multi-value)."""
    queries: int = 1
    """Keys asked for (NIAH multi-query)."""
    metric: MetricName = "string_match_all"
    max_new_tokens: int = 128

    @property
    def uses_depth(self) -> bool:
        return self.kind != "cwe"


TASKS: dict[str, TaskSpec] = {
    spec.name: spec
    for spec in (
        TaskSpec("niah_single_noise_number", "niah", haystack="noise", value="number"),
        TaskSpec("niah_single_corpus_number", "niah", haystack="corpus", value="number"),
        TaskSpec("niah_single_corpus_word", "niah", haystack="corpus", value="word"),
        TaskSpec("niah_single_corpus_uuid", "niah", haystack="corpus", value="uuid"),
        TaskSpec("niah_multikey", "niah", haystack="corpus", value="number", keys=4),
        TaskSpec("niah_multivalue", "niah", haystack="corpus", value="number", values=4),
        TaskSpec("niah_multiquery", "niah", haystack="corpus", value="number", keys=4, queries=4),
        TaskSpec("vt", "vt", haystack="noise", max_new_tokens=30),
        TaskSpec("cwe", "cwe", max_new_tokens=120),
        TaskSpec("passkey", "passkey", haystack="noise", metric="string_match_part", max_new_tokens=16),
    )
}
"""Every task by name."""

ALIASES = {
    "niah_single_1": "niah_single_noise_number",
    "niah_single_2": "niah_single_corpus_number",
    "niah_single_3": "niah_single_corpus_uuid",
    "niah_multikey_1": "niah_multikey",
}
"""RULER's own names for the tasks that match one of ours."""


def resolve_tasks(names: Sequence[str]) -> tuple[str, ...]:
    """Task names (ours or RULER's, ``all``) to canonical names; unknown names raise :class:`SuiteError`."""
    out: list[str] = []
    for raw in names:
        name = raw.strip()
        if name == "all":
            out.extend(TASKS)
            continue
        name = ALIASES.get(name, name)
        if name not in TASKS:
            raise SuiteError(
                f"unknown task {raw!r}; tasks are: {', '.join(TASKS)} (or 'all', or RULER's "
                f"{', '.join(ALIASES)})"
            )
        out.append(name)
    return tuple(dict.fromkeys(out))


@dataclass(frozen=True)
class SuiteConfig:
    """What to generate. Samples per task = ``samples`` x lengths x depths (x 1 depth for ``cwe``)."""

    tasks: tuple[str, ...] = tuple(TASKS)
    lengths: tuple[int, ...] = (1024, 2048, 4096)
    depths: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)
    samples: int = 1
    seed: int = 0
    corpus: str = "demo"
    """Corpus of the ``corpus`` haystacks (any ``litelong_hf.corpus`` source)."""
    vt_chains: int = 1
    """Variable-tracking chains (the others are distractors with other values)."""
    vt_hops: int = 4
    """Assignments after the first in each chain."""
    cwe_words: int = 10
    """Common words to extract."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "tasks", resolve_tasks(self.tasks))
        if not self.lengths or any(n <= 0 for n in self.lengths):
            raise SuiteError(f"lengths must be positive token counts, got {list(self.lengths)}")
        if not self.depths or any(not 0.0 <= d <= 1.0 for d in self.depths):
            raise SuiteError(f"depths must lie in [0, 1], got {list(self.depths)}")
        if self.samples < 1:
            raise SuiteError(f"samples must be >= 1, got {self.samples}")
        if self.vt_chains < 1 or self.vt_hops < 1:
            raise SuiteError("vt_chains and vt_hops must be >= 1")

    def max_new_tokens(self) -> int:
        """The largest generation budget of the chosen tasks."""
        return max(TASKS[t].max_new_tokens for t in self.tasks)


# ------------------------------------------------------------------------------------------ haystacks

NOISE = "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again."


class _Haystacks:
    """Token ids of filler text for one tokenizer: repeated noise, or corpus documents in a seeded order."""

    def __init__(self, tokenizer: Tokenizer, corpus: str, seed: int, longest: int) -> None:
        self.tokenizer = tokenizer
        self.corpus = corpus
        self.seed = seed
        self.longest = longest
        self._pieces: dict[int, str] = {}

    @cached_property
    def noise(self) -> np.ndarray:
        per_copy = len(self.tokenizer.encode(NOISE + " " + NOISE)) - len(self.tokenizer.encode(NOISE))
        reps = self.longest // max(1, per_copy) + 8
        return np.asarray(self.tokenizer.encode(" ".join([NOISE] * reps)), dtype=np.int64)

    @cached_property
    def corpus_stream(self) -> np.ndarray:
        from ..corpus import CorpusConfig, iter_documents

        texts: list[str] = []
        need = 2 * self.longest + 4096
        total = 0
        # A seeded sample of the first documents keeps generation fast on huge corpora and still varies.
        for doc in iter_documents(CorpusConfig(source=self.corpus)):
            texts.append(doc.text.strip())
            total += len(doc.text) // 4
            if total > 3 * need and len(texts) >= 64:
                break
        random.Random(self.seed).shuffle(texts)
        ids: list[int] = []
        sep = self.tokenizer.encode("\n\n")
        for encoded in _encode_many(self.tokenizer, texts):
            ids.extend(encoded)
            ids.extend(sep)
            if len(ids) >= need:
                break
        if len(ids) < self.longest:
            raise SuiteError(
                f"corpus {self.corpus!r} holds {len(ids):,} tokens, fewer than the longest sample "
                f"({self.longest:,}); use a larger --corpus or shorter --lengths"
            )
        return np.asarray(ids, dtype=np.int64)

    def ids(self, kind: str, n: int, rng: random.Random) -> np.ndarray:
        """``n`` filler tokens; corpus haystacks start at a seeded offset so samples differ."""
        if kind == "noise":
            return self.noise[:n]
        stream = self.corpus_stream
        if n > len(stream):
            raise SuiteError(f"corpus haystack has {len(stream):,} tokens, {n:,} needed")
        start = rng.randrange(0, len(stream) - n + 1)
        return stream[start : start + n]

    def piece(self, token: int) -> str:
        text = self._pieces.get(token)
        if text is None:
            text = self.tokenizer.decode([token])
            self._pieces[token] = text
        return text


def _encode_many(tokenizer: Tokenizer, texts: Sequence[str]) -> Iterator[list[int]]:
    batch = getattr(tokenizer, "encode_batch", None)
    step = 64
    for start in range(0, len(texts), step):
        chunk = texts[start : start + step]
        yield from (batch(chunk) if batch is not None else [tokenizer.encode(t) for t in chunk])


# ------------------------------------------------------------------------------------------ words, values


@dataclass(frozen=True)
class _Words:
    nouns: list[str]
    adjectives: list[str]

    @classmethod
    def load(cls) -> _Words:
        try:
            from wonderwords import RandomWord
            from wonderwords.random_word import is_profanity
        except ImportError as exc:
            raise SuiteError("word values need `wonderwords`: pip install 'litelong-hf[eval]'") from exc
        words = RandomWord(rng=random.Random(0))

        def clean(category: str) -> list[str]:
            found = words.filter(include_categories=[category], regex=r"[a-z]{3,12}")
            return sorted({w for w in found if not is_profanity(w)})

        return cls(nouns=clean("noun"), adjectives=clean("adjective"))


_WORDS: list[_Words] = []


def _words() -> _Words:
    if not _WORDS:
        _WORDS.append(_Words.load())
    return _WORDS[0]


def _key(rng: random.Random, used: set[str]) -> str:
    words = _words()
    while True:
        key = f"{rng.choice(words.adjectives)}-{rng.choice(words.nouns)}"
        if key not in used:
            used.add(key)
            return key


def _value(kind: str, rng: random.Random, used: set[str]) -> str:
    while True:
        if kind == "number":
            value = str(rng.randrange(1_000_000, 10_000_000))
        elif kind == "word":
            value = rng.choice(_words().nouns)
        else:
            value = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        if value not in used:
            used.add(value)
            return value


def _var_name(rng: random.Random, used: set[str]) -> str:
    while True:
        name = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(5))
        if name not in used:
            used.add(name)
            return name


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
    keys = [_key(rng, used_keys) for _ in range(spec.keys)]
    needles: list[tuple[float, str]] = []
    answers: list[str] = []
    # The first needle carries the requested depth; the others land at seeded random depths.
    for k, key in enumerate(keys):
        for v in range(spec.values):
            value = _value(spec.value, rng, used_values)
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
        value = _value("number", rng, used_values)[:5]
        names = [_var_name(rng, used_names) for _ in range(config.vt_hops + 1)]
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
    words = _words()
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


def _snap(position: int, ids: np.ndarray, haystacks: _Haystacks) -> int:
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


def _assemble(plan: _Plan, filler: np.ndarray, haystacks: _Haystacks) -> tuple[str, list[str]]:
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


def _fit(plan: _Plan, length: int, haystacks: _Haystacks, rng: random.Random) -> tuple[str, np.ndarray]:
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
    haystacks = _Haystacks(tokenizer, config.corpus, config.seed, max(config.lengths))
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
    haystacks: _Haystacks,
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
