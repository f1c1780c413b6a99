"""Which task ids may reach a path or an argv word (see `SAFE_TASK_ID` in the catalogue)."""

from __future__ import annotations

import re

from ..events.catalogue import SAFE_TASK_ID, SAFE_TASK_ID_LENGTH

SAFE_ID_RULE = (
    "a task id is letters, digits, '_', '-' and single dots between them, starts with a "
    f"letter or a digit and has at most {SAFE_TASK_ID_LENGTH} characters"
)


def is_safe_task_id(task_id: str) -> bool:
    """Whether ``task_id`` may reach a path or an argv word (see ``SAFE_TASK_ID``)."""
    return len(task_id) <= SAFE_TASK_ID_LENGTH and re.fullmatch(SAFE_TASK_ID, task_id) is not None
