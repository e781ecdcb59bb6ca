"""A small OpenAPI 3.1 document built from the route table's pydantic models."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

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


@dataclass(frozen=True)
class Operation:
    """One documented route."""

    method: str
    path: str
    summary: str
    request: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    errors: tuple[int, ...] = ()


@dataclass
class ApiDescription:
    """The operations of one service, rendered on demand at /openapi.json."""

    title: str
    version: str
    operations: list[Operation] = field(default_factory=list)

    def document(self) -> dict[str, Any]:
        """The OpenAPI document."""
        schemas: dict[str, Any] = {"Error": ERROR_SCHEMA}
        paths: dict[str, dict[str, Any]] = {}
        for op in self.operations:
            paths.setdefault(op.path, {})[op.method.lower()] = self._operation(op, schemas)
        return {
            "openapi": "3.1.0",
            "info": {"title": self.title, "version": self.version},
            "paths": paths,
            "components": {"schemas": schemas},
        }

    @staticmethod
    def _ref(model: type[BaseModel], schemas: dict[str, Any]) -> dict[str, str]:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
        return {"$ref": f"#/components/schemas/{model.__name__}"}

    def _operation(self, op: Operation, schemas: dict[str, Any]) -> dict[str, Any]:
        ok: dict[str, Any] = {"description": "OK"}
        if op.response is not None:
            ok["content"] = {"application/json": {"schema": self._ref(op.response, schemas)}}
        responses: dict[str, Any] = {"200": ok}
        error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        for status in op.errors:
            responses[str(status)] = {"description": "error", **error}
        result: dict[str, Any] = {"summary": op.summary, "responses": responses}
        if op.request is not None:
            body = {"application/json": {"schema": self._ref(op.request, schemas)}}
            result["requestBody"] = {"required": True, "content": body}
        return result
