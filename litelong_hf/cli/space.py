"""``litelong-hf space deploy REPO_ID``: upload the demo Space (``space/``) as a Gradio Space repo."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from ..errors import cli_command
from .push import HubEndpointOption, HubTokenOption

SPACE_FILES = ("app.py", "handlers.py", "inputs.py", "views.py", "README.md", "requirements.txt")
"""Files a Space folder must hold: the app and the modules it imports from beside it (the README carries
the Space metadata)."""
IGNORE_PATTERNS = ["__pycache__", "__pycache__/*", "*.pyc", ".*"]


class SpaceDeployError(RuntimeError):
    """The Space could not be deployed; the message says why and what to do. It never holds the token."""


@dataclass(frozen=True)
class DeployResult:
    repo_id: str
    url: str
    commit_url: str
    files: tuple[str, ...]


def default_space_dir() -> Path:
    """``space/`` of a source checkout (next to the package), else ``./space``."""
    beside = Path(__file__).resolve().parents[2] / "space"
    return beside if beside.is_dir() else Path.cwd() / "space"


def space_files(space_dir: Path) -> list[str]:
    """The files that would be uploaded from ``space_dir``, relative to it (pure apart from listing)."""
    out = []
    for path in sorted(space_dir.rglob("*")):
        rel = path.relative_to(space_dir)
        hidden = any(part.startswith(".") or part == "__pycache__" for part in rel.parts)
        if path.is_file() and not hidden and path.suffix != ".pyc":
            out.append(rel.as_posix())
    return out


def check_space_dir(space_dir: Path) -> None:
    """Raise :class:`SpaceDeployError` unless ``space_dir`` holds a Space with Gradio metadata."""
    if not space_dir.is_dir():
        raise SpaceDeployError(
            f"{space_dir} is not a folder; pass --space-dir pointing at the Space (space/)."
        )
    missing = [name for name in SPACE_FILES if not (space_dir / name).is_file()]
    if missing:
        raise SpaceDeployError(
            f"{space_dir} lacks {', '.join(missing)}; a Space needs {', '.join(SPACE_FILES)}."
        )
    readme = (space_dir / "README.md").read_text(encoding="utf-8")
    if not readme.startswith("---") or "sdk: gradio" not in readme.split("---", 2)[1]:
        raise SpaceDeployError(
            f"{space_dir / 'README.md'} must start with YAML front matter holding 'sdk: gradio' (Space metadata)."
        )


def deploy_space(
    repo_id: str,
    *,
    space_dir: Path | None = None,
    token: str | None = None,
    private: bool = False,
    endpoint: str | None = None,
    commit_message: str = "Deploy the litelong-hf demo Space",
) -> DeployResult:
    """Create (or reuse) Gradio Space ``repo_id`` and upload ``space_dir`` to it in one commit.

    Files that are no longer in ``space_dir`` are deleted from the Space, so the Space mirrors the folder.
    """
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    from litelong_hf.hub import PushValidationError, validate_repo_id
    from litelong_hf.secrets import known_secrets, scrub_text

    folder = space_dir or default_space_dir()
    try:
        validate_repo_id(repo_id)
    except PushValidationError as err:
        raise SpaceDeployError(str(err).replace("my-long-data", "my-space")) from None
    check_space_dir(folder)
    if token is not None and not token.strip():
        raise SpaceDeployError("The token is empty; pass a Hugging Face token with write access.")
    api = HfApi(endpoint=endpoint, token=token.strip() if token else None)
    secrets = known_secrets([token] if token else [])
    try:
        repo = api.create_repo(repo_id, repo_type="space", space_sdk="gradio", private=private, exist_ok=True)
        commit = api.upload_folder(
            repo_id=repo_id,
            repo_type="space",
            folder_path=str(folder),
            commit_message=commit_message,
            ignore_patterns=IGNORE_PATTERNS,
            delete_patterns=["*"],
        )
    except HfHubHTTPError as err:
        status = err.response.status_code if err.response is not None else None
        hint = {
            401: "the token is missing or invalid: set HF_TOKEN, run `hf auth login` or pass --token",
            403: "the token cannot write to this namespace: use a write token of its owner",
        }.get(status or 0, "check the repo id, the token and the network, then run the command again")
        raise SpaceDeployError(
            scrub_text(f"Deploying {repo_id} failed ({status}): {hint}. {err}", secrets)
        ) from None
    return DeployResult(
        repo_id=repo_id,
        url=str(repo),
        commit_url=str(commit.commit_url),
        files=tuple(space_files(folder)),
    )


space_app = typer.Typer(help="The demo Space: a Gradio app that generates and shows rows of every method.")


@space_app.command("deploy")
@cli_command
def deploy(
    repo_id: Annotated[
        str, typer.Argument(metavar="REPO_ID", help="Space repo id, 'namespace/name'.", show_default=False)
    ],
    space_dir: Annotated[
        Path | None,
        typer.Option(
            "--space-dir", help="The Space folder (default: space/ of the checkout).", show_default=False
        ),
    ] = None,
    private: Annotated[bool, typer.Option("--private", help="Create the Space private.")] = False,
    endpoint: HubEndpointOption = None,
    token: HubTokenOption = None,
) -> None:
    """Upload space/ (app.py, README.md with the Space metadata, requirements.txt) as a Gradio Space.

    The Space is created if missing; running the command again updates it (and deletes from the Space the
    files no longer in the folder).
    """
    from .output import say

    result = deploy_space(repo_id, space_dir=space_dir, token=token, private=private, endpoint=endpoint)
    say(
        f"Deployed {len(result.files)} file(s) to the Space [bold]{result.repo_id}[/]\n{result.url}\n{result.commit_url}"
    )


def register(app: typer.Typer) -> None:
    """Add ``space deploy`` to the ``litelong-hf`` app."""
    app.add_typer(space_app, name="space")
