"""What a command tells a person: one line (or a few) on stderr, as written.

Every command prints its messages through :func:`say` on the one stderr console of the live display
(``progress.console``), so a message never tears a progress bar and reads the same in every command: no
highlighting of numbers and paths, long paths and URLs not wrapped (they stay copyable).
"""

from __future__ import annotations

from rich.markup import escape


def say(message: str, *, markup: bool = True) -> None:
    """Print ``message`` on stderr; ``markup=False``: its text as is (square brackets are not markup)."""
    from ..progress import console

    console.print(message if markup else escape(message), highlight=False, soft_wrap=True)
