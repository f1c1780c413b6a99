"""`GET /ws`: the thin I/O adapter around the sans-I/O protocol and the hub's fan-out."""

from __future__ import annotations

import asyncio
import logging
import time
from functools import partial
from typing import Any

from aiohttp import WSMessage, WSMsgType, web
from aiohttp.abc import AbstractStreamWriter

from parent_harness import __version__
from parent_harness.hub.fanout import Subscriber, Transport
from parent_harness.hub.node import Node
from parent_harness.problems import problem
from parent_harness.protocol import connection as p
from parent_harness.protocol import plans
from parent_harness.protocol.frames import batch, text_frame
from parent_harness.protocol.types import TypeFilter
from parent_harness.web.auth import WORKER, Grant, Tokens, presented_token
from parent_harness.web.keys import NODE, SETTINGS, SITES, SOCKETS, TOKENS
from parent_harness.web.messages import error, message

log = logging.getLogger(__name__)

REPLAY_CHUNK = 500
SLOW_CLOSE_GRACE_S = 5.0
SLOW_CLIENT_GRACE_S = 5.0
"""How long a replay waits for a client that takes nothing before closing it 4408."""


async def ws_handler(request: web.Request) -> web.StreamResponse:
    """Accepts a client, streams its rooms to it, and answers its frames until it goes."""
    # A page of another site must not read the stream (cross-site WebSocket hijacking):
    # refused before the upgrade, so the page's socket only ever sees a failed handshake.
    foreign = request.app[SITES].refusal(request.headers, state_changing=True)
    if foreign is not None:
        log.warning("refused a WebSocket: %s", foreign)
        return problem(403, "forbidden_site", foreign)
    settings = request.app[SETTINGS]
    ws = web.WebSocketResponse(
        protocols=("harness.v1",),  # a browser fails the socket unless one offered is picked
        compress=False,
        max_msg_size=settings.max_frame_bytes,
        autoping=False,  # ping and pong frames are answered and counted here: web/heartbeat.py
        timeout=5.0,
    )
    refusal, params, grant = _admit(request, request.app[TOKENS])
    if refusal is None and params is not None:
        refusal = _too_many_rooms(params.rooms, settings.max_rooms_per_client)
    writer = await ws.prepare(request)
    if refusal is not None:
        await ws.close(code=refusal[0], message=refusal[1].encode()[:120])
        return ws
    assert params is not None and grant is not None
    node = request.app[NODE]
    transport = request.transport
    assert transport is not None
    sub = Subscriber(
        transport,
        name=params.client,
        types=TypeFilter(params.types) if params.types else None,
        max_buffer=settings.max_client_buffer,
        on_slow=partial(_close_slow, ws),
    )
    session = p.ClientSession(settings.max_messages_per_s, 2 * settings.max_messages_per_s)
    sockets = request.app[SOCKETS]
    sockets.add(ws)
    try:
        await _start(node, sub, params, settings.heartbeat_s, writer)
        del params  # only needed to start; an idle connection keeps this frame's locals
        # The read loop lives here, not in a helper coroutine: every idle connection keeps
        # this frame, and one frame less is memory saved per connection (docs/benchmarks.md).
        async for msg in ws:
            sub.pinged = False  # heard from: the heartbeat keeps it
            action = _action(session, msg)
            if action is None:
                break
            if isinstance(action, p.Overrate):
                await ws.close(code=p.CLOSE_TOO_MANY, message=action.message.encode())
                break
            await _act(node, sub, grant, action, writer, settings.max_rooms_per_client)
    finally:
        node.hub.detach(sub)
        sockets.discard(ws)
    return ws


def _admit(
    request: web.Request, tokens: Tokens
) -> tuple[tuple[int, str] | None, p.ConnectParams | None, Grant | None]:
    """Checks parameters and token before anything is sent: (close code and reason) or params."""
    try:
        params = p.parse_connect(request.query)
    except p.BadRequest as exc:
        return (p.CLOSE_BAD_PARAMS, exc.message), None, None
    grant = tokens.grant(presented_token(request))
    if grant is None:
        return (p.CLOSE_UNAUTHORIZED, "missing or wrong token"), None, None
    if grant.role == WORKER:  # a worker reads its commands over REST (web/workers.py)
        return (p.CLOSE_FORBIDDEN, "a worker token cannot subscribe"), None, None
    if not grant.allows_rooms(params.rooms):
        return (p.CLOSE_FORBIDDEN, "a room is not allowed for this token"), None, None
    return None, params, grant


def _too_many_rooms(rooms: tuple[str, ...], limit: int) -> tuple[int, str] | None:
    """A connect asking for more rooms than a connection may be in: 4400, and why."""
    try:
        p.check_room_limit(0, len(rooms), limit)
    except p.BadRequest as exc:
        return p.CLOSE_BAD_PARAMS, exc.message
    return None


async def _start(
    node: Node,
    sub: Subscriber,
    params: p.ConnectParams,
    heartbeat_s: float,
    writer: AbstractStreamWriter,
) -> None:
    """Welcome, then a replay (`since`) or a snapshot, then live: protocol/plans.py decides."""
    await _execute(node, sub, plans.plan_welcome(params, heartbeat_s), writer)
    await _execute(node, sub, plans.plan_start(params, node), writer)


async def _execute(
    node: Node, sub: Subscriber, plan: plans.Plan, writer: AbstractStreamWriter
) -> None:
    """Carries out the steps of a plan in order; only `CatchUp` and `Replay` await."""
    hub = node.hub
    snapshot_seq = hub.seq
    for step in plan:
        if isinstance(step, plans.CatchUp):
            await node.catch_up(step.seq)
        elif isinstance(step, plans.Replay):
            await _replay(node, sub, step, writer)
        elif isinstance(step, plans.SendSnapshot):
            # The snapshot is committed state as of the last dispatched seq, and nothing is
            # dispatched between taking it and attaching (no await: the plan puts its Attach
            # next): live starts right after it.
            snap = node.snapshot()
            sub.send(message("snapshot", snap))
            snapshot_seq = snap["seq"]
        elif isinstance(step, plans.Attach):
            after = snapshot_seq if step.after is plans.After.SNAPSHOT else hub.seq
            hub.attach(sub, step.rooms, after_seq=after)
        elif isinstance(step, plans.Join):
            hub.join(sub, step.rooms)
        else:
            sub.send(_message(node, sub, step))


def _message(
    node: Node,
    sub: Subscriber,
    step: plans.SendWelcome | plans.SendReset | plans.SendSubscribed | plans.SendError,
) -> bytes:
    """The message a sending step sends, filled in with the hub's current values."""
    if isinstance(step, plans.SendWelcome):
        return _welcome(node, sub, step)
    if isinstance(step, plans.SendReset):
        return message("reset", {"reason": step.reason, "seq": node.seq, "epoch": node.epoch})
    if isinstance(step, plans.SendSubscribed):
        return _rooms_message("subscribed", node.hub.room_counts(step.rooms))
    return error(step.code, step.message)


def _welcome(node: Node, sub: Subscriber, step: plans.SendWelcome) -> bytes:
    return message(
        "welcome",
        {
            "client_id": sub.id,
            "server": f"parent-harness/{__version__}",
            "protocol": 1,
            "epoch": node.epoch,
            "seq": node.seq,
            "rooms": list(step.rooms),
            "heartbeat_s": step.heartbeat_s,
        },
    )


async def _replay(
    node: Node, sub: Subscriber, step: plans.Replay, writer: AbstractStreamWriter
) -> None:
    """Sends every event of the step's rooms after `since`, then `replayed`, then what came
    meanwhile.

    Page by page: the next page is read once the client has taken the one before, so a
    replay holds one page (REPLAY_CHUNK events) whatever the history's length.
    """
    hub = node.hub
    cut = step.cut(hub.seq)
    hub.hold(sub)
    if step.attach:
        hub.attach(sub, step.rooms, after_seq=cut)
    else:
        hub.join(sub, step.rooms)
    try:
        if step.attach:
            sub.flushed_seq = step.since
        count = 0
        pages = node.history_pages(step.since, cut, step.rooms, sub.types, page=REPLAY_CHUNK)
        async for page in pages:
            frame = text_frame(batch([item[2] for item in page]))
            if not await _write_drained(sub, writer, frame, page[-1][0]):
                return
            count += len(page)
        done = message("replayed", step.done(cut, count))
        await _write_drained(sub, writer, text_frame(done), sub.flushed_seq)
    finally:
        hub.release(sub)


async def _write_drained(
    sub: Subscriber, writer: AbstractStreamWriter, frame: bytes, seq: int
) -> bool:
    """Writes a replay frame (`seq`, the last event in it) and waits for the transport to
    drain: its own flow control wakes the wait, nothing polls. Whether the client took it.

    A client that takes nothing of it for SLOW_CLIENT_GRACE_S is too slow, as in live
    delivery: closed 4408 with the last seq it was sent. One that reads, however slowly,
    keeps its replay.
    """
    if sub.closed or sub.transport.is_closing():
        return False
    sub.transport.write(frame)
    sub.flushed_seq = seq
    # Shielded: cancelling aiohttp's drain on a timeout would cancel the waiter its own
    # writes share; the task ends when the transport drains or the connection is lost.
    drained = asyncio.ensure_future(writer.drain())
    left = sub.transport.get_write_buffer_size()
    while True:
        try:
            await asyncio.wait_for(asyncio.shield(drained), SLOW_CLIENT_GRACE_S)
            return True
        except ConnectionError:
            return False
        except TimeoutError:
            still = sub.transport.get_write_buffer_size()
            if still >= left:
                sub.too_slow()
                return False
            left = still


def _action(session: p.ClientSession, msg: WSMessage) -> p.Action | None:
    """What a client frame asks for; None when the connection is closing."""
    if msg.type is WSMsgType.TEXT:
        return session.receive(msg.data)
    if msg.type is WSMsgType.BINARY:
        return session.receive_binary()
    if msg.type is WSMsgType.PING:
        return session.receive_ping_frame(msg.data)
    if msg.type is WSMsgType.PONG:
        return session.receive_pong_frame()
    return None


async def _act(
    node: Node,
    sub: Subscriber,
    grant: Grant,
    action: p.Action,
    writer: AbstractStreamWriter,
    max_rooms: int,
) -> None:
    hub = node.hub
    if isinstance(action, p.Ping):
        sub.send(
            message(
                "pong", {"id": action.id, "client_ts": action.ts, "server_ts": time.time() * 1000}
            )
        )
    elif isinstance(action, p.Reject):
        sub.send(error(action.code, action.message))
    elif isinstance(action, p.AnswerPing):
        if not sub.transport.is_closing():
            sub.transport.write(_pong_frame(action.data))
    elif isinstance(action, p.ListRooms):
        sub.send(message("rooms", {"rooms": hub.room_counts()}))
    elif isinstance(action, p.Unsubscribe):
        hub.leave(sub, action.rooms)
        sub.send(_rooms_message("unsubscribed", hub.room_counts(action.rooms)))
    elif isinstance(action, p.Subscribe):
        plan = plans.plan_subscribe(
            action.rooms,
            action.since,
            joined=sub.rooms,
            max_rooms=max_rooms,
            allowed=grant.allows_rooms(action.rooms),
            history=node,
        )
        await _execute(node, sub, plan, writer)


def _pong_frame(data: bytes) -> bytes:
    """RFC 6455 section 5.5.3: a pong echoing a ping's data (at most 125 bytes, as aiohttp's
    reader enforces for every control frame), unmasked from a server."""
    return bytes((0x8A, len(data))) + data


def _rooms_message(type_: str, counts: dict[str, int]) -> bytes:
    return message(type_, {"rooms": list(counts), "clients_per_room": counts})


def _close_slow(ws: web.WebSocketResponse, sub: Subscriber) -> None:  # on_slow, with ws bound
    """Closes a client that fell behind with 4408; the reason is the last seq it was sent."""
    task = asyncio.get_running_loop().create_task(_close_then_abort(ws, sub))
    _background.add(task)
    task.add_done_callback(_background.discard)


_background: set[asyncio.Task[Any]] = set()


async def _close_then_abort(ws: web.WebSocketResponse, sub: Subscriber) -> None:
    log.warning("client %s (%s) too slow: closing with 4408", sub.id, sub.name or "-")
    try:
        await asyncio.wait_for(
            ws.close(code=p.CLOSE_TOO_SLOW, message=str(sub.flushed_seq).encode(), drain=False),
            SLOW_CLOSE_GRACE_S,
        )
    except (TimeoutError, ConnectionError):
        pass
    finally:
        if not sub.transport.is_closing():
            sub.transport.abort()
        elif sub.transport.get_write_buffer_size():
            # Closed with bytes still queued, the transport waits for a peer that may never
            # read them: it gets one more grace to read up to the close frame, then is dropped.
            loop = asyncio.get_running_loop()
            loop.call_later(SLOW_CLOSE_GRACE_S, _drop_unsent, sub.transport)


def _drop_unsent(transport: Transport) -> None:
    if transport.get_write_buffer_size():
        transport.abort()
