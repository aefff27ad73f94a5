"""The endpoint backend against a local server that really embeds (MiniLM), through the fault proxy."""

from __future__ import annotations

from collections.abc import Iterator

import fault_proxy
import numpy as np
import pytest
from fault_proxy import DROP, FaultProxy, status

from litelong_hf import layout
from litelong_hf.embeddings import Embedder, EmbeddingConfig, EmbeddingError, make_embedder
from litelong_hf.testing.embed_server import EmbedServer, serve_embeddings

TEXTS = [
    "The Garda appealed for witnesses.",
    "Cats purr when content.",
    "Stocks fell in Tokyo.",
    "A new hospital opened.",
]
KEY = "sk-test-embedding-key-123456"


@pytest.fixture(scope="module")
def server(minilm_embedder: Embedder) -> Iterator[EmbedServer]:
    with serve_embeddings(minilm_embedder, api_key=KEY) as running:
        yield running


@pytest.fixture
def proxy(server: EmbedServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultProxy]:
    # The proxy faults and counts the requests whose path ends with CHAT_PATH: point it at the embedding routes.
    monkeypatch.setattr(fault_proxy, "CHAT_PATH", ("/embed", "/v1/embeddings"))
    running = FaultProxy(server.url)
    running.start()
    yield running
    running.stop()


@pytest.mark.parametrize("api", ["tei", "openai"])
def test_endpoint_embeds_like_the_model_through_faults(
    proxy: FaultProxy, minilm_embedder: Embedder, api: str
) -> None:
    config = EmbeddingConfig(
        backend="endpoint",
        endpoint=proxy.url,
        api="auto" if api == "tei" else api,
        model=None if api == "tei" else "minilm",
        api_key=KEY,
        batch_size=2,
        max_concurrency=2,
        max_retries=3,
    )
    embedder = make_embedder(config)
    assert embedder.api == api  # type: ignore[attr-defined]
    proxy.inject(status(503, Retry_After="0"), DROP)
    vectors = embedder.embed(TEXTS)
    assert np.allclose(vectors, minilm_embedder.embed(TEXTS), atol=1e-5)
    assert proxy.chat_requests == 4 and proxy.forwarded == 2  # two batches, two faults retried
    assert proxy.max_in_flight <= 2
    assert all(h == f"Bearer {KEY}" for h in proxy.authorization_headers)

    proxy.reset_counts()
    again = make_embedder(config).embed(TEXTS[::-1])
    assert np.array_equal(again, vectors[::-1]) and proxy.chat_requests == 0  # the request cache answers
    cache_files = list(layout.embedding_request_cache_dir().rglob("*"))
    assert cache_files and not any(KEY.encode() in f.read_bytes() for f in cache_files if f.is_file())


def test_endpoint_failures_are_one_clear_line(proxy: FaultProxy) -> None:
    wrong = EmbeddingConfig(backend="endpoint", endpoint=proxy.url, api="tei", api_key="sk-wrong-key-999999")
    with pytest.raises(EmbeddingError, match="refused the key") as info:
        make_embedder(wrong).embed(["x"])
    assert "sk-wrong-key-999999" not in str(info.value) and "\n" not in str(info.value)

    flaky = EmbeddingConfig(backend="endpoint", endpoint=proxy.url, api="tei", api_key=KEY, max_retries=1)
    proxy.inject(status(503), status(503))
    with pytest.raises(EmbeddingError, match="failed 2 attempts in a row; last: HTTP 503") as info:
        make_embedder(flaky).embed(["never cached"])
    assert "\n" not in str(info.value)

    with pytest.raises(EmbeddingError, match="needs the model name"):
        make_embedder(EmbeddingConfig(backend="endpoint", endpoint=proxy.url, api="openai"))
