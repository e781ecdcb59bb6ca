"""What every source parser produces: sections, and for catalog kinds their records (pure data)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from ai_stack.docs_search.records import OptionRecord, PackageRecord

SourceKind = Literal["markdown", "html", "text", "rst", "manpages", "nixos-options", "nix-packages"]
SOURCE_KINDS: tuple[SourceKind, ...] = (
    "markdown",
    "html",
    "text",
    "rst",
    "manpages",
    "nixos-options",
    "nix-packages",
)


@dataclass(frozen=True)
class Section:
    """One searchable unit of documentation: a heading's section of a page, a man page part, an option.

    `key` is unique within its source and stable across syncs of unchanged material, because sync
    diffs sources by it: `<relative file>#<anchor>` for pages, `man1/chmod.1#OPTIONS` for man pages,
    `option:<name>` and `package:<attr>` for catalogs.
    """

    key: str
    title: str  # the page's title (or the option name, the package attribute)
    heading_path: tuple[str, ...]  # headings from the page title down to this section
    url: str  # where a person reads it: a relative path with `#anchor`, or a homepage
    text: str  # Markdown-shaped body; code blocks fenced and kept whole
    metadata: dict[str, Any] = field(default_factory=dict)  # small kind-specific fields

    def digest(self) -> str:
        """A hash of everything stored for this section: equal digest, nothing to re-index."""
        body = orjson.dumps(
            [self.title, list(self.heading_path), self.url, self.text, self.metadata],
            option=orjson.OPT_SORT_KEYS,
        )
        return hashlib.sha256(body).hexdigest()


@dataclass
class ParsedSource:
    """A parser's whole answer for one source location."""

    sections: list[Section] = field(default_factory=list)
    version: str | None = None  # when the material tells it (a manual's title, a package set)
    errors: list[str] = field(default_factory=list)  # files that could not be read; sync reports them
    options: list[OptionRecord] = field(default_factory=list)  # kind nixos-options
    packages: list[PackageRecord] = field(default_factory=list)  # kind nix-packages
