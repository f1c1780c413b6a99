"""an index on the tasks' plan_id, on SQLite (GET /api/tasks?plan_id=, the plan graph)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 15:20:00

`plan_id` lives in the task's JSON `data`; the index is on the very expression
`store/queries.py` filters with (`_json_text`), which is what lets SQLite use it: without
it, listing one plan's tasks reads every task (100,000 tasks: 0.7 s; with it, 3 ms).
PostgreSQL gets none: an index on `CAST(data AS JSONB) ->> 'plan_id'` (or `JSON`) makes
every write of a task whose JSON holds an escaped NUL fail (`\\u0000` cannot be converted
to text), and the store takes those rows today; a real column would be the way there.
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

EXPRESSION = "json_extract(data, '$.plan_id')"
"""What `_json_text(tasks.c.data, "plan_id")` compiles to on SQLite."""


def upgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        op.execute(f"CREATE INDEX ix_tasks_plan_id ON tasks ({EXPRESSION})")


def downgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        op.execute("DROP INDEX ix_tasks_plan_id")
