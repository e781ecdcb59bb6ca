"""Keyset cursors of the document listing (pure)."""

from __future__ import annotations

import base64
import datetime as dt
import uuid

import orjson

Position = tuple[dt.datetime, uuid.UUID]


class BadListingCursor(ValueError):
    """A cursor this service did not issue."""


def encode_cursor(updated_at: dt.datetime, document_id: uuid.UUID) -> str:
    """The cursor of the page after the row (updated_at, id)."""
    return base64.urlsafe_b64encode(orjson.dumps([updated_at.isoformat(), str(document_id)])).decode()


def decode_cursor(raw: str) -> Position:
    """The keyset position a cursor holds, in UTC; BadListingCursor for anything else.

    Converted to UTC here, so a stamp whose offset moves it outside years 1-9999 fails now,
    as a 400, instead of inside the database driver.
    """
    try:
        stamp, document_id = orjson.loads(base64.urlsafe_b64decode(raw.encode()))
        position = dt.datetime.fromisoformat(stamp)
        if position.tzinfo is None:
            raise ValueError("naive timestamp")
        return position.astimezone(dt.UTC), uuid.UUID(document_id)
    except (ValueError, TypeError, OverflowError, AttributeError):
        raise BadListingCursor("cursor is not one this service issued") from None
