"""Walking a documentation tree and reading its files safely: confined to the root, capped, decoded."""

from __future__ import annotations

import codecs
import os
import re
import stat
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import Literal

TreeKind = Literal["markdown", "html", "text", "rst"]  # the source kinds that are trees of pages

MAX_FILE_BYTES = 5 * 1024 * 1024
# Directories that never hold pages of their own: VCS and tool state, dependencies, and the assets,
# source copies and downloads of Sphinx output (`_sources/x.rst.txt` repeats `x.html`).
SKIPPED_DIRS = frozenset(
    {"node_modules", "__pycache__", "site-packages", "_static", "_images", "_sources", "_downloads"}
)
_SNIFF_BYTES = 8192
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


class SourceFileError(Exception):
    """A file that cannot be used; its message, with the relative path, goes into `errors`."""


def walk_files(
    root: Path,
    wanted: Callable[[PurePosixPath], bool],
    skipped_dirs: frozenset[str] = SKIPPED_DIRS,
    errors: list[str] | None = None,
) -> Iterator[PurePosixPath]:
    """Relative paths of the wanted files under `root`, sorted; hidden and skipped dirs not entered.

    Symlinked directories are never entered; symlinked files are listed, and `read_source`
    refuses those that resolve outside the root. Directories that cannot be listed go into `errors`.
    """

    def unlisted(error: OSError) -> None:
        if errors is not None:
            where = os.path.relpath(error.filename, root) if error.filename else "."
            errors.append(f"{where}: cannot list: {error.strerror}")

    for directory, dirnames, filenames in os.walk(root, onerror=unlisted, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in skipped_dirs)
        base = PurePosixPath(Path(directory).relative_to(root).as_posix())
        for name in sorted(filenames):
            relative = base / name
            if not name.startswith(".") and wanted(relative):
                yield relative


def read_source(root: Path, relative: PurePosixPath, *, html: bool = False) -> str:
    """The decoded text of `root/relative`: UTF-8, else (for HTML) the meta charset, else Latin-1.

    `root` must already be resolved. Raises SourceFileError for a file outside the root, not a regular
    file, larger than MAX_FILE_BYTES, unreadable, or binary (NUL bytes).
    """
    resolved = (root / relative).resolve()
    if not resolved.is_relative_to(root):
        raise SourceFileError(f"{relative}: links outside the source root; not followed")
    return decode_source(_read_capped(resolved, relative), relative, html=html)


def _read_capped(path: Path, relative: PurePosixPath) -> bytes:
    try:
        # O_NONBLOCK: a FIFO planted in the tree must not hang the parse; O_NOFOLLOW: the path was
        # resolved, so a symlink here was swapped in since, and is refused.
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as error:
        raise SourceFileError(f"{relative}: cannot open: {error.strerror}") from error
    with os.fdopen(fd, "rb") as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise SourceFileError(f"{relative}: not a regular file")
        if info.st_size > MAX_FILE_BYTES:
            raise SourceFileError(f"{relative}: {info.st_size} bytes, over the {MAX_FILE_BYTES}-byte cap")
        try:
            data = file.read(MAX_FILE_BYTES + 1)
        except OSError as error:
            raise SourceFileError(f"{relative}: cannot read: {error.strerror}") from error
    if len(data) > MAX_FILE_BYTES:
        raise SourceFileError(f"{relative}: grew over the {MAX_FILE_BYTES}-byte cap while read")
    return data


def decode_source(data: bytes, relative: PurePosixPath, *, html: bool = False) -> str:
    """Text from bytes (see `read_source`); normalises newlines to `\\n`."""
    if data.startswith(_UTF16_BOMS):
        return _normalised(data.decode("utf-16", errors="replace"))
    if b"\x00" in data[:_SNIFF_BYTES]:
        raise SourceFileError(f"{relative}: binary content (NUL bytes), not text")
    try:
        return _normalised(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        pass
    if html and (match := _META_CHARSET.search(data[:_SNIFF_BYTES])):
        try:
            return _normalised(data.decode(match.group(1).decode("ascii")))
        except (LookupError, UnicodeDecodeError):
            pass
    return _normalised(data.decode("latin-1"))


def _normalised(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text
