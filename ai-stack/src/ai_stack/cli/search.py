"""`ai-stack search` and `ai-stack reindex`: aidb's search as a ranked table, and index rebuilds."""

from __future__ import annotations

import json
import re
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ai_stack.cli.aidb_client import AidbClient

MODES = ("hybrid", "vector", "keyword")
_SPACES = re.compile(r"\s+")


def search_body(
    query: str, mode: str, collections: list[str], project: str | None, limit: int
) -> dict[str, Any]:
    """The `POST /aidb/search` body; an absent project or collection list means all of them."""
    body: dict[str, Any] = {"query": query, "mode": mode, "collections": collections, "limit": limit}
    if project is not None:
        body["project"] = project
    return body


def results_table(answer: dict[str, Any]) -> Table:
    """Rank, score, path, heading path and snippet of each result, best first."""
    table = Table(title=f"{len(answer.get('results', []))} results ({answer.get('mode', '?')})")
    for column in ("#", "score", "path", "section", "snippet"):
        table.add_column(column, overflow="fold")
    for rank, result in enumerate(answer.get("results", []), start=1):
        table.add_row(
            str(rank),
            f"{result.get('score', 0.0):.4f}",
            escape(str(result.get("path", ""))),
            escape(" > ".join(result.get("heading_path") or [])),
            escape(_SPACES.sub(" ", str(result.get("snippet", ""))).strip()),
        )
    return table


def run_search(client: AidbClient, body: dict[str, Any], as_json: bool, out: Console) -> int:
    """Prints aidb's answer as it came (`as_json`) or as a table, after a line saying if it was degraded."""
    answer = client.search(body)
    if as_json:
        text = json.dumps(answer, indent=2, ensure_ascii=False)
        out.print(text, markup=False, highlight=False, soft_wrap=True)
        return 0
    if answer.get("degraded"):
        reason = escape(str(answer.get("reason", "no reason given")))
        out.print(f"[yellow]degraded:[/] {reason}", soft_wrap=True)
    if answer.get("results"):
        out.print(results_table(answer))
    else:
        out.print(f"no results ({answer.get('mode', '?')})", highlight=False)
    return 0


def run_reindex(client: AidbClient, out: Console) -> int:
    """Queues every document for re-embedding; the vector index is rebuilt in the background."""
    answer = client.reindex()
    out.print(
        f"queued {answer.get('queued', 0)} documents for reindexing; "
        "vector and hybrid search see fewer results until indexing catches up",
        highlight=False,
        soft_wrap=True,
    )
    return 0
