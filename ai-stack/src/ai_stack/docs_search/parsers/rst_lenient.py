"""A docutils reStructuredText parser that reads Sphinx sources leniently and safely (pure).

Sphinx adds directives (`code-block`, `versionadded`, `py:function`, ...) and roles (`:ref:`,
`:func:`, ...) that plain docutils reports as errors and drops. This parser keeps their text instead:
code directives become literal blocks, other unknown directives a container with their argument and
content, unknown roles their displayed text. It changes no docutils registry: the leniency lives in
this parser's own state classes and inliner, so other docutils users in the process are unaffected.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

from docutils import frontend, nodes, utils
from docutils.parsers import rst
from docutils.parsers.rst import Directive, directives, roles, states

CODE_DIRECTIVES = frozenset(
    {"code-block", "sourcecode", "doctest", "testcode", "testoutput", "ipython", "productionlist"}
)
# Directives whose content is build instructions, file references or an index, not prose.
IGNORED_DIRECTIVES = frozenset(
    {
        "toctree", "index", "highlight", "literalinclude", "tabularcolumns", "module", "currentmodule",
        "autosummary", "sectionauthor", "moduleauthor", "codeauthor", "todolist", "graphviz",
        "inheritance-diagram", "testsetup", "testcleanup",
    }
)  # fmt: skip
# Directives whose argument is a build condition (`.. only:: html`): only their content is text.
CONDITION_DIRECTIVES = frozenset({"only", "ifconfig"})
# Object descriptions: their argument is a signature, shown as code.
DESCRIPTION_DIRECTIVES = frozenset(
    {
        "function", "class", "method", "attribute", "data", "exception", "decorator", "describe",
        "object", "option", "envvar", "cmdoption", "program", "confval", "staticmethod",
        "classmethod", "property", "type", "macro", "member", "var", "struct", "enum",
    }
)  # fmt: skip
_VERSION_LABELS = {
    "versionadded": "New in version",
    "versionchanged": "Changed in version",
    "deprecated": "Deprecated since version",
    "versionremoved": "Removed in version",
}
_CODE_ROLES = frozenset(
    {
        "func", "meth", "class", "mod", "attr", "data", "const", "exc", "obj", "option", "envvar",
        "file", "samp", "command", "program", "kbd", "makevar", "regexp", "token", "type", "member",
        "var", "macro", "struct", "enum", "expr", "texpr",
    }
)  # fmt: skip


class _AnyOptions(dict[str, Any]):
    """An option spec that takes any option, so an unknown directive never fails on its options."""

    def __missing__(self, key: str) -> Any:
        return directives.unchanged


def _option_spec() -> _AnyOptions:
    # Non-empty: docutils only parses an options block when the spec is truthy.
    return _AnyOptions({"class": directives.class_option})


class _CodeDirective(Directive):  # type: ignore[misc]
    """`code-block` and its kin: the content, verbatim, as a literal block in the argument's language."""

    optional_arguments = 1
    final_argument_whitespace = True
    has_content = True
    option_spec = _option_spec()

    def run(self) -> list[nodes.Node]:
        code = "\n".join(self.content)
        block = nodes.literal_block(code, code)
        if self.arguments:
            block["language"] = self.arguments[0].split()[0]
        return [block]


class _IgnoredDirective(_CodeDirective):
    """A directive whose content is not documentation text."""

    def run(self) -> list[nodes.Node]:
        return []


class _ProseDirective(_CodeDirective):
    """Any other unknown directive: its argument as a paragraph (code for signatures), then its content."""

    def run(self) -> list[nodes.Node]:
        container = nodes.container()
        shown = self.arguments and self.name not in CONDITION_DIRECTIVES
        argument = " ".join(self.arguments[0].split()) if shown else ""
        if argument and _is_description(self.name):
            container += nodes.paragraph("", "", nodes.literal(argument, argument))
        elif label := _VERSION_LABELS.get(self.name):
            version, _, note = argument.partition(" ")
            container += self._paragraph(f"{label} {version}: {note}" if note else f"{label} {version}.")
        elif argument:
            container += self._paragraph(argument)
        self.state.nested_parse(self.content, self.content_offset, container)
        return [container]

    def _paragraph(self, text: str) -> nodes.paragraph:
        inline, _messages = self.state.inline_text(text, self.lineno)
        return nodes.paragraph(text, "", *inline)


def _is_description(name: str) -> bool:
    return ":" in name or name in DESCRIPTION_DIRECTIVES


def _fallback_directive(name: str) -> type[Directive]:
    domainless = name.rpartition(":")[2]
    if name in CODE_DIRECTIVES:
        return _CodeDirective
    if domainless in IGNORED_DIRECTIVES or domainless.startswith("auto"):
        return _IgnoredDirective
    return _ProseDirective


class _LenientState:
    """Mixed into every docutils state: unknown directives run a fallback, unknown options are taken."""

    # docutils keeps spare nested state machines in a list on its base state class; these states
    # keep their own, so no machine of theirs serves another parser and none of another serves them.
    nested_sm_cache: list[Any] = []

    def __init__(self, state_machine: Any, debug: bool = False) -> None:
        super().__init__(state_machine, debug)  # type: ignore[call-arg]
        # Nested parses (section bodies, list items, directive content) use these states too.
        self.nested_sm_kwargs = {"state_classes": lenient_states(), "initial_state": "Body"}

    def unknown_directive(self, type_name: str) -> Any:
        state: Any = self
        # docutils hands this hook only the name; the directive's own pattern, matched again on the
        # current line (the directive's first), gives run_directive the match it needs.
        pattern = {method.__name__: regex for method, regex in state.explicit.constructs}["directive"]
        match = pattern.match(state.state_machine.line)
        if match is None:  # not expected; docutils' own handling reports it and the renderer drops that
            return super().unknown_directive(type_name)  # type: ignore[misc]
        return state.run_directive(_fallback_directive(type_name), match, type_name, {})

    def run_directive(self, directive: Any, match: Any, type_name: str, option_presets: Any) -> Any:
        # Sphinx adds options to docutils' own directives (`code-block:: :linenos:`); take them all.
        if isinstance(directive, type) and getattr(directive, "option_spec", None):
            directive = _any_options(directive)
        return super().run_directive(directive, match, type_name, option_presets)  # type: ignore[misc]


@functools.cache
def _any_options(directive: type[Directive]) -> type[Directive]:
    if isinstance(directive.option_spec, _AnyOptions):
        return directive
    return type(directive.__name__, (directive,), {"option_spec": _AnyOptions(directive.option_spec)})


def _interpreted(
    inliner: Any, rawsource: str, text: str, role: str, lineno: int
) -> tuple[list[Any], list[Any]]:
    """Inliner.interpreted, except that an unknown role shows its text instead of an error."""
    role_fn, messages = roles.role(role, inliner.language, lineno, inliner.reporter)
    if role_fn:
        result, more = role_fn(role, rawsource, text, lineno, inliner)
        return result, messages + more
    shown = _role_text(utils.unescape(text))
    if ":" in role or role in _CODE_ROLES:
        return [nodes.literal(rawsource, shown)], []
    return [nodes.inline(rawsource, shown)], []


def _lenient_inliner() -> Any:
    """An Inliner whose unknown roles show their text: `:ref:`Title <x>`` reads "Title"."""
    # docutils builds its patterns from vars(type(inliner)), so the subclass repeats the base's strings.
    namespace: dict[str, Any] = {k: v for k, v in vars(states.Inliner).items() if isinstance(v, str)}
    namespace["interpreted"] = _interpreted
    return type("Inliner", (states.Inliner,), namespace)()


def _role_text(text: str) -> str:
    """What Sphinx shows for a role's target: an explicit title, else the target, `~` shortened."""
    title, bracket, _target = text.rpartition("<")
    if bracket and text.rstrip().endswith(">") and title.strip():
        return " ".join(title.split())
    target = text.lstrip("!")
    return target.lstrip("~").rpartition(".")[2] if target.startswith("~") else target


@functools.cache
def lenient_states() -> tuple[type, ...]:
    """docutils' state classes, each with `_LenientState` mixed in (names kept: docutils looks them up)."""
    return tuple(type(state.__name__, (_LenientState, state), {}) for state in states.state_classes)


class LenientRstParser(rst.Parser):  # type: ignore[misc]
    """The reStructuredText parser with Sphinx's extensions read as text (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__(inliner=_lenient_inliner())
        self.state_classes = lenient_states()


def safe_settings() -> Any:
    """Parser settings for untrusted input: no file or URL inclusion, no raw output, no reports."""
    # Building docutils' defaults costs as much as parsing a page: build once, copy per document.
    return copy.copy(_safe_settings_template())


@functools.cache
def _safe_settings_template() -> Any:
    settings = frontend.get_default_settings(rst.Parser)
    settings.report_level = 5  # nothing reaches a stream
    settings.halt_level = 5  # no message ever raises
    settings.warning_stream = False
    settings.file_insertion_enabled = False
    settings.raw_enabled = False
    settings.syntax_highlight = "none"
    settings.character_level_inline_markup = False
    settings.pep_references = False
    settings.rfc_references = False
    return settings
