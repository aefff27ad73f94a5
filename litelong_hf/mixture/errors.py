"""The one exception of :mod:`litelong_hf.mixture`: bad mixture input, with the fix in its message."""

from __future__ import annotations


class MixtureError(ValueError):
    """A mixture cannot be made as asked (shares, components, row length, rows); the message names the fix."""
