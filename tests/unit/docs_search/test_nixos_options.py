"""options.json parsing: records, sections, rendering of values, and bad input."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from ai_stack.docs_search.parsers.nixos_options import parse_options
from ai_stack.docs_search.sections import ParsedSource, Section

from tests.fixtures.docs.generate_options import generate_options

FIXTURE = Path(__file__).parents[2] / "fixtures" / "docs" / "options.json"


@pytest.fixture(scope="module")
def nixos() -> ParsedSource:
    return parse_options(FIXTURE)


def sections(parsed: ParsedSource) -> dict[str, Section]:
    return {s.title: s for s in parsed.sections}


def write(tmp_path: Path, options: Any) -> Path:
    path = tmp_path / "options.json"
    path.write_text(json.dumps(options))
    return path


def test_the_fixture_parses_whole_sorted_and_one_section_per_option(nixos: ParsedSource) -> None:
    names = [o.name for o in nixos.options]
    assert not nixos.errors
    assert len(names) >= 250 and names == sorted(names)
    assert [s.key for s in nixos.sections] == [f"option:{n}" for n in names]
    assert nixos.version == "24.05"  # system.nixos.release's default


def test_openssh_enable_reads_like_the_manual(nixos: ParsedSource) -> None:
    record = next(o for o in nixos.options if o.name == "services.openssh.enable")
    assert record.type == "boolean" and record.default == "false" and not record.read_only
    assert record.description.startswith("Whether to enable the OpenSSH secure shell daemon")
    assert record.declarations == ["nixos/modules/services/networking/ssh/sshd.nix"]
    section = sections(nixos)["services.openssh.enable"]
    assert section.heading_path == ("services", "openssh", "enable")
    assert section.metadata == {"option": "services.openssh.enable", "type": "boolean", "read_only": False}
    assert section.url == ""  # declarations are nixpkgs paths, not URLs
    lines = section.text.split("\n\n")
    assert lines[0].startswith("Whether to enable the OpenSSH")
    assert lines[1:4] == [
        "Type: boolean",
        "Default: `false`",
        "Declared in: `nixos/modules/services/networking/ssh/sshd.nix`",
    ]


def test_placeholder_segments_stay_in_the_heading_path(nixos: ParsedSource) -> None:
    by_title = sections(nixos)
    cert = by_title["services.nginx.virtualHosts.<name>.sslCertificate"]
    assert cert.heading_path == ("services", "nginx", "virtualHosts", "<name>", "sslCertificate")
    address = by_title["networking.interfaces.<name>.ipv4.addresses.*.address"]
    assert address.heading_path == ("networking", "interfaces", "<name>", "ipv4", "addresses", "*", "address")
    sysctl = by_title['boot.kernel.sysctl."net.core.rmem_max"']
    assert sysctl.heading_path == ("boot", "kernel", "sysctl", '"net.core.rmem_max"')


def test_values_render_as_nix_code_or_markdown_prose(nixos: ParsedSource) -> None:
    by_title = sections(nixos)
    host_keys = by_title["services.openssh.hostKeys"].text
    assert '```nix\n[\n  {\n    path = "/etc/ssh/ssh_host_rsa_key";' in host_keys  # literalExpression, kept
    assert "Example:\n\n```nix\n[\n  { bits = 4096;" in host_keys  # plain JSON, rendered
    assert "Default: the attribute name" in by_title["users.users.<name>.name"].text  # literalMD
    packages = by_title["environment.systemPackages"].text
    assert "Default: `[ ]`" in packages and "Example: `[ pkgs.firefox pkgs.thunderbird ]`" in packages
    assert "Default:" not in by_title["services.nginx.virtualHosts.<name>.sslCertificate"].text
    assert 'Example: `"/var/host.cert"`' in by_title["services.nginx.virtualHosts.<name>.sslCertificate"].text


def test_read_only_options_say_so(nixos: ParsedSource) -> None:
    toplevel = sections(nixos)["system.build.toplevel"]
    assert toplevel.metadata["read_only"] is True and toplevel.text.endswith("Read-only.")
    assert not sections(nixos)["services.openssh.enable"].text.endswith("Read-only.")


def test_manual_markup_is_made_readable_in_the_text_but_kept_in_the_record(nixos: ParsedSource) -> None:
    record = next(o for o in nixos.options if o.name == "services.openssh.authorizedKeysFiles")
    assert "[](#opt-users.users._name_.openssh.authorizedKeys.keys)" in record.description
    text = sections(nixos)["services.openssh.authorizedKeysFiles"].text
    assert "`users.users.<name>.openssh.authorizedKeys.keys`" in text and "](#opt-" not in text
    assert "`ssh-keygen(1)`" in sections(nixos)["services.openssh.hostKeys"].text
    assert "{manpage}" not in sections(nixos)["services.openssh.hostKeys"].text
    tmp = sections(nixos)["boot.tmp.useTmpfs"].text
    assert "Note:\nLarge Nix builds can fail" in tmp and ":::" not in tmp


def test_md_doc_descriptions_and_related_packages(nixos: ParsedSource) -> None:
    nginx = next(o for o in nixos.options if o.name == "services.nginx.enable")
    assert nginx.description == "Whether to enable Nginx Web Server."  # was {"_type": "mdDoc", ...}
    fonts = next(o for o in nixos.options if o.name == "fonts.packages")
    assert fonts.related_packages and "pkgs.dejavu_fonts" in fonts.related_packages
    assert "Related packages:" in sections(nixos)["fonts.packages"].text


def test_home_manager_declarations_give_a_url(tmp_path: Path) -> None:
    declared = {"name": "<home-manager/modules/programs/git.nix>", "url": "https://example.org/git.nix"}
    path = write(tmp_path, {"programs.git.enable": {"type": "boolean", "declarations": [declared]}})
    parsed = parse_options(path)
    assert parsed.options[0].declarations == ["https://example.org/git.nix"]
    assert parsed.sections[0].url == "https://example.org/git.nix"
    assert "[<home-manager/modules/programs/git.nix>](https://example.org/git.nix)" in parsed.sections[0].text
    urls = {"a": {"type": "string", "declarations": ["modules/a.nix", "https://example.org/a.nix"]}}
    assert parse_options(write(tmp_path, urls)).sections[0].url == "https://example.org/a.nix"


def test_null_default_is_null_and_a_missing_one_is_absent(tmp_path: Path) -> None:
    parsed = parse_options(
        write(tmp_path, {"a": {"type": "null or string", "default": None}, "b": {"type": "x"}})
    )
    a, b = parsed.options
    assert a.default == "null" and "Default: `null`" in parsed.sections[0].text
    assert b.default is None and "Default" not in parsed.sections[1].text


def test_malformed_entries_are_reported_and_skipped(tmp_path: Path) -> None:
    options = {
        "good": {"type": "boolean"},
        "notobject": [1],
        "notype": {"description": "x"},
        "badtype": {"type": 3},
    }
    parsed = parse_options(write(tmp_path, options))
    assert [o.name for o in parsed.options] == ["good"] and len(parsed.sections) == 1
    assert len(parsed.errors) == 3
    assert any("notobject" in e for e in parsed.errors) and any("notype" in e for e in parsed.errors)


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b'"options"', b"\xff\xfe"])
def test_a_file_that_is_not_an_options_object_is_an_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "options.json"
    path.write_bytes(content)
    parsed = parse_options(path)
    assert parsed.errors and not parsed.sections and not parsed.options


def test_a_missing_file_is_an_error(tmp_path: Path) -> None:
    parsed = parse_options(tmp_path / "nope.json")
    assert parsed.errors and not parsed.sections


def test_twenty_thousand_generated_options_parse_quickly(tmp_path: Path) -> None:
    generated = generate_options(20_000, seed=7)
    assert generated == generate_options(20_000, seed=7) and generated != generate_options(20_000, seed=8)
    assert any("<name>" in n for n in generated) and any(".*." in n for n in generated)
    path = write(tmp_path, generated)
    started = time.perf_counter()
    parsed = parse_options(path)
    assert time.perf_counter() - started < 20
    assert not parsed.errors and len(parsed.sections) == len(generated) >= 20_000
