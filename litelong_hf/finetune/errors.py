"""The one error type of the fine-tuning module."""

from __future__ import annotations


class TrainError(ValueError):
    """Bad input for ``litelong-hf train``; the message names the fix.

    Raised before any weights load for everything a user can get wrong: rows in another tokenizer, rows
    longer than the model's positions, an unknown ``rope_type``, a missing model, a non-empty output folder.
    """
