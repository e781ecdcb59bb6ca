"""Ingest against a real HTTP server shaped like aidb: batching within the limits, the summary, the
local state that keeps unchanged files from being sent, and the command line."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import pytest
from ai_stack.cli.__main__ import main
from ai_stack.cli.aidb_client import AidbGatewayClient
from ai_stack.cli.ingest import Ingester, IngestRun, Target, run_ingest
from ai_stack.cli.ingest_state import IngestState
from ai_stack.cli.walk import Selection, collect
from ai_stack.clients.errors import ClientError
from rich.console import Console

from tests.unit.cli.conftest import API_KEY, FakeAidb


def _files(root: Path, count: int, size: int = 10) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        (root / f"doc{i:02}.md").write_text(f"# Doc {i}\n\n" + "x" * size)


def _run(tmp_path: Path, project: str = "proj", **target: int) -> IngestRun:
    return IngestRun(
        paths=[tmp_path / "docs"],
        root=tmp_path,
        selection=Selection(),
        target=Target("documents", project, **target),
        state_file=tmp_path / "home/ingest-state.json",
    )


async def _ingest(url: str, run: IngestRun, err: Console | None = None) -> tuple[int, str]:
    """(exit status, what was printed on stdout)."""
    out = Console(file=io.StringIO(), width=200)
    with AidbGatewayClient(url, API_KEY, sleep=lambda s: None) as client:
        status = await asyncio.to_thread(run_ingest, client, run, out, err or Console(file=io.StringIO()))
    return status, out.file.getvalue()  # type: ignore[attr-defined]


async def test_batches_hold_at_most_max_items(fake_aidb: tuple[FakeAidb, str], tmp_path: Path) -> None:
    fake, url = fake_aidb
    _files(tmp_path / "docs", 5)
    status, out = await _ingest(url, _run(tmp_path, max_items=2))
    assert status == 0
    assert [len(paths) for paths in fake.bulk_paths] == [2, 2, 1]
    assert out.splitlines()[0] == "documents/proj: added 5, updated 0, unchanged 0, failed 0"


async def test_batches_stay_within_the_byte_budget(fake_aidb: tuple[FakeAidb, str], tmp_path: Path) -> None:
    fake, url = fake_aidb
    _files(tmp_path / "docs", 6, size=3000)
    status, _ = await _ingest(url, _run(tmp_path, max_bytes=8000))
    assert status == 0 and len(fake.stored) == 6
    assert all(size <= 8000 for size in fake.bulk_sizes)
    assert [len(paths) for paths in fake.bulk_paths] == [2, 2, 2]


async def test_rerun_sends_only_changed_files(fake_aidb: tuple[FakeAidb, str], tmp_path: Path) -> None:
    fake, url = fake_aidb
    _files(tmp_path / "docs", 3)
    await _ingest(url, _run(tmp_path))
    (tmp_path / "docs/doc01.md").write_text("# Doc 1\n\nedited")
    fake.bulk_paths.clear()
    status, out = await _ingest(url, _run(tmp_path))
    assert status == 0 and fake.bulk_paths == [["docs/doc01.md"]]
    assert out.splitlines()[0] == "documents/proj: added 0, updated 1, unchanged 2, failed 0"


async def test_state_is_per_project(fake_aidb: tuple[FakeAidb, str], tmp_path: Path) -> None:
    fake, url = fake_aidb
    _files(tmp_path / "docs", 2)
    await _ingest(url, _run(tmp_path, project="one"))
    _, out = await _ingest(url, _run(tmp_path, project="two"))
    assert len(fake.bulk_paths) == 2 and out.startswith("documents/two: added 2,")


async def test_force_sends_everything_and_aidb_says_unchanged(
    fake_aidb: tuple[FakeAidb, str], tmp_path: Path
) -> None:
    fake, url = fake_aidb
    _files(tmp_path / "docs", 2)
    await _ingest(url, _run(tmp_path))
    run = _run(tmp_path)
    forced = IngestRun(run.paths, run.root, run.selection, run.target, run.state_file, force=True)
    _, out = await _ingest(url, forced)
    assert len(fake.bulk_paths) == 2 and out.startswith("documents/proj: added 0, updated 0, unchanged 2,")


async def test_rejected_and_unreadable_files_fail_with_reasons_and_are_retried(
    fake_aidb: tuple[FakeAidb, str], tmp_path: Path
) -> None:
    fake, url = fake_aidb
    _files(tmp_path / "docs", 1)
    (tmp_path / "docs/key.md").write_text("-----BEGIN PRIVATE KEY-----\nabc\n")
    (tmp_path / "docs/blob.md").write_bytes(b"\x00\x01")
    status, out = await _ingest(url, _run(tmp_path))
    assert status == 1
    assert out.splitlines()[:3] == [
        "documents/proj: added 1, updated 0, unchanged 0, failed 2",
        "failed docs/blob.md: binary file (contains NUL bytes)",
        "failed docs/key.md: content looks like it contains a PEM private key; remove it before storing "
        "(content_rejected)",
    ]
    fake.bulk_paths.clear()
    await _ingest(url, _run(tmp_path))
    assert fake.bulk_paths == [["docs/key.md"]]  # a failure is not remembered as stored


async def test_a_refused_batch_fails_its_files_and_the_run_goes_on(
    fake_aidb: tuple[FakeAidb, str], tmp_path: Path
) -> None:
    fake, url = fake_aidb
    fake.max_items = 2
    _files(tmp_path / "docs", 4)
    status, out = await _ingest(url, _run(tmp_path, max_items=3))
    assert status == 1 and [len(p) for p in fake.bulk_paths] == [3, 1]
    assert out.splitlines()[0] == "documents/proj: added 1, updated 0, unchanged 0, failed 3"
    assert "failed docs/doc00.md: aidb answered 413 payload_too_large: 3 documents sent, at most 2" in out


async def test_a_document_too_large_for_any_batch_fails_alone(
    fake_aidb: tuple[FakeAidb, str], tmp_path: Path
) -> None:
    fake, url = fake_aidb
    _files(tmp_path / "docs", 1, size=2000)
    status, out = await _ingest(url, _run(tmp_path, max_bytes=1024))
    assert status == 1 and fake.bulk_paths == []
    assert "failed docs/doc00.md: too large once encoded (2" in out and "over --batch-bytes 1024)" in out


async def test_unavailable_answers_are_retried(fake_aidb: tuple[FakeAidb, str], tmp_path: Path) -> None:
    fake, url = fake_aidb
    fake.unavailable = 2
    _files(tmp_path / "docs", 1)
    status, _ = await _ingest(url, _run(tmp_path))
    assert status == 0 and len(fake.stored) == 1


async def test_a_bad_key_stops_the_run_with_one_line(fake_aidb: tuple[FakeAidb, str], tmp_path: Path) -> None:
    fake, url = fake_aidb
    _files(tmp_path / "docs", 1)
    with AidbGatewayClient(url, "wrong") as client, pytest.raises(ClientError) as caught:
        await asyncio.to_thread(run_ingest, client, _run(tmp_path), Console(file=io.StringIO()), Console())
    assert str(caught.value) == (
        "the gateway refused the API key (401); check --api-key, AI_STACK_API_KEY or AI_STACK_API_KEY_FILE"
    )
    assert fake.stored == {}


async def test_a_missing_collection_is_an_error_unless_created(
    fake_aidb: tuple[FakeAidb, str], tmp_path: Path
) -> None:
    fake, url = fake_aidb
    _files(tmp_path / "docs", 1)
    run = _run(tmp_path)
    run = IngestRun(run.paths, run.root, run.selection, Target("notes", "proj"), run.state_file)
    with pytest.raises(ClientError, match="collection 'notes' does not exist; pass --create-collection"):
        await _ingest(url, run)
    creating = IngestRun(
        run.paths, run.root, run.selection, run.target, run.state_file, create_collection=True
    )
    status, _ = await _ingest(url, creating)
    assert status == 0 and ("notes", "proj", "docs/doc00.md") in fake.stored


async def test_progress_bar_shows_only_on_a_terminal(fake_aidb: tuple[FakeAidb, str], tmp_path: Path) -> None:
    _, url = fake_aidb
    _files(tmp_path / "docs", 3)
    piped = Console(file=io.StringIO())
    await _ingest(url, _run(tmp_path), err=piped)
    terminal = Console(file=io.StringIO(), force_terminal=True, color_system=None, width=150)
    await _ingest(url, _run(tmp_path, project="other"), err=terminal)
    assert piped.file.getvalue() == ""  # type: ignore[attr-defined]
    shown = terminal.file.getvalue()  # type: ignore[attr-defined]
    assert "3/3 files" in shown and "files/s" in shown


def test_batch_limits_are_checked() -> None:
    with pytest.raises(ValueError, match="a batch holds 1 to 200 documents"):
        Target("documents", "p", max_items=201)


async def test_command_line_ingest_uses_the_key_file_and_the_stack_home(
    fake_aidb: tuple[FakeAidb, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake, url = fake_aidb
    _files(tmp_path / "repo/docs", 2)
    (tmp_path / "key").write_text(API_KEY + "\n")
    monkeypatch.delenv("AI_STACK_API_KEY", raising=False)
    monkeypatch.setenv("AI_STACK_API_KEY_FILE", str(tmp_path / "key"))
    monkeypatch.setenv("AI_STACK_HOME", str(tmp_path / "home"))
    argv = ["ingest", "--url", url, "--root", str(tmp_path / "repo"), str(tmp_path / "repo/docs")]
    assert await asyncio.to_thread(main, argv) == 0
    assert (
        capsys.readouterr().out.splitlines()[0] == "documents/repo: added 2, updated 0, unchanged 0, failed 0"
    )
    state = json.loads((tmp_path / "home/ingest-state.json").read_text())
    scope = json.dumps([url, "documents", "repo"])
    assert {k: set(v) for k, v in state["scopes"].items()} == {scope: {"docs/doc00.md", "docs/doc01.md"}}
    assert sorted(fake.stored) == [
        ("documents", "repo", "docs/doc00.md"),
        ("documents", "repo", "docs/doc01.md"),
    ]


async def test_command_line_reports_a_refused_connection_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AI_STACK_HOME", str(tmp_path))
    argv = ["ingest", "--url", "http://127.0.0.1:9", "--api-key", "k", str(tmp_path)]
    assert await asyncio.to_thread(main, argv) == 1
    err = capsys.readouterr().err
    assert err == (
        "ai-stack: cannot connect to http://127.0.0.1:9: connection refused"
        " (is the stack up? `ai-stack status`)\n"
    )


async def test_progress_reports_files_bytes_and_chunks(
    fake_aidb: tuple[FakeAidb, str], tmp_path: Path
) -> None:
    _, url = fake_aidb
    _files(tmp_path / "docs", 3)
    run = _run(tmp_path, max_items=2)
    reports: list[tuple[int, int, int]] = []

    def ingest_with_progress() -> None:
        with AidbGatewayClient(url, API_KEY, sleep=lambda s: None) as client:
            state = IngestState(run.state_file, (url, "documents", "proj"))
            candidates, _ = collect(run.paths, run.root, run.selection)
            Ingester(client, run.target, state, progress=lambda *r: reports.append(r)).run(candidates)

    await asyncio.to_thread(ingest_with_progress)
    assert [(files, chunks) for files, _, chunks in reports] == [(2, 4), (1, 2)]  # two blocks per file
    assert all(size > 0 for _, size, _ in reports)


async def test_a_document_aidb_would_refuse_fails_before_it_is_sent(
    fake_aidb: tuple[FakeAidb, str], tmp_path: Path
) -> None:
    fake, url = fake_aidb
    deep = tmp_path / "docs" / "/".join(["d" * 250] * 7)  # a path of 1,750 bytes, over aidb's 1,536
    deep.mkdir(parents=True)
    (deep / "long.md").write_text("# Long\n\nText.")
    _files(tmp_path / "docs", 1)
    status, out = await _ingest(url, _run(tmp_path))
    assert status == 1
    assert [len(paths) for paths in fake.bulk_paths] == [1]  # only the good file was sent
    assert "path: String should have at most 1536 characters" in out
