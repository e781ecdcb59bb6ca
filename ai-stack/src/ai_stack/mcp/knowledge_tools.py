"""Knowledge tools (aidb): search, read, store, delete documents."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from pydantic import Field

if TYPE_CHECKING:
    from ai_stack.mcp.backends import Backends

from ai_stack.mcp.common import DELETE, READ, SNIPPET_CHARS, WRITE, Limit, Project
from ai_stack.mcp.compact import capped, clip, fit_text
from ai_stack.mcp.errors import parse_id, tool_errors


def add_knowledge_tools(
    server: MCPServer, backends: Callable[[], Awaitable[Backends]], result_cap: int, read_only: bool
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
            from ai_stack.aidb.schemas import SearchIn  # on first use: a fast start

            request = SearchIn(
                query=query,
                mode=mode,
                collections=collections or [],
                project=project,
                filters=filters or {},
                limit=limit,
                cursor=cursor,
            )
            found = await (await backends()).aidb.search(request)
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
        return capped(answer, "results", result_cap)

    @server.tool(annotations=READ)
    async def get_document(
        document_id: Annotated[str, Field(description="document_id from search_knowledge.")],
        max_chars: Annotated[int, Field(ge=100, le=100_000, description="Longest content returned.")] = 4000,
    ) -> dict[str, Any]:
        """One document: its fields and content (cut at max_chars, saying so)."""
        async with tool_errors():
            document = await (await backends()).aidb.get(parse_id(document_id, "document"))
        fields = {
            "document_id": str(document.id),
            "collection": document.collection,
            "project": document.project,
            "path": document.path,
            "title": document.title,
            "metadata": document.metadata,
            "version": document.version,
            "truncated": True,
            "content": clip(document.content, max_chars)[0],
        }
        # The result cap holds whatever max_chars asks for: the content gets the room left.
        result, cut = fit_text(fields, "content", result_cap)
        return {**result, "truncated": cut or len(document.content) > max_chars}

    @server.tool(annotations=READ)
    async def list_collections() -> dict[str, Any]:
        """The knowledge collections and how many documents each holds."""
        async with tool_errors():
            listed = await (await backends()).aidb.collections()
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
            from ai_stack.aidb.schemas import DocumentIn  # on first use: a fast start

            document = DocumentIn(
                collection=collection,
                project=project,
                path=path,
                title=title,
                content_type=content_type,
                content=content,
                metadata=metadata or {},
            )
            written = await (await backends()).aidb.upsert(document)
        return written.model_dump(mode="json")

    @server.tool(annotations=DELETE)
    async def delete_document(
        document_id: Annotated[str, Field(description="document_id to delete.")],
    ) -> dict[str, Any]:
        """Delete a document and its search index entries."""
        async with tool_errors():
            deleted = await (await backends()).aidb.delete(parse_id(document_id, "document"))
        return deleted.model_dump(mode="json")
