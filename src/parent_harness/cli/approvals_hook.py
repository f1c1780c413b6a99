"""`harness approvals hook`: Claude Code's PreToolUse / PermissionRequest hook command.

Claude Code runs the hook for a tool call with the call as JSON on stdin (``tool_name``,
``tool_input``, ``hook_event_name``...). The hook publishes an ``approval:requested`` to
the hub (the session, agent and task from the environment the orchestrator gives the
agent: ``HARNESS_SESSION_ID``, ``HARNESS_AGENT``, ``HARNESS_TASK_ID``), waits for the
approval to be decided (a subscription to its room ``approval:<id>``, from the seq of the
request: nothing decided in between is missed, and a dropped connection resumes), and
prints the decision in the event's shape:

- PreToolUse: ``{"hookSpecificOutput": {"hookEventName": "PreToolUse",
  "permissionDecision": "allow" | "deny", "permissionDecisionReason": ...}}``;
- PermissionRequest: ``{"hookSpecificOutput": {"hookEventName": "PermissionRequest",
  "decision": {"behavior": "allow" | "deny", "message": ...}}}``.

It fails closed: a hub that cannot be reached, a refused request or no decision in time
denies the call, saying why. Input that is not a hook's JSON exits 2 (Claude Code then
blocks the call and shows stderr). The rules of ``[[approvals.rules]]`` are applied by the
orchestrator, for this request as for every other.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Mapping
from datetime import timedelta
from typing import Annotated, Any

import aiohttp
import orjson
import typer

from parent_harness.cli.hub_http import Token, request
from parent_harness.client.subscriber import Subscriber, SubscribeRefused
from parent_harness.events.clock import iso, short_id, utc_now
from parent_harness.orchestrator.adapters._common import tool_target

DEFAULT_TIMEOUT_S = 900.0
GRACE_S = 10.0
"""How long past the request's expiry the hook waits for the orchestrator's own expiry."""
HOOK_EVENTS = ("PreToolUse", "PermissionRequest")
DECIDED = ("approval:answered", "approval:expired")


class HookInputError(ValueError):
    """What came on stdin is not a Claude Code hook's input."""


def read_input(raw: bytes) -> dict[str, Any]:
    """The hook input, checked: a JSON object with a ``tool_name``."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise HookInputError(f"the hook input is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise HookInputError("the hook input is not a JSON object")
    if not isinstance(data.get("tool_name"), str) or not data["tool_name"]:
        raise HookInputError("the hook input has no tool_name")
    return data


def approval_for(
    hook: Mapping[str, Any], env: Mapping[str, str], timeout_s: float
) -> dict[str, Any]:
    """The approval entity a tool call asks for."""
    tool = str(hook["tool_name"])[:200]
    args = hook.get("tool_input")
    target = tool_target(args)
    described = args.get("description") if isinstance(args, dict) else None
    summary = described if isinstance(described, str) and described.strip() else None
    now = utc_now()
    return {
        "id": short_id("ap"),
        "agent_id": env.get("HARNESS_AGENT") or None,
        "session_id": env.get("HARNESS_SESSION_ID") or None,
        "task_id": env.get("HARNESS_TASK_ID") or None,
        "workspace_id": env.get("HARNESS_WORKSPACE_ID") or None,
        "kind": "permission",
        "tool": tool,
        "summary": (summary or f"{tool} {target or ''}").strip()[:2000],
        "detail": target,
        "options": ["allow", "deny"],
        "status": "pending",
        "requested_at": iso(now),
        "expires_at": iso(now + timedelta(seconds=timeout_s)),
    }


def hook_output(event: str, allow: bool, reason: str) -> dict[str, Any]:
    """What Claude Code reads from the hook's stdout for ``event``."""
    if event == "PermissionRequest":
        decision = {"behavior": "allow" if allow else "deny", "message": reason}
        return {"hookSpecificOutput": {"hookEventName": event, "decision": decision}}
    return {
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": "allow" if allow else "deny",
            "permissionDecisionReason": reason,
        }
    }


def reason_of(approval: Mapping[str, Any]) -> str:
    """The decision as Claude (and the person reading its transcript) should hear it."""
    status, decision = approval.get("status"), approval.get("decision")
    who = approval.get("by") or approval.get("via") or "someone"
    text = f": {approval['answer']}" if approval.get("answer") else ""
    if status == "expired":
        return f"no answer in time: {decision} by default (parent-harness){text}"
    if status == "cancelled":
        return f"the request was cancelled (parent-harness){text}"
    return f"{decision} by {who} via parent-harness{text}"


async def ask(
    hook: Mapping[str, Any], url: str, token: str | None, env: Mapping[str, str], timeout_s: float
) -> dict[str, Any]:
    """Publish the request and wait for its decision; the approval as decided (or a
    refusal made here: ``status`` ``refused``)."""
    approval = approval_for(hook, env, timeout_s)
    body = {"type": "approval:requested", "payload": {"approval": approval},
            "id": f"approval:requested:{approval['id']}"}  # fmt: skip
    try:
        status, answer = await request("POST", f"{url.rstrip('/')}/api/events", token, body,
                                       timeout_s=30)  # fmt: skip
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        return _refused(approval, f"the harness hub at {url} cannot be reached ({exc})")
    if status != 200:
        detail = answer.get("detail") if isinstance(answer, dict) else answer
        return _refused(approval, f"the hub refused the request: {detail} (HTTP {status})")
    seq = int(answer["items"][0]["seq"])
    try:
        async with asyncio.timeout(timeout_s + GRACE_S):
            return await _decision(url, token, str(approval["id"]), seq - 1)
    except TimeoutError:
        return _refused(approval, f"no decision within {timeout_s + GRACE_S:g} s")
    except SubscribeRefused as exc:
        return _refused(approval, f"the hub refused the subscription: {exc}")


async def _decision(url: str, token: str | None, approval_id: str, since: int) -> dict[str, Any]:
    room = f"approval:{approval_id}"
    async with Subscriber(url, rooms=[room], since=since, token=token,
                          client="approvals-hook") as events:  # fmt: skip
        async for message in events:
            if message.get("type") not in DECIDED:
                continue
            approval = message.get("payload", {}).get("approval", {})
            if approval.get("id") == approval_id and approval.get("status") != "pending":
                return dict(approval)
    raise TimeoutError  # the subscription ended without a decision


def _refused(approval: Mapping[str, Any], why: str) -> dict[str, Any]:
    return {**approval, "status": "refused", "decision": "deny", "answer": why}


def run_hook(raw: bytes, url: str | None, token: str | None, env: Mapping[str, str],
             timeout_s: float) -> tuple[int, str]:  # fmt: skip
    """(exit code, text for stdout or stderr) of one hook call."""
    try:
        hook = read_input(raw)
    except HookInputError as exc:
        return 2, str(exc)
    event = str(hook.get("hook_event_name") or "PreToolUse")
    if event not in HOOK_EVENTS:
        return 2, f"harness approvals hook answers {' and '.join(HOOK_EVENTS)}, not {event}"
    if not url:
        reason = "no harness hub to ask (HARNESS_URL is not set): denied"
        return 0, orjson.dumps(hook_output(event, False, reason)).decode()
    decided = asyncio.run(ask(hook, url, token, env, timeout_s))
    allow, reason = verdict(decided)
    return 0, orjson.dumps(hook_output(event, allow, reason)).decode()


def verdict(decided: Mapping[str, Any]) -> tuple[bool, str]:
    """Whether the call may go ahead, and why. An expiry gives the configured default
    (which may be allow); a cancelled or refused request is never allowed."""
    status = decided.get("status")
    allow = status in ("answered", "expired") and decided.get("decision") == "allow"
    if status == "refused":
        return False, f"denied by parent-harness: {decided.get('answer')}"
    return allow, reason_of(decided)


def hook(
    url: Annotated[
        str | None, typer.Option(envvar="HARNESS_URL", help="The hub's URL.")
    ] = None,
    token: Token = None,
    timeout_s: Annotated[
        float,
        typer.Option("--timeout", envvar="HARNESS_APPROVAL_TIMEOUT_S",
                     help="Seconds the request waits before it expires."),
    ] = DEFAULT_TIMEOUT_S,
) -> None:  # fmt: skip
    """Claude Code's PreToolUse / PermissionRequest hook: asks the hub, prints the decision."""
    code, text = run_hook(sys.stdin.buffer.read(), url, token, os.environ, timeout_s)
    typer.echo(text, err=code != 0)
    raise typer.Exit(code)
