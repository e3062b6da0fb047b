"""Rebuild the checkpoint shipped at ``scorer/checkpoints/default``: a stack (per-task prior + dc head with task input,
weights chosen on held-out train rows) over the fast static encoder, trained only on MIT / Apache-2.0 data
(llmrouter_nim9: MIT; routellm_gpt4_mixtral, routerarena_sub10: Apache-2.0).

Run ``python -m router_plugins.scorer.default_checkpoint /work/shared/data [--distill]`` (5–10 minutes on 2 cores,
most of it the novelty detector's leave-one-family-out folds).
The shipped static encoder is reused unless ``--distill`` re-distils it (needs ``pip install 'model2vec[distill]'``).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from router_plugins.replay import OutcomeTable

#: Datasets whose licence allows copying derived weights into the package.
SHIPPABLE = ("llmrouter_nim9", "routellm_gpt4_mixtral", "routerarena_sub10")
OUT = Path(__file__).resolve().parent / "checkpoints" / "default"


def union_table(tables: Sequence[OutcomeTable], name: str) -> OutcomeTable:
    """Stack tables with different model sets: models are the union, unrecorded outcomes NaN (masked in training)."""
    models: list[str] = []
    for t in tables:
        models += [m for m in t.models if m not in models]
    n = sum(len(t) for t in tables)
    quality = np.full((n, len(models)), np.nan)
    cost = np.full((n, len(models)), np.nan)
    tin = np.zeros((n, len(models)), dtype=np.int64)
    row = 0
    for t in tables:
        cols = [models.index(m) for m in t.models]
        quality[row:row + len(t), cols] = t.quality
        if t.cost is not None:
            cost[row:row + len(t), cols] = t.cost
        if t.input_tokens is not None:
            tin[row:row + len(t), cols] = t.input_tokens
        row += len(t)
    prices: dict[str, tuple[float, float]] = {}
    descriptions: dict[str, str] = {}
    sizes: dict[str, str] = {}
    for t in tables:
        prices.update(t.prices)
        descriptions.update(t.descriptions)
        sizes.update(t.meta.get("sizes", {}))
    return OutcomeTable(
        name=name, texts=tuple(x for t in tables for x in t.texts),
        tasks=np.concatenate([t.tasks.astype(str) for t in tables]),
        splits=np.concatenate([t.splits.astype(str) for t in tables]),
        models=tuple(models), quality=quality, cost=cost, cost_estimated=True, metric="mixed (each dataset's own)",
        prices=prices, descriptions=descriptions, meta={"sizes": sizes, "sources": [t.name for t in tables]},
        input_tokens=tin,
    )


#: Stack members of the shipped scorer: kNN and MLP add little here and kNN would ship every train embedding.
MEMBERS = ("prior", "dc")


def build(data_root: str | Path, out: Path = OUT, *, distill: bool = False) -> Path:
    """Train + save the scorer in ``out`` next to its fast encoder (``out/encoder``, distilled anew if asked or absent)."""
    from router_plugins.replay import load_outcomes
    from router_plugins.scorer.encoders import StaticEncoder, distill_fast_encoder
    from router_plugins.scorer.pipeline import train_scorer
    from router_plugins.scorer.training import TrainConfig

    root = Path(data_root)
    tables = [load_outcomes(root / name).split("train") for name in SHIPPABLE]
    train = union_table(tables, "default(" + "+".join(SHIPPABLE) + ")")
    with tempfile.TemporaryDirectory() as tmp:
        kept = Path(tmp) / "encoder"
        if not distill and (out / "encoder" / "model.safetensors").is_file():
            shutil.copytree(out / "encoder", kept)
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        if kept.is_dir():
            shutil.copytree(kept, out / "encoder")
        else:
            distill_fast_encoder(out / "encoder")
    config = TrainConfig(kind="stack", use_task=True, batch_size=256, epochs=40, stack_members=MEMBERS)
    scorer, info = train_scorer(train, kind="stack", encoder=StaticEncoder(out / "encoder"), encoder_spec="encoder",
                                config=config)
    scorer.save(out, extra={"licence_note": "trained on MIT / Apache-2.0 data only: " + ", ".join(SHIPPABLE),
                            "train_splits": "train split of each dataset"})
    print(f"default checkpoint: {len(train)} queries, {len(train.models)} models, {info['seconds']:.1f}s, "
          f"stack weights {info['info'].get('weights')} → {out}")
    return out


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--distill"]
    build(args[0] if args else Path(__file__).resolve().parents[3] / "shared" / "data", distill="--distill" in sys.argv)
