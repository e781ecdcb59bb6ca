"""The one error path: handlers raise these, the error middleware renders the envelope."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error that maps to an HTTP status and a stable machine-readable code."""

    status: int = 500
    code: str = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details
        self.headers = dict(headers or {})


class BadRequestError(ApiError):
    status = 400
    code = "bad_request"


class UnauthorizedError(ApiError):
    status = 401
    code = "unauthorized"


class ForbiddenError(ApiError):
    status = 403
    code = "forbidden"


class NotFoundError(ApiError):
    status = 404
    code = "not_found"


class ConflictError(ApiError):
    status = 409
    code = "conflict"


class PayloadTooLargeError(ApiError):
    status = 413
    code = "payload_too_large"


class ValidationFailedError(ApiError):
    status = 422
    code = "validation_error"


class RateLimitedError(ApiError):
    status = 429
    code = "rate_limited"


class ServiceUnavailableError(ApiError):
    """503 with Retry-After: the caller should come back, nothing was wrong with its input."""

    status = 503
    code = "unavailable"

    def __init__(self, message: str, *, retry_after: int = 1, code: str | None = None) -> None:
        super().__init__(message, code=code, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after


class StartupError(RuntimeError):
    """A service cannot run as configured (found while starting): one line for the operator."""
