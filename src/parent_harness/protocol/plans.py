"""How a /ws client joins the stream, sans I/O: the order of welcome, catch-up, replay,
reset, snapshot and attach, at connect and on a `subscribe`.

A plan is a tuple of steps, plain data computed from plain inputs: the connect parameters
or the `subscribe` frame, the rooms a connection is in, and the log's answer to "can a
replay from `since` be complete" (a `History`: the hub's node, or a stand-in in tests).
`web/ws.py` carries the steps out in order and decides nothing.

The invariants that make delivery gapless and without duplicates (docs/protocol.md):

- `welcome` comes first. With `since`, the node then catches up to it (a client failing
  over from a node a little ahead), and only then is the log asked about a gap.
- `since` with a complete history: one `Replay` that attaches the client held at the cut,
  sends every event of its rooms after `since` up to the cut, then `replayed`, then
  releases what came live meanwhile. Each event goes out once.
- `since` without a complete history: `reset`, never a partial replay; then as if the
  client had given no `since`.
- `snapshot=1`: the snapshot, then `Attach` right after the snapshot's seq, the two steps
  next to each other so that the executor does not await between them: nothing is
  dispatched between taking the snapshot and attaching.
- Otherwise: attach at the hub's current seq.
- A `subscribe` with `since` replays only rooms the connection is not in yet (it has the
  others' events live); without a complete history, `reset` and a plain join.
"""

from __future__ import annotations

import enum
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Protocol

from parent_harness.protocol.connection import BadRequest, ConnectParams, check_room_limit


class History(Protocol):
    """The log's one answer a plan needs; `hub.node.Node` is one."""

    def replay_gap(self, since: int, epoch: str | None) -> str | None:
        """Why a replay from `since` cannot be complete, or None when it can."""


class After(enum.Enum):
    """Where live delivery starts for an `Attach`."""

    SNAPSHOT = "snapshot"
    """Right after the seq of the snapshot sent just before."""
    NOW = "now"
    """Right after the hub's current seq."""


@dataclass(frozen=True, slots=True)
class SendWelcome:
    rooms: tuple[str, ...]
    heartbeat_s: float


@dataclass(frozen=True, slots=True)
class CatchUp:
    """Wait (a moment, on a shared order) for this node's log to reach `seq`."""

    seq: int


@dataclass(frozen=True, slots=True)
class SendReset:
    """`reset` {reason, seq, epoch}: the client must reload its state."""

    reason: str


@dataclass(frozen=True, slots=True)
class Replay:
    """Every event of `rooms` after `since` up to the cut, then `replayed`, then live.

    Carried out as: cut at the hub's seq (`cut`), hold the client, attach it after the
    cut (`attach`) or join it to `rooms` (a subscribe), send the history in pages, send
    `replayed` (`done`), release what came live meanwhile.
    """

    rooms: tuple[str, ...]
    since: int
    attach: bool

    def cut(self, seq: int) -> int:
        """The last seq replayed when the hub is at `seq`; live delivery resumes after it."""
        return max(seq, self.since)

    def done(self, cut: int, count: int) -> dict[str, Any]:
        """The payload of `replayed` after `count` events up to `cut`."""
        return {"from_seq": self.since + 1, "to_seq": cut, "count": count}


@dataclass(frozen=True, slots=True)
class SendSnapshot:
    """`snapshot`: committed state as of the last dispatched seq."""


@dataclass(frozen=True, slots=True)
class Attach:
    """Register the client live in `rooms`, with events after `after`."""

    rooms: tuple[str, ...]
    after: After


@dataclass(frozen=True, slots=True)
class Join:
    """Add `rooms` to a client already live."""

    rooms: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SendSubscribed:
    """`subscribed` {rooms, clients_per_room}."""

    rooms: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SendError:
    """`error` {code, message}; the connection stays up."""

    code: str
    message: str


Step = (
    SendWelcome
    | CatchUp
    | SendReset
    | Replay
    | SendSnapshot
    | Attach
    | Join
    | SendSubscribed
    | SendError
)
Plan = tuple[Step, ...]


def plan_welcome(params: ConnectParams, heartbeat_s: float) -> Plan:
    """A connection's first steps: `welcome`, then, with `since`, catching up to it.

    The log is asked about a gap only after these (`plan_start`).
    """
    welcome = SendWelcome(params.rooms, heartbeat_s)
    return (welcome,) if params.since is None else (welcome, CatchUp(params.since))


def plan_start(params: ConnectParams, history: History) -> Plan:
    """After `plan_welcome`: a replay from `since`, or a reset, then a snapshot or not."""
    if params.since is None:
        return _go_live(params)
    gap = history.replay_gap(params.since, params.epoch)
    if gap is None:
        return (Replay(params.rooms, params.since, attach=True),)
    return (SendReset(gap), *_go_live(params))


def _go_live(params: ConnectParams) -> Plan:
    if params.snapshot:
        return (SendSnapshot(), Attach(params.rooms, After.SNAPSHOT))
    return (Attach(params.rooms, After.NOW),)


def plan_subscribe(
    rooms: tuple[str, ...],
    since: int | None,
    *,
    joined: Collection[str],
    max_rooms: int,
    allowed: bool,
    history: History,
) -> Plan:
    """A `subscribe` to `rooms` by a connection in `joined`: the new rooms are replayed
    from `since` when the log still holds it, else joined (after a `reset` when `since`
    could not be honoured); then `subscribed`. `allowed`: the token may read `rooms`."""
    if not allowed:
        return (SendError("forbidden", "a room is not allowed for this token"),)
    new = tuple(r for r in rooms if r not in joined)  # O(1) a room: see hub SMALL_ROOMS
    try:
        check_room_limit(len(joined), len(new), max_rooms)
    except BadRequest as exc:
        return (SendError(exc.code, exc.message),)
    return (*_join(new, since, history), SendSubscribed(rooms))


def _join(new: tuple[str, ...], since: int | None, history: History) -> Plan:
    if not new:
        return ()
    if since is None:
        return (Join(new),)
    gap = history.replay_gap(since, None)
    if gap is None:
        return (Replay(new, since, attach=False),)
    return (SendReset(gap), Join(new))
