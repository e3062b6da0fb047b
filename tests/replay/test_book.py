"""ReplayBook: answering (query, model) from recorded outcomes, and its errors."""

from __future__ import annotations

import numpy as np
import pytest
from shared_data import shared

from router_plugins._tokens import estimate_tokens
from router_plugins.errors import DataError
from router_plugins.replay import DEFAULT_OUTPUT_TOKENS, OutcomeTable, ReplayBook, ReplayRecord, load_outcomes


def make_table(*, with_tokens: bool = True, with_cost: bool = True) -> OutcomeTable:
    quality = np.array([[1.0, 0.0], [0.5, np.nan], [0.0, 1.0], [1.0, 1.0]])
    return OutcomeTable(
        name="toy",
        texts=("alpha", "beta", "alpha", "delta" * 10),
        tasks=np.array(["t", "t", "u", "u"]),
        splits=np.array(["test"] * 4),
        models=("cheap", "dear"),
        quality=quality,
        cost=np.array([[0.001, 0.01], [0.002, 0.02], [0.003, 0.03], [0.004, np.nan]]) if with_cost else None,
        cost_estimated=True,
        responses=np.array([["a1", "a2"], ["b1", None], ["c1", "c2"], [None, "d2"]], dtype=object),
        input_tokens=np.full((4, 2), 7, dtype=np.int64) if with_tokens else None,
        output_tokens=np.full((4, 2), 3, dtype=np.int64) if with_tokens else None,
    )


def test_answer_by_text_and_by_row() -> None:
    book = ReplayBook(make_table())
    rec = book.answer("alpha", "dear")
    assert rec == ReplayRecord(
        quality=0.0, cost_usd=0.01, response="a2", input_tokens=7, output_tokens=3, cost_estimated=True
    )
    assert book.answer(2, "dear").quality == 1.0
    assert book.answer(np.int64(2), "cheap").response == "c1"
    assert "alpha" in book and "zeta" not in book and len(book) == 4


def test_duplicate_text_answers_with_its_first_row() -> None:
    book = ReplayBook(make_table())
    assert book.row_of("alpha") == 0
    assert book.answer("alpha", "cheap").quality == 1.0  # row 0, not row 2


def test_unknown_query_unknown_model_and_missing_outcome_are_data_errors() -> None:
    book = ReplayBook(make_table())
    with pytest.raises(DataError, match="no recorded outcome"):
        book.answer("gamma", "cheap")
    with pytest.raises(DataError, match="out of range"):
        book.answer(4, "cheap")
    with pytest.raises(DataError, match="row index"):
        book.answer(True, "cheap")  # type: ignore[arg-type]
    with pytest.raises(DataError, match=r"\['cheap', 'dear'\]"):
        book.answer("alpha", "gpt-9")
    with pytest.raises(DataError, match="missing"):
        book.answer("beta", "dear")


def test_missing_cost_is_none_and_not_estimated() -> None:
    rec = ReplayBook(make_table()).answer(3, "dear")
    assert rec.cost_usd is None and not rec.cost_estimated
    assert ReplayBook(make_table(with_cost=False)).answer(0, "cheap").cost_usd is None


def test_tokens_are_estimated_when_the_table_has_none() -> None:
    book = ReplayBook(make_table(with_tokens=False))
    rec = book.answer(3, "dear")
    assert rec.input_tokens == estimate_tokens("delta" * 10)
    assert rec.output_tokens == estimate_tokens("d2")
    assert book.answer(3, "cheap").output_tokens == DEFAULT_OUTPUT_TOKENS  # no response recorded


def test_replay_of_routerbench_reports_the_recorded_outcome() -> None:
    table = load_outcomes(shared("routerbench_via_routerdc")).split("test")
    book = ReplayBook(table)
    j = table.model_index("gpt-4-1106-preview")
    text = table.texts[5]
    rec = book.answer(text, "gpt-4-1106-preview")
    assert rec.quality == table.quality[book.row_of(text), j]
    assert table.cost is not None and rec.cost_usd == table.cost[book.row_of(text), j]
    assert not rec.cost_estimated and isinstance(rec.response, str)
    missing = int(np.flatnonzero(np.isnan(table.quality[:, table.model_index("gpt-3.5-turbo-1106")]))[0])
    with pytest.raises(DataError, match="missing"):
        book.answer(missing, "gpt-3.5-turbo-1106")


def test_replay_of_routerarena_uses_recorded_tokens() -> None:
    table = load_outcomes(shared("routerarena_sub10"))
    book = ReplayBook(table)
    rec = book.answer(0, "claude-3-haiku-20240307")
    # claude-3-haiku: $0.25 / $1.25 per 1M tokens; the recorded cost is recorded tokens × those prices
    assert rec.cost_usd == pytest.approx((rec.input_tokens * 0.25 + rec.output_tokens * 1.25) / 1e6)
