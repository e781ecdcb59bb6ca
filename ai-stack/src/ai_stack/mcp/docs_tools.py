"""Documentation tools (docs-search): ranked sections, NixOS-style options, nix packages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from pydantic import Field

from ai_stack.docs_search.sections import SourceKind

if TYPE_CHECKING:
    from ai_stack.mcp.backends import Backends

from ai_stack.mcp.common import READ, SNIPPET_CHARS, Limit
from ai_stack.mcp.compact import capped, clip
from ai_stack.mcp.errors import tool_errors

Source = Annotated[str | None, Field(description="Only this source (omit: every source of the kind).")]
LONG_FIELD_CHARS = 2000


def add_docs_tools(server: MCPServer, backends: Callable[[], Awaitable[Backends]], result_cap: int) -> None:
    @server.tool(annotations=READ)
    async def search_docs(
        query: Annotated[
            str, Field(description="A question or exact words: 'how do I …', an error, a flag.")
        ],
        sources: Annotated[list[str] | None, Field(description="Only these sources (names).")] = None,
        kinds: Annotated[
            list[SourceKind] | None,
            Field(
                description="Only these kinds: markdown, html, text, rst, manpages, nixos-options, "
                "nix-packages."
            ),
        ] = None,
        limit: Limit = 5,
    ) -> dict[str, Any]:
        """Search the documentation installed on this machine (manuals, man pages, options): ranked
        sections with source, version, heading path, URL and a snippet."""
        async with tool_errors():
            from ai_stack.docs_search.schemas import DocsSearchIn  # on first use: a fast start

            request = DocsSearchIn(query=query, sources=sources or [], kinds=kinds or [], limit=limit)
            found = await (await backends()).docs.search(request)
        results = [
            {
                "source": hit.source,
                "version": hit.version,
                "title": hit.title,
                "section": " > ".join(hit.heading_path),
                "url": hit.url,
                "snippet": clip(hit.snippet, SNIPPET_CHARS)[0],
                "score": round(hit.score, 4),
            }
            for hit in found.results
        ]
        answer: dict[str, Any] = {"results": results}
        if found.degraded:
            answer["degraded"] = found.reason
        return capped(answer, "results", result_cap)

    @server.tool(annotations=READ)
    async def nixos_option(
        query: Annotated[
            str,
            Field(
                description="An exact option name (services.openssh.enable), a dotted prefix to list "
                "(services.nginx.), or words (enable ssh server)."
            ),
        ],
        source: Source = None,
        limit: Limit = 10,
    ) -> dict[str, Any]:
        """NixOS / Home Manager options: an exact (or `<name>`-placeholder) match returns the full
        record (type, default, example, description); a prefix or words return a list."""
        async with tool_errors():
            from ai_stack.docs_search.schemas import LookupIn  # on first use: a fast start

            found = await (await backends()).docs.search_options(
                LookupIn(query=query, source=source, limit=limit)
            )
            if found.match in ("exact", "placeholder") and found.options:
                hit = found.options[0]
                detail = await (await backends()).docs.option(hit.name, hit.source)
                record = detail.model_dump(exclude_none=True)
                for key in ("description", "default", "example"):
                    if isinstance(record.get(key), str):
                        record[key] = clip(record[key], LONG_FIELD_CHARS)[0]
                if found.match == "placeholder":
                    record["resolved_from"] = query
                return {"match": found.match, "option": record}
        options = [o.model_dump(exclude_none=True, exclude={"match"}) for o in found.options]
        answer: dict[str, Any] = {"match": found.match, "options": options}
        if found.degraded:
            answer["degraded"] = found.reason
        return capped(answer, "options", result_cap)

    @server.tool(annotations=READ)
    async def nix_package(
        query: Annotated[
            str, Field(description="An attribute (nixpkgs.ripgrep), a package name (ripgrep), or words.")
        ],
        source: Source = None,
        limit: Limit = 10,
        details: Annotated[
            Literal["summary", "full"], Field(description="full: homepage, license, platforms, main program.")
        ] = "summary",
    ) -> dict[str, Any]:
        """Packages of the package sets on this machine: exact attribute or name first, then prefix,
        then description matches."""
        async with tool_errors():
            from ai_stack.docs_search.schemas import LookupIn  # on first use: a fast start

            found = await (await backends()).docs.search_packages(
                LookupIn(query=query, source=source, limit=limit)
            )
            packages: list[dict[str, Any]] = [
                p.model_dump(exclude_none=True, exclude={"match"}) for p in found.packages
            ]
            if details == "full":
                for entry in packages[:limit]:
                    detail = await (await backends()).docs.package(entry["attr"], entry["source"])
                    entry.update(detail.model_dump(exclude={"long_description"}))
                    entry["platforms"] = len(detail.platforms)
        answer: dict[str, Any] = {"match": found.match, "packages": packages}
        if found.degraded:
            answer["degraded"] = found.reason
        return capped(answer, "packages", result_cap)
