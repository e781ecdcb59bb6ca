"""VectorStore on qdrant-edge-py: Qdrant's own Rust engine, embedded in this process.

Why these choices (figures in PRODUCTION-HARDENING-ROADMAP.md, from bench/vector_engines.py):
- Every call holds the GIL for its whole duration, so calls run on one dedicated thread: they
  never overlap (the shard would serialise them anyway) and the event loop's own code never
  runs inside the engine.
- No HNSW in aidb's own process: `optimize()` builds it while holding the GIL (62 s at 100,000
  points here, a frozen service). With `EdgeIndex` (the replica workers of `replicated.py`) the
  shard builds HNSW when told to `optimize`, in a process of its own, while another replica
  serves: a hybrid query's engine time at 100,000 points is 2-3 ms instead of ~30 ms of brute
  force (bench/vector_engines.py --hnsw).
- The WAL stays on: an acknowledged upsert survives a crash without a flush.
- Booleans: the engine turns `MatchValue(True)` into the integer 1, which never matches a JSON
  `true`; boolean metadata is mirrored as "true"/"false" strings under `_bool` to filter on.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import qdrant_edge as qe
import structlog

from ai_stack.aidb.sparse import SparseVector
from ai_stack.aidb.vectors.base import (
    DENSE,
    KEYWORD_FIELDS,
    SPARSE,
    ChunkPoint,
    Hit,
    SearchFilter,
    VectorInputRejected,
    VectorStore,
    with_whole_payloads,
)
from ai_stack.aidb.vectors.conditions import AnyOf, Between, group_by_kind, parse_metadata_condition
from ai_stack.aidb.vectors.edge_index import INT8_QUANTILE, RESCORE_OVERSAMPLING, EdgeIndex

BOOL_MIRROR = "_bool"
T = TypeVar("T")
log = structlog.get_logger(__name__)


def mirror_bools(value: Any) -> Any:
    """The booleans inside `value` as "true"/"false", same shape; None when there are none."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        mirrored = {k: m for k, v in value.items() if (m := mirror_bools(v)) is not None}
        return mirrored or None
    if isinstance(value, list):
        items = [m for v in value if (m := mirror_bools(v)) is not None]
        return items or None
    return None


def _match_values(key: str, values: tuple[Any, ...]) -> qe.Filter | qe.FieldCondition:
    """Any of `values`; the engine's MatchAny takes one type, so mixed lists become a `should`."""
    conditions = [
        qe.FieldCondition(key=f"{BOOL_MIRROR}.{key}", match=qe.MatchAny([mirror_bools(v) for v in group]))
        if kind is bool
        else qe.FieldCondition(key=f"metadata.{key}", match=qe.MatchAny(group))
        for kind, group in group_by_kind(values).items()
    ]
    return conditions[0] if len(conditions) == 1 else qe.Filter(should=list(conditions))


def metadata_condition(key: str, spec: Any) -> qe.Filter | qe.FieldCondition:
    """The engine condition for one metadata filter (see conditions.py for the spec)."""
    condition = parse_metadata_condition(key, spec)
    field = f"metadata.{condition.key}"
    if isinstance(condition, AnyOf):
        return _match_values(condition.key, condition.values)
    if isinstance(condition, Between) and condition.dates:
        return qe.FieldCondition(key=field, range=qe.RangeDateTime(**condition.bounds))
    if isinstance(condition, Between):
        return qe.FieldCondition(key=field, range=qe.RangeFloat(**condition.bounds))
    return _match_values(condition.key, (condition.value,))


def build_filter(where: SearchFilter) -> qe.Filter:
    """The engine filter for `where`: scope, status, not expired, metadata."""
    must: list[Any] = [
        qe.FieldCondition(key="status", match=qe.MatchAny(list(where.statuses))),
        qe.Filter(
            should=[
                qe.IsNullCondition("expires_at"),
                qe.FieldCondition(key="expires_at", range=qe.RangeFloat(gt=where.now.timestamp())),
            ]
        ),
    ]
    if where.collections:
        must.append(qe.FieldCondition(key="collection", match=qe.MatchAny(list(where.collections))))
    if where.project is not None:
        must.append(qe.FieldCondition(key="project", match=qe.MatchValue(where.project)))
    if where.visible_projects is not None:
        visible: list[Any] = [
            qe.FieldCondition(key="project", match=qe.MatchAny(list(where.visible_projects)))
        ]
        if where.shared_collections:
            visible.append(
                qe.FieldCondition(key="collection", match=qe.MatchAny(list(where.shared_collections)))
            )
        must.append(qe.Filter(should=visible))
    must += [metadata_condition(k, v) for k, v in where.metadata.items()]
    return qe.Filter(must=must)


def _point(point: ChunkPoint) -> qe.Point:
    payload = dict(point.payload)
    bools = mirror_bools(payload.get("metadata"))
    if bools is not None:
        payload[BOOL_MIRROR] = bools
    vectors: dict[str, list[float] | qe.SparseVector | list[list[float]]] = {
        SPARSE: qe.SparseVector(point.sparse.indices, point.sparse.values)
    }
    if point.dense is not None:
        vectors[DENSE] = point.dense
    return qe.Point(str(point.chunk_id), vectors, payload)


def _stored_sparse_modifier(path: Path) -> str | None:
    """The sparse vectors' modifier the shard was created with (`idf`, or None)."""
    try:
        config = json.loads((path / "edge_config.json").read_text())
        modifier = config["sparse_vectors"][SPARSE].get("modifier")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return str(modifier).lower() if modifier else None


def _whole(records: list[Any]) -> dict[str, dict[str, Any]]:
    """Retrieved records' payloads by id, without the engine-only boolean mirror."""
    found = {}
    for record in records:
        payload = dict(record.payload or {})
        payload.pop(BOOL_MIRROR, None)
        found[str(record.id)] = payload
    return found


def _hit(point: qe.ScoredPoint) -> Hit:
    payload = dict(point.payload or {})
    payload.pop(BOOL_MIRROR, None)
    return Hit(str(point.id), float(point.score), payload)


def shard_config(dimension: int, index: EdgeIndex | None, idf_in_engine: bool = False) -> qe.EdgeConfig:
    """The shard's config: brute force (`index` None, aidb's process) or HNSW as `index` says."""
    sparse = (
        qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf) if idf_in_engine else qe.EdgeSparseVectorParams()
    )
    graph: dict[str, Any] = {}
    quantization = None
    if index is not None:
        graph = {
            "hnsw_config": qe.HnswIndexConfig(
                m=index.m,
                ef_construct=index.ef_construct,
                full_scan_threshold=10_000,
                max_indexing_threads=index.indexing_threads,
            ),
            "optimizers": qe.EdgeOptimizersConfig(
                indexing_threshold=index.indexing_threshold_kib, max_segment_size=index.max_segment_kib
            ),
        }
        if index.quantization == "int8":
            quantization = qe.ScalarQuantizationConfig(
                qe.ScalarType.Int8, quantile=INT8_QUANTILE, always_ram=True
            )
    return qe.EdgeConfig(
        vectors={
            DENSE: qe.EdgeVectorParams(
                size=dimension, distance=qe.Distance.Cosine, quantization_config=quantization
            )
        },
        sparse_vectors={SPARSE: sparse},
        # Payload in RAM: filters read it for every candidate of a brute-force scan.
        payload_memory=qe.Memory.Cached,
        **graph,
    )


def dense_search_params(index: EdgeIndex | None) -> qe.SearchParams | None:
    """A dense query's HNSW settings; None for brute force."""
    if index is None:
        return None
    # Rescored with the original vectors (see RESCORE_OVERSAMPLING). Asked for also when
    # quantization is off: segments quantized before may keep their copy.
    rescored = qe.QuantizationSearchParams(rescore=True, oversampling=RESCORE_OVERSAMPLING)
    return qe.SearchParams(hnsw_ef=index.ef, quantization=rescored)


class EdgeStore(VectorStore):
    """One shard directory holds every aidb collection (a `collection` payload field scopes it)."""

    def __init__(
        self,
        path: Path,
        index: EdgeIndex | None = None,
        *,
        inline: bool = False,
        before_open: Callable[[], None] | None = None,
    ) -> None:
        self._path = path
        self._index = index
        self._dense_params = dense_search_params(index)  # the same for every query
        # Runs on the engine's thread before the shard is opened (placement.move_into_process).
        self._before_open = before_open
        self._shard: qe.EdgeShard | None = None
        self._dimension = 0
        # One thread: the engine holds the GIL anyway, and the shard is then never used
        # concurrently. `inline`: calls run on the caller's thread (a worker process, whose loop
        # has nothing else to do).
        self._thread = None if inline else ThreadPoolExecutor(max_workers=1, thread_name_prefix="qdrant-edge")

    def _config(self, dimension: int, idf_in_engine: bool = False) -> qe.EdgeConfig:
        return shard_config(dimension, self._index, idf_in_engine)

    async def _run(self, call: Callable[[], T]) -> T:
        try:
            if self._thread is None:
                return call()
            return await asyncio.get_running_loop().run_in_executor(self._thread, call)
        except (ValueError, TypeError) as exc:  # the engine's refusal of a value it was given
            raise VectorInputRejected(f"the vector engine refused the request: {exc}") from exc

    def _open(self) -> qe.EdgeShard:
        if self._shard is None:
            raise RuntimeError("the vector index is not open")
        return self._shard

    def _create_shard(self, dimension: int) -> qe.EdgeShard:
        shard = qe.EdgeShard.create(str(self._path), self._config(dimension))
        for name in KEYWORD_FIELDS:
            shard.update(qe.UpdateOperation.create_field_index(name, qe.PayloadSchemaType.Keyword))
        shard.update(qe.UpdateOperation.create_field_index("expires_at", qe.PayloadSchemaType.Float))
        return shard

    async def ensure(self, dimension: int) -> None:
        def open_or_create() -> qe.EdgeShard:
            if self._before_open is not None:
                self._before_open()
            if self._path.is_dir() and any(self._path.iterdir()):
                # The engine refuses a config that differs from the shard's: load it as it was made.
                self.idf_in_engine = _stored_sparse_modifier(self._path) == "idf"
                return qe.EdgeShard.load(str(self._path), self._config(dimension, self.idf_in_engine))
            self.idf_in_engine = False
            return self._create_shard(dimension)

        if self._shard is None:
            self._shard = await self._run(open_or_create)
            self._dimension = dimension

    async def recreate(self, dimension: int) -> None:
        def wipe_and_create() -> qe.EdgeShard:
            if self._shard is not None:
                self._shard.close()
                self._shard = None
            shutil.rmtree(self._path, ignore_errors=True)
            self.idf_in_engine = False
            return self._create_shard(dimension)

        self._shard = await self._run(wipe_and_create)
        self._dimension = dimension

    async def upsert(self, points: list[ChunkPoint]) -> None:
        if points:
            # Built inside `_run`: a value the engine cannot take (a NaN, a foreign type) is
            # refused as input there, not counted as an engine failure.
            await self._run(
                lambda: self._open().update(qe.UpdateOperation.upsert_points([_point(p) for p in points]))
            )

    async def delete_document(self, document_id: uuid.UUID, keep_version: int | None = None) -> None:
        condition = qe.Filter(
            must=[qe.FieldCondition(key="document_id", match=qe.MatchValue(str(document_id)))],
            must_not=(
                [qe.FieldCondition(key="version", match=qe.MatchValue(keep_version))]
                if keep_version is not None
                else None
            ),
        )
        operation = qe.UpdateOperation.delete_points_by_filter(condition)
        await self._run(lambda: self._open().update(operation))

    async def delete_chunks(self, chunk_ids: list[uuid.UUID]) -> None:
        if chunk_ids:
            operation = qe.UpdateOperation.delete_points([str(c) for c in chunk_ids])
            await self._run(lambda: self._open().update(operation))

    async def query(
        self,
        dense: list[float] | None,
        sparse: SparseVector | None,
        where: SearchFilter,
        limit: int,
        fields: Sequence[str] | None = None,
    ) -> tuple[list[Hit], list[Hit]]:
        return await self.query_page(dense, sparse, where, limit, fields, 0)

    async def query_page(
        self,
        dense: list[float] | None,
        sparse: SparseVector | None,
        where: SearchFilter,
        limit: int,
        fields: Sequence[str] | None,
        whole_top: int,
    ) -> tuple[list[Hit], list[Hit]]:
        query_filter = build_filter(where)
        with_payload: bool | list[str] = list(fields) if fields is not None else True
        requests: list[tuple[str, qe.QueryRequest]] = []
        if dense is not None:
            nearest = qe.Query.Nearest(dense, using=DENSE)
            params = self._dense_params
            requests.append(
                (
                    DENSE,
                    qe.QueryRequest(
                        limit, query=nearest, filter=query_filter, with_payload=with_payload, params=params
                    ),
                )
            )
        if sparse is not None and sparse.indices:
            nearest = qe.Query.Nearest(qe.SparseVector(sparse.indices, sparse.values), using=SPARSE)
            requests.append(
                (
                    SPARSE,
                    qe.QueryRequest(limit, query=nearest, filter=query_filter, with_payload=with_payload),
                )
            )
        if not requests:
            return [], []
        # Both signals in one engine call; fusion happens in aidb (weights, explain).
        batch = qe.QueryBatchRequest([r for _, r in requests])

        def ask() -> tuple[list[list[qe.ScoredPoint]], list[Any]]:
            shard = self._open()
            responses = shard.query_batch(batch)
            if fields is None or whole_top <= 0:
                return responses, []
            top: list[int | uuid.UUID | str] = list(
                dict.fromkeys(str(p.id) for points in responses for p in points[:whole_top])
            )
            return responses, shard.retrieve(top, True, False)

        responses, records = await self._run(ask)
        results: dict[str, list[Hit]] = {DENSE: [], SPARSE: []}
        for (name, _), points in zip(requests, responses, strict=True):
            results[name] = [_hit(p) for p in points]
        return with_whole_payloads((results[DENSE], results[SPARSE]), _whole(records))

    async def payloads(self, chunk_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        if not chunk_ids:
            return {}
        ids: list[int | uuid.UUID | str] = list(chunk_ids)
        return _whole(await self._run(lambda: self._open().retrieve(ids, True, False)))

    async def count(self, collection: str | None = None) -> int:
        count_filter = None
        if collection is not None:
            count_filter = qe.Filter(
                must=[qe.FieldCondition(key="collection", match=qe.MatchValue(collection))]
            )
        request = qe.CountRequest(exact=True, filter=count_filter)
        return int(await self._run(lambda: self._open().count(request)))

    async def optimize(self) -> bool:
        """Builds what the optimizers plan (HNSW of large segments, vacuum); blocks this process
        for as long as it takes, holding the GIL. True if anything changed."""
        return bool(await self._run(lambda: self._open().optimize()))

    async def close(self) -> None:
        def close_shard() -> None:
            if self._shard is not None:
                self._shard.close()
                self._shard = None

        await self._run(close_shard)
        if self._thread is not None:
            self._thread.shutdown(wait=True)
