"""The sources docs-search knows: those of the sources file, then those added through the API."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ai_stack.core.errors import ConflictError, NotFoundError, ValidationFailedError
from ai_stack.docs_search.schemas import Source, SourceIn
from ai_stack.docs_search.state import DocsState

FILE_KINDS = frozenset({"nixos-options", "nix-packages"})


def within_roots(location: str, roots: Sequence[str]) -> bool:
    """Whether `location`, symlinks resolved, lies in one of `roots` (resolved too)."""
    real = Path(os.path.realpath(location))
    for root in roots:
        base = Path(os.path.realpath(root))
        if real == base or base in real.parents:
            return True
    return False


class SourceRegistry:
    """Sources by name; file sources are fixed, API sources live in Redis."""

    def __init__(self, file_sources: Sequence[Source], state: DocsState, roots: Sequence[str]) -> None:
        self._file = {s.name: s for s in file_sources}
        self._state = state
        self._roots = list(roots)

    async def all(self) -> list[Source]:
        added = [s for s in await self._state.api_sources() if s.name not in self._file]
        return [*self._file.values(), *added]

    async def get(self, name: str) -> Source:
        if name in self._file:
            return self._file[name]
        source = await self._state.api_source(name)
        if source is not None:
            return source
        raise NotFoundError(f"no source named {name!r}", code="source_not_found")

    async def of_kind(self, kind: str, name: str | None) -> list[str]:
        """Names of the sources of `kind`; only `name` when given (404 when it is not of that kind)."""
        if name is not None:
            source = await self.get(name)
            if source.kind != kind:
                raise NotFoundError(
                    f"source {name!r} is a {source.kind} source, not {kind}", code="wrong_kind"
                )
            return [name]
        return [s.name for s in await self.all() if s.kind == kind]

    async def add(self, request: SourceIn) -> Source:
        """Checks the location before anything is stored: 422 when it cannot be this kind of source."""
        self._check_location(request)
        source = Source(**request.model_dump(), origin="api")
        if source.name in self._file or not await self._state.add_source(source):
            raise ConflictError(f"a source named {source.name!r} exists", code="source_exists")
        return source

    @staticmethod
    def check_removable(source: Source) -> None:
        if source.origin == "file":
            raise ConflictError(
                f"source {source.name!r} is declared in the sources file; remove it there and restart",
                code="declared_in_file",
            )

    async def remove(self, name: str) -> Source:
        source = await self.get(name)
        self.check_removable(source)
        await self._state.drop_source(name)
        return source

    def _check_location(self, request: SourceIn) -> None:
        if not within_roots(request.location, self._roots):
            raise ValidationFailedError(
                f"location {request.location!r} is outside the allowed source roots "
                f"({', '.join(self._roots)}); add it to AI_STACK_DOCS_SOURCE_ROOTS or the sources file",
                code="location_not_allowed",
            )
        path = Path(request.location)
        if request.kind in FILE_KINDS:
            if not path.is_file():
                raise ValidationFailedError(
                    f"location {request.location!r}: a {request.kind} source is a JSON file",
                    code="location_invalid",
                )
        elif not path.is_dir():
            raise ValidationFailedError(
                f"location {request.location!r}: a {request.kind} source is a directory",
                code="location_invalid",
            )
