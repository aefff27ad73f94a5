"""Publishing: dataset cards and the Hub push, one module per part.

==================  ====================================================================================
``stats``           statistics of a config's rows (pure, plus one reader of light dataset columns)
``plot``            the token-length PNG
``tables``          run report → card table rows (skips, LLM counters, quality, QA gates, hardness)
``templates``       the Jinja environment of ``cards/*.j2`` and its filters
``render``          one config's card section
``merge``           parse an existing card, merge a config into it
``names``           repo ids, config names, paths in the repo
``checks``          input checks before the network (rows, sizes, report, token)
``rundir``          read a ``litelong-hf generate --out DIR`` folder
``upload``          upload shards, then one commit that publishes
``errors``          ``PushError``/``PushValidationError`` and the Hub-failure translation
==================  ====================================================================================

Public entry points: :func:`litelong_hf.push_to_hub` (:mod:`litelong_hf.hub`) and :mod:`litelong_hf.card`.
"""
