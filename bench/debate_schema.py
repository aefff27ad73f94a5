"""Unparseable debate answers on the embedded model, before and after issue 19 relaxed the JSON schema's
patterns (``debate.STRICT_V1_PATTERNS`` vs ``debate.PATTERNS``): the same subcategories, prompts, seeds and
model; only the patterns differ. Prints, per pattern set, requests, unparseable answers (by step), kept
topics, and how many generated titles use a character the strict pattern forbids.

    .venv/bin/python bench/debate_schema.py [--subcategories 6] [--prompts litelong_v2] [--patterns relaxed]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import tempfile
import time
from collections import Counter

from litelong_hf.presets import make_config
from litelong_hf.strategies.debate import (
    PATTERNS,
    STRICT_V1_PATTERNS,
    Sampling,
    SchemaPatterns,
    Transcript,
    debate_topics,
    load_debate_prompts,
)
from litelong_hf.strategies.litelong import LiteLongStrategy

STRICT_TITLE_CHARACTER = re.compile(r"[^A-Za-z0-9 ,'&()/-]")


def run(patterns: SchemaPatterns, args: argparse.Namespace, cache: str) -> list[Transcript]:
    config = make_config(
        "litelong-64k",
        cache_dir=cache,
        max_subcategories=args.subcategories,
        expansion_factor=args.expansion_factor,
        llm_max_tokens=args.max_tokens,
        prompts=args.prompts,
    )
    strategy = LiteLongStrategy(config)
    llms = strategy.llms()
    prompts = load_debate_prompts(config.prompts)
    sampling = Sampling(max_tokens=config.llm_max_tokens, seed=config.seed)

    async def all_entries() -> list[Transcript]:
        try:
            return [
                await debate_topics(
                    entry,
                    llms,
                    prompts,
                    expansion_factor=config.expansion_factor,
                    sampling=sampling,
                    patterns=patterns,
                )
                for entry in strategy.entries
            ]
        finally:
            for llm in {id(x): x for x in llms.values()}.values():
                await llm.aclose()

    return asyncio.run(all_entries())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subcategories", type=int, default=6)
    parser.add_argument("--expansion-factor", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=600)
    parser.add_argument("--prompts", default="litelong_v2")
    parser.add_argument(
        "--patterns",
        choices=("both", "strict-v1", "relaxed"),
        default="both",
        help="which pattern sets to run (one alone halves the time: the other's numbers are in docs/litelong.md)",
    )
    args = parser.parse_args()
    print(
        f"embedded model, {args.subcategories} subcategories (litelong-64k spread order, seed 42), "
        f"expansion_factor {args.expansion_factor}, max_tokens {args.max_tokens}, prompts {args.prompts}"
    )
    print(
        f"{'patterns':<10} {'requests':>8} {'unparseable':>11} {'rate':>6} {'kept':>5} {'titles':>6} "
        f"{'non-strict chars':>16} {'s':>6}  unparseable by step"
    )
    sets = (("strict-v1", STRICT_V1_PATTERNS), ("relaxed", PATTERNS))
    for name, patterns in sets:
        if args.patterns not in ("both", name):
            continue
        with tempfile.TemporaryDirectory(prefix="bench-debate-schema-") as cache:
            start = time.perf_counter()
            transcripts = run(patterns, args, cache)
            seconds = time.perf_counter() - start
        requests = sum(t.requests + t.cache_hits for t in transcripts)
        bad = [u for t in transcripts for u in t.unparseable]
        titles = [g["topic"] for t in transcripts for items in t.generated.values() for g in items]
        unusual = sum(bool(STRICT_TITLE_CHARACTER.search(title)) for title in titles)
        kept = sum(len(t.kept) for t in transcripts)
        steps = dict(sorted(Counter(u["step"] for u in bad).items()))
        print(
            f"{name:<10} {requests:>8} {len(bad):>11} {len(bad) / max(1, requests):>6.1%} {kept:>5} "
            f"{len(titles):>6} {unusual:>16} {seconds:>6.0f}  {steps}"
        )


if __name__ == "__main__":
    main()
