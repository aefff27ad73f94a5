"""The Jinja environment of the card templates in ``cards/`` (package ``litelong_hf.cards``) and its filters.

Filters: ``num`` (thousands separators, ``num(3)`` for three decimals), ``pct`` (a share as a percentage), ``md`` (escape text for a Markdown
table cell), ``fence`` (a code block longer than any backtick run inside), ``to_yaml``, ``tojson_pretty``.
"""

from __future__ import annotations

import html
import importlib.resources
import json
import math
import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    import jinja2

__all__ = ["citations", "environment", "escape_markdown", "fence", "format_number", "format_percent"]


def _templates_dir() -> Path | None:
    try:
        root = importlib.resources.files("litelong_hf.cards")
    except ModuleNotFoundError:
        # Running from a source checkout that is not installed: `cards/` sits next to `litelong_hf/`.
        fallback = Path(__file__).resolve().parents[2] / "cards"
        return fallback if fallback.is_dir() else None
    return Path(str(root))


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The (cached) Jinja environment of the card templates, with the card's filters."""
    import jinja2  # here, not at module level: `import litelong_hf` stays light

    directory = _templates_dir()
    if directory is None or not (directory / "dataset_card.md.j2").is_file():
        raise FileNotFoundError(
            "The dataset-card templates (package `litelong_hf.cards`) are missing; reinstall litelong-hf."
        )
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(directory)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # Markdown, not HTML; user strings are fenced or escaped with `md` below
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = format_number
    env.filters["pct"] = format_percent
    env.filters["md"] = escape_markdown
    env.filters["to_yaml"] = lambda value: yaml.safe_dump(value, sort_keys=False, allow_unicode=True).rstrip()
    env.filters["fence"] = fence
    env.filters["tojson_pretty"] = lambda value: json.dumps(value, indent=2, ensure_ascii=False, default=str)
    return env


def format_number(value: Any, digits: int = 1) -> str:
    """``1234`` → ``1,234``; ``2.0`` → ``2``; ``0.4567`` → ``0.5`` (``digits`` decimals); ``None`` → ``None``."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
            return f"{int(value):,}"
        return f"{value:,.{digits}f}"
    return str(value)


def format_percent(value: Any, digits: int = 1) -> str:
    """``0.756`` → ``75.6%``; anything not a number → ``–``."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return "–"
    return f"{100 * value:.{digits}f}%"


def escape_markdown(value: Any) -> str:
    """Escape text put in a Markdown table cell or sentence (no HTML, no table breaks)."""
    text = html.escape(str(value), quote=False)
    return text.replace("|", "\\|").replace("\n", " ").replace("`", "\\`")


def fence(text: str, language: str = "") -> str:
    """A fenced code block longer than any backtick run inside ``text``."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{language}\n{text}\n{ticks}"


def citations() -> tuple[dict[str, str], ...]:
    """The references of every dataset card: the paper each registered strategy declares (its
    ``citation``), once each, ordered by name."""
    from dataclasses import asdict

    from litelong_hf.strategies import strategy_class, strategy_names

    seen = {c.arxiv: c for c in (strategy_class(n).citation for n in strategy_names()) if c is not None}
    return tuple(asdict(c) for c in sorted(seen.values(), key=lambda c: c.name))
