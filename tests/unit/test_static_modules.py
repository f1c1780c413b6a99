"""The dashboard's index.html preloads every ES module, so a cold load fetches them at once
rather than one import level after another (bench/plan_graph_render.py measures it)."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

STATIC = Path(str(resources.files("parent_harness.web") / "static"))


def test_every_module_is_preloaded_and_every_preload_exists() -> None:
    html = (STATIC / "index.html").read_text()
    preloaded = set(re.findall(r'<link rel="modulepreload" href="/static/([^"]+)">', html))
    modules = {str(p.relative_to(STATIC)) for p in (STATIC / "js").rglob("*.js")}
    assert preloaded == modules - {"js/app.js"}
