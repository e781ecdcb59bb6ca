"""Who a request acts for: the API key's id, scopes and projects, as the gateway passes them on.

nginx asks the key verifier about every keyed request and copies the verifier's answer into the
headers below (dropping any copy the client sent). A service trusts them only from a caller that
holds the install's gateway secret (see `access.py`). A request without them comes from the stack
itself (a service, the startup script) and acts with every grant.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import hmac
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Literal, get_args
from urllib.parse import quote, unquote

from ai_stack.core.limits import KeyLimits

Scope = Literal["read", "write", "admin"]
SCOPES: tuple[Scope, ...] = get_args(Scope)
ALL_PROJECTS = "*"

KEY_ID_HEADER = "X-AI-Key-Id"
SCOPES_HEADER = "X-AI-Scopes"
PROJECTS_HEADER = "X-AI-Projects"
LIMITS_HEADER = "X-AI-Limits"  # only for a key with its own limits: `rate/burst/concurrency`
GATEWAY_SECRET_HEADER = "X-AI-Gateway-Secret"


class BadIdentity(ValueError):
    """Identity headers that the gateway did not write."""


@dataclass(frozen=True)
class Principal:
    """The grants a request acts with. `projects` None: every project."""

    key_id: str | None
    scopes: frozenset[str]
    projects: frozenset[str] | None = None
    limits: KeyLimits | None = None  # None: the service's default limits for keys

    def allows(self, scope: str) -> bool:
        return scope in self.scopes

    def may_use(self, project: str) -> bool:
        """Whether the key's project grant covers `project`."""
        return self.projects is None or project in self.projects


# The stack acting for itself: a service calling another, the scheduler, the startup script.
STACK = Principal(key_id=None, scopes=frozenset(SCOPES), projects=None)

# The principal of the request being served, so that a client call made while serving it can
# pass the caller's identity on (hybrid → aidb, MCP → every service) and the callee scopes it.
current_principal: contextvars.ContextVar[Principal] = contextvars.ContextVar(
    "ai_stack_principal", default=STACK
)


@contextlib.contextmanager
def acting_as_stack() -> Iterator[None]:
    """For work a service does for itself while serving a key (creating its own collection on
    first use): the callee sees the stack, not the key, so a key without `admin` can still write
    memories although creating their collection is an admin route."""
    token = current_principal.set(STACK)
    try:
        yield
    finally:
        current_principal.reset(token)


def parse_scopes(raw: str | Iterable[str]) -> frozenset[str]:
    """`read,write` (or a list) as a scope set; ValueError for an unknown scope."""
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    scopes = frozenset(s.strip() for s in items if s.strip())
    unknown = scopes - set(SCOPES)
    if unknown:
        raise ValueError(f"unknown scope {sorted(unknown)[0]!r} (scopes: {', '.join(SCOPES)})")
    return scopes


def encode_projects(projects: Iterable[str] | None) -> str:
    """`*` or the percent-encoded names joined by commas (names may hold any character)."""
    if projects is None:
        return ALL_PROJECTS
    return ",".join(quote(p, safe="") for p in sorted(projects))


def decode_projects(raw: str) -> frozenset[str] | None:
    if raw.strip() == ALL_PROJECTS:
        return None
    return frozenset(unquote(p) for p in raw.split(",") if p)


def grant_headers(
    key_id: str, scopes: Iterable[str], projects: Iterable[str] | None, limits: str | None
) -> dict[str, str]:
    """The identity headers of a key: what the verifier answers nginx, and what a service passes
    on when it calls another for the key."""
    granted = set(scopes)
    headers = {
        KEY_ID_HEADER: key_id,
        SCOPES_HEADER: ",".join(s for s in SCOPES if s in granted),
        PROJECTS_HEADER: encode_projects(projects),
    }
    if limits:
        headers[LIMITS_HEADER] = limits
    return headers


def identity_headers(principal: Principal) -> dict[str, str]:
    """The headers that carry `principal` to another service (none for the stack itself)."""
    if principal.key_id is None:
        return {}
    limits = principal.limits.header_value() if principal.limits is not None else None
    return grant_headers(principal.key_id, principal.scopes, principal.projects, limits)


GATEWAY_ONLY = "this service answers only through the gateway: https://<gateway>/<service>/, with an API key"


def presents_secret(headers: Mapping[str, str], expected: bytes) -> bool:
    """Whether the request carries the gateway secret, in X-AI-Gateway-Secret or as a Bearer token
    (all Prometheus can send), compared in constant time."""
    presented = headers.get(GATEWAY_SECRET_HEADER, "")
    if not presented:
        scheme, _, token = headers.get("Authorization", "").partition(" ")
        presented = token.strip() if scheme.lower() == "bearer" else ""
    return hmac.compare_digest(presented.encode(), expected)


@functools.lru_cache(maxsize=1024)
def principal_from_headers(
    key_id: str | None, scopes: str | None, projects: str | None, limits: str | None = None
) -> Principal:
    """The principal the identity headers describe; STACK when there are none. Cached: a key's
    headers are the same on every request (a bad set raises each time, uncached)."""
    if not key_id:
        if scopes or projects or limits:
            raise BadIdentity("identity headers without a key id")
        return STACK
    if scopes is None or projects is None:
        raise BadIdentity("a key id without its scopes and projects")
    try:
        return Principal(
            key_id=key_id,
            scopes=parse_scopes(scopes),
            projects=decode_projects(projects),
            limits=KeyLimits.parse(limits) if limits else None,
        )
    except ValueError as exc:
        raise BadIdentity(str(exc)) from None


def headers_principal(headers: Mapping[str, str]) -> Principal:
    """`principal_from_headers` over a request's headers (BadIdentity when malformed)."""
    return principal_from_headers(
        headers.get(KEY_ID_HEADER),
        headers.get(SCOPES_HEADER),
        headers.get(PROJECTS_HEADER),
        headers.get(LIMITS_HEADER),
    )
