"""Parser for a man page tree (`root/man1` ... `root/man8`): one section per heading and per option.

Aliases are recorded, not parsed twice: files that are one file (symlinks to a page of the tree,
or a NixOS profile's links into the store) and `.so` stubs (a file that only says
`.so man1/other.1`) add `alias(1)` to the page's NAME section and to the `aliases` metadata of
all its sections. A dangling link, or a stub whose target is not in the tree, is an error.
Every section's text starts with the page's NAME line ("chmod - change file mode bits"), so a
search for what a command does finds each part of its page.
"""

from __future__ import annotations

import bz2
import lzma
import re
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

from ai_stack.docs_search.roff import Page, read_page
from ai_stack.docs_search.sections import ParsedSource, Section

MAN_DIR = re.compile(r"man[1-8][A-Za-z0-9]*")
MAX_PAGE_BYTES = 16 * 1024 * 1024  # bash(1) is 0.4 MiB; more than this is not a man page
NAME_LINE_MAX_CHARS = 300
_MAX_REDIRECTS = 8
_STUB_MAX_CHARS = 1024
_SO_STUB = re.compile(r"\A(?:[.'][ \t]*\\\".*\n|\s*\n)*[.'][ \t]*so[ \t]+(\S+)\s*\Z")
_SUMMARY_DASH = re.compile(r"\s+[-\u2010-\u2015]+\s+")
_FLAG = re.compile(r"(?<![\w-])(--?[A-Za-z0-9?#@][\w.+#@?-]*)")
_ANCHOR_SAFE = "-._~"


@dataclass(frozen=True)
class PageFile:
    """One file of the tree: `relative` is its path under the root (`man1/chmod.1.gz`)."""

    path: Path
    relative: str
    stem: str  # relative, without the compression suffix: the base of section keys
    name: str
    section: str

    @property
    def title(self) -> str:
        return f"{self.name}({self.section})"


class _Decompressor(Protocol):
    @property
    def eof(self) -> bool: ...

    def decompress(self, data: bytes, max_length: int, /) -> bytes: ...


_DECOMPRESSORS: dict[str, Callable[[], _Decompressor]] = {
    ".gz": lambda: zlib.decompressobj(zlib.MAX_WBITS | 32),
    ".bz2": bz2.BZ2Decompressor,
    ".xz": lzma.LZMADecompressor,
}


def parse_manpages(root: Path) -> ParsedSource:
    """Sections of every page under `root`; a page that cannot be read or parsed goes to `errors`."""
    if not root.is_dir():
        return ParsedSource(errors=[f"{root}: not a directory"])
    parsed = ParsedSource()
    groups = _files_by_real_path(root, parsed.errors)
    pages: dict[Path, tuple[PageFile, Page]] = {}
    stubs: dict[Path, Path] = {}  # a `.so` stub's real path -> the real path it names
    for real, files in groups.items():
        canonical = _canonical(real, files)
        try:
            source = read_source(canonical.path)
            stub = _SO_STUB.match(source) if len(source) <= _STUB_MAX_CHARS else None
            if stub:
                stubs[real] = _stub_target(root, stub[1])
            else:
                pages[real] = (canonical, read_page(source))
        # One bad page must not cost the rest of the tree: any failure is that page's error.
        except Exception as exc:
            parsed.errors.append(f"{canonical.relative}: {type(exc).__name__}: {exc}")
    aliases = _aliases(groups, pages, stubs, parsed.errors)
    stems: dict[str, str] = {}
    for real, (file, page) in pages.items():
        if file.stem in stems:  # `ls.1` beside `ls.1.gz`: their sections would share keys
            parsed.errors.append(f"{file.relative}: the same page as {stems[file.stem]}; skipped")
            continue
        stems[file.stem] = file.relative
        parsed.sections.extend(page_sections(file, page, aliases.get(real, [])))
    return parsed


def _files_by_real_path(root: Path, errors: list[str]) -> dict[Path, list[PageFile]]:
    """Tree files grouped by the file they are: links to one file (in-tree, or a NixOS profile's
    links into the store) are one page under several names."""
    groups: dict[Path, list[PageFile]] = defaultdict(list)
    for file in page_files(root):
        try:
            groups[file.path.resolve(strict=True)].append(file)
        except (OSError, RuntimeError) as exc:  # a dangling link, or a loop of links
            errors.append(f"{file.relative}: {type(exc).__name__}: {exc}")
    return groups


def _canonical(real: Path, files: list[PageFile]) -> PageFile:
    """The name a page is filed under: the real file itself, else the link named like it."""
    return next(
        (f for f in files if not f.path.is_symlink()),
        next((f for f in files if f.path.name == real.name), files[0]),
    )


def page_files(root: Path) -> Iterator[PageFile]:
    """The files of `root/manN*` directories (sections 1 to 8), in a stable order."""
    for directory in sorted(p for p in root.iterdir() if p.is_dir() and MAN_DIR.fullmatch(p.name)):
        for path in sorted(directory.iterdir()):
            if not path.name.startswith(".") and (path.is_file() or path.is_symlink()):
                yield _page_file(path, directory.name)


def _page_file(path: Path, directory: str) -> PageFile:
    base = path.name
    suffix = path.suffix if path.suffix in _DECOMPRESSORS else ""
    base = base[: -len(suffix)] if suffix else base
    name, dot, section = base.rpartition(".")
    if not dot or not name or not section[:1].isdigit():
        name, section = base, directory[3:]
    return PageFile(path, f"{directory}/{path.name}", f"{directory}/{base}", name, section)


def read_source(path: Path) -> str:
    """The page's text: decompressed, decoded as UTF-8, or Latin-1 when it is not UTF-8."""
    data = path.read_bytes()
    make = _DECOMPRESSORS.get(path.suffix)
    if make is not None:
        decompressor = make()
        data = decompressor.decompress(data, MAX_PAGE_BYTES + 1)
        if len(data) > MAX_PAGE_BYTES:
            raise ValueError(f"larger than {MAX_PAGE_BYTES} bytes once decompressed")
        if not decompressor.eof:
            raise ValueError("compressed data ends early")
    elif len(data) > MAX_PAGE_BYTES:
        raise ValueError(f"larger than {MAX_PAGE_BYTES} bytes")
    try:
        return data.decode("utf-8").lstrip("\ufeff")
    except UnicodeDecodeError:
        return data.decode("latin-1")  # pre-UTF-8 pages; Latin-1 decodes any byte


def _stub_target(root: Path, target: str) -> Path:
    """The file a `.so man1/other.1` stub names, compressed or not."""
    for suffix in ("", *_DECOMPRESSORS):
        candidate = root / f"{target}{suffix}"
        if candidate.is_file():
            return candidate.resolve()
    raise FileNotFoundError(f".so names {target}, which is not in this tree")


def _aliases(
    groups: dict[Path, list[PageFile]],
    pages: dict[Path, tuple[PageFile, Page]],
    stubs: dict[Path, Path],
    errors: list[str],
) -> dict[Path, list[str]]:
    """Alias titles per page: the other names of its file, and stubs naming it (through stubs)."""
    found: dict[Path, list[str]] = defaultdict(list)
    for real, (file, _) in pages.items():
        found[real] += [f.title for f in groups[real] if f is not file]
    for stub, target in stubs.items():
        for _ in range(_MAX_REDIRECTS):
            if target not in stubs:
                break
            target = stubs[target]
        if target in pages:
            found[target] += [f.title for f in groups[stub]]
        else:
            errors.append(f"{groups[stub][0].relative}: a .so stub for {target.name}, which is not a page")
    return found


def page_sections(file: PageFile, page: Page, aliases: list[str]) -> list[Section]:
    """A section per part with text, then one per option item of that part."""
    name_part = page.part("NAME")
    name_line = _one_line(name_part.text()) if name_part else ""
    parts = _SUMMARY_DASH.split(name_line, maxsplit=1)
    metadata: dict[str, Any] = {"page": file.name, "section": file.section, "summary": parts[-1]}
    if aliases:
        metadata["aliases"] = sorted(aliases)
    anchors: set[str] = set()
    sections: list[Section] = []
    for part in page.parts:
        body = part.text()
        if part is name_part and aliases:
            body += "\n\nAlso: " + ", ".join(sorted(aliases))
        if body:
            anchor = _unique(_anchor(part.heading), anchors)
            sections.append(_section(file, anchor, (part.heading,), _with_name(body, name_line), metadata))
        for item in part.items:
            anchor = _unique(_option_anchor(item.tag), anchors)
            path = (part.heading, *([item.subsection] if item.subsection else []), item.tag)
            text = _with_name("\n\n".join(item.blocks), name_line)
            sections.append(_section(file, anchor, path, text, metadata))
    return sections


def _section(file: PageFile, anchor: str, path: tuple[str, ...], text: str, meta: dict[str, Any]) -> Section:
    return Section(
        key=f"{file.stem}#{anchor}",
        title=file.title,
        heading_path=(file.title, *path),
        url=f"{file.relative}#{anchor}",
        text=text,
        metadata=dict(meta),
    )


def _with_name(body: str, name_line: str) -> str:
    if not name_line or body.startswith(name_line):
        return body
    return f"{name_line}\n\n{body}"


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= NAME_LINE_MAX_CHARS else line[: NAME_LINE_MAX_CHARS - 1] + "…"


def _anchor(text: str) -> str:
    return quote("-".join(text.split()) or "section", safe=_ANCHOR_SAFE)


def _option_anchor(tag: str) -> str:
    """`option--recursive` for `-R, --recursive`: the first long flag, else the first flag."""
    flags = [f.rstrip(".:") for f in _FLAG.findall(tag)]
    flag = next((f for f in flags if f.startswith("--")), flags[0] if flags else tag)
    return "option" + quote(flag if flag.startswith("-") else "-" + "-".join(flag.split()), safe=_ANCHOR_SAFE)


def _unique(anchor: str, taken: set[str]) -> str:
    candidate, number = anchor, 1
    while candidate in taken:
        number += 1
        candidate = f"{anchor}-{number}"
    taken.add(candidate)
    return candidate
