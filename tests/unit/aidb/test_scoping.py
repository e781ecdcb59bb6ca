"""What a project-limited key sees in aidb (pure)."""

from __future__ import annotations

import pytest
from ai_stack.aidb.scoping import check_read_project, check_write_project, read_scope
from ai_stack.core.errors import ForbiddenError
from ai_stack.core.principal import STACK, Principal


def key(*projects: str) -> Principal:
    return Principal("k", frozenset({"read", "write"}), frozenset(projects))


def test_cache_tags_never_collide_across_grants() -> None:
    """A key limited to the project "a|b" must not be served what a key limited to "a" and "b" saw."""
    tags = {
        str(read_scope(key("a|b"), ("docs",)).cache_tag()),
        str(read_scope(key("a", "b"), ("docs",)).cache_tag()),
        str(read_scope(key("a#b"), ()).cache_tag()),
        str(read_scope(key("a"), ("b",)).cache_tag()),
        str(read_scope(STACK, ("docs",)).cache_tag()),
    }
    assert len(tags) == 5


def test_reads_and_writes_follow_the_grant() -> None:
    scope = read_scope(key("mine"), ("docs",))
    assert scope.sees("mine", "documents") and scope.sees("anyone", "docs")
    assert not scope.sees("theirs", "documents")
    check_read_project(key("mine"), "theirs", ("docs",), ("docs",))  # shared collections only
    with pytest.raises(ForbiddenError):
        check_read_project(key("mine"), "theirs", (), ("docs",))
    with pytest.raises(ForbiddenError):
        check_write_project(key("mine"), "theirs")
    check_write_project(STACK, "theirs")
