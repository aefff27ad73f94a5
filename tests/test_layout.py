"""``layout``: the one owner of cache paths, the write probe and "build a folder once, then publish"."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from litelong_hf import layout


def test_every_cache_path_lives_under_the_given_root(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    paths = [
        layout.index_dir("k", root),
        layout.corpus_store_dir("f", root),
        layout.llm_cache_dir(root),
        layout.topics_cache_dir(root),
        layout.checkpoint_dir("litelong-64k", "abc", root),
        layout.stats_path("mean", root),
        layout.tokenizer_dir("tok", root),
        layout.model_dir("model", root),
        layout.datasets_cache_dir(root),
    ]
    assert all(p.is_relative_to(root) for p in paths)
    assert len({p.relative_to(root).parts[0] for p in paths}) == len(paths)  # one folder per concern
    assert layout.stats_path("mean", root).suffix == ".json"


def test_default_root_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(layout.CACHE_ENV, str(tmp_path / "env"))
    assert layout.tokenizer_dir("t") == tmp_path / "env" / "tokenizers" / "t"
    assert layout.model_dir("m", tmp_path / "given") == tmp_path / "given" / "models" / "m"


def test_index_keys_change_with_what_was_indexed() -> None:
    assert layout.document_index_key("fp1") != layout.document_index_key("fp2")
    keys = {
        layout.chunk_index_key("fp", 2048, "sentences"),
        layout.chunk_index_key("fp", 1024, "sentences"),
        layout.chunk_index_key("fp", 2048, "none"),
        layout.chunk_index_key("other", 2048, "sentences"),
    }
    assert len(keys) == 4 and layout.document_index_key("fp") not in keys


def test_write_probe_creates_the_folder_and_leaves_nothing(tmp_path: Path) -> None:
    folder = layout.check_writable(tmp_path / "a" / "b")
    assert folder.is_dir() and list(folder.iterdir()) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only folders")
def test_write_probe_raises_for_a_read_only_folder(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(OSError):
            layout.check_writable(folder)
    finally:
        folder.chmod(0o700)


def test_build_once_builds_once_under_concurrency(tmp_path: Path) -> None:
    target = tmp_path / "thing"
    calls: list[Path] = []
    lock = threading.Lock()

    def build(folder: Path) -> None:
        with lock:
            calls.append(folder)
        (folder / "data.txt").write_text("payload")
        (folder / "done.json").write_text("{}")

    threads = [
        threading.Thread(target=layout.build_once, args=(target, "done.json", build)) for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1 and calls[0] != target  # built in a temporary sibling, then renamed
    assert (target / "data.txt").read_text() == "payload"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thing", "thing.lock"]  # no temporary left
    assert layout.build_once(target, "done.json", build) == target and len(calls) == 1


def test_build_once_replaces_a_half_built_folder_and_keeps_nothing_of_a_failed_build(tmp_path: Path) -> None:
    target = tmp_path / "thing"
    target.mkdir()
    (target / "stale.txt").write_text("left by a killed builder")

    def fails(folder: Path) -> None:
        (folder / "partial").write_text("x")
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        layout.build_once(target, "done", fails)
    assert [p.name for p in target.iterdir()] == ["stale.txt"]  # untouched by the failed build

    def forgets_marker(folder: Path) -> None:
        (folder / "data").write_text("x")

    with pytest.raises(RuntimeError, match="wrote no done"):
        layout.build_once(target, "done", forgets_marker)

    def good(folder: Path) -> None:
        (folder / "done").write_text("")

    layout.build_once(target, "done", good)
    assert [p.name for p in target.iterdir()] == ["done"]
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_build_once_in_place_resumes_what_a_killed_build_left(tmp_path: Path) -> None:
    target = tmp_path / "store"
    target.mkdir()
    (target / "part-0").write_text("kept")
    seen: list[list[str]] = []

    def resume(folder: Path) -> None:
        seen.append(sorted(p.name for p in folder.iterdir()))
        (folder / "part-1").write_text("new")
        (folder / "store.json").write_text("{}")

    assert layout.build_once(target, "store.json", resume, in_place=True) == target
    assert seen == [["part-0"]]
    assert sorted(p.name for p in target.iterdir()) == ["part-0", "part-1", "store.json"]


def test_atomic_folder_replaces_the_target_in_one_step(tmp_path: Path) -> None:
    target = tmp_path / "index"
    target.mkdir()
    (target / "old").write_text("old")
    with layout.atomic_folder(target) as tmp:
        (tmp / "new").write_text("new")
        assert (target / "old").is_file()  # readers still see the old folder while it is written
    assert [p.name for p in target.iterdir()] == ["new"]
    with pytest.raises(KeyError), layout.atomic_folder(target) as tmp:
        (tmp / "half").write_text("x")
        raise KeyError("stop")
    assert [p.name for p in target.iterdir()] == ["new"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index"]


def test_no_other_module_probes_or_locks_folders_itself() -> None:
    package = Path(layout.__file__).parent
    offenders = [
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if path.name != "layout.py"
        and any(s in path.read_text(encoding="utf-8") for s in (".write-test-", "FileLock("))
    ]
    assert offenders == []
