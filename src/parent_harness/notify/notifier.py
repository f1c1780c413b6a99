"""The notifier: committed events in, incidents decided, messages out through the outbox.

Wiring, for the hub::

    notifier = Notifier(settings, hub, control=orchestrator, hub_url=url, state_path=path,
                        approvals=NodeApprovals(node))   # optional: Telegram's answer buttons
    await notifier.start()      # registers its listener, starts polling Telegram
    ...
    await notifier.stop()       # what was not delivered stays stored for the next start

The hub's listener only queues the event; a single task evaluates them in seq order, so the
hub's commit path never waits on rules, SQLite or the network.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from parent_harness.events.clock import Clock, SystemClock, from_iso
from parent_harness.events.sink import Event
from parent_harness.notify.approvals import ApprovalDesk, Buttons, buttons_for, resolution_text
from parent_harness.notify.channels import Channels, build_channels
from parent_harness.notify.check import ChannelCheck, default_test_message, send_test_messages
from parent_harness.notify.commands import Commands
from parent_harness.notify.config import NotifySettings
from parent_harness.notify.control import FleetControl, NotifyHub
from parent_harness.notify.delivery import Delivery
from parent_harness.notify.engine import AlertEngine, Transition
from parent_harness.notify.gate import Gate, Snooze, Snoozes
from parent_harness.notify.incidents import Incident, IncidentBook
from parent_harness.notify.links import Links
from parent_harness.notify.liveness import Liveness
from parent_harness.notify.markup import Escape
from parent_harness.notify.messages import alert_text, digest_text, webhook_document
from parent_harness.notify.outbox import Outbox
from parent_harness.notify.rules import Rule, compile_rules
from parent_harness.notify.store import NotifyStore

if TYPE_CHECKING:
    from parent_harness.notify.inbox import TelegramInbox

log = logging.getLogger(__name__)
LAST_EVENT_KEY = "events.last_at"
Render = Callable[[Links, Escape], str]


class Notifier:
    """Alerts operators about incidents, by Telegram and webhooks, and obeys bot commands."""

    def __init__(
        self,
        settings: NotifySettings,
        hub: NotifyHub,
        *,
        control: FleetControl | None = None,
        hub_url: str = "http://127.0.0.1:3333",
        state_path: Path | None = None,
        clock: Clock | None = None,
        approvals: ApprovalDesk | None = None,
    ) -> None:
        self.settings = settings
        self._approvals = approvals
        self._hub = hub
        self._control = control
        self._clock = clock or SystemClock()
        base = settings.public_url or hub_url.rstrip("/")
        self.links = Links(base)
        telegram_url = settings.telegram.public_url if settings.telegram else None
        self.telegram_links = Links(telegram_url or base)
        self.rules = compile_rules(settings.effective_rules())
        self.path = Path(settings.state_path) if settings.state_path else state_path
        self._queue: asyncio.Queue[Event] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._last_tick = 0.0
        self._received = 0
        self._evaluated = 0
        self._stepped = asyncio.Event()
        self._edits: set[asyncio.Task[None]] = set()
        self.running = False
        self._last_event_at: str | None = None
        self._remembered: str | None = None
        self.channels = Channels()

    # ---- life cycle -------------------------------------------------------------------

    async def start(self) -> None:
        """Loads stored incidents, snoozes and deliveries, catches up on state, starts work."""
        now = self._clock.now()
        self.store = NotifyStore(self.path or Path("harness-notify.db"))
        self.gate = Gate(Snoozes(self.store.snoozes()))
        liveness = Liveness()
        liveness.seed(self._hub.state.agents, self._hub.state.sessions, now)
        self.engine = AlertEngine(self.rules, IncidentBook(self.store.incidents()), liveness)
        self.channels = build_channels(self.settings, self._hub, self._clock)
        self.outbox = Outbox(self.store, self.channels.by_kind(), self._hub, self._clock)
        self._hub.add_listener(self.listener)
        self._step(self._catch_up(), now)
        self.outbox.kick()
        self._tasks.append(asyncio.create_task(self._run(), name="notify:rules"))
        if self.channels.telegram is not None and self.channels.telegram.settings.commands:
            self._tasks.append(asyncio.create_task(self._inbox().run(), name="notify:inbox"))
        self.running = True

    async def stop(self) -> None:
        """Stops; evaluates events still queued, keeps undelivered messages for the next start."""
        if not self.running:
            return
        self.running = False
        self._hub.remove_listener(self.listener)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._edits, return_exceptions=True)
        self._tasks.clear()
        self._step(self._drain(), self._clock.now())
        self._remember_last_event()
        await self.outbox.close()
        await self.channels.close()
        self.store.close()

    def listener(self, event: Event) -> None:
        """The hub's listener: queues one committed event (cheap, never blocks)."""
        self._received += 1
        self._queue.put_nowait(event)

    # ---- what others ask of it --------------------------------------------------------

    async def send_test(self, text: str | None = None) -> list[ChannelCheck]:
        """Sends a test message through every channel and target, reporting each outcome."""
        message = text or default_test_message(self.links.home())
        return await send_test_messages(self.channels.telegram, self.channels.webhooks, message)

    @property
    def rule_titles(self) -> Mapping[str, str]:
        """Each rule's title, by name."""
        return {rule.name: rule.title for rule in self.rules}

    def open_incidents(self) -> list[Incident]:
        """Every open incident, oldest first."""
        return self.engine.book.open_incidents()

    def active_snoozes(self) -> list[Snooze]:
        """Snoozes in force."""
        now = self._clock.now()
        return [item for item in self.gate.snoozes.active() if item.until > now]

    def snooze(self, scope: str, seconds: float, by: str) -> Snooze:
        """Holds alerts of a scope (`all`, a rule name, a subject id) for `seconds`."""
        snooze = Snooze(scope, self._clock.now() + seconds, by)
        self.gate.snoozes.add(snooze)
        self.store.put_snooze(snooze)
        return snooze

    def unsnooze(self, scope: str | None = None) -> list[str]:
        """Ends one snooze, or all; held incidents still open are told at the next tick."""
        ended = self.gate.snoozes.remove(scope)
        self.store.drop_snoozes(ended)
        return ended

    def reply(self, chat_id: str, text: str, about_seq: int | None) -> None:
        """Queues a bot reply (stored, retried, recorded as a `telegram:message` event)."""
        now = self._clock.now()
        self._save([Delivery("telegram", chat_id, {"text": text}, about_seq, created_at=now)])

    async def settle(self) -> None:
        """Returns once every event received so far is evaluated and the outbox has emptied.

        Deliveries being retried are waited for too; bound it with a timeout.
        """
        while self._evaluated < self._received:
            self._stepped.clear()
            await self._stepped.wait()
        await self.outbox.wait_idle()
        if self._edits:
            await asyncio.wait(self._edits)

    # ---- the rules loop ---------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            events = await self._next_events()
            try:
                self._step(events, self._clock.now())
            except Exception:
                log.exception("notification rules failed on %d event(s)", len(events))
            self._evaluated += len(events)
            self._stepped.set()

    async def _next_events(self) -> list[Event]:
        # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that
        # arrives as the queue yields an item (python/cpython#86296), and stop() would hang.
        try:
            async with asyncio.timeout(self.settings.tick_s):
                first = await self._queue.get()
        except TimeoutError:
            return []
        return [first, *self._drain()]

    def _drain(self) -> list[Event]:
        events: list[Event] = []
        while not self._queue.empty():
            events.append(self._queue.get_nowait())
        return events

    def _step(self, events: Sequence[Event], now: float) -> None:
        """Evaluates events (and, once per tick, timers); stores and sends what follows."""
        transitions = [found for event in events for found in self.engine.observe(event, now)]
        if events:
            self._last_event_at = events[-1].timestamp or self._last_event_at
        deliveries = self._decide(transitions, now)
        if now - self._last_tick >= self.settings.tick_s or not events:
            self._last_tick = now
            deliveries += self._decide(self.engine.tick(now), now)
            deliveries += self._housekeeping(now)
        self._save(deliveries)

    def _decide(self, transitions: Sequence[Transition], now: float) -> list[Delivery]:
        deliveries: list[Delivery] = []
        for transition in transitions:
            verdict = self.gate.decide(transition, now)
            incident = transition.incident
            self._settle_buttons(transition)
            if transition.kind == "opened":
                incident.held = verdict if verdict in ("snoozed", "rate", "dedup") else None
                if verdict == "announce":
                    self._announced(incident, now)
            if verdict == "announce":
                render: Render = partial(alert_text, transition)
                kind = f"incident.{transition.kind}"
                deliveries += self._compose(
                    transition.rule,
                    kind,
                    [incident],
                    render,
                    transition.about_seq,
                    now,
                    self._buttons(transition),
                )
        return deliveries

    def _settle_buttons(self, transition: Transition) -> None:
        """A request decided anywhere: its alerts lose their buttons and say how it ended.
        Not an alert (no message, whatever the snoozes): the chats' screens catch up."""
        telegram, incident = self.channels.telegram, transition.incident
        if telegram is None or transition.kind != "resolved" or not incident.announced:
            return
        if transition.rule.entity != "approval":
            return
        result = resolution_text(incident.context)
        task = asyncio.create_task(telegram.settle_alerts(incident.subject, result))
        self._edits.add(task)
        task.add_done_callback(self._edits.discard)

    def _buttons(self, transition: Transition) -> Buttons:
        """A request's answers as buttons, when this notifier can answer (an ApprovalDesk)."""
        if self._approvals is None or transition.kind != "opened":
            return []
        if transition.rule.entity != "approval":
            return []
        return buttons_for(transition.incident.context)

    def _housekeeping(self, now: float) -> list[Delivery]:
        """Ends snoozes, tells held incidents that may now be told, forgets stale ones."""
        self.store.drop_snoozes(self.gate.snoozes.expire(now))
        deliveries: list[Delivery] = []
        book, rules = self.engine.book, self.engine.rules
        for name, incidents in self.gate.releasable(book.open_incidents(), rules, now).items():
            render: Render = partial(digest_text, rules[name], incidents)
            about = incidents[-1].opened_seq
            deliveries += self._compose(
                rules[name], "incident.digest", incidents, render, about, now
            )
            for incident in incidents:
                self._announced(incident, now)
        book.prune(
            now, {rule.name: rule.dedup_s for rule in self.rules}, self.settings.incident_ttl_s
        )
        self._remember_last_event()
        return deliveries

    def _announced(self, incident: Incident, now: float) -> None:
        incident.announced, incident.held, incident.last_announced_at = True, None, now
        self.engine.book.mark(incident)

    def _compose(
        self,
        rule: Rule,
        kind: str,
        incidents: list[Incident],
        render: Render,
        about: int | None,
        now: float,
        buttons: Buttons | None = None,
    ) -> list[Delivery]:
        """One delivery per chat and per webhook the rule speaks to, each in its markup;
        Telegram's with the buttons, if any."""
        out: list[Delivery] = []
        telegram, webhooks = self.channels.telegram, self.channels.webhooks
        if telegram is not None and "telegram" in rule.channels:
            body: dict[str, Any] = {"text": render(self.telegram_links, telegram.escape)}
            if buttons:
                body["buttons"] = buttons
                body["approval_id"] = incidents[0].subject
            out += [Delivery("telegram", c, body, about, created_at=now) for c in telegram.chat_ids]
        if webhooks is not None and "webhooks" in rule.channels:
            text = render(self.links, webhooks.escape)
            document = webhook_document(text, kind, rule, incidents, self.links)
            document["about_seq"] = about
            out += [
                Delivery("webhook", u, document, about, created_at=now) for u in webhooks.targets
            ]
        return out

    def _save(self, deliveries: Sequence[Delivery]) -> None:
        changed, removed = self.engine.book.take_changes()
        if changed or removed or deliveries:
            self.store.save(changed, removed, deliveries)
        if deliveries:
            self.outbox.kick()

    # ---- start-up helpers -------------------------------------------------------------

    def _inbox(self) -> TelegramInbox:
        from parent_harness.notify.inbox import TelegramInbox

        assert self.channels.telegram is not None
        commands = Commands(self, self._hub.state, self._control, self.telegram_links, self._clock)
        return TelegramInbox(
            self.channels.telegram, commands, self.store, self._hub, self.reply, self._approvals
        )

    def _catch_up(self) -> list[Event]:
        """Events standing for current state, so what happened while stopped is not missed.

        Agents and the budget are always re-read (their incidents are stored, so nothing is
        told twice); tasks only if updated since the last event handled before the stop.
        """
        state = self._hub.state
        seq = getattr(state, "seq", 0)
        events = [Event(seq, "agent:status", {"agent": a}, "") for a in state.agents.values()]
        if state.budget:
            events.append(Event(seq, "budget:updated", {"budget": state.budget}, ""))
        since = from_iso(self.store.get_meta(LAST_EVENT_KEY))
        if since is not None:
            events += [
                Event(seq, "task:updated", {"task": task}, "")
                for task in state.tasks.values()
                if (from_iso(task.get("updated_at")) or 0.0) >= since
            ]
        return events

    def _remember_last_event(self) -> None:
        if self._last_event_at and self._last_event_at != self._remembered:
            self.store.set_meta(LAST_EVENT_KEY, self._last_event_at)
            self._remembered = self._last_event_at
