"""Route table of docs-search: registers each handler and documents it."""

from __future__ import annotations

from ai_stack.core.openapi import Route
from ai_stack.docs_search import handlers
from ai_stack.docs_search.schemas import (
    DocsResults,
    DocsSearchIn,
    LookupIn,
    LookupQuery,
    OptionDetail,
    OptionResults,
    PackageDetail,
    PackageResults,
    Removed,
    SourceIn,
    SourceList,
    SourceView,
    SyncAccepted,
)

ROUTES = (
    Route("GET", "/sources", handlers.list_sources, "Every source with its sync status.", None, SourceList),
    Route(
        "POST",
        "/sources",
        handlers.add_source,
        "Add a source (its first sync starts at once).",
        SourceIn,
        SourceView,
        (409, 422),
        ok=(201,),
    ),
    Route(
        "GET", "/sources/{name}", handlers.get_source, "One source and its status.", None, SourceView, (404,)
    ),
    Route(
        "DELETE",
        "/sources/{name}",
        handlers.remove_source,
        "Remove a source added through the API and delete its sections.",
        None,
        Removed,
        (404, 409),
    ),
    Route(
        "POST",
        "/sources/{name}/sync",
        handlers.sync_source,
        "Sync now (incremental); progress in GET /sources/{name}.",
        None,
        SyncAccepted,
        (404,),
        ok=(202,),
    ),
    Route(
        "POST",
        "/search",
        handlers.search,
        "Ranked sections (hybrid; keyword with degraded=true while embeddings is down).",
        DocsSearchIn,
        DocsResults,
        (422,),
    ),
    Route(
        "POST",
        "/options/search",
        handlers.search_options,
        "Options: exact name, then placeholder, then dotted prefix listing, then free text.",
        LookupIn,
        OptionResults,
        (404, 422),
    ),
    Route(
        "GET",
        "/options/{name}",
        handlers.get_option,
        "One option's full record; a concrete name resolves to its `<name>` option.",
        None,
        OptionDetail,
        (404, 422),
        query=LookupQuery,
    ),
    Route(
        "POST",
        "/packages/search",
        handlers.search_packages,
        "Packages: exact attribute, then pname, then prefix, then free text.",
        LookupIn,
        PackageResults,
        (404, 422),
    ),
    Route(
        "GET",
        "/packages/{attr}",
        handlers.get_package,
        "One package's full record.",
        None,
        PackageDetail,
        (404, 422),
        query=LookupQuery,
    ),
)
