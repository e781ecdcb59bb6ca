"""The services' PostgreSQL pool: a release costs no round trip, and still leaves no transaction open."""

from __future__ import annotations

import asyncio

import asyncpg
from ai_stack.core.migrations import MIGRATION_LOCK_ID, discover, migrate
from ai_stack.core.postgres import create_pool

from tests.harness.databases import fresh_database_dsn
from tests.harness.processes import PostgresServer


async def _pool(server: PostgresServer) -> asyncpg.Pool:
    return await create_pool(await fresh_database_dsn(server))


def test_a_released_connection_is_not_reset_with_a_query(postgres_server: PostgresServer) -> None:
    async def scenario() -> list[str]:
        pool = await _pool(postgres_server)
        sent: list[str] = []
        try:
            async with pool.acquire() as connection:
                connection.add_query_logger(lambda record: sent.append(record.query))
                await connection.fetchval("SELECT 1")
            # Released (awaited by the block's exit): asyncpg's default reset would have sent its own query.
            return sent
        finally:
            await pool.close()

    assert asyncio.run(scenario()) == ["SELECT 1"]


def test_a_transaction_left_open_is_rolled_back_on_release(postgres_server: PostgresServer) -> None:
    async def scenario() -> tuple[int, bool]:
        pool = await _pool(postgres_server)
        try:
            await pool.execute("CREATE TABLE notes (body text)")
            async with pool.acquire() as connection:
                left_open = connection.transaction()
                await left_open.start()
                await connection.execute("INSERT INTO notes VALUES ('never committed')")
            async with pool.acquire() as connection:
                return await connection.fetchval("SELECT count(*) FROM notes"), connection.is_in_transaction()
        finally:
            await pool.close()

    rows, in_transaction = asyncio.run(scenario())
    assert rows == 0 and not in_transaction


class _UnlockFails(asyncpg.Connection):  # type: ignore[misc]
    async def execute(self, query: str, *args: object, **options: object) -> str:
        if "pg_advisory_unlock" in query:
            raise ConnectionError("lost while unlocking")
        return str(await super().execute(query, *args, **options))


def test_a_connection_that_could_not_release_the_migration_lock_is_closed(
    postgres_server: PostgresServer,
) -> None:
    async def scenario() -> tuple[bool, bool, bool]:
        dsn = await fresh_database_dsn(postgres_server)
        failing = await asyncpg.connect(dsn, connection_class=_UnlockFails)
        raised = False
        try:
            await migrate(failing, discover("ai_stack.aidb.migrations"))
        except ConnectionError:
            raised = True
        # Its session held the lock; closed, the server releases it and another can migrate.
        other = await asyncpg.connect(dsn)
        try:
            for _ in range(50):
                taken = bool(await other.fetchval("SELECT pg_try_advisory_lock($1)", MIGRATION_LOCK_ID))
                if taken:
                    break
                await asyncio.sleep(0.1)
        finally:
            await other.close()
        return raised, failing.is_closed(), taken

    raised, closed, taken = asyncio.run(scenario())
    assert raised and closed and taken
