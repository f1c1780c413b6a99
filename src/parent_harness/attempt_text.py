"""The default texts of what is done with a task attempt (issue 14): the merge commit's
message and the pull request's title.

Shared by the orchestrator, which uses them when a merge or pull request names none, and
the REST route that shows them (``GET /api/workspaces/{id}/defaults``), so the dashboard
pre-fills exactly what the server would use.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def merge_message(entity: Mapping[str, Any]) -> str:
    """``Merge <branch>: task <id>, attempt <n>``."""
    return f"Merge {entity['branch']}: task {entity['task_id']}, attempt {entity['attempt']}"


def pr_title(entity: Mapping[str, Any]) -> str:
    """``Task <id>, attempt <n>``."""
    return f"Task {entity['task_id']}, attempt {entity['attempt']}"
