"""Parser for an options.json as NixOS, Home Manager and nix-darwin build it for their manuals."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ai_stack.docs_search.nix_values import RenderedValue, markdown_text, render_value
from ai_stack.docs_search.option_names import split_option_name
from ai_stack.docs_search.parsers.json_source import json_object
from ai_stack.docs_search.records import OptionRecord
from ai_stack.docs_search.sections import ParsedSource, Section

# Options whose default is the release the whole file documents (NixOS, Home Manager).
RELEASE_OPTIONS = ("system.nixos.release", "home.version.release")
_URL_PREFIXES = ("https://", "http://")
# The NixOS manual's Markdown dialect: {option}`x` roles, [](#opt-x) links to options, ::: admonitions.
_ROLE = re.compile(r"\{(?:option|command|env|file|manpage|var)\}(`[^`]*`)")
_OPTION_LINK = re.compile(r"\[\]\(#opt-([^)\s]+)\)")
_ADMONITION_START = re.compile(r"^::: \{\.(\w+)\}[ \t]*$", re.MULTILINE)
_ADMONITION_END = re.compile(r"\n?^:::[ \t]*$\n?", re.MULTILINE)


def parse_options(path: Path) -> ParsedSource:
    """One OptionRecord and one Section per option, sorted by name; bad entries go to `errors`."""
    document, problem = json_object(path, "options")
    if document is None:
        return ParsedSource(errors=[str(problem)])
    parsed = ParsedSource()
    for name in sorted(document):
        entry = document[name]
        problem = _entry_problem(entry)
        if problem:
            parsed.errors.append(f"{path}: option {name}: {problem}")
            continue
        record = option_record(name, entry)
        parsed.options.append(record)
        parsed.sections.append(option_section(record, entry))
    parsed.version = _release(document)
    return parsed


def _entry_problem(entry: Any) -> str | None:
    if not isinstance(entry, dict):
        return f"expected an object, got {type(entry).__name__}"
    if not isinstance(entry.get("type"), str):
        return "has no type"
    return None


def option_record(name: str, entry: dict[str, Any]) -> OptionRecord:
    """The stored record of one well-formed options.json entry."""
    default = _value(entry, "default")
    example = _value(entry, "example")
    related = entry.get("relatedPackages")
    return OptionRecord(
        name=name,
        type=entry["type"],
        description=markdown_text(entry.get("description")).strip(),
        default=None if default is None else default.text,
        example=None if example is None else example.text,
        declarations=[_declaration_target(d) for d in _declarations(entry)],
        read_only=bool(entry.get("readOnly", False)),
        related_packages=None if related is None else markdown_text(related).strip() or None,
    )


def option_section(record: OptionRecord, entry: dict[str, Any]) -> Section:
    """The searchable section of one option: description first, then its facts."""
    return Section(
        key=f"option:{record.name}",
        title=record.name,
        heading_path=tuple(split_option_name(record.name)),
        url=next((d for d in record.declarations if d.startswith(_URL_PREFIXES)), ""),
        text=option_text(record, _value(entry, "default"), _value(entry, "example"), _declarations(entry)),
        metadata={"option": record.name, "type": record.type, "read_only": record.read_only},
    )


def option_text(
    record: OptionRecord,
    default: RenderedValue | None,
    example: RenderedValue | None,
    declarations: list[str | dict[str, Any]],
) -> str:
    """A Markdown body: description, Type, Default, Example, related packages, Declared in, Read-only."""
    description = readable_markdown(record.description)
    blocks = [description] if description else []
    blocks.append(f"Type: {record.type}")
    blocks += [_value_block("Default", default), _value_block("Example", example)]
    if record.related_packages:
        blocks.append(f"Related packages:\n\n{record.related_packages}")
    if declarations:
        blocks.append("Declared in: " + ", ".join(_declaration_link(d) for d in declarations))
    if record.read_only:
        blocks.append("Read-only.")
    return "\n\n".join(b for b in blocks if b)


def readable_markdown(text: str) -> str:
    """Plain Markdown for the manual's dialect, which search and readers would otherwise see raw."""
    text = _ROLE.sub(r"\1", text)
    text = _OPTION_LINK.sub(lambda m: f"`{m[1].replace('_name_', '<name>')}`", text)
    text = _ADMONITION_START.sub(lambda m: f"{m[1].capitalize()}:", text)
    return _ADMONITION_END.sub("\n", text).strip()


def _value(entry: dict[str, Any], field: str) -> RenderedValue | None:
    # An absent key means "no default"; a present null is the Nix value null.
    return render_value(entry[field]) if field in entry else None


def _value_block(label: str, value: RenderedValue | None) -> str:
    if value is None:
        return ""
    if value.kind == "markdown":
        return f"{label}: {value.text.strip()}"
    if "\n" in value.text:
        return f"{label}:\n\n```nix\n{value.text}\n```"
    return f"{label}: `{value.text}`"


def _declarations(entry: dict[str, Any]) -> list[str | dict[str, Any]]:
    found = entry.get("declarations")
    if not isinstance(found, list):
        return []
    return [d for d in found if isinstance(d, str) or (isinstance(d, dict) and "name" in d)]


def _declaration_target(declaration: str | dict[str, Any]) -> str:
    """Where a declaration can be read: Home Manager's `{name, url}` gives a URL, NixOS a path."""
    if isinstance(declaration, str):
        return declaration
    return str(declaration.get("url") or declaration["name"])


def _declaration_link(declaration: str | dict[str, Any]) -> str:
    if isinstance(declaration, dict) and declaration.get("url"):
        return f"[{declaration['name']}]({declaration['url']})"
    return f"`{declaration if isinstance(declaration, str) else declaration['name']}`"


def _release(document: dict[str, Any]) -> str | None:
    """The release the options belong to, when the file declares it as a plain string default."""
    for name in RELEASE_OPTIONS:
        entry = document.get(name)
        if not isinstance(entry, dict) or "default" not in entry:
            continue
        text = render_value(entry["default"]).text.strip()
        if len(text) > 2 and text[0] == text[-1] == '"':
            return text[1:-1]
    return None
