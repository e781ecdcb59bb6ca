"""Tool failures as MCP tool errors: the call fails with a sentence, the session goes on."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import ValidationError

from ai_stack.clients.errors import ClientError
from ai_stack.core.errors import ServiceUnavailableError


@asynccontextmanager
async def tool_errors() -> AsyncIterator[None]:
    """Bad arguments, refusals and outages as tool errors an agent can act on."""
    try:
        yield
    except ValidationError as exc:
        problem = exc.errors()[0]
        field = ".".join(str(p) for p in problem["loc"]) or "arguments"
        raise ToolError(f"invalid argument {field}: {problem['msg']}") from None
    except ClientError as exc:
        raise ToolError(exc.message) from None
    except ServiceUnavailableError as exc:
        raise ToolError(f"{exc.message}; try again in {exc.retry_after} s") from None


def parse_id(value: str, what: str) -> uuid.UUID:
    """An id argument, or a tool error naming it."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise ToolError(f"{what} {value!r} is not an id this stack issued") from None
