"""The pure arithmetic of negative mining: how many negatives, which ones in turn, and where a row ends."""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Sequence


def negatives_per_chunk(
    target_tokens: int, meta_doc_tokens: int, n_meta_chunks: int, mean_chunk_tokens: float
) -> int:
    """METHODS.md's k = ceil((target - meta_doc_tokens) / (p * mean_chunk_tokens)), at least 0.

    >>> negatives_per_chunk(131_072, 1_072, 2, 500.0)
    130
    """
    if n_meta_chunks <= 0:
        raise ValueError(f"a meta-document needs at least one chunk, got {n_meta_chunks}.")
    if mean_chunk_tokens <= 0:
        raise ValueError(f"mean_chunk_tokens must be positive, got {mean_chunk_tokens}.")
    remaining = target_tokens - meta_doc_tokens
    if remaining <= 0:
        return 0
    return math.ceil(remaining / (n_meta_chunks * mean_chunk_tokens))


Candidate = tuple[int, int, int]
"""A possible negative: its pool position, content class and token count."""


def fill_round_robin(
    meta_tokens: Sequence[int],
    candidates: Sequence[Sequence[Candidate]],
    used_content: Collection[int],
    target_tokens: int,
    sep_tokens: int,
    accept: Callable[[int], bool] | None = None,
) -> tuple[list[list[int]], int]:
    """Pick negatives for each meta-chunk until the row (pieces plus separators) reaches the target.

    Meta-chunk ``g`` takes its next best candidate in turn (g = 0, 1, ..., p-1, 0, ...), skipping content
    already in the row (the meta-chunks' own, ``used_content``, and earlier picks) and candidates longer
    than the whole row. So every meta-chunk gets its top negatives first and the groups differ by at most
    one negative unless a candidate list runs out. ``accept`` (a pool position -> keep it?), asked only
    about candidates that would be picked, can veto more (the near-copy filter).

    Returns:
        The picked indexes into ``candidates[g]`` per group, and the planned tokens (which reach
        ``target_tokens`` unless every list ran out).
    """
    used = set(used_content)
    picked: list[list[int]] = [[] for _ in meta_tokens]
    cursor = [0] * len(meta_tokens)
    total = sum(meta_tokens) + sep_tokens * max(len(meta_tokens) - 1, 0)
    progress = True
    while total < target_tokens and progress:
        progress = False
        for g, options in enumerate(candidates):
            while cursor[g] < len(options):
                _, content, n_tokens = options[cursor[g]]
                cursor[g] += 1
                if content in used or n_tokens > target_tokens or n_tokens <= 0:
                    continue
                if accept is not None and not accept(options[cursor[g] - 1][0]):
                    continue
                used.add(content)
                picked[g].append(cursor[g] - 1)
                total += n_tokens + sep_tokens
                progress = True
                break
            if total >= target_tokens:
                break
    return picked, total


def trim_to_target(lengths: Sequence[int], target_tokens: int, sep_tokens: int) -> int:
    """How many leading pieces the packer puts in the first row (the last of them possibly cut).

    Mirrors :class:`~litelong_hf.packing.RowPlanner`: a piece enters the row when at least one of its
    tokens fits after the separator before it.
    """
    used = 0
    for i, n in enumerate(lengths):
        if i > 0:
            if used + sep_tokens >= target_tokens:
                return i
            used += sep_tokens
        used += n
        if used >= target_tokens:
            return i + 1
    return len(lengths)
