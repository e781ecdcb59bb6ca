"""The MCP server object with every tool, for either transport."""

from __future__ import annotations

from dataclasses import dataclass

from mcp.server.mcpserver import MCPServer

from ai_stack import __version__
from ai_stack.mcp.backends import Backends
from ai_stack.mcp.tools import register_tools

INSTRUCTIONS = (
    "ai-stack: a knowledge store (search_knowledge, get_document, store_document), agent memory "
    "(remember, recall, forget), context (augment_query before answering, record_outcome after) and "
    "offline documentation of the installed versions (search_docs, nixos_option, nix_package). "
    "Results are compact and paged; ask for more with cursor or a higher limit."
)


@dataclass
class BackendsHolder:
    """The clients, opened when the transport starts (tools are registered before that)."""

    backends: Backends | None = None

    def get(self) -> Backends:
        if self.backends is None:
            raise RuntimeError("the MCP server's backends are not open yet")
        return self.backends


def build_server(holder: BackendsHolder, *, max_result_chars: int, read_only: bool) -> MCPServer:
    """An MCPServer with the stack's tools (write tools only when not read-only)."""
    server = MCPServer("ai-stack", version=__version__, instructions=INSTRUCTIONS)
    register_tools(server, holder.get, max_result_chars, read_only)
    return server
