"""Ray for large offline work: rows/s of the embedding pass and of the evaluation (λ sweeps + bootstrap intervals),
single-process next to Ray on this machine, in one run, on a 1,000,000-row outcome table; then a paper sizing for
10 M and 100 M rows on a cluster from the measured per-core throughput.

The table resamples the rows of ``routerbench_via_routerdc`` (3,164 queries × 11 models, USD costs) with
``numpy.random.default_rng(seed)``; each resampled prompt gets its row number appended (``\\n[#123]``) so every row
is a distinct text to embed, as in a real log (the cache would otherwise embed only the 3,164 originals).

- Embedding pass: ``CachedEncoder`` (disk cache in a fresh temp folder each time) with the fast static encoder,
  exactly as ``train``/``eval`` run it, single-process vs ``RayEncoder`` (``--ray``); both give the same array.
  The driver-side share (hashing every text, cache lookups, shard writes) is timed with a null encoder. MiniLM is
  timed on a small sample (single thread, and Ray), since it dominates real jobs.
- Evaluation: prior / knn / dc routers trained on the original train split (fast encoder, no novelty) predict the
  1 M rows; ``build_report`` runs with the local backend and with ``RayBackend``; the two reports are compared.
  The λ-sweep and bootstrap chunks are also timed alone (the part that runs as tasks) to split the rest (baselines,
  per-task tables, calibration, AIQ: on the driver) for the sizing.

    HF_HUB_OFFLINE=1 python benchmarks/ray_offline.py          # 1 M rows; --rows 20000 for a quick look
    python benchmarks/ray_offline.py --from-json benchmarks/results/ray_offline.json [--minilm-only]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # a local Ray on loopback only (read on import)
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

from tqdm import tqdm  # noqa: E402

from router_plugins.replay import (  # noqa: E402
    OutcomeTable,
    bootstrap_block,
    bootstrap_blocks,
    bootstrap_prepare,
    load_outcomes,
)
from router_plugins.scorer.encoders import CachedEncoder, make_encoder  # noqa: E402
from router_plugins.scorer.pipeline import cost_vector, train_scorer  # noqa: E402
from router_plugins.scorer.report import (  # noqa: E402
    LAMBDA_CHUNK,
    N_BOOT,
    build_report,
    lambda_grid,
    route,
    sweep_chunk,
)
from router_plugins.scorer.training import TrainConfig  # noqa: E402

ROOT = Path(__file__).resolve().parent
DATA = ROOT.parents[1] / "shared" / "data" / "routerbench_via_routerdc"
KINDS = ("prior", "knn", "dc")


def resample(table: OutcomeTable, rows: int, seed: int) -> OutcomeTable:
    """``rows`` rows drawn with replacement, each prompt made distinct by its row number."""
    idx = np.random.default_rng(seed).integers(0, len(table), size=rows)
    big = replace(table, responses=None).select(idx)
    texts = tuple(f"{big.texts[k]}\n[#{k}]" for k in range(rows))
    return replace(big, name=f"{table.name}×{rows}", texts=texts, splits=np.full(rows, "all"))


class NullEncoder:
    """Zeros at once: what is left of an embedding pass is the driver's own work (hashing, cache, shards)."""

    id = "null"
    dim = 128

    def encode(self, texts: list[str]) -> np.ndarray:
        return np.zeros((len(texts), self.dim), dtype=np.float32)


def embed_pass(encoder: Any, texts: list[str], label: str) -> tuple[float, float, np.ndarray]:
    """Wall seconds, this process's CPU seconds and the vectors of a fresh-cache pass over ``texts``."""
    with tempfile.TemporaryDirectory(prefix="ray-bench-cache-") as folder:
        cached = CachedEncoder(encoder, directory=Path(folder))
        t0, c0 = time.perf_counter(), time.process_time()
        with tqdm(total=len(texts), desc=label, leave=False) as bar:
            x = cached.encode(texts, progress=bar.update)
        return time.perf_counter() - t0, time.process_time() - c0, x


def minilm_rates(texts: list[str], ray_encoder: Any) -> dict[str, float]:
    """MiniLM rows/s on a sample: one thread here (per core), and Ray tasks over every core."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        enc = make_encoder("minilm")
        enc.encode(texts[:8])  # load the model outside the timing
        t0 = time.perf_counter()
        for s in range(0, len(texts), 512):
            enc.encode(texts[s:s + 512])
        single = len(texts) / (time.perf_counter() - t0)
    finally:
        torch.set_num_threads(threads)
    remote = ray_encoder(enc)
    import ray

    from router_plugins.scorer.ray_backend import encoder_dim

    # one model load per worker, all at once, outside the timing
    warm = ray.remote(num_cpus=1)(encoder_dim)
    ray.get([warm.remote(remote.spec) for _ in range(int(ray.cluster_resources().get("CPU", 1)))])
    t0 = time.perf_counter()
    remote.encode(texts)
    return {"minilm_rows_per_s_one_thread": single, "minilm_rows_per_s_ray": len(texts) / (time.perf_counter() - t0),
            "minilm_sample": len(texts)}


def parallel_part(preds: dict[str, np.ndarray], big: OutcomeTable, costs: np.ndarray, best: int) -> dict[str, float]:
    """Seconds of the λ-sweep chunks and of the bootstrap blocks alone, single-process (the work Ray distributes)."""
    grid = lambda_grid(costs)
    t0 = time.perf_counter()
    for pred in preds.values():
        sweep_chunk(pred, big.quality, big.cost, costs, grid)
    t_sweep = time.perf_counter() - t0
    t0 = time.perf_counter()
    for pred in preds.values():
        rows = np.arange(len(big))
        v, g = bootstrap_prepare(big.quality[rows, route(pred, costs, 0.0)] - big.quality[:, best])
        for b in range(bootstrap_blocks(N_BOOT)):
            bootstrap_block(v, g, block=b, n_boot=N_BOOT)
    return {"sweep_s": t_sweep, "bootstrap_s": time.perf_counter() - t0, "lambdas": len(grid)}


def sizing(m: dict[str, Any], rows: int, cores: int) -> dict[str, float]:
    """Paper estimate of one job on ``cores`` cluster cores: the distributed parts at the measured per-core rates,
    scaled linearly up to the number of tasks a part splits into; the driver-side parts (measured per row) serially."""
    driver = rows * m["driver_embed_s_per_row"]
    emb = rows / (m["fast_rows_per_core"] * cores) + driver  # one task per 512 texts: never short of tasks
    emb_minilm = rows / (m["minilm_rows_per_s_one_thread"] * cores) + driver
    eval_tasks = len(KINDS) * (-(-m["lambdas"] // LAMBDA_CHUNK) + bootstrap_blocks(N_BOOT) + 1)
    ev = rows * m["task_eval_s_per_row"] / min(cores, eval_tasks) + rows * m["driver_eval_s_per_row"]
    return {"rows": rows, "cores": cores, "embed_fast_s": emb, "embed_minilm_s": emb_minilm, "eval_s": ev,
            "eval_tasks": eval_tasks, "driver_memory_gb": rows * m["driver_bytes_per_row"] / 1e9,
            "object_store_gb": rows * m["object_store_bytes_per_row"] / 1e9}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--minilm-rows", type=int, default=1024)
    ap.add_argument("--cpus", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--out", default=str(ROOT / "results" / "ray_offline.json"))
    ap.add_argument("--from-json", default=None, help="print the figures and redo the sizing of an earlier run")
    ap.add_argument("--minilm-only", action="store_true", help="re-measure only MiniLM into --from-json's figures")
    args = ap.parse_args()
    if args.from_json and args.minilm_only:
        from router_plugins.scorer.ray_backend import RayEncoder, ray_session

        res = json.loads(Path(args.from_json).read_text(encoding="utf-8"))
        texts = list(resample(load_outcomes(args.data), args.minilm_rows, args.seed).texts)
        with ray_session("local", num_cpus=args.cpus):
            res.update(minilm_rates(texts, RayEncoder))
    elif args.from_json:
        res = json.loads(Path(args.from_json).read_text(encoding="utf-8"))
    if args.from_json:
        add_sizing(res)
        report(res)
        Path(args.from_json).write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
        return

    from router_plugins.scorer.ray_backend import RayBackend, RayEncoder, ray_session

    source = load_outcomes(args.data)
    big = resample(source, args.rows, args.seed)
    texts = list(big.texts)
    res: dict[str, Any] = {"rows": args.rows, "models": len(big.models), "data": Path(args.data).name,
                           "seed": args.seed, "cpus": args.cpus,
                           "mean_prompt_chars": float(np.mean([len(t) for t in texts]))}
    print(f"{big.name}: {args.rows:,} rows × {len(big.models)} models, mean prompt "
          f"{res['mean_prompt_chars']:.0f} chars; {args.cpus} CPUs, load average {os.getloadavg()[0]:.1f} at start")
    fast = make_encoder("fast")
    fast.encode(texts[:8])
    wall, cpu, x_single = embed_pass(fast, texts, "embed (single process)")
    res.update(embed_single_s=wall, embed_single_cpu_s=cpu)
    _, res["driver_embed_s"], _ = embed_pass(NullEncoder(), texts, "embed (null encoder: driver only)")  # CPU s

    train = source.split("train")
    routers = {k: train_scorer(train, kind=k, encoder_spec="fast", config=TrainConfig(kind=k, novelty=False),
                               progress=False)[0] for k in KINDS}
    tasks = [str(t) for t in big.tasks]
    step = 50_000  # kNN compares every row with every train row: in slices, or 1 M × 2,215 similarities at once
    preds = {k: np.concatenate([s.predictor.predict(x_single[i:i + step], tasks[i:i + step])
                                for i in range(0, args.rows, step)]) for k, s in routers.items()}
    costs = cost_vector(routers["prior"], big)
    assert costs is not None
    t0 = time.perf_counter()
    report_single = build_report(big.name, "all", big, preds, costs)
    res["eval_single_s"] = time.perf_counter() - t0
    res.update(parallel_part(preds, big, costs, big.models.index(report_single["best_single"]["name"])))

    t0 = time.perf_counter()
    with ray_session("local", num_cpus=args.cpus):
        res["ray_start_s"] = time.perf_counter() - t0
        remote = RayEncoder(fast)
        remote.encode(texts[:8])  # workers up and the encoder loaded, outside the timing (as for single)
        wall, _, x_ray = embed_pass(remote, texts, "embed (Ray)")
        res["embed_ray_s"] = wall
        res["embeddings_equal"] = bool(np.array_equal(x_single, x_ray))
        del x_ray
        t0 = time.perf_counter()
        report_ray = build_report(big.name, "all", big, preds, costs, backend=RayBackend())
        res["eval_ray_s"] = time.perf_counter() - t0
        res["reports_equal"] = report_ray == report_single
        res.update(minilm_rates(texts[:args.minilm_rows], RayEncoder))
    n = args.rows
    res["fast_rows_per_core"] = n / max(res["embed_single_cpu_s"] - res["driver_embed_s"], 1e-9)
    res["driver_embed_s_per_row"] = res["driver_embed_s"] / n
    res["task_eval_s_per_row"] = (res["sweep_s"] + res["bootstrap_s"]) / n
    res["driver_eval_s_per_row"] = max(res["eval_single_s"] - res["sweep_s"] - res["bootstrap_s"], 0.0) / n
    add_sizing(res)
    report(res)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")


def add_sizing(res: dict[str, Any]) -> None:
    """The sizing rows for 10 M and 100 M rows on 16, 64 and 256 cores, from the measured rates."""
    m = res["models"]
    # the driver holds the texts, quality + cost (float64), a float32 prediction per router and model, embeddings;
    # the object store every node reads holds quality + cost + the predictions (+ the bootstrap's differences)
    res["driver_bytes_per_row"] = m * 16 + len(KINDS) * m * 4 + 128 * 4 + res["mean_prompt_chars"] * 1.1
    res["object_store_bytes_per_row"] = m * 16 + len(KINDS) * (m * 4 + 16)
    res["sizing"] = [sizing(res, rows, cores) for rows in (10_000_000, 100_000_000) for cores in (16, 64, 256)]


def report(r: dict[str, Any]) -> None:
    """The figures side by side: rows/s single vs Ray and their ratio, then the sizing."""
    n = r["rows"]
    print(f"\n{'stage':<34}{'single s':>10}{'Ray s':>9}{'single rows/s':>15}{'Ray rows/s':>12}{'Ray/single':>11}")
    for label, a, b in (("embedding pass (fast encoder)", r["embed_single_s"], r["embed_ray_s"]),
                        ("evaluation (3 routers, report)", r["eval_single_s"], r["eval_ray_s"])):
        print(f"{label:<34}{a:>10.1f}{b:>9.1f}{n / a:>15,.0f}{n / b:>12,.0f}{a / b:>10.2f}×")
    print(f"Ray start {r['ray_start_s']:.1f} s (not in the figures); embeddings equal: {r['embeddings_equal']}; "
          f"reports equal: {r['reports_equal']}")
    print(f"single-process breakdown: embedding CPU {r['embed_single_cpu_s']:.1f} s of which driver-side (null "
          f"encoder) {r['driver_embed_s']:.1f} s; evaluation: λ sweeps {r['sweep_s']:.1f} s ({r['lambdas']} λ × 3 "
          f"routers), bootstrap {r['bootstrap_s']:.1f} s ({N_BOOT} resamples × 3), driver rest "
          f"{r['eval_single_s'] - r['sweep_s'] - r['bootstrap_s']:.1f} s")
    print(f"per core: fast encoder {r['fast_rows_per_core']:,.0f} rows/s, "
          f"MiniLM {r['minilm_rows_per_s_one_thread']:.1f} rows/s (Ray over {r['cpus']} CPUs: {r['minilm_rows_per_s_ray']:.1f} rows/s, {r['minilm_sample']} rows)")
    print(f"\n{'rows':>12}{'cores':>7}{'embed fast':>12}{'embed MiniLM':>14}{'evaluation':>12}{'driver RAM':>12}"
          f"{'object store':>14}")
    for s in r["sizing"]:
        print(f"{s['rows']:>12,}{s['cores']:>7}{s['embed_fast_s'] / 60:>10.1f} m{s['embed_minilm_s'] / 60:>12.1f} m"
              f"{s['eval_s'] / 60:>10.1f} m{s['driver_memory_gb']:>9.0f} GB{s['object_store_gb']:>11.0f} GB")
    print(f"(evaluation: {r['sizing'][0]['eval_tasks']} tasks per report, so cores beyond that do not shorten it)")


if __name__ == "__main__":
    main()
