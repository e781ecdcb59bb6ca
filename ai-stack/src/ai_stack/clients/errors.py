"""Errors of the typed clients, one class per kind of answer, and decoding of answers (pure)."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

ModelT = TypeVar("ModelT", bound=BaseModel)


class ClientError(Exception):
    """A service refused or could not answer a call: status, the envelope's code and message."""

    def __init__(
        self, message: str, *, status: int | None = None, code: str = "", request_id: str = ""
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.request_id = request_id


class InvalidRequest(ClientError):
    """400, 413 or 422: the call's input was refused; sending it again will not help."""


class Unauthorized(ClientError):
    """401 or 403: the API key is missing, wrong or not allowed this call."""


class Forbidden(Unauthorized):
    """403: the key is valid but lacks the scope or the project this call needs."""


class NotFound(ClientError):
    """404: no such thing."""


class Conflict(ClientError):
    """409: it exists already."""


class RateLimited(ClientError):
    """429: too many calls; come back in `retry_after_s` seconds."""

    retry_after_s: int = 1


class Unavailable(ClientError):
    """5xx or no answer: the service or one of its dependencies is down; retry later."""


_BY_STATUS: dict[int, type[ClientError]] = {
    400: InvalidRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: InvalidRequest,
    422: InvalidRequest,
    429: RateLimited,
}


def error_for(service: str, status: int, body: Any) -> ClientError:
    """The typed error for a refused call, with the envelope's code and message when present."""
    envelope = body.get("error") if isinstance(body, dict) else None
    envelope = envelope if isinstance(envelope, dict) else {}
    code, message = str(envelope.get("code", "")), str(envelope.get("message", ""))
    kind = _BY_STATUS.get(status, Unavailable if status >= 500 else InvalidRequest)
    text = f"{service} answered {status} {code}: {message}" if message else f"{service} answered {status}"
    error = kind(text, status=status, code=code, request_id=str(envelope.get("request_id", "")))
    if isinstance(error, RateLimited):
        details = envelope.get("details")
        wait = details.get("retry_after_s") if isinstance(details, dict) else None
        if isinstance(wait, int) and not isinstance(wait, bool) and 0 < wait <= 3600:
            error.retry_after_s = wait
    return error


def decode(service: str, status: int, body: Any, model: type[ModelT], ok: tuple[int, ...] = (200,)) -> ModelT:
    """The answer as `model` when `status` is a success, else the typed error."""
    if status not in ok:
        raise error_for(service, status, body)
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        # A success that breaks the contract: the service is not the version this client speaks.
        raise Unavailable(
            f"{service} answered {status} outside its contract: {exc.errors()[0]['msg']}"
        ) from None
