"""`harness plan apply|show`, `harness task add --after`, `harness task retry` and
`harness approvals` against a real hub process."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from tests.conftest import HubProcess
from tests.integration.test_sdk_cli import run_harness

PLAN = """
id = "release-1"

[[tasks]]
id = "schema"
title = "Migrate the schema"

[[tasks]]
id = "api"
title = "Update the API"
depends_on = ["schema"]

[[tasks]]
id = "client"
title = "Update the client"
depends_on = ["api"]

[[tasks]]
id = "docs"
title = "Write the docs"
depends_on = [{ id = "schema", when = "always" }]
"""


async def harness(*args: str) -> tuple[int, str, str]:
    done = await asyncio.to_thread(run_harness, *args)
    return done.returncode, done.stdout, done.stderr


async def test_a_plan_file_is_applied_once_and_shown_as_a_tree(tmp_path: Path) -> None:
    plan = tmp_path / "plan.toml"
    plan.write_text(PLAN)
    hub = HubProcess(tmp_path / "hub.db")
    url = await hub.start()
    try:
        code, out, err = await harness("plan", "apply", str(plan), "--url", url)
        assert (code, out.strip()) == (0, "plan release-1: 4 created, 0 updated, 0 unchanged"), err
        code, out, err = await harness("plan", "apply", str(plan), "--url", url)
        assert out.strip() == "plan release-1: 0 created, 0 updated, 4 unchanged", err

        code, out, err = await harness("plan", "show", str(plan), "--url", url)
        assert code == 0, err
        lines = out.splitlines()
        assert lines[0] == "plan release-1 · 4 tasks"
        schema = next(i for i, line in enumerate(lines) if "schema queued" in line)
        api = next(i for i, line in enumerate(lines) if "api blocked" in line)
        client = next(i for i, line in enumerate(lines) if "client blocked" in line)
        docs = next(i for i, line in enumerate(lines) if "docs blocked" in line)
        assert schema < api < client and schema < docs
        assert "(always)" in lines[docs]
        indent = [len(lines[i]) - len(lines[i].lstrip("│├└─ ")) for i in (schema, api, client)]
        assert indent[0] < indent[1] < indent[2], "a child is not under its parent"

        code, out, err = await harness(
            "task", "add", "Ship it", "--id", "ship", "--after", "client", "--after",
            "docs:always", "--url", url,
        )  # fmt: skip
        assert (code, out.strip()) == (
            0,
            "blocked ship: Ship it (priority 0, waits for client, docs)",
        ), err
        code, out, err = await harness("task", "add", "Loop", "--after", "nope", "--url", url)
        assert code == 1 and "depends on nope: no such task" in err, err
        code, out, err = await harness("task", "add", "X", "--after", "ship:later", "--url", url)
        assert code == 2 and "'ship:later': the condition is on_success" in err, err

        code, out, err = await harness("task", "retry", "schema", "--with-dependents", "--url", url)
        assert (code, out.strip()) == (0, "queued schema again"), err
    finally:
        await hub.terminate()


async def test_a_plan_file_that_cannot_be_read_says_why(tmp_path: Path) -> None:
    broken = tmp_path / "plan.toml"
    broken.write_text("id = \n")
    code, _, err = await harness("plan", "show", str(broken), "--no-live")
    assert code == 2 and "plan.toml" in err and "error:" in err
    other = tmp_path / "plan.txt"
    other.write_text("{}")
    code, _, err = await harness("plan", "apply", str(other))
    assert code == 2 and "a plan is a .toml, .json or .yaml file" in err
    shaped = tmp_path / "plan.json"
    shaped.write_text('{"id": "p"}')
    code, _, err = await harness("plan", "apply", str(shaped))
    assert code == 2 and "a list of `tasks`" in err


async def test_approvals_are_listed_and_answered_from_the_terminal(tmp_path: Path) -> None:
    hub = HubProcess(tmp_path / "hub.db")
    url = await hub.start()
    try:
        approval = {"id": "ap1", "agent_id": "bot", "task_id": "t1", "tool": "Bash",
                    "summary": "run the tests", "detail": "pytest -q",
                    "options": ["allow", "deny"], "status": "pending"}  # fmt: skip
        payload = json.dumps({"approval": approval})
        code, out, err = await harness("publish", "approval:requested", payload, "--url", url)
        assert code == 0, err
        code, out, err = await harness("approvals", "list", "--url", url)
        assert code == 0 and "ap1  pending  bot on t1  Bash: run the tests" in out, out + err
        assert "pytest -q" in out
        code, out, err = await harness("approvals", "deny", "ap1", "--reason", "not now",
                                       "--url", url)  # fmt: skip
        assert (code, out.strip()) == (0, "ap1: deny"), err
        code, out, err = await harness("approvals", "allow", "ap1", "--url", url)
        assert code == 1 and "is answered (deny by cli) (HTTP 409)" in err, err
        code, out, err = await harness("approvals", "list", "--url", url)
        assert out.strip() == "no approvals pending"
    finally:
        await hub.terminate()
