"""YAML presets, one per config name (installed as ``litelong_hf.presets``)."""
