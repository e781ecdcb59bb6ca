"""Parser for package listings: `nix-env -qaP --json --meta` and `nix search --json` output."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ai_stack.docs_search.parsers.json_source import json_object
from ai_stack.docs_search.records import PackageRecord
from ai_stack.docs_search.sections import ParsedSource, Section

# `nix search` names flake outputs; the attribute people use is what follows the system.
_FLAKE_PREFIX = re.compile(r"^(?:legacyPackages|packages)\.[^.]+\.")
# builtins.parseDrvName: the version starts at the first dash followed by a non-letter.
_DRV_VERSION = re.compile(r"-(?=[^A-Za-z])")
_LICENSE_FIELDS = ("spdxId", "fullName", "shortName")


def parse_packages(path: Path) -> ParsedSource:
    """One PackageRecord and one Section per package, sorted by attribute; bad entries go to `errors`."""
    document, problem = json_object(path, "packages")
    if document is None:
        return ParsedSource(errors=[str(problem)])
    parsed = ParsedSource()
    seen: dict[str, str] = {}
    # By short attribute, so `nix search` output sorts as people read it; the full key breaks ties.
    for key in sorted(document, key=lambda k: (short_attr(k), k)):
        entry = document[key]
        if not isinstance(entry, dict):
            parsed.errors.append(f"{path}: package {key}: expected an object, got {type(entry).__name__}")
            continue
        record = package_record(key, entry)
        if record.attr in seen:
            parsed.errors.append(f"{path}: package {key}: the attribute of {seen[record.attr]}, kept")
            continue
        seen[record.attr] = key
        parsed.packages.append(record)
        parsed.sections.append(package_section(record, key))
    return parsed


def package_record(key: str, entry: dict[str, Any]) -> PackageRecord:
    """The record of one listing entry, whichever of the two formats it comes from."""
    meta = entry.get("meta")
    meta = meta if isinstance(meta, dict) else {}
    pname, version = _name_and_version(entry)
    main_program = meta.get("mainProgram")
    return PackageRecord(
        attr=short_attr(key),
        pname=pname,
        version=version,
        description=_text(meta.get("description", entry.get("description"))),
        long_description=_text(meta.get("longDescription")),
        homepage=_strings(meta.get("homepage")),
        license=licenses(meta.get("license")),
        platforms=[p for p in _as_list(meta.get("platforms")) if isinstance(p, str)],
        main_program=main_program if isinstance(main_program, str) and main_program else None,
    )


def package_section(record: PackageRecord, key: str) -> Section:
    """The searchable section of one package; the full flake attribute is kept when it was shortened."""
    metadata: dict[str, Any] = {"attr": record.attr, "pname": record.pname, "version": record.version}
    if key != record.attr:
        metadata["full_attr"] = key
    return Section(
        key=f"package:{record.attr}",
        title=record.attr,
        heading_path=(record.attr,),
        url=record.homepage[0] if record.homepage else "",
        text=package_text(record),
        metadata=metadata,
    )


def package_text(record: PackageRecord) -> str:
    """Description, long description, then one line per fact."""
    facts = [
        f"Version: {record.version}" if record.version else "",
        f"License: {', '.join(record.license)}" if record.license else "",
        f"Homepage: {' '.join(record.homepage)}" if record.homepage else "",
        f"Main program: {record.main_program}" if record.main_program else "",
        f"Platforms: {len(record.platforms)}" if record.platforms else "",
    ]
    blocks = [record.description, record.long_description.strip(), "\n".join(f for f in facts if f)]
    return "\n\n".join(b for b in blocks if b)


def short_attr(key: str) -> str:
    """`legacyPackages.x86_64-linux.hello` → `hello`; nix-env attributes are kept as they are."""
    return _FLAKE_PREFIX.sub("", key, count=1) or key


def licenses(value: Any) -> list[str]:
    """SPDX ids where known, else full or short names; meta.license is one, a list, or a bare string."""
    names: list[str] = []
    for item in _as_list(value):
        if isinstance(item, str) and item:
            names.append(item)
        elif isinstance(item, dict):
            name = next((item[f] for f in _LICENSE_FIELDS if isinstance(item.get(f), str) and item[f]), None)
            if name:
                names.append(name)
    return names


def _name_and_version(entry: dict[str, Any]) -> tuple[str, str]:
    pname, version = _text(entry.get("pname")), _text(entry.get("version"))
    name = _text(entry.get("name"))
    if pname or not name:
        return pname, version
    # Older nix-env output has only `name`, e.g. `hello-2.12.1`.
    if version and name.endswith(f"-{version}"):
        return name[: -len(version) - 1], version
    parts = _DRV_VERSION.split(name, maxsplit=1)
    return parts[0], version or (parts[1] if len(parts) > 1 else "")


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _strings(value: Any) -> list[str]:
    return [v for v in _as_list(value) if isinstance(v, str) and v]


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""
