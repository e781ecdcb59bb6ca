"""The MCP server object with every tool, for either transport."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, InputRequiredResult, ToolAnnotations
from mcp_types import Tool as MCPTool

from ai_stack import __version__
from ai_stack.core.principal import current_principal
from ai_stack.mcp.tools import register_tools

if TYPE_CHECKING:
    from ai_stack.mcp.backends import Backends

INSTRUCTIONS = (
    "ai-stack: a knowledge store (search_knowledge, get_document, store_document), agent memory "
    "(remember, recall, forget), context (augment_query before answering, record_outcome after) and "
    "offline documentation of the installed versions (search_docs, nixos_option, nix_package). "
    "Results are compact and paged; ask for more with cursor or a higher limit."
)


@dataclass
class BackendsHolder:
    """The clients: set when the transport starts (HTTP), or opened by `opener` at the first tool
    call (stdio, where aiohttp and the clients would otherwise delay the start)."""

    backends: Backends | None = None
    opener: Callable[[], AbstractAsyncContextManager[Backends]] | None = None
    _exits: AsyncExitStack = field(default_factory=AsyncExitStack)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def get(self) -> Backends:
        if self.backends is None and self.opener is not None:
            async with self._lock:
                if self.backends is None:
                    self.backends = await self._exits.enter_async_context(self.opener())
        if self.backends is None:
            raise RuntimeError("the MCP server's backends are not open yet")
        return self.backends

    async def close(self) -> None:
        """Closes what `opener` opened."""
        await self._exits.aclose()


def tool_scope(annotations: ToolAnnotations | None) -> str:
    """What a key needs to call a tool: `read` for a read-only tool, else `write` (the same
    scopes the REST routes behind the tools need)."""
    return "read" if annotations is not None and annotations.read_only_hint else "write"


class ScopedMCPServer(MCPServer):
    """Lists and calls only the tools the caller's key may use. Behind the gateway the caller is
    the key of the HTTP request; over stdio it is the stack (the gateway checks the key there)."""

    async def list_tools(self) -> list[MCPTool]:
        principal = current_principal.get()
        return [t for t in await super().list_tools() if principal.allows(tool_scope(t.annotations))]

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        tool = self._tool_manager.get_tool(name)
        needed = tool_scope(tool.annotations) if tool is not None else "read"
        if tool is not None and not current_principal.get().allows(needed):
            raise ToolError(f"this API key lacks the {needed!r} scope that {name} needs")
        return await super().call_tool(name, arguments, context)


def build_server(holder: BackendsHolder, *, max_result_chars: int, read_only: bool) -> MCPServer:
    """An MCPServer with the stack's tools (write tools only when not read-only)."""
    server = ScopedMCPServer("ai-stack", version=__version__, instructions=INSTRUCTIONS)
    register_tools(server, holder.get, max_result_chars, read_only)
    return server
