"""Subprocess of the resume test: answer a fixed batch of requests through an endpoint, with a cache.

Usage: python resume_worker.py URL CACHE_DIR N  (the API key comes from $LITELONG_HF_API_KEY)
"""

from __future__ import annotations

import json
import sys

from litelong_hf.llm import ChatRequest, EndpointLLM, LLMConfig, RequestCache


def batch(n: int) -> list[ChatRequest]:
    return [
        ChatRequest(
            messages=[{"role": "user", "content": f"Write one sentence about the number {i}."}],
            max_tokens=24,
            seed=i,
        )
        for i in range(n)
    ]


def main() -> None:
    url, cache_dir, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    # One request at a time, so a kill lands between well-defined requests.
    llm = EndpointLLM(LLMConfig(endpoint=url, max_concurrency=1), cache=RequestCache(cache_dir))
    results = llm.chat_many_sync(batch(n))
    assert all(r.ok for r in results)
    print(json.dumps(llm.stats()))


if __name__ == "__main__":
    main()
