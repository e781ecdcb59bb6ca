"""What the CLI's service clients share: one service under the TLS gateway with an API key,
retries of 502-504 for idempotent calls, and one-line errors an operator can act on."""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx
from pydantic import BaseModel

from ai_stack.cli.connection import KEY_SOURCES
from ai_stack.clients.errors import ClientError, Unauthorized, Unavailable, decode

ModelT = TypeVar("ModelT", bound=BaseModel)

RETRIED_STATUSES = frozenset({502, 503, 504})
RETRIES = 3
MAX_RETRY_WAIT_S = 10.0


class GatewayClient:
    """One service under `<base_url>/<service>`; 502-504 are retried for the idempotent calls.

    Every failure is a `ClientError` whose message is one line an operator can act on.
    """

    service = "aidb"  # its gateway prefix, also the name its errors are reported under

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        verify: ssl.SSLContext | bool = True,
        cafile_hint: Path | None = None,
        timeout_s: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not api_key:
            raise Unauthorized(f"no API key: pass {KEY_SOURCES} (create one with `ai-stack keys create`)")
        self.base_url = base_url.rstrip("/")
        self._cafile_hint = cafile_hint
        self._sleep = sleep
        # trust_env=False: proxy variables must not divert calls to the local gateway.
        self._http = httpx.Client(
            base_url=f"{self.base_url}/{self.service}",
            headers={"X-API-Key": api_key},
            verify=verify,
            timeout=httpx.Timeout(timeout_s, connect=5.0),
            trust_env=False,
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _call(
        self,
        method: str,
        path: str,
        model: type[ModelT],
        *,
        retry: bool,
        ok: tuple[int, ...] = (200,),
        **kwargs: Any,
    ) -> ModelT:
        attempts = RETRIES + 1 if retry else 1
        for attempt in range(1, attempts + 1):
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                raise Unavailable(self._transport_message(exc)) from None
            if response.status_code not in RETRIED_STATUSES or attempt == attempts:
                return _answer(self.service, response, model, ok)
            self._sleep(_retry_after(response, attempt))
        raise RuntimeError("unreachable: the last attempt returns or raises")

    def _transport_message(self, exc: httpx.TransportError) -> str:
        causes = _causes(exc)
        if any(isinstance(c, ssl.SSLCertVerificationError) for c in causes):
            hint = f"; the stack's certificate is {self._cafile_hint}" if self._cafile_hint else ""
            return f"TLS verification of {self.base_url} failed ({_last_words(causes)}){hint}"
        if any(isinstance(c, ConnectionRefusedError) for c in causes):
            return (
                f"cannot connect to {self.base_url}: connection refused (is the stack up? `ai-stack status`)"
            )
        if isinstance(exc, httpx.TimeoutException):
            return f"no answer from {self.base_url} in time ({type(exc).__name__})"
        return f"cannot reach {self.base_url}: {_last_words(causes)}"


def _answer(service: str, response: httpx.Response, model: type[ModelT], ok: tuple[int, ...]) -> ModelT:
    """The answer as `model`, else a ClientError saying what went wrong in one line."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code == 401:
        raise Unauthorized(f"the gateway refused the API key (401); check {KEY_SOURCES}", status=401)
    if response.status_code in ok and body is None:
        raise Unavailable(
            f"unexpected answer from {response.request.url} (not JSON)", status=response.status_code
        )
    if body is None:
        raise ClientError(
            f"HTTP {response.status_code} from {response.request.url}", status=response.status_code
        )
    return decode(service, response.status_code, body, model, ok)


def _retry_after(response: httpx.Response, attempt: int) -> float:
    try:
        wait = float(response.headers.get("Retry-After", ""))
    except ValueError:
        wait = float(2 ** (attempt - 1))
    return min(max(wait, 0.0), MAX_RETRY_WAIT_S)


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _last_words(causes: list[BaseException]) -> str:
    """The innermost cause's message, which names the actual problem."""
    return str(causes[-1]) or type(causes[-1]).__name__
