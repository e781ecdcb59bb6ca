"""The version a documentation tree states about itself, when it states one (reads files only)."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from ai_stack.docs_search.parsers.source_files import SourceFileError, TreeKind, read_source

# Sphinx writes `VERSION: '7.2.6'` into every HTML build; its sources hold `release = "7.2.6"`.
_SPHINX_OPTIONS = PurePosixPath("_static/documentation_options.js")
_SPHINX_VERSION = re.compile(r"""\bVERSION\s*:\s*['"]([^'"]+)['"]""")
_CONF_PY_PLACES = ("conf.py", "source/conf.py", "docs/conf.py")
_CONF_RELEASE = re.compile(r"""^(release|version)\s*=\s*['"]([^'"]+)['"]""", re.MULTILINE)
# "PostgreSQL 15.20 Documentation", "Python 3.12.1 documentation": a dotted number in the title.
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_DOTTED_NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.\d+)+)(?![\w.])")


def sphinx_conf(root: Path) -> PurePosixPath | None:
    """Where a Sphinx source tree keeps its `conf.py`, if `root` is one."""
    return next((PurePosixPath(p) for p in _CONF_PY_PLACES if (root / p).is_file()), None)


def tree_version(root: Path, kind: TreeKind) -> str | None:
    """A Sphinx build's VERSION, a Sphinx source's release, or the number in the root index title."""
    if kind == "html":
        if found := _search(root, _SPHINX_OPTIONS, _SPHINX_VERSION):
            return found.group(1)
        if title := _search(root, PurePosixPath("index.html"), _TITLE):
            number = _DOTTED_NUMBER.search(title.group(1))
            return number.group(1) if number else None
    if kind == "rst" and (conf := sphinx_conf(root)):
        releases = {m.group(1): m.group(2) for m in _CONF_RELEASE.finditer(_read(root, conf))}
        return releases.get("release") or releases.get("version")
    return None


def _search(root: Path, relative: PurePosixPath, pattern: re.Pattern[str]) -> re.Match[str] | None:
    return pattern.search(_read(root, relative)) if (root / relative).is_file() else None


def _read(root: Path, relative: PurePosixPath) -> str:
    try:
        return read_source(root, relative)
    except SourceFileError:
        return ""  # the file's own parse reports it, when it is a page
