"""The hyper-parameters of scorer training (``TrainConfig``): router kinds, the stack, and the novelty detector's folds
and views; checked when built, stored in checkpoints."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from router_plugins.errors import ConfigError
from router_plugins.scorer._novelty_views import VIEWS
from router_plugins.scorer.predictors import KINDS


@dataclass
class TrainConfig:
    """Hyper-parameters; the defaults are the ones used for every dataset in benchmarks/RESULTS.md."""

    kind: str = "dc"
    hidden: int = 256
    embed_dim: int = 64
    dropout: float = 0.1
    epochs: int = 80
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 1e-4
    w_bce: float = 1.0
    w_sample_llm: float = 0.5
    w_sample_sample: float = 0.1
    top_k: int = 3
    last_k: int = 3
    n_clusters: int = 16
    use_task: bool = False
    task_dropout: float = 0.5
    val_fraction: float = 0.1
    patience: int = 10
    min_epochs: int = 10
    seed: int = 0
    knn_ks: tuple[int, ...] = (5, 10, 20, 40, 80)
    mlp_hidden: tuple[int, ...] = (256,)
    prior_strengths: tuple[float, ...] = (0.0, 5.0, 20.0, 80.0)
    stack_members: tuple[str, ...] = ("prior", "dc", "knn", "mlp")
    stack_step: float = 0.1
    #: Fit the novelty detector and its shrinkage toward the robust prior (scorer/novelty_training.py).
    novelty: bool = True
    #: Stack members of the cheap proxy router trained per left-out family to learn the shrinkage.
    novelty_proxy: tuple[str, ...] = ("prior", "knn")
    #: Training families left out in turn to learn the novelty weights and the shrinkage (a random subset beyond).
    novelty_folds: int = 32
    #: Views the novelty detector combines (scorer/_novelty_views.py; unknown names: ConfigError when training);
    #: ("emb", "surf") is the format-1 detector.
    novelty_views: tuple[str, ...] = VIEWS
    #: (family, group) pairs: training families that are parts of one dataset (ARC-Challenge and ARC-Easy) and are
    #: left out together in the novelty folds, so no fold holds out one part while training on its twin. The detector
    #: still models each family; a family in no pair is its own group.
    novelty_groups: tuple[tuple[str, str], ...] = ()
    progress: bool = True

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"unknown scorer kind {self.kind!r}; choose one of {KINDS}")
        if not all(isinstance(pair, (tuple, list)) and len(pair) == 2 and all(isinstance(v, str) for v in pair)
                   for pair in self.novelty_groups):
            raise ConfigError("novelty_groups must be (family, group) pairs of strings, e.g. "
                              "(('arc_challenge', 'arc'), ('arc_easy', 'arc'))")

    def as_dict(self) -> dict[str, Any]:
        """JSON-able copy (stored in checkpoints): tuples as lists."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}
