"""A trained judge for escalation cascades: P(answer is right | query, response) for the cheap models of a cascade.

Features are tf-idf over hashed word 1–2-grams of 'query || response' (no vocabulary to save: the idf is a vector)
plus the standardised model-free checks of :mod:`router_plugins.judges` (final answer present, provably wrong arithmetic, length,
agreement with earlier answers), :mod:`router_plugins.solution_checks` (worked steps against the question's numbers) and
:mod:`router_plugins.code_checks` (the program parses, returns …), each family only where the training responses show
it (``applicable_checks``). One logistic regression per model, fitted on the train split of recorded outcomes;
saved as safetensors + JSON like the scorer checkpoints. Registered as a plugin it answers ``judge_response`` for the
models it was trained on and passes (None) for the others.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from router_plugins.code_checks import CODE_CHECKS, code_checks
from router_plugins.errors import CheckpointError, DataError
from router_plugins.hookspecs import hookimpl
from router_plugins.judges import (
    agreement_confidence,
    arithmetic_errors,
    extract_final_answer,
    has_marked_answer,
    is_hedged,
)
from router_plugins.scorer.checkpoint import file_sha256
from router_plugins.solution_checks import SOLUTION_CHECKS, solution_checks

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

    from router_plugins.escalation import Attempt

__all__ = ["JudgeFitter", "ResponseJudge", "applicable_checks", "check_features"]

FORMAT = "router-plugins-judge"
FORMAT_VERSION = 2  # v2: the solution and code checks (question-number use, the program parses …) joined the features
WEIGHTS = "judge.safetensors"
CONFIG = "judge.json"
PARTS = ("idf", "mean", "std", "active", "coef", "bias")
CHECKS = ("no_marked_answer", "wrong_steps", "checked_steps", "log_length", "hedged", "non_integer_answer",
          "agreement", "has_earlier", *SOLUTION_CHECKS, *CODE_CHECKS)


def check_features(response: str, earlier: Sequence[str] = (), query: str = "") -> list[float]:
    """The model-free checks as numbers, in the order of ``CHECKS`` (the solution checks read ``query``; the code checks
    parse a program the response contains, never run it)."""
    checked, wrong = arithmetic_errors(response)
    answer = extract_final_answer(response)
    earlier_answers = [extract_final_answer(r) for r in earlier]
    return [
        float(not has_marked_answer(response)),
        float(wrong),
        float(math.log1p(checked)),
        float(math.log1p(len(response))),
        float(is_hedged(response)),
        float(answer is not None and "." in answer),
        agreement_confidence(answer, earlier_answers),
        float(bool(earlier)),
        *solution_checks(query, response),
        *code_checks(response),
    ]


#: A family of checks is used only where it applies: at least this share of the training responses shows worked
#: steps (solution checks) or a program (code checks). Elsewhere (e.g. one-letter answers) its columns would only add
#: query-text noise to the fit.
MIN_APPLICABLE = 0.5


def applicable_checks(checks: NDArray[np.float64]) -> NDArray[np.float32]:
    """1 for the columns of ``CHECKS`` the judge uses given these training responses' raw checks, 0 for the others
    (decided from the responses alone, no labels)."""
    active = np.ones(len(CHECKS), dtype=np.float32)
    names = list(CHECKS)
    for family, evidence in ((SOLUTION_CHECKS, "step_count"), (CODE_CHECKS, "has_code")):
        if float(np.mean(checks[:, names.index(evidence)] > 0)) < MIN_APPLICABLE:
            active[[names.index(n) for n in family]] = 0.0
    return active


class JudgeFitter:
    """The ``JudgeFactory`` of :mod:`router_plugins.replay.judge_cascade` (``eval``'s judge cascades): each call fits a
    ResponseJudge of one model and returns its confidence function; the fits of one evaluation share hashed texts."""

    def __init__(self, n_features: int = 2**16, C: float = 1.0) -> None:
        self.n_features, self.C = n_features, C
        self._hashes: dict[str, csr_matrix] = {}

    def __call__(self, model: str, queries: Sequence[str], responses: Sequence[str], correct: Sequence[float],
                 earlier: Sequence[Sequence[str]]) -> Callable[[Sequence[str], Sequence[str], Sequence[Sequence[str]]],
                                                               NDArray[np.float64]]:
        judge = ResponseJudge(self.n_features, self.C, hash_cache=self._hashes)
        judge.fit(model, queries, responses, list(correct), earlier)
        return lambda q, r, e: judge.confidence(model, q, r, e)


class ResponseJudge:
    """Per-model logistic regressions over tf-idf of hashed n-grams of 'query || response' and the model-free checks."""

    def __init__(self, n_features: int = 2**16, C: float = 1.0, *, hash_cache: dict[str, csr_matrix] | None = None
                 ) -> None:
        if n_features < 16 or C <= 0:
            raise ValueError("n_features must be ≥ 16 and C > 0")
        self.n_features = n_features
        self.C = C
        # 'query || response' → its hashed row; shared by the many judges fitted on one table's folds (eval), since
        # hashing the texts costs more than fitting
        self._hash_cache = hash_cache
        self.weights: dict[str, dict[str, NDArray[np.float32]]] = {}  # model → idf, mean, std, coef, bias

    def __repr__(self) -> str:
        return f"ResponseJudge(models={sorted(self.weights)}, n_features={self.n_features})"

    @property
    def models(self) -> tuple[str, ...]:
        """The models this judge can judge."""
        return tuple(self.weights)

    def _hashed(self, queries: Sequence[str], responses: Sequence[str]) -> csr_matrix:
        from scipy.sparse import vstack
        from sklearn.feature_extraction.text import HashingVectorizer

        texts = [f"{q} || {r}" for q, r in zip(queries, responses)]
        cache = self._hash_cache
        todo = texts if cache is None else list(dict.fromkeys(t for t in texts if t not in cache))
        vec = HashingVectorizer(n_features=self.n_features, ngram_range=(1, 2), alternate_sign=False, norm=None)
        counts = vec.transform(todo).tocsr() if todo else None
        if counts is not None:
            counts.data = 1.0 + np.log(counts.data)  # sublinear term frequency
        if cache is None:
            return counts
        cache.update((t, counts[i]) for i, t in enumerate(todo))
        return vstack([cache[t] for t in texts], format="csr")

    @staticmethod
    def _checks(queries: Sequence[str], responses: Sequence[str], earlier: Sequence[Sequence[str]] | None
                ) -> NDArray[np.float64]:
        before = earlier if earlier is not None else [()] * len(responses)
        return np.array([check_features(r, e, q) for q, r, e in zip(queries, responses, before)], dtype=np.float64)

    def _features(self, model: str, queries: Sequence[str], responses: Sequence[str],
                  earlier: Sequence[Sequence[str]] | None, hashed: csr_matrix | None = None,
                  checks: NDArray[np.float64] | None = None) -> csr_matrix:
        """tf-idf of the hashed n-grams (l2-normalised) next to the standardised checks, as fitted for ``model``."""
        from scipy.sparse import csr_matrix, diags, hstack
        from sklearn.preprocessing import normalize

        f = self.weights[model]
        hashed = self._hashed(queries, responses) if hashed is None else hashed
        text = normalize(hashed @ diags(f["idf"].astype(np.float64)))
        raw = self._checks(queries, responses, earlier) if checks is None else checks
        checks = (raw - f["mean"]) / f["std"] * f["active"]
        return hstack([text, csr_matrix(checks)]).tocsr()

    def fit(self, model: str, queries: Sequence[str], responses: Sequence[str], correct: Sequence[float],
            earlier: Sequence[Sequence[str]] | None = None) -> ResponseJudge:
        """Fit the judge of one model from its recorded answers on training queries (``correct`` ≥ 0.5 = right)."""
        from sklearn.linear_model import LogisticRegression

        y = np.asarray(correct, dtype=np.float64) >= 0.5
        if not (len(queries) == len(responses) == len(y)):
            raise DataError(f"judge for {model!r}: {len(queries)} queries, {len(responses)} responses, {len(y)} labels")
        if y.all() or not y.any():
            raise DataError(f"judge for {model!r}: the labels are all {'right' if y.all() else 'wrong'}; a judge needs "
                            "both right and wrong answers to learn from")
        hashed = self._hashed(queries, responses)
        df = np.bincount(hashed.indices, minlength=self.n_features)
        checks = self._checks(queries, responses, earlier)
        self.weights[model] = {
            "idf": (np.log((1.0 + len(y)) / (1.0 + df)) + 1.0).astype(np.float32),
            "mean": checks.mean(axis=0).astype(np.float32),
            "std": np.maximum(checks.std(axis=0), 1e-6).astype(np.float32),
            "active": applicable_checks(checks),
        }
        clf = LogisticRegression(C=self.C, max_iter=2000)
        clf.fit(self._features(model, queries, responses, earlier, hashed, checks), y)
        self.weights[model]["coef"] = clf.coef_[0].astype(np.float32)
        self.weights[model]["bias"] = np.array([clf.intercept_[0]], dtype=np.float32)
        return self

    def out_of_fold(self, model: str, queries: Sequence[str], responses: Sequence[str], correct: Sequence[float],
                    folds: int = 5, seed: int = 0) -> NDArray[np.float64]:
        """P(right) for each training row from a judge fitted on the other folds: honest confidences for choosing
        escalation thresholds on the training split (in-sample ones are over-confident)."""
        rng = np.random.default_rng(seed)
        fold = rng.permutation(len(queries)) % folds
        out = np.empty(len(queries))
        for k in range(folds):
            fit, held = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
            part = ResponseJudge(self.n_features, self.C).fit(
                model, [queries[i] for i in fit], [responses[i] for i in fit], [correct[i] for i in fit]
            )
            out[held] = part.confidence(model, [queries[i] for i in held], [responses[i] for i in held])
        return out

    def confidence(self, model: str, queries: Sequence[str], responses: Sequence[str],
                   earlier: Sequence[Sequence[str]] | None = None) -> NDArray[np.float64]:
        """P(right) for each (query, response) of ``model``; DataError for a model it was not trained for."""
        if model not in self.weights:
            raise DataError(f"this judge was trained for {sorted(self.weights)}, not {model!r}")
        f = self.weights[model]
        logits = self._features(model, queries, responses, earlier) @ f["coef"].astype(np.float64) + float(f["bias"][0])
        return 1.0 / (1.0 + np.exp(-np.asarray(logits).ravel()))

    @hookimpl
    def judge_response(self, query: Any, model: str, response: str, attempts: Sequence[Attempt]) -> float | None:
        """The ``judge_response`` hook: this judge's P(right) for models it knows, None (no opinion) for others."""
        if model not in self.weights:
            return None
        text = getattr(query, "text", query)
        return float(self.confidence(model, [str(text)], [response], [[a.response for a in attempts]])[0])

    # -- persistence ---------------------------------------------------------------------------------------------
    def save(self, out_dir: str | Path) -> Path:
        """Write ``judge.safetensors`` + ``judge.json`` (with the weights' sha256) into ``out_dir``."""
        from safetensors.numpy import save_file

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        models = sorted(self.weights)
        tensors = {f"{key}/{i}": self.weights[m][key] for i, m in enumerate(models) for key in PARTS}
        save_file(tensors, str(out / WEIGHTS))
        config = {"format": FORMAT, "format_version": FORMAT_VERSION, "models": models, "n_features": self.n_features,
                  "C": self.C, "checks": list(CHECKS), "weights_sha256": file_sha256(out / WEIGHTS)}
        (out / CONFIG).write_text(json.dumps(config, indent=2))
        return out

    @classmethod
    def load(cls, path: str | Path) -> ResponseJudge:
        """Load a saved judge; CheckpointError when it is missing, malformed, modified or truncated."""
        from safetensors import SafetensorError
        from safetensors.numpy import load_file

        folder = Path(path)
        try:
            cfg = json.loads((folder / CONFIG).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise CheckpointError(f"{folder}: no {CONFIG}; save a judge with ResponseJudge.save()") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise CheckpointError(f"{folder / CONFIG}: not valid JSON ({exc})") from None
        if not isinstance(cfg, dict) or cfg.get("format") != FORMAT:
            raise CheckpointError(f"{folder / CONFIG}: not a {FORMAT} file")
        if cfg.get("format_version") != FORMAT_VERSION:
            raise CheckpointError(f"{folder / CONFIG}: a {FORMAT} v{cfg.get('format_version')} file; this version reads "
                                  f"v{FORMAT_VERSION} (its features changed): fit the judge again and save it")
        if list(cfg.get("checks", [])) != list(CHECKS):
            raise CheckpointError(f"{folder}: saved with checks {cfg.get('checks')}, this version computes {CHECKS}")
        weights = folder / WEIGHTS
        if not weights.is_file() or file_sha256(weights) != cfg.get("weights_sha256"):
            raise CheckpointError(f"{weights}: missing, or its sha256 does not match {CONFIG} (modified or truncated)")
        try:
            tensors = load_file(str(weights))
            judge = cls(int(cfg["n_features"]), float(cfg["C"]))
            models = list(cfg["models"])
            shapes = {"idf": (judge.n_features,), "mean": (len(CHECKS),), "std": (len(CHECKS),), "active": (len(CHECKS),),
                      "coef": (judge.n_features + len(CHECKS),), "bias": (1,)}
            for i, model in enumerate(models):
                parts = {key: tensors[f"{key}/{i}"] for key in PARTS}
                bad = {k: v.shape for k, v in parts.items() if v.shape != shapes[k]}
                if bad:
                    raise CheckpointError(f"{weights}: tensors of {model!r} have shapes {bad}, expected "
                                          f"{ {k: shapes[k] for k in bad} }")
                judge.weights[model] = parts
        except (SafetensorError, KeyError, IndexError, ValueError, TypeError) as exc:
            raise CheckpointError(f"{folder}: malformed judge ({type(exc).__name__}: {exc})") from None
        return judge
