"""Alert texts are readable and link to the dashboard."""

from __future__ import annotations

from typing import Any

from parent_harness.notify.config import load_settings
from parent_harness.notify.engine import Transition
from parent_harness.notify.incidents import Incident
from parent_harness.notify.links import Links
from parent_harness.notify.markup import plain, slack_mrkdwn
from parent_harness.notify.messages import alert_text, digest_text, webhook_document
from parent_harness.notify.rules import Rule, compile_rules

LINKS = Links("https://harness.example")
RULES = {rule.name: rule for rule in compile_rules(load_settings(None).effective_rules())}


def text(rule: str, subject: str, context: dict[str, Any], kind: str = "opened") -> str:
    incident = Incident(rule, subject, 0.0, 1, context=context)
    if kind == "resolved":
        incident.resolved_at = 125.0
    return alert_text(Transition(kind, RULES[rule], incident, 1), LINKS)  # type: ignore[arg-type]


def test_a_failed_task_names_it_says_why_and_links_to_it() -> None:
    context = {
        "title": "Fix login",
        "status": "failed",
        "attempts": 2,
        "max_attempts": 3,
        "agent_id": "a-1",
        "error_details": {"message": "AssertionError: boom\nstack...", "kind": "test"},
    }
    assert text("task-failed", "t/42", context).splitlines() == [
        "🔴 Task failed: Fix login",
        "task t/42 · failed · attempt 2 of 3 · agent a-1",
        "Error (test): AssertionError: boom",
        "https://harness.example/#/tasks/t%2F42",
    ]


def test_an_unhealthy_and_a_silent_agent_link_to_the_agent() -> None:
    stuck = text(
        "agent-unhealthy",
        "a-1",
        {"name": "w1", "health_status": "stuck", "health_reason": "no progress for 10m"},
    )
    assert stuck.startswith("🔴 Agent unhealthy: w1\n")
    assert "no progress for 10m" in stuck and stuck.endswith("/#/agents/a-1")
    silent = text(
        "agent-silent",
        "a-2",
        {"name": "w2", "status": "working", "silent_s": 312, "current_task_id": "t-9"},
    )
    assert "No heartbeat for 5m 12s" in silent and "Working on task t-9" in silent
    assert silent.endswith("/#/agents/a-2")


def test_a_budget_crossing_gives_the_numbers() -> None:
    message = text(
        "budget-80",
        "day",
        {"period": "day", "spent_usd": 41.0, "limit_usd": 50.0, "burn_rate_usd_per_hour": 4.5},
    )
    assert "Spent $41.00 of $50.00 (82%)" in message and "Burn rate $4.50/h" in message


def test_a_resolution_says_how_long_it_lasted() -> None:
    message = text("task-failed", "t-1", {"title": "Fix", "status": "completed"}, kind="resolved")
    assert message.startswith("✅ Resolved: Task failed: Fix")
    assert "Open for 2m 5s" in message


def test_a_digest_lists_each_incident_once() -> None:
    rule: Rule = RULES["task-failed"]
    held = [
        Incident(rule.name, f"t-{n}", 0.0, held="snoozed", context={"title": f"T{n}"})
        for n in range(3)
    ]
    digest = digest_text(rule, held, LINKS)
    assert "3 incidents opened while snoozed, still open" in digest
    assert digest.count("#/tasks/") == 3


def test_the_webhook_document_has_slack_text_and_facts() -> None:
    rule = RULES["task-failed"]
    incident = Incident(rule.name, "t-1", 0.0, 7, 9, 2, context={"title": "Fix"})
    document = webhook_document("hello", "incident.opened", rule, [incident], LINKS)
    assert document["text"] == "hello"
    (fact,) = document["incidents"]
    assert fact["link"].endswith("/#/tasks/t-1") and fact["events"] == 3 and fact["opened_seq"] == 7


HOSTILE = "<!channel> urgent: log in at <https://evil.example/login|the dashboard> & fix"


def hostile_task() -> dict[str, Any]:
    return {
        "title": HOSTILE,
        "status": "failed",
        "attempts": 1,
        "max_attempts": 3,
        "agent_id": "<@U024BE7LH>",
        "error_details": {"message": "see <https://evil.example|logs>", "kind": "<!here>"},
    }


def test_slack_text_escapes_what_events_say_and_keeps_its_own_link() -> None:
    incident = Incident("task-failed", "t-1", 0.0, 1, context=hostile_task())
    transition = Transition("opened", RULES["task-failed"], incident, 1)
    slack = alert_text(transition, LINKS, slack_mrkdwn)

    assert "<" not in slack and ">" not in slack.replace("&gt;", "")
    assert slack.splitlines() == [
        "🔴 Task failed: &lt;!channel&gt; urgent: log in at "
        "&lt;https://evil.example/login|the dashboard&gt; &amp; fix",
        "task t-1 · failed · attempt 1 of 3 · agent &lt;@U024BE7LH&gt;",
        "Error (&lt;!here&gt;): see &lt;https://evil.example|logs&gt;",
        "https://harness.example/#/tasks/t-1",
    ]


def test_plain_text_is_left_as_the_event_said_it() -> None:
    incident = Incident("task-failed", "t-1", 0.0, 1, context=hostile_task())
    plain_text = alert_text(Transition("opened", RULES["task-failed"], incident, 1), LINKS)
    assert plain_text.splitlines()[0] == f"🔴 Task failed: {HOSTILE}"


def test_a_slack_digest_escapes_each_headline() -> None:
    rule: Rule = RULES["task-failed"]
    held = [Incident(rule.name, "t-1", 0.0, held="snoozed", context={"title": HOSTILE})]
    digest = digest_text(rule, held, LINKS, slack_mrkdwn)
    assert "<!channel>" not in digest and "&lt;!channel&gt;" in digest
    assert digest.endswith(": https://harness.example/#/tasks/t-1")


def test_slack_escaping_covers_its_three_control_characters_only() -> None:
    assert slack_mrkdwn("a & <b> *c* &amp;") == "a &amp; &lt;b&gt; *c* &amp;amp;"
    assert plain("a & <b>") == "a & <b>"
