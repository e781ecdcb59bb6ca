"""Real corpora for the aidb benchmarks: Debian's PostgreSQL 15 manual and Python's own sources."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from ai_stack.text.html import html_to_text

PG_DOC_DIR = Path("/usr/share/doc/postgresql-doc-15/html")
QUERIES_FILE = Path(__file__).parent / "data" / "pg_doc_queries.json"
PYTHON_LIB = Path("/usr/lib/python3.11")


def ensure_debian_docs(directory: Path, package: str) -> Path:
    """`directory`, installing the Debian `package` that holds it when it is missing (as root)."""
    if not directory.is_dir():
        if os.geteuid() != 0:
            raise SystemExit(f"{directory} is missing: apt-get install {package}")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", package], check=True, env=env)
    return directory


def ensure_pg_docs() -> Path:
    """The manual's HTML directory, installing `postgresql-doc-15` when it is missing (as root)."""
    return ensure_debian_docs(PG_DOC_DIR, "postgresql-doc-15")


def pg_doc_documents(collection: str = "docs", project: str = "postgresql-15") -> list[dict[str, Any]]:
    """Every page of the manual as an aidb document (text with headings, path = file name)."""
    documents = []
    for page in sorted(ensure_pg_docs().glob("*.html")):
        title, text = html_to_text(page.read_text(encoding="utf-8", errors="replace"))
        if text.strip():
            documents.append(
                {
                    "collection": collection,
                    "project": project,
                    "path": page.name,
                    "title": title,
                    "content_type": "text/markdown",
                    "content": text,
                }
            )
    return documents


def python_source_documents(
    max_bytes: int,
    *,
    root: Path = PYTHON_LIB,
    project: str = "cpython-3.11",
    collection: str = "codebase-context",
) -> list[dict[str, Any]]:
    """Python sources under `root` (the standard library by default), in a stable order, up to `max_bytes`."""
    documents: list[dict[str, Any]] = []
    total = 0
    for source in sorted(root.rglob("*.py")):
        try:
            text = source.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        if not text.strip() or "\x00" in text or len(text.encode()) > 1_000_000:
            continue
        documents.append(
            {
                "collection": collection,
                "project": project,
                "path": str(source.relative_to(root)),
                "title": source.name,
                "content_type": "text/x-python",
                "content": text,
            }
        )
        total += len(text.encode())
        if total >= max_bytes:
            break
    return documents


def labelled_queries() -> list[dict[str, Any]]:
    return list(json.loads(QUERIES_FILE.read_text())["queries"])
