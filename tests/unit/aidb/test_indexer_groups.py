"""The indexer works documents off in parallel, but one document's items strictly in order."""

from __future__ import annotations

import uuid

from ai_stack.aidb.indexer import OutboxItem, by_document


def item(item_id: int, document: int) -> OutboxItem:
    return OutboxItem(item_id, uuid.UUID(int=document), "docs", "index", 1, 0)


def test_groups_keep_outbox_order() -> None:
    items = [item(1, 7), item(2, 8), item(3, 7), item(4, 9), item(5, 8)]
    groups = by_document(items)
    assert [[i.id for i in g] for g in groups] == [[1, 3], [2, 5], [4]]


def test_empty() -> None:
    assert by_document([]) == []
