"""Option names: segments, placeholder patterns, and resolving a concrete name to its declaration."""

from __future__ import annotations

import random
import time

import pytest
from ai_stack.docs_search.option_names import placeholder_pattern, resolve, split_option_name

NGINX = [
    "services.nginx.enable",
    "services.nginx.virtualHosts",
    "services.nginx.virtualHosts.<name>.root",
    "services.nginx.virtualHosts.<name>.forceSSL",
    "services.nginx.virtualHosts.<name>.locations.<name>.root",
    "services.nginx.virtualHosts.<name>.locations.<name>.proxyPass",
    "networking.interfaces.<name>.ipv4.addresses.*.address",
    "users.users.<name>.openssh.authorizedKeys.keys",
]


def test_split_keeps_quoted_segments_and_placeholders_whole() -> None:
    assert split_option_name('boot.kernel.sysctl."net.core.rmem_max"') == [
        "boot",
        "kernel",
        "sysctl",
        '"net.core.rmem_max"',
    ]
    assert split_option_name("a.<name>.*.b") == ["a", "<name>", "*", "b"]


def test_names_without_placeholders_have_no_pattern() -> None:
    assert placeholder_pattern("services.openssh.enable") is None
    assert placeholder_pattern('boot.kernel.sysctl."net.core.rmem_max"') is None


def test_a_placeholder_pattern_matches_exactly_one_segment() -> None:
    pattern = placeholder_pattern("services.nginx.virtualHosts.<name>.root")
    assert pattern is not None
    assert pattern.match("services.nginx.virtualHosts.example.root")
    assert pattern.match('services.nginx.virtualHosts."example.org".root')
    assert not pattern.match("services.nginx.virtualHosts.example.org.root")  # unquoted dots: two segments
    assert not pattern.match("services.nginx.virtualHosts.example.rootDir")
    assert not pattern.match("services.nginx.virtualHosts..root")
    star = placeholder_pattern("networking.interfaces.<name>.ipv4.addresses.*.address")
    assert star is not None and star.match("networking.interfaces.eth0.ipv4.addresses.0.address")


@pytest.mark.parametrize(
    ("concrete", "declared"),
    [
        ("services.nginx.virtualHosts.example.root", "services.nginx.virtualHosts.<name>.root"),
        ("services.nginx.virtualHosts.example.org.root", "services.nginx.virtualHosts.<name>.root"),
        ('services.nginx.virtualHosts."example.org".root', "services.nginx.virtualHosts.<name>.root"),
        (
            "services.nginx.virtualHosts.example.org.locations./api.root",
            "services.nginx.virtualHosts.<name>.locations.<name>.root",
        ),
        (
            "networking.interfaces.eth0.ipv4.addresses.0.address",
            "networking.interfaces.<name>.ipv4.addresses.*.address",
        ),
        ("users.users.alice.openssh.authorizedKeys.keys", "users.users.<name>.openssh.authorizedKeys.keys"),
        ("services.nginx.enable", "services.nginx.enable"),
    ],
)
def test_resolve_finds_the_declaration(concrete: str, declared: str) -> None:
    assert resolve(concrete, NGINX) == declared


def test_resolve_prefers_the_most_specific_declaration_whatever_the_order() -> None:
    patterns = ["a.<x>.<y>", "a.<x>.c", "a.b.<y>", "a.b.c"]
    for _ in range(5):
        random.shuffle(patterns)
        assert resolve("a.b.c", patterns) == "a.b.c"
        assert resolve("a.b.d", patterns) == "a.b.<y>"  # later placeholder beats earlier one
        assert resolve("a.z.c", patterns) == "a.<x>.c"
        assert resolve("a.z.d", patterns) == "a.<x>.<y>"


def test_resolve_answers_none_for_what_nothing_declares() -> None:
    assert resolve("services.nope.enable", NGINX) is None
    assert resolve("services.nginx.virtualHosts.example", NGINX) is None
    assert resolve("services.nginx.virtualHosts.example.root", []) is None


def test_resolution_stays_fast_for_a_crafted_name() -> None:
    """Every split was tried recursively: 6 placeholders over 45 segments took seconds."""
    started = time.perf_counter()
    concrete = "deep." + ".".join(["x"] * 400) + ".z"
    assert resolve(concrete, ["deep.<a>.<b>.<c>.<d>.<e>.<f>.z"]) == "deep.<a>.<b>.<c>.<d>.<e>.<f>.z"
    assert resolve(concrete + ".nope", ["deep.<a>.<b>.<c>.<d>.<e>.<f>.z"]) is None
    assert time.perf_counter() - started < 0.5
