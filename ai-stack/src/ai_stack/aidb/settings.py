"""Settings of aidb (env prefix AI_STACK_AIDB_)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import quote

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from ai_stack.aidb.vectors.edge_index import EdgeIndex, Quantization
from ai_stack.aidb.vectors.layout import ClusterLayout
from ai_stack.core.settings import KeyLimitedSettings, default_home
from ai_stack.text.model_files import DEFAULT_MODEL


class AidbSettings(KeyLimitedSettings):
    """What aidb can be told."""

    model_config = SettingsConfigDict(env_prefix="AI_STACK_AIDB_")

    port: int = Field(8091, ge=1, le=65535, description="TCP port the service listens on.")
    max_body_bytes: int = Field(
        16 * 1_048_576, ge=1024, description="Largest request body accepted (413 above it)."
    )
    postgres_host: str = Field("127.0.0.1", description="PostgreSQL host.")
    postgres_port: int = Field(55432, ge=1, le=65535, description="PostgreSQL port.")
    postgres_user: str = Field("ai_stack", description="PostgreSQL user.")
    postgres_password: SecretStr = Field(
        SecretStr(""), description="PostgreSQL password (use the _FILE variant)."
    )
    postgres_db: str = Field("ai_stack", description="PostgreSQL database.")
    embeddings_url: str = Field("http://127.0.0.1:8081", description="Base URL of the embeddings service.")
    qdrant_url: str | None = Field(
        None, description="Qdrant server URL; unset: the embedded engine under data_dir."
    )
    qdrant_api_key: SecretStr | None = Field(
        None, description="API key of the Qdrant server (use the _FILE variant); unset: none sent."
    )
    qdrant_shard_number: int = Field(
        1, ge=1, le=1024, description="Shards of aidb's collection when aidb creates it on a Qdrant server."
    )
    qdrant_replication_factor: int = Field(
        1,
        ge=1,
        le=16,
        description="Copies of each shard when aidb creates its collection on a Qdrant cluster.",
    )
    qdrant_write_consistency_factor: int = Field(
        1,
        ge=1,
        le=16,
        description="Replicas that must acknowledge a write (at most the replication factor).",
    )
    embedded_engine: Literal["edge", "local"] = Field(
        "edge",
        description="Embedded engine when qdrant_url is unset: edge (qdrant-edge-py) or local "
        "(qdrant-client local mode).",
    )
    # Two by default: in aidb's process the engine can only search by brute force (an HNSW build
    # holds the GIL for minutes), which costs ~30 ms a query at 100,000 chunks; two replicas
    # answer in a few ms and build while the other serves, for a second copy of the shard.
    edge_replicas: int = Field(
        2,
        ge=0,
        le=4,
        description="qdrant-edge in replica workers, each a full copy of the shard, that build an HNSW "
        "index one at a time while the others serve (2, the default, or more); 1 runs it in one worker "
        "process and 0 in aidb's process, both searching by brute force, in one copy.",
    )
    # 32 / 256: with MiniLM's vectors of real text, 16 / 100 found 0.94-0.97 of the exact top 10
    # at ef 128 (bench.search_latency --corpus retrieval); these find 0.99 at the same query time,
    # for a build about twice as long.
    edge_hnsw_m: int = Field(
        32,
        ge=4,
        le=128,
        description="HNSW edges per node (replica workers; a Qdrant server's collection when aidb "
        "creates it).",
    )
    edge_hnsw_ef_construct: int = Field(
        256,
        ge=4,
        le=1024,
        description="HNSW candidates while building the index (replica workers; a Qdrant server's collection "
        "when aidb creates it).",
    )
    edge_hnsw_ef: int = Field(
        128,
        ge=1,
        le=4096,
        description="HNSW candidates a query explores: recall against time (replica workers and a "
        "Qdrant server).",
    )
    # int8 by default: at 100,000 real MiniLM vectors, half the query time and 2.5x faster builds
    # at the same recall (rescored with the original vectors), for 384 more bytes per point in RAM.
    edge_quantization: Quantization = Field(
        "int8",
        description="Scalar quantization of the dense vectors in the HNSW index (int8 or none), "
        "candidates rescored with the originals (replica workers and a Qdrant server's collection "
        "when aidb creates it); a change applies to segments as the replicas rebuild them.",
    )
    edge_optimize_after_points: int = Field(
        10_000, ge=1, description="Points written before the replicas rebuild their indexes, one at a time."
    )
    edge_indexing_threads: int = Field(
        1, ge=0, le=64, description="Threads of an HNSW build (0: every core; the serving replica needs one)."
    )
    edge_max_segment_kib: int = Field(
        0,
        ge=0,
        description="Largest segment the replicas' optimizer makes, in KiB of vectors (0: the engine's "
        "default, one large segment): smaller segments rebuild faster after writes, queries visit more.",
    )
    data_dir: Path = Field(
        default_factory=lambda: default_home() / "aidb", description="Directory of the embedded vector index."
    )
    embedding_dimension: int = Field(384, ge=1, description="Dimension of the embedding model's vectors.")
    model_check_interval_s: float = Field(
        5.0,
        gt=0,
        description="How often aidb asks an embeddings service that was down at start which model it "
        "serves (a mismatch with the dimension or tokenizer makes aidb not ready).",
    )
    tokenizer_model: str = Field(DEFAULT_MODEL, description="Model whose tokenizer sizes the chunks.")
    chunk_max_tokens: int = Field(256, ge=16, le=8192, description="Largest chunk, in model tokens.")
    chunk_overlap_tokens: int = Field(32, ge=0, description="Tokens repeated between neighbouring chunks.")
    contextual_headers: bool = Field(
        True,
        description="Embed and index each chunk led by its document's title and heading path (as room in"
        " the model's window allows); results still show the chunk as written. A change takes effect"
        " for documents indexed afterwards: run `reindex`.",
    )
    keyword_stats_refresh_s: float = Field(
        30.0,
        gt=0,
        description=(
            "How often aidb rereads each collection's BM25 statistics (average chunk length for the"
            " indexer; chunk count and term frequencies for queries' IDF)."
        ),
    )
    max_document_bytes: int = Field(
        4 * 1_048_576, ge=1, description="Largest document content accepted (413 above it)."
    )
    max_metadata_bytes: int = Field(
        16_384, ge=2, description="Largest document metadata, as JSON bytes (413 above it)."
    )
    max_metadata_depth: int = Field(
        8, ge=1, le=64, description="Deepest nesting of document metadata (422 deeper)."
    )
    max_bulk_items: int = Field(200, ge=1, description="Most documents in one bulk request (413 above it).")
    key_write_bytes_per_minute: int = Field(
        64 * 1_048_576,
        ge=1024,
        description="Document bytes (content and metadata) one API key may write per minute (429 above it).",
    )
    key_outbox_backlog: int = Field(
        20_000,
        ge=1,
        description="Documents one API key may have waiting to be indexed (429 above it, until the"
        " indexer catches up).",
    )
    shared_collections: list[str] = Field(
        default_factory=lambda: ["docs"],
        description=(
            "Collections every key may read whatever its projects (reference material such as"
            " docs-search's sections); writing to them still needs the project."
        ),
    )
    rerank_model_path: Path | None = Field(
        None,
        description="A local cross-encoder model directory (sentence-transformers CrossEncoder): when set,"
        " search reorders its best fused candidates with it. Off by default; nothing is downloaded.",
    )
    rerank_depth: int = Field(30, ge=1, le=200, description="Fused candidates the reranker reorders.")
    grouped_collections: list[str] = Field(
        default_factory=lambda: ["docs"],
        description="Documentation-style collections: a search of only these groups its results by"
        " document unless it asks otherwise (`group_by`).",
    )
    max_query_chars: int = Field(2000, ge=1, description="Longest search query (413 above it).")
    indexer_batch: int = Field(16, ge=1, description="Outbox items the indexer claims at once.")
    indexer_concurrency: int = Field(
        4, ge=1, description="Documents the indexer embeds at once (keeps every model worker busy)."
    )
    index_embed_timeout_s: float = Field(
        120.0,
        gt=0,
        description="Timeout of the indexer's embedding calls, which queue behind other bulk work "
        "(queries keep the short dependency timeout).",
    )
    indexer_idle_s: float = Field(0.5, gt=0, description="Indexer poll interval when the outbox is empty.")
    indexer_max_backoff_s: float = Field(60.0, gt=0, description="Longest retry delay of a failing item.")
    purge_interval_s: float = Field(60.0, gt=0, description="How often expired documents are purged.")
    results_cache_ttl_s: int = Field(
        60, ge=0, description="Longest life of a cached result page; writes invalidate sooner (0: off)."
    )
    backlog_metrics_interval_s: float = Field(
        5.0, gt=0, description="How often the outbox backlog gauges are refreshed."
    )

    @model_validator(mode="after")
    def _overlap_fits(self) -> AidbSettings:
        if self.chunk_overlap_tokens * 2 >= self.chunk_max_tokens:
            raise ValueError("chunk_overlap_tokens must be less than half of chunk_max_tokens")
        if self.qdrant_write_consistency_factor > self.qdrant_replication_factor:
            raise ValueError("qdrant_write_consistency_factor cannot exceed qdrant_replication_factor")
        return self

    def edge_index(self) -> EdgeIndex:
        """The HNSW settings of replica workers (and of a Qdrant server's collection)."""
        return EdgeIndex(
            m=self.edge_hnsw_m,
            ef_construct=self.edge_hnsw_ef_construct,
            ef=self.edge_hnsw_ef,
            indexing_threads=self.edge_indexing_threads,
            max_segment_kib=self.edge_max_segment_kib or None,
            quantization=self.edge_quantization,
        )

    def cluster_layout(self) -> ClusterLayout:
        """How aidb's collection is spread over a Qdrant cluster when aidb creates it."""
        return ClusterLayout(
            self.qdrant_shard_number, self.qdrant_replication_factor, self.qdrant_write_consistency_factor
        )

    def postgres_dsn(self) -> str:
        """The asyncpg DSN (password URL-quoted)."""
        password = quote(self.postgres_password.get_secret_value(), safe="")
        auth = f"{self.postgres_user}:{password}" if password else self.postgres_user
        return f"postgresql://{auth}@{self.postgres_host}:{self.postgres_port}/{self.postgres_db}"
