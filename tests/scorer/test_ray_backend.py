"""``train`` / ``eval --ray``: the embedding pass and the evaluation's λ sweeps and bootstrap on a real local Ray
(started once for this module, two CPUs, loopback only, its files under the test's tmp dir) give exactly the
single-process results: the same report.json, the same checkpoint tensors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import numpy as np
import pytest
from click.testing import CliRunner

from router_plugins.replay import bootstrap_block, bootstrap_blocks, bootstrap_ci, bootstrap_interval, bootstrap_prepare

from shared_data import shared
from .conftest import make_table, write_wide_csv

#: Report fields that measure time, not results: how long each router took to train on this run.
TIMING_FIELDS = ("train_seconds",)

HOSTILE_TEXTS = ["", "plain", "naïve café ☕ 漢字", "nul\x00byte", "lone \udc80 surrogate", "x" * 100_000,
                 "'); DROP TABLE outcomes; --", "\r\n\t"]


@pytest.fixture(scope="module")
def ray_local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A real local Ray (2 CPUs) for the module: loopback only, no usage reporting, HOME and temp dir under tmp."""
    saved = dict(os.environ)
    home = tmp_path_factory.mktemp("ray-home")
    os.environ.update({"HOME": str(home), "RAY_USAGE_STATS_ENABLED": "0", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
                       "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    try:
        ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'router-plugins[ray]'")
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                 _temp_dir=str(tmp_path_factory.mktemp("ray")))
    finally:
        os.environ.clear()
        os.environ.update(saved)
    yield ray
    ray.shutdown()


def _ran(ray: Any) -> set[str]:
    """Names of the functions Ray ran as tasks so far (from its task events): proof the work left this process."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        events = ray.timeline()
    return {str(e.get("name", "")).rsplit(".", 1)[-1] for e in events}


def _report(folder: Path) -> dict[str, Any]:
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    for key in TIMING_FIELDS:
        report.pop(key, None)
    return report


def test_texts_travel_packed_and_come_back_unchanged() -> None:
    from router_plugins.scorer.ray_backend import pack_texts, unpack_texts

    buffer, ends = pack_texts(HOSTILE_TEXTS)
    assert buffer.dtype == np.uint8 and len(ends) == len(HOSTILE_TEXTS)
    assert unpack_texts(buffer, ends, 0, len(HOSTILE_TEXTS)) == HOSTILE_TEXTS
    assert unpack_texts(buffer, ends, 3, 5) == HOSTILE_TEXTS[3:5]
    assert unpack_texts(buffer, ends, 2, 2) == []


def test_a_worker_refuses_an_encoder_folder_that_is_not_the_drivers(tiny_encoder_dir: Path) -> None:
    """A spec names the driver's encoder id: a node whose folder at that path holds another model does not embed."""
    from router_plugins.errors import ConfigError
    from router_plugins.scorer.encoders import TransformerEncoder
    from router_plugins.scorer.ray_backend import EncoderSpec

    spec = EncoderSpec.of(TransformerEncoder(tiny_encoder_dir, max_length=32))
    assert spec.build().id == spec.id
    with pytest.raises(ConfigError, match="not the driver's"):
        EncoderSpec(spec.kind, spec.path, "transformer:other-model", spec.options).build()


def test_predictions_in_slices_equal_one_call(tiny_encoder: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Large tables are predicted in slices (memory); the slices give what one call gives."""
    from router_plugins.scorer import pipeline

    table = make_table(n_per_topic=20, seed=8)
    scorer, _ = pipeline.train_scorer(table.split("train"), kind="knn", encoder=tiny_encoder, progress=False)
    whole = pipeline.predictions(scorer, table)
    monkeypatch.setattr(pipeline, "PREDICT_CHUNK", 7)
    assert np.array_equal(pipeline.predictions(scorer, table), whole)


def test_bootstrap_blocks_are_independent_streams() -> None:
    """Blocks computed in any order (as Ray tasks finish) give the interval bootstrap_ci gives."""
    rng = np.random.default_rng(3)
    values, groups = rng.binomial(1, 0.6, 900).astype(float), rng.integers(0, 4, 900)
    v, g = bootstrap_prepare(values, groups)
    n = bootstrap_blocks(2000)
    blocks = {b: bootstrap_block(v, g, block=b, n_boot=2000) for b in reversed(range(n))}
    assert bootstrap_interval(np.concatenate([blocks[b] for b in range(n)])) == bootstrap_ci(values, groups)
    assert not np.array_equal(blocks[0][:100], blocks[1][:100])  # each block draws its own resamples


def test_routing_and_plain_eval_never_import_ray() -> None:
    code = ("import sys\nfrom router_plugins import Router, ModelCard\n"
            "import router_plugins.scorer.commands, router_plugins.scorer.pipeline, router_plugins.scorer.report\n"
            "Router([ModelCard(name='m')]).plan('hi')\nassert 'ray' not in sys.modules, 'ray imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_ray_missing_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from router_plugins.errors import ConfigError
    from router_plugins.scorer.ray_backend import ray_session

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray → ImportError
    with pytest.raises(ConfigError, match=r"router-plugins\[ray\]"), ray_session("local"):
        pass


def test_eval_with_ray_writes_the_single_process_report(tmp_path: Path, cli: click.Group, ray_local: Any,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Shared data: routers trained and replayed with Ray (embeddings, λ sweeps, bootstrap) = without."""
    data = shared("routerbench_via_routerdc")
    runner = CliRunner()
    args = ["eval", "--data", str(data), "--scorers", "prior,knn", "--encoder", "fast"]
    single = runner.invoke(cli, [*args, "--out", str(tmp_path / "single")])
    assert single.exit_code == 0, single.output
    monkeypatch.setenv("ROUTER_PLUGINS_CACHE", str(tmp_path / "fresh-cache"))  # Ray computes every embedding itself
    distributed = runner.invoke(cli, [*args, "--out", str(tmp_path / "ray"), "--ray"])
    assert distributed.exit_code == 0, distributed.output
    assert _report(tmp_path / "ray") == _report(tmp_path / "single")
    assert {"encode_batch", "sweep_chunk", "bootstrap_block"} <= _ran(ray_local)
    assert ray_local.is_initialized()  # an already running Ray is used, and left running
    assert ray_local.get_runtime_context().gcs_address.startswith("127.0.0.1:")  # loopback only


def test_unrounded_report_is_bit_identical(ray_local: Any) -> None:
    """build_report's floats (before JSON rounds them) are the same with Ray tasks as in this process."""
    from router_plugins.scorer.ray_backend import RayBackend
    from router_plugins.scorer.report import build_report

    table = make_table(n_per_topic=400, seed=4)
    rng = np.random.default_rng(5)
    preds = {name: rng.random((len(table), len(table.models))).astype(np.float32) for name in ("a", "b")}
    costs = np.nanmean(table.cost, axis=0)
    local = build_report("t", "all", table, preds, costs)
    assert build_report("t", "all", table, preds, costs, backend=RayBackend()) == local
    assert all(r["lambda0_vs_best_single"]["ci95"][0] is not None for r in local["routers"].values() if "points" in r
               and "lambda0_vs_best_single" in r)


def test_train_and_eval_with_ray_on_a_transformer_encoder(tmp_path: Path, cli: click.Group, tiny_encoder_dir: Path,
                                                          ray_local: Any) -> None:
    """A transformer encoder rebuilt in the workers from its folder: the checkpoint's tensors and the report of
    ``eval --checkpoint`` are those of the single-process run."""
    from safetensors.numpy import load_file

    data = write_wide_csv(make_table(n_per_topic=40, seed=6), tmp_path / "outcomes.csv")
    runner = CliRunner()
    base = ["train", "--data", str(data), "--scorer", "knn", "--encoder", str(tiny_encoder_dir)]
    for name, extra in (("single", []), ("ray", ["--ray"])):
        res = runner.invoke(cli, [*base, "--out", str(tmp_path / name), *extra])
        assert res.exit_code == 0, res.output
    tensors = {name: load_file(str(tmp_path / name / "weights.safetensors")) for name in ("single", "ray")}
    assert tensors["single"].keys() == tensors["ray"].keys() and tensors["single"]
    for key, value in tensors["single"].items():
        assert np.array_equal(value, tensors["ray"][key], equal_nan=True), key
    for name, extra in (("single", []), ("ray", ["--ray"])):
        res = runner.invoke(cli, ["eval", "--data", str(data), "--checkpoint", str(tmp_path / name),
                                  "--out", str(tmp_path / f"eval-{name}"), *extra])
        assert res.exit_code == 0, res.output
    single, ray = _report(tmp_path / "eval-single"), _report(tmp_path / "eval-ray")
    single.pop("checkpoints"), ray.pop("checkpoints")  # the two checkpoint folders' own paths
    assert ray == single


def test_cross_validated_eval_with_ray(tmp_path: Path, cli: click.Group, tiny_encoder_dir: Path,
                                       ray_local: Any) -> None:
    """Data without a split column: the 5-fold cross-validation's report is the same with Ray."""
    import pandas as pd

    data = tmp_path / "nosplit.csv"
    frame = pd.read_csv(write_wide_csv(make_table(n_per_topic=25, seed=7), tmp_path / "with-split.csv"))
    frame.drop(columns=["split"]).to_csv(data, index=False)
    runner = CliRunner()
    args = ["eval", "--data", str(data), "--scorers", "prior,knn", "--encoder", str(tiny_encoder_dir)]
    for name, extra in (("single", []), ("ray", ["--ray"])):
        res = runner.invoke(cli, [*args, "--out", str(tmp_path / name), *extra])
        assert res.exit_code == 0, res.output
    single, ray = _report(tmp_path / "single"), _report(tmp_path / "ray")
    assert single["split"] == "cv5" and ray == single
