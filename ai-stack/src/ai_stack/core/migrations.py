"""Versioned SQL migrations: each file in its own transaction, serialised across replicas."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import asyncpg
import structlog

log = structlog.get_logger(__name__)
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
# Any constant works as long as every replica uses the same one.
MIGRATION_LOCK_ID = 0x41495354  # "AIST"


@dataclass(frozen=True)
class Migration:
    """One SQL file: `NNNN_description.sql`."""

    version: int
    name: str
    sql: str


def discover(package: str) -> list[Migration]:
    """The migrations shipped in `package`, in version order; refuses gaps and duplicates."""
    found: list[Migration] = []
    for entry in resources.files(package).iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migrations in {package} must be numbered 0001, 0002, … without gaps: {versions}")
    return found


async def migrate(connection: asyncpg.Connection, migrations: list[Migration]) -> list[int]:
    """Applies what is missing; returns the versions applied now."""
    # A session-level advisory lock: a second replica waits here, then finds nothing to do.
    await connection.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_ID)
    try:
        await connection.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        applied = {r["version"] for r in await connection.fetch("SELECT version FROM schema_migrations")}
        done: list[int] = []
        for migration in migrations:
            if migration.version in applied:
                continue
            async with connection.transaction():
                await connection.execute(migration.sql)
                await connection.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                    migration.version,
                    migration.name,
                )
            log.info("migration_applied", version=migration.version, name=migration.name)
            done.append(migration.version)
        return done
    finally:
        try:
            await connection.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_ID)
        except BaseException:
            # The lock is the session's: a connection that could not release it must not go
            # back to a pool (which no longer resets sessions), or other replicas wait for ever.
            connection.terminate()
            raise
