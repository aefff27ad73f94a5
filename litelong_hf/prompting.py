"""The one prompts loader: versioned YAML prompt sets rendered with strict Jinja.

A prompt set is ``litelong_hf/prompts/<name>.yaml`` (packaged) or any YAML file with the same keys. Its
``version`` and the hash of its text go into the config hash of every run that uses it, so rows made with
different prompts never mix in a cache or a dataset.

Example::

    prompts = load_prompts("litelong_v1", required=("system", "generate", "critique", "judge"))
    text = prompts.render("generate", n=10, top="SCIENCE", sub="Astronomy", exclude="")
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import yaml


class PromptError(ValueError):
    """A prompt set is unknown or malformed; the message names the file and the fix."""


@dataclass(frozen=True)
class Prompts:
    """A versioned prompt set: templates by key, the set's version and a hash of its text."""

    name: str
    version: str
    templates: Mapping[str, str]
    sha: str

    @property
    def system(self) -> str:
        return self.templates["system"]

    @property
    def tag(self) -> str:
        """``version@sha``: what reports and cards record."""
        return f"{self.version}@{self.sha}"

    def render(self, key: str, **values: Any) -> str:
        """Render template ``key``; a missing value raises (strict undefined), never renders empty."""
        if key not in self.templates:
            raise PromptError(f"Prompt set {self.name!r} has no template {key!r}.")
        return _template(self.templates[key]).render(**values).strip()


@cache
def _template(text: str) -> jinja2.Template:
    environment = jinja2.Environment(
        undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False
    )
    return environment.from_string(text)


def packaged_prompt_sets() -> list[str]:
    """Names of the prompt sets shipped in ``litelong_hf/prompts``."""
    folder = resources.files("litelong_hf").joinpath("prompts")
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


@cache
def load_prompts(name: str, required: Sequence[str] = ("system",)) -> Prompts:
    """Packaged prompt set ``name`` or a path to a YAML file; every key of ``required`` must be present."""
    if name.endswith((".yaml", ".yml")):
        path = Path(name)
        if not path.is_file():
            raise PromptError(f"Prompt file {name} does not exist.")
        text = path.read_text(encoding="utf-8")
    else:
        packaged = resources.files("litelong_hf").joinpath("prompts", f"{name}.yaml")
        if not packaged.is_file():
            raise PromptError(
                f"Unknown prompt set {name!r}; use one of {', '.join(packaged_prompt_sets())} "
                "or a path to a YAML file with the same keys."
            )
        text = packaged.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PromptError(f"Prompt set {name!r} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise PromptError(f"Prompt set {name!r} must be a YAML mapping of key: template.")
    missing = [k for k in ("version", *required) if k not in data]
    if missing:
        raise PromptError(f"Prompt set {name!r} lacks {missing}.")
    sha = hashlib.sha256(text.encode()).hexdigest()[:12]
    templates = {str(k): str(v) for k, v in data.items() if k != "version"}
    return Prompts(name, str(data["version"]), templates, sha)
