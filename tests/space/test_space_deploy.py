"""``litelong-hf space deploy`` against the local Hub server."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from space_helpers import REPO_ROOT
from typer.testing import CliRunner

from litelong_hf.cli import app
from litelong_hf.testing.hub_server import HubServer

pytestmark = pytest.mark.integration


def deploy(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["space", "deploy", *args])
    return result.exit_code, result.output


def test_deploy_uploads_the_space_and_mirrors_it(
    space_hub: HubServer, hub_token: str, tmp_path: Path
) -> None:
    folder = tmp_path / "space"
    shutil.copytree(REPO_ROOT / "space", folder, ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "notes.txt").write_text("temporary\n")
    common = ["--space-dir", str(folder), "--endpoint", space_hub.url, "--token", hub_token]

    code, output = deploy("tester/demo-space", *common)
    assert code == 0, output
    files = space_hub.repo_files("tester/demo-space", repo_type="space")
    assert {
        "app.py",
        "handlers.py",
        "inputs.py",
        "views.py",
        "README.md",
        "requirements.txt",
        "notes.txt",
    } <= set(files)
    readme = space_hub.read_file("tester/demo-space", "README.md", repo_type="space")
    assert readme == (REPO_ROOT / "space" / "README.md").read_bytes()
    assert hub_token not in output

    (folder / "notes.txt").unlink()
    code, output = deploy("tester/demo-space", *common)
    assert code == 0, output
    files = space_hub.repo_files("tester/demo-space", repo_type="space")
    assert "notes.txt" not in files and "app.py" in files
    assert space_hub.commit_count("tester/demo-space", repo_type="space") >= 2


def test_deploy_errors_are_one_clear_message(space_hub: HubServer, hub_token: str, tmp_path: Path) -> None:
    code, output = deploy("not a/valid/id", "--endpoint", space_hub.url, "--token", hub_token)
    assert code == 2 and "Invalid repo id" in output and "Traceback" not in output

    empty = tmp_path / "empty"
    empty.mkdir()
    code, output = deploy("tester/x", "--space-dir", str(empty), "--endpoint", space_hub.url)
    assert (
        code == 2 and "lacks app.py, handlers.py, inputs.py, views.py, README.md, requirements.txt" in output
    )

    partial = tmp_path / "partial"  # an app without the modules it imports: refused before any upload
    shutil.copytree(REPO_ROOT / "space", partial, ignore=shutil.ignore_patterns("__pycache__", "views.py"))
    code, output = deploy("tester/x", "--space-dir", str(partial), "--endpoint", space_hub.url)
    assert code == 2 and "lacks views.py" in output

    wrong = "hf_wrong_" + "y" * 20
    code, output = deploy("tester/x", "--endpoint", space_hub.url, "--token", wrong)
    assert code == 2 and "401" in output and wrong not in output and "Traceback" not in output
