"""What every tool module shares: annotations, argument types, limits."""

from __future__ import annotations

from typing import Annotated, Literal

from mcp_types import ToolAnnotations
from pydantic import Field

READ = ToolAnnotations(readOnlyHint=True, idempotentHint=True, openWorldHint=False)
WRITE = ToolAnnotations(readOnlyHint=False, destructiveHint=False, idempotentHint=True, openWorldHint=False)
APPEND = ToolAnnotations(readOnlyHint=False, destructiveHint=False, idempotentHint=False, openWorldHint=False)
DELETE = ToolAnnotations(readOnlyHint=False, destructiveHint=True, idempotentHint=True, openWorldHint=False)
SNIPPET_CHARS = 400
PREVIEW_VALUES = 8

Limit = Annotated[int, Field(ge=1, le=50, description="Most results to return.")]
Project = Annotated[str | None, Field(description="Only this project (omit: every project).")]
MemoryKind = Literal["fact", "preference", "decision", "error_solution", "pattern", "note"]
