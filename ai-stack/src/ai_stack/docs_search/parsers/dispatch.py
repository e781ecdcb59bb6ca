"""A source kind and location to its ParsedSource: the one entry point a sync worker process calls."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ai_stack.docs_search.sections import ParsedSource, SourceKind

# All of nixpkgs with --meta is a few hundred MB of JSON; parsed, a source takes several times its
# size in the worker's memory, so a file beyond this is refused rather than risking the host.
MAX_JSON_BYTES = 1 << 30


def parse_source(kind: SourceKind, location: str) -> ParsedSource:
    """Parses what `location` holds; a missing location is an error of the source, not an exception."""
    path = Path(location)
    if not path.exists():
        return ParsedSource(errors=[f"{location}: no such file or directory"])
    # Imported here: each worker process loads only the parser it runs.
    if kind == "nixos-options":
        from ai_stack.docs_search.parsers.nixos_options import parse_options

        return _file_only(path, parse_options)
    if kind == "nix-packages":
        from ai_stack.docs_search.parsers.nix_packages import parse_packages

        return _file_only(path, parse_packages)
    if not path.is_dir():
        return ParsedSource(errors=[f"{location}: a {kind} source is a directory"])
    if kind == "manpages":
        from ai_stack.docs_search.parsers.manpages import parse_manpages

        return parse_manpages(path)
    from ai_stack.docs_search.parsers.doctree import parse_tree

    return parse_tree(path, kind)


def _file_only(path: Path, parse: Callable[[Path], ParsedSource]) -> ParsedSource:
    if not path.is_file():
        return ParsedSource(errors=[f"{path}: this kind of source is one JSON file"])
    size = path.stat().st_size
    if size > MAX_JSON_BYTES:
        return ParsedSource(
            errors=[f"{path}: {size} bytes, more than the {MAX_JSON_BYTES} a JSON source may have"]
        )
    return parse(path)
