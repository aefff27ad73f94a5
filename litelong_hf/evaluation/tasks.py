"""The RULER-style suite's definitions: its tasks (:data:`TASKS`, RULER's names as :data:`ALIASES`), a
sample (:class:`Sample`) and what to generate (:class:`SuiteConfig`). The generators are in
:mod:`litelong_hf.evaluation.ruler`, the haystacks and values in :mod:`litelong_hf.evaluation.haystacks`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from ..fields import check_field_metadata
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


def parse_length(value: int | str) -> int:
    """A prompt length in tokens: ``4096``, ``"4096"``, ``"8k"`` (x 1024) or ``"1m"`` (x 1024^2)."""
    if isinstance(value, int):
        return value
    item = value.strip().lower().replace("_", "")
    scale = 1024 if item.endswith("k") else 1024 * 1024 if item.endswith("m") else 1
    try:
        return int(float(item.rstrip("km")) * scale)
    except ValueError:
        raise SuiteError(f"cannot read length {value!r}; use e.g. 4096,8k,16k") from None


def parse_lengths(text: str) -> tuple[int, ...]:
    """Comma-separated lengths (``"4k,8k,16k"``), each read by :func:`parse_length`."""
    return tuple(parse_length(part) for part in text.split(",") if part.strip())


def _depth(value: float | str) -> float:
    try:
        return float(value)
    except ValueError:
        raise SuiteError(f"cannot read depth {value!r}; use e.g. 0,0.25,0.5,0.75,1") from None


@dataclass(frozen=True)
class SuiteConfig:
    """What to generate. Samples per task = ``samples`` x lengths x depths (x 1 depth for ``cwe``).

    Its fields are the flags of ``litelong-hf eval ruler`` and ``eval generate`` (their help is the field's);
    ``lengths`` and ``depths`` also take text (``"8k"``, ``"0.5"``), as they come from the command line.
    """

    tasks: tuple[str, ...] = field(
        default=("all",),
        metadata={"help": "Comma-separated tasks, or 'all' (see docs/evaluation.md; RULER names work too)."},
    )
    lengths: tuple[int, ...] = field(
        default=(1024, 2048, 4096), metadata={"help": "Prompt lengths in tokens, e.g. 4k,8k,16k."}
    )
    depths: tuple[float, ...] = field(
        default=(0.0, 0.25, 0.5, 0.75, 1.0), metadata={"help": "Needle depths in [0, 1]."}
    )
    samples: int = field(default=1, metadata={"help": "Samples per task, length and depth.", "min": 1})
    seed: int = field(default=0, metadata={"help": "Seed of the suite."})
    corpus: str = field(
        default="demo",
        metadata={"help": "Corpus of the corpus haystacks (any `litelong_hf.corpus` source)."},
    )
    vt_chains: int = field(
        default=1,
        metadata={
            "help": "Variable-tracking chains (the others are distractors with other values).",
            "min": 1,
        },
    )
    vt_hops: int = field(default=4, metadata={"help": "Assignments after the first in each chain.", "min": 1})
    cwe_words: int = field(default=10, metadata={"help": "Common words to extract.", "min": 1})

    def __post_init__(self) -> None:
        object.__setattr__(self, "tasks", resolve_tasks(self.tasks))
        object.__setattr__(self, "lengths", tuple(parse_length(n) for n in self.lengths))
        object.__setattr__(self, "depths", tuple(_depth(d) for d in self.depths))
        if not self.lengths or any(n <= 0 for n in self.lengths):
            raise SuiteError(f"lengths must be positive token counts, got {list(self.lengths)}")
        if not self.depths or any(not 0.0 <= d <= 1.0 for d in self.depths):
            raise SuiteError(f"depths must lie in [0, 1], got {list(self.depths)}")
        check_field_metadata(self, SuiteError)

    def max_new_tokens(self) -> int:
        """The largest generation budget of the chosen tasks."""
        return max(TASKS[t].max_new_tokens for t in self.tasks)
