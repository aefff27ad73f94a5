"""Filler and values of the RULER-style suite: token ids of repeated noise or corpus documents for one
tokenizer (:class:`Haystacks`), and the seeded keys, values and variable names the needles carry."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .tasks import SuiteError, Tokenizer

NOISE = "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again."


class Haystacks:
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


def word_lists() -> _Words:
    if not _WORDS:
        _WORDS.append(_Words.load())
    return _WORDS[0]


def new_key(rng: random.Random, used: set[str]) -> str:
    words = word_lists()
    while True:
        key = f"{rng.choice(words.adjectives)}-{rng.choice(words.nouns)}"
        if key not in used:
            used.add(key)
            return key


def new_value(kind: str, rng: random.Random, used: set[str]) -> str:
    while True:
        if kind == "number":
            value = str(rng.randrange(1_000_000, 10_000_000))
        elif kind == "word":
            value = rng.choice(word_lists().nouns)
        else:
            value = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        if value not in used:
            used.add(value)
            return value


def new_var_name(rng: random.Random, used: set[str]) -> str:
    while True:
        name = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(5))
        if name not in used:
            used.add(name)
            return name
