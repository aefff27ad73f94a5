"""``datasets`` builder classes of litelong-hf (installed as ``litelong_hf.builders``)."""

from .longcontext import LongContextBuilder, LongContextConfig, resolve_config

__all__ = ["LongContextBuilder", "LongContextConfig", "resolve_config"]
