"""``HF_HUB_OFFLINE`` is about the Hub: it never blocks the user's own server, only Hub-hosted inference."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fault_proxy import DROP, FaultProxy, status
from llm_helpers import SERVER_KEY

from litelong_hf.llm import EndpointLLM, HubOfflineError, LLMConfig, build_llms, check_endpoint
from litelong_hf.llm.dialects import hub_offline, is_hub_hosted

WORKER = Path(__file__).with_name("offline_worker.py")
TOTAL = 4


def _run_worker(proxy: FaultProxy, cache_dir: Path) -> dict:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "LITELONG_HF_API_KEY": SERVER_KEY}
    done = subprocess.run(
        [sys.executable, str(WORKER), proxy.url, str(cache_dir), str(TOTAL)],
        env=env,
        capture_output=True,
        timeout=100,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    return json.loads(done.stdout.decode().strip().splitlines()[-1])


@pytest.mark.integration
def test_offline_mode_reaches_your_own_server_with_retries_and_cache(
    proxy: FaultProxy, tmp_path: Path
) -> None:
    proxy.inject(status(503, "warming up"), DROP)  # the first request fails twice, then goes through
    first = _run_worker(proxy, tmp_path)
    stats = first["stats"]
    assert (stats["requests_sent"], stats["cache_hits"], stats["retries"]) == (TOTAL, 0, 2)
    assert (proxy.chat_requests, proxy.forwarded) == (TOTAL + 2, TOTAL)
    assert first["fingerprint"]["served"].endswith("SmolLM2-135M-Instruct.Q4_1.gguf")
    assert set(proxy.authorization_headers) == {f"Bearer {SERVER_KEY}"}

    proxy.reset_counts()
    second = _run_worker(proxy, tmp_path)  # a re-run: every answer comes from the cache
    assert (second["stats"]["requests_sent"], second["stats"]["cache_hits"]) == (0, TOTAL)
    assert proxy.chat_requests == 0
    assert second["fingerprint"] == first["fingerprint"]


def test_offline_mode_stops_hub_hosted_inference_before_any_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    config = LLMConfig(
        endpoint="https://router.huggingface.co/v1",
        model="meta-llama/Llama-3.1-8B-Instruct",
        api_key="hf_dummy_token_0123",
    )
    with pytest.raises(HubOfflineError, match="HF_HUB_OFFLINE is set") as info:
        EndpointLLM(config).chat_sync([{"role": "user", "content": "Hi"}], max_tokens=4)
    assert "your own server" in str(info.value) and "hf_dummy_token_0123" not in str(info.value)
    with pytest.raises(HubOfflineError):
        build_llms(config, cache=False)
    with pytest.raises(HubOfflineError):
        check_endpoint(config)


def test_which_endpoints_are_hub_hosted() -> None:
    assert is_hub_hosted("https://router.huggingface.co/v1", {})
    assert is_hub_hosted("https://api-inference.huggingface.co/models/x", {})
    assert not is_hub_hosted("https://xyz.us-east-1.aws.endpoints.huggingface.cloud", {})  # your endpoint
    assert not is_hub_hosted("http://127.0.0.1:8080", {})
    hub = {"HF_ENDPOINT": "http://127.0.0.1:9000"}  # a private Hub mirror (or the test Hub server)
    assert is_hub_hosted("http://127.0.0.1:9000/v1", hub) and not is_hub_hosted("http://127.0.0.1:8080", hub)
    assert [hub_offline({"HF_HUB_OFFLINE": v}) for v in ("1", "true", "ON", "0", "", "no")] == [
        True,
        True,
        True,
        False,
        False,
        False,
    ]
    assert not hub_offline({})
