"""What answers each role is part of a run's identity (``fingerprint``), and is checked before a run."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from llm_helpers import endpoint_config

from litelong_hf.llm import (
    AuthError,
    LLMConfig,
    LLMConfigError,
    ModelNotServedError,
    RolesConfig,
    UnreachableEndpointError,
    check_endpoint,
    fingerprint,
)
from litelong_hf.llm.fingerprints import file_digest
from litelong_hf.llm.server import LocalServer, find_free_port
from litelong_hf.resources import smollm2_gguf_path


def _hash(value: object) -> str:
    """What a config hash does with the fingerprint: canonical JSON, then SHA-256."""
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


@pytest.mark.integration
def test_the_served_model_changes_the_fingerprint_at_an_unchanged_url(tmp_path: Path) -> None:
    port = find_free_port()
    renamed = tmp_path / "another-model.Q4_1.gguf"  # llama.cpp reports the model by the path it serves
    renamed.symlink_to(smollm2_gguf_path())
    roles = RolesConfig(default=LLMConfig(endpoint=f"http://127.0.0.1:{port}"))  # model=None: the server's

    def served_by(model_path: Path | None) -> tuple[dict, dict]:
        with LocalServer(port=port, model_path=model_path, n_ctx=512, threads=1):
            return fingerprint(roles, needed=("judge",), refresh=True), fingerprint(
                roles, needed=("judge",), refresh=True
            )

    (first, again), (other, _) = served_by(None), served_by(renamed)
    assert _hash(first) == _hash(again)
    assert _hash(first) != _hash(other)
    assert first["judge"]["served"].endswith("SmolLM2-135M-Instruct.Q4_1.gguf")
    assert other["judge"]["served"] == str(renamed)
    assert first["judge"]["endpoint"] == other["judge"]["endpoint"] == f"http://127.0.0.1:{port}"
    # Cached per process: with the server gone, the last answer comes back without a probe.
    assert fingerprint(roles, needed=("judge",)) == other


def test_embedded_fingerprint_is_the_model_file_content(tmp_path: Path) -> None:
    packaged = fingerprint(None, needed=("qa", "judge"))
    assert packaged["qa"] == packaged["judge"]
    assert (
        packaged["qa"]["backend"] == "embedded"
        and packaged["qa"]["model"] == "SmolLM2-135M-Instruct.Q4_1.gguf"
    )
    assert len(packaged["qa"]["sha256"]) == 64

    small = tmp_path / "small.gguf"
    small.write_bytes(b"GGUF" + bytes(1000))
    before = file_digest(small)
    small.write_bytes(b"GGUF" + bytes(500) + b"x" + bytes(499))  # one byte changed, same size
    assert file_digest(small) != before

    large = tmp_path / "large.gguf"  # above the sampling threshold (9 MiB): sampled, not read whole
    content = bytearray(b"GGUF" + bytes(12 << 20))
    large.write_bytes(content)
    first = file_digest(large)
    large.write_bytes(content)  # the same bytes written again (new mtime): the same digest
    assert file_digest(large) == first
    content[100] = 1  # one byte of the header (where GGUF keeps the model's metadata)
    large.write_bytes(content)
    assert file_digest(large) != first

    with pytest.raises(LLMConfigError, match="cannot be read"):
        fingerprint(LLMConfig(model_path=str(tmp_path / "missing.gguf")), needed=("qa",))


@pytest.mark.integration
def test_check_endpoint_names_what_is_wrong(llama_server: str) -> None:
    check_endpoint(endpoint_config(llama_server))  # the server's own model: fine
    served = fingerprint(endpoint_config(llama_server), needed=("qa",))["qa"]["served"]
    check_endpoint(endpoint_config(llama_server, model=served))  # named exactly: fine

    with pytest.raises(ModelNotServedError) as info:
        check_endpoint(endpoint_config(llama_server, model="Qwen/Qwen2.5-7B-Instruct"))
    message = str(info.value)
    assert "'Qwen/Qwen2.5-7B-Instruct'" in message and served in message and "leave it unset" in message

    with pytest.raises(AuthError, match="rejected the credentials"):
        check_endpoint(endpoint_config(llama_server, api_key="sk-wrong-key-0000"))

    url = f"http://127.0.0.1:{find_free_port()}"
    with pytest.raises(UnreachableEndpointError, match="serve-local"):
        check_endpoint(RolesConfig(judge=endpoint_config(url)), needed=("judge", "qa"))
    check_endpoint(RolesConfig(judge=endpoint_config(url)), needed=("qa",))  # judge not needed: not asked


def test_check_endpoint_on_the_embedded_model(tmp_path: Path) -> None:
    check_endpoint(None)  # the packaged model and llama-cpp-python are installed
    with pytest.raises(LLMConfigError, match="does not exist"):
        check_endpoint(LLMConfig(model_path=str(tmp_path / "missing.gguf")))
