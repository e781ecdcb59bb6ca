"""Memory and context tools (hybrid-coordinator), and the embedding tool."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from pydantic import Field

if TYPE_CHECKING:
    from ai_stack.mcp.backends import Backends

from ai_stack.mcp.common import (
    APPEND,
    DELETE,
    PREVIEW_VALUES,
    READ,
    SNIPPET_CHARS,
    WRITE,
    Limit,
    MemoryKind,
    Project,
)
from ai_stack.mcp.compact import capped, clip, fit_text
from ai_stack.mcp.errors import parse_id, tool_errors


def add_memory_tools(
    server: MCPServer, backends: Callable[[], Awaitable[Backends]], result_cap: int, read_only: bool
) -> None:
    @server.tool(annotations=READ)
    async def recall(
        query: Annotated[str, Field(description="What you want to remember.")],
        project: Project = None,
        kinds: Annotated[list[MemoryKind] | None, Field(description="Only these kinds.")] = None,
        tags: Annotated[list[str] | None, Field(description="Only memories with any of these tags.")] = None,
        limit: Limit = 5,
        as_of: Annotated[
            dt.datetime | None, Field(description="What was current at this time (ISO 8601 with zone).")
        ] = None,
    ) -> dict[str, Any]:
        """Search stored memories (current ones, or those current as_of a time)."""
        async with tool_errors():
            from ai_stack.hybrid.schemas import MemorySearchIn  # on first use: a fast start

            request = MemorySearchIn(
                query=query, project=project, kinds=kinds or [], tags=tags or [], limit=limit, as_of=as_of
            )
            found = await (await backends()).hybrid.recall(request)
        memories = [
            {
                "id": str(m.id),
                "kind": m.kind,
                "content": clip(m.content, SNIPPET_CHARS * 2)[0],
                "tags": m.tags,
                "current": m.current,
                "score": round(m.score or 0.0, 4),
            }
            for m in found.memories
        ]
        answer: dict[str, Any] = {"memories": memories}
        if found.degraded:
            answer["degraded"] = found.reason
        return capped(answer, "memories", result_cap)

    @server.tool(annotations=READ)
    async def augment_query(
        query: Annotated[str, Field(description="The question you are about to answer.")],
        project: Project = None,
        sources: Annotated[
            list[str] | None,
            Field(description="memories and/or knowledge collections (default: configured)."),
        ] = None,
        token_budget: Annotated[int, Field(ge=16, le=32_768, description="Prompt budget in tokens.")] = 1500,
    ) -> dict[str, Any]:
        """Context for a question: relevant memories and knowledge packed into a token budget with
        numbered citations, and advice on whether a local model suffices."""
        async with tool_errors():
            from ai_stack.hybrid.schemas import AugmentIn  # on first use: a fast start

            answer = await (await backends()).hybrid.augment(
                AugmentIn(query=query, project=project, sources=sources, token_budget=token_budget)
            )
        fields = {
            "context_ids": answer.context_ids,
            "token_count": answer.token_count,
            "routing": answer.routing.model_dump(),
            "degraded": answer.reason if answer.degraded else False,
        }
        # A large token_budget may make a prompt longer than the result cap: the cap wins.
        result = {"augmented_prompt": answer.augmented_prompt, **fields, "prompt_cut_to_fit_result_cap": True}
        result, cut = fit_text(result, "augmented_prompt", result_cap)
        return {**result, "prompt_cut_to_fit_result_cap": cut}

    @server.tool(annotations=READ)
    async def learning_stats() -> dict[str, Any]:
        """How many interactions, outcomes and learned memories there are."""
        async with tool_errors():
            stats = await (await backends()).hybrid.learning_stats()
        return stats.model_dump(mode="json")

    if read_only:
        return

    @server.tool(annotations=WRITE)
    async def remember(
        content: Annotated[str, Field(description="One self-contained statement worth remembering.")],
        kind: Annotated[MemoryKind, Field(description="What it is.")] = "note",
        project: Annotated[str, Field(description="Project it belongs to.")] = "default",
        tags: list[str] | None = None,
        source: Annotated[str, Field(description="Where it came from (file, URL, session).")] = "",
        supersedes: Annotated[str | None, Field(description="id of the memory this one replaces.")] = None,
    ) -> dict[str, Any]:
        """Store a memory. Duplicates and near-duplicates are merged; a changed fact supersedes the
        old one, which stays as history. Returns the id and what happened."""
        async with tool_errors():
            from ai_stack.hybrid.schemas import MemoryIn  # on first use: a fast start

            memory = MemoryIn(
                content=content,
                kind=kind,
                project=project,
                tags=tags or [],
                source=source,
                supersedes=parse_id(supersedes, "memory") if supersedes else None,
            )
            written = await (await backends()).hybrid.remember(memory)
        return written.model_dump(mode="json", exclude_none=True)

    @server.tool(annotations=DELETE)
    async def forget(
        memory_id: Annotated[str, Field(description="id of the memory to delete.")],
    ) -> dict[str, Any]:
        """Delete a memory."""
        async with tool_errors():
            deleted = await (await backends()).hybrid.forget(parse_id(memory_id, "memory"))
        return deleted.model_dump(mode="json")

    @server.tool(annotations=APPEND)
    async def record_outcome(
        query: Annotated[str, Field(description="The question that was answered.")],
        response: Annotated[str, Field(description="The answer given.")],
        outcome: Annotated[Literal["success", "partial", "failure"], Field(description="How it went.")],
        context_ids: Annotated[list[str] | None, Field(description="context_ids from augment_query.")] = None,
        feedback: Annotated[
            float | None, Field(ge=-1, le=1, description="-1 misleading .. 1 exactly right.")
        ] = None,
        project: Annotated[str, Field(description="Project it belongs to.")] = "default",
    ) -> dict[str, Any]:
        """Record an answer and how it went: context that helped ranks higher next time, and a
        valuable success is learned as a memory."""
        async with tool_errors():
            from ai_stack.hybrid.schemas import InteractionIn, OutcomeIn  # on first use: a fast start

            hybrid = (await backends()).hybrid
            interaction = InteractionIn(
                query=query, response=response, project=project, context_ids=context_ids or []
            )
            recorded = await hybrid.record_interaction(interaction)
            result = await hybrid.record_outcome(recorded.id, OutcomeIn(outcome=outcome, feedback=feedback))
        return {
            "interaction_id": str(recorded.id),
            "value": result.value,
            "items_updated": result.items_updated,
            "learned": [str(m.id) for m in result.learned],
        }


def add_embedding_tools(
    server: MCPServer, backends: Callable[[], Awaitable[Backends]], result_cap: int
) -> None:
    @server.tool(annotations=READ)
    async def embed(
        texts: Annotated[list[str], Field(min_length=1, max_length=32, description="Texts to embed.")],
        full: Annotated[
            bool, Field(description="Return whole vectors (large) instead of a preview.")
        ] = False,
    ) -> dict[str, Any]:
        """Embedding vectors of texts: the dimension and the first values of each by default."""
        async with tool_errors():
            vectors = await (await backends()).embeddings.embed(texts)
        shown = [v if full else [round(x, 5) for x in v[:PREVIEW_VALUES]] for v in vectors]
        return capped(
            {"dimension": len(vectors[0]), "vectors": shown, "preview": not full}, "vectors", result_cap
        )
