"""HTTP handlers of docs-search: parse, call the registry, the syncer or a searcher, serialise."""

from __future__ import annotations

from aiohttp import web

from ai_stack.clients.refusals import refusals_as_errors
from ai_stack.core.errors import ValidationFailedError
from ai_stack.core.requests import model_response, read_model, read_query
from ai_stack.docs_search.keys import (
    DOCS_SETTINGS_KEY,
    LOOKUPS_KEY,
    REGISTRY_KEY,
    SEARCHER_KEY,
    STATE_KEY,
    SYNCER_KEY,
)
from ai_stack.docs_search.schemas import (
    DocsSearchIn,
    LookupIn,
    LookupQuery,
    Removed,
    SourceIn,
    SourceList,
    SourceView,
    SyncAccepted,
)

MAX_NAME_CHARS = 1000


def _check_query(request: web.Request, query: str) -> None:
    limit = request.app[DOCS_SETTINGS_KEY].max_query_chars
    if len(query) > limit:
        raise ValidationFailedError(f"query has {len(query)} characters, at most {limit} are allowed")


def _name(request: web.Request, part: str) -> str:
    name = request.match_info[part]
    if len(name) > MAX_NAME_CHARS or "\x00" in name:
        raise ValidationFailedError(f"{part} must be at most {MAX_NAME_CHARS} characters, without NUL")
    return name


async def list_sources(request: web.Request) -> web.Response:
    sources = await request.app[REGISTRY_KEY].all()
    statuses = await request.app[STATE_KEY].statuses([s.name for s in sources])
    views = [SourceView(**s.model_dump(), status=statuses[s.name]) for s in sources]
    return model_response(SourceList(sources=views))


async def get_source(request: web.Request) -> web.Response:
    source = await request.app[REGISTRY_KEY].get(_name(request, "name"))
    status = await request.app[STATE_KEY].status(source.name)
    return model_response(SourceView(**source.model_dump(), status=status))


async def add_source(request: web.Request) -> web.Response:
    """201 and its first sync started; 409 when the name is taken, 422 for an unusable location."""
    body = await read_model(request, SourceIn)
    source = await request.app[REGISTRY_KEY].add(body)
    await request.app[SYNCER_KEY].start(source)
    status = await request.app[STATE_KEY].status(source.name)
    return model_response(SourceView(**source.model_dump(), status=status), status=201)


async def remove_source(request: web.Request) -> web.Response:
    """Stops its sync and deletes its sections from aidb, then forgets it (a failure leaves it
    registered, so the call can be repeated)."""
    name = _name(request, "name")
    registry, syncer = request.app[REGISTRY_KEY], request.app[SYNCER_KEY]
    source = await registry.get(name)
    registry.check_removable(source)
    async with syncer.removing(name):
        with refusals_as_errors("aidb"):
            deleted = await syncer.remove_source(source)
        await registry.remove(name)
    return model_response(Removed(name=name, sections_removed=deleted))


async def sync_source(request: web.Request) -> web.Response:
    """202: the sync runs in the background; its progress is in GET /sources/{name}."""
    source = await request.app[REGISTRY_KEY].get(_name(request, "name"))
    started = await request.app[SYNCER_KEY].start(source)
    return model_response(SyncAccepted(name=source.name, state="syncing", started=started), status=202)


async def search(request: web.Request) -> web.Response:
    body = await read_model(request, DocsSearchIn)
    _check_query(request, body.query)
    with refusals_as_errors("aidb"):
        return model_response(await request.app[SEARCHER_KEY].search(body))


async def search_options(request: web.Request) -> web.Response:
    body = await read_model(request, LookupIn)
    _check_query(request, body.query)
    with refusals_as_errors("aidb"):
        return model_response(await request.app[LOOKUPS_KEY].search_options(body))


async def get_option(request: web.Request) -> web.Response:
    query = read_query(request, LookupQuery)
    option = await request.app[LOOKUPS_KEY].option(_name(request, "name"), query.source)
    return model_response(option)


async def search_packages(request: web.Request) -> web.Response:
    body = await read_model(request, LookupIn)
    _check_query(request, body.query)
    with refusals_as_errors("aidb"):
        return model_response(await request.app[LOOKUPS_KEY].search_packages(body))


async def get_package(request: web.Request) -> web.Response:
    query = read_query(request, LookupQuery)
    package = await request.app[LOOKUPS_KEY].package(_name(request, "attr"), query.source)
    return model_response(package)
