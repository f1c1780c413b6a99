"""Current state, folded from the events: the reducer every ingest goes through.

`State.fold` merges one validated (possibly partial) payload into the entities it
names and returns the payload as it goes out (entities whole) and the rows the
store must write. It does no I/O, so it is tested without a database.

The ingest keeps two: the state it folds into when an event gets its seq (ahead of the
store, for the write path), and the state clients are shown, which `apply`s each event's
rows once the event is committed and dispatched, so a client never sees what a crash could
take back. An entity dict is never changed once it is in a table (a fold puts a new one),
so both share the rows, and `apply` costs a dict assignment per row, not a second fold.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from parent_harness.events.catalogue import (
    Agent,
    Approval,
    Budget,
    Session,
    Strict,
    Task,
    TestRun,
    Worker,
    Workspace,
)
from parent_harness.events.kinds import KINDS
from parent_harness.store.records import Change

Entity = dict[str, Any]

ACTIVE_TASK = frozenset({"pending", "queued", "blocked", "assigned", "running", "testing"})
ACTIVE_SESSION = frozenset({"running", "waiting_input"})
_DEEP_MERGED = frozenset({"token_usage"})
_ENTITY_KINDS = frozenset(
    {"agent", "task", "session", "test_run", "budget", "approval", "workspace", "worker"}
)
"""The rows of a fold that are state (the others, `api_call` and such, are only stored)."""
_RECENT_TEST_RUNS = 2000


def _blank(model: type[Strict]) -> Entity:
    return dict.fromkeys(model.model_fields)


_BLANK = {
    "agent": _blank(Agent),
    "task": _blank(Task),
    "session": _blank(Session),
    "test_run": _blank(TestRun),
    "budget": _blank(Budget),
    "approval": _blank(Approval),
    "workspace": _blank(Workspace),
    "worker": _blank(Worker),
}
_TASK_DEFAULTS: Entity = {
    "status": "pending",
    "priority": 0,
    "attempts": 0,
    "max_attempts": 1,
    "progress_percent": 0.0,
}


@dataclass(slots=True)
class Folded:
    """The outcome of folding one event."""

    payload: dict[str, Any]
    changes: list[Change] = field(default_factory=list)


def _given(fields: dict[str, Any]) -> dict[str, Any]:
    """The fields given a value: an explicit null keeps the default (the store keeps a
    value for each, and a null there would stop every later write)."""
    return {key: value for key, value in fields.items() if value is not None}


def merge(current: Entity | None, update: Entity, kind: str) -> Entity:
    """Merges a partial entity into the current one; `token_usage` merges key by key."""
    merged = dict(current) if current is not None else dict(_BLANK[kind])
    for key, value in update.items():
        if key in _DEEP_MERGED and isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


class State:
    """Every agent, task, session, workspace, worker and budget period as of `seq`."""

    def __init__(self) -> None:
        self.seq = 0
        self.agents: dict[str, Entity] = {}
        self.tasks: dict[str, Entity] = {}
        self.sessions: dict[str, Entity] = {}
        self.budgets: dict[str, Entity] = {}
        self.test_runs: OrderedDict[str, Entity] = OrderedDict()
        self.approvals: dict[str, Entity] = {}
        self.workspaces: dict[str, Entity] = {}
        self.workers: dict[str, Entity] = {}
        self._budget_period: str | None = None
        self._tables: dict[str, dict[str, Entity]] = {
            "agent": self.agents,
            "task": self.tasks,
            "session": self.sessions,
            "test_run": self.test_runs,
            "approval": self.approvals,
            "workspace": self.workspaces,
            "worker": self.workers,
        }

    @property
    def budget(self) -> Entity | None:
        """The budget period updated last (the one the dashboard shows)."""
        return self.budgets.get(self._budget_period) if self._budget_period else None

    def load(self, kind: str, rows: Iterable[Entity]) -> None:
        """Restores entities read back from the store."""
        for row in rows:
            self._put(kind, row)

    def _put(self, kind: str, row: Entity) -> None:
        if kind == "budget":
            self.budgets[row["period"]] = row
            self._budget_period = row["period"]
        else:
            self._tables[kind][row["id"]] = row

    def dump(self) -> dict[str, Any]:
        """Every table as lists of entities, in order, and the seq: what a checkpoint keeps
        (entities are never changed in place, so the lists may be encoded later, elsewhere)."""
        tables = {kind: list(table.values()) for kind, table in self._tables.items()}
        tables["budget"] = list(self.budgets.values())
        return {"seq": self.seq, "tables": tables, "budget_period": self._budget_period}

    @classmethod
    def restore(cls, dumped: dict[str, Any]) -> State:
        """A State from `dump()` (a checkpoint read back)."""
        state = cls()
        for kind, rows in dumped["tables"].items():
            if kind == "budget":
                state.budgets.update((row["period"], row) for row in rows)
            elif kind in state._tables:
                state._tables[kind].update((row["id"], row) for row in rows)
        state._budget_period = dumped.get("budget_period")
        state.seq = int(dumped["seq"])
        return state

    def apply(self, seq: int, changes: Iterable[Change]) -> None:
        """Takes an event's entities as another State folded them (its `changes`): what a
        fold of the same event would give this state, without folding again."""
        self.seq = seq
        for change in changes:
            kind = change.table
            if kind in _ENTITY_KINDS:
                self._put(kind, change.row)
                if kind == "test_run":
                    self.test_runs.move_to_end(change.row["id"])
                    _trim_test_runs(self.test_runs)

    def fold(self, type_: str, payload: dict[str, Any], seq: int, ts: str) -> Folded:
        """Folds one validated event (seq already assigned) into state."""
        self.seq = seq
        fold = _FOLDS.get(type_)
        return fold(self, payload, seq, ts) if fold else Folded(payload)

    def _entity(self, kind: str, payload: dict[str, Any], seq: int, ts: str) -> Folded:
        update = payload[kind]
        table = self._tables[kind]
        merged = merge(table.get(update["id"]), update, kind)
        if kind == "session" and merged["started_at"] is None:
            merged["started_at"] = ts
        table[update["id"]] = merged
        return Folded({**payload, kind: merged}, [Change(kind, merged)])

    def _task(self, payload: dict[str, Any], seq: int, ts: str) -> Folded:
        update = dict(payload["task"])
        current = self.tasks.get(update["id"])
        if current is None:
            update = {**_TASK_DEFAULTS, "created_at": ts, **update}
        for key in _TASK_DEFAULTS.keys() & update.keys():
            if update[key] is None:  # never cleared: the task queue keeps each one
                update[key] = (current or _TASK_DEFAULTS)[key]
        if isinstance(update.get("error_details"), dict):  # when and by which event it was set
            update["error_details"] = {"at": ts, "seq": seq, **update["error_details"]}
        if "updated_at" not in payload["task"]:
            update["updated_at"] = ts
        merged = merge(current, update, "task")
        self.tasks[merged["id"]] = merged
        # The status it had lets a subscriber keep exact counts per status (the dashboard's
        # glance strip) without holding every task.
        previous = current["status"] if current is not None else None
        out = {**payload, "task": merged, "previous_status": previous}
        return Folded(out, [Change("task", merged)])

    def _approval(self, payload: dict[str, Any], seq: int, ts: str) -> Folded:
        """An approval changes only while it is pending: the first answer (or expiry) in
        the log's order stands, and a later one carries the approval as it stands."""
        current = self.approvals.get(payload["approval"]["id"])
        if current is not None and current.get("status") not in (None, "pending"):
            return Folded({**payload, "approval": current})
        if current is None and payload["approval"].get("status") is None:
            # First seen without a status (a producer that only asks): it waits for an answer.
            asked = {**payload["approval"], "status": "pending"}
            asked["requested_at"] = asked.get("requested_at") or ts
            payload = {**payload, "approval": asked}
        return self._entity("approval", payload, seq, ts)

    def _test_run(self, payload: dict[str, Any], seq: int, ts: str) -> Folded:
        update = payload["test_run"]
        merged = merge(self.test_runs.get(update["id"]), update, "test_run")
        self.test_runs[merged["id"]] = merged
        self.test_runs.move_to_end(merged["id"])
        _trim_test_runs(self.test_runs)
        return Folded({**payload, "test_run": merged}, [Change("test_run", merged)])

    def _budget(self, payload: dict[str, Any], seq: int, ts: str) -> Folded:
        update = payload["budget"]
        merged = merge(self.budgets.get(update["period"]), update, "budget")
        self.budgets[merged["period"]] = merged
        self._budget_period = merged["period"]
        return Folded({**payload, "budget": merged}, [Change("budget", merged)])

    def attempts(self, task_id: str) -> list[Entity]:
        """A task's workspaces, one per attempt, in attempt order."""
        found = [w for w in self.workspaces.values() if w["task_id"] == task_id]
        return sorted(found, key=lambda w: (w["attempt"] or 0, w["created_at"] or ""))

    def _session_owner(self, session_id: str | None) -> dict[str, Any]:
        session = self.sessions.get(session_id or "")
        if session is None:
            return {}
        return {"agent_id": session["agent_id"], "task_id": session["task_id"]}

    def _iteration(self, payload: dict[str, Any], seq: int, ts: str) -> Folded:
        out = {**payload, **self._session_owner(payload["session_id"])}
        changes: list[Change] = []
        session = self.sessions.get(payload["session_id"])
        if session is not None:
            session = {**session, "iteration": max(session["iteration"] or 0, payload["iteration"])}
            self.sessions[session["id"]] = session
            changes.append(Change("session", session))
        usage = payload.get("token_usage")
        if usage:
            changes.append(Change("api_call", {"seq": seq, "at": ts, **out, **usage}))
        return Folded(out, changes)

    def _session_heartbeat(self, payload: dict[str, Any], seq: int, ts: str) -> Folded:
        return Folded({"at": ts, **payload, **self._session_owner(payload["session_id"])})

    def _output(self, payload: dict[str, Any], seq: int, ts: str) -> Folded:
        """Lines of output: counted on their session (made if unknown: output means it
        runs), kept as one chunk row that the store bounds per session (issue 16)."""
        session_id = payload["session_id"]
        session = self.sessions.get(session_id)
        if session is None:
            known = {k: payload[k] for k in ("agent_id", "task_id") if payload.get(k)}
            session = merge(None, {"id": session_id, "started_at": ts, **known}, "session")
        owner = {k: session[k] for k in ("agent_id", "task_id") if session.get(k)}
        lines = [line if "at" in line else {**line, "at": ts} for line in payload["lines"]]
        out = {**payload, **owner, "lines": lines}
        last = payload["from_line"] + len(lines) - 1
        size = sum(len(line["text"].encode()) for line in lines)
        total = (session.get("output_bytes") or 0) + size
        session = {
            **session,
            "output_lines": max(session.get("output_lines") or 0, last),
            "output_bytes": total,
        }
        self.sessions[session_id] = session
        chunk = {
            "session_id": session_id,
            "from_line": payload["from_line"],
            "to_line": last,
            "at": ts,
            "total_bytes": total,
            "dropped": payload.get("dropped") or 0,
            "lines": lines,
        }
        return Folded(out, [Change("session", session), Change("session_output", chunk)])

    def _agent_heartbeat(self, payload: dict[str, Any], seq: int, ts: str) -> Folded:
        out = {"at": ts, **payload}
        agent = self.agents.get(payload["agent_id"])
        if agent is None:
            return Folded(out)
        agent = {**agent, "last_heartbeat_at": out["at"]}
        if payload.get("iteration") is not None:
            agent["current_iteration"] = payload["iteration"]
        self.agents[agent["id"]] = agent
        return Folded(out, [Change("agent", agent)])

    def _telegram(self, payload: dict[str, Any], seq: int, ts: str) -> Folded:
        message = {"at": ts, **_given(payload["message"])}
        return Folded({"message": message}, [Change("telegram_message", {"seq": seq, **message})])

    def _generic(self, payload: dict[str, Any], seq: int, ts: str) -> Folded:
        event = {
            "id": f"evt-{seq}",
            "source": None,
            "data": None,
            "level": "info",
            **_given(payload["event"]),
        }
        return Folded({"event": event}, [Change("generic_event", {"seq": seq, **event})])


def _trim_test_runs(runs: OrderedDict[str, Entity]) -> None:
    while len(runs) > _RECENT_TEST_RUNS:
        runs.popitem(last=False)


def _agent(state: State, payload: dict[str, Any], seq: int, ts: str) -> Folded:
    return state._entity("agent", payload, seq, ts)


def _session(state: State, payload: dict[str, Any], seq: int, ts: str) -> Folded:
    return state._entity("session", payload, seq, ts)


def _workspace(state: State, payload: dict[str, Any], seq: int, ts: str) -> Folded:
    return state._entity("workspace", payload, seq, ts)


def _worker(state: State, payload: dict[str, Any], seq: int, ts: str) -> Folded:
    return state._entity("worker", payload, seq, ts)


_Fold = Callable[[State, dict[str, Any], int, str], Folded]

_BY_ENTITY: dict[str | None, _Fold] = {
    "agent": _agent,
    "task": State._task,
    "session": _session,
    "test_run": State._test_run,
    "budget": State._budget,
    "approval": State._approval,
    "workspace": _workspace,
    "worker": _worker,
}
"""How an event carrying each entity (its kind's `entity`, events/kinds.py) folds."""

_BY_TYPE: dict[str, _Fold] = {
    "session:iteration": State._iteration,
    "session:heartbeat": State._session_heartbeat,
    "session:tool": State._session_heartbeat,  # names its session: the owner is added alike
    "session:output": State._output,
    "agent:heartbeat": State._agent_heartbeat,
    "telegram:message": State._telegram,
    "event": State._generic,
}
"""Kinds that fold in a way of their own."""

_FOLDS: dict[str, _Fold] = {
    type_: fold
    for type_, kind in KINDS.items()
    if (fold := _BY_TYPE.get(type_) or _BY_ENTITY.get(kind.entity)) is not None
}
"""Each event type's fold, by its kind's descriptor; a type with none passes through."""
