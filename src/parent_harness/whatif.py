"""What-if: a stretch of the log run through candidate health thresholds, budget limits
and alert rules, with no side effect, against what the log says happened.

`replay(bundle, candidate)` takes an incident bundle (hub/bundles.py: the state at the
start and the events) and a `Candidate` (read from a TOML file by `load_candidate`). It
drives the same parts the orchestrator and the notifications run live, each constructed
here on its own, with nothing to send to and nothing to stop:

- `HealthMonitor`/`assess` (orchestrator/health.py) over each session's vitals, rebuilt
  from its events (a heartbeat is a sign of life; an iteration, a tool call or a
  heartbeat with progress is progress; tests running hold off "stuck");
- `BudgetGuard` (orchestrator/budget.py), booking each `session:iteration`'s usage;
- `AlertEngine` and `Gate` (notify/engine.py, gate.py), observing every event.

The clock is the events' timestamps. Between two events nothing changes but time, so the
monitor is checked at the moments a verdict can change (a threshold crossed), and absence
rules are ticked where an agent's silence crosses `after_s`. Live, the orchestrator checks
every `health_interval_s`, so it notices a crossing up to that much later: a session that
ends within that time escapes it live, not here.

What the log says happened: the health notes the orchestrator published (`event` from
`health`), the sessions it stopped (`task:failed` of kind `stuck` or `budget_exceeded`),
its budget notes (`event` from `budget`), and the alerts the notifications logged
(`telegram:message` out; undelivered messages).
"""

from __future__ import annotations

import heapq
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from parent_harness.events.sink import Event
from parent_harness.hub.bundles import Bundle, BundleEvent
from parent_harness.hub.state import State
from parent_harness.notify.config import load_settings
from parent_harness.notify.engine import AlertEngine, Transition
from parent_harness.notify.errors import NotifyConfigError
from parent_harness.notify.gate import Gate, Snoozes
from parent_harness.notify.incidents import IncidentBook
from parent_harness.notify.liveness import Liveness
from parent_harness.notify.rules import Rule, compile_rules
from parent_harness.orchestrator.budget import BudgetGuard, BudgetLevel, Crossing
from parent_harness.orchestrator.config import BudgetConfig, HealthThresholds
from parent_harness.orchestrator.health import HealthMonitor, HealthStatus, Vitals
from parent_harness.orchestrator.signals import TokenUsage

What = Literal["flagged", "killed", "warned", "stopped", "paused", "alerted", "resolved"]


class CandidateError(ValueError):
    """A candidate file that cannot be read or does not validate (names the key)."""


@dataclass(frozen=True)
class Candidate:
    """The settings tried: health thresholds (by agent, else `default_health`), budget
    limits, alert rules."""

    default_health: HealthThresholds = field(default_factory=HealthThresholds)
    health: Mapping[str, HealthThresholds] = field(default_factory=dict)
    budget: BudgetConfig = field(default_factory=BudgetConfig)
    rules: list[Rule] = field(default_factory=list)

    def limits(self, agent: str | None) -> HealthThresholds:
        return self.health.get(agent or "", self.default_health)


def load_candidate(path: str | Path) -> Candidate:
    """Reads a candidate: a harness.toml, or only the tables it tries: `[health]` (every
    agent's thresholds), `[agents.NAME.health]`, `[budget]`, `[notify] rules /
    default_rules`. Channels, commands and the rest are ignored."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CandidateError(f"{path}: {exc}") from None
    return candidate_of(data)


def candidate_of(data: Mapping[str, Any]) -> Candidate:
    """A Candidate from a decoded TOML document (see `load_candidate`)."""
    where = "health"
    try:
        default = HealthThresholds.model_validate(data.get("health") or {})
        health = {}
        for name, agent in (data.get("agents") or {}).items():
            where = f"agents.{name}.health"
            own = (agent or {}).get("health")
            health[name] = default if own is None else HealthThresholds.model_validate(own)
        where = "budget"
        budget = BudgetConfig.model_validate(data.get("budget") or {})
    except (ValidationError, TypeError, ValueError, AttributeError) as exc:
        raise CandidateError(f"{where}: {_first_error(exc)}") from None
    notify = data.get("notify") or {}
    tried = {k: notify[k] for k in ("rules", "default_rules") if k in notify}
    try:
        rules = compile_rules(load_settings(tried).effective_rules())
    except NotifyConfigError as exc:
        raise CandidateError(f"notify: {exc}") from None
    return Candidate(default, health, budget, rules)


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        error = exc.errors(include_url=False)[0]
        loc = ".".join(str(p) for p in error["loc"])
        msg = str(error["msg"]).removeprefix("Value error, ")
        return f"{loc}: {msg}" if loc else msg
    return str(exc)


@dataclass(frozen=True)
class Finding:
    """One thing that was, or would have been, done: `what`, to `subject`, and why."""

    what: What
    source: Literal["health", "budget", "alert"]
    at: str
    seq: int | None
    subject: str
    detail: str


@dataclass
class Report:
    """What the candidate would have done (`would`), and what the log says was done (`was`)."""

    would: list[Finding] = field(default_factory=list)
    was: list[Finding] = field(default_factory=list)
    events: int = 0
    first: str | None = None
    last: str | None = None

    def as_json(self) -> dict[str, Any]:
        counts = {
            side: _counts(findings) for side, findings in (("would", self.would), ("was", self.was))
        }
        return {
            "events": self.events,
            "from": self.first,
            "to": self.last,
            "counts": counts,
            "would": [asdict(f) for f in self.would],
            "was": [asdict(f) for f in self.was],
        }

    def table(self) -> str:
        """The report for people: counts side by side, then each finding."""
        would, was = _counts(self.would), _counts(self.was)
        rows = [("", "would", "was")]
        keys = sorted(set(would) | set(was))
        rows += [(k, str(would.get(k, 0)), str(was.get(k, 0))) for k in keys]
        width = max(len(r[0]) for r in rows)
        out = [f"{self.events} events, {self.first or '-'} to {self.last or '-'}", ""]
        out += [f"{a:<{width}}  {b:>6}  {c:>6}" for a, b, c in rows]
        if not keys:
            out.append("nothing flagged, stopped or alerted, by either")
        for title, findings in (("Would have", self.would), ("Was", self.was)):
            if findings:
                out += ["", f"{title}:"]
                out += [
                    f"  {f.at}  seq {f.seq if f.seq is not None else '-':<6} {f.what:<8} "
                    f"{f.subject}: {f.detail}"
                    for f in findings
                ]
        return "\n".join(out) + "\n"


def _counts(findings: Iterable[Finding]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for f in findings:
        key = f"{f.source} {f.what}"
        counts[key] = counts.get(key, 0) + 1
    return counts


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


_ENDED = frozenset({"completed", "failed", "killed"})
"""A session's statuses once its process is gone."""


@dataclass
class _Session:
    agent: str | None
    task: str | None
    vitals: Vitals


class _Health:
    """The candidate's health checks over the sessions the events show. Each session's
    next crossings (stale, crashed, stuck) wait in a heap, tagged with the version of its
    vitals they were computed from: a change of vitals makes the older ones stale."""

    def __init__(self, candidate: Candidate, report: Report) -> None:
        self.candidate, self.report = candidate, report
        self.monitor = HealthMonitor()
        self.sessions: dict[str, _Session] = {}
        self._due: list[tuple[float, str, int]] = []
        self._version: dict[str, int] = {}

    def seed(self, start: State, now: float) -> None:
        for sid, s in start.sessions.items():
            if s.get("status") not in _ENDED:
                self._track(sid, _Session(s.get("agent_id"), s.get("task_id"), Vitals(now, now)))

    def _track(self, sid: str, session: _Session) -> None:
        self.sessions[sid] = session
        self._changed(sid)

    def _changed(self, sid: str) -> None:
        """The session's vitals changed: its crossings from now on."""
        version = self._version[sid] = self._version.get(sid, 0) + 1
        s = self.sessions[sid]
        limits, v = self.candidate.limits(s.agent), s.vitals
        times = [v.last_heartbeat + limits.stale_after_s, v.last_heartbeat + limits.crashed_after_s]
        if limits.stuck_after_s and not v.testing:
            times.append(v.last_progress + limits.stuck_after_s)
        for t in times:
            heapq.heappush(self._due, (t, sid, version))

    def until(self, now: float, seq: int | None) -> None:
        """Checks, in time order, every crossing before `now` of a session still tracked."""
        while self._due and self._due[0][0] < now:
            moment, sid, version = heapq.heappop(self._due)
            if sid in self.sessions and self._version.get(sid) == version:
                self._check(sid, moment, seq)

    def _check(self, sid: str, now: float, seq: int | None) -> None:
        s = self.sessions[sid]
        limits = self.candidate.limits(s.agent)
        verdict = self.monitor.check(sid, s.vitals, limits, now)
        if verdict is None or verdict.status is HealthStatus.HEALTHY:
            return
        subject = f"session {sid} (agent {s.agent})"
        self.report.would.append(
            Finding(
                "flagged", "health", _iso(now), seq, subject, f"{verdict.status}: {verdict.reason}"
            )
        )
        if verdict.status is HealthStatus.STUCK and limits.kill_on_stuck:
            self.report.would.append(
                Finding("killed", "health", _iso(now), seq, subject, "kill_on_stuck")
            )
            self._end(sid)

    def _end(self, sid: str) -> None:
        self.sessions.pop(sid, None)
        self._version.pop(sid, None)
        self.monitor.forget(sid)

    def observe(self, ev: BundleEvent, now: float) -> None:
        p, t = ev.payload, ev.type
        if t == "session:started":
            s = p.get("session") or {}
            self._track(str(s.get("id")), _Session(s.get("agent_id"), s.get("task_id"),
                                                   Vitals(now, now)))  # fmt: skip
            return
        if t == "session:ended" or (
            t == "session:updated" and (p.get("session") or {}).get("status") in _ENDED
        ):
            self._end(str((p.get("session") or {}).get("id")))
            return
        sid = p.get("session_id") or (p.get("test_run") or {}).get("session_id")
        s = self.sessions.get(str(sid)) if sid else None
        if s is None:
            return
        if t in ("session:iteration", "session:tool") or (
            t == "session:heartbeat" and p.get("progress_percent") is not None
        ):
            s.vitals.advance(now)
        elif t in ("session:heartbeat", "session:output"):
            s.vitals.beat(now)
        elif t.startswith("test:"):
            s.vitals.testing = t == "test:started"
            s.vitals.advance(now)
        else:
            return
        self.monitor.check(str(sid), s.vitals, self.candidate.limits(s.agent), now)
        self._changed(str(sid))


class _Budget:
    """The candidate's budget limits over the usage the iterations booked."""

    def __init__(self, candidate: Candidate, report: Report, clock: Callable[[], float]) -> None:
        self.config, self.report = candidate.budget, report
        self.clock = clock
        self.guard = BudgetGuard(self.config, today=self._day, clock=clock)

    def _day(self) -> str:
        return datetime.fromtimestamp(self.clock(), UTC).strftime("%Y-%m-%d")

    def seed(self, start: State) -> None:
        self.guard.restore(start.budget, start.tasks.values())

    def observe(self, ev: BundleEvent) -> None:
        p = ev.payload
        if ev.type.startswith("task:") and isinstance(
            (p.get("task") or {}).get("limit_usd"), float
        ):
            self.guard.set_task_limit(str(p["task"]["id"]), p["task"]["limit_usd"])
        if ev.type != "session:iteration" or not p.get("token_usage"):
            return
        usage = TokenUsage.from_payload(p["token_usage"])
        agent, task = str(p.get("agent_id")), str(p.get("task_id"))
        for crossing in self.guard.record(agent, task, usage):
            self._crossed(crossing, ev)

    def _crossed(self, c: Crossing, ev: BundleEvent) -> None:
        at, subject = ev.timestamp, f"task {c.task_id}" if c.scope == "task" else "the day"
        if c.level is BudgetLevel.WARNING:
            self.report.would.append(Finding("warned", "budget", at, ev.seq, subject, c.message))
            return
        on = self.config.on_task_limit if c.scope == "task" else self.config.on_limit
        what: What = "stopped" if on == "stop" else "paused"
        self.report.would.append(Finding(what, "budget", at, ev.seq, subject, c.message))


class _Alerts:
    """The candidate's alert rules: the engine and the gate, with nothing to send to."""

    def __init__(self, candidate: Candidate, report: Report) -> None:
        self.report = report
        self.engine = AlertEngine(candidate.rules, IncidentBook(), Liveness())
        self.gate = Gate(Snoozes())
        self._ticked = float("-inf")

    def seed(self, start: State, now: float) -> None:
        self.engine.liveness.seed(start.agents, start.sessions, now)

    def until(self, now: float, seq: int | None) -> None:
        """Ticks where an agent's silence crosses an absence rule's `after_s`."""
        rules = [r for r in self.engine.rules.values() if r.kind == "absence"]
        # A moment at or before the last call's `now` was ticked then: an agent's
        # `last_seen` only moves to an event's time, so its new moments come later.
        moments = {
            life.last_seen + r.after_s
            for life in self.engine.liveness.agents.values()
            for r in rules
            if self._ticked < life.last_seen + r.after_s < now
        }
        for moment in sorted(moments):
            self._decide(self.engine.tick(moment), moment)
        self._ticked = max(self._ticked, now - 1e-9)

    def observe(self, ev: BundleEvent, now: float) -> None:
        event = Event(ev.seq, ev.type, ev.payload, ev.timestamp)
        self._decide(self.engine.observe(event, now), now)

    def _decide(self, transitions: list[Transition], now: float) -> None:
        for tr in transitions:
            if self.gate.decide(tr, now) != "announce":
                continue
            tr.incident.announced, tr.incident.last_announced_at = True, now
            what: What = "alerted" if tr.kind == "opened" else "resolved"
            detail = f"rule {tr.rule.name} ({tr.rule.severity}): {tr.rule.title}"
            subject = f"{tr.rule.entity or 'subject'} {tr.incident.subject}"
            self.report.would.append(
                Finding(what, "alert", _iso(now), tr.about_seq, subject, detail)
            )


def _actual(ev: BundleEvent) -> Finding | None:
    """What the log says was done at this event, if anything."""
    p, at = ev.payload, ev.timestamp
    if ev.type == "task:failed":
        task = p.get("task") or {}
        kind = (task.get("error_details") or {}).get("kind")
        subject = f"task {task.get('id')}"
        if kind == "stuck":
            return Finding("killed", "health", at, ev.seq, subject, "stopped as stuck")
        if kind == "budget_exceeded":
            return Finding("stopped", "budget", at, ev.seq, subject, "stopped at its budget")
        return None
    if ev.type == "telegram:message":
        msg = p.get("message") or {}
        if msg.get("direction") == "out":
            text = str(msg.get("text") or "").splitlines()
            return Finding(
                "alerted", "alert", at, ev.seq, "telegram", text[0][:120] if text else ""
            )
        return None
    if ev.type != "event":
        return None
    note = p.get("event") or {}
    source, data = note.get("source"), note.get("data") or {}
    message = str(note.get("message") or "")
    if source == "health" and data.get("health_status") not in (None, "healthy"):
        subject = f"session {data.get('session_id')} (agent {data.get('agent_id')})"
        return Finding("flagged", "health", at, ev.seq, subject, message)
    if source == "budget":
        scope = data.get("scope")
        subject = f"task {data.get('task_id')}" if scope == "task" else "the day"
        what: What = "warned" if note.get("level") == "warning" else "paused"
        if what == "paused" and "stopped" in message:  # the orchestrator's own words
            what = "stopped"
        return Finding(what, "budget", at, ev.seq, subject, message)
    return None


def replay(bundle: Bundle, candidate: Candidate) -> Report:
    """Runs the bundle's events through the candidate (see the module docstring)."""
    report = Report(events=len(bundle.events))
    if not bundle.events:
        return report
    origin = bundle.events[0].ts_ms / 1000
    clock = [origin]
    health = _Health(candidate, report)
    budget = _Budget(candidate, report, lambda: clock[0])
    alerts = _Alerts(candidate, report)
    health.seed(bundle.start, origin)
    budget.seed(bundle.start)
    alerts.seed(bundle.start, origin)
    for ev in bundle.events:
        now = max(clock[0], ev.ts_ms / 1000)
        health.until(now, ev.seq)
        alerts.until(now, ev.seq)
        clock[0] = now
        health.observe(ev, now)
        budget.observe(ev)
        alerts.observe(ev, now)
        found = _actual(ev)
        if found is not None:
            report.was.append(found)
    end = clock[0] + 1e-6  # what was crossed by the last event's time, not after it
    health.until(end, None)
    alerts.until(end, None)
    report.first, report.last = bundle.events[0].timestamp, bundle.events[-1].timestamp
    return report
