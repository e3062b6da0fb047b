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
from router_plugins.adapters.mapcoder.sandbox import (
    ExecutionReport,
    OpaqueValue,
    ProgramError,
    RunStatus,
    SandboxMode,
    TestOutcome,
    isolation_missing,
    run_tests,
)

__all__ = [
    "ROLES",
    "CodeProblem",
    "CodeResult",
    "ExecutionReport",
    "MapCoder",
    "OpaqueValue",
    "ProgramError",
    "RunStatus",
    "SandboxMode",
    "StageCall",
    "TestOutcome",
    "assemble",
    "docstring_tests",
    "extract_code",
    "isolation_missing",
    "run_tests",
]
