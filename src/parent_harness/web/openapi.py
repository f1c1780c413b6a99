"""The OpenAPI document at `/docs/spec`: aiohttp-pydantic's, completed in one place.

aiohttp-pydantic documents what each handler's return annotation names. What the hub's
guard (`app.guarded`) answers in front of every route is added here once, so that every
status a route can answer is documented (checked by tests/fuzz/test_rest_fuzz.py):

- every operation: 401 (token), 403 (site or token role), 500 (the hub failed);
- one that changes state: 413 (body too large), 415 (not JSON), 422 (the store refused an
  event), 503 (not acknowledged);
- one that takes parameters or a body: 400 (they do not validate).

Every 4xx and 5xx is `application/problem+json`, a `Problem` (RFC 9457, problems.py).
A body a handler reads by hand (`POST /api/events`, for speed) is described by a model
given here. Every body is required.

Pydantic's JSON Schema becomes OpenAPI 3.0 through `_oas30`, installed as aiohttp-pydantic's
translator: its own keeps only the `type` of `X | None` (dropping the bounds, patterns and
lengths the hub checks, so a client would be told less than is enforced) and fails on
`Model | None`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web
from aiohttp_pydantic.oas.pydantic_schema_to_oas import add_or_replace_translater
from aiohttp_pydantic.oas.view import generate_oas
from pydantic import BaseModel

from parent_harness.problems import MEDIA_TYPE, json_response

REF = "#/components/schemas/{model}"
PROBLEM_REF = REF.format(model="Problem")
NULL = {"type": "null"}

EVERY_ROUTE = {
    "401": "Missing or wrong token (`unauthorized`).",
    "403": "A foreign Origin or unknown Host (`forbidden_site`), or a token that may not "
    "do this (`forbidden`).",
    "500": "The hub failed on this request (`internal`); its log has why.",
}
STATE_CHANGING = {
    "413": "The body is larger than --max-body-bytes (`too_large`).",
    "415": "The body is not Content-Type: application/json (`unsupported_media_type`).",
    "422": "The store refused an event for its content (`refused_by_store`): its seq holds "
    "a tombstone; `refused` and `committed` list the events of the request.",
    "503": "Not acknowledged: the store or the broker is unavailable (`unavailable`); "
    "retry with the same ids.",
}
WITH_INPUT = {"400": "Parameters or a body that do not validate (the problem names them)."}
SAFE = frozenset({"get", "head", "options"})


Bodies = Mapping[tuple[str, str], type[BaseModel]]
"""The body model of each (path, method) whose handler reads its body by hand."""


def complete(spec: dict[str, Any], problem: type[BaseModel], bodies: Bodies) -> dict[str, Any]:
    """`spec` with the guard's statuses on every operation, every error a `problem`, and
    the hand-read `bodies` described."""
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Problem", problem.model_json_schema(ref_template=REF))
    for (path, method), model in bodies.items():
        body = _oas30(model.model_json_schema(ref_template=REF))
        schemas.update(body.pop("$defs", {}))
        operation = spec["paths"][path][method]
        operation["requestBody"] = {"content": {"application/json": {"schema": body}}}
    for operations in spec.get("paths", {}).values():
        for method, operation in operations.items():
            _complete_operation(method, operation)
    return spec


def _oas30(node: Any) -> Any:
    """A pydantic JSON Schema as OpenAPI 3.0 writes it: `X | None` is `nullable`, and a
    `const` a one-value `enum` (3.0 has neither `type: null` nor `const`)."""
    if isinstance(node, list):
        return [_oas30(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _oas30(value) for key, value in node.items()}
    if NULL in node.get("anyOf", ()):
        others = [option for option in node.pop("anyOf") if option != NULL]
        node["nullable"] = True
        if len(others) == 1 and "$ref" not in others[0]:
            node.update(others[0])
        else:
            node["anyOf" if len(others) > 1 else "allOf"] = others
    if "const" in node:
        node["enum"] = [node.pop("const")]
    return node


def _translate(schema: dict[str, Any]) -> None:
    """aiohttp-pydantic's translator interface: converts `schema` in place."""
    translated = _oas30(schema)
    schema.clear()
    schema.update(translated)


def _complete_operation(method: str, operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    added = dict(EVERY_ROUTE)
    if method not in SAFE:
        added |= STATE_CHANGING
    if operation.get("parameters") or "requestBody" in operation:
        added |= WITH_INPUT
    if "requestBody" in operation:
        operation["requestBody"]["required"] = True
    for status, description in added.items():
        responses.setdefault(status, {"description": description})
    for status, response in responses.items():
        if int(status) >= 400:
            response["content"] = {MEDIA_TYPE: {"schema": {"$ref": PROBLEM_REF}}}
        response["description"] = response.get("description") or f"HTTP {status}"


def spec_route(problem: type[BaseModel], bodies: Bodies, title: str, version: str) -> web.RouteDef:
    """`GET /docs/spec`: the completed document of the app it is added to."""
    add_or_replace_translater("3.0.0", _translate)

    async def spec(request: web.Request) -> web.StreamResponse:
        generated = generate_oas([request.app], version_spec=version, title_spec=title)
        return json_response(complete(generated, problem, bodies))

    return web.get("/docs/spec", spec)
