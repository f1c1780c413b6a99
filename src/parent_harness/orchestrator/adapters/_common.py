"""What every CLI adapter shares: the kind of an error message, a tool call's target."""

from __future__ import annotations

import re
from typing import Any

from ..signals import AgentError, Log
from ._json import first_line

_AUTH = re.compile(
    r"\b401\b|\b403\b|unauthori[sz]ed|forbidden|invalid[ _]api[ _]key|api_key_invalid|"
    r"incorrect api key|authenticat|not logged in|please run /login|codex login|"
    r"credentials",
    re.IGNORECASE,
)
_USAGE_LIMIT = re.compile(
    r"usage limit|rate[ _-]?limit|\b429\b|quota|resource_exhausted|insufficient_quota|"
    r"out of (free )?credits|out of usage|paid credits|add credits|limit reached|"
    r"hit your (\w+ )?limit|session limit|weekly limit|"
    r"too many requests|billing",
    re.IGNORECASE,
)


STATUS_KINDS = {401: "auth", 403: "auth", 429: "usage_limit"}
"""The kind an HTTP status a CLI reports (Claude Code's ``api_error_status``) means."""


def error_kind(message: str, status: object = None) -> str:
    """``auth``, ``usage_limit`` or ``agent_error``: what a CLI's failure says, by the HTTP
    status it reports when it does (words change between versions, codes do not)."""
    if isinstance(status, int) and status in STATUS_KINDS:
        return STATUS_KINDS[status]
    if _AUTH.search(message):
        return "auth"
    if _USAGE_LIMIT.search(message):
        return "usage_limit"
    return "agent_error"


def failed(message: Any, fallback: str, kind: str | None = None) -> AgentError:
    """The run failed with the CLI's own words (``fallback`` when it gave none)."""
    text = first_line(message, 500) if isinstance(message, str) else ""
    text = text or fallback
    return AgentError(text, kind=kind or error_kind(text))


TARGET_KEYS = (
    "command",
    "cmd",
    "file_path",
    "absolute_path",
    "filePath",
    "path",
    "dir_path",
    "notebook_path",
    "pattern",
    "globPattern",
    "query",
    "url",
    "prompt",
    "description",
)
"""The arguments that name what a tool works on, most telling first."""


def tool_target(args: Any) -> str | None:
    """The file, command, pattern or URL a tool call's arguments name (one line)."""
    if not isinstance(args, dict):
        return None
    for key in TARGET_KEYS:
        value = args.get(key)
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            value = " ".join(value)
        if isinstance(value, str) and value.strip():
            return first_line(value, 300)
    return None


def session_started(cli: str, obj: dict[str, Any]) -> tuple[str | None, Log]:
    """The model a CLI's init line names, and the debug line that says the session started."""
    model = obj.get("model")
    model = model if isinstance(model, str) else None
    text = f"{cli} session {obj.get('session_id', '?')} started"
    return model, Log(text + (f" with {model}" if model else ""), level="debug")
