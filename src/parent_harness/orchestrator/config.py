"""The orchestrator's configuration: ``harness.toml``, validated.

Load it with :func:`load_config`; every table and key is documented in
``harness.example.toml`` and ``docs/configuration.md``. Unknown keys are refused
so that a typo is an error, not a silently ignored setting.

The file is trusted; a task is not (whoever may publish one chooses its text).
So the configuration is where commands live: agents' commands, whose words
carrying a task's text must come after ``--`` (or the text goes on stdin), and
test suites, which tasks name but never write.
"""

from __future__ import annotations

import re
import shlex
import string
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from ..redaction import Redactor, compile_pattern
from .commands import command_argv
from .output import OutputLimits
from .task_ids import SAFE_ID_RULE, is_safe_task_id
from .workspace_config import WorkspaceConfig, WorkspaceError, merged_table, resolve_workspace

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

TASK_TEXT_FIELDS = frozenset({"prompt", "title", "description"})
"""Placeholders whose value is text chosen by whoever published the task."""

END_OF_OPTIONS = "--"

SUITE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")

AdapterName = Literal[
    "harness",
    "claude-stream-json",
    "codex-json",
    "gemini-stream-json",
    "cursor-stream-json",
    "amp-stream-json",
    "opencode-json",
    "plain",
]


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
    """USD per million tokens, used only when an agent reports tokens without cost.

    Cache reads and writes are priced at their own rates, the input rate when unset.
    """

    input_per_mtok: float = Field(0.0, ge=0)
    output_per_mtok: float = Field(0.0, ge=0)
    cache_read_per_mtok: float | None = Field(None, ge=0)
    cache_write_per_mtok: float | None = Field(None, ge=0)

    def cost_usd(self, tokens_in: int, tokens_out: int) -> float:
        """What these tokens cost at these prices (all input uncached)."""
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
    prices: dict[str, PriceTable] = Field(default_factory=dict)
    """Prices by model id (prefix), over the shipped table (orchestrator/prices.toml)."""
    model: str | None = None
    """The model this agent runs, to price usage when its CLI does not name one."""
    workspace: WorkspaceConfig | None = None
    """Its ``[workspace]`` (the top-level table with its own keys over it); None: none."""
    approval_hook: Literal["none", "PreToolUse", "PermissionRequest"] = "none"
    """Claude Code: its tool calls ask the hub through ``harness approvals hook``, the hook
    of this event, passed with ``--settings`` (docs/agents.md)."""
    approval_tools: str = Field("*", min_length=1)
    """The hook's matcher: which tools ask (Claude Code's syntax: ``Bash|Edit|Write``)."""

    @model_validator(mode="after")
    def _hook_is_claude_codes(self) -> AgentConfig:
        if self.approval_hook != "none" and self.adapter != "claude-stream-json":
            raise ValueError(
                'approval_hook is Claude Code\'s (adapter = "claude-stream-json"); agents of '
                "the harness protocol ask with an approval_request line"
            )
        return self

    @property
    def words(self) -> list[str]:
        """The command's words, before placeholders are filled in."""
        return shlex.split(self.command) if isinstance(self.command, str) else list(self.command)

    @model_validator(mode="after")
    def _templates_known(self) -> AgentConfig:
        parts = [self.command] if isinstance(self.command, str) else list(self.command)
        for text in [*parts, self.prompt_template, self.workdir]:
            unknown = template_fields(text) - TEMPLATE_FIELDS
            if unknown:
                names = ", ".join(sorted(unknown))
                raise ValueError(f"unknown placeholder(s) {names} in {text!r}")
        return self

    @model_validator(mode="after")
    def _task_text_is_never_an_option(self) -> AgentConfig:
        for word in self.words:
            if word == END_OF_OPTIONS:
                break
            field = leading_field(word)
            if field in TASK_TEXT_FIELDS:
                raise ValueError(
                    f"command: the word {word!r} starts with {{{field}}}, a task's text, before "
                    f"any '--', so a task titled '--some-flag' would hand the agent that option; "
                    f'put it after \'--\' (..., "--", "{{{field}}}"), send the prompt on stdin '
                    f'(stdin = "prompt"), or put it inside a word (--prompt={{{field}}})'
                )
        used = template_fields(self.workdir) & TASK_TEXT_FIELDS
        if used:
            names = ", ".join(f"{{{name}}}" for name in sorted(used))
            raise ValueError(f"workdir: {names} is a task's text, not a path; use {{task_id}}")
        return self


class BudgetConfig(_Section):
    """Spending limits and what happens when one is reached."""

    limit_usd_per_day: float | None = Field(None, gt=0)
    limit_usd_per_task: float | None = Field(None, gt=0)
    warn_at: float = Field(0.8, gt=0, le=1)
    on_limit: Literal["pause", "stop"] = "pause"
    """At the daily limit: pause spawning (``pause``), or also stop running sessions."""
    on_task_limit: Literal["pause", "stop"] = "stop"
    """At a task's limit: stop its session (``stop``, a hard cap), or let it run on and
    only refuse to retry it (``pause``)."""
    burn_window_s: float = Field(900.0, gt=0)


class SuiteConfig(_Section):
    """One test suite: argv run without a shell, in the agent's directory, after it succeeds."""

    command: tuple[str, ...]
    junit_xml: str | None = None
    timeout_s: float = Field(900.0, gt=0)

    @field_validator("command", mode="before")
    @classmethod
    def _argv(cls, value: Any) -> tuple[str, ...]:
        return command_argv(value)


class SuitesConfig(_Section):
    """``[tests]``: the default suite (its keys), named suites (``[tests.NAME]``), the opt-in.

    A task runs the suite it names (``test_suite``), else the default suite, else
    none. A task's own ``test_command`` runs only with ``allow_task_commands``.
    """

    command: tuple[str, ...] | None = None
    junit_xml: str | None = None
    timeout_s: float = Field(900.0, gt=0)
    allow_task_commands: bool = False
    suites: dict[str, SuiteConfig] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _named_suites(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        own = {key: value for key, value in data.items() if key in cls.model_fields}
        inherited = {key: data[key] for key in ("junit_xml", "timeout_s") if key in data}
        suites = dict(own.get("suites") or {})
        for name, table in data.items():
            if name in cls.model_fields:
                continue
            if not isinstance(table, dict):
                raise ValueError(
                    f"{name} = {table!r} is not a key of [tests]; a named suite is a table: "
                    f"[tests.{name}] command = [...]"
                )
            if not SUITE_NAME.fullmatch(name):
                raise ValueError(f"[tests.{name}]: a suite name is letters, digits, - and _")
            suites[name] = {**inherited, **table}
        return {**own, "suites": suites}

    @field_validator("command", mode="before")
    @classmethod
    def _argv(cls, value: Any) -> tuple[str, ...] | None:
        return None if value is None else command_argv(value)

    @property
    def default(self) -> SuiteConfig | None:
        """The suite of a task that names none: ``[tests] command``, if set."""
        if self.command is None:
            return None
        return SuiteConfig(command=self.command, junit_xml=self.junit_xml, timeout_s=self.timeout_s)


class RetryConfig(_Section):
    """How failed tasks are retried."""

    max_attempts: int = Field(3, ge=1)
    backoff_s: float = Field(10.0, ge=0)
    backoff_factor: float = Field(2.0, ge=1)
    max_backoff_s: float = Field(600.0, ge=0)
    on_interrupted: Literal["requeue", "retry", "fail"] = "requeue"


class OutputConfig(_Section):
    """How agent output is streamed (``[orchestrator.output]``, issue 16)."""

    enabled: bool = True
    lines_per_s: int = Field(2000, ge=1)
    """Lines a session may stream per second; more are dropped, and the drop said."""
    flush_interval_s: float = Field(0.1, gt=0)
    flush_bytes: int = Field(64 * 1024, ge=1024)
    max_line_bytes: int = Field(64 * 1024, ge=1024)
    """A longer line is cut there (and said so)."""
    redact: list[str] = Field(default_factory=list)
    """Regular expressions of secrets to redact, besides the built-in ones."""

    @field_validator("redact")
    @classmethod
    def _patterns_compile(cls, value: list[str]) -> list[str]:
        for index, source in enumerate(value):
            compile_pattern(index, source)  # raises ValueError naming the pattern's place
        return value

    def limits(self) -> OutputLimits:
        return OutputLimits(
            lines_per_s=self.lines_per_s,
            flush_interval_s=self.flush_interval_s,
            flush_bytes=self.flush_bytes,
            max_line_bytes=self.max_line_bytes,
            piece_bytes=min(16 * 1024, self.max_line_bytes),
        )

    def redactor(self) -> Redactor:
        return Redactor([compile_pattern(i, source) for i, source in enumerate(self.redact)])


class RunnerConfig(_Section):
    """How often the orchestrator checks health and publishes coalesced updates."""

    publish_interval_s: float = Field(2.0, gt=0)
    health_interval_s: float = Field(1.0, gt=0)
    output_tail_lines: int = Field(40, ge=1)
    output: OutputConfig = Field(default_factory=OutputConfig)


class TaskSpec(_Section):
    """A task listed in the configuration, added once (by its id) at start."""

    id: str | None = None
    title: str
    description: str = ""
    priority: int = 0
    agent: str | None = None
    test_suite: str | None = None
    max_attempts: int | None = Field(None, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _no_command(cls, data: Any) -> Any:
        if isinstance(data, dict) and "test_command" in data:
            raise ValueError(
                "test_command: a task names a suite instead; define it as "
                '[tests.NAME] command = [...] and write test_suite = "NAME"'
            )
        return data

    @field_validator("id")
    @classmethod
    def _safe_id(cls, value: str | None) -> str | None:
        if value is not None and not is_safe_task_id(value):
            raise ValueError(f"{value!r}: {SAFE_ID_RULE}")
        return value


class ApprovalRule(_Section):
    """One ``[[approvals.rules]]``: what it matches and the decision it gives.

    Every condition given must hold: ``kind``; ``tool``, a glob on the tool's name
    (``Read``, ``mcp__*``); ``detail``, a regular expression searched in the detail (the
    command, the path); ``inside_workspace``, whether the detail is a file path inside the
    task's workspace (true) or not (false). ``ask`` leaves the request to people.
    """

    name: str = Field(min_length=1, max_length=100)
    decision: Literal["allow", "deny", "ask"]
    kind: Literal["permission", "question", "plan"] | None = None
    tool: str | None = Field(None, min_length=1)
    detail: str | None = Field(None, min_length=1)
    inside_workspace: bool | None = None
    answer: str | None = None
    """Told to the agent with the decision (a deny's reason)."""

    @model_validator(mode="after")
    def _detail_compiles(self) -> ApprovalRule:
        if self.detail is not None:
            try:
                re.compile(self.detail)
            except re.error as exc:
                raise ValueError(
                    f"rule {self.name!r}: detail {self.detail!r} is not a regular expression "
                    f"({exc})"
                ) from None
        return self


class ApprovalsConfig(_Section):
    """``[approvals]``: how long a request waits, what expiry answers, the rules."""

    timeout_s: float = Field(900.0, gt=0)
    """A request nobody answered in this time expires with ``default``."""
    default: str = Field("deny", min_length=1, max_length=200)
    """The decision given at expiry (said to be the default)."""
    remind_after_s: float = Field(300.0, ge=0)
    """A request pending this long raises one warning (0: never)."""
    rules: list[ApprovalRule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _names_unique(self) -> ApprovalsConfig:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.name in seen:
                raise ValueError(f"two rules are named {rule.name!r}: a rule's name is its mark")
            seen.add(rule.name)
        return self


class HubConfig(_Section):
    """Where ``harness run`` serves the hub (the command line flags win)."""

    host: str = "127.0.0.1"
    port: int = Field(3333, ge=0, le=65535)
    store: str | None = None
    broker: str | None = None
    token: list[str] = Field(default_factory=list)
    allowed_hosts: list[str] = Field(default_factory=list)
    """Host names answered besides IPs, localhost and this machine's (--allowed-host)."""
    allowed_origins: list[str] = Field(default_factory=list)
    """Origins whose pages may publish and subscribe (--allowed-origin)."""
    public_url: str | None = None
    """The URL users open the hub at, behind a proxy (--public-url)."""


class HarnessConfig(_Section):
    """The whole ``harness.toml``."""

    orchestrator: RunnerConfig = Field(default_factory=RunnerConfig)
    agents: dict[str, AgentConfig]
    budget: BudgetConfig = Field(default_factory=BudgetConfig)
    tests: SuitesConfig = Field(default_factory=SuitesConfig)
    retry: RetryConfig = Field(default_factory=RetryConfig)
    tasks: list[TaskSpec] = Field(default_factory=list)
    hub: HubConfig = Field(default_factory=HubConfig)
    notify: dict[str, Any] = Field(default_factory=dict)
    """The ``[notify]`` table, validated by the notifications (parent_harness.notify)."""
    workspace: WorkspaceConfig | None = None
    """The top-level ``[workspace]`` table; each agent's own is in ``agents.NAME.workspace``."""
    approvals: ApprovalsConfig = Field(default_factory=ApprovalsConfig)

    @model_validator(mode="after")
    def _tasks_name_agents(self) -> HarnessConfig:
        if not self.agents:
            raise ValueError("configure at least one agent under [agents.<name>]")
        for task in self.tasks:
            if task.agent is not None and task.agent not in self.agents:
                raise ValueError(f"task {task.title!r} names unknown agent {task.agent!r}")
            if task.test_suite is not None and task.test_suite not in self.tests.suites:
                raise ValueError(
                    f"task {task.title!r} names unknown test suite {task.test_suite!r} "
                    f"(define it as [tests.{task.test_suite}])"
                )
        return self


def template_fields(text: str) -> set[str]:
    """The ``{placeholder}`` names used in ``text`` (``{{`` escapes a brace)."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def leading_field(word: str) -> str | None:
    """The placeholder ``word`` starts with (``prompt`` for ``{prompt}-x``), or None."""
    for literal, name, _, _ in string.Formatter().parse(word):
        return name if literal == "" else None
    return None


def parse_config(data: dict[str, Any], base_dir: Path) -> HarnessConfig:
    """Validate a decoded ``harness.toml``; relative paths resolve from ``base_dir``.

    A ``[workspace]`` in worktree mode is checked against the machine here (git
    installed, ``repo`` a repository, ``base`` a branch): a :class:`ConfigError` if not.
    """
    agents = data.get("agents", {})
    top = data.get("workspace")
    if isinstance(agents, dict):
        tables = {n: _agent_table(n, a, base_dir, top) for n, a in agents.items()}
        data = {**data, "agents": tables}
    try:
        config = HarnessConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_readable(exc)) from None
    return _resolved_workspaces(config, base_dir)


def _resolved_workspaces(config: HarnessConfig, base_dir: Path) -> HarnessConfig:
    resolved: dict[WorkspaceConfig, WorkspaceConfig] = {}

    def resolve(where: str, table: WorkspaceConfig | None) -> WorkspaceConfig | None:
        if table is None:
            return None
        if table not in resolved:
            try:
                resolved[table] = resolve_workspace(table, base_dir)
            except WorkspaceError as exc:
                raise ConfigError(f"{where}: {exc}") from None
        return resolved[table]

    agents = {
        name: agent.model_copy(
            update={"workspace": resolve(f"agents.{name}.workspace", agent.workspace)}
        )
        for name, agent in config.agents.items()
    }
    return config.model_copy(
        update={"agents": agents, "workspace": resolve("workspace", config.workspace)}
    )


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


def _agent_table(name: str, table: Any, base_dir: Path, workspace: Any) -> Any:
    if not isinstance(table, dict):
        return table
    workdir = str(table.get("workdir", "."))
    if not Path(workdir).is_absolute() and not workdir.startswith("{"):
        workdir = str(base_dir / workdir)
    own = merged_table(workspace, table.get("workspace"))
    return {**table, "name": name, "workdir": workdir, "workspace": own}


def _readable(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        loc = error["loc"]
        if loc[:2] == ("tests", "suites"):  # written [tests.NAME], kept in suites[NAME]
            loc = ("tests", *loc[2:])
        where = ".".join(str(part) for part in loc) or "(top level)"
        lines.append(f"{where}: {str(error['msg']).removeprefix('Value error, ')}")
    return "; ".join(lines)
