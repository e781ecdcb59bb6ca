"""The MCP tools: a thin adapter over the services' typed clients. Each tool checks its
arguments through the service's own request model, calls one client method and returns a
compact result; every failure is a tool error with a sentence an agent can act on."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from mcp.server.mcpserver import MCPServer

from ai_stack.mcp.docs_tools import add_docs_tools
from ai_stack.mcp.knowledge_tools import add_knowledge_tools
from ai_stack.mcp.memory_tools import add_embedding_tools, add_memory_tools

if TYPE_CHECKING:
    from ai_stack.mcp.backends import Backends


def register_tools(
    server: MCPServer, backends: Callable[[], Awaitable[Backends]], max_chars: int, read_only: bool
) -> None:
    """Adds every tool; write tools only when the server is not read-only."""
    add_knowledge_tools(server, backends, max_chars, read_only)
    add_memory_tools(server, backends, max_chars, read_only)
    add_embedding_tools(server, backends, max_chars)
    add_docs_tools(server, backends, max_chars)
