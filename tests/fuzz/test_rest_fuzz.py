"""Schemathesis against a real hub: every operation of /docs/spec, valid and invalid input.

Each operation gets a few positive and a few negative examples, derandomized so the run is
the same on every machine. A response fails when it is a 5xx, carries a status or a media
type its operation does not document, does not match the documented schema, or refuses
a request the spec says is valid.
"""

from __future__ import annotations

import asyncio
from typing import Any

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

from tests.conftest import RunningHub

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


def _fuzz(url: str) -> list[str]:
    """Runs every operation of the hub at `url`; the failures, one line each."""
    schema = schemathesis.openapi.from_url(url + "/docs/spec", timeout=10)
    failures: list[str] = []
    with requests.Session() as http:
        for result in schema.get_all_operations():
            operation = result.ok()
            for mode, checks in CHECKS.items():
                failures += _run(operation, mode, checks, url, http)
    return failures


def _run(operation: Any, mode: GenerationMode, checks: list[Any], url: str, http: Any) -> list[str]:
    failures: list[str] = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
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


@pytest.mark.timeout(90)
async def test_every_operation_answers_as_documented(hub: RunningHub) -> None:
    failures = await asyncio.to_thread(_fuzz, hub.url)
    assert not failures, "\n\n".join(failures)
