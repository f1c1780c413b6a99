"""The orchestrator: runs CLI coding agents over the hub's task queue.

Folders of this package, by job: ``config`` (harness.toml), ``queue`` (which
task next), ``admission`` (what a task must be before it runs), ``spawner``
(the subprocess), ``adapters`` (what agents print), ``session`` (one attempt,
start to verdict), ``health``, ``budget``, ``suite`` and ``commands`` (test
runs, argv without a shell), ``retry``, ``errors`` (error details and advice),
``orchestrator`` (the loop and its control surface), ``sim_agent`` and ``demo``
(the demo fleet).
"""

from .budget import BudgetGuard, BudgetLevel, Crossing
from .config import (
    AgentConfig,
    BudgetConfig,
    ConfigError,
    HarnessConfig,
    HealthThresholds,
    RetryConfig,
    RunnerConfig,
    SuiteConfig,
    SuitesConfig,
    TaskSpec,
    load_config,
    parse_config,
)
from .errors import Failure, error_details, suggestions
from .health import HealthMonitor, HealthStatus, Verdict, Vitals
from .orchestrator import Orchestrator
from .ports import FleetHub, FleetState
from .publisher import FleetPublisher
from .queue import TaskQueue
from .session import RunOutcome, SessionRun, StopRequest

__all__ = [
    "AgentConfig",
    "BudgetConfig",
    "BudgetGuard",
    "BudgetLevel",
    "ConfigError",
    "Crossing",
    "Failure",
    "FleetHub",
    "FleetPublisher",
    "FleetState",
    "HarnessConfig",
    "HealthMonitor",
    "HealthStatus",
    "HealthThresholds",
    "Orchestrator",
    "RetryConfig",
    "RunOutcome",
    "RunnerConfig",
    "SessionRun",
    "StopRequest",
    "SuiteConfig",
    "SuitesConfig",
    "TaskQueue",
    "TaskSpec",
    "Verdict",
    "Vitals",
    "error_details",
    "load_config",
    "parse_config",
    "suggestions",
]
