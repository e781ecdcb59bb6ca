"""The stack's Python services in one place, for the CLI, the gateway, the startup script and the tests.

Adding a service is one entry in `SERVICES`. Services themselves never import this module. Only the
standard library is imported here: a service's settings class is imported by its dotted path when
its effective port or body limit is asked for.
"""

from __future__ import annotations

import glob
import importlib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from ai_stack.core.settings import CoreSettings

# Every field reaches `ai-stack services --shell`, whose lines bash splits on spaces unquoted.
_NAME = re.compile(r"[a-z][a-z0-9-]*")
_MODULE = re.compile(r"ai_stack(\.[a-z_][a-z0-9_]*)+")
_SETTINGS = re.compile(r"ai_stack(\.[a-z_][a-z0-9_]*)+:[A-Z][A-Za-z0-9]*")
_ENV_PREFIX = re.compile(r"AI_STACK_[A-Z0-9_]*[A-Z0-9]_")
_PATH = re.compile(r"/[A-Za-z0-9/._-]*")

Allocator = Literal["system", "jemalloc"]
# Where Debian (per architecture), Fedora and source builds put jemalloc's shared library.
JEMALLOC_CANDIDATES = (
    "/usr/lib/*-linux-gnu/libjemalloc.so.2",
    "/usr/lib64/libjemalloc.so.2",
    "/usr/lib/libjemalloc.so.2",
    "/usr/local/lib/libjemalloc.so.2",
)
JEMALLOC_SWITCH = "AI_STACK_JEMALLOC"  # "0": every service keeps the system allocator


def find_jemalloc(candidates: Iterable[str] | None = None) -> str | None:
    """The first jemalloc library on this host (of `candidates`, default JEMALLOC_CANDIDATES), or None."""
    for pattern in JEMALLOC_CANDIDATES if candidates is None else candidates:
        for path in sorted(glob.glob(pattern)):
            if os.path.isfile(path) and _PATH.fullmatch(path):
                return path
    return None


@dataclass(frozen=True)
class Service:
    """One Python service: how to start it, find its settings and reach it."""

    name: str  # pid file, log file and status row
    module: str  # started as `python -m <module>`
    settings: str  # "<module>:<class>" of its settings class
    default_port: int
    env_prefix: str
    gateway_prefix: str | None  # `/<prefix>/…` on the gateway; None: not proxied
    needs_key: bool = True
    health_path: str = "/health/ready"
    # A path the gateway also answers at exactly `/<prefix>` (no trailing slash), forwarded to
    # this path of the service: MCP clients POST to `https://<gateway>/mcp` and follow no redirect.
    gateway_endpoint: str | None = None
    # jemalloc for a service that allocates and frees large buffers: glibc keeps an arena per
    # thread and returns little to the OS (embeddings, 8 model threads: 855-873 MiB resident with
    # glibc, 560-577 MiB with jemalloc, same throughput), or maps and unmaps them on every call
    # (aidb's embedded engine: see its entry).
    allocator: Allocator = "system"

    def __post_init__(self) -> None:
        checks = [
            ("name", self.name, _NAME),
            ("module", self.module, _MODULE),
            ("settings", self.settings, _SETTINGS),
            ("env_prefix", self.env_prefix, _ENV_PREFIX),
            ("health_path", self.health_path, _PATH),
        ]
        if self.gateway_prefix is not None:
            checks.append(("gateway_prefix", self.gateway_prefix, _NAME))
        if self.gateway_endpoint is not None:
            checks.append(("gateway_endpoint", self.gateway_endpoint, _PATH))
        for field, value, pattern in checks:
            if not pattern.fullmatch(value):
                raise ValueError(f"service {self.name!r}: {field} {value!r} must match {pattern.pattern}")
        if not 1 <= self.default_port <= 65535:
            raise ValueError(f"service {self.name!r}: default_port {self.default_port} is not a TCP port")
        if self.allocator not in ("system", "jemalloc"):
            raise ValueError(f"service {self.name!r}: allocator {self.allocator!r} is not system or jemalloc")

    def preload(self) -> str | None:
        """The library to put in LD_PRELOAD when it starts on this host: jemalloc when it asks for
        it, it is installed and AI_STACK_JEMALLOC is not 0; otherwise None (the system allocator)."""
        if self.allocator != "jemalloc" or os.environ.get(JEMALLOC_SWITCH, "1") == "0":
            return None
        return find_jemalloc()

    @property
    def port_variable(self) -> str:
        """The environment variable that sets its port."""
        return f"{self.env_prefix}PORT"

    def settings_class(self) -> type[CoreSettings]:
        """Its settings class, imported now."""
        from ai_stack.core.settings import CoreSettings

        module_name, _, class_name = self.settings.partition(":")
        cls = getattr(importlib.import_module(module_name), class_name, None)
        if not (isinstance(cls, type) and issubclass(cls, CoreSettings)):
            raise RuntimeError(f"service {self.name!r}: {self.settings} is not a CoreSettings subclass")
        return cls

    def load_settings(self) -> CoreSettings:
        """Its settings as the service itself would read them (env, `*_FILE`); SettingsError if invalid."""
        from ai_stack.core.settings import load_settings

        return load_settings(self.settings_class())


def _unique(services: Iterable[Service]) -> tuple[Service, ...]:
    entries = tuple(services)
    for what in ("name", "module", "default_port", "env_prefix", "gateway_prefix"):
        values = [getattr(s, what) for s in entries if getattr(s, what) is not None]
        duplicates = sorted({str(v) for v in values if values.count(v) > 1})
        if duplicates:
            raise ValueError(f"two services share a {what}: {', '.join(duplicates)}")
    return entries


# In start order (--stop goes in reverse). auth is the gateway's key verifier: nginx asks it on
# every request (auth_request), so it is not proxied itself and starts first.
SERVICES: tuple[Service, ...] = _unique(
    (
        Service(
            name="auth",
            module="ai_stack.auth",
            settings="ai_stack.auth.settings:AuthSettings",
            default_port=8089,
            env_prefix="AI_STACK_AUTH_",
            gateway_prefix=None,
        ),
        Service(
            name="embeddings",
            module="ai_stack.embeddings",
            settings="ai_stack.embeddings.settings:EmbeddingsSettings",
            default_port=8081,
            env_prefix="AI_STACK_EMBEDDINGS_",
            gateway_prefix="embeddings",
            allocator="jemalloc",
        ),
        Service(
            name="aidb",
            module="ai_stack.aidb",
            settings="ai_stack.aidb.settings:AidbSettings",
            default_port=8091,
            env_prefix="AI_STACK_AIDB_",
            gateway_prefix="aidb",
            # The embedded engine's scans allocate and free large buffers on every query: with
            # glibc, hybrid queries at 30,000 points took twice as long (bench.engine_replicas:
            # p50 10.1-10.8 ms, 80-100 queries/s; jemalloc 5.1-5.7 ms, 182-195). Its engine
            # workers inherit it.
            allocator="jemalloc",
        ),
        Service(
            name="hybrid",
            module="ai_stack.hybrid",
            settings="ai_stack.hybrid.settings:HybridSettings",
            default_port=8092,
            env_prefix="AI_STACK_HYBRID_",
            gateway_prefix="hybrid",
        ),
        Service(
            name="docs-search",
            module="ai_stack.docs_search",
            settings="ai_stack.docs_search.settings:DocsSettings",
            default_port=8094,
            env_prefix="AI_STACK_DOCS_",
            gateway_prefix="docs",
        ),
        Service(
            name="mcp",
            module="ai_stack.mcp",
            settings="ai_stack.mcp.settings:McpSettings",
            default_port=8093,
            env_prefix="AI_STACK_MCP_",
            gateway_prefix="mcp",
            gateway_endpoint="/mcp",
        ),
    )
)


def service(name: str) -> Service:
    """The registry entry called `name`."""
    for entry in SERVICES:
        if entry.name == name:
            return entry
    raise ValueError(f"no service {name!r} in the registry (known: {', '.join(s.name for s in SERVICES)})")


def proxied() -> tuple[Service, ...]:
    """The services behind the gateway, in start order."""
    return tuple(s for s in SERVICES if s.gateway_prefix is not None)
