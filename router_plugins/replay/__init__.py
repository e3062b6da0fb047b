"""What was recorded: outcome tables loaded from any registered dataset format, the replay book that answers a
(query, model) call from them, the metrics every router is judged by, and deterministic splits.

Nothing here imports the routing kernel; :mod:`router_plugins.replay.demo` (the ``router-plugins demo`` replay) does,
so it is imported explicitly rather than from this package.
"""

from router_plugins.replay._book import ReplayBook, ReplayRecord
from router_plugins.replay._load import accepted_formats, load_outcomes
from router_plugins.replay._metrics import (
    aiq,
    baselines,
    bootstrap_block,
    bootstrap_blocks,
    bootstrap_ci,
    bootstrap_interval,
    bootstrap_prepare,
    choice_means,
    cost_quality_hull,
    cost_to_match,
    evaluate_choices,
    oracle_choices,
    per_task_quality,
)
from router_plugins.replay._splits import stratified_folds, train_fraction_split
from router_plugins.replay._table import DEFAULT_OUTPUT_TOKENS, NO_SPLIT, OutcomeTable
from router_plugins.replay.formats import LoadOptions, OutcomeFormat, Prices, registered_formats
from router_plugins.replay.formats.llmrouter import LLMROUTER_OUTPUT_TOKENS
from router_plugins.replay.formats.routellm import (
    ROUTELLM_MMLU_FEWSHOT_TOKENS,
    ROUTELLM_MMLU_OUTPUT_TOKENS,
    ROUTELLM_PRICES,
)
from router_plugins.replay.formats.routerdc import ROUTERDC_OUTPUT_TOKENS

__all__ = [
    "DEFAULT_OUTPUT_TOKENS",
    "LLMROUTER_OUTPUT_TOKENS",
    "NO_SPLIT",
    "ROUTELLM_MMLU_FEWSHOT_TOKENS",
    "ROUTELLM_MMLU_OUTPUT_TOKENS",
    "ROUTELLM_PRICES",
    "ROUTERDC_OUTPUT_TOKENS",
    "LoadOptions",
    "OutcomeFormat",
    "OutcomeTable",
    "Prices",
    "ReplayBook",
    "ReplayRecord",
    "accepted_formats",
    "aiq",
    "baselines",
    "bootstrap_block",
    "bootstrap_blocks",
    "bootstrap_ci",
    "bootstrap_interval",
    "bootstrap_prepare",
    "choice_means",
    "cost_quality_hull",
    "cost_to_match",
    "evaluate_choices",
    "load_outcomes",
    "oracle_choices",
    "per_task_quality",
    "registered_formats",
    "stratified_folds",
    "train_fraction_split",
]
