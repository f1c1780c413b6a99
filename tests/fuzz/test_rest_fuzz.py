"""Schemathesis against a real hub: every operation of /docs/spec, valid and invalid input.

Each operation gets a few positive and a few negative examples, derandomized so the run is
the same on every machine. A response fails when it is a 5xx, carries a status or a media
type its operation does not document, does not match the documented schema, or refuses
a request the spec says is valid.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from parent_harness.web.app import HubServer
from tests.conftest import RunningHub, settings_for

MAX_EXAMPLES = 10
CHECKS: dict[GenerationMode, list[Any]] = {
    GenerationMode.POSITIVE: [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
        positive_data_acceptance,
    ],
    GenerationMode.NEGATIVE: [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
        negative_data_rejection,
    ],
}


POINTS_IN_THE_LOG = {"/api/state", "/api/history/timeline"}
"""Operations whose well-formed input may name a point the log does not hold (a seq past
its head, a time before its first event) or a range backwards (a timeline's `end` before
its `start`), which they answer 400 as documented: the fuzzer cannot know the log, nor
relate two parameters, so only the other checks apply to them."""
CONFORMANCE = [not_a_server_error, status_code_conformance, content_type_conformance]
CONFORMANCE += [response_schema_conformance]


def _fuzz(
    url: str,
    modes: dict[GenerationMode, list[Any]] = CHECKS,
    examples: int = MAX_EXAMPLES,
    headers: dict[str, str] | None = None,
) -> list[str]:
    """Runs every operation of the hub at `url`; the failures, one line each."""
    schema = schemathesis.openapi.from_url(url + "/docs/spec", timeout=10)
    failures: list[str] = []
    with requests.Session() as http:
        if headers:
            http.headers.update(headers)
        for result in schema.get_all_operations():
            operation = result.ok()
            for mode, checks in modes.items():
                if operation.path in POINTS_IN_THE_LOG:
                    checks = [c for c in checks if c is not positive_data_acceptance]
                failures += _run(operation, mode, checks, url, http, examples)
    return failures


def _run(
    operation: Any, mode: GenerationMode, checks: list[Any], url: str, http: Any, examples: int
) -> list[str]:
    failures: list[str] = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    def fuzz(case: Any) -> None:
        try:
            case.call_and_validate(base_url=url, session=http, checks=checks, timeout=10)
        except (AssertionError, BaseExceptionGroup) as exc:  # collected: the run goes on
            failures.append(f"{operation.label} ({mode.value}): {exc}")

    try:
        fuzz()
    except Unsatisfiable:  # an operation without parameters or a body has no invalid input
        assert mode is GenerationMode.NEGATIVE, operation.label
    return failures


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[RunningHub]:
    """The open hub of tests/conftest.py, but a worker's long poll (which a well-formed
    request may ask to wait 30 s for work) answers at once."""
    server = HubServer(settings_for(tmp_path, max_poll_s=0.0))
    await server.start()
    async with aiohttp.ClientSession() as session:
        yield RunningHub(server, session)
    await server.stop()


@pytest.mark.timeout(90)
async def test_every_operation_answers_as_documented(hub: RunningHub) -> None:
    failures = await asyncio.to_thread(_fuzz, hub.url)
    assert not failures, "\n\n".join(failures)


@pytest.mark.parametrize("presented", [None, "wrong", "reader"])
@pytest.mark.timeout(90)
async def test_refusals_of_the_guard_are_documented(tmp_path: Path, presented: str | None) -> None:
    """With tokens required, no token or a wrong one (401 everywhere) and a read token
    (403 on every state-changing route) get answers the document lists, in its shape."""
    server = HubServer(settings_for(tmp_path, tokens=("writer",), read_tokens=("reader",)))
    url = await server.start()
    headers = {"Authorization": f"Bearer {presented}"} if presented else None
    modes = {GenerationMode.POSITIVE: CONFORMANCE}
    try:
        failures = await asyncio.to_thread(_fuzz, url, modes, 2, headers)
    finally:
        await server.stop()
    assert not failures, "\n\n".join(failures)
