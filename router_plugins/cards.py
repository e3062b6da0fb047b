"""Model cards (one LLM the router may pick) and the validated, ordered pool they form."""

from __future__ import annotations

import logging
import math
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from router_plugins._catalogue import CATALOGUE, catalogue_entry
from router_plugins.errors import ConfigError, EmptyPoolError, UnknownModelError
from router_plugins.query import task_lineage


log = logging.getLogger("router_plugins")

#: Highest accepted price, USD per 1M tokens: above it a typo (or an attack on cost arithmetic) is more likely.
MAX_PRICE = 1_000_000.0
#: Unicode categories refused in names: control (newlines, ANSI escapes), format (RLO and other bidi overrides),
#: line and paragraph separators, surrogates, unassigned.
_UNPRINTABLE = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Cn", "Co"})


def _problems(exc: ValidationError) -> str:
    """Pydantic's errors as one line: field: problem; field: problem."""
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or '(card)'}: "
        + ("unknown field" if err["type"] == "extra_forbidden" else err["msg"])
        for err in exc.errors()
    )


class ModelCard(BaseModel):
    """One LLM the router may pick: how to reach it, what it costs, and a prior on how good it is."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    provider: str | None = None
    model: str | None = None
    base_url: str | None = None
    input_price: float = Field(0.0, ge=0, le=MAX_PRICE, allow_inf_nan=False, description="USD per 1M input tokens")
    output_price: float = Field(0.0, ge=0, le=MAX_PRICE, allow_inf_nan=False, description="USD per 1M output tokens")
    output_tokens: int = Field(256, ge=1, le=10_000_000, description="typical output tokens per call")
    latency_s: float = Field(1.0, ge=0, allow_inf_nan=False, description="typical seconds per call")
    context_window: int = Field(8192, ge=1)
    quality: float | dict[str, float] | None = Field(
        None, description="prior expected quality in [0, 1]; a mapping gives one per task family ('*' = default)"
    )
    size_b: float | None = Field(None, ge=0, allow_inf_nan=False, description="parameters, billions")
    description: str = ""
    tags: tuple[str, ...] = ()

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise ConfigError(f"invalid model card {data.get('name', '')!r}: {_problems(exc)}") from None

    @field_validator("name", "provider", "model")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        if value is not None:
            bad = [c for c in value if unicodedata.category(c) in _UNPRINTABLE]
            if bad or value != value.strip():
                raise ValueError(
                    f"must be printable text without surrounding spaces (found {ascii(''.join(bad) or value)})"
                )
        return value

    @field_validator("quality")
    @classmethod
    def _quality_in_unit_interval(cls, value: float | dict[str, float] | None) -> float | dict[str, float] | None:
        values = value.values() if isinstance(value, dict) else [] if value is None else [value]
        for v in values:
            if not (0.0 <= v <= 1.0) or math.isnan(v):
                raise ValueError(f"quality must be in [0, 1], got {v}")
        return value

    def cost_usd(self, input_tokens: float, output_tokens: float | None = None) -> float:
        """Price of one call with these token counts (typical output tokens when not given)."""
        out = self.output_tokens if output_tokens is None else output_tokens
        return (input_tokens * self.input_price + out * self.output_price) / 1e6

    def prior_quality(self, task: str | None = None) -> float | None:
        """The card's prior quality for a task family, backing off from ``mmlu/astronomy`` to ``mmlu``, then to '*',
        then to None."""
        if isinstance(self.quality, dict):
            for family in task_lineage(task):
                if family in self.quality:
                    return self.quality[family]
            return self.quality.get("*")
        return self.quality


def unknown_task_keys(cards: Iterable[ModelCard], known: Iterable[str]) -> dict[str, list[str]]:
    """Per card, the keys of its per-task quality table that name no known task family (nor a prefix of one, such as
    ``mmlu`` for ``mmlu/astronomy``); ``'*'`` is the default, never unknown."""
    names = {family for task in known for family in task_lineage(str(task))}
    found = {}
    for card in cards:
        if isinstance(card.quality, dict):
            keys = [k for k in card.quality if k != "*" and k not in names]
            if keys:
                found[card.name] = keys
    return found


def warn_unknown_task_keys(cards: Iterable[ModelCard], known: Iterable[str]) -> None:
    """Log one warning per card whose per-task table names tasks no plugin knows (a typo, or 'default' for '*');
    silent when nothing declares known tasks."""
    import difflib

    known = sorted(set(known))
    if not known:
        return
    for card, keys in unknown_task_keys(cards, known).items():
        hints = []
        for key in keys:
            close = difflib.get_close_matches(key, known, n=1)
            hints.append(f"{key!r} (did you mean {close[0]!r}?)" if close else
                         f"{key!r} (use '*' for the default)" if key == "default" else repr(key))
        log.warning("router_plugins: card %r has per-task quality for task(s) that no scorer knows: %s; a query gets "
                    "them only when its task is spelled exactly so (README section 'Use it')", card, ", ".join(hints))


def _card_from_mapping(data: Mapping[str, Any], where: str) -> ModelCard:
    try:
        return ModelCard.model_validate(dict(data))
    except ValidationError as exc:
        raise ConfigError(f"invalid model card {where}: {_problems(exc)}") from None


def _with_catalogue_prices(card: ModelCard) -> tuple[ModelCard, str]:
    """The card with prices (and context window) from the catalogue when it gives neither price; and their source."""
    if {"input_price", "output_price"} & card.model_fields_set:
        return card, "card"
    entry = catalogue_entry(card.model or card.name, card.provider)
    if entry is None:
        return card, "default (0)"
    update: dict[str, Any] = {"input_price": entry[0], "output_price": entry[1]}
    if entry[2] and "context_window" not in card.model_fields_set:
        update["context_window"] = int(entry[2])
    return card.model_copy(update=update), CATALOGUE


class ModelPool:
    """An ordered, validated set of model cards with unique names; never empty."""

    def __init__(self, cards: Iterable[ModelCard | Mapping[str, Any]]) -> None:
        parsed: list[ModelCard] = []
        for i, card in enumerate(cards):
            if not isinstance(card, ModelCard):
                name = card.get("name", f"#{i}") if isinstance(card, Mapping) else f"#{i}"
                if not isinstance(card, Mapping):
                    raise ConfigError(f"model card #{i} must be a table/mapping, got {type(card).__name__}")
                card = _card_from_mapping(card, repr(name))
            parsed.append(card)
        if not parsed:
            raise EmptyPoolError("the model pool is empty: add at least one model card")
        for card in parsed:
            if isinstance(card.quality, dict) and "*" not in card.quality:
                hint = " ('default' is read as a task named 'default': use '*')" if "default" in card.quality else ""
                log.warning("router_plugins: card %r has a per-task quality table without a '*' default; queries of "
                            "other tasks get the neutral prior 0.5%s", card.name, hint)
        self._price_sources: dict[str, str] = {}
        for i, card in enumerate(parsed):
            parsed[i], self._price_sources[card.name] = _with_catalogue_prices(card)
        seen: set[str] = set()
        for card in parsed:
            if card.name in seen:
                raise ConfigError(f"duplicate model name {card.name!r} in the pool: names must be unique")
            seen.add(card.name)
        self._cards: tuple[ModelCard, ...] = tuple(parsed)
        self._index = {c.name: i for i, c in enumerate(parsed)}

    # -- construction -------------------------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelPool:
        """Build from ``{"models": [card, ...]}`` (the layout of pool files)."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"a pool must be a mapping with a 'models' list, got {type(data).__name__}")
        unknown = set(data) - {"models"}
        if unknown:
            raise ConfigError(f"unknown top-level key(s) {sorted(unknown)} in pool: only 'models' is allowed")
        models = data.get("models")
        if models is None:
            raise EmptyPoolError("the pool has no 'models' list: add [[models]] tables (TOML) or a models: list (YAML)")
        if not isinstance(models, list):
            raise ConfigError(f"'models' must be a list of model cards, got {type(models).__name__}")
        return cls(models)

    @classmethod
    def from_file(cls, path: str | Path) -> ModelPool:
        """Load a pool from a TOML (``[[models]]`` tables) or YAML (``models:`` list) file."""
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"pool file {str(path)!r} does not exist")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError(f"pool file {str(path)!r} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        suffix = path.suffix.lower()
        try:
            if suffix == ".toml":
                import tomllib

                data: Any = tomllib.loads(text)
            elif suffix in {".yaml", ".yml"}:
                import yaml

                data = yaml.safe_load(text)
            else:
                raise ConfigError(f"pool file {str(path)!r}: unsupported extension {suffix!r} (use .toml, .yaml or .yml)")
        except ConfigError:
            raise
        except Exception as exc:  # tomllib / yaml parse errors carry the line number
            raise ConfigError(f"pool file {str(path)!r} is malformed: {exc}") from None
        try:
            return cls.from_dict(data if data is not None else {})
        except ConfigError as exc:
            raise type(exc)(f"{path}: {exc}") from None

    # -- access -------------------------------------------------------------------------------------------------
    def __iter__(self) -> Iterator[ModelCard]:
        return iter(self._cards)

    def __len__(self) -> int:
        return len(self._cards)

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def __getitem__(self, name: str) -> ModelCard:
        try:
            return self._cards[self._index[name]]
        except KeyError:
            raise UnknownModelError(f"unknown model {name!r}; the pool has: {', '.join(self.names)}") from None

    def __repr__(self) -> str:
        return f"ModelPool({list(self.names)})"

    @property
    def names(self) -> tuple[str, ...]:
        """Model names in pool order."""
        return tuple(c.name for c in self._cards)

    @property
    def cards(self) -> tuple[ModelCard, ...]:
        """The cards in pool order."""
        return self._cards

    def price_source(self, name: str) -> str:
        """Where a model's prices come from: ``card``, ``genai-prices`` (the catalogue) or ``default (0)``."""
        return self._price_sources[self[name].name]

    def index(self, name: str) -> int:
        """Position of a model in the pool (the column of score arrays)."""
        self.require([name])
        return self._index[name]

    def require(self, names: Iterable[str]) -> None:
        """Raise UnknownModelError (naming the pool) for the first of ``names`` that is not in it."""
        for name in names:
            self[name]

    def subset(self, names: Iterable[str]) -> ModelPool:
        """A pool of just these models (unknown names raise)."""
        return self._keeping_sources(ModelPool([self[n] for n in names]))

    def with_cards(self, cards: Iterable[ModelCard]) -> ModelPool:
        """A new pool with extra cards appended (duplicate names raise)."""
        return self._keeping_sources(ModelPool([*self._cards, *cards]))

    def _keeping_sources(self, pool: ModelPool) -> ModelPool:
        pool._price_sources.update({n: s for n, s in self._price_sources.items() if n in pool})
        return pool

    def most_expensive(self) -> ModelCard:
        """The card with the highest price for a typical call; among equal prices, the best prior quality."""
        return max(self._cards, key=lambda c: (c.cost_usd(1000), c.output_price, c.input_price, c.prior_quality() or 0))

    def cheapest(self) -> ModelCard:
        """The card with the lowest price for a typical call."""
        return min(self._cards, key=lambda c: (c.cost_usd(1000), c.output_price, c.input_price))
