"""Throwaway databases on the session's PostgreSQL server."""

from __future__ import annotations

import uuid

import asyncpg

from tests.harness.processes import PostgresServer


async def fresh_database(server: PostgresServer) -> str:
    """Creates an empty database with a random name and returns the name."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(server.dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return name


async def fresh_database_dsn(server: PostgresServer) -> str:
    """A DSN for a new empty database on `server` (see `fresh_database`)."""
    return f"{server.dsn.rsplit('/', 1)[0]}/{await fresh_database(server)}"
