"""Fixtures for scorer tests: a tiny random BERT encoder built from a config, and a synthetic outcome table where
each model is best on one topic (so a trained router must beat random routing)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from router_plugins.replay import OutcomeTable

TOPICS = {
    "math": "add subtract multiply divide sum number equation integer fraction algebra",
    "code": "python function loop variable compile list string return class bug",
    "poem": "write poem verse rhyme love moon sonnet haiku stanza lyric",
}
MODELS = ("cheap-math", "mid-code", "big-poem")
COST = {"cheap-math": 1e-4, "mid-code": 5e-4, "big-poem": 2e-3}


def _tiny_parts() -> tuple[object, object]:
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    trainer = trainers.WordLevelTrainer(special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]"])
    tok.train_from_iterator(list(TOPICS.values()) * 2 + ["what how please the a of and"], trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                                   sep_token="[SEP]")
    import torch

    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=tok.get_vocab_size(), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=64)
    return BertModel(cfg).eval(), fast


@pytest.fixture(scope="session")
def tiny_encoder_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random BERT + WordLevel tokenizer saved to a folder (loadable by AutoModel / AutoTokenizer)."""
    model, tok = _tiny_parts()
    folder = tmp_path_factory.mktemp("tiny-encoder")
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


@pytest.fixture
def tiny_encoder(tiny_encoder_dir: Path) -> object:
    from router_plugins.scorer.encoders import TransformerEncoder

    return TransformerEncoder(tiny_encoder_dir, max_length=32, batch_size=64)


def make_table(n_per_topic: int = 60, seed: int = 0, name: str = "synthetic") -> OutcomeTable:
    """Queries from three topics; model i answers its own topic right 90% of the time, others 20%."""
    rng = np.random.default_rng(seed)
    texts, tasks, quality = [], [], []
    for t, (topic, words) in enumerate(TOPICS.items()):
        vocab = words.split()
        for i in range(n_per_topic):
            texts.append(" ".join(rng.choice(vocab, size=6)) + f" please {i}")
            tasks.append(topic)
            quality.append([float(rng.random() < (0.9 if j == t else 0.2)) for j in range(len(MODELS))])
    n = len(texts)
    splits = np.where(rng.random(n) < 0.7, "train", "test")
    cost = np.tile([COST[m] for m in MODELS], (n, 1)) * rng.uniform(0.8, 1.2, size=(n, len(MODELS)))
    q = np.array(quality)
    q[rng.random(q.shape) < 0.03] = np.nan  # a few unrecorded outcomes, to be masked
    return OutcomeTable(name=name, texts=tuple(texts), tasks=np.array(tasks), splits=splits, models=MODELS,
                        quality=q, cost=cost)


@pytest.fixture
def table() -> OutcomeTable:
    return make_table()


def write_wide_csv(table: OutcomeTable, path: Path, *, split: str | None = None) -> Path:
    """The table as a RouterBench-style wide CSV (``<model>`` and ``<model>|total_cost`` columns)."""
    import pandas as pd

    data = {"prompt": list(table.texts), "eval_name": table.tasks,
            "split": table.splits if split is None else [split] * len(table)}
    for j, m in enumerate(table.models):
        data[m] = table.quality[:, j]
        data[f"{m}|total_cost"] = table.cost[:, j]
    pd.DataFrame(data).to_csv(path, index=False)
    return path


@pytest.fixture
def cli() -> object:
    """The real ``router-plugins`` group (its error handling included) with the scorer's commands."""
    import click

    from router_plugins.cli import _Group
    from router_plugins.scorer.plugin import register_commands

    @click.group(cls=_Group)
    def group() -> None:
        """Test CLI."""

    register_commands(cli=group)
    return group
