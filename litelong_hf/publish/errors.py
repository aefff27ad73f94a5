"""The errors of a push, and the one translation of Hub failures into a short, token-free sentence."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from litelong_hf.secrets import scrub_text

__all__ = ["PushError", "PushValidationError", "hub_error"]

logger = logging.getLogger("litelong_hf.hub")

_RESUME_HINT = (
    " Nothing new was published (the config becomes visible only with the final commit). Run the same push "
    "again to resume: shards already uploaded are not sent again."
)


class PushError(RuntimeError):
    """A push could not be done; the message says why and what to do. It never contains the token."""


class PushValidationError(PushError, ValueError):
    """The inputs of a push are wrong; raised before any network request."""


def _is_connection_failure(err: BaseException) -> bool:
    """Whether ``err`` (or what it wraps) means the Hub could not be reached at all."""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        names = {klass.__name__ for klass in type(current).__mro__}
        if names & {"ConnectError", "ConnectTimeout", "ConnectionError", "ConnectionRefusedError"}:
            return True
        if "Name or service not known" in str(current) or "nodename nor servname" in str(current):
            return True
        current = current.__cause__ or current.__context__
    return False


def _status_of(err: BaseException) -> int | None:
    """The HTTP status of a Hub error, looking through one level of wrapping."""
    for candidate in (err, err.__cause__ or err.__context__):
        response = getattr(candidate, "response", None)
        status = getattr(response, "status_code", None)
        if isinstance(status, int):
            return status
    return None


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def hub_error(
    err: Exception,
    doing: str,
    secrets: Sequence[str],
    *,
    endpoint: str | None = None,
    resumable: bool = False,
) -> PushError:
    """A clear, token-free :class:`PushError` for a failure while ``doing`` something on the Hub.

    The original exception must not be chained by the caller (``raise hub_error(...) from None``): it holds
    the request, Authorization header included. Its scrubbed text goes to the debug log.
    """
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

    logger.debug("Hub error while %s: %s", doing, scrub_text(f"{type(err).__name__}: {err}", secrets))
    status = _status_of(err)
    first_line = _first_line(err)
    cause = err.__cause__ or err.__context__
    if isinstance(err, RuntimeError) and cause is not None and not isinstance(err, HfHubHTTPError):
        # huggingface_hub wraps upload errors: "Error while uploading 'x' to the Hub." from the HTTP error.
        first_line = f"{first_line} ({_first_line(cause)})"
    if status is None and _is_connection_failure(err):
        where = endpoint or "the Hub"
        message = (
            f"Could not reach {where} while {doing}. Check your network connection, or the Hub URL "
            "(--endpoint / HF_ENDPOINT)."
        )
    elif status == 401 or (isinstance(err, RepositoryNotFoundError) and status in (401, 403)):
        message = (
            f"The Hub rejected the token while {doing} (HTTP {status}). Check the token (token=..., HF_TOKEN "
            "or `hf auth login`) and that it has write access to this namespace."
        )
    elif status == 403:
        message = (
            f"The token may not write to this repo ({doing}, HTTP 403). Use a token with write access to "
            "the namespace, or push to your own namespace."
        )
    else:
        message = f"The push failed while {doing}: {first_line}"
    if resumable:
        message += _RESUME_HINT
    return PushError(scrub_text(message, secrets))
