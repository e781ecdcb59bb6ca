"""What a project-limited key sees and may change in aidb (pure: principal in, decision out).

A key limited to projects reads the documents of those projects, plus every document of the
shared collections (reference material such as docs-search's sections, which belong to no
caller's project); it writes only in its projects, shared collections included. Another
project's document is absent for it (404), a write elsewhere is a 403.
"""

from __future__ import annotations

from dataclasses import dataclass

from ai_stack.core.errors import ForbiddenError
from ai_stack.core.principal import Principal


@dataclass(frozen=True)
class ReadScope:
    """Which rows a read may return: `projects` None means every project."""

    projects: tuple[str, ...] | None
    shared_collections: tuple[str, ...]

    def sees(self, project: str, collection: str) -> bool:
        return self.projects is None or project in self.projects or collection in self.shared_collections

    def cache_tag(self) -> list[list[str]] | None:
        """Part of a result cache key: one key's cached answer never reaches a narrower key. Lists,
        not a joined string: project names may hold any separator."""
        if self.projects is None:
            return None
        return [list(self.projects), list(self.shared_collections)]


def read_scope(principal: Principal, shared_collections: tuple[str, ...]) -> ReadScope:
    projects = tuple(sorted(principal.projects)) if principal.projects is not None else None
    return ReadScope(projects, shared_collections)


def check_read_project(
    principal: Principal, project: str, collections: tuple[str, ...], shared: tuple[str, ...]
) -> None:
    """A read naming `project` is refused unless the key has it, or reads shared collections only."""
    if principal.may_use(project):
        return
    if collections and all(c in shared for c in collections):
        return
    raise ForbiddenError(f"this API key may not read project {project!r}", code="project_forbidden")


def check_write_project(principal: Principal, project: str) -> None:
    if not principal.may_use(project):
        raise ForbiddenError(f"this API key may not write to project {project!r}", code="project_forbidden")
