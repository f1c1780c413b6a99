"""Dependencies and plans over REST: tasks blocked by their parents, plans applied in one
step and again without change, and edges refused with the tasks at fault named."""

from __future__ import annotations

from tests.conftest import RunningHub


async def test_a_task_with_parents_is_blocked_until_they_end(hub: RunningHub) -> None:
    status, first = await hub.post("/api/tasks", {"id": "first", "title": "first"})
    assert status == 201, first
    status, body = await hub.post(
        "/api/tasks",
        {"id": "second", "title": "second", "depends_on": ["first", {"id": "x", "when": "always"}]},
    )
    assert (status, body["code"], body["reason"], body["tasks"]) == (
        409,
        "bad_dependencies",
        "unknown_parent",
        ["x"],
    ), body
    status, body = await hub.post(
        "/api/tasks", {"id": "second", "title": "second", "depends_on": ["first"]}
    )
    assert status == 201, body
    assert (body["task"]["status"], body["task"]["blocked_by"]) == ("blocked", ["first"])
    status, listed = await hub.get("/api/tasks?status=blocked")
    assert [t["id"] for t in listed["items"]] == ["second"]
    status, snap = await hub.get("/api/snapshot")
    assert "second" in {t["id"] for t in snap["tasks"]}, "a blocked task is not in the snapshot"


async def test_a_plan_is_applied_once_and_refused_whole_when_it_has_a_cycle(
    hub: RunningHub,
) -> None:
    plan = {
        "id": "release-1",
        "tasks": [
            {"id": "schema", "title": "Migrate the schema"},
            {"id": "api", "title": "Update the API", "depends_on": ["schema"], "priority": 5},
            {"id": "docs", "title": "Docs", "depends_on": [{"id": "schema", "when": "always"}]},
        ],
    }
    status, body = await hub.post("/api/plans", plan)
    assert status == 200, body
    assert (body["created"], body["updated"], body["unchanged"]) == (
        ["schema", "api", "docs"],
        [],
        0,
    )
    status, listed = await hub.get("/api/tasks?plan_id=release-1&limit=2")
    assert [t["id"] for t in listed["items"]] == ["docs", "api"] and listed["next_cursor"]
    status, rest = await hub.get(f"/api/tasks?plan_id=release-1&cursor={listed['next_cursor']}")
    assert [t["id"] for t in rest["items"]] == ["schema"]
    status, spec = await hub.get("/docs/spec")
    params = spec["paths"]["/api/tasks"]["get"]["parameters"]
    assert "plan_id" in {p["name"] for p in params}
    status, again = await hub.post("/api/plans", plan)
    assert (status, again["created"], again["updated"], again["unchanged"]) == (200, [], [], 3)
    assert again["seq"] == body["seq"], "applying the plan again published something"

    plan["tasks"][2]["description"] = "Also the changelog"
    status, changed = await hub.post("/api/plans", plan)
    assert (changed["created"], changed["updated"], changed["unchanged"]) == ([], ["docs"], 2)

    status, events = await hub.get("/api/events?type=plan:applied")
    assert [e["payload"]["plan"]["updated"] for e in events["items"]] == [["docs"], []]

    looping = {
        "id": "bad",
        "tasks": [
            {"id": "new-a", "title": "a", "depends_on": ["new-b"]},
            {"id": "new-b", "title": "b", "depends_on": ["api"]},
            {"id": "api", "title": "Update the API", "depends_on": ["new-a"]},
        ],
    }
    status, refused = await hub.post("/api/plans", looping)
    assert (status, refused["reason"]) == (409, "cycle"), refused
    assert set(refused["tasks"]) == {"new-a", "new-b", "api"}
    status, missing = await hub.get("/api/tasks/new-a")
    assert status == 404, "a refused plan created a task"


async def test_retrying_an_unknown_task_with_its_dependents_is_a_404(hub: RunningHub) -> None:
    status, body = await hub.post("/api/tasks/nope/retry?with_dependents=true", {})
    assert (status, body["code"]) == (404, "not_found")
