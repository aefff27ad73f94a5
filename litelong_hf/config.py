"""Run configurations: flat dataclasses, one per strategy, filled from ``configs/<name>.yaml`` presets.

Every knob is a field with a docstring; any field can be overridden by keyword
(``make_config("litelong-128k", rows_per_topic=2)``) or CLI flag (``--rows-per-topic 2``). Fields are flat
so that ``datasets`` builder kwargs, CLI flags and YAML keys are the same names.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .corpus import CorpusConfig
from .fields import UNSET, Unset, check_field_metadata, given
from .index import IndexConfig
from .packing import PackingConfig

__all__ = [
    "CODE_VERSION",
    "CORPUS_FIELDS",
    "INDEX_FIELDS",
    "NON_SEMANTIC_FIELDS",
    "UNSET",
    "BaseConfig",
    "ConfigError",
    "Unset",
    "check_field_metadata",
    "given",
]

CODE_VERSION = "1"
"""Bumped whenever generated rows would change for the same config: part of every config hash."""

# Fields that change how a run goes, not what it produces: kept out of the config hash.
NON_SEMANTIC_FIELDS = frozenset(
    {
        "name",
        "num_rows",
        "cache_dir",
        "shards_dir",
        "max_concurrency",
        "num_proc",
        "show_progress",
        "api_key_env",
    }
)


class ConfigError(ValueError):
    """A config name or override is invalid; the message lists what is valid."""


# The fields of a run config that make its CorpusConfig and IndexConfig (field name -> their name); the
# `corpus stats` and `index build` commands take the same flags as `generate` through these.
CORPUS_FIELDS: dict[str, str] = {
    "corpus": "source",
    "corpus_name": "name",
    "corpus_split": "split",
    "text_column": "text_column",
    "id_column": "id_column",
    "min_chars": "min_chars",
    "dedup": "dedup",
    "max_documents": "max_documents",
    "max_bytes": "max_bytes",
    "num_proc": "num_proc",
}
INDEX_FIELDS: dict[str, str] = {"bm25_stemmer": "stemmer", "bm25_stopwords": "stopwords"}


@dataclass
class BaseConfig:
    """Fields shared by every strategy."""

    LLM_ROLES: ClassVar[tuple[str, ...]] = ()
    """LLM roles the strategy asks (fingerprinted in the hash and checked before a run)."""

    def llm_roles(self) -> tuple[str, ...]:
        """The LLM roles this run will ask (``LLM_ROLES`` unless the config makes some unnecessary)."""
        return self.LLM_ROLES

    name: str = field(
        default="", metadata={"help": "Config name, e.g. ``litelong-128k`` (preset file name)."}
    )
    strategy: str = field(
        default="",
        metadata={"help": ("``litelong``, ``nextlong``, ``litelong-nextlong`` or ``hierarchical``.")},
    )
    target_tokens: int = field(
        default=131_072,
        metadata={
            "min": 1,
            "help": (
                "Exact row length in tokens (pretraining) or the maximum with the chat template (instruction rows)."
            ),
        },
    )
    tokenizer: str = field(
        default="llama-3",
        metadata={
            "help": (
                "Tokenizer that defines lengths and the written ids: ``llama-3`` (packaged), a folder, or a Hub id."
            )
        },
    )
    corpus: str = field(
        default="demo",
        metadata={
            "help": ("Base corpus: ``demo``, a Hub dataset id, or local/fsspec files (path, glob or folder).")
        },
    )
    corpus_name: str | None = field(
        default=None, metadata={"help": "Hub dataset configuration name (e.g. ``sample-10BT``)."}
    )
    corpus_split: str = field(default="train", metadata={"help": "Split of the base corpus."})
    text_column: str = field(default="text", metadata={"help": "Column with the document text."})
    id_column: str | None = field(
        default=None, metadata={"help": "Column with a stable document id (default: position in the corpus)."}
    )
    min_chars: int = field(default=20, metadata={"help": "Skip documents shorter than this many characters."})
    dedup: bool = field(default=True, metadata={"help": "Skip exact duplicate documents (by content hash)."})
    max_documents: int | None = field(
        default=None, metadata={"help": "Read at most this many documents of the corpus (``None``: all)."}
    )
    max_bytes: int | None = field(
        default=None,
        metadata={
            "help": "Read corpus documents until their texts reach this many UTF-8 bytes (``None``: no budget).",
        },
    )
    separator: str = field(default="\n\n", metadata={"help": "Text between consecutive pieces of a row."})
    cut_policy: str = field(
        default="truncate",
        metadata={
            "choices": ("truncate", "drop_row"),
            "help": ("``truncate`` the piece that overflows a row, or ``drop_row`` (never cut a document)."),
        },
    )
    allow_single_piece_rows: bool = field(
        default=False, metadata={"help": "A single document longer than a row becomes its own truncated row."}
    )
    bm25_stemmer: str | None = field(
        default="english", metadata={"help": "Snowball stemmer for BM25 (``None`` to disable)."}
    )
    bm25_stopwords: str | None = field(
        default="en", metadata={"help": "Stopword list for BM25 (``None`` to disable)."}
    )
    seed: int = field(
        default=42, metadata={"help": "Seed for every random choice (per config, shard and row)."}
    )
    num_rows: int | None = field(
        default=None,
        metadata={"min": 1, "help": "Stop after this many rows (``None``: as many as the inputs give)."},
    )
    num_shards: int = field(
        default=1,
        metadata={
            "min": 1,
            "help": (
                "Independent units of work (slices of topics, seeds or documents); a re-run skips finished "
                "shards. ``num_proc`` or ``--executor ray`` run up to this many at once (as in ``datasets``, "
                "more workers than shards do nothing); rows depend on it, never on the number of workers."
            ),
        },
    )
    num_proc: int | None = field(
        default=None,
        metadata={
            "min": 1,
            "help": (
                "Processes that read the corpus, build its indexes and run shards on this machine (``None``: "
                "one); the store, the indexes and the rows are the same whatever it is."
            ),
        },
    )
    shards_dir: str | None = field(
        default=None,
        metadata={
            "help": (
                "Where shard checkpoints (parquet + report marker) are written: any fsspec path shared by "
                "all workers (``s3://bucket/run``); default: the cache."
            )
        },
    )
    endpoint: str | None = field(
        default=None,
        metadata={
            "help": (
                "Base URL of an OpenAI-compatible / TGI Messages endpoint for every role (``None``: embedded "
                "SmolLM2)."
            )
        },
    )
    model: str | None = field(default=None, metadata={"help": "Model name sent to the endpoint."})
    dialect: str = field(
        default="auto",
        metadata={
            "help": (
                "How the endpoint wants JSON schemas: ``auto``, ``tgi``, ``vllm``, ``llamacpp`` or ``openai``."
            )
        },
    )
    api_key_env: str = field(
        default="LITELONG_HF_API_KEY",
        metadata={
            "help": (
                "Environment variable holding the endpoint key (never stored in configs, caches or cards)."
            )
        },
    )
    roles: dict[str, dict[str, Any]] = field(
        default_factory=dict,
        metadata={
            "help": (
                'Per-role LLM overrides, e.g. ``{"judge": {"endpoint": "http://...", "model": "gemma"}}``.'
            )
        },
    )
    max_concurrency: int | None = field(
        default=None,
        metadata={"help": ("Concurrent requests per endpoint (default: what the server says, else 16).")},
    )
    temperature: float = field(default=0.6, metadata={"help": "Sampling temperature of every LLM call."})
    top_p: float = field(default=0.95, metadata={"help": "Nucleus sampling of every LLM call."})
    cache_dir: str | None = field(
        default=None,
        metadata={
            "help": (
                "Where indexes, LLM answers and shard checkpoints live (default ``~/.cache/litelong_hf``)."
            )
        },
    )

    def __post_init__(self) -> None:
        """Every field's ``choices`` and ``min`` metadata, checked once for every strategy's config."""
        check_field_metadata(self, ConfigError)

    def corpus_config(self) -> CorpusConfig:
        return CorpusConfig(**{dst: getattr(self, src) for src, dst in CORPUS_FIELDS.items()})

    def index_config(self) -> IndexConfig:
        return IndexConfig(**{dst: getattr(self, src) for src, dst in INDEX_FIELDS.items()})

    def packing_config(self, target_tokens: int | None = None) -> PackingConfig:
        return PackingConfig(
            target_tokens=target_tokens or self.target_tokens,
            separator=self.separator,
            cut_policy=self.cut_policy,  # type: ignore[arg-type]
            allow_single_piece_rows=self.allow_single_piece_rows,
        )

    def roles_config(self) -> Any:
        """The :class:`~litelong_hf.llm.RolesConfig` of this run: ``endpoint``/``model`` for every role, with
        per-role overrides from ``roles``. Keys never live in configs: they come from ``api_key_env``."""
        from .llm import LLMConfig, RolesConfig

        default = LLMConfig(
            endpoint=self.endpoint,
            model=self.model,
            dialect=self.dialect,  # type: ignore[arg-type]
            api_key_env=self.api_key_env,
            max_concurrency=self.max_concurrency,
        )
        roles: dict[str, Any] = {"default": default}
        for role, override in (self.roles or {}).items():
            if not isinstance(override, dict):
                raise ConfigError(f"roles.{role} must be a mapping such as {{endpoint: ..., model: ...}}.")
            if any("key" in k and k != "api_key_env" for k in override):
                raise ConfigError(
                    f"roles.{role} holds an API key: configs are hashed, cached and published, so keys must "
                    "not be in them. Put the key in an environment variable and name it with api_key_env."
                )
            merged = {
                f.name: getattr(default, f.name) for f in dataclasses.fields(default) if f.name != "api_key"
            }
            merged.update(override)
            roles[role] = LLMConfig.from_dict(merged)
        return RolesConfig.from_dict(roles)

    def semantic_fields(self) -> dict[str, Any]:
        """Every field that changes the rows (run-time knobs such as ``num_rows`` left out)."""
        return {k: v for k, v in dataclasses.asdict(self).items() if k not in NON_SEMANTIC_FIELDS}

    def hash_payload(self) -> dict[str, Any]:
        """What determines the rows: every semantic field, the code version, and fingerprints of the inputs
        behind the names: the corpus content (files' sizes, dates and content samples, or the Hub revision)
        and, for strategies that ask an LLM, the model that answers each role."""
        from .corpus import corpus_fingerprint

        data = self.semantic_fields()
        data["_code_version"] = CODE_VERSION
        data["_corpus"] = corpus_fingerprint(self.corpus_config())
        if self.llm_roles():
            from .llm import fingerprint

            data["_llm"] = fingerprint(self.roles_config(), needed=self.llm_roles())
        return data

    def config_hash(self) -> str:
        """12 hex characters naming what the rows depend on; computed once per config object (inputs are
        fingerprinted when the config is first hashed, so build a new config after changing them)."""
        key = json.dumps(self.semantic_fields(), sort_keys=True, default=str)
        memo = self.__dict__.get("_hash_memo")
        if memo is not None and memo[0] == key:
            return str(memo[1])
        blob = json.dumps(self.hash_payload(), sort_keys=True, default=str)
        value = hashlib.sha256(blob.encode()).hexdigest()[:12]
        self.__dict__["_hash_memo"] = (key, value)
        return value

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
