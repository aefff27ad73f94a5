"""The one owner of secrets hygiene: what counts as a secret and how it is kept out of text and data.

Hub tokens and endpoint keys must never reach logs, caches, cards, reports or error messages. Every module
that prints, stores or publishes something derived from user input passes it through :func:`scrub_text`
(strings) or :func:`redact` (nested configs and reports) first.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

# Keys whose values are secrets: "token", "hf_token", "api_key", "password"... but not counts such as
# "n_tokens"/"max_tokens" nor "tokenizer".
_SECRET_KEY_RE = re.compile(
    r"(^|[_-])(token|api[_-]?key|apikey|(secret|access|private)[_-]?key|secret|password|passwd|credentials?"
    r"|authorization|auth|bearer)$",
    re.I,
)
_SECRET_ENV_RE = re.compile(r"(^|_)(TOKEN|API_KEY|APIKEY|KEY|SECRET|PASSWORD)($|_)")
_URL_USERINFO_RE = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s]+@", re.I)
_URL_SECRET_PARAM_RE = re.compile(
    r"(?P<key>[?&](?:api[_-]?key|key|token|access_token|sig|signature)=)[^&#\s]+", re.I
)
REDACTED = "<redacted>"


def known_secrets(extra: Iterable[str | None] = ()) -> list[str]:
    """Secret strings to keep out of cards and messages: the given ones plus secret-looking env vars."""
    found = [s for s in extra if s]
    for name, value in os.environ.items():
        if _SECRET_ENV_RE.search(name.upper()) and len(value) >= 8:
            found.append(value)
    return sorted(set(found), key=len, reverse=True)


def scrub_text(text: str, secrets: Iterable[str]) -> str:
    """Replace every secret string, URL credentials and secret URL parameters in ``text``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    text = _URL_USERINFO_RE.sub(lambda m: f"{m.group('scheme')}{REDACTED}@", text)
    return _URL_SECRET_PARAM_RE.sub(lambda m: f"{m.group('key')}{REDACTED}", text)


def redact(value: Any, secrets: Iterable[str] = (), *, by_key: bool = True) -> Any:
    """Deep copy of ``value`` with secret strings redacted, and (``by_key``) the values of secret-named keys
    (``api_key``, ``token``, ``password``...; not ``n_tokens`` or ``tokenizer``)."""
    secrets = list(secrets)
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if by_key and _SECRET_KEY_RE.search(str(key)) and item not in (None, "", False):
                out[str(key)] = REDACTED
            else:
                out[str(key)] = redact(item, secrets, by_key=by_key)
        return out
    if isinstance(value, list | tuple):
        return [redact(item, secrets, by_key=by_key) for item in value]
    if isinstance(value, str):
        return scrub_text(value, secrets)
    return copy.deepcopy(value)
