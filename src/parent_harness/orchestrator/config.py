"""The orchestrator's configuration: ``harness.toml``, validated.

Load it with :func:`load_config`; every table and key is documented in
``harness.example.toml`` and ``docs/configuration.md``. Unknown keys are refused
so that a typo is an error, not a silently ignored setting.
"""

from __future__ import annotations

import string
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

TEMPLATE_FIELDS = frozenset(
    {
        "prompt",
        "title",
        "description",
        "task_id",
        "session_id",
        "attempt",
        "max_iterations",
        "agent",
        "workdir",
    }
)
"""Placeholders a command, a prompt template or a working directory may use."""

AdapterName = Literal["harness", "claude-stream-json", "codex-json", "plain"]


class ConfigError(ValueError):
    """The configuration file is missing, not TOML, or does not validate."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HealthThresholds(_Section):
    """When a session counts as stale, stuck or crashed (seconds)."""

    stale_after_s: float = Field(60.0, gt=0)
    crashed_after_s: float = Field(300.0, gt=0)
    stuck_after_s: float = Field(900.0, ge=0, description="0 disables stuck detection")
    kill_on_stuck: bool = False

    @model_validator(mode="after")
    def _ordered(self) -> HealthThresholds:
        if self.crashed_after_s <= self.stale_after_s:
            raise ValueError("crashed_after_s must be greater than stale_after_s")
        return self


class PriceTable(_Section):
    """USD per million tokens, used only when an agent reports tokens without cost."""

    input_per_mtok: float = Field(0.0, ge=0)
    output_per_mtok: float = Field(0.0, ge=0)

    def cost_usd(self, tokens_in: int, tokens_out: int) -> float:
        """What these tokens cost at these prices."""
        return (tokens_in * self.input_per_mtok + tokens_out * self.output_per_mtok) / 1e6


class AgentConfig(_Section):
    """One kind of agent: how to start it and how many may run at once."""

    name: str
    command: str | list[str]
    adapter: AdapterName = "harness"
    workdir: str = "."
    create_workdir: bool = False
    env: dict[str, str] = Field(default_factory=dict)
    inherit_env: bool = True
    stdin: Literal["none", "prompt", "json"] = "none"
    prompt_template: str = "{title}\n\n{description}"
    max_instances: int = Field(1, ge=1)
    max_iterations: int = Field(50, ge=1)
    timeout_s: float = Field(3600.0, gt=0)
    stop_grace_s: float = Field(5.0, ge=0)
    health: HealthThresholds = Field(default_factory=HealthThresholds)
    price: PriceTable | None = None

    @model_validator(mode="after")
    def _templates_known(self) -> AgentConfig:
        parts = [self.command] if isinstance(self.command, str) else list(self.command)
        for text in [*parts, self.prompt_template, self.workdir]:
            unknown = template_fields(text) - TEMPLATE_FIELDS
            if unknown:
                names = ", ".join(sorted(unknown))
                raise ValueError(f"unknown placeholder(s) {names} in {text!r}")
        return self


class BudgetConfig(_Section):
    """Spending limits and what happens when one is reached."""

    limit_usd_per_day: float | None = Field(None, gt=0)
    limit_usd_per_task: float | None = Field(None, gt=0)
    warn_at: float = Field(0.8, gt=0, le=1)
    on_limit: Literal["pause", "stop"] = "pause"
    burn_window_s: float = Field(900.0, gt=0)


class SuiteConfig(_Section):
    """The test command run after an agent succeeds (a task's own command wins)."""

    command: str | None = None
    junit_xml: str | None = None
    timeout_s: float = Field(900.0, gt=0)


class RetryConfig(_Section):
    """How failed tasks are retried."""

    max_attempts: int = Field(3, ge=1)
    backoff_s: float = Field(10.0, ge=0)
    backoff_factor: float = Field(2.0, ge=1)
    max_backoff_s: float = Field(600.0, ge=0)
    on_interrupted: Literal["requeue", "retry", "fail"] = "requeue"


class RunnerConfig(_Section):
    """How often the orchestrator checks health and publishes coalesced updates."""

    publish_interval_s: float = Field(2.0, gt=0)
    health_interval_s: float = Field(1.0, gt=0)
    output_tail_lines: int = Field(40, ge=1)


class TaskSpec(_Section):
    """A task listed in the configuration, added once (by its id) at start."""

    id: str | None = None
    title: str
    description: str = ""
    priority: int = 0
    agent: str | None = None
    test_command: str | None = None
    max_attempts: int | None = Field(None, ge=1)


class HubConfig(_Section):
    """Where ``harness run`` serves the hub (the command line flags win)."""

    host: str = "127.0.0.1"
    port: int = Field(3333, ge=0, le=65535)
    store: str | None = None
    broker: str | None = None
    token: list[str] = Field(default_factory=list)


class HarnessConfig(_Section):
    """The whole ``harness.toml``."""

    orchestrator: RunnerConfig = Field(default_factory=RunnerConfig)
    agents: dict[str, AgentConfig]
    budget: BudgetConfig = Field(default_factory=BudgetConfig)
    tests: SuiteConfig = Field(default_factory=SuiteConfig)
    retry: RetryConfig = Field(default_factory=RetryConfig)
    tasks: list[TaskSpec] = Field(default_factory=list)
    hub: HubConfig = Field(default_factory=HubConfig)
    notify: dict[str, Any] = Field(default_factory=dict)
    """The ``[notify]`` table, validated by the notifications (parent_harness.notify)."""

    @model_validator(mode="after")
    def _tasks_name_agents(self) -> HarnessConfig:
        if not self.agents:
            raise ValueError("configure at least one agent under [agents.<name>]")
        for task in self.tasks:
            if task.agent is not None and task.agent not in self.agents:
                raise ValueError(f"task {task.title!r} names unknown agent {task.agent!r}")
        return self


def template_fields(text: str) -> set[str]:
    """The ``{placeholder}`` names used in ``text`` (``{{`` escapes a brace)."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def parse_config(data: dict[str, Any], base_dir: Path) -> HarnessConfig:
    """Validate a decoded ``harness.toml``; relative workdirs resolve from ``base_dir``."""
    agents = data.get("agents", {})
    if isinstance(agents, dict):
        data = {**data, "agents": {n: _agent_table(n, a, base_dir) for n, a in agents.items()}}
    try:
        return HarnessConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_readable(exc)) from None


def load_config(path: str | Path) -> HarnessConfig:
    """Read and validate a ``harness.toml`` file."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file (copy harness.example.toml)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        return parse_config(data, path.resolve().parent)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def _agent_table(name: str, table: Any, base_dir: Path) -> Any:
    if not isinstance(table, dict):
        return table
    workdir = str(table.get("workdir", "."))
    if not Path(workdir).is_absolute() and not workdir.startswith("{"):
        workdir = str(base_dir / workdir)
    return {**table, "name": name, "workdir": workdir}


def _readable(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "(top level)"
        lines.append(f"{where}: {str(error['msg']).removeprefix('Value error, ')}")
    return "; ".join(lines)
