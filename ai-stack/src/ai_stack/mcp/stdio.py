"""`ai-stack mcp`: the MCP server over stdio for agents that launch a local process. It reaches
the stack through the gateway with an API key. It answers the handshake and the tool list with
only the MCP SDK loaded: the HTTP clients, the request models and structured logging are
imported at the first tool call."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from ai_stack.mcp.server import BackendsHolder, build_server

if TYPE_CHECKING:
    from ai_stack.mcp.backends import Backends

DEFAULT_TIMEOUT_S = 30.0
DEFAULT_MAX_RESULT_CHARS = 12_000


async def serve_stdio(gateway_url: str, api_key: str, tls: ssl.SSLContext, *, read_only: bool) -> None:
    """Serves MCP on stdin/stdout until the client closes it."""
    holder = BackendsHolder(opener=lambda: _through_gateway(gateway_url, api_key, tls))
    server = build_server(holder, max_result_chars=DEFAULT_MAX_RESULT_CHARS, read_only=read_only)
    try:
        await server.run_stdio_async()
    finally:
        await holder.close()


@asynccontextmanager
async def _through_gateway(gateway_url: str, api_key: str, tls: ssl.SSLContext) -> AsyncIterator[Backends]:
    import sys

    from ai_stack import __version__
    from ai_stack.core.logging import configure_logging
    from ai_stack.mcp.backends import Connection, open_backends

    # stdout carries the protocol: every log line must go to stderr.
    configure_logging("mcp-stdio", __version__, "WARNING", stream=sys.stderr)
    connection = Connection.through_gateway(gateway_url, api_key, tls, DEFAULT_TIMEOUT_S)
    async with open_backends(connection) as backends:
        yield backends
