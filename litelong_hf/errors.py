"""User errors: how a failure reaches a person as one sentence naming the fix.

Every exception class defined in this package (``ConfigError``, ``CorpusError``, ``TokenizerNotFoundError``,
``EndpointError``, ``PushError``, ...) is a *user error*: its message says what was wrong and what to change.
Anything else (a bug, a library failure) is not, and keeps its traceback.

``datasets`` wraps whatever a builder raises in ``DatasetGenerationError``; :func:`user_error` digs the
project's own exception out of such a chain so ``litelong_hf.load`` and the CLI can surface it as is.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import typer

F = TypeVar("F", bound=Callable[..., Any])


class LiteLongError(Exception):
    """Base of errors raised by this package's orchestration (the run itself, not one module)."""


def is_user_error(exc: BaseException) -> bool:
    """Whether ``exc`` is one of this package's own, public exception types."""
    cls = type(exc)
    return cls.__module__.split(".")[0] == "litelong_hf" and not cls.__name__.startswith("_")


def user_error(exc: BaseException) -> BaseException | None:
    """The first user error in ``exc``'s cause/context chain (``exc`` itself included), or None."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if is_user_error(current):
            return current
        current = current.__cause__ or current.__context__
    return None


def debug_enabled() -> bool:
    """``--debug`` or ``LITELONG_HF_DEBUG=1``: show tracebacks of user errors too."""
    return os.environ.get("LITELONG_HF_DEBUG", "") not in ("", "0")


@contextlib.contextmanager
def cli_errors(*, top_level: bool = False) -> Iterator[None]:
    """Turn a user error into ``error: <message>`` on stderr and exit status 2, without a traceback.

    Other exceptions propagate (they are bugs and deserve their traceback). Inside a command use the
    default (``typer.Exit``); around the whole application (``top_level``) exit the process directly."""
    try:
        yield
    except (typer.Exit, typer.Abort, KeyboardInterrupt):
        raise
    except Exception as exc:
        found = user_error(exc)
        if found is None or debug_enabled():
            raise
        from .secrets import known_secrets, scrub_text

        message = scrub_text(str(found), known_secrets())
        typer.echo(f"error: {message}", err=True)
        if not debug_enabled():
            typer.echo("(run with --debug or LITELONG_HF_DEBUG=1 for the traceback)", err=True)
        sys.stderr.flush()
        if top_level:
            raise SystemExit(2) from None
        raise typer.Exit(2) from None


def cli_command(command: F) -> F:
    """``command`` run inside :func:`cli_errors`: every ``litelong-hf`` command is registered through this,
    so a user error from any of them prints ``error: <message>`` and exits 2."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with cli_errors():
            return command(*args, **kwargs)

    wrapper.__dict__["cli_errors"] = True  # what tests/cli check on every registered command
    return wrapper  # type: ignore[return-value]
