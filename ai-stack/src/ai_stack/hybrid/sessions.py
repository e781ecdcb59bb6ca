"""Multi-turn sessions in Redis: which context a conversation has already been given.

A session is one JSON value under `hybrid:session:<id>` with a TTL refreshed on every turn:
`{"owner": <key id or null>, "session": {...}}`. A session belongs to the API key that started
it: another key is told it does not exist. Sessions need Redis; without it they answer 503
while stateless augment keeps working.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import orjson

from ai_stack.core.errors import ServiceUnavailableError
from ai_stack.core.redis import GuardedRedis
from ai_stack.hybrid.schemas import Session, Turn

PREFIX = "hybrid:session:"
RETRY_AFTER_S = 5


def new_session(now: dt.datetime) -> Session:
    return Session(session_id=uuid.uuid4().hex, created_at=now, turns=[])


def given_ids(session: Session) -> frozenset[str]:
    """Every context item the session has been given so far."""
    return frozenset(item for turn in session.turns for item in turn.context_ids)


def with_turn(session: Session, query: str, context_ids: list[str], now: dt.datetime) -> Session:
    turn = Turn(turn=len(session.turns) + 1, query=query, context_ids=context_ids, at=now)
    return session.model_copy(update={"turns": [*session.turns, turn]})


@dataclass
class SessionStore:
    redis: GuardedRedis | None
    ttl_s: int

    async def load(self, session_id: str, reader: str | None) -> Session | None:
        """The session, unless it is unknown, expired, or another key's (`reader` None: the
        stack itself, which may read every session)."""
        raw = await self._run(lambda c: c.get(PREFIX + session_id))
        if not raw:
            return None
        stored = orjson.loads(raw)
        if "session" not in stored:  # written before sessions had owners: anyone's
            return Session.model_validate(stored)
        owner = stored.get("owner")
        if reader is not None and owner is not None and owner != reader:
            return None
        return Session.model_validate(stored["session"])

    async def save(self, session: Session, owner: str | None) -> None:
        payload = {"owner": owner, "session": session.model_dump(mode="json", exclude={"expires_in_s"})}
        body = orjson.dumps(payload)
        await self._run(lambda c: c.set(PREFIX + session.session_id, body, ex=self.ttl_s))

    async def expires_in(self, session_id: str) -> int | None:
        ttl = await self._run(lambda c: c.ttl(PREFIX + session_id))
        return int(ttl) if ttl is not None and int(ttl) >= 0 else None

    async def delete(self, session_id: str) -> bool:
        return bool(await self._run(lambda c: c.delete(PREFIX + session_id)))

    async def _run(self, command: Any) -> Any:
        if self.redis is None:
            raise ServiceUnavailableError(
                "sessions need Redis, which is not configured", retry_after=RETRY_AFTER_S
            )
        try:
            return await self.redis.run(command)
        except ServiceUnavailableError:
            raise
        except Exception as exc:  # connection lost, timeout: the breaker has counted it
            raise ServiceUnavailableError(
                f"sessions need Redis, which is unavailable ({type(exc).__name__})", retry_after=RETRY_AFTER_S
            ) from exc
