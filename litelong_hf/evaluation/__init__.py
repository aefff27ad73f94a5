"""Evaluation: a RULER-style long-context suite and data-quality scores for generated rows.

Modules (each importable on its own; heavy dependencies load lazily; see docs/evaluation.md):

- ``purity``: topic purity of rows on a labelled corpus (``dominant_label_share``, ``purity_ratio``).
- ``scoring``: ``string_match_all`` / ``string_match_part``, also as local ``evaluate`` modules (``metrics/``).
- ``ruler``: the suite, generated offline and seeded at exact token lengths (``SuiteConfig``, ``generate_suite``).
- ``runners``: who answers it (embedded SmolLM2, endpoints, transformers models, the oracle reader).
- ``results``: scoring a run, JSON / markdown / heatmap outputs, side-by-side comparison.
- ``dependency``: the long-range dependency score from a small LM's log-probabilities.
- ``quality``: every data-quality score of a set next to a ``random-concat`` baseline (``quality_scores``).
"""

from __future__ import annotations
