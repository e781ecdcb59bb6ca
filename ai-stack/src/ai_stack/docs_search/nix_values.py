"""Render the values of an options.json (`default`, `example`) as the Nix a person would write (pure).

Newer NixOS manuals store every value as `{"_type": "literalExpression", "text": ...}`; older ones,
and some Home Manager and nix-darwin builds, store plain JSON, which is rendered here the way
`lib.generators.toPretty` would: `[ a b ]`, `{ a = 1; }`, multi-line strings as `''` strings.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_'-]*")
# Reserved words cannot be attribute names without quotes.
KEYWORDS = frozenset({"if", "then", "else", "assert", "with", "let", "in", "rec", "inherit", "or"})
ONE_LINE_WIDTH = 72
INDENT = "  "
# `_type`s whose text is already Nix; literalDocBook is DocBook XML but is shown as written too.
_NIX_LITERALS = frozenset({"literalExpression", "literalExample", "literalDocBook"})
_MARKDOWN_LITERALS = frozenset({"literalMD", "mdDoc"})


@dataclass(frozen=True)
class RenderedValue:
    """A value as text, and whether that text is Nix (shown as code) or Markdown (shown as prose)."""

    text: str
    kind: Literal["nix", "markdown"]


def render_value(value: Any) -> RenderedValue:
    """A default or example as Nix, or as Markdown when the module author wrote it as `literalMD`."""
    if isinstance(value, dict) and isinstance(value.get("text"), str):
        if value.get("_type") in _NIX_LITERALS:
            return RenderedValue(value["text"], "nix")
        if value.get("_type") in _MARKDOWN_LITERALS:
            return RenderedValue(value["text"], "markdown")
    return RenderedValue(to_nix(value), "nix")


def markdown_text(value: Any) -> str:
    """A description: plain Markdown, or the `{"_type": "mdDoc", "text": ...}` wrapper of NixOS 23.05."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("text"), str):
        return str(value["text"])
    return "" if value is None else str(value)


def to_nix(value: Any, depth: int = 0) -> str:
    """A JSON value as a Nix expression; long or nested lists and sets go over several lines."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, str):
        return nix_string(value, depth)
    if isinstance(value, list):
        return _nix_list(value, depth)
    if isinstance(value, dict):
        return _nix_attrs(value, depth)
    return nix_string(str(value), depth)


def nix_string(text: str, depth: int = 0) -> str:
    """A string literal: `"..."` with Nix escapes, or an indented `''` string when it has newlines."""
    if "\n" in text.rstrip("\n"):
        return _indented_string(text, depth)
    escaped = (
        text.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("${", "\\${")
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\t", "\\t")
    )
    return f'"{escaped}"'


def _indented_string(text: str, depth: int) -> str:
    # Inside '' strings, '' is written ''' and ${ is written ''${; nothing else needs escaping.
    body = text.replace("''", "'''").replace("${", "''${")
    pad = INDENT * (depth + 1)
    lines = [pad + line if line.strip() else "" for line in body.split("\n")]
    # A final newline puts the closing '' on its own line; without one it closes the last line.
    last = lines.pop()
    closing = INDENT * depth if last == "" else last
    return "''\n" + "\n".join([*lines, closing]) + "''"


def attr_name(key: str) -> str:
    """An attribute name, quoted when it is not a plain identifier."""
    if IDENTIFIER.fullmatch(key) and key not in KEYWORDS:
        return key
    return nix_string(key)


def _nix_list(items: list[Any], depth: int) -> str:
    if not items:
        return "[ ]"
    parts = [to_nix(item, depth + 1) for item in items]
    return _layout("[", parts, "]", depth)


def _nix_attrs(attrs: dict[str, Any], depth: int) -> str:
    if not attrs:
        return "{ }"
    parts = [f"{attr_name(str(k))} = {to_nix(v, depth + 1)};" for k, v in attrs.items()]
    return _layout("{", parts, "}", depth)


def _layout(opening: str, parts: list[str], closing: str, depth: int) -> str:
    one_line = f"{opening} {' '.join(parts)} {closing}"
    if "\n" not in one_line and len(one_line) + len(INDENT) * depth <= ONE_LINE_WIDTH:
        return one_line
    inner = INDENT * (depth + 1)
    return "\n".join([opening, *(inner + part for part in parts), INDENT * depth + closing])
