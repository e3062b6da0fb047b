"""MapCoder-style code pipeline (retrieval → planning → coding → debugging) planned by the router, with the
generated programs executed in :mod:`router_plugins.adapters.mapcoder.sandbox`."""

from router_plugins.adapters.mapcoder.pipeline import (
    ROLES,
    CodeProblem,
    CodeResult,
    MapCoder,
    StageCall,
    assemble,
    docstring_tests,
    extract_code,
)
from router_plugins.adapters.mapcoder.sandbox import ExecutionReport, run_tests

__all__ = [
    "ROLES",
    "CodeProblem",
    "CodeResult",
    "ExecutionReport",
    "MapCoder",
    "StageCall",
    "assemble",
    "docstring_tests",
    "extract_code",
    "run_tests",
]
