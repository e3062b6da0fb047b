"""The replay package stands apart from the routing kernel: importing it (or any format) loads no kernel module, and
the demo reaches for the Router only when it runs."""

from __future__ import annotations

import subprocess
import sys

# What ``router_plugins.replay`` may import besides itself: the error hierarchy and the token rule of thumb.
ALLOWED = {"router_plugins.errors", "router_plugins._tokens"}


def _new_modules(statement: str) -> set[str]:
    code = ("import sys, router_plugins; before = set(sys.modules); " + statement + "; "
            "print('\\n'.join(sorted(m for m in set(sys.modules) - before if m.startswith('router_plugins'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_replay_imports_nothing_of_the_kernel() -> None:
    loaded = _new_modules("import router_plugins.replay; router_plugins.replay.registered_formats()")
    assert {m for m in loaded if not m.startswith("router_plugins.replay")} <= ALLOWED
    assert "router_plugins.replay.demo" not in loaded


def test_the_demo_imports_the_router_only_when_it_runs() -> None:
    loaded = _new_modules("import router_plugins.replay.demo")
    assert "router_plugins.router" not in loaded
