"""The broker registry: backends by URL scheme, imported only when asked for; no cycles."""

from __future__ import annotations

import ast
import importlib
import inspect
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import parent_harness.brokers.base as base
from parent_harness.brokers import Broker, BrokerHandler, Capabilities, open_broker, schemes
from parent_harness.brokers.memory import MemoryBroker
from parent_harness.brokers.registry import BACKENDS

BROKERS = Path(base.__file__).parent


def test_the_registry_names_the_schemes_it_knows() -> None:
    assert schemes() == ["memory", "redis", "rediss", "unix"]
    assert isinstance(open_broker("memory://"), MemoryBroker)


def test_an_unknown_scheme_is_refused_by_name_without_its_password() -> None:
    for url, shown in [
        ("kafka://user:secret@host:9092", "'kafka://user:***@host:9092'"),
        ("redis+sentinel://:secret@host:26379", "'redis+sentinel://:***@host:26379'"),
        ("memory", "'memory'"),
    ]:
        with pytest.raises(ValueError) as refused:
            open_broker(url)
        message = str(refused.value)
        assert "secret" not in message and shown in message
        assert "memory://, redis://, rediss://, unix://" in message


def test_every_backend_the_registry_names_exists() -> None:
    for target in set(BACKENDS.values()):
        module, _, name = target.partition(":")
        path = BROKERS / f"{module.rsplit('.', 1)[1]}.py"
        classes = {n.name for n in ast.parse(path.read_text()).body if isinstance(n, ast.ClassDef)}
        assert name in classes, target


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_the_broker_protocol_imports_no_backend_and_no_registry() -> None:
    ours = {m for m in imported_modules(BROKERS / "base.py") if m.startswith("parent_harness")}
    assert not {m for m in ours if m.startswith("parent_harness.brokers")}, ours


def test_a_backend_imports_the_protocol_never_the_registry_or_another_backend() -> None:
    for backend in ("memory", "redis"):
        ours = {
            m
            for m in imported_modules(BROKERS / f"{backend}.py")
            if m.startswith("parent_harness.brokers")
        }
        assert {m.split(".")[2] for m in ours} == {"base"}, (backend, ours)


def test_redis_py_is_imported_only_for_a_redis_url() -> None:
    code = (
        "import sys; from parent_harness.brokers import open_broker; "
        "open_broker('memory://'); "
        "import parent_harness.hub.node; "
        "print(sorted(m for m in sys.modules if m == 'redis' or m.endswith('brokers.redis')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"


def methods(cls: type) -> dict[str, Any]:
    return {
        name: fn
        for name, fn in vars(cls).items()
        if inspect.isfunction(fn) and not name.startswith("_")
    }


@pytest.mark.parametrize(
    ("protocol", "implementation"),
    [
        (BrokerHandler, "parent_harness.hub.ingest:Ingest"),
        (Broker, "parent_harness.brokers.memory:MemoryBroker"),
        (Broker, "parent_harness.brokers.redis:RedisBroker"),
    ],
)
def test_each_side_of_the_seam_keeps_to_its_protocol(protocol: type, implementation: str) -> None:
    module, _, name = implementation.partition(":")
    cls = getattr(importlib.import_module(module), name)
    for method, declared in methods(protocol).items():
        actual = getattr(cls, method)
        assert list(inspect.signature(actual).parameters) == list(
            inspect.signature(declared).parameters
        ), (implementation, method)
        assert inspect.iscoroutinefunction(actual) == inspect.iscoroutinefunction(declared)
    if protocol is Broker:
        assert isinstance(cls.capabilities, Capabilities)
