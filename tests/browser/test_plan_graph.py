"""The task graph on the dashboard: a plan drawn as a layered DAG (nodes, edges by
condition, layers, live status colours, the critical path, a click to the task), the
task page's parents and children, the `blocked` filter, and the layout module itself."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, expect

from tests.browser.conftest import Dashboard, HubProcess
from tests.browser.fleet import task

pytestmark = pytest.mark.browser

PLAN: dict[str, Any] = {
    "id": "release-1",
    "tasks": [
        {"id": "schema", "title": "Migrate the schema"},
        {"id": "api", "title": "Update the API", "depends_on": ["schema"]},
        {"id": "client", "title": "Update the client", "depends_on": ["api"]},
        {
            "id": "docs",
            "title": "Write the docs",
            "depends_on": [{"id": "schema", "when": "always"}],
        },
        {
            "id": "rollback",
            "title": "Roll the API back",
            "depends_on": [{"id": "api", "when": "on_failure"}],
        },
        {"id": "notes", "title": "Release notes", "depends_on": ["client", "docs"]},
    ],
}
LAYERS = {"schema": 0, "api": 1, "docs": 1, "client": 2, "rollback": 2, "notes": 3}


def apply_plan(hub: HubProcess, plan: dict[str, Any]) -> dict[str, Any]:
    """POST /api/plans, as `harness plan apply` does."""
    req = urllib.request.Request(
        hub.url + "/api/plans",
        data=json.dumps(plan).encode(),
        headers={"Content-Type": "application/json", **hub.auth()},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        body: dict[str, Any] = json.loads(resp.read())
    return body


def node(dashboard: Dashboard, task_id: str) -> Locator:
    return dashboard.page.get_by_test_id("plan-graph").locator(
        f"[data-testid='plan-node'][data-task-id='{task_id}']"
    )


def critical_nodes(dashboard: Dashboard) -> list[str]:
    ids: list[str] = dashboard.page.eval_on_selector_all(
        "[data-testid='plan-node'][data-critical='true']",
        "els => els.map(e => e.dataset.taskId).sort()",
    )
    return ids


def test_a_plan_is_drawn_in_layers_with_its_edges_and_critical_path(dashboard: Dashboard) -> None:
    hub = dashboard.hub
    apply_plan(hub, PLAN)
    hub.publish(task("elsewhere", title="Not in the plan", status="queued"))
    dashboard.open("#/plans/release-1")
    page = dashboard.page
    graph = page.get_by_test_id("plan-graph")
    expect(graph.get_by_test_id("plan-node")).to_have_count(6)
    layers = page.eval_on_selector_all(
        "[data-testid='plan-node']",
        "els => Object.fromEntries(els.map(e => [e.dataset.taskId, +e.dataset.layer]))",
    )
    assert layers == LAYERS
    edges = page.eval_on_selector_all(
        "[data-testid='plan-edge']",
        "els => els.map(e => [e.dataset.parent, e.dataset.child, e.dataset.when]).sort()",
    )
    assert edges == sorted(
        [
            ["schema", "api", "on_success"],
            ["api", "client", "on_success"],
            ["schema", "docs", "always"],
            ["api", "rollback", "on_failure"],
            ["client", "notes", "on_success"],
            ["docs", "notes", "on_success"],
        ]
    )
    labels = sorted(graph.get_by_test_id("plan-edge-label").all_text_contents())
    assert labels == ["always", "on failure"]
    expect(node(dashboard, "schema")).to_have_attribute("data-status", "queued")
    expect(node(dashboard, "notes")).to_have_attribute("data-status", "blocked")
    expect(page.get_by_test_id("plan-summary")).to_contain_text("6 tasks · 6 edges")
    # The longest chain of unfinished tasks.
    assert critical_nodes(dashboard) == ["api", "client", "notes", "schema"]
    expect(page.get_by_test_id("plan-critical")).to_contain_text("schema → api → client → notes")
    critical_edges = page.eval_on_selector_all(
        "[data-testid='plan-edge'][data-critical='true']",
        "els => els.map(e => `${e.dataset.parent}>${e.dataset.child}`).sort()",
    )
    assert critical_edges == ["api>client", "client>notes", "schema>api"]
    # No two boxes overlap.
    boxes = [n.bounding_box() for n in graph.get_by_test_id("plan-node").all()]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert a and b
            apart = (
                a["x"] + a["width"] <= b["x"]
                or b["x"] + b["width"] <= a["x"]
                or a["y"] + a["height"] <= b["y"]
                or b["y"] + b["height"] <= a["y"]
            )
            assert apart, (a, b)

    # Live: the page is not reloaded, the node is recoloured and the critical path moves on.
    dashboard.script("window.samePage = true")
    hub.publish(task("schema", type_="task:completed", status="completed"))
    expect(node(dashboard, "schema")).to_have_attribute("data-status", "completed")
    expect(node(dashboard, "schema")).not_to_have_attribute("data-critical", "true")
    expect(page.get_by_test_id("plan-critical")).to_contain_text("api → client → notes")
    hub.publish(task("api", type_="task:updated", status="running"))
    expect(node(dashboard, "api")).to_have_attribute("data-status", "running")
    color = node(dashboard, "api").locator("rect").evaluate("r => getComputedStyle(r).fill")
    queued = node(dashboard, "docs").locator("rect").evaluate("r => getComputedStyle(r).fill")
    assert color != queued, "a running task is drawn like a blocked one"
    assert dashboard.script("window.samePage") is True

    # Click a node: its task's page.
    node(dashboard, "client").click()
    expect(page.get_by_test_id("page-task")).to_be_visible()
    expect(page.get_by_test_id("task-detail-title")).to_have_text("Update the client")
    assert page.evaluate("location.hash") == "#/tasks/client"
    assert dashboard.errors == []


def test_a_task_lists_its_parents_and_children_with_their_live_status(
    dashboard: Dashboard,
) -> None:
    hub = dashboard.hub
    apply_plan(hub, PLAN)
    dashboard.open("#/tasks/api")
    page = dashboard.page
    parents = page.get_by_test_id("task-parents").get_by_test_id("task-parent")
    expect(parents).to_have_count(1)
    expect(parents.first).to_have_attribute("data-task-id", "schema")
    expect(parents.first.get_by_test_id("relation-status")).to_have_text("queued")
    expect(parents.first.get_by_test_id("relation-when")).to_have_text("on success")
    children = page.get_by_test_id("task-children").get_by_test_id("task-child")
    expect(children).to_have_count(2)
    assert [c.get_attribute("data-task-id") for c in children.all()] == ["client", "rollback"]
    expect(children.nth(1).get_by_test_id("relation-when")).to_have_text("on failure")
    expect(page.get_by_test_id("task-waits")).to_contain_text("Waits for schema to end.")
    expect(page.get_by_test_id("task-plan-link")).to_have_attribute("href", "#/plans/release-1")

    hub.publish(task("schema", type_="task:completed", status="completed"))
    expect(parents.first.get_by_test_id("relation-status")).to_have_text("completed")

    dashboard.go("#/tasks/notes")
    expect(page.get_by_test_id("task-detail-title")).to_have_text("Release notes")
    expect(page.get_by_test_id("task-waits")).to_contain_text("Waits for client, docs to end.")
    expect(page.get_by_test_id("task-children").get_by_test_id("task-child")).to_have_count(0)
    parent_rows = page.get_by_test_id("task-parents").get_by_test_id("task-parent")
    expect(parent_rows).to_have_count(2)
    parent_rows.first.get_by_test_id("relation-link").click()
    expect(page.get_by_test_id("task-detail-title")).to_have_text("Update the client")

    page.get_by_test_id("task-plan-link").click()
    expect(page.get_by_test_id("plan-title")).to_have_text("Plan release-1")
    expect(page.get_by_test_id("plan-node")).to_have_count(6)

    # A task outside any plan, with no parent and no child: no empty Dependencies panel.
    hub.publish(task("alone", type_="task:created", status="queued", title="On its own"))
    dashboard.go("#/tasks/alone")
    expect(page.get_by_test_id("task-detail-title")).to_have_text("On its own")
    expect(page.get_by_test_id("task-graph")).to_be_hidden()
    dashboard.go("#/tasks/api")  # and back on a task with edges, it shows again
    expect(page.get_by_test_id("task-graph")).to_be_visible()
    assert dashboard.errors == []


def test_the_tasks_list_filters_blocked_and_links_to_the_plan(dashboard: Dashboard) -> None:
    hub = dashboard.hub
    apply_plan(hub, PLAN)
    hub.publish(task("loose", title="No plan", status="queued"))
    dashboard.open("#/tasks")
    page = dashboard.page
    page.get_by_test_id("status-filter-blocked").click()
    cards = page.get_by_test_id("task-list").get_by_test_id("task-card")
    expect(cards).to_have_count(5)
    assert {c.get_attribute("data-status") for c in cards.all()} == {"blocked"}
    assert page.evaluate("location.hash") == "#/tasks?status=blocked"
    notes = page.get_by_test_id("task-list").locator("[data-task-id='notes']")
    expect(notes.get_by_test_id("task-deps")).to_have_text("waits for client, docs")
    notes.get_by_test_id("task-plan").click()
    expect(page.get_by_test_id("plan-title")).to_have_text("Plan release-1")
    expect(page.get_by_test_id("plan-node")).to_have_count(6)

    # A plan whose task follows one outside it; the list of plans links to both.
    apply_plan(
        hub, {"id": "hotfix", "tasks": [{"id": "patch", "title": "Patch", "depends_on": ["api"]}]}
    )
    dashboard.go("#/tasks")
    page.get_by_test_id("plans-link").click()
    plans = page.get_by_test_id("plan-list").get_by_test_id("plan-link")
    expect(plans).to_have_text(["hotfix", "release-1"])
    plans.first.click()
    expect(page.get_by_test_id("plan-node")).to_have_count(1)
    expect(page.get_by_test_id("plan-edge")).to_have_count(0)
    expect(page.get_by_test_id("plan-summary")).to_contain_text("after api (outside the plan)")
    dashboard.go("#/plans/nope")
    expect(page.get_by_test_id("plan-empty")).to_have_text("No task of plan nope is known.")
    expect(page.get_by_test_id("plan-node")).to_have_count(0)
    dashboard.go("#/plans/release-1")
    expect(page.get_by_test_id("plan-node")).to_have_count(6)
    expect(page.get_by_test_id("plan-empty")).to_be_hidden()
    expect(page.get_by_role("link", name="Release notes, blocked")).to_be_visible()
    assert dashboard.errors == []


def test_a_wide_plan_scrolls_inside_its_panel_on_a_phone(browser: Browser, hub: HubProcess) -> None:
    wide = {
        "id": "wide",
        "tasks": [{"id": "root", "title": "root"}]
        + [{"id": f"leaf-{i}", "title": f"leaf {i}", "depends_on": ["root"]} for i in range(12)],
    }
    apply_plan(hub, wide)
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    try:
        page = context.new_page()
        page.goto(f"{hub.url}/#/plans/wide")
        expect(page.get_by_test_id("plan-node")).to_have_count(13)
        sizes = page.evaluate(
            """() => {
              const s = document.querySelector('[data-testid="plan-graph-scroll"]');
              return {page: document.documentElement.scrollWidth, view: innerWidth,
                      inner: s.scrollWidth, outer: s.clientWidth};
            }"""
        )
        assert sizes["page"] <= sizes["view"], sizes
        assert sizes["inner"] > sizes["outer"], sizes
    finally:
        context.close()


LAYOUT_CHECK = """
async () => {
  const m = await import('/static/js/dag_layout.js');
  // A deterministic pseudo-random DAG of 300 nodes: each node has up to 3 earlier parents.
  let seed = 7;
  const rand = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
  const ids = Array.from({length: 300}, (_, i) => `n${i}`);
  const edges = [];
  for (let i = 1; i < ids.length; i += 1)
    for (let k = 0; k < 3; k += 1)
      if (rand() < 0.6) edges.push({parent: ids[Math.floor(rand() * i)], child: ids[i]});
  const layout = m.layoutDag(ids, edges);
  const flat = m.layoutDag(ids, edges, {sweeps: 0});
  const parents = new Map(ids.map((id) => [id, []]));
  for (const e of edges) parents.get(e.child).push(e.parent);
  const wrongLayer = ids.filter((id) => {
    const ps = parents.get(id);
    const want = ps.length ? Math.max(...ps.map((p) => layout.layerOf.get(p))) + 1 : 0;
    return layout.layerOf.get(id) !== want;
  });
  const placed = m.placeNodes(layout, {nodeWidth: 100, nodeHeight: 30, gapX: 10, gapY: 20});
  const boxes = [...placed.at.values()];
  let overlaps = 0;
  for (let i = 0; i < boxes.length; i += 1)
    for (let j = i + 1; j < boxes.length; j += 1) {
      const a = boxes[i], b = boxes[j];
      if (a.x < b.x + 100 && b.x < a.x + 100 && a.y < b.y + 30 && b.y < a.y + 30) overlaps += 1;
    }
  const inside = boxes.every(
    (b) => b.x >= 0 && b.y >= 0 && b.x + 100 <= placed.width && b.y + 30 <= placed.height);
  const path = m.criticalPath(ids, edges, () => true);
  const joined = path.every((id, i) => i === 0 || parents.get(id).includes(path[i - 1]));
  const e = (parent, child) => ({parent, child});
  const cycle = m.layoutDag(['a', 'b', 'c'], [e('a', 'b'), e('b', 'a'), e('a', 'c')]);
  const skip = m.criticalPath(['a', 'b', 'c'], [e('a', 'b'), e('b', 'c')], (id) => id !== 'b');
  return {
    placedAll: placed.at.size === ids.length,
    wrongLayer: wrongLayer.length,
    overlaps,
    inside,
    crossings: layout.crossings,
    recount: m.crossingsOf(layout, edges),
    before: flat.crossings,
    pathLength: path.length,
    deepest: layout.layers.length,
    joined,
    cycleNodes: cycle.layers.flat().sort(),
    skip,
  };
}
"""


def test_the_layout_module_layers_orders_and_places_without_overlap(
    dashboard: Dashboard,
) -> None:
    dashboard.open("#/")
    result = dashboard.page.evaluate(LAYOUT_CHECK)
    assert result["placedAll"] and result["inside"], result
    assert result["wrongLayer"] == 0, "a layer is not the longest path from the roots"
    assert result["overlaps"] == 0
    assert result["recount"] == result["crossings"]
    assert result["crossings"] < result["before"], "the sweeps did not reduce crossings"
    # With every task unfinished the critical path is the longest path: one node per layer.
    assert result["joined"] and result["pathLength"] == result["deepest"]
    assert result["cycleNodes"] == ["a", "b", "c"], "a cycle lost nodes"
    assert result["skip"] in (["a"], ["c"]), "a finished task joined the critical path"
