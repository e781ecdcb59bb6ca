"""Which parser a source's kind and location reach, and what a wrong location gives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ai_stack.docs_search.parsers import dispatch
from ai_stack.docs_search.parsers.dispatch import parse_source


def test_a_missing_location_is_an_error_of_the_source(tmp_path: Path) -> None:
    parsed = parse_source("markdown", str(tmp_path / "nope"))
    assert parsed.sections == [] and "no such file" in parsed.errors[0]


def test_a_tree_kind_needs_a_directory_and_a_catalog_kind_a_file(tmp_path: Path) -> None:
    (tmp_path / "options.json").write_text("{}")
    assert "is a directory" in parse_source("html", str(tmp_path / "options.json")).errors[0]
    assert "one JSON file" in parse_source("nixos-options", str(tmp_path)).errors[0]


def test_an_oversize_json_source_is_refused_unread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "packages.json"
    path.write_text(json.dumps({"nixpkgs.hello": {"pname": "hello", "version": "2.12"}}))
    assert [p.attr for p in parse_source("nix-packages", str(path)).packages] == ["nixpkgs.hello"]
    monkeypatch.setattr(dispatch, "MAX_JSON_BYTES", 10)
    parsed = parse_source("nix-packages", str(path))
    assert parsed.packages == [] and "more than the 10" in parsed.errors[0]


def test_each_tree_kind_reaches_its_parser(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# Title\n\nBody text.\n")
    (tmp_path / "b.txt").write_text("Plain words.\n")
    assert [s.key.split("#")[0] for s in parse_source("markdown", str(tmp_path)).sections] == ["a.md"]
    assert [s.key.split("#")[0] for s in parse_source("text", str(tmp_path)).sections] == ["b.txt"]
