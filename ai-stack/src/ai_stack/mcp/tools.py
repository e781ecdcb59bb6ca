"""The MCP tools: a thin adapter over the services' typed clients. Each tool checks its
arguments through the service's own request model, calls one client method and returns a
compact result; every failure is a tool error with a sentence an agent can act on."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations
from pydantic import Field, ValidationError

from ai_stack.aidb.schemas import DocumentIn, SearchIn
from ai_stack.clients.errors import ClientError
from ai_stack.core.errors import ServiceUnavailableError
from ai_stack.hybrid.schemas import AugmentIn, InteractionIn, MemoryIn, MemorySearchIn, OutcomeIn
from ai_stack.mcp.backends import Backends
from ai_stack.mcp.compact import capped, clip

READ = ToolAnnotations(readOnlyHint=True, idempotentHint=True, openWorldHint=False)
WRITE = ToolAnnotations(readOnlyHint=False, destructiveHint=False, idempotentHint=True, openWorldHint=False)
APPEND = ToolAnnotations(readOnlyHint=False, destructiveHint=False, idempotentHint=False, openWorldHint=False)
DELETE = ToolAnnotations(readOnlyHint=False, destructiveHint=True, idempotentHint=True, openWorldHint=False)
SNIPPET_CHARS = 400
PREVIEW_VALUES = 8

Limit = Annotated[int, Field(ge=1, le=50, description="Most results to return.")]
Project = Annotated[str | None, Field(description="Only this project (omit: every project).")]
MemoryKind = Literal["fact", "preference", "decision", "error_solution", "pattern", "note"]


@asynccontextmanager
async def tool_errors() -> AsyncIterator[None]:
    """Failures as tool errors: the call fails, the session goes on."""
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


def _uuid(value: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise ToolError(f"{what} {value!r} is not an id this stack issued") from None


def register_tools(
    server: MCPServer, backends: Callable[[], Backends], max_chars: int, read_only: bool
) -> None:
    """Adds every tool; write tools only when the server is not read-only."""
    _knowledge_tools(server, backends, max_chars, read_only)
    _memory_tools(server, backends, max_chars, read_only)
    _embedding_tools(server, backends, max_chars)


def _knowledge_tools(
    server: MCPServer, backends: Callable[[], Backends], max_chars: int, read_only: bool
) -> None:
    @server.tool(annotations=READ)
    async def search_knowledge(
        query: Annotated[str, Field(description="What to look for, in words or exact identifiers.")],
        mode: Annotated[
            Literal["hybrid", "vector", "keyword"], Field(description="hybrid (default), vector or keyword.")
        ] = "hybrid",
        collections: Annotated[list[str] | None, Field(description="Only these collections.")] = None,
        project: Project = None,
        filters: Annotated[
            dict[str, Any] | None,
            Field(
                description='Metadata filters: {"lang": "en"}, {"year": {"gte": 2020}}, '
                '{"tag": {"in": ["a", "b"]}}.'
            ),
        ] = None,
        limit: Limit = 5,
        cursor: Annotated[str | None, Field(description="next_cursor of the previous page.")] = None,
    ) -> dict[str, Any]:
        """Search the knowledge store (documents, code, docs). Results are chunk snippets; use
        get_document for a whole document."""
        async with tool_errors():
            request = SearchIn(
                query=query,
                mode=mode,
                collections=collections or [],
                project=project,
                filters=filters or {},
                limit=limit,
                cursor=cursor,
            )
            found = await backends().aidb.search(request)
        results = [
            {
                "document_id": str(r.document_id),
                "collection": r.collection,
                "path": r.path,
                "title": r.title,
                "section": " > ".join(r.heading_path),
                "snippet": clip(r.snippet, SNIPPET_CHARS)[0],
                "score": round(r.score, 4),
            }
            for r in found.results
        ]
        answer = {"results": results, "next_cursor": found.next_cursor, "mode": found.mode}
        if found.degraded:
            answer["degraded"] = found.reason
        return capped(answer, "results", max_chars)

    @server.tool(annotations=READ)
    async def get_document(
        document_id: Annotated[str, Field(description="document_id from search_knowledge.")],
        max_chars: Annotated[int, Field(ge=100, le=100_000, description="Longest content returned.")] = 4000,
    ) -> dict[str, Any]:
        """One document: its fields and content (cut at max_chars, saying so)."""
        async with tool_errors():
            document = await backends().aidb.get(_uuid(document_id, "document"))
        content, cut = clip(document.content, max_chars)
        return {
            "document_id": str(document.id),
            "collection": document.collection,
            "project": document.project,
            "path": document.path,
            "title": document.title,
            "metadata": document.metadata,
            "version": document.version,
            "content": content,
            "truncated": cut,
        }

    @server.tool(annotations=READ)
    async def list_collections() -> dict[str, Any]:
        """The knowledge collections and how many documents each holds."""
        async with tool_errors():
            listed = await backends().aidb.collections()
        return {"collections": [{"name": c.name, "documents": c.documents} for c in listed.collections]}

    if read_only:
        return

    @server.tool(annotations=WRITE)
    async def store_document(
        path: Annotated[str, Field(description="Path or URI, unique within collection and project.")],
        content: Annotated[str, Field(description="The text (Markdown, HTML or plain).")],
        collection: Annotated[str, Field(description="Collection name.")] = "documents",
        project: Annotated[str, Field(description="Project name.")] = "default",
        title: str = "",
        content_type: Annotated[
            str, Field(description="text/markdown, text/html or text/plain.")
        ] = "text/markdown",
        metadata: Annotated[dict[str, Any] | None, Field(description="Metadata to filter on later.")] = None,
    ) -> dict[str, Any]:
        """Store or update a document (same collection, project and path: a new version). It is
        searchable once indexed, usually within seconds."""
        async with tool_errors():
            document = DocumentIn(
                collection=collection,
                project=project,
                path=path,
                title=title,
                content_type=content_type,
                content=content,
                metadata=metadata or {},
            )
            written = await backends().aidb.upsert(document)
        return written.model_dump(mode="json")

    @server.tool(annotations=DELETE)
    async def delete_document(
        document_id: Annotated[str, Field(description="document_id to delete.")],
    ) -> dict[str, Any]:
        """Delete a document and its search index entries."""
        async with tool_errors():
            deleted = await backends().aidb.delete(_uuid(document_id, "document"))
        return deleted.model_dump(mode="json")


def _memory_tools(
    server: MCPServer, backends: Callable[[], Backends], max_chars: int, read_only: bool
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
            request = MemorySearchIn(
                query=query, project=project, kinds=kinds or [], tags=tags or [], limit=limit, as_of=as_of
            )
            found = await backends().hybrid.recall(request)
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
        return capped(answer, "memories", max_chars)

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
            answer = await backends().hybrid.augment(
                AugmentIn(query=query, project=project, sources=sources, token_budget=token_budget)
            )
        return {
            "augmented_prompt": answer.augmented_prompt,
            "context_ids": answer.context_ids,
            "token_count": answer.token_count,
            "routing": answer.routing.model_dump(),
            "degraded": answer.reason if answer.degraded else False,
        }

    @server.tool(annotations=READ)
    async def learning_stats() -> dict[str, Any]:
        """How many interactions, outcomes and learned memories there are."""
        async with tool_errors():
            stats = await backends().hybrid.learning_stats()
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
            memory = MemoryIn(
                content=content,
                kind=kind,
                project=project,
                tags=tags or [],
                source=source,
                supersedes=_uuid(supersedes, "memory") if supersedes else None,
            )
            written = await backends().hybrid.remember(memory)
        return written.model_dump(mode="json", exclude_none=True)

    @server.tool(annotations=DELETE)
    async def forget(
        memory_id: Annotated[str, Field(description="id of the memory to delete.")],
    ) -> dict[str, Any]:
        """Delete a memory."""
        async with tool_errors():
            deleted = await backends().hybrid.forget(_uuid(memory_id, "memory"))
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
            hybrid = backends().hybrid
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


def _embedding_tools(server: MCPServer, backends: Callable[[], Backends], max_chars: int) -> None:
    @server.tool(annotations=READ)
    async def embed(
        texts: Annotated[list[str], Field(min_length=1, max_length=32, description="Texts to embed.")],
        full: Annotated[
            bool, Field(description="Return whole vectors (large) instead of a preview.")
        ] = False,
    ) -> dict[str, Any]:
        """Embedding vectors of texts: the dimension and the first values of each by default."""
        async with tool_errors():
            vectors = await backends().embeddings.embed(texts)
        shown = [v if full else [round(x, 5) for x in v[:PREVIEW_VALUES]] for v in vectors]
        return capped(
            {"dimension": len(vectors[0]), "vectors": shown, "preview": not full}, "vectors", max_chars
        )
