"""What every typed client does: send a model, decode the answer into a model or a typed error."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

from ai_stack.clients.errors import decode
from ai_stack.core.http_client import ServiceClient

ModelT = TypeVar("ModelT", bound=BaseModel)


class TypedClient:
    """One service's API over a ServiceClient (pooled, traced, breaker-wrapped)."""

    service = "service"

    def __init__(self, http: ServiceClient) -> None:
        self._http = http

    async def _call(
        self,
        method: str,
        path: str,
        model: type[ModelT],
        body: BaseModel | None = None,
        *,
        ok: tuple[int, ...] = (200,),
        params: dict[str, str] | None = None,
        timeout_s: float | None = None,
    ) -> ModelT:
        payload: Any = body.model_dump(mode="json", exclude_unset=True) if body is not None else None
        status, answer = await self._http.request_json(
            method, path, json=payload, params=params, timeout_s=timeout_s
        )
        return decode(self.service, status, answer, model, ok)
