"""The routing decision: a frozen, JSON-serialisable Plan with a stable signature and a human explanation."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from types import MappingProxyType
from typing import Any

from router_plugins.errors import ConfigError

PLAN_FORMAT = 1


@dataclass(frozen=True)
class RoleAssignment:
    """One role's part of a plan: its model (None = pruned), why, and what it is predicted to cost."""

    role: str
    model: str | None
    reason: str = ""
    quality: float | None = None
    cost_usd: float = 0.0
    latency_s: float = 0.0
    samples: int = 1

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
            replace(r, model=models[r.role], reason="set by adjust_plan") if r.role in models else r for r in self.roles
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
    def from_dict(cls, data: Mapping[str, Any]) -> Plan:
        """Rebuild from ``to_dict`` output; raises ConfigError on a malformed or tampered plan."""
        try:
            payload = dict(data)
            signature = payload.pop("signature", None)
            payload.pop("format", None)
            allowed = {f.name for f in fields(cls)}
            unknown = set(payload) - allowed
            if unknown:
                raise ConfigError(f"unknown plan field(s) {sorted(unknown)}")
            role_fields = {f.name for f in fields(RoleAssignment)}
            roles = []
            for r in payload.pop("roles"):
                bad = set(r) - role_fields
                if bad:
                    raise ConfigError(f"unknown role-assignment field(s) {sorted(bad)}")
                roles.append(RoleAssignment(**r))
            plan = cls(roles=tuple(roles), **payload)
        except ConfigError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ConfigError(f"malformed plan JSON: {exc}") from None
        if signature is not None and signature != plan.signature:
            raise ConfigError("plan JSON signature does not match its content (edited by hand?)")
        return plan

    @classmethod
    def from_json(cls, text: str) -> Plan:
        """Parse ``to_json`` output."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"malformed plan JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ConfigError("malformed plan JSON: expected an object")
        return cls.from_dict(data)

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
            lines.append(f"  novelty {float(novelty['score']):.2f} (share of in-distribution queries less novel); "
                         f"predictions {100 * float(novelty['shrink']):.0f} % toward the robust prior")
        width = max((len(r.role) for r in self.roles), default=0)
        for r in self.roles:
            if r.model is None:
                lines.append(f"  {r.role:<{width}}  pruned   ({r.reason})")
            else:
                rq = "" if r.quality is None else f" q≈{r.quality:.3f}"
                x = f" ×{r.samples}" if r.samples > 1 else ""
                why = f" — {r.reason}" if r.reason else ""
                lines.append(f"  {r.role:<{width}}  {r.model}{x}{rq} ${r.cost_usd:.6g}{why}")
        return "\n".join(lines)
