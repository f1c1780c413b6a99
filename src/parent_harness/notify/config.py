"""The `[notify]` section of harness.toml, read into typed settings.

`load_settings(mapping)` takes the `[notify]` table (a dict, as `tomllib` gives it) and returns
`NotifySettings`, or raises `NotifyConfigError` naming the bad key (`notify.webhooks[0].url`).
Durations accept seconds or text such as `"5m"`; a rate limit is `"count/duration"` (`"10/10m"`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from parent_harness.credentials import mask_url
from parent_harness.events.kinds import KINDS
from parent_harness.notify.conditions import ConditionError, compile_condition
from parent_harness.notify.durations import parse_duration
from parent_harness.notify.errors import NotifyConfigError

Duration = Annotated[float, BeforeValidator(parse_duration), Field(ge=0)]
ChannelName = Literal["telegram", "webhooks"]
ALL_CHANNELS: tuple[ChannelName, ...] = ("telegram", "webhooks")
Moment = Literal["needs_input", "failure", "completion"]


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most `count` announcements per `per_s` seconds."""

    count: int
    per_s: float


def parse_rate_limit(value: Any) -> RateLimit | None:
    """`"10/10m"`, `{count = 10, per_s = 600}` or `false` (no limit)."""
    if value is False or value is None or isinstance(value, RateLimit):
        return value or None
    if isinstance(value, Mapping):
        count, per = value.get("count"), value.get("per_s")
    elif isinstance(value, str) and "/" in value:
        count, per = value.split("/", 1)
    else:
        raise ValueError(f"write a rate limit as 'count/duration', e.g. '10/10m', not {value!r}")
    parsed = RateLimit(int(str(count)), parse_duration(per if per is not None else ""))
    if parsed.count < 1 or parsed.per_s <= 0:
        raise ValueError("a rate limit needs a count of at least 1 and a positive duration")
    return parsed


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class RetrySettings(_Section):
    """How often and how patiently a channel retries a delivery."""

    retries: int = Field(default=5, ge=0, le=100)
    backoff_s: Duration = 1.0
    max_backoff_s: Duration = 300.0
    timeout_s: Duration = 10.0


class TelegramSettings(RetrySettings):
    """`[notify.telegram]`: a bot, the chats it talks to, the commands it obeys."""

    token: str | None = Field(default=None, repr=False)
    token_env: str = "HARNESS_TELEGRAM_TOKEN"
    api_base_url: str = "https://api.telegram.org"
    chat_ids: list[str] = Field(min_length=1)
    public_url: str | None = None
    commands: bool = True
    poll_timeout_s: int = Field(default=25, ge=0, le=50)

    @field_validator("chat_ids", mode="before")
    @classmethod
    def _chat_ids_as_text(cls, value: Any) -> Any:
        if isinstance(value, int | str) and not isinstance(value, bool):
            value = [value]
        if isinstance(value, list):
            return [str(item) if isinstance(item, int) else item for item in value]
        return value

    @field_validator("chat_ids")
    @classmethod
    def _chat_ids_valid(cls, value: list[str]) -> list[str]:
        for chat_id in value:
            if not (chat_id.lstrip("-").isdigit() or chat_id.startswith("@")):
                raise ValueError(f"{chat_id!r} is not a chat id (a number, or @channel)")
        return value

    @field_validator("api_base_url", "public_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        return _check_http_url(value)

    def bot_token(self) -> str:
        """The bot's token: `token`, else the environment variable `token_env`."""
        return self.token or os.environ.get(self.token_env, "")


class WebhookSettings(RetrySettings):
    """`[[notify.webhooks]]`: a URL that gets a JSON POST (Slack-compatible `text`) per alert."""

    url: str = Field(repr=False)
    name: str | None = None
    headers: dict[str, str] = Field(default_factory=dict, repr=False)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        checked = _check_http_url(expand_env(value), show=False)
        assert checked is not None
        return checked

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        return {name: expand_env(text) for name, text in value.items()}

    @property
    def label(self) -> str:
        """How messages and errors name this webhook: its name, or its scheme and host (never
        its path, query or userinfo, where webhooks keep their secrets)."""
        if self.name:
            return self.name
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


class RuleSettings(_Section):
    """`[[notify.rules]]`: when to open an incident, when it resolves, how loud to be."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.:-]+$")
    kind: Literal["event", "absence"] = "event"
    on: list[str] = Field(default_factory=list)
    subject: str | None = None
    when: dict[str, Any] = Field(default_factory=dict)
    resolve_when: dict[str, Any] | None = None
    after_s: Duration | None = None
    title: str | None = None
    severity: Literal["info", "warning", "error"] = "warning"
    notify_resolved: bool = True
    dedup_s: Duration = 300.0
    rate_limit: Annotated[RateLimit | None, BeforeValidator(parse_rate_limit)] = RateLimit(10, 600)
    channels: list[ChannelName] = Field(default_factory=lambda: list(ALL_CHANNELS))
    enabled: bool = True

    @field_validator("on", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("when", "resolve_when")
    @classmethod
    def _condition(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        try:
            compile_condition(value or {})
        except ConditionError as exc:
            raise ValueError(f"{exc.path!r}: {exc}") from None
        return value

    @model_validator(mode="before")
    @classmethod
    def _infer_subject(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("subject") and data.get("on"):
            first = data["on"] if isinstance(data["on"], str) else data["on"][0]
            subject = subject_of(str(first))
            return {**data, "subject": subject} if subject else data
        return data

    @model_validator(mode="after")
    def _complete(self) -> RuleSettings:
        if not self.enabled:
            return self
        if self.kind == "absence" and not self.after_s:
            raise ValueError("an absence rule needs `after_s` (seconds without a heartbeat)")
        if self.kind == "event" and not self.on:
            raise ValueError("an event rule needs `on` (the event types it looks at)")
        if self.kind == "event" and not self.subject:
            raise ValueError("`subject` is needed: the payload field naming what is affected")
        return self


def subject_of(event_type: str) -> str | None:
    """The payload field that names what an event type is about (`task:*` -> `task.id`),
    from its kind's descriptor (events/kinds.py); for a glob, the first kind it matches."""
    kind = KINDS.get(event_type)
    if kind is None:
        matches = [k for t, k in KINDS.items() if fnmatchcase(t, event_type)]
        kind = matches[0] if matches else None
    return ".".join(kind.subject) if kind is not None and kind.subject else None


class NotifySettings(_Section):
    """The whole `[notify]` section."""

    enabled: bool = True
    public_url: str | None = None
    state_path: str | None = None
    default_rules: bool = True
    tick_s: Duration = 1.0
    incident_ttl_s: Duration = 7 * 86400.0
    telegram: TelegramSettings | None = None
    webhooks: list[WebhookSettings] = Field(default_factory=list)
    rules: list[RuleSettings] = Field(default_factory=list)
    only: list[Moment] | None = None

    @field_validator("public_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        return _check_http_url(value)

    def effective_rules(self) -> list[RuleSettings]:
        """The rules in force: the defaults (unless turned off), or with `only` the built-in
        rules of those moments, each replaced by a same-named rule of one's own."""
        mine = {rule.name: rule for rule in self.rules}
        specs = DEFAULT_RULES
        if self.only is not None:
            wanted = {name for moment in self.only for name in MOMENTS[moment]}
            specs = [spec for spec in [*DEFAULT_RULES, *MOMENT_RULES] if spec["name"] in wanted]
        defaults = [RuleSettings.model_validate(spec) for spec in specs]
        base = [mine.pop(rule.name, rule) for rule in defaults] if self.default_rules else []
        return [rule for rule in [*base, *mine.values()] if rule.enabled]

    @property
    def has_channels(self) -> bool:
        """Whether any message can go anywhere."""
        return self.telegram is not None or bool(self.webhooks)


DEFAULT_RULES: list[dict[str, Any]] = [
    {
        "name": "task-failed",
        "title": "Task failed",
        "severity": "error",
        "on": ["task:*"],
        "when": {"task.status": "failed"},
        "resolve_when": {"task.status": ["completed", "cancelled"]},
    },
    {
        "name": "agent-unhealthy",
        "title": "Agent unhealthy",
        "severity": "error",
        "on": ["agent:status"],
        "when": {"agent.health_status": ["stuck", "crashed"]},
        "resolve_when": {"agent.health_status": "healthy"},
    },
    {
        "name": "agent-silent",
        "title": "No heartbeat",
        "kind": "absence",
        "after_s": 300,
        "when": {"agent.status": "working"},
    },
    {
        "name": "budget-80",
        "title": "Budget above 80%",
        "on": ["budget:updated"],
        "when": {"budget.spent_fraction": {"gte": 0.8}},
        "resolve_when": {"budget.spent_fraction": {"lt": 0.8}},
        "notify_resolved": False,
    },
    {
        "name": "budget-exhausted",
        "title": "Budget exhausted",
        "severity": "error",
        "on": ["budget:updated"],
        "when": {"budget.spent_fraction": {"gte": 1.0}},
        "resolve_when": {"budget.spent_fraction": {"lt": 1.0}},
        "notify_resolved": False,
    },
    {
        # One message per request, with its answers as buttons (Telegram); no rate limit:
        # an agent waits on each one. A session asks one thing at a time, so this is also
        # one message per waiting session. Told resolved by editing the message, not anew.
        "name": "needs-input",
        "title": "Needs input",
        "on": ["approval:*"],
        "subject": "approval.id",
        "when": {"approval.status": "pending"},
        "resolve_when": {"approval.status": ["answered", "expired", "cancelled"]},
        "notify_resolved": False,
        "rate_limit": False,
    },
]
"""The rules in force when harness.toml writes none: useful from the first run."""

MOMENT_RULES: list[dict[str, Any]] = [
    {
        "name": "session-failed",
        "title": "Session failed",
        "severity": "error",
        "on": ["session:ended"],
        "subject": "session.id",
        "when": {"session.status": ["failed", "killed"]},
        "notify_resolved": False,
        "rate_limit": False,
    },
    {
        "name": "session-completed",
        "title": "Session completed",
        "severity": "info",
        "on": ["session:ended"],
        "subject": "session.id",
        "when": {"session.status": "completed"},
        "notify_resolved": False,
        "rate_limit": False,
    },
]
"""Built-in rules in force only when `only` names their moment: one message per session."""

MOMENTS: dict[Moment, tuple[str, ...]] = {
    "needs_input": ("needs-input",),
    "failure": ("session-failed",),
    "completion": ("session-completed",),
}
"""`notify.only`: the moments worth a message, and the built-in rules that tell each. A
session ends once, so failure and completion are told once per session."""


_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def expand_env(text: str) -> str:
    """Replaces `${VAR}` with the environment variable's value, so secrets stay out of files."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise ValueError(f"the environment variable {name} is not set")
        return os.environ[name]

    return _ENV.sub(value, text)


def _check_http_url(value: str | None, *, show: bool = True) -> str | None:
    """The URL without a trailing slash; refuses one that is not http(s), naming it only if
    `show` (a webhook URL is not shown at all: its path may be the secret)."""
    if value is not None and not value.startswith(("http://", "https://")):
        shown = f", not {mask_url(value)!r}" if show else ""
        raise ValueError(f"expected an http:// or https:// URL{shown}")
    return value.rstrip("/") if value else value


def _key(loc: tuple[int | str, ...]) -> str:
    key = "notify"
    for part in loc:
        key += f"[{part}]" if isinstance(part, int) else f".{part}"
    return key


def load_settings(section: Mapping[str, Any] | None) -> NotifySettings:
    """Reads the `[notify]` table; raises NotifyConfigError naming the first bad key."""
    try:
        settings = NotifySettings.model_validate(dict(section or {}))
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown key"
        raise NotifyConfigError(_key(tuple(error["loc"])), message) from None
    _check_telegram(settings.telegram)
    _check_unique([rule.name for rule in settings.rules], "rules", "name")
    _check_unique([hook.url for hook in settings.webhooks], "webhooks", "url")
    return settings


def _check_telegram(telegram: TelegramSettings | None) -> None:
    if telegram is None:
        return
    token = telegram.bot_token()
    if not token:
        raise NotifyConfigError(
            "notify.telegram.token", f"missing: set it, or the variable {telegram.token_env}"
        )
    bot_id, _, secret = token.partition(":")
    if not bot_id.isdigit() or not secret or any(char.isspace() for char in token):
        raise NotifyConfigError("notify.telegram.token", "not a bot token (expected 123456:ABC…)")


def _check_unique(values: list[str], table: str, field: str) -> None:
    """Refuses a repeated value, naming both keys but not the value (it may be a secret URL)."""
    first: dict[str, int] = {}
    for index, value in enumerate(values):
        if value in first:
            raise NotifyConfigError(
                f"notify.{table}[{index}].{field}",
                f"is repeated: the same as notify.{table}[{first[value]}].{field}",
            )
        first[value] = index
