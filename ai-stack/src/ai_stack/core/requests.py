"""Reading request bodies into validated pydantic models, with the right 4xx on bad input."""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from aiohttp import web
from pydantic import BaseModel, ValidationError

from ai_stack.core.errors import BadRequestError, ValidationFailedError

ModelT = TypeVar("ModelT", bound=BaseModel)


def _describe(errors: list[Any]) -> list[dict[str, str]]:
    return [
        {"field": ".".join(str(p) for p in err["loc"]) or "(body)", "message": err["msg"]} for err in errors
    ]


def _validation_failed(exc: ValidationError) -> ValidationFailedError:
    details = _describe(exc.errors())
    first = details[0]
    return ValidationFailedError(f"{first['field']}: {first['message']}", details=details)


async def read_model(request: web.Request, model: type[ModelT]) -> ModelT:
    """Parses the JSON body: 400 when it is not JSON, 422 when it does not fit `model`."""
    raw = await request.read()  # raises 413 via client_max_size before we see the body
    if not raw:
        raise BadRequestError("the request body is empty; a JSON object is expected")
    try:
        payload = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequestError(f"malformed JSON: {exc}", code="malformed_json") from None
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise _validation_failed(exc) from None


def read_query(request: web.Request, model: type[ModelT]) -> ModelT:
    """Validates the query string into `model`: 422 naming the parameter when it does not fit."""
    try:
        return model.model_validate(dict(request.query))
    except ValidationError as exc:
        raise _validation_failed(exc) from None


def model_response(
    body: BaseModel, *, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """A response model serialized as its OpenAPI schema describes it."""
    data = body.model_dump(mode="json", by_alias=True)
    return json_response(data, status=status, headers=headers)


def json_response(data: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON response serialised with orjson (numpy arrays included, fast float formatting)."""
    body = orjson.dumps(data, option=orjson.OPT_SERIALIZE_NUMPY)
    return web.Response(body=body, status=status, headers=headers, content_type="application/json")
