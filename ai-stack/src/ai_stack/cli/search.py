"""`ai-stack search` and `ai-stack reindex`: aidb's search as a ranked table, and index rebuilds."""

from __future__ import annotations

import re
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ai_stack.aidb.schemas import SearchIn, SearchResponse
from ai_stack.cli.aidb_client import AidbGatewayClient

MODES = ("hybrid", "vector", "keyword")
_SPACES = re.compile(r"\s+")


def search_body(query: str, mode: str, collections: list[str], project: str | None, limit: int) -> SearchIn:
    """The `POST /aidb/search` body; an absent project or collection list means all of them."""
    fields: dict[str, Any] = {"query": query, "mode": mode, "collections": collections, "limit": limit}
    if project is not None:
        fields["project"] = project
    return SearchIn.model_validate(fields)


def results_table(answer: SearchResponse) -> Table:
    """Rank, score, path, heading path and snippet of each result, best first."""
    table = Table(title=f"{len(answer.results)} results ({answer.mode})")
    for column in ("#", "score", "path", "section", "snippet"):
        table.add_column(column, overflow="fold")
    for rank, result in enumerate(answer.results, start=1):
        table.add_row(
            str(rank),
            f"{result.score:.4f}",
            escape(result.path),
            escape(" > ".join(result.heading_path)),
            escape(_SPACES.sub(" ", result.snippet).strip()),
        )
    return table


def run_search(client: AidbGatewayClient, body: SearchIn, as_json: bool, out: Console) -> int:
    """Prints aidb's answer as JSON (`as_json`) or as a table, after a line saying if it was degraded."""
    answer = client.search(body)
    if as_json:
        out.print(answer.model_dump_json(indent=2), markup=False, highlight=False, soft_wrap=True)
        return 0
    if answer.degraded:
        reason = escape(answer.reason or "no reason given")
        out.print(f"[yellow]degraded:[/] {reason}", soft_wrap=True)
    if answer.results:
        out.print(results_table(answer))
    else:
        out.print(f"no results ({answer.mode})", highlight=False)
    return 0


def run_reindex(client: AidbGatewayClient, out: Console, *, rebuild: bool = False) -> int:
    """Queues every document for re-encoding; the indexer works it off in the background."""
    answer = client.reindex(rebuild=rebuild)
    out.print(
        f"queued {answer.queued} documents for reindexing; "
        + (
            "the index was dropped: search sees fewer results until indexing catches up"
            if answer.rebuild
            else "search answers throughout, from the old vectors until each document's new ones land"
        ),
        highlight=False,
        soft_wrap=True,
    )
    return 0
