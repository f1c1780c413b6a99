"""Reading `[notify]`: useful defaults, and errors that name the bad key."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from parent_harness.notify.config import RateLimit, load_settings
from parent_harness.notify.durations import format_duration, parse_duration
from parent_harness.notify.errors import NotifyConfigError

TELEGRAM = {"token": "123:abc", "chat_ids": [42, "-1001", "@ops"]}


def test_no_section_gives_the_default_rules() -> None:
    settings = load_settings(None)
    names = [rule.name for rule in settings.effective_rules()]
    assert names == [
        "task-failed",
        "agent-unhealthy",
        "agent-silent",
        "budget-80",
        "budget-exhausted",
        "needs-input",
    ]
    assert not settings.has_channels


def test_only_keeps_the_moments_asked_for() -> None:
    settings = load_settings({"only": ["needs_input", "completion"]})
    assert [rule.name for rule in settings.effective_rules()] == [
        "needs-input",
        "session-completed",
    ]
    mine = {"name": "task-done", "on": "task:completed", "when": {"task.status": "completed"}}
    settings = load_settings({"only": ["failure"], "rules": [mine]})
    assert [rule.name for rule in settings.effective_rules()] == ["session-failed", "task-done"]
    with pytest.raises(NotifyConfigError, match=re.escape("notify.only[0]")):
        load_settings({"only": ["failures"]})


def test_telegram_section_reads_chat_ids_as_text() -> None:
    settings = load_settings({"telegram": TELEGRAM})
    assert settings.telegram is not None
    assert settings.telegram.chat_ids == ["42", "-1001", "@ops"]
    assert settings.telegram.api_base_url == "https://api.telegram.org"
    assert "123:abc" not in repr(settings)


def test_token_can_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_TELEGRAM_TOKEN", "9:xyz")
    settings = load_settings({"telegram": {"chat_ids": [1]}})
    assert settings.telegram is not None and settings.telegram.bot_token() == "9:xyz"


def test_a_rule_of_mine_replaces_or_disables_a_default() -> None:
    settings = load_settings(
        {
            "rules": [
                {"name": "agent-silent", "enabled": False},
                {"name": "task-failed", "on": "task:failed", "severity": "warning"},
                {"name": "ci-errors", "on": "event", "when": {"event.level": "error"}},
            ]
        }
    )
    rules = {rule.name: rule for rule in settings.effective_rules()}
    assert "agent-silent" not in rules
    assert rules["task-failed"].on == ["task:failed"] and rules["task-failed"].subject == "task.id"
    assert rules["ci-errors"].subject == "event.source"


def test_durations_and_rate_limits_read_as_people_write_them() -> None:
    rule = {"name": "r", "on": "task:*", "dedup_s": "10m", "rate_limit": "5/1h"}
    (parsed,) = load_settings({"rules": [rule], "default_rules": False}).effective_rules()
    assert parsed.dedup_s == 600
    assert parsed.rate_limit == RateLimit(5, 3600)
    assert parse_duration("1h30m") == 5400 and parse_duration(90) == 90
    assert format_duration(312) == "5m 12s" and format_duration(90000) == "1d 1h"


@pytest.mark.parametrize(
    ("section", "key", "words"),
    [
        ({"telegram": {"token": "1:a"}}, "notify.telegram.chat_ids", "required"),
        ({"telegram": {"chat_ids": [1], "token_env": "NOPE_X"}}, "notify.telegram.token", "NOPE_X"),
        ({"telegram": {"token": "abc", "chat_ids": [1]}}, "notify.telegram.token", "bot token"),
        ({"telegram": {"token": "1:a", "chat_ids": ["ops"]}}, "notify.telegram.chat_ids", "ops"),
        ({"telegram": {**TELEGRAM, "api_base_url": "x"}}, "notify.telegram.api_base_url", "URL"),
        ({"webhooks": [{"url": "ftp://x"}]}, "notify.webhooks[0].url", "http"),
        ({"webhooks": [{"url": "http://a"}, {"url": "http://a"}]},
         "notify.webhooks[1].url", "repeated"),
        ({"webhooks": [{"url": "http://a", "retries": -1}]}, "notify.webhooks[0].retries", "0"),
        ({"rules": [{"name": "x", "on": "task:*", "when": {"task.status": {"gtx": 1}}}]},
         "notify.rules[0].when", "unknown operator 'gtx'"),
        ({"rules": [{"name": "x", "on": "task:*", "when": {"task.attempts": {"gte": "a"}}}]},
         "notify.rules[0].when", "number"),
        ({"rules": [{"name": "x", "kind": "absence"}]}, "notify.rules[0]", "after_s"),
        ({"rules": [{"name": "x"}]}, "notify.rules[0]", "`on`"),
        ({"rules": [{"name": "x", "on": "custom"}]}, "notify.rules[0]", "subject"),
        ({"rules": [{"name": "x", "on": "task:*", "rate_limit": "lots"}]},
         "notify.rules[0].rate_limit", "count/duration"),
        ({"rules": [{"name": "x", "on": "task:*", "channels": ["sms"]}]},
         "notify.rules[0].channels[0]", "telegram"),
        ({"rules": [{"name": "x", "on": "task:*"}, {"name": "x", "on": "task:*"}]},
         "notify.rules[1].name", "repeated"),
        ({"tick_s": "soon"}, "notify.tick_s", "duration"),
        ({"colour": "red"}, "notify.colour", "unknown key"),
    ],
)  # fmt: skip
def test_a_bad_key_is_named(section: dict[str, Any], key: str, words: str) -> None:
    with pytest.raises(NotifyConfigError) as caught:
        load_settings(section)
    assert caught.value.key == key
    assert words in str(caught.value)


def test_webhook_secrets_can_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOK_TOKEN", "s3")
    hook = {
        "url": "https://h.example/${HOOK_TOKEN}",
        "headers": {"Authorization": "Bearer ${HOOK_TOKEN}"},
    }
    (parsed,) = load_settings({"webhooks": [hook]}).webhooks
    assert parsed.url == "https://h.example/s3" and parsed.headers["Authorization"] == "Bearer s3"
    assert parsed.label == "https://h.example" and "s3" not in repr(parsed)
    monkeypatch.delenv("HOOK_TOKEN")
    with pytest.raises(NotifyConfigError, match=r"notify.webhooks\[0\].url: .*HOOK_TOKEN"):
        load_settings({"webhooks": [hook]})


EXAMPLE = Path(__file__).parents[3] / "docs" / "notify.example.toml"


def test_the_example_file_reads_as_is_and_with_every_example_uncommented(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HARNESS_TELEGRAM_TOKEN", "1:abc")
    monkeypatch.setenv("TOKEN", "t")
    text = EXAMPLE.read_text()
    as_is = load_settings(tomllib.loads(text)["notify"])
    assert as_is.telegram is not None and not as_is.webhooks
    uncommented = re.sub(r"^# (?=\[|[a-z_]+ = )", "", text, flags=re.MULTILINE)
    everything = load_settings(tomllib.loads(uncommented)["notify"])
    assert everything.webhooks[0].headers == {"Authorization": "Bearer t"}
    names = [rule.name for rule in everything.effective_rules()]
    assert names == [
        "task-failed",
        "agent-unhealthy",
        "agent-silent",
        "budget-80",
        "budget-exhausted",
        "needs-input",
        "budget-50",
        "errors",
    ]


@pytest.mark.parametrize(
    ("url", "label"),
    [
        ("https://hooks.slack.com/services/T0/B0/s3", "https://hooks.slack.com"),
        ("https://user:s3@hooks.example:8443/x", "https://hooks.example:8443"),
        ("https://hooks.example?token=s3", "https://hooks.example"),
    ],
)
def test_a_webhook_is_named_without_its_secrets(url: str, label: str) -> None:
    (parsed,) = load_settings({"webhooks": [{"url": url}]}).webhooks
    assert parsed.label == label


@pytest.mark.parametrize(
    "webhooks",
    [
        [{"url": "hooks.slack.com/services/T0/B0/s3"}],
        [{"url": "https://h.example/s3"}, {"url": "https://h.example/s3"}],
    ],
)
def test_a_bad_webhook_url_is_named_by_its_key_not_its_value(webhooks: list[Any]) -> None:
    with pytest.raises(NotifyConfigError) as caught:
        load_settings({"webhooks": webhooks})
    assert caught.value.key.startswith("notify.webhooks[") and "s3" not in str(caught.value)
