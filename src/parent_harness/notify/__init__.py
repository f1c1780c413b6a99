"""Notifications: alert rules over the event stream, Telegram and webhooks.

Operators hear about a failed task, an unhealthy or silent agent, or a budget crossing,
once per incident, and can ask the bot for /status, /tasks, /pause, /resume and /snooze.
Start with `load_settings` (the `[notify]` table) and `Notifier`.
"""

from parent_harness.events.clock import Clock, ManualClock, SystemClock
from parent_harness.notify.check import ChannelCheck, check_settings
from parent_harness.notify.config import NotifySettings, load_settings
from parent_harness.notify.control import FleetControl, FleetState, NotifyHub
from parent_harness.notify.errors import DeliveryError, NotifyConfigError, NotifyError
from parent_harness.notify.notifier import Notifier
from parent_harness.notify.store import default_path
from parent_harness.notify.web import routes

__all__ = [
    "ChannelCheck",
    "Clock",
    "DeliveryError",
    "FleetControl",
    "FleetState",
    "ManualClock",
    "Notifier",
    "NotifyConfigError",
    "NotifyError",
    "NotifyHub",
    "NotifySettings",
    "SystemClock",
    "check_settings",
    "default_path",
    "load_settings",
    "routes",
]
