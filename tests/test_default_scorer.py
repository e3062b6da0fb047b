"""The shipped checkpoint is the default scorer for pools with models it knows, and only for those."""

from __future__ import annotations

from router_plugins import ModelCard, Query, Router
from router_plugins.scorer.plugin import known_models

TRAINED = "router_plugins.scorer.plugin"


def test_checkpoint_models_are_known() -> None:
    assert {"gemma-2-9b-it", "gpt-4-1106-preview"} <= known_models()


def test_default_scorer_scores_known_models_per_query() -> None:
    pool = [ModelCard(name="gemma-2-9b-it", quality=0.5), ModelCard(name="llama-3.1-8b-instruct", quality=0.5)]
    ctx_scores = []
    router = Router(pool, load_entrypoints=False, fail_open=False)
    for text, task in [("What is 17 * 23? Answer with a number.", "gsm8k"), ("Who wrote Hamlet?", "trivia_qa")]:
        ctx = router.context(Query(text, task=task))
        ctx_scores.append(router.pm.hook.score_models(query=ctx.query, pool=router.pool, context=ctx))
    assert all(len(s) == 2 and all(0.0 <= v <= 1.0 for v in s) for s in ctx_scores)
    assert ctx_scores[0] != [0.5, 0.5] and ctx_scores[0] != ctx_scores[1], "trained, query-specific predictions"
    prior = Router(pool, load_entrypoints=False, disable_plugins=[TRAINED])
    ctx = prior.context(Query("Who wrote Hamlet?"))
    assert prior.pm.hook.score_models(query=ctx.query, pool=prior.pool, context=ctx) == [0.5, 0.5]


def test_unknown_pool_keeps_card_priors() -> None:
    router = Router([ModelCard(name="a", quality=0.3), ModelCard(name="b", quality=0.7)], load_entrypoints=False)
    ctx = router.context(Query("hello"))
    assert router.pm.hook.score_models(query=ctx.query, pool=router.pool, context=ctx) == [0.3, 0.7]
