"""The routing decision: a frozen, JSON-serialisable Plan with a stable signature and a human explanation."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from types import MappingProxyType
from typing import Any

from router_plugins.cards import ModelPool
from router_plugins.errors import ConfigError

PLAN_FORMAT = 1


@dataclass(frozen=True)
class RoleAssignment:
    """One role's part of a plan: its model (None = pruned), why, which plugin decided, and its predicted cost."""

    role: str
    model: str | None
    reason: str = ""
    quality: float | None = None
    cost_usd: float = 0.0
    latency_s: float = 0.0
    samples: int = 1
    decided_by: str = ""

    @property
    def pruned(self) -> bool:
        """True when the role does not run."""
        return self.model is None


@dataclass(frozen=True)
class Plan:
    """The routing decision for one query: mode, one assignment per role, predictions and the budget."""

    mode: str
    roles: tuple[RoleAssignment, ...]
    quality: float | None = None
    cost_usd: float = 0.0
    latency_s: float = 0.0
    budget_usd: float | None = None
    lam: float = 0.0
    query_id: str = ""
    fallback: bool = False
    reason: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "roles", tuple(self.roles))
        object.__setattr__(self, "metadata", MappingProxyType(dict(self.metadata)))
        names = [r.role for r in self.roles]
        if len(set(names)) != len(names):
            raise ConfigError(f"a plan lists a role twice: {names}")

    # -- views ---------------------------------------------------------------------------------------------------
    @property
    def assignments(self) -> Mapping[str, str | None]:
        """Role → model name, None where the role is pruned (reasons are in ``reasons``)."""
        return MappingProxyType({r.role: r.model for r in self.roles})

    @property
    def reasons(self) -> Mapping[str, str]:
        """Role → why it got its model or was pruned."""
        return MappingProxyType({r.role: r.reason for r in self.roles})

    @property
    def kept(self) -> tuple[str, ...]:
        """Roles that run."""
        return tuple(r.role for r in self.roles if r.model is not None)

    @property
    def pruned(self) -> tuple[str, ...]:
        """Roles that do not run."""
        return tuple(r.role for r in self.roles if r.model is None)

    def model_for(self, role: str) -> str | None:
        """The model of a role (None if pruned); KeyError naming the roles when the role is not in the plan."""
        for r in self.roles:
            if r.role == role:
                return r.model
        raise KeyError(f"role {role!r} is not in this plan (roles: {[r.role for r in self.roles]})")

    @property
    def signature(self) -> str:
        """Hash of the plan's structure (mode, roles, models, samples): equal structure ⇒ equal signature."""
        structure = [self.mode, [(r.role, r.model, r.samples) for r in self.roles]]
        return hashlib.sha256(json.dumps(structure, separators=(",", ":")).encode()).hexdigest()[:16]

    def with_roles(self, **models: str | None) -> Plan:
        """A copy with some roles reassigned (None prunes); used by adjust_plan plugins."""
        known = {r.role for r in self.roles}
        unknown = set(models) - known
        if unknown:
            raise KeyError(f"unknown role(s) {sorted(unknown)}; the plan has {sorted(known)}")
        roles = tuple(
            replace(r, model=models[r.role], reason="set by adjust_plan", decided_by="adjust_plan") if r.role in models
            else r
            for r in self.roles
        )
        return replace(self, roles=roles)

    # -- serialisation -------------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A plain-JSON dict (with the signature, for readers that do not recompute it)."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["roles"] = [asdict(r) for r in self.roles]
        data["metadata"] = dict(self.metadata)
        data["signature"] = self.signature
        data["format"] = PLAN_FORMAT
        return data

    def to_json(self, **kwargs: Any) -> str:
        """Serialise to JSON; ``Plan.from_json`` reads it back to an equal Plan."""
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], pool: ModelPool | None = None) -> Plan:
        """Rebuild from ``to_dict`` output, validating every field; ConfigError on a malformed or edited plan.

        The ``signature`` is a checksum of the plan's structure (it catches edits by hand and corruption), not a MAC:
        anyone can recompute it, so do not load plans from untrusted sources as an authorisation. With ``pool``,
        every model must be one of its names (UnknownModelError otherwise).
        """
        try:
            plan, signature = _parse_plan(cls, data)
        except ConfigError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as exc:
            raise ConfigError(f"malformed plan JSON: {type(exc).__name__}: {exc}") from None
        if signature != plan.signature:
            raise ConfigError("plan JSON signature does not match its content (edited by hand?)")
        if pool is not None:
            pool.require(m for m in plan.assignments.values() if m is not None)
        return plan

    @classmethod
    def from_json(cls, text: str, pool: ModelPool | None = None) -> Plan:
        """Parse ``to_json`` output (see :meth:`from_dict`)."""
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, RecursionError, TypeError) as exc:
            raise ConfigError(f"malformed plan JSON: {type(exc).__name__}: {exc}") from None
        if not isinstance(data, dict):
            raise ConfigError("malformed plan JSON: expected an object")
        return cls.from_dict(data, pool)

    # -- humans --------------------------------------------------------------------------------------------------
    def explain(self) -> str:
        """A few lines a person can read: mode, each role's model or why it was pruned, predictions vs budget."""
        q = "n/a" if self.quality is None else f"{self.quality:.3f}"
        budget = "none" if self.budget_usd is None else f"${self.budget_usd:.6g}"
        head = f"plan {self.signature} mode={self.mode} λ={self.lam:g}: quality≈{q}, cost≈${self.cost_usd:.6g}"
        lines = [f"{head}, latency≈{self.latency_s:.2f}s, budget {budget}"]
        if self.fallback:
            lines.append(f"  FALLBACK: {self.reason}")
        novelty = self.metadata.get("novelty")
        if isinstance(novelty, Mapping) and all(isinstance(novelty.get(k), (int, float)) for k in ("score", "shrink")):
            why = novelty.get("reason")
            why = f"; {why[:120]}" if isinstance(why, str) and why.isprintable() else ""
            lines.append(f"  novelty {float(novelty['score']):.2f} (share of in-distribution queries less novel{why}); "
                         f"predictions {100 * float(novelty['shrink']):.0f} % toward the robust prior")
        width = max((len(r.role) for r in self.roles), default=0)
        for r in self.roles:
            by = f" [{r.decided_by}]" if r.decided_by else ""
            if r.model is None:
                lines.append(f"  {r.role:<{width}}  pruned   ({r.reason}){by}")
            else:
                rq = "" if r.quality is None else f" q≈{r.quality:.3f}"
                x = f" ×{r.samples}" if r.samples > 1 else ""
                why = f" — {r.reason}" if r.reason else ""
                lines.append(f"  {r.role:<{width}}  {r.model}{x}{rq} ${r.cost_usd:.6g}{why}{by}")
        return "\n".join(lines)


_ROLE_TYPES: dict[str, tuple[type, ...]] = {
    "role": (str,), "model": (str, type(None)), "reason": (str,), "quality": (int, float, type(None)),
    "cost_usd": (int, float), "latency_s": (int, float), "samples": (int,), "decided_by": (str,),
}
_PLAN_TYPES: dict[str, tuple[type, ...]] = {
    "mode": (str,), "roles": (list, tuple), "quality": (int, float, type(None)), "cost_usd": (int, float),
    "latency_s": (int, float), "budget_usd": (int, float, type(None)), "lam": (int, float), "query_id": (str,),
    "fallback": (bool,), "reason": (str,), "metadata": (dict,),
}


def _check_fields(data: Any, types: Mapping[str, tuple[type, ...]], where: str) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise ConfigError(f"malformed plan JSON: {where} must be an object, got {type(data).__name__}")
    unknown = set(data) - set(types)
    if unknown:
        raise ConfigError(f"unknown {where} field(s) {sorted(map(str, unknown))}")
    for name, value in data.items():
        ok = isinstance(value, types[name]) and not (isinstance(value, bool) and bool not in types[name])
        if not ok:
            raise ConfigError(f"malformed plan JSON: {where} field {name!r} has the wrong type ({type(value).__name__})")
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"malformed plan JSON: {where} field {name!r} is not finite")
        if name in {"cost_usd", "latency_s", "budget_usd", "lam"} and value is not None and value < 0:
            raise ConfigError(f"malformed plan JSON: {where} field {name!r} is negative")
    if data.get("samples", 1) < 1:
        raise ConfigError(f"malformed plan JSON: {where} samples must be ≥ 1")
    return dict(data)


def _parse_plan(cls: type[Plan], data: Mapping[str, Any]) -> tuple[Plan, str]:
    payload = dict(data)
    signature = payload.pop("signature", None)
    if not isinstance(signature, str):
        raise ConfigError("plan JSON has no signature: write plans with Plan.to_json()")
    if payload.pop("format", PLAN_FORMAT) != PLAN_FORMAT:
        raise ConfigError(f"plan JSON has an unknown format (this version reads format {PLAN_FORMAT})")
    payload = _check_fields(payload, _PLAN_TYPES, "plan")
    json.dumps(payload.get("metadata", {}))  # metadata must be plain JSON (RecursionError / TypeError otherwise)
    roles = tuple(RoleAssignment(**_check_fields(r, _ROLE_TYPES, "role")) for r in payload.pop("roles"))
    return cls(roles=roles, **payload), signature
