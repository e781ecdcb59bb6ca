"""JSON values of an options.json rendered as Nix."""

from __future__ import annotations

import pytest
from ai_stack.docs_search.nix_values import markdown_text, render_value, to_nix


@pytest.mark.parametrize(
    ("value", "nix"),
    [
        (True, "true"),
        (False, "false"),
        (None, "null"),
        (22, "22"),
        (1.5, "1.5"),
        ("plain", '"plain"'),
        ('say "hi" \\ ${x}', '"say \\"hi\\" \\\\ \\${x}"'),
        ("tab\there", '"tab\\there"'),
        ([], "[ ]"),
        ({}, "{ }"),
        ([22, 2222], "[ 22 2222 ]"),
        ({"a": 1, "b": [True]}, "{ a = 1; b = [ true ]; }"),
        ({"with-dash": 1, "x'": 2}, "{ with-dash = 1; x' = 2; }"),
        ({"1st": 1, "a b": 2, "in": 3, "": 4}, '{ "1st" = 1; "a b" = 2; "in" = 3; "" = 4; }'),
    ],
)
def test_plain_values(value: object, nix: str) -> None:
    assert to_nix(value) == nix


def test_long_and_nested_values_go_over_several_lines() -> None:
    value = {"hostKeys": [{"path": "/etc/ssh/ssh_host_ed25519_key", "type": "ed25519", "bits": 4096}]}
    assert to_nix(value) == (
        "{\n"
        "  hostKeys = [\n"
        "    {\n"
        '      path = "/etc/ssh/ssh_host_ed25519_key";\n'
        '      type = "ed25519";\n'
        "      bits = 4096;\n"
        "    }\n"
        "  ];\n"
        "}"
    )
    assert to_nix({"short": [{"a": 1}]}) == "{ short = [ { a = 1; } ]; }"


def test_multi_line_strings_are_indented_strings_with_their_escapes() -> None:
    assert to_nix("a\nb ${x} ''y\n") == "''\n  a\n  b ''${x} '''y\n''"
    assert to_nix("a\nb") == "''\n  a\n  b''"  # no final newline: the string ends on its last line
    assert to_nix({"text": "a\nb\n"}) == "{\n  text = ''\n    a\n    b\n  '';\n}"


def test_literal_wrappers_keep_their_text_and_say_what_it_is() -> None:
    expression = render_value({"_type": "literalExpression", "text": "pkgs.openssh"})
    assert (expression.text, expression.kind) == ("pkgs.openssh", "nix")
    assert render_value({"_type": "literalExample", "text": "[ 1 ]"}).kind == "nix"
    markdown = render_value({"_type": "literalMD", "text": "the attribute name"})
    assert (markdown.text, markdown.kind) == ("the attribute name", "markdown")
    assert (
        render_value({"_type": "somethingElse", "text": "x"}).text
        == '{ _type = "somethingElse"; text = "x"; }'
    )


def test_descriptions_unwrap_md_doc() -> None:
    assert markdown_text("plain") == "plain"
    assert markdown_text({"_type": "mdDoc", "text": "wrapped"}) == "wrapped"
    assert markdown_text(None) == ""
