"""`ai-stack mcp`: the MCP server over stdio for agents that launch a local process. It reaches
the stack through the gateway with an API key; nothing heavy is imported or loaded at start."""

from __future__ import annotations

import ssl
import sys

from ai_stack import __version__
from ai_stack.core.logging import configure_logging
from ai_stack.mcp.backends import Connection, open_backends
from ai_stack.mcp.server import BackendsHolder, build_server

DEFAULT_TIMEOUT_S = 30.0
DEFAULT_MAX_RESULT_CHARS = 12_000


async def serve_stdio(gateway_url: str, api_key: str, tls: ssl.SSLContext, *, read_only: bool) -> None:
    """Serves MCP on stdin/stdout until the client closes it."""
    # stdout carries the protocol: every log line must go to stderr.
    configure_logging("mcp-stdio", __version__, "WARNING", stream=sys.stderr)
    holder = BackendsHolder()
    server = build_server(holder, max_result_chars=DEFAULT_MAX_RESULT_CHARS, read_only=read_only)
    connection = Connection.through_gateway(gateway_url, api_key, tls, DEFAULT_TIMEOUT_S)
    async with open_backends(connection) as backends:
        holder.backends = backends
        await server.run_stdio_async()
