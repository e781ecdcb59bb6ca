"""A dependency's refusal of what a request carried, answered as this service's own error."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ai_stack.clients.errors import ClientError, Conflict, Forbidden, NotFound, RateLimited, Unauthorized
from ai_stack.core.errors import (
    ApiError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    PayloadTooLargeError,
    RateLimitedError,
    ServiceUnavailableError,
    ValidationFailedError,
)


@contextmanager
def refusals_as_errors(service: str) -> Iterator[None]:
    """Turns a typed client's ClientError into the ApiError of the same status (a 401 from the
    dependency, or its 5xx, is this service's 503: the caller did nothing wrong; a 403 is the
    caller's key lacking a grant, which this service passed on)."""
    try:
        yield
    except ClientError as exc:
        raise translated(service, exc) from None


def translated(service: str, exc: ClientError) -> ApiError:
    message = exc.message.split(": ", 1)[-1]
    if isinstance(exc, NotFound):
        return NotFoundError(message, code=exc.code or "not_found")
    if isinstance(exc, Conflict):
        return ConflictError(message, code=exc.code or "conflict")
    if isinstance(exc, Forbidden):  # the caller's key, passed on, lacks a grant: its error
        return ForbiddenError(message, code=exc.code or "forbidden")
    if isinstance(exc, RateLimited):  # the caller's key is over its limit there: its 429, wait included
        return RateLimitedError(
            message,
            code=exc.code or "rate_limited",
            details={"retry_after_s": exc.retry_after_s},
            headers={"Retry-After": str(exc.retry_after_s)},
        )
    if isinstance(exc, Unauthorized) or exc.status is None or exc.status >= 500:
        return ServiceUnavailableError(f"{service} could not answer: {exc.message}")
    if exc.status == 413:
        return PayloadTooLargeError(message, code=exc.code or "payload_too_large")
    return ValidationFailedError(message, code=exc.code or "validation_error")
