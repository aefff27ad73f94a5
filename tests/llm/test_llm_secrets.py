"""The API key reaches the server and nothing else: no log line, cache byte, exception text or repr."""

from __future__ import annotations

import logging
import traceback
from pathlib import Path

import pytest
from fault_proxy import FaultProxy, status
from llm_helpers import SERVER_KEY, endpoint_config

from litelong_hf.llm import AuthError, EndpointLLM, LLMError, RequestCache, RetriesExhaustedError, build_llms
from litelong_hf.llm.server import find_free_port

pytestmark = pytest.mark.integration


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def test_api_key_appears_nowhere_but_the_request_header(
    proxy: FaultProxy, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, including httpx2 and huggingface_hub, at their chattiest
    config = endpoint_config(proxy.url, max_retries=1)
    llm = EndpointLLM(config, cache=RequestCache(tmp_path))
    errors: list[LLMError] = []

    proxy.inject(status(503, f"echo {SERVER_KEY}"))  # a server that echoes the key back in an error body
    ok = llm.chat_sync(
        [{"role": "user", "content": "Say hi."}], max_tokens=8, expect="json"
    )  # unparseable: logged
    assert ok.text and ok.parse_error is not None
    proxy.inject(status(401, f'{{"error": "bad key {SERVER_KEY}"}}'))
    with pytest.raises(AuthError) as auth:
        llm.chat_sync([{"role": "user", "content": "Say bye."}], max_tokens=8)
    errors.append(auth.value)
    proxy.inject(status(503, SERVER_KEY), status(503, SERVER_KEY))
    with pytest.raises(RetriesExhaustedError) as exhausted:
        llm.chat_sync([{"role": "user", "content": "Say yes."}], max_tokens=8)
    errors.append(exhausted.value)
    with pytest.raises(LLMError) as unreachable:
        build_llms(endpoint_config(f"http://127.0.0.1:{find_free_port()}"), cache=False)
    errors.append(unreachable.value)

    assert proxy.authorization_headers and set(proxy.authorization_headers) == {f"Bearer {SERVER_KEY}"}
    shown = [repr(config), str(config), repr(llm), repr(llm.client), str(config.public_dict())]
    for error in errors:
        shown += [text for e in _chain(error) for text in (str(e), repr(e))]
        shown.append("".join(traceback.format_exception(error)))
    shown += [record.getMessage() for record in caplog.records]
    assert len(caplog.records) > 5
    for text in shown:
        assert SERVER_KEY not in text, text
    llm.cache.close()  # type: ignore[union-attr]
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"requests.sqlite", "unparseable.jsonl"}
    for path in files:
        assert SERVER_KEY.encode() not in path.read_bytes(), path
