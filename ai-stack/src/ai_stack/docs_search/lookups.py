"""Option and package lookups: exact name, placeholder, prefix, then free text (hybrid via aidb)."""

from __future__ import annotations

import re

from ai_stack.core.errors import NotFoundError
from ai_stack.docs_search.catalog import Catalogs, Found
from ai_stack.docs_search.registry import SourceRegistry
from ai_stack.docs_search.schemas import (
    LookupIn,
    MatchKind,
    OptionDetail,
    OptionHit,
    OptionResults,
    PackageDetail,
    PackageHit,
    PackageResults,
)
from ai_stack.docs_search.search import DocsSearcher, section_filters
from ai_stack.docs_search.state import DocsState

# A query that could be a name: no spaces. Anything else goes straight to free text.
_NAME_LIKE = re.compile(r"^\S+$")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s")
SUMMARY_CHARS = 200


def summary(description: str) -> str:
    """The first sentence (or line) of a description, at most SUMMARY_CHARS."""
    text = " ".join(description.split())
    first = _SENTENCE_END.split(text, maxsplit=1)[0]
    return first if len(first) <= SUMMARY_CHARS else first[: SUMMARY_CHARS - 1] + "…"


def _option_hit(found: Found, match: MatchKind, score: float | None = None) -> OptionHit:
    record = found.record
    return OptionHit(
        name=record["name"],
        source=found.source,
        type=record.get("type", ""),
        summary=summary(record.get("description", "")),
        read_only=bool(record.get("read_only")),
        match=match,
        score=score,
    )


def _package_hit(found: Found, match: MatchKind, score: float | None = None) -> PackageHit:
    record = found.record
    return PackageHit(
        attr=record["attr"],
        source=found.source,
        pname=record.get("pname", ""),
        version=record.get("version", ""),
        summary=summary(record.get("description", "")),
        match=match,
        score=score,
    )


class Lookups:
    """Answers /options and /packages from the catalogs, and from aidb for free text."""

    def __init__(
        self, catalogs: Catalogs, registry: SourceRegistry, state: DocsState, searcher: DocsSearcher
    ) -> None:
        self._catalogs = catalogs
        self._registry = registry
        self._state = state
        self._searcher = searcher

    async def search_options(self, request: LookupIn) -> OptionResults:
        sources = await self._registry.of_kind("nixos-options", request.source)
        query = request.query.strip()
        if _NAME_LIKE.match(query):
            exact = await self._catalogs.get("options", sources, query)
            if exact is not None:
                return OptionResults(match="exact", options=[_option_hit(exact, "exact")])
            # `services.nginx.` asks for a listing: a `<name>` option must not answer it.
            resolved = None if query.endswith(".") else await self._catalogs.resolve_option(sources, query)
            if resolved is not None:
                return OptionResults(match="placeholder", options=[_option_hit(resolved, "placeholder")])
            listed = await self._catalogs.prefixed("options", sources, query, request.limit)
            if listed:
                return OptionResults(match="prefix", options=[_option_hit(f, "prefix") for f in listed])
        if not sources:
            return OptionResults(match=None, options=[])
        answer = await self._searcher.search_raw(
            query, section_filters(sources, ["nixos-options"]), request.limit
        )
        wanted = [
            (r.project, str(r.metadata.get("section", {}).get("option") or r.title)) for r in answer.results
        ]
        found = await self._catalogs.get_each("options", wanted)
        hits = [_option_hit(f, "text", r.score) for f, r in zip(found, answer.results, strict=True) if f]
        return OptionResults(
            match="text" if hits else None, options=hits, degraded=answer.degraded, reason=answer.reason
        )

    async def option(self, name: str, source: str | None) -> OptionDetail:
        sources = await self._registry.of_kind("nixos-options", source)
        found = await self._catalogs.get("options", sources, name)
        resolved_from = None
        if found is None:
            found = await self._catalogs.resolve_option(sources, name)
            resolved_from = name
        if found is None:
            raise NotFoundError(f"no option named {name!r}", code="option_not_found")
        status = await self._state.status(found.source)
        return OptionDetail(
            **found.record, source=found.source, version=status.version, resolved_from=resolved_from
        )

    async def search_packages(self, request: LookupIn) -> PackageResults:
        sources = await self._registry.of_kind("nix-packages", request.source)
        query = request.query.strip()
        if _NAME_LIKE.match(query):
            exact = await self._catalogs.get("packages", sources, query)
            if exact is not None:
                return PackageResults(match="exact", packages=[_package_hit(exact, "exact")])
            named = await self._catalogs.by_pname(sources, query)
            if named:
                return PackageResults(match="pname", packages=[_package_hit(f, "pname") for f in named])
            listed = await self._catalogs.prefixed("packages", sources, query, request.limit)
            if listed:
                return PackageResults(match="prefix", packages=[_package_hit(f, "prefix") for f in listed])
        if not sources:
            return PackageResults(match=None, packages=[])
        answer = await self._searcher.search_raw(
            query, section_filters(sources, ["nix-packages"]), request.limit
        )
        wanted = [
            (r.project, str(r.metadata.get("section", {}).get("attr") or r.title)) for r in answer.results
        ]
        found = await self._catalogs.get_each("packages", wanted)
        hits = [_package_hit(f, "text", r.score) for f, r in zip(found, answer.results, strict=True) if f]
        return PackageResults(
            match="text" if hits else None, packages=hits, degraded=answer.degraded, reason=answer.reason
        )

    async def package(self, attr: str, source: str | None) -> PackageDetail:
        sources = await self._registry.of_kind("nix-packages", source)
        found = await self._catalogs.get("packages", sources, attr)
        if found is None:
            raise NotFoundError(f"no package with attribute {attr!r}", code="package_not_found")
        return PackageDetail(**found.record, source=found.source)
