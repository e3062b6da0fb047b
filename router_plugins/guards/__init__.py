"""Built-in opt-in ``guard_query`` plugins: each vets a query before routing and may pin it to one model or refuse it."""

from router_plugins.guards.domain import DomainGuard
from router_plugins.guards.privacy import DETECTORS, LOCAL_PROVIDERS, PrivacyGuard, private_data

__all__ = ["DETECTORS", "LOCAL_PROVIDERS", "DomainGuard", "PrivacyGuard", "private_data"]
