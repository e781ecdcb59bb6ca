"""Which files `ai-stack ingest` sends, and what each becomes: walking, .gitignore, globs, decoding."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pathspec import GitIgnoreSpec

from ai_stack.text.html import html_to_text

MAX_FILE_BYTES = 4 * 1_048_576  # aidb's default max_document_bytes
MAX_PATH_CHARS = 2000  # aidb's limit on a document path
MAX_TITLE_CHARS = 1000  # aidb's limit on a title
_CODE_TYPES = {
    ".py": "text/x-python", ".pyi": "text/x-python", ".js": "text/javascript", ".mjs": "text/javascript",
    ".cjs": "text/javascript", ".jsx": "text/javascript", ".ts": "text/x-typescript",
    ".tsx": "text/x-typescript", ".go": "text/x-go", ".rs": "text/x-rust", ".java": "text/x-java",
    ".kt": "text/x-kotlin", ".scala": "text/x-scala", ".c": "text/x-c", ".h": "text/x-c",
    ".cc": "text/x-c++", ".cpp": "text/x-c++", ".hpp": "text/x-c++", ".cs": "text/x-csharp",
    ".rb": "text/x-ruby", ".php": "text/x-php", ".swift": "text/x-swift", ".lua": "text/x-lua",
    ".sh": "text/x-shellscript", ".bash": "text/x-shellscript", ".zsh": "text/x-shellscript",
    ".sql": "text/x-sql", ".nix": "text/x-nix", ".ex": "text/x-elixir", ".exs": "text/x-elixir",
    ".hs": "text/x-haskell", ".ml": "text/x-ocaml", ".clj": "text/x-clojure", ".dart": "text/x-dart",
    ".vue": "text/x-vue", ".svelte": "text/x-svelte", ".css": "text/css", ".scss": "text/x-scss",
}  # fmt: skip
CONTENT_TYPES: dict[str, str] = {
    ".md": "text/markdown", ".markdown": "text/markdown", ".mdx": "text/markdown",
    ".txt": "text/plain", ".text": "text/plain", ".rst": "text/x-rst",
    ".html": "text/html", ".htm": "text/html", **_CODE_TYPES,
}  # fmt: skip
FILENAME_TYPES = {"Dockerfile": "text/x-dockerfile", "Makefile": "text/x-makefile"}
SKIPPED_DIRS = frozenset({"node_modules", "__pycache__"})
_MARKDOWN_H1 = re.compile(r"^#\s+(.+?)\s*#*\s*$")
_RST_UNDERLINE = re.compile(r"^([=\-~^\"'`#*+])\1{2,}\s*$")


@dataclass(frozen=True)
class Candidate:
    """A file chosen for ingestion: where it is and the path aidb knows it by."""

    source: Path
    path: str
    content_type: str


@dataclass(frozen=True)
class Failure:
    """A file that was not ingested, and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class Document:
    """A decoded file, shaped like aidb's `DocumentIn` minus collection and project."""

    path: str
    title: str
    content_type: str
    content: str
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Selection:
    """Glob rules of one run, in gitignore syntax: `include` narrows the known types, `exclude` removes."""

    include: GitIgnoreSpec | None = None
    exclude: GitIgnoreSpec | None = None

    @classmethod
    def from_globs(cls, include: Sequence[str] = (), exclude: Sequence[str] = ()) -> Selection:
        return cls(
            GitIgnoreSpec.from_lines(include) if include else None,
            GitIgnoreSpec.from_lines(exclude) if exclude else None,
        )

    def wants(self, path: str) -> bool:
        if self.include is not None and not self.include.match_file(path):
            return False
        return self.exclude is None or not self.exclude.match_file(path)

    def prunes(self, directory: str) -> bool:
        return self.exclude is not None and self.exclude.match_file(directory + "/")


def content_type_of(path: Path) -> str | None:
    """The content type a file is sent as, or None when its kind is not ingested by default."""
    return FILENAME_TYPES.get(path.name) or CONTENT_TYPES.get(path.suffix.lower())


def collect(paths: Iterable[Path], root: Path, selection: Selection) -> tuple[list[Candidate], list[Failure]]:
    """Every file to ingest under `paths`, sorted; files named directly are always taken.

    A document's path is relative to `root` (the parent of the argument when the file is outside it).
    """
    candidates: list[Candidate] = []
    failures: list[Failure] = []
    for argument in paths:
        if argument.is_dir():
            candidates.extend(_walk_directory(argument, root, selection))
        elif argument.is_file():
            name = _relative(argument, root, argument.parent)
            candidates.append(Candidate(argument, name, content_type_of(argument) or "text/plain"))
        else:
            failures.append(Failure(str(argument), "no such file or directory"))
    unique = {c.source.resolve(): c for c in candidates}
    return sorted(unique.values(), key=lambda c: c.path), failures


def _relative(path: Path, root: Path, fallback: Path) -> str:
    absolute = path.absolute()
    base = root.absolute() if absolute.is_relative_to(root.absolute()) else fallback.absolute()
    return absolute.relative_to(base).as_posix()


def _walk_directory(directory: Path, root: Path, selection: Selection) -> Iterator[Candidate]:
    ignores = _Ignores.above(directory)
    for current, dirnames, filenames in os.walk(directory):
        here = Path(current)
        ignores.enter(here)
        dirnames[:] = sorted(
            d
            for d in dirnames
            if not _is_hidden_or_skipped(d)
            and not ignores.ignored(here / d, is_dir=True)
            and not selection.prunes(_relative(here / d, root, directory.parent))
        )
        for name in sorted(filenames):
            source = here / name
            content_type = content_type_of(source)
            if content_type is None or name.startswith(".") or ignores.ignored(source, is_dir=False):
                continue
            path = _relative(source, root, directory.parent)
            if selection.wants(path):
                yield Candidate(source, path, content_type)


def _is_hidden_or_skipped(name: str) -> bool:
    return name.startswith(".") or name in SKIPPED_DIRS


class _Ignores:
    """The .gitignore files that apply while walking; deeper files override shallower ones, as in git."""

    def __init__(self, specs: list[tuple[Path, GitIgnoreSpec]]) -> None:
        self._specs = specs

    @classmethod
    def above(cls, directory: Path) -> _Ignores:
        """Starts with the .gitignore files of the enclosing repository above `directory`, root first."""
        ancestors = [directory.absolute(), *directory.absolute().parents]
        repo_root = next((p for p in ancestors if (p / ".git").exists()), None)
        ignores = cls([])
        if repo_root is not None:  # outside a repository, outer .gitignore files say nothing
            for parent in reversed(ancestors[1 : ancestors.index(repo_root) + 1]):
                ignores.enter(parent)
        return ignores

    def enter(self, directory: Path) -> None:
        gitignore = directory.absolute() / ".gitignore"
        if gitignore.is_file():
            lines = gitignore.read_text(encoding="utf-8", errors="replace").splitlines()
            self._specs.append((gitignore.parent, GitIgnoreSpec.from_lines(lines)))

    def ignored(self, path: Path, *, is_dir: bool) -> bool:
        absolute, verdict = path.absolute(), False
        for base, spec in self._specs:
            if absolute.is_relative_to(base):
                relative = absolute.relative_to(base).as_posix() + ("/" if is_dir else "")
                result = spec.check_file(relative).include
                verdict = verdict if result is None else result
        return verdict


def read_document(candidate: Candidate) -> Document | Failure:
    """The file decoded as aidb receives it, or why it cannot be sent."""
    path = candidate.path
    if len(path) > MAX_PATH_CHARS:
        return Failure(path, f"path is longer than {MAX_PATH_CHARS} characters")
    try:
        size = candidate.source.stat().st_size
        if size > MAX_FILE_BYTES:
            return Failure(path, f"too large ({size} bytes, at most {MAX_FILE_BYTES})")
        raw = candidate.source.read_bytes()
    except OSError as exc:
        return Failure(path, f"cannot read: {exc.strerror or exc}")
    if b"\x00" in raw:
        return Failure(path, "binary file (contains NUL bytes)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return Failure(path, f"not UTF-8 (invalid byte at offset {exc.start})")
    return _document(candidate, text)


def _document(candidate: Candidate, text: str) -> Document:
    metadata: dict[str, Any] = {"source": "ai-stack ingest"}
    content_type = candidate.content_type
    if content_type == "text/html":
        # aidb would chunk the HTML as text too, but the CLI also wants the <title>, and sending
        # the text keeps bodies small and what aidb stores readable.
        title, text = html_to_text(text)
        content_type, metadata["source_content_type"] = "text/markdown", "text/html"
    else:
        title = _title(text, content_type)
    return Document(candidate.path, title[:MAX_TITLE_CHARS], content_type, text, metadata)


def _title(text: str, content_type: str) -> str:
    """The first level-one heading of Markdown or reStructuredText, else ""."""
    lines = text.splitlines()
    if content_type == "text/markdown":
        fenced = False
        for line in lines:
            fenced ^= line.lstrip().startswith(("```", "~~~"))
            match = None if fenced else _MARKDOWN_H1.match(line)
            if match:
                return match.group(1)
    elif content_type == "text/x-rst":
        for line, below in zip(lines, [*lines[1:], ""], strict=True):
            if line.strip() and not _RST_UNDERLINE.match(line) and _RST_UNDERLINE.match(below):
                return line.strip()
    return ""
