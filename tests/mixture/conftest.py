"""Fixtures of the mixture tests (defined in mixture_fixtures.py)."""

from mixture_fixtures import runs

__all__ = ["runs"]
