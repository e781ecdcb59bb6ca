"""Option and package catalogs in Redis: exact names, prefix listings and `<name>` placeholders
answered without aidb or the embeddings service.

Per source: a hash name → record JSON, a sorted set of names (all score 0, so ZRANGEBYLEX lists
a prefix in order), for options a set of the names holding placeholders, and for packages a hash
pname → attributes. A sync builds the next catalog under temporary keys and renames them in one
transaction, so lookups never see half a catalog.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from ai_stack.core.redis import GuardedRedis
from ai_stack.docs_search.option_names import placeholder_pattern, resolve
from ai_stack.docs_search.records import OptionRecord, PackageRecord
from ai_stack.docs_search.state import call, redis_call

CatalogKind = Literal["options", "packages"]
_WRITE_CHUNK = 2000


def _keys(kind: CatalogKind, source: str, suffix: str = "") -> dict[str, str]:
    base = f"docs:{kind}:{source}"
    return {part: f"{base}:{part}{suffix}" for part in ("records", "names", "extra")}


@dataclass(frozen=True)
class Found:
    source: str
    record: dict[str, Any]


def _lex_end(prefix: str) -> str:
    # Redis compares bytes: every UTF-8 name starting with `prefix` sorts below prefix + U+10FFFF.
    return "(" + prefix + "\U0010ffff"


class Catalogs:
    """Reads and replaces the catalogs of option and package sources."""

    def __init__(self, redis: GuardedRedis) -> None:
        self._redis = redis
        # Placeholder names per source, cached until the source's catalog is replaced.
        self._patterns: dict[str, list[str]] = {}

    async def replace_options(self, source: str, records: Sequence[OptionRecord]) -> None:
        rows = {r.name: r.model_dump_json(exclude_defaults=False).encode() for r in records}
        extra = [r.name for r in records if placeholder_pattern(r.name) is not None]
        await self._replace("options", source, rows, extra_set=extra)
        self._patterns.pop(source, None)

    async def replace_packages(self, source: str, records: Sequence[PackageRecord]) -> None:
        rows = {r.attr: r.model_dump_json().encode() for r in records}
        by_pname: dict[str, list[str]] = defaultdict(list)
        for record in records:
            if record.pname:
                by_pname[record.pname].append(record.attr)
        extra_hash = {p: orjson.dumps(sorted(attrs)) for p, attrs in by_pname.items()}
        await self._replace("packages", source, rows, extra_hash=extra_hash)

    async def drop(self, kind: CatalogKind, source: str) -> None:
        keys = _keys(kind, source)
        await redis_call(self._redis, lambda c: c.delete(*keys.values()))
        self._patterns.pop(source, None)

    async def _replace(
        self,
        kind: CatalogKind,
        source: str,
        rows: dict[str, bytes],
        *,
        extra_set: list[str] | None = None,
        extra_hash: dict[str, bytes] | None = None,
    ) -> None:
        final, temp = _keys(kind, source), _keys(kind, source, ":next")
        await redis_call(self._redis, lambda c: c.delete(*temp.values()))
        items = list(rows.items())
        for start in range(0, len(items), _WRITE_CHUNK):
            part = dict(items[start : start + _WRITE_CHUNK])
            names = dict.fromkeys(part, 0)
            await redis_call(self._redis, call("hset", temp["records"], mapping=part))
            await redis_call(self._redis, call("zadd", temp["names"], names))
        if extra_set:
            await redis_call(self._redis, lambda c: c.sadd(temp["extra"], *extra_set))
        if extra_hash:
            await redis_call(self._redis, lambda c: c.hset(temp["extra"], mapping=extra_hash))

        present = ["records", "names"] + (["extra"] if extra_set or extra_hash else [])

        def swap(c: Any) -> Any:
            pipe = c.pipeline(transaction=True)
            pipe.delete(*final.values())
            for part in present:
                pipe.rename(temp[part], final[part])
            return pipe.execute()

        if rows:
            await redis_call(self._redis, swap)
        else:
            await redis_call(self._redis, lambda c: c.delete(*final.values(), *temp.values()))

    async def get(self, kind: CatalogKind, sources: Sequence[str], name: str) -> Found | None:
        """The record named exactly `name`, from the first source (in order) that has it."""
        found = await self.get_each(kind, [(source, name) for source in sources])
        return next((f for f in found if f is not None), None)

    async def get_each(self, kind: CatalogKind, wanted: Sequence[tuple[str, str]]) -> list[Found | None]:
        """The record of each (source, name), in one round trip; None where there is none."""
        if not wanted:
            return []

        def fetch(c: Any) -> Any:
            pipe = c.pipeline(transaction=False)
            for source, name in wanted:
                pipe.hget(_keys(kind, source)["records"], name)
            return pipe.execute()

        raws: list[bytes | None] = await redis_call(self._redis, fetch)
        return [
            None if raw is None else Found(source, orjson.loads(raw))
            for (source, _), raw in zip(wanted, raws, strict=True)
        ]

    async def prefixed(
        self, kind: CatalogKind, sources: Sequence[str], prefix: str, limit: int
    ) -> list[Found]:
        """Records whose name starts with `prefix`, in name order, at most `limit`."""
        found: list[Found] = []
        for source in sources:
            keys = _keys(kind, source)
            names: list[bytes] = await redis_call(
                self._redis, call("zrangebylex", keys["names"], "[" + prefix, _lex_end(prefix), 0, limit)
            )
            if not names:
                continue
            raws: list[bytes | None] = await redis_call(self._redis, call("hmget", keys["records"], names))
            found += [Found(source, orjson.loads(raw)) for raw in raws if raw is not None]
        found.sort(key=lambda f: str(f.record.get("name") or f.record.get("attr")))
        return found[:limit]

    async def resolve_option(self, sources: Sequence[str], concrete: str) -> Found | None:
        """The placeholder option (`….<name>.…`) a concrete name stands for, most specific first."""
        for source in sources:
            patterns = await self._option_patterns(source)
            name = resolve(concrete, patterns)
            if name is not None:
                return await self.get("options", [source], name)
        return None

    async def _option_patterns(self, source: str) -> list[str]:
        cached = self._patterns.get(source)
        if cached is None:
            key = _keys("options", source)["extra"]
            raw: set[bytes] = await redis_call(self._redis, lambda c: c.smembers(key))
            cached = self._patterns[source] = sorted(m.decode() for m in raw)
        return cached

    async def by_pname(self, sources: Sequence[str], pname: str) -> list[Found]:
        """Packages whose pname is exactly `pname`."""
        indexes = await self._attrs_of_pname(sources, pname)
        wanted = [(source, attr) for source, attrs in zip(sources, indexes, strict=True) for attr in attrs]
        return [found for found in await self.get_each("packages", wanted) if found is not None]

    async def _attrs_of_pname(self, sources: Sequence[str], pname: str) -> list[list[str]]:
        """For each package source, the attributes whose pname is `pname`."""

        def fetch(c: Any) -> Any:
            pipe = c.pipeline(transaction=False)
            for source in sources:
                pipe.hget(_keys("packages", source)["extra"], pname)
            return pipe.execute()

        raws: list[bytes | None] = await redis_call(self._redis, fetch) if sources else []
        return [[] if raw is None else list(orjson.loads(raw)) for raw in raws]
