"""The export's user error."""

from __future__ import annotations


class ExportError(ValueError):
    """The rows cannot be exported as asked (bad folder, format, option or row); the message names the fix."""
