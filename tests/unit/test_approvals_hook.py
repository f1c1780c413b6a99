"""`harness approvals hook` without a hub: bad input, the two hook events' shapes, failing
closed. (With a hub: tests/integration/orchestrator/test_orch_approvals.py.)"""

from __future__ import annotations

import json

from parent_harness.cli.approvals_hook import (
    approval_for,
    hook_output,
    reason_of,
    run_hook,
    verdict,
)

CALL = {"tool_name": "Bash", "tool_input": {"command": "rm -rf build", "description": "Clean"},
        "hook_event_name": "PreToolUse"}  # fmt: skip


def test_input_that_is_not_a_hooks_blocks_the_call_with_a_reason() -> None:
    assert run_hook(b"not json", "http://h", None, {}, 5)[0] == 2
    assert run_hook(b"[1]", "http://h", None, {}, 5) == (2, "the hook input is not a JSON object")
    assert run_hook(b"{}", "http://h", None, {}, 5) == (2, "the hook input has no tool_name")
    code, text = run_hook(json.dumps({**CALL, "hook_event_name": "Stop"}).encode(), "h", None,
                          {}, 5)  # fmt: skip
    assert code == 2 and "not Stop" in text


def test_without_a_hub_the_call_is_denied_saying_why() -> None:
    code, text = run_hook(json.dumps(CALL).encode(), None, None, {}, 5)
    out = json.loads(text)["hookSpecificOutput"]
    assert code == 0 and out["permissionDecision"] == "deny"
    assert "HARNESS_URL" in out["permissionDecisionReason"]


def test_a_hub_that_does_not_answer_denies() -> None:
    code, text = run_hook(json.dumps(CALL).encode(), "http://127.0.0.1:9", None, {}, 5)
    out = json.loads(text)["hookSpecificOutput"]
    assert code == 0 and out["permissionDecision"] == "deny"
    assert "cannot be reached" in out["permissionDecisionReason"]


def test_the_approval_and_both_output_shapes() -> None:
    env = {"HARNESS_SESSION_ID": "s-1", "HARNESS_AGENT": "claude", "HARNESS_TASK_ID": "t-1"}
    approval = approval_for(CALL, env, 60)
    assert (approval["session_id"], approval["agent_id"], approval["task_id"]) == (
        "s-1", "claude", "t-1"
    )  # fmt: skip
    assert (approval["tool"], approval["detail"], approval["summary"]) == (
        "Bash", "rm -rf build", "Clean"
    )  # fmt: skip
    assert approval["options"] == ["allow", "deny"] and approval["status"] == "pending"
    assert hook_output("PermissionRequest", True, "ok") == {
        "hookSpecificOutput": {"hookEventName": "PermissionRequest",
                               "decision": {"behavior": "allow", "message": "ok"}}
    }  # fmt: skip
    expired = {"status": "expired", "decision": "deny", "by": "timeout", "answer": None}
    assert reason_of(expired) == "no answer in time: deny by default (parent-harness)"


def test_what_each_way_of_deciding_means_for_the_call() -> None:
    answered = {"status": "answered", "decision": "allow", "by": "ops", "via": "cli"}
    assert verdict(answered) == (True, "allow by ops via parent-harness")
    assert verdict({**answered, "decision": "deny", "answer": "no"})[0] is False
    expired_allow = {"status": "expired", "decision": "allow", "by": "timeout"}
    assert verdict(expired_allow) == (True, "no answer in time: allow by default (parent-harness)")
    cancelled = {"status": "cancelled", "decision": "allow", "answer": "the agent exited"}
    assert verdict(cancelled) == (
        False, "the request was cancelled (parent-harness): the agent exited"
    )  # fmt: skip
    assert verdict({"status": "refused", "decision": "deny", "answer": "down"}) == (
        False, "denied by parent-harness: down"
    )  # fmt: skip
