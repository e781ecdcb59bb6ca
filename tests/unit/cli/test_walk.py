"""Which files ingest takes (.gitignore, globs, hidden and unknown kinds) and what each becomes."""

from __future__ import annotations

from pathlib import Path

import pytest
from ai_stack.cli.walk import (
    MAX_FILE_BYTES,
    Candidate,
    Document,
    Failure,
    Selection,
    collect,
    content_type_of,
    read_document,
)


def _write(root: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def _paths(root: Path, *args: str, selection: Selection | None = None) -> list[str]:
    candidates, failures = collect([root / a for a in args or ["."]], root, selection or Selection())
    assert failures == []
    return [c.path for c in candidates]


def _read(tmp_path: Path, name: str, content: str | bytes) -> Document | Failure:
    _write(tmp_path, {name: content})
    candidate = Candidate(tmp_path / name, name, content_type_of(tmp_path / name) or "text/plain")
    return read_document(candidate)


def test_known_kinds_are_taken_and_hidden_or_unknown_ones_skipped(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "README.md": "# r",
            "notes.txt": "n",
            "guide.rst": "g",
            "page.html": "<p>p</p>",
            "src/app.py": "x = 1",
            "src/web.ts": "let x",
            "Dockerfile": "FROM x",
            "logo.png": b"\x89PNG",
            "data.json": "{}",
            ".env": "SECRET=1",
            ".git/config.md": "c",
            ".venv/lib/site.py": "s",
            "node_modules/pkg/index.js": "j",
        },
    )
    expected = ["Dockerfile", "README.md", "guide.rst", "notes.txt", "page.html", "src/app.py", "src/web.ts"]
    assert _paths(tmp_path) == expected


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("a.md", "text/markdown"),
        ("a.MARKDOWN", "text/markdown"),
        ("a.txt", "text/plain"),
        ("a.rst", "text/x-rst"),
        ("a.htm", "text/html"),
        ("a.py", "text/x-python"),
        ("a.go", "text/x-go"),
        ("Makefile", "text/x-makefile"),
        ("a.json", None),
        ("a.png", None),
    ],
)
def test_content_type_by_extension(name: str, content_type: str | None) -> None:
    assert content_type_of(Path(name)) == content_type


def test_gitignore_files_apply_below_their_directory_and_deeper_ones_win(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            ".gitignore": "build/\n*.draft.md\nsecret.md\n",
            "docs/.gitignore": "!secret.md\nlocal.md\n",
            "build/out.md": "b",
            "a.draft.md": "d",
            "secret.md": "s",
            "local.md": "kept: the rule lives in docs/ only",
            "docs/secret.md": "re-included",
            "docs/local.md": "l",
            "docs/keep.md": "k",
        },
    )
    assert _paths(tmp_path) == ["docs/keep.md", "docs/secret.md", "local.md"]


def test_gitignore_of_the_enclosing_repository_applies_to_a_subdirectory(tmp_path: Path) -> None:
    _write(tmp_path, {".git/HEAD": "ref", ".gitignore": "*.gen.md\n", "docs/a.md": "a", "docs/b.gen.md": "b"})
    assert _paths(tmp_path, "docs") == ["docs/a.md"]


def test_gitignore_above_a_directory_outside_any_repository_is_ignored(tmp_path: Path) -> None:
    _write(tmp_path, {".gitignore": "*.md\n", "docs/a.md": "a"})
    assert _paths(tmp_path, "docs") == ["docs/a.md"]


def test_include_narrows_and_exclude_removes(tmp_path: Path) -> None:
    _write(tmp_path, {"a.md": "a", "b.py": "b", "old/c.md": "c", "docs/d.md": "d", "docs/e.txt": "e"})
    only_markdown = Selection.from_globs(include=["*.md"], exclude=["old/"])
    assert _paths(tmp_path, selection=only_markdown) == ["a.md", "docs/d.md"]
    anchored = Selection.from_globs(include=["docs/**"], exclude=["*.txt"])
    assert _paths(tmp_path, selection=anchored) == ["docs/d.md"]


def test_a_named_file_is_taken_even_when_ignored_or_of_unknown_kind(tmp_path: Path) -> None:
    _write(tmp_path, {".gitignore": "*.cfg\n", "app.cfg": "k = v"})
    candidates, _ = collect([tmp_path / "app.cfg"], tmp_path, Selection())
    assert candidates == [Candidate(tmp_path / "app.cfg", "app.cfg", "text/plain")]


def test_paths_are_relative_to_root_else_to_the_arguments_parent(tmp_path: Path) -> None:
    _write(tmp_path, {"repo/docs/a.md": "a", "elsewhere/notes/b.md": "b"})
    args = [tmp_path / "repo/docs", tmp_path / "elsewhere/notes", tmp_path / "repo/docs/a.md"]
    candidates, _ = collect(args, tmp_path / "repo", Selection())
    assert [c.path for c in candidates] == ["docs/a.md", "notes/b.md"]  # the repeated file counts once


def test_a_missing_path_is_a_failure(tmp_path: Path) -> None:
    candidates, failures = collect([tmp_path / "nope"], tmp_path, Selection())
    assert candidates == [] and failures == [Failure(str(tmp_path / "nope"), "no such file or directory")]


def test_binary_file_fails_with_a_reason(tmp_path: Path) -> None:
    assert _read(tmp_path, "blob.txt", b"abc\x00def") == Failure(
        "blob.txt", "binary file (contains NUL bytes)"
    )


def test_non_utf8_file_fails_with_the_offset(tmp_path: Path) -> None:
    result = _read(tmp_path, "latin.txt", "café".encode("latin-1"))
    assert result == Failure("latin.txt", "not UTF-8 (invalid byte at offset 3)")


def test_file_over_the_limit_is_too_large_and_one_at_the_limit_is_read(tmp_path: Path) -> None:
    at_limit = _read(tmp_path, "ok.txt", b"a" * MAX_FILE_BYTES)
    assert isinstance(at_limit, Document) and len(at_limit.content) == MAX_FILE_BYTES
    over = _read(tmp_path, "big.txt", b"a" * (MAX_FILE_BYTES + 1))
    assert over == Failure("big.txt", f"too large ({MAX_FILE_BYTES + 1} bytes, at most {MAX_FILE_BYTES})")


def test_markdown_title_is_the_first_h1_outside_code_fences(tmp_path: Path) -> None:
    text = "\ufeffintro\n```bash\n# not a title\n```\n## Sub\n# Real Title #\n"
    doc = _read(tmp_path, "a.md", text)
    assert isinstance(doc, Document)
    assert (doc.title, doc.content_type, doc.content) == (
        "Real Title",
        "text/markdown",
        text.lstrip("\ufeff"),
    )


def test_rst_title_is_the_first_underlined_line(tmp_path: Path) -> None:
    doc = _read(tmp_path, "a.rst", "=====\nGuide\n=====\n\nText\n\nPart\n----\n")
    assert isinstance(doc, Document) and (doc.title, doc.content_type) == ("Guide", "text/x-rst")


def test_code_has_no_title_and_keeps_its_type(tmp_path: Path) -> None:
    doc = _read(tmp_path, "a.py", "# comment\nx = 1\n")
    assert doc == Document("a.py", "", "text/x-python", "# comment\nx = 1\n", {"source": "ai-stack ingest"})


def test_html_is_sent_as_text_with_its_title_and_headings(tmp_path: Path) -> None:
    html = (
        "<html><head><title>The  Page</title><style>p {color: red}</style></head><body>"
        "<script>var hidden = 1;</script><h1>Intro</h1><p>Hello <b>world</b>,\n  again.</p>"
        "<h2>Code</h2><pre>def f():\n    return 1</pre><ul><li>one</li><li>two &amp; three</li></ul>"
        "</body></html>"
    )
    doc = _read(tmp_path, "page.html", html)
    assert doc == Document(
        "page.html",
        "The Page",
        "text/markdown",
        "# Intro\n\nHello world, again.\n\n## Code\n\n```\ndef f():\n    return 1\n```\n\n"
        "- one\n- two & three",
        {"source": "ai-stack ingest", "source_content_type": "text/html"},
    )
