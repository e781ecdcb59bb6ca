"""`ai-stack docs add|list|sync|remove|search`: docs-search's sources and search from a shell."""

from __future__ import annotations

import argparse
import re
import time
from collections.abc import Callable

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ai_stack.cli.docs_client import DocsGatewayClient
from ai_stack.docs_search.schemas import DocsSearchIn, SourceIn, SourceView
from ai_stack.docs_search.sections import SOURCE_KINDS

_SPACES = re.compile(r"\s+")
POLL_INTERVAL_S = 1.0


def add_docs_commands(docs: argparse.ArgumentParser, connection: argparse.ArgumentParser) -> None:
    actions = docs.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", parents=[connection], help="add a source (its first sync starts)")
    add.add_argument("name")
    add.add_argument("--kind", required=True, choices=SOURCE_KINDS)
    add.add_argument("--location", required=True, help="absolute path of the directory or JSON file")
    add.add_argument("--schedule", default="1d", help="manual, or 30m, 6h, 1d, 1w (default 1d)")
    add.add_argument("--version", dest="doc_version", help="the version it documents (default: detected)")
    actions.add_parser("list", parents=[connection], help="sources and their sync status")
    sync = actions.add_parser("sync", parents=[connection], help="sync a source now")
    sync.add_argument("name")
    sync.add_argument("--wait", action="store_true", help="until it ends, showing progress")
    remove = actions.add_parser("remove", parents=[connection], help="remove a source and its sections")
    remove.add_argument("name")
    search = actions.add_parser("search", parents=[connection], help="search the documentation")
    search.add_argument("query")
    search.add_argument("--source", action="append", default=[], dest="sources", help="repeatable")
    search.add_argument("--kind", action="append", default=[], dest="kinds", choices=SOURCE_KINDS)
    search.add_argument("--limit", type=int, default=10)
    search.add_argument("--json", action="store_true", help="print the answer as JSON")


def run_docs(
    client: DocsGatewayClient,
    args: argparse.Namespace,
    out: Console,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    if args.action == "add":
        fields = {"name": args.name, "kind": args.kind, "location": args.location, "schedule": args.schedule}
        if args.doc_version:
            fields["version"] = args.doc_version
        view = client.add_source(SourceIn.model_validate(fields))
        out.print(f"added {escape(view.name)} ({view.kind}); its first sync has started", highlight=False)
        return 0
    if args.action == "list":
        out.print(sources_table(client.sources().sources))
        return 0
    if args.action == "sync":
        accepted = client.sync(args.name)
        out.print("sync started" if accepted.started else "a sync was already running", highlight=False)
        return _wait(client, args.name, out, sleep) if args.wait else 0
    if args.action == "remove":
        removed = client.remove_source(args.name)
        out.print(f"removed {escape(removed.name)} ({removed.sections_removed} sections)", highlight=False)
        return 0
    body = DocsSearchIn(query=args.query, sources=args.sources, kinds=args.kinds, limit=args.limit)
    answer = client.search(body)
    if args.json:
        out.print(answer.model_dump_json(indent=2), markup=False, highlight=False, soft_wrap=True)
        return 0
    if answer.degraded:
        out.print(f"[yellow]degraded:[/] {escape(answer.reason or 'no reason given')}", soft_wrap=True)
    table = Table(title=f"{len(answer.results)} results")
    for column in ("#", "score", "source", "section", "url", "snippet"):
        table.add_column(column, overflow="fold")
    for rank, hit in enumerate(answer.results, start=1):
        table.add_row(
            str(rank),
            f"{hit.score:.4f}",
            escape(hit.source + (f" {hit.version}" if hit.version else "")),
            escape(" > ".join(hit.heading_path) or hit.title),
            escape(hit.url),
            escape(_SPACES.sub(" ", hit.snippet).strip()),
        )
    out.print(table)
    return 0


def sources_table(sources: list[SourceView]) -> Table:
    table = Table(title=f"{len(sources)} sources")
    for column in ("name", "kind", "state", "sections", "version", "last sync", "errors", "location"):
        table.add_column(column, overflow="fold")
    for view in sources:
        status = view.status
        state = status.state + (f" ({status.phase} {status.done}/{status.total})" if status.phase else "")
        table.add_row(
            escape(view.name),
            view.kind,
            state,
            str(status.sections),
            escape(status.version or ""),
            status.last_sync.isoformat(timespec="seconds") if status.last_sync else "",
            str(status.error_count),
            escape(view.location),
        )
    return table


def _wait(client: DocsGatewayClient, name: str, out: Console, sleep: Callable[[float], None]) -> int:
    while True:
        view = client.source(name)
        status = view.status
        if status.state != "syncing":
            counts = status.counts
            out.print(
                f"{status.state}: {status.sections} sections, {counts.added} added, {counts.updated} "
                f"updated, {counts.unchanged} unchanged, {counts.removed} removed, {counts.failed} failed"
                f" in {status.duration_s or 0:.1f} s",
                highlight=False,
            )
            for error in status.errors:
                out.print(f"  {escape(error)}", highlight=False)
            return 0 if status.state == "ok" else 1
        out.print(f"{status.phase or 'queued'} {status.done}/{status.total}", highlight=False)
        sleep(POLL_INTERVAL_S)
