"""Each channel's markup: what turns the plain text of an event into text the channel shows.

Anything an event says (a task's title, an agent's name, an error message) is plain text,
and may be hostile: `<!channel> … <https://evil.example|the dashboard>` is, in Slack's mrkdwn,
a ping to everyone and a disguised link. Alert texts are built from plain pieces, each
passed through its channel's `Escape`; only the layout around them (the icon, the bullets,
the dashboard links the notifier builds itself) is written by the harness.

- Slack mrkdwn (the webhooks' `text`): `&`, `<` and `>` become `&amp;`, `&lt;`, `&gt;`, the
  three characters Slack reads as control characters
  (https://api.slack.com/reference/surfaces/formatting#escaping).
- Telegram: messages go out without `parse_mode`, so nothing is markup and nothing is escaped.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["Escape", "plain", "slack_mrkdwn"]

Escape = Callable[[str], str]
"""Makes a piece of plain text safe to place in a channel's markup."""

_SLACK = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def plain(text: str) -> str:
    """Text for a channel without markup (Telegram without `parse_mode`): unchanged."""
    return text


def slack_mrkdwn(text: str) -> str:
    """Text for Slack's mrkdwn: its control characters `&`, `<`, `>` as entities."""
    return text.translate(_SLACK)
