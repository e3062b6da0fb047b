"""Outcome stores, checkpoints and embedding caches are private: files 0600, created folders 0700, salted cache keys."""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from router_plugins._files import private_dir, read_or_create_secret, write_private
from router_plugins.online import OnlineFeedback
from router_plugins.outcome import Outcome, RoleOutcome
from router_plugins.plan import Plan, RoleAssignment
from router_plugins.scorer.checkpoint import load_checkpoint, save_checkpoint
from router_plugins.scorer.embedding_cache import EmbeddingCache, text_key
from router_plugins.scorer.predictors import Predictor


@pytest.fixture(autouse=True)
def _permissive_umask() -> Iterator[None]:
    old = os.umask(0o022)  # the usual default, which would make new files 0644 and folders 0755
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_outcome_db_and_its_wal_and_shm_are_0600_in_0700_folders(tmp_path: Path) -> None:
    path = tmp_path / "new" / "deeper" / "outcomes.db"
    online = OnlineFeedback(path, durable=True)
    plan = Plan(mode="single", roles=(RoleAssignment("default", "m"),), metadata={"task": "t"})
    assert online.record(plan, Outcome(roles=(RoleOutcome("default", "m"),), score=1.0))
    files = [path, path.with_name("outcomes.db-wal"), path.with_name("outcomes.db-shm")]
    assert all(f.exists() for f in files)
    assert [mode(f) for f in files] == [0o600] * 3
    assert mode(path.parent) == mode(path.parent.parent) == 0o700
    online.close()


def test_existing_folders_keep_their_mode(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    os.chmod(shared, 0o755)
    write_private(shared / "sub" / "f.bin", b"x")
    assert mode(shared) == 0o755 and mode(shared / "sub") == 0o700 and mode(shared / "sub" / "f.bin") == 0o600
    assert private_dir(shared) == shared and mode(shared) == 0o755


def test_checkpoint_files_are_0600_and_its_folder_0700(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    dim, models = 8, ["a", "b"]
    predictor = Predictor("knn", models, {"k": 3, "n_train": 5}, {"train_embeddings": rng.normal(size=(5, dim)).astype(np.float32),
                                                     "train_quality": rng.random((5, 2)).astype(np.float32),
                                                     "model_mean": np.array([0.5, 0.5], np.float32)}, [])
    out = save_checkpoint(predictor, tmp_path / "ckpts" / "mine", encoder={"spec": None, "id": "e", "dim": dim})
    assert mode(out) == mode(out.parent) == 0o700
    assert {p.name: mode(p) for p in out.iterdir()} == {"weights.safetensors": 0o600, "config.json": 0o600}
    loaded, _ = load_checkpoint(out)  # still a valid, verified checkpoint
    np.testing.assert_array_equal(loaded.tensors["train_embeddings"], predictor.tensors["train_embeddings"])


def test_embedding_cache_is_private_and_salted_per_installation(tmp_path: Path) -> None:
    root = tmp_path / "cache" / "embeddings"
    cache = EmbeddingCache("enc", directory=root)
    _, keys = cache.get_many(["my secret query"])
    cache.put_many(keys, np.ones((1, 4), np.float32))
    shard, = cache.directory.glob("shard-*.npz")
    assert mode(root / "salt") == 0o600 and mode(shard) == 0o600
    assert mode(root) == mode(root.parent) == mode(cache.directory) == 0o700
    # the key is not the unsalted hash an outsider could compute from a guessed text
    unsalted = hashlib.sha256(b"enc\x00my secret query").digest()
    assert keys[0] != unsalted and keys[0] == text_key("enc", "my secret query", (root / "salt").read_bytes())
    with np.load(shard) as data:
        assert unsalted not in {bytes(k) for k in data["keys"]}
    # the same installation finds its entries again; another installation has another salt and other keys
    again = EmbeddingCache("enc", directory=root)
    found, _ = again.get_many(["my secret query"])
    assert found[0] is not None and np.allclose(found[0], 1.0)
    other = EmbeddingCache("enc", directory=tmp_path / "other")
    assert other.get_many(["my secret query"])[1] != keys


def test_a_damaged_salt_is_replaced_not_trusted(tmp_path: Path) -> None:
    path = tmp_path / "salt"
    first = read_or_create_secret(path)
    assert len(first) == 32 and read_or_create_secret(path) == first
    path.write_bytes(b"")
    second = read_or_create_secret(path)
    assert len(second) == 32 and second != first and mode(path) == 0o600
