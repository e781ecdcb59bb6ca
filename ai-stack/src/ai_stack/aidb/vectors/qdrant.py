"""VectorStore on qdrant-client: a Qdrant server by URL, or the client's embedded local mode."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from qdrant_client import AsyncQdrantClient, models
from qdrant_client.http.exceptions import UnexpectedResponse

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
)
from ai_stack.aidb.vectors.conditions import AnyOf, Between, group_by_kind, parse_metadata_condition
from ai_stack.aidb.vectors.edge_index import INT8_QUANTILE, RESCORE_OVERSAMPLING, EdgeIndex
from ai_stack.aidb.vectors.layout import ClusterLayout

COLLECTION = "aidb_chunks"


def _epoch(value: dt.datetime) -> float:
    return value.timestamp()


def metadata_condition(key: str, spec: Any) -> models.Condition:
    """The Qdrant condition for one metadata filter (see conditions.py for the spec)."""
    condition = parse_metadata_condition(key, spec)
    field = f"metadata.{condition.key}"
    if isinstance(condition, AnyOf):
        # MatchAny takes strings or integers, one type at a time; booleans match one by one.
        conditions: list[models.Condition] = []
        for kind, group in group_by_kind(condition.values).items():
            if kind is bool:
                conditions += [
                    models.FieldCondition(key=field, match=models.MatchValue(value=v)) for v in group
                ]
            else:
                conditions.append(models.FieldCondition(key=field, match=models.MatchAny(any=group)))
        return conditions[0] if len(conditions) == 1 else models.Filter(should=conditions)
    if isinstance(condition, Between) and condition.dates:
        return models.FieldCondition(key=field, range=models.DatetimeRange(**condition.bounds))
    if isinstance(condition, Between):
        return models.FieldCondition(key=field, range=models.Range(**condition.bounds))
    return models.FieldCondition(key=field, match=models.MatchValue(value=condition.value))


def build_filter(where: SearchFilter) -> models.Filter:
    """The Qdrant filter for `where`: scope, status, not expired, metadata."""
    must: list[models.Condition] = [
        models.FieldCondition(key="status", match=models.MatchAny(any=list(where.statuses))),
        models.Filter(
            should=[
                models.IsNullCondition(is_null=models.PayloadField(key="expires_at")),
                models.FieldCondition(key="expires_at", range=models.Range(gt=_epoch(where.now))),
            ]
        ),
    ]
    if where.collections:
        must.append(
            models.FieldCondition(key="collection", match=models.MatchAny(any=list(where.collections)))
        )
    if where.project is not None:
        must.append(models.FieldCondition(key="project", match=models.MatchValue(value=where.project)))
    if where.visible_projects is not None:
        visible: list[models.Condition] = [
            models.FieldCondition(key="project", match=models.MatchAny(any=list(where.visible_projects)))
        ]
        if where.shared_collections:
            visible.append(
                models.FieldCondition(
                    key="collection", match=models.MatchAny(any=list(where.shared_collections))
                )
            )
        must.append(models.Filter(should=visible))
    must += [metadata_condition(k, v) for k, v in where.metadata.items()]
    return models.Filter(must=must)


def _sparse(vector: SparseVector) -> models.SparseVector:
    return models.SparseVector(indices=vector.indices, values=vector.values)


def _vectors(point: ChunkPoint) -> dict[str, Any]:
    vectors: dict[str, Any] = {SPARSE: _sparse(point.sparse)}
    if point.dense is not None:
        vectors[DENSE] = point.dense
    return vectors


def _refusal(exc: Exception) -> Exception:
    """A 4xx from the server or a value the client could not encode is the request's fault."""
    if isinstance(exc, UnexpectedResponse) and 400 <= (exc.status_code or 0) < 500:
        return VectorInputRejected(f"the vector engine refused the request: {exc.status_code}")
    if isinstance(exc, ValueError | TypeError):
        return VectorInputRejected(f"the vector engine refused the request: {exc}")
    return exc


class QdrantStore(VectorStore):
    """One Qdrant collection holds every aidb collection (a `collection` payload field scopes it)."""

    def __init__(
        self,
        client: AsyncQdrantClient,
        collection: str = COLLECTION,
        *,
        payload_indexes: bool,
        layout: ClusterLayout | None = None,
        hnsw: EdgeIndex | None = None,
    ) -> None:
        self._client = client
        self._collection = collection
        self._payload_indexes = payload_indexes
        self._layout = layout or ClusterLayout()
        # A server's HNSW: the same graph and query settings as the embedded engine's replicas.
        self._hnsw = hnsw
        self._dense_params = (
            models.SearchParams(
                hnsw_ef=hnsw.ef,
                quantization=models.QuantizationSearchParams(rescore=True, oversampling=RESCORE_OVERSAMPLING),
            )
            if hnsw
            else None
        )

    @classmethod
    def connect(
        cls,
        url: str | None,
        path: Path,
        timeout_s: float,
        *,
        api_key: str | None = None,
        layout: ClusterLayout | None = None,
        hnsw: EdgeIndex | None = None,
    ) -> QdrantStore:
        """A server client when `url` is set, else the embedded local mode under `path` (which
        searches by brute force: no HNSW)."""
        if url:
            client = AsyncQdrantClient(url=url, api_key=api_key, timeout=int(max(1, timeout_s)))
            return cls(client, payload_indexes=True, layout=layout, hnsw=hnsw)
        path.mkdir(parents=True, exist_ok=True)
        # Local mode filters by brute force; payload indexes only make it warn.
        return cls(AsyncQdrantClient(path=str(path)), payload_indexes=False)

    async def ensure(self, dimension: int) -> None:
        if await self._client.collection_exists(self._collection):
            info = await self._client.get_collection(self._collection)
            sparse = (info.config.params.sparse_vectors or {}).get(SPARSE)
            self.idf_in_engine = sparse is not None and sparse.modifier == models.Modifier.IDF
            return
        await self._create(dimension)

    async def recreate(self, dimension: int) -> None:
        if await self._client.collection_exists(self._collection):
            await self._client.delete_collection(self._collection)
        await self._create(dimension)

    async def _create(self, dimension: int) -> None:
        await self._client.create_collection(
            self._collection,
            vectors_config={DENSE: models.VectorParams(size=dimension, distance=models.Distance.COSINE)},
            sparse_vectors_config={SPARSE: models.SparseVectorParams()},
            # Only a server spreads a collection; the embedded local mode ignores these.
            shard_number=self._layout.shard_number,
            replication_factor=self._layout.replication_factor,
            write_consistency_factor=self._layout.write_consistency_factor,
            hnsw_config=(
                models.HnswConfigDiff(m=self._hnsw.m, ef_construct=self._hnsw.ef_construct)
                if self._hnsw
                else None
            ),
            quantization_config=(
                models.ScalarQuantization(
                    scalar=models.ScalarQuantizationConfig(
                        type=models.ScalarType.INT8, quantile=INT8_QUANTILE, always_ram=True
                    )
                )
                if self._hnsw and self._hnsw.quantization == "int8"
                else None
            ),
        )
        self.idf_in_engine = False
        if not self._payload_indexes:
            return
        for name in KEYWORD_FIELDS:
            await self._client.create_payload_index(self._collection, name, models.PayloadSchemaType.KEYWORD)
        await self._client.create_payload_index(
            self._collection, "expires_at", models.PayloadSchemaType.FLOAT
        )

    async def upsert(self, points: list[ChunkPoint]) -> None:
        if not points:
            return
        await self._client.upsert(
            self._collection,
            points=[
                models.PointStruct(id=str(p.chunk_id), vector=_vectors(p), payload=p.payload) for p in points
            ],
            wait=True,
        )

    async def delete_document(self, document_id: uuid.UUID, keep_version: int | None = None) -> None:
        condition = models.Filter(
            must=[models.FieldCondition(key="document_id", match=models.MatchValue(value=str(document_id)))],
            must_not=(
                [models.FieldCondition(key="version", match=models.MatchValue(value=keep_version))]
                if keep_version is not None
                else None
            ),
        )
        await self._client.delete(
            self._collection, points_selector=models.FilterSelector(filter=condition), wait=True
        )

    async def delete_chunks(self, chunk_ids: list[uuid.UUID]) -> None:
        if chunk_ids:
            selector = models.PointIdsList(points=[str(c) for c in chunk_ids])
            await self._client.delete(self._collection, points_selector=selector, wait=True)

    async def query(
        self,
        dense: list[float] | None,
        sparse: SparseVector | None,
        where: SearchFilter,
        limit: int,
        fields: Sequence[str] | None = None,
    ) -> tuple[list[Hit], list[Hit]]:
        query_filter = build_filter(where)
        with_payload: bool | list[str] = list(fields) if fields is not None else True
        requests: list[tuple[str, models.QueryRequest]] = []
        if dense is not None:
            requests.append(
                (
                    DENSE,
                    models.QueryRequest(
                        query=dense,
                        using=DENSE,
                        filter=query_filter,
                        limit=limit,
                        with_payload=with_payload,
                        params=self._dense_params,
                    ),
                )
            )
        if sparse is not None and sparse.indices:
            requests.append(
                (
                    SPARSE,
                    models.QueryRequest(
                        query=_sparse(sparse),
                        using=SPARSE,
                        filter=query_filter,
                        limit=limit,
                        with_payload=with_payload,
                    ),
                )
            )
        if not requests:
            return [], []
        # Both signals in one engine round trip; fusion happens in aidb (weights, explain).
        try:
            responses = await self._client.query_batch_points(
                self._collection, requests=[r for _, r in requests]
            )
        except Exception as exc:
            raise _refusal(exc) from exc
        results: dict[str, list[Hit]] = {DENSE: [], SPARSE: []}
        for (name, _), response in zip(requests, responses, strict=True):
            results[name] = [Hit(str(p.id), float(p.score), dict(p.payload or {})) for p in response.points]
        return results[DENSE], results[SPARSE]

    async def payloads(self, chunk_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        if not chunk_ids:
            return {}
        records = await self._client.retrieve(
            self._collection, ids=list(chunk_ids), with_payload=True, with_vectors=False
        )
        return {str(r.id): dict(r.payload or {}) for r in records}

    async def count(self, collection: str | None = None) -> int:
        count_filter = None
        if collection is not None:
            count_filter = models.Filter(
                must=[models.FieldCondition(key="collection", match=models.MatchValue(value=collection))]
            )
        result = await self._client.count(self._collection, count_filter=count_filter, exact=True)
        return int(result.count)

    async def close(self) -> None:
        await self._client.close()
