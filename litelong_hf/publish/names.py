"""Names on the Hub: repo ids, config names, and where a config's files live in the repo.

A config name is ``<method>-<length>[-<suffix>]``: ``litelong-128k``, ``hierarchical-1m``,
``nextlong-64k-fineweb``. The methods are those of the presets shipped in ``configs/`` (so a new strategy's
presets make its name publishable), plus the registered strategy names.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

from litelong_hf.config import ConfigError
from litelong_hf.publish.errors import PushValidationError
from litelong_hf.publish.stats import RowSchema

__all__ = [
    "ConfigName",
    "expected_schema",
    "histogram_path",
    "known_methods",
    "method_of",
    "parse_config_name",
    "shard_paths",
    "validate_config_name",
    "validate_repo_id",
]


_LENGTH_AND_SUFFIX_RE = re.compile(r"(?P<length>[1-9][0-9]*[km])(?:-(?P<suffix>[a-z0-9]+(?:-[a-z0-9]+)*))?")
_LENGTH_SUFFIX_RE = re.compile(r"-[1-9][0-9]*[km]$")
_REPO_PART_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9_])?$")


class ConfigName(NamedTuple):
    """The parts of a config name: ``nextlong-64k-fineweb`` → ``("nextlong", "64k", "fineweb")``."""

    method: str
    length: str
    suffix: str


@lru_cache(maxsize=1)
def known_methods() -> tuple[str, ...]:
    """Method families that may be published, longest first (``litelong-nextlong`` before ``litelong``)."""
    from litelong_hf.presets import preset_names
    from litelong_hf.strategies import strategy_names

    methods = set(strategy_names())
    methods.add("mixture")  # litelong_hf.mixture runs: mixture-64k, mixture-512k-nextlong
    methods.update(
        _LENGTH_SUFFIX_RE.sub("", name) for name in preset_names() if _LENGTH_SUFFIX_RE.search(name)
    )
    return tuple(sorted(methods, key=lambda m: (-len(m), m)))


def parse_config_name(config_name: str) -> ConfigName | None:
    """Split a config name into method, length and suffix; ``None`` if it is not a publishable name."""
    for method in known_methods():
        rest = config_name.removeprefix(method + "-") if isinstance(config_name, str) else ""
        if rest == config_name:
            continue
        match = _LENGTH_AND_SUFFIX_RE.fullmatch(rest)
        if match is not None:
            return ConfigName(method, match.group("length"), match.group("suffix") or "")
    return None


def validate_config_name(config_name: str) -> ConfigName:
    """Check a config name is ``<method>-<length>[-<suffix>]`` (e.g. ``litelong-128k``); return its parts."""
    parsed = parse_config_name(config_name or "")
    if parsed is None:
        methods = ", ".join(sorted(known_methods()))
        raise PushValidationError(
            f"Unknown config name {config_name!r}: config names are <method>-<length>[-<suffix>] with method "
            f"one of {methods} and a length like 64k, 128k, 512k or 1m (lower case), e.g. 'litelong-128k', "
            "'hierarchical-1m' or 'nextlong-64k-fineweb'. Pass it with --config NAME."
        )
    return parsed


def method_of(config_name: str, strategy: str | None = None) -> str:
    """The method family of a config (``litelong-nextlong``, ``litelong``, ...); ``strategy`` otherwise."""
    parsed = parse_config_name(config_name)
    if parsed is not None:
        return parsed.method
    return strategy or "unknown"


def expected_schema(config_name: str) -> RowSchema:
    """The row schema of a config, as its strategy declares it (``row_kind_of``).

    Asked in order: the config name itself (a preset), its ``<method>-<length>`` preset, its method (a
    strategy name); a name none of them knows holds pretraining rows."""
    from litelong_hf.strategies import row_kind_of

    parsed = parse_config_name(config_name)
    candidates = [config_name]
    if parsed is not None:
        candidates += [f"{parsed.method}-{parsed.length}", parsed.method]
    for candidate in candidates:
        try:
            return row_kind_of(candidate)
        except ConfigError:
            continue
    return "pretraining"


def validate_repo_id(repo_id: str) -> str:
    """Return ``repo_id`` if it is a valid ``namespace/name`` (or bare ``name``), else raise with the fix."""
    if not isinstance(repo_id, str) or not repo_id:
        raise PushValidationError("repo_id is empty; give it as 'namespace/name', e.g. 'me/my-long-data'.")
    parts = repo_id.split("/")
    problems = []
    if len(parts) > 2:
        problems.append("it has more than one '/'")
    for part in parts:
        if not _REPO_PART_RE.match(part):
            problems.append(
                f"{part!r} must be 1-96 characters of letters, digits, '-', '_', '.', "
                "starting with a letter or digit and not ending with '-' or '.'"
            )
        elif "--" in part or ".." in part:
            problems.append(f"{part!r} contains '--' or '..'")
    if parts[-1].endswith(".git"):
        problems.append("the name must not end with '.git'")
    if problems:
        raise PushValidationError(
            f"Invalid repo id {repo_id!r}: {'; '.join(problems)}. Use 'namespace/name', e.g. 'me/my-long-data'."
        )
    return repo_id


def shard_paths(config_name: str, num_shards: int, split: str = "train") -> list[str]:
    """Deterministic shard paths: ``<config>/<split>-00000-of-00003.parquet`` ..."""
    return [f"{config_name}/{split}-{i:05d}-of-{num_shards:05d}.parquet" for i in range(num_shards)]


def histogram_path(config_name: str) -> str:
    """Where the token-length plot of a config lives in the repo."""
    return f"assets/{config_name}-token-lengths.png"
