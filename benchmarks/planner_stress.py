"""The planner's frontier cap on hard knapsacks: thinned (FRONT_LIMIT) against uncapped (exact) search.

Run: ``python benchmarks/planner_stress.py [--reps 3]``. Prints one JSON object. Synthetic teams (one 3-voter group,
every third other role optional) over 9 models whose quality and cost rise together with a little noise, so many
options stay non-dominated; the budget binds (2e-5 per role) and, in the "latency" rows, so does a latency bound
(1.2 s per role). Per row: ms per ``optimise`` call with the cap and without it, and the largest relative loss of
objective the cap caused.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time

from router_plugins import Role
from router_plugins import _frontier as frontier
from router_plugins.modes import FULL
from router_plugins.planner import Candidate, optimise


def team(n: int) -> list[Role]:
    """One 3-voter group (one required voter) and n − 3 other roles, every third optional."""
    voters = [Role("v0", group="v"), Role("v1", optional=True, group="v"), Role("v2", optional=True, group="v")]
    return voters + [Role(f"r{i}", optional=i % 3 == 0) for i in range(3, n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=3, help="random instances per row")
    args = parser.parse_args()
    rng = random.Random(0)
    capped_limit = dict(frontier.FRONT_LIMIT)
    result: dict[str, float] = {}
    for n in (20, 40):
        for lam in (0.0, 100.0):
            for bounded in (False, True):
                label = f"{n}roles_lam{lam:g}_{'latency' if bounded else 'budget'}"
                capped_ms, exact_ms, losses = [], [], []
                for _ in range(args.reps):
                    models = [(0.3 + 0.07 * j + rng.uniform(-0.03, 0.03), 1e-5 * 1.5**j * rng.uniform(0.9, 1.1),
                               0.5 + 0.3 * j) for j in range(9)]
                    roles = team(n)
                    cands = {r.name: [Candidate(f"m{j}", q, c * rng.uniform(0.8, 1.2), lat)
                                      for j, (q, c, lat) in enumerate(models)] for r in roles}
                    kwargs = dict(lam=lam, budget=2e-5 * n, max_latency=1.2 * n if bounded else None)
                    frontier.FRONT_LIMIT = capped_limit
                    start = time.perf_counter()
                    capped = optimise(roles, cands, FULL, **kwargs)
                    capped_ms.append((time.perf_counter() - start) * 1e3)
                    frontier.FRONT_LIMIT = {False: 10**9, True: 10**9}
                    start = time.perf_counter()
                    exact = optimise(roles, cands, FULL, **kwargs)
                    exact_ms.append((time.perf_counter() - start) * 1e3)
                    frontier.FRONT_LIMIT = capped_limit
                    assert capped is not None and exact is not None
                    losses.append((exact.objective - capped.objective) / abs(exact.objective))
                result[f"{label}_capped_ms"] = round(statistics.median(capped_ms), 1)
                result[f"{label}_exact_ms"] = round(statistics.median(exact_ms), 1)
                result[f"{label}_max_rel_loss"] = round(max(losses), 5)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
