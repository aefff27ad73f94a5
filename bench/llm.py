"""Benchmark of the LLM layer against `litelong-hf serve-local` (llama.cpp server on SmolLM2-135M-Instruct).

    .venv/bin/python bench/llm.py [--requests 24] [--rounds 12] [--threads N]

Measures, in one run and against references measured in the same run:

1. requests/s and tokens/s through our layer at concurrency 1, 2, 4, 8 (cache off);
2. the per-request overhead of our layer (cache on, cold) versus calling ``AsyncInferenceClient`` directly
   on the same requests at concurrency 4; target: at most 5 %. Raw and ours run back to back in short
   rounds, alternating order. The verdict uses the client time our layer adds per request (CPU time of this
   process, ours minus raw; the server's speed does not enter it) relative to the wall time of a request:
   on a shared 2-core machine the wall-clock ratio of two identical runs swings by +-50 %, a hundred times
   the effect. The wall-clock median ratio is printed too, marked informational;
3. a fully cached re-run: 0 requests sent and at least 50x faster than the first run.

llama.cpp's server generates one answer at a time, so concurrency cannot raise throughput here; it only
hides the round trip. Exit code 1 when a target fails. Takes about 1-2 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass

from huggingface_hub import AsyncInferenceClient

from litelong_hf.llm import ChatRequest, EndpointClient, EndpointLLM, LLMConfig, RequestCache
from litelong_hf.llm.embedded import default_threads
from litelong_hf.llm.server import LocalServer

MAX_TOKENS = 8
SEED = 1234
OVERHEAD_TARGET = 0.05
CACHE_SPEEDUP_TARGET = 50.0


@dataclass
class Run:
    elapsed_s: float
    completion_tokens: int
    total_tokens: int
    sent: int
    cpu_s: float = 0.0


def make_requests(count: int, salt: str) -> list[ChatRequest]:
    """Distinct short prompts (``salt`` keeps rounds from hitting each other's cache entries)."""
    return [
        ChatRequest(
            messages=[{"role": "user", "content": f"In one word, what color is item {i} of set {salt}?"}],
            max_tokens=MAX_TOKENS,
            seed=SEED,
        )
        for i in range(count)
    ]


async def run_ours(
    client: EndpointClient, model: str, requests: list[ChatRequest], cache: RequestCache | None
) -> Run:
    llm = EndpointLLM(LLMConfig(endpoint=client.endpoint, model=model), client=client, cache=cache)
    cpu, started = time.process_time(), time.perf_counter()
    results = await llm.chat_many(requests)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    stats = llm.stats()
    return Run(
        elapsed,
        sum(r.usage.completion_tokens for r in results),
        sum(r.usage.total_tokens for r in results),
        int(stats["requests_sent"]),
        cpu,
    )


async def run_raw(
    raw: AsyncInferenceClient, model: str, requests: list[ChatRequest], concurrency: int
) -> Run:
    semaphore = asyncio.Semaphore(concurrency)

    async def one(request: ChatRequest) -> tuple[int, int]:
        async with semaphore:
            output = await raw.chat_completion(
                messages=[dict(m) for m in request.messages],
                model=model,
                max_tokens=request.max_tokens,
                temperature=request.temperature,
                top_p=request.top_p,
                seed=request.seed,
            )
        usage = output.usage
        return (usage.completion_tokens, usage.total_tokens) if usage else (0, 0)

    cpu, started = time.process_time(), time.perf_counter()
    counts = await asyncio.gather(*(one(r) for r in requests))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    return Run(elapsed, sum(c for c, _ in counts), sum(t for _, t in counts), len(requests), cpu)


def client_for(url: str, concurrency: int) -> EndpointClient:
    client = EndpointClient(url, dialect="llamacpp", timeout_s=300.0, max_concurrency=concurrency)
    client.probe()  # once per run in real use too: keep it out of the per-request timings
    return client


async def bench(url: str, n: int, rounds: int) -> tuple[list[str], bool]:
    lines: list[str] = []
    ok = True
    model = client_for(url, 1).info.model or "model"

    # Warm-up: first requests pay for page faults and the server's first allocations.
    await run_ours(client_for(url, 2), model, make_requests(4, "warm-up"), None)

    lines.append(
        f"{'concurrency':>11}  {'requests/s':>10}  {'out tok/s':>9}  {'total tok/s':>11}  {'s/run':>6}"
    )
    for concurrency in (1, 2, 4, 8):
        client = client_for(url, concurrency)
        run = await run_ours(client, model, make_requests(n, "sweep"), None)
        await client.aclose()
        lines.append(
            f"{concurrency:>11}  {n / run.elapsed_s:>10.2f}  {run.completion_tokens / run.elapsed_s:>9.1f}  "
            f"{run.total_tokens / run.elapsed_s:>11.1f}  {run.elapsed_s:>6.2f}"
        )

    # Overhead at concurrency 4: same requests, raw client vs our layer (cold cache), back to back.
    raw = AsyncInferenceClient(base_url=url, timeout=300.0)
    client = client_for(url, 4)
    ratios: list[float] = []
    runs: dict[str, list[Run]] = {"raw": [], "ours": []}
    per_round = max(8, n // 2)
    requests = make_requests(per_round, "overhead")
    for round_index in range(rounds):
        with tempfile.TemporaryDirectory() as cache_dir:
            cache = RequestCache(cache_dir)
            order = (
                ("raw", "ours") if round_index % 2 == 0 else ("ours", "raw")
            )  # cancel drift and warm-up bias
            this_round: dict[str, Run] = {}
            for which in order:
                if which == "raw":
                    this_round[which] = await run_raw(raw, model, requests, 4)
                else:
                    this_round[which] = await run_ours(client, model, requests, cache)
            cache.close()
        for which, run in this_round.items():
            runs[which].append(run)
        ratios.append(this_round["ours"].elapsed_s / this_round["raw"].elapsed_s - 1.0)
    await raw.close()
    await client.aclose()
    wall_overhead = statistics.median(ratios)
    raw_s = statistics.median(r.elapsed_s for r in runs["raw"])
    ours_s = statistics.median(r.elapsed_s for r in runs["ours"])
    raw_cpu_ms = statistics.median(r.cpu_s for r in runs["raw"]) / per_round * 1000
    ours_cpu_ms = statistics.median(r.cpu_s for r in runs["ours"]) / per_round * 1000
    request_ms = raw_s / per_round * 1000  # wall time per request at concurrency 4 (throughput view)
    added_ms = ours_cpu_ms - raw_cpu_ms
    cpu_overhead = added_ms / request_ms
    passed = cpu_overhead <= OVERHEAD_TARGET
    ok &= passed
    lines += [
        "",
        f"Overhead vs AsyncInferenceClient at concurrency 4 ({rounds} rounds of {per_round} requests each way, "
        "raw and ours back to back, cold cache each round):",
        f"  wall time per round, median: raw client {raw_s:.3f} s, our layer {ours_s:.3f} s",
        f"  per-round wall overhead: {', '.join(f'{r:+.0%}' for r in ratios)}",
        f"  client CPU per request, median: raw {raw_cpu_ms:.2f} ms, ours {ours_cpu_ms:.2f} ms",
    ]
    table = [
        (
            "overhead at c=4, added client time",
            f"{added_ms:+.2f} ms/request = {cpu_overhead:+.2%} of {request_ms:.0f} ms",
            f"<= {OVERHEAD_TARGET:.0%}",
            "PASS" if passed else "FAIL",
        ),
        (
            "overhead at c=4, wall-clock median",
            f"{wall_overhead:+.1%} (rounds {min(ratios):+.0%} .. {max(ratios):+.0%})",
            f"<= {OVERHEAD_TARGET:.0%}",
            ("PASS" if wall_overhead <= OVERHEAD_TARGET else "FAIL") + " (noisy, informational)",
        ),
    ]

    # Fully cached re-run: a fresh LLM object on the same cache (as after a restart).
    with tempfile.TemporaryDirectory() as cache_dir:
        requests = make_requests(2 * n, "cached")
        client = client_for(url, 4)
        first = await run_ours(client, model, requests, RequestCache(cache_dir))
        rerun = await run_ours(client_for(url, 4), model, requests, RequestCache(cache_dir))
        await client.aclose()
    speedup = first.elapsed_s / rerun.elapsed_s
    passed = rerun.sent == 0 and speedup >= CACHE_SPEEDUP_TARGET
    ok &= passed
    lines += [
        "",
        f"Cached re-run of {len(requests)} requests: first run {first.elapsed_s:.3f} s ({first.sent} sent), "
        f"re-run {rerun.elapsed_s * 1000:.1f} ms ({rerun.sent} sent)",
    ]
    table.append(
        (
            "fully cached re-run",
            f"{rerun.sent} sent, {speedup:,.0f}x faster",
            f"0 sent, >= {CACHE_SPEEDUP_TARGET:.0f}x",
            "PASS" if passed else "FAIL",
        )
    )
    widths = [
        max(len(row[i]) for row in [("target", "measured", "goal", "verdict"), *table]) for i in range(4)
    ]
    lines += [
        "",
        *(
            "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            for row in [("target", "measured", "goal", "verdict"), *table]
        ),
    ]
    return lines, ok


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=24, help="requests per measured run")
    parser.add_argument("--rounds", type=int, default=12, help="back-to-back rounds for the overhead measure")
    parser.add_argument("--threads", type=int, default=default_threads(), help="llama.cpp server threads")
    args = parser.parse_args()

    started = time.perf_counter()
    with LocalServer(n_ctx=2048, threads=args.threads) as server:
        print(
            f"LLM layer benchmark: llama.cpp server ({server.model_path.name}, threads={server.threads}), "
            f"max_tokens={MAX_TOKENS}, seed={SEED}, {args.requests} requests per run\n"
        )
        lines, ok = asyncio.run(bench(server.url, args.requests, args.rounds))
    print("\n".join(lines))
    print(f"\nTotal {time.perf_counter() - started:.0f} s. Overall: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
