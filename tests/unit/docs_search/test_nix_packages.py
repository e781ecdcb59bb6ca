"""Package listings: `nix-env -qaP --json --meta` and `nix search --json`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ai_stack.docs_search.parsers.nix_packages import licenses, parse_packages, short_attr
from ai_stack.docs_search.sections import ParsedSource

FIXTURES = Path(__file__).parents[2] / "fixtures" / "docs"


@pytest.fixture(scope="module")
def nixpkgs() -> ParsedSource:
    return parse_packages(FIXTURES / "packages.json")


def write(tmp_path: Path, listing: Any) -> Path:
    path = tmp_path / "packages.json"
    path.write_text(json.dumps(listing))
    return path


def test_the_nix_env_fixture_gives_one_record_and_section_per_package(nixpkgs: ParsedSource) -> None:
    attrs = [p.attr for p in nixpkgs.packages]
    assert not nixpkgs.errors and len(attrs) >= 50 and attrs == sorted(attrs)
    assert [s.key for s in nixpkgs.sections] == [f"package:{a}" for a in attrs]
    assert {"hello", "ripgrep", "git", "nginx", "postgresql_15", "openssh", "python311", "curl", "jq"} <= set(
        attrs
    )
    assert "python311Packages.requests" in attrs
    assert nixpkgs.version is None


def test_ripgrep_record_and_section(nixpkgs: ParsedSource) -> None:
    record = next(p for p in nixpkgs.packages if p.attr == "ripgrep")
    assert (record.pname, record.version, record.main_program) == ("ripgrep", "14.1.0", "rg")
    assert record.license == ["Unlicense", "MIT"]  # a list of licence objects, by SPDX id
    assert record.homepage == ["https://github.com/BurntSushi/ripgrep"]
    assert "x86_64-linux" in record.platforms
    section = next(s for s in nixpkgs.sections if s.title == "ripgrep")
    assert section.heading_path == ("ripgrep",) and section.url == "https://github.com/BurntSushi/ripgrep"
    assert section.metadata == {"attr": "ripgrep", "pname": "ripgrep", "version": "14.1.0"}
    assert section.text.startswith("A utility that combines the usability of The Silver Searcher")
    assert "recursively searches the current directory for a regex pattern" in section.text  # longDescription
    for line in ("Version: 14.1.0", "License: Unlicense, MIT", "Main program: rg", "Platforms: 29"):
        assert line in section.text.splitlines()


def test_platform_patterns_and_bare_string_licenses(nixpkgs: ParsedSource) -> None:
    libxml2 = next(p for p in nixpkgs.packages if p.attr == "libxml2")
    assert all(isinstance(p, str) for p in libxml2.platforms)  # the {"kernel": ...} pattern is skipped
    sqlite = next(p for p in nixpkgs.packages if p.attr == "sqlite")
    assert sqlite.license == ["Public Domain"]
    steam = next(p for p in nixpkgs.packages if p.attr == "steam")
    assert steam.license == ["Unfree"]  # no spdxId: the full name


def test_license_shapes() -> None:
    assert licenses({"spdxId": "MIT", "fullName": "MIT License"}) == ["MIT"]
    assert licenses({"fullName": "Unfree", "shortName": "unfree"}) == ["Unfree"]
    assert licenses({"shortName": "bsdOriginal"}) == ["bsdOriginal"]
    assert licenses([{"spdxId": "MIT"}, "LGPL", {"nothing": 1}, 3]) == ["MIT", "LGPL"]
    assert licenses(None) == []


def test_nix_search_output_is_shortened_and_keeps_the_full_attribute(tmp_path: Path) -> None:
    parsed = parse_packages(FIXTURES / "packages-search.json")
    assert not parsed.errors and len(parsed.packages) >= 10
    hello = next(s for s in parsed.sections if s.title == "hello")
    assert hello.key == "package:hello"
    assert hello.metadata == {
        "attr": "hello",
        "pname": "hello",
        "version": "2.12.1",
        "full_attr": "legacyPackages.x86_64-linux.hello",
    }
    assert "package:default" in [s.key for s in parsed.sections]  # packages.<system>.default
    requests = next(p for p in parsed.packages if p.attr == "python311Packages.requests")
    assert requests.description == "HTTP library for Python" and requests.homepage == []


def test_short_attr() -> None:
    assert (
        short_attr("legacyPackages.aarch64-darwin.python311Packages.requests") == "python311Packages.requests"
    )
    assert short_attr("packages.x86_64-linux.default") == "default"
    assert short_attr("nixpkgs.hello") == "nixpkgs.hello"  # nix-env attributes are kept


def test_old_nix_env_output_without_pname_is_split_from_the_name(tmp_path: Path) -> None:
    listing = {
        "nixos.hello": {"name": "hello-2.12.1", "meta": {"description": "greeting"}},
        "nixos.gtk3": {"name": "gtk+3-3.24.41", "version": "3.24.41", "meta": {}},
        "nixos.foo": {"name": "foo-bar", "meta": {}},
    }
    parsed = parse_packages(write(tmp_path, listing))
    assert [(p.attr, p.pname, p.version) for p in parsed.packages] == [
        ("nixos.foo", "foo-bar", ""),
        ("nixos.gtk3", "gtk+3", "3.24.41"),
        ("nixos.hello", "hello", "2.12.1"),
    ]


def test_odd_meta_fields_do_not_break_the_record(tmp_path: Path) -> None:
    meta = {
        "homepage": ["https://a.example", 3],
        "mainProgram": "",
        "platforms": "x86_64-linux",
        "license": 7,
    }
    parsed = parse_packages(write(tmp_path, {"x": {"pname": "x", "meta": meta}}))
    record = parsed.packages[0]
    assert record.homepage == ["https://a.example"] and record.main_program is None
    assert record.platforms == ["x86_64-linux"] and record.license == []


def test_bad_entries_and_duplicate_attributes_are_errors(tmp_path: Path) -> None:
    listing = {
        "legacyPackages.x86_64-linux.hello": {"pname": "hello", "version": "1"},
        "packages.x86_64-linux.hello": {"pname": "hello", "version": "2"},
        "broken": "not an object",
    }
    parsed = parse_packages(write(tmp_path, listing))
    assert [p.version for p in parsed.packages] == ["1"] and len(parsed.sections) == 1
    assert len(parsed.errors) == 2 and any("broken" in e for e in parsed.errors)


@pytest.mark.parametrize("content", [b"nope", b"[]", b"null"])
def test_a_file_that_is_not_a_listing_is_an_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "packages.json"
    path.write_bytes(content)
    parsed = parse_packages(path)
    assert parsed.errors and not parsed.sections and not parsed.packages
