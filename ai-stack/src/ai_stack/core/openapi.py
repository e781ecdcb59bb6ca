"""One route table per service: each Route registers a handler and documents it in OpenAPI 3.1,
from the same pydantic models the handler validates and serializes with, so the two cannot drift."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler
from pydantic import BaseModel

from ai_stack.core.access import ROUTE_SCOPES_KEY, RouteScope, default_scope

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "request_id": {"type": "string"},
                "details": {},
            },
            "required": ["code", "message", "request_id"],
        }
    },
    "required": ["error"],
}
_PATH_PARAMETER = re.compile(r"{(\w+)}")
# Every route can answer these: the error middleware, the body limit and the gateway.
COMMON_ERRORS = (400, 413, 503)


@dataclass(frozen=True)
class Route:
    """One route: its handler and what it takes and answers.

    `ok` lists the success statuses; `response` is the body of each of them (None: no body, or
    `media_type` for a body that is not JSON). `query` and `headers` model the query parameters
    and the request headers the handler reads (by alias). `scope` is what the caller's key needs
    (None: `read` for GET, `write` otherwise; `public`: no key at all).
    """

    method: str
    path: str
    handler: Handler
    summary: str
    request: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    errors: tuple[int, ...] = ()
    ok: tuple[int, ...] = (200,)
    query: type[BaseModel] | None = None
    headers: type[BaseModel] | None = None
    media_type: str = "application/json"
    scope: RouteScope | None = None

    @property
    def required_scope(self) -> RouteScope:
        return self.scope or default_scope(self.method)


@dataclass
class ApiDescription:
    """The routes of one service, rendered on demand at /openapi.json."""

    title: str
    version: str
    routes: list[Route] = field(default_factory=list)

    def document(self) -> dict[str, Any]:
        """The OpenAPI document."""
        schemas: dict[str, Any] = {"Error": ERROR_SCHEMA}
        paths: dict[str, dict[str, Any]] = {}
        for route in self.routes:
            paths.setdefault(route.path, {})[route.method.lower()] = self._operation(route, schemas)
        return {
            "openapi": "3.1.0",
            "info": {"title": self.title, "version": self.version},
            "paths": paths,
            "components": {"schemas": schemas},
        }

    @staticmethod
    def _ref(model: type[BaseModel], schemas: dict[str, Any], mode: str) -> dict[str, str]:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode=mode)  # type: ignore[arg-type]
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
        return {"$ref": f"#/components/schemas/{model.__name__}"}

    def _operation(self, route: Route, schemas: dict[str, Any]) -> dict[str, Any]:
        responses: dict[str, Any] = {}
        for status in route.ok:
            ok: dict[str, Any] = {"description": "OK"}
            if route.response is not None:
                schema = self._ref(route.response, schemas, "serialization")
                ok["content"] = {route.media_type: {"schema": schema}}
            elif route.media_type != "application/json":
                ok["content"] = {route.media_type: {"schema": {"type": "string"}}}
            responses[str(status)] = ok
        error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        for status in sorted({*route.errors, *COMMON_ERRORS}):
            responses[str(status)] = {"description": "error", **error}
        if route.required_scope != "public":
            for status in (401, 403):
                responses[str(status)] = {"description": "no valid key, or a key without the scope", **error}
            responses["429"] = {"description": "over the key's rate, concurrency or quota", **error}
        result: dict[str, Any] = {
            "summary": route.summary,
            "responses": responses,
            "x-required-scope": route.required_scope,
        }
        parameters = (
            _path_parameters(route.path)
            + _model_parameters(route.query, "query")
            + _model_parameters(route.headers, "header")
        )
        if parameters:
            result["parameters"] = parameters
        if route.request is not None:
            body = {"application/json": {"schema": self._ref(route.request, schemas, "validation")}}
            result["requestBody"] = {"required": True, "content": body}
        return result


def _path_parameters(path: str) -> list[dict[str, Any]]:
    return [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _PATH_PARAMETER.findall(path)
    ]


def _model_parameters(model: type[BaseModel] | None, location: str) -> list[dict[str, Any]]:
    if model is None:
        return []
    schema = model.model_json_schema(by_alias=True)
    required = set(schema.get("required", []))
    return [
        {"name": name, "in": location, "required": name in required, "schema": prop}
        for name, prop in schema.get("properties", {}).items()
    ]


def add_routes(app: web.Application, routes: Iterable[Route], description: ApiDescription) -> None:
    """Registers each route's handler, its scope and documents it: one table does all three."""
    scopes = app.setdefault(ROUTE_SCOPES_KEY, {})
    for route in routes:
        app.router.add_route(route.method, route.path, route.handler)
        scopes[(route.method, route.path)] = route.required_scope
        description.routes.append(route)
