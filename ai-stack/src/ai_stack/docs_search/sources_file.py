"""The sources file: `[[source]]` tables in TOML, read once at startup (pure apart from reading it)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import ValidationError

from ai_stack.core.errors import StartupError
from ai_stack.docs_search.schemas import Source


def read_sources_file(path: Path) -> list[Source]:
    """The sources it declares; StartupError naming the problem (the operator must fix the file)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise StartupError(f"sources file {path}: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise StartupError(f"sources file {path}: not valid TOML: {exc}") from None
    unknown = set(data) - {"source"}
    if unknown:
        raise StartupError(f"sources file {path}: unknown top-level keys {sorted(unknown)}; use [[source]]")
    entries = data.get("source", [])
    if not isinstance(entries, list):
        raise StartupError(f"sources file {path}: `source` must be an array of tables ([[source]])")
    sources: list[Source] = []
    for index, entry in enumerate(entries, start=1):
        try:
            sources.append(Source.model_validate({**entry, "origin": "file"}))
        except (ValidationError, TypeError) as exc:
            raise StartupError(f"sources file {path}: source #{index}: {exc}") from None
    names = [s.name for s in sources]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise StartupError(f"sources file {path}: duplicate source names {duplicates}")
    return sources
