"""The pure parts of a sync: the diff against the manifest, section documents, batches, the
schedule, the sources file and the location check."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from ai_stack.core.errors import StartupError
from ai_stack.docs_search.documents import batches, clean_version, plan_sync, section_document, stored_digest
from ai_stack.docs_search.lookups import summary
from ai_stack.docs_search.registry import within_roots
from ai_stack.docs_search.scheduler import FAILED_RETRY_S, is_due
from ai_stack.docs_search.schemas import Source, SourceStatus, schedule_seconds
from ai_stack.docs_search.sections import Section
from ai_stack.docs_search.sources_file import read_sources_file

NOW = dt.datetime(2026, 11, 28, 12, tzinfo=dt.UTC)


def section(key: str, text: str = "body", **extra: object) -> Section:
    return Section(key=key, title="Page", heading_path=("Page", key), url=f"p.md#{key}", text=text, **extra)  # type: ignore[arg-type]


def source(**extra: object) -> Source:
    fields = {"name": "guide", "kind": "markdown", "location": "/docs", "origin": "api"} | extra
    return Source.model_validate(fields)


def test_only_changed_sections_are_sent_and_vanished_keys_are_removed() -> None:
    old = [section("a"), section("b"), section("c")]
    manifest = {s.key: stored_digest(s, "1.0") for s in old}
    plan = plan_sync([section("a"), section("b", "new body"), section("d")], manifest, "1.0")
    assert [s.key for s, _ in plan.changed] == ["b", "d"]
    assert plan.unchanged == 1 and plan.removed == ["c"]


def test_a_new_version_re_sends_every_section() -> None:
    sections = [section("a"), section("b")]
    manifest = {s.key: stored_digest(s, "1.0") for s in sections}
    assert len(plan_sync(sections, manifest, "1.1").changed) == 2


def test_a_repeated_or_unusable_key_is_reported_not_stored_twice() -> None:
    plan = plan_sync([section("a"), section("a", "other"), section(""), section("x" * 2000)], {}, None)
    assert [s.key for s, _ in plan.changed] == ["a"]
    assert len(plan.problems) == 3 and "two sections share" in plan.problems[0]


def test_a_section_document_carries_its_place_and_refuses_nothing_storable() -> None:
    doc = section_document(
        source(),
        "2.0",
        Section("k", "T\x00itle", ("Guide", "Install"), "g.md#install", "Run it.\x00", {"n": "a\x00b"}),
        "d1",
        collection="docs",
        max_chars=1000,
    )
    assert doc.project == "guide" and doc.path == "k" and doc.title == "Title"
    assert doc.content == "Guide > Install\n\nRun it."
    assert doc.metadata["version"] == "2.0" and doc.metadata["section"] == {"n": "ab"}
    assert doc.metadata["heading_path"] == ["Guide", "Install"] and doc.metadata["digest"] == "d1"


def test_metadata_text_that_only_looks_like_an_escaped_nul_is_kept() -> None:
    """A man page may say `\\u0000` in words; only real U+0000 characters go."""
    meta = {"summary": r"prints \u0000 bytes", "k\x00": ["a\x00b", {"n": 1}]}
    doc = section_document(source(), None, section("k", metadata=meta), "d", collection="docs", max_chars=99)
    assert doc.metadata["section"] == {"summary": r"prints \u0000 bytes", "k": ["ab", {"n": 1}]}


def test_batches_respect_items_and_bytes() -> None:
    docs = [
        section_document(source(), None, section(str(i), "x" * 1000), "d", collection="docs", max_chars=10**6)
        for i in range(10)
    ]
    assert [len(b) for b in batches(docs, 4, 10**6)] == [4, 4, 2]
    assert [len(b) for b in batches(docs, 100, 3100)] == [2, 2, 2, 2, 2]
    assert sum(len(b) for b in batches(docs, 1, 10)) == 10  # a lone big one still goes


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("manual", None), ("30m", 1800.0), ("6h", 21600.0), ("1d", 86400.0), ("2w", 1209600.0)],
)
def test_schedules(text: str, seconds: float | None) -> None:
    assert schedule_seconds(text) == seconds


@pytest.mark.parametrize("text", ["0m", "1s", "h", "1.5h", "daily", "", "-1d"])
def test_bad_schedules_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="manual"):
        schedule_seconds(text)


def test_what_is_due() -> None:
    hourly = source(schedule="1h")
    assert is_due(hourly, SourceStatus(), NOW)
    assert not is_due(hourly, SourceStatus(state="syncing"), NOW)
    fresh = SourceStatus(state="ok", last_sync=NOW - dt.timedelta(minutes=59))
    assert not is_due(hourly, fresh, NOW)
    assert is_due(hourly, fresh, NOW + dt.timedelta(minutes=1))
    assert not is_due(
        source(schedule="manual"), SourceStatus(state="ok", last_sync=NOW), NOW + dt.timedelta(days=400)
    )
    failed = SourceStatus(state="failed", last_attempt=NOW)
    assert not is_due(hourly, failed, NOW + dt.timedelta(seconds=FAILED_RETRY_S - 1))
    assert is_due(hourly, failed, NOW + dt.timedelta(seconds=FAILED_RETRY_S))


def test_the_sources_file(tmp_path: Path) -> None:
    path = tmp_path / "sources.toml"
    path.write_text(
        '[[source]]\nname = "pg"\nkind = "html"\nlocation = "/usr/share/doc/postgresql-doc-15/html"\n'
        'schedule = "1w"\nversion = "15"\n'
    )
    [pg] = read_sources_file(path)
    assert (pg.name, pg.kind, pg.schedule, pg.version, pg.origin) == ("pg", "html", "1w", "15", "file")
    path.write_text('[[source]]\nname = "a"\nkind = "pdf"\nlocation = "/x"\n')
    with pytest.raises(StartupError, match="source #1"):
        read_sources_file(path)
    path.write_text('[[source]]\nname = "a"\nkind = "text"\nlocation = "/x"\n' * 2)
    with pytest.raises(StartupError, match="duplicate"):
        read_sources_file(path)
    path.write_text("[[source]\n")
    with pytest.raises(StartupError, match="not valid TOML"):
        read_sources_file(path)
    with pytest.raises(StartupError, match="No such file"):
        read_sources_file(tmp_path / "missing.toml")


def test_a_location_must_lie_in_a_root_even_through_symlinks(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "docs").mkdir(parents=True)
    assert within_roots(str(root / "docs"), [str(root)])
    assert within_roots(str(root), [str(root)])
    assert not within_roots(str(tmp_path / "rootish"), [str(root)])
    assert not within_roots(str(root / ".." / "elsewhere"), [str(root)])
    os.symlink("/etc", root / "escape")
    assert not within_roots(str(root / "escape"), [str(root)])


def test_summary_is_the_first_sentence() -> None:
    assert summary("Whether to enable X.  More words here.") == "Whether to enable X."
    assert summary("a\n  b") == "a b"
    long = summary("word " * 100)
    assert len(long) == 200 and long.endswith("…")


def test_a_file_name_that_is_not_utf8_is_reported_not_raised() -> None:
    plan = plan_sync([section("bad-\udcff.md#a"), section("good.md#a")], {}, None)
    assert [s.key for s, _ in plan.changed] == ["good.md#a"]
    assert "not a usable section key" in plan.problems[0]


def test_a_detected_version_is_made_safe_to_store_and_print() -> None:
    assert clean_version("25.05\x00") == "25.05"
    assert clean_version("1.0\x1b[31m\x07\r\n") == "1.0[31m"
    assert clean_version("\x00") is None and clean_version(None) is None
    assert clean_version("9" * 300) == "9" * 100
