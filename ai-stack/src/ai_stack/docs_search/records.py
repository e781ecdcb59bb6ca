"""Catalog records: a NixOS-style option and a nix package, as stored and as returned by the API."""

from __future__ import annotations

from pydantic import BaseModel, Field


class OptionRecord(BaseModel):
    """One option of an options.json (NixOS, Home Manager, nix-darwin), values rendered readably."""

    name: str = Field(description="Full option name; `<name>` and `*` are placeholders of attrsOf/listOf.")
    type: str = Field("", description="The option's type as the module system describes it.")
    description: str = Field("", description="Markdown description.")
    default: str | None = Field(None, description="Default, rendered as Nix (literalExpression kept as is).")
    example: str | None = Field(None, description="Example, rendered as Nix or Markdown.")
    declarations: list[str] = Field(default_factory=list, description="Files (or URLs) declaring it.")
    read_only: bool = False
    related_packages: str | None = Field(None, description="relatedPackages, rendered, when present.")


class PackageRecord(BaseModel):
    """One package of a `nix-env -qaP --json --meta` or `nix search --json` listing."""

    attr: str = Field(description="Attribute path, e.g. `nixpkgs.hello` or `hello`.")
    pname: str = ""
    version: str = ""
    description: str = ""
    long_description: str = ""
    homepage: list[str] = Field(default_factory=list)
    license: list[str] = Field(default_factory=list, description="SPDX ids or full names.")
    platforms: list[str] = Field(default_factory=list)
    main_program: str | None = None
