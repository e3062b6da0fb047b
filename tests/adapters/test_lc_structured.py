"""``with_structured_output`` through the router's chat models: RoutedChatModel in a routed run, EscalatingChatModel."""

from __future__ import annotations

from typing import Any, TypedDict

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langgraph.graph import START, StateGraph
from pydantic import BaseModel

from lg_fakes import Directives, make_cards
from router_plugins import hookimpl
from router_plugins.adapters.langchain.escalating import EscalatingChatModel
from router_plugins.adapters.langgraph import RoutedChatModel, routed
from router_plugins.escalation import Escalation
from router_plugins.router import Router


class Answer(BaseModel):
    value: int
    note: str


class StructuredFake(BaseChatModel):
    """Calls the first bound tool with ``args`` (answers plain text when no tool is bound)."""

    args: dict[str, Any]
    tool: str | None = None

    @property
    def _llm_type(self) -> str:
        return "structured-fake"

    def bind_tools(self, tools: Any, **kwargs: Any) -> StructuredFake:  # type: ignore[override]
        first = tools[0]
        return self.model_copy(update={"tool": getattr(first, "__name__", None) or first["name"]})

    def _generate(self, messages: list[Any], stop: Any = None, run_manager: Any = None, **kw: Any) -> ChatResult:
        msg = (AIMessage("", tool_calls=[{"name": self.tool, "args": self.args, "id": "t1"}]) if self.tool
               else AIMessage(str(self.args)))
        return ChatResult(generations=[ChatGeneration(message=msg)])


class Models:
    def __init__(self, args: dict[str, dict[str, Any]]) -> None:
        self.args = args

    @hookimpl
    def make_chat_model(self, card: Any, framework: str) -> Any:
        return StructuredFake(args=self.args[card.name])


class SureJudge:
    @hookimpl(tryfirst=True)
    def judge_response(self, query: Any, model: str, response: str, attempts: Any, context: Any) -> float:
        return 0.9 if "sure" in response else 0.1


ARGS = {"small": {"value": 5, "note": "maybe"}, "big": {"value": 4, "note": "sure"}}


class S(TypedDict, total=False):
    question: str
    answer: Answer


def test_routed_chat_model_gives_structured_output_from_the_planned_model() -> None:
    router = Router(make_cards(), plugins=[Models(ARGS), Directives()], load_entrypoints=False, modes=["full"])
    own = StructuredFake(args={"value": 0, "note": "own"})
    extract = RoutedChatModel("solver", default=own).with_structured_output(Answer)

    def solve(state: S) -> dict[str, Any]:
        return {"answer": extract.invoke(state["question"])}

    g = StateGraph(S).add_node("solve", solve, metadata={"router": {"role": "solver"}}).add_edge(START, "solve")
    app = routed(g, router=router, query=lambda s: s["question"]).compile()
    assert app.invoke({"question": "2 + 2? model=big"})["answer"] == Answer(value=4, note="sure")
    assert app.invoke({"question": "2 + 2? model=small"})["answer"] == Answer(value=5, note="maybe")
    assert extract.invoke("outside a routed run") == Answer(value=0, note="own")


def test_escalating_chat_model_judges_structured_answers_on_their_arguments() -> None:
    router = Router(make_cards(), plugins=[Models(ARGS), SureJudge()], load_entrypoints=False)
    model = EscalatingChatModel(router=router, escalation=Escalation(("small", "big"), (0.5,)))
    assert model.with_structured_output(Answer).invoke("2 + 2?") == Answer(value=4, note="sure")
    sure_small = Router(make_cards(), plugins=[Models({**ARGS, "small": {"value": 4, "note": "sure"}}), SureJudge()],
                        load_entrypoints=False)
    raw = EscalatingChatModel(router=sure_small, escalation=Escalation(("small", "big"), (0.5,))).with_structured_output(
        Answer, include_raw=True).invoke("2 + 2?")
    assert raw["parsed"] == Answer(value=4, note="sure")
    assert raw["raw"].response_metadata["router_model"] == "small"
