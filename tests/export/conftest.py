"""Fixtures of the export tests (defined in export_fixtures.py)."""

from export_fixtures import instruction_run, pretraining_run

__all__ = ["instruction_run", "pretraining_run"]
