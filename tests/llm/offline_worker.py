"""Subprocess of the offline test: ``HF_HUB_OFFLINE=1`` is in its environment before anything is imported.

Usage: python offline_worker.py URL CACHE_DIR N  (the API key comes from $LITELONG_HF_API_KEY)

Prints one JSON line: the LLM's counters and the endpoint's fingerprint.
"""

from __future__ import annotations

import json
import sys

import huggingface_hub.constants

from litelong_hf.llm import ChatRequest, LLMConfig, build_llms, check_endpoint, fingerprint


def main() -> None:
    url, cache_dir, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    assert huggingface_hub.constants.HF_HUB_OFFLINE, "run me with HF_HUB_OFFLINE=1"
    # One request at a time and fast backoff: faults injected by the test land on known requests.
    config = LLMConfig(endpoint=url, max_concurrency=1, backoff_base_s=0.05, backoff_max_s=0.2)
    check_endpoint(config)
    served = fingerprint(config, needed=("qa",))["qa"]
    llm = build_llms(config, cache=cache_dir, needed=("qa",))["qa"]
    requests = [
        ChatRequest(messages=[{"role": "user", "content": f"Name colour number {i}."}], max_tokens=6, seed=i)
        for i in range(n)
    ]
    results = llm.chat_many_sync(requests)
    assert all(r.ok for r in results), [r.error for r in results]
    print(json.dumps({"stats": llm.stats(), "fingerprint": served}))


if __name__ == "__main__":
    main()
