"""Result grouping: one result per document, its best chunk first, other matching sections listed (pure).

Without it one long page can fill the top ten with its chunks and push every other page out;
grouped, the page takes one place (at its best chunk's rank) and names its other sections.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ai_stack.aidb.fusion import Ranked

# How many of a document's other matching chunks a grouped result lists.
MAX_SECTIONS = 5


@dataclass
class Group:
    """A document's best chunk and its other matching chunks, best first."""

    best: Ranked
    others: list[Ranked] = field(default_factory=list)


def group_by_document(ranked: Sequence[Ranked], max_sections: int = MAX_SECTIONS) -> list[Group]:
    """Documents in the order of their best chunk; each keeps up to `max_sections` other chunks."""
    groups: dict[str, Group] = {}
    for item in ranked:
        document = str(item.payload.get("document_id"))
        group = groups.get(document)
        if group is None:
            groups[document] = Group(item)
        elif len(group.others) < max_sections:
            group.others.append(item)
    return list(groups.values())


def groups_by_default(collections: Sequence[str], grouped_collections: Sequence[str]) -> bool:
    """Grouping is the default when every collection searched is a documentation-style one."""
    return bool(collections) and all(c in grouped_collections for c in collections)
