"""Test support shipped with the package: a scripted LLM (:mod:`.scripted`) and a local Hub server
(:mod:`.hub_server`). Nothing here is imported by the library itself."""
