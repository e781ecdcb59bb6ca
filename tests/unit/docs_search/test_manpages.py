"""Man page trees: sections per heading and option, keys and anchors, aliases, and bad files."""

from __future__ import annotations

import bz2
import gzip
import lzma
import shutil
from pathlib import Path

import pytest
from ai_stack.docs_search.parsers.manpages import parse_manpages
from ai_stack.docs_search.sections import ParsedSource, Section

CHMOD = Path("/usr/share/man/man1/chmod.1.gz")

PAGE = r""".TH BAR 1
.SH NAME
bar \- draw bars on the terminal
.SH DESCRIPTION
Draws bars.
.SH OPTIONS
.TP
.BR \-w ", " \-\-width =\fIN\fR
bar width
.TP
.B \-\-width
the same flag again, documented twice
.SH "SEE ALSO"
.BR foo (1)
.SH "SEE ALSO"
a second heading of the same name
.SH BUGS
"""

MDOC = r""".Dd May 1, 2024
.Dt QUX 8
.Os
.Sh NAME
.Nm qux
.Nd restart the qux daemon
.Sh DESCRIPTION
.Bl -tag -width Ds
.It Fl f
Restart even when busy.
.El
"""


def tree(tmp_path: Path, pages: dict[str, bytes | str]) -> Path:
    root = tmp_path / "man"
    for relative, content in pages.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        data = content.encode() if isinstance(content, str) else content
        path.write_bytes(gzip.compress(data) if relative.endswith(".gz") else data)
    return root


def by_key(parsed: ParsedSource) -> dict[str, Section]:
    return {s.key: s for s in parsed.sections}


@pytest.mark.skipif(not CHMOD.exists(), reason="this machine has no chmod(1) page")
def test_the_real_chmod_page(tmp_path: Path) -> None:
    (tmp_path / "man1").mkdir()
    shutil.copy(CHMOD, tmp_path / "man1" / "chmod.1.gz")
    parsed = parse_manpages(tmp_path)
    sections = by_key(parsed)
    assert not parsed.errors
    for heading in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS"):
        assert f"man1/chmod.1#{heading}" in sections
    recursive = sections["man1/chmod.1#option--recursive"]
    assert recursive.title == "chmod(1)"
    assert recursive.heading_path == ("chmod(1)", "OPTIONS", "-R, --recursive")
    assert recursive.url == "man1/chmod.1.gz#option--recursive"
    assert "recursively" in recursive.text
    assert recursive.metadata == {"page": "chmod", "section": "1", "summary": "change file mode bits"}
    assert all(s.text.startswith("chmod - change file mode bits") for s in parsed.sections)
    assert "\\f" not in sections["man1/chmod.1#OPTIONS"].text


def test_keys_anchors_and_the_name_line_in_every_section(tmp_path: Path) -> None:
    parsed = parse_manpages(tree(tmp_path, {"man1/bar.1": PAGE}))
    assert not parsed.errors
    assert [s.key for s in parsed.sections] == [
        "man1/bar.1#NAME",
        "man1/bar.1#DESCRIPTION",
        "man1/bar.1#OPTIONS",
        "man1/bar.1#option--width",
        "man1/bar.1#option--width-2",  # the same flag twice: the key stays unique
        "man1/bar.1#SEE-ALSO",
        "man1/bar.1#SEE-ALSO-2",
    ]  # BUGS is empty: no section
    sections = by_key(parsed)
    width = sections["man1/bar.1#option--width"]
    assert width.heading_path == ("bar(1)", "OPTIONS", "-w, --width=N")
    assert width.text == "bar - draw bars on the terminal\n\n-w, --width=N\n\nbar width"
    assert width.url == "man1/bar.1#option--width"
    assert sections["man1/bar.1#NAME"].text == "bar - draw bars on the terminal"
    assert sections["man1/bar.1#DESCRIPTION"].text == "bar - draw bars on the terminal\n\nDraws bars."
    assert {s.metadata["summary"] for s in parsed.sections} == {"draw bars on the terminal"}


def test_mdoc_pages_in_any_section_directory(tmp_path: Path) -> None:
    parsed = parse_manpages(tree(tmp_path, {"man8/qux.8.gz": MDOC, "man3pm/Qux.3pm": PAGE, "man9/x.9": PAGE}))
    keys = [s.key for s in parsed.sections]
    assert "man8/qux.8#option-f" in keys and "man3pm/Qux.3pm#NAME" in keys
    assert not any(k.startswith("man9/") for k in keys)  # sections 1 to 8 only
    flag = by_key(parsed)["man8/qux.8#option-f"]
    assert flag.title == "qux(8)" and flag.url == "man8/qux.8.gz#option-f"
    assert flag.text == "qux - restart the qux daemon\n\n-f\n\nRestart even when busy."


def test_so_stubs_and_symlinks_are_aliases(tmp_path: Path) -> None:
    root = tree(
        tmp_path, {"man1/bar.1.gz": PAGE, "man1/foo.1": ".so man1/bar.1\n", "man1/gone.1": ".so man1/no.1"}
    )
    (root / "man1" / "baz.1.gz").symlink_to("bar.1.gz")
    (root / "man1" / "dangling.1.gz").symlink_to("nothing.1.gz")
    parsed = parse_manpages(root)
    assert {s.key.split("#")[0] for s in parsed.sections} == {"man1/bar.1"}
    assert all(s.metadata["aliases"] == ["baz(1)", "foo(1)"] for s in parsed.sections)
    assert by_key(parsed)["man1/bar.1#NAME"].text.endswith("Also: baz(1), foo(1)")
    assert len(parsed.errors) == 2
    assert any(e.startswith("man1/gone.1:") for e in parsed.errors)
    assert any(e.startswith("man1/dangling.1.gz:") for e in parsed.errors)


def test_a_corrupt_page_is_an_error_and_the_others_still_parse(tmp_path: Path) -> None:
    root = tree(tmp_path, {"man1/bar.1.gz": PAGE})
    (root / "man1" / "broken.1.gz").write_bytes(b"\x1f\x8b\x08\x00 not really gzip")
    (root / "man1" / "cut.1.gz").write_bytes(gzip.compress(PAGE.encode())[:40])
    (root / "man1" / "loop.1").write_text(".TH LOOP 1\n.de L\n.L\n..\n.SH NAME\n.L\n")
    parsed = parse_manpages(root)
    assert sorted(e.split(":")[0] for e in parsed.errors) == [
        "man1/broken.1.gz",
        "man1/cut.1.gz",
        "man1/loop.1",
    ]
    assert "man1/bar.1#NAME" in by_key(parsed)


def test_other_compressions_and_latin_1(tmp_path: Path) -> None:
    latin = ".TH CAFE 1\n.SH NAME\ncaf\xe9 \\- order a caf\xe9\n".encode("latin-1")
    root = tree(tmp_path, {"man1/cafe.1": latin})
    (root / "man1" / "b.1.bz2").write_bytes(bz2.compress(PAGE.replace("bar", "bee").encode()))
    (root / "man1" / "x.1.xz").write_bytes(lzma.compress(PAGE.replace("bar", "ex").encode()))
    sections = by_key(parse_manpages(root))
    assert sections["man1/cafe.1#NAME"].text == "café - order a café"
    assert sections["man1/b.1#NAME"].url == "man1/b.1.bz2#NAME"
    assert sections["man1/x.1#NAME"].metadata["summary"] == "draw exs on the terminal"


def test_an_empty_tree_has_nothing(tmp_path: Path) -> None:
    (tmp_path / "man1").mkdir()
    parsed = parse_manpages(tmp_path)
    assert not parsed.sections and not parsed.errors


def test_one_page_in_two_files_is_kept_once_and_a_missing_root_is_an_error(tmp_path: Path) -> None:
    parsed = parse_manpages(tree(tmp_path, {"man1/bar.1": PAGE, "man1/bar.1.gz": PAGE}))
    assert len({s.key for s in parsed.sections}) == len(parsed.sections) > 0
    assert parsed.errors == ["man1/bar.1.gz: the same page as man1/bar.1; skipped"]
    missing = parse_manpages(tmp_path / "nowhere")
    assert missing.errors and not missing.sections
