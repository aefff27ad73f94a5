"""The dataset card's token-length plot: a deterministic PNG (same rows, same bytes)."""

from __future__ import annotations

import io
from collections.abc import Sequence

__all__ = ["render_length_histogram"]


def render_length_histogram(
    row_lengths: Sequence[int],
    piece_lengths: Sequence[int],
    *,
    title: str,
    piece_label: str = "tokens per piece",
    bins: int = 30,
) -> bytes:
    """PNG with two histograms: tokens per row and tokens per piece (document) of the rows.

    Byte-identical for identical inputs (no timestamp or software version in the file), so a re-push
    does not upload a new plot.
    """
    try:
        import matplotlib
    except ImportError as err:
        raise ImportError(
            "The dataset card's token-length plot needs matplotlib: pip install 'matplotlib>=3.8'"
        ) from err

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(9, 3.4), dpi=100)
    panels = figure.subplots(1, 2)
    for axis, values, label in (
        (panels[0], row_lengths, "tokens per row"),
        (panels[1], piece_lengths, piece_label),
    ):
        if len(values):
            low, high = min(values), max(values)
            pad = max(1.0, abs(low) * 0.05)
            value_range = (low - pad, high + pad) if low == high else None
            axis.hist(values, bins=bins, range=value_range, color="#4c72b0", edgecolor="white")
        else:
            axis.text(0.5, 0.5, "no data", ha="center", va="center", transform=axis.transAxes)
        axis.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
        axis.yaxis.set_major_locator(MaxNLocator(integer=True))
        axis.set_xlabel(label)
        axis.set_ylabel("count")
        axis.ticklabel_format(axis="x", style="plain", useOffset=False)
    figure.suptitle(title)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
