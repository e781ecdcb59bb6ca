"""`ai-stack search` and `ai-stack reindex` against a real HTTP server shaped like aidb."""

from __future__ import annotations

import asyncio
import json

import pytest
from ai_stack.cli.__main__ import main
from ai_stack.cli.search import search_body

from tests.unit.cli.conftest import API_KEY, FakeAidb


def _document(path: str, content: str) -> dict[str, object]:
    return {
        "collection": "documents",
        "project": "p",
        "path": path,
        "title": "",
        "content": content,
        "metadata": {},
    }


@pytest.fixture
def searchable(fake_aidb: tuple[FakeAidb, str], monkeypatch: pytest.MonkeyPatch) -> tuple[FakeAidb, str]:
    fake, url = fake_aidb
    monkeypatch.setenv("AI_STACK_API_KEY", API_KEY)
    fake.stored[("documents", "p", "docs/install.md")] = (
        "h1",
        _document("docs/install.md", "pip install it"),
    )
    fake.stored[("documents", "p", "docs/other.md")] = ("h2", _document("docs/other.md", "unrelated"))
    return fake, url


def test_body_leaves_out_an_absent_project() -> None:
    assert search_body("q", "keyword", [], None, 5).model_dump(exclude_unset=True) == {
        "query": "q",
        "mode": "keyword",
        "collections": [],
        "limit": 5,
    }


async def test_results_are_a_ranked_table(
    searchable: tuple[FakeAidb, str], capsys: pytest.CaptureFixture[str]
) -> None:
    fake, url = searchable
    argv = [
        "search",
        "install",
        "--url",
        url,
        "--mode",
        "vector",
        "--collection",
        "documents",
        "--project",
        "p",
    ]
    assert await asyncio.to_thread(main, [*argv, "--limit", "3"]) == 0
    assert fake.searches == [
        {"query": "install", "mode": "vector", "collections": ["documents"], "project": "p", "limit": 3}
    ]
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if "docs/install.md" in line)
    assert [cell.strip() for cell in row.strip("│┃ ").split("│")] == [
        "1", "0.0164", "docs/install.md", "Guide > Install", "pip install it"
    ]  # fmt: skip
    assert "docs/other.md" not in out and "1 results (vector)" in out


async def test_a_degraded_search_says_so(
    searchable: tuple[FakeAidb, str], capsys: pytest.CaptureFixture[str]
) -> None:
    _, url = searchable
    assert await asyncio.to_thread(main, ["search", "degrade me", "--url", url]) == 0
    assert capsys.readouterr().out.startswith("degraded: embeddings unavailable; keyword results only\n")


async def test_json_is_aidbs_answer(
    searchable: tuple[FakeAidb, str], capsys: pytest.CaptureFixture[str]
) -> None:
    _, url = searchable
    assert await asyncio.to_thread(main, ["search", "install", "--url", url, "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["mode"] == "hybrid" and [r["path"] for r in answer["results"]] == ["docs/install.md"]


def test_limit_out_of_range_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["search", "q", "--limit", "101"])
    assert caught.value.code == 2 and "must be between 1 and 100" in capsys.readouterr().err


async def test_reindex_prints_the_queued_count(
    searchable: tuple[FakeAidb, str], capsys: pytest.CaptureFixture[str]
) -> None:
    _, url = searchable
    assert await asyncio.to_thread(main, ["reindex", "--url", url]) == 0
    out = capsys.readouterr().out
    assert out.startswith("queued 2 documents for reindexing;") and "search answers throughout" in out
    assert await asyncio.to_thread(main, ["reindex", "--rebuild", "--url", url]) == 0
    assert "index was dropped" in capsys.readouterr().out


async def test_no_results_is_one_line(
    searchable: tuple[FakeAidb, str], capsys: pytest.CaptureFixture[str]
) -> None:
    _, url = searchable
    assert await asyncio.to_thread(main, ["search", "absent", "--url", url, "--mode", "keyword"]) == 0
    assert capsys.readouterr().out == "no results (keyword)\n"
