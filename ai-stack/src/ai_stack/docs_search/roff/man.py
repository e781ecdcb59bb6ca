"""The man(7) macro package, read into a PageBuilder (pure).

Supported: .TH .SH .SS .PP/.P/.LP/.HP .TP/.TQ .IP .RS/.RE, the font macros (.B .I .BR .IR .RB
.BI .IB .RI .SB .SM), .nf/.fi .EX/.EE .br .sp, .UR/.UE .MT/.ME .OP .SY/.YS .MR, and
docbook-xsl's `.PP` + tag line + `.RS 4` option layout. Fonts are dropped; tables (tbl) come out
as their raw cells, equations (eqn) and pictures (pic) as whatever text they hold.
"""

from __future__ import annotations

from collections.abc import Callable

from ai_stack.docs_search.roff.escapes import expand, split_arguments
from ai_stack.docs_search.roff.page import Page, PageBuilder
from ai_stack.docs_search.roff.reader import Request, RoffReader, Text

# Alternating-font macros print their arguments joined without spaces.
_ALTERNATING = frozenset({"BR", "BI", "IB", "IR", "RB", "RI"})
_FONT = frozenset({"B", "I", "SB", "SM"})
_PARAGRAPH = frozenset({"PP", "P", "LP", "HP"})  # back to the left margin: ends a .TP item
_SPACE = frozenset({"sp", "Sp"})  # vertical space only: a .TP item's body goes on
# Macros read as this module means them even when the page defines its own version.
NATIVE = frozenset(
    {"TH", "SH", "SS", "PP", "P", "LP", "HP", "TP", "TQ", "IP", "RS", "RE", "nf", "fi", "EX", "EE", "br",
     "sp", "UR", "UE", "MT", "ME", "OP", "SY", "YS", "MR", *_ALTERNATING, *_FONT}
)  # fmt: skip


class ManInterpreter:
    """Reads man(7) requests into a PageBuilder."""

    def __init__(self, source: str) -> None:
        self._reader = RoffReader(source, NATIVE)
        self._out = PageBuilder()
        self._depth = 0  # .RS nesting
        self._link: list[str] = []  # .UR/.MT target while its text is read
        self._handlers: dict[str, Callable[[list[str]], None]] = {
            "TH": self._title,
            "SH": lambda args: self._heading(args, sub=False),
            "SS": lambda args: self._heading(args, sub=True),
            "TP": lambda args: self._out.expect_tag(self._depth),
            "TQ": lambda args: self._out.extra_tag(),
            "IP": self._indented,
            "RS": self._indent,
            "RE": self._outdent,
            "nf": lambda args: self._out.literal(True),
            "EX": lambda args: self._out.literal(True),
            "fi": lambda args: self._out.literal(False),
            "EE": lambda args: self._out.literal(False),
            "Vb": lambda args: self._out.literal(True),
            "Ve": lambda args: self._out.literal(False),
            "br": lambda args: self._out.line_break(),
            "UR": self._link_start,
            "MT": self._link_start,
            "UE": self._link_end,
            "ME": self._link_end,
            "OP": lambda args: self._out.text("[" + " ".join(args) + "]"),
            "SY": self._synopsis,
            "YS": lambda args: self._out.paragraph(),
            "MR": self._reference,
        }
        self._heading_next: str | None = None  # `.SH` alone: the next text line is the heading

    def read(self) -> Page:
        for line in self._reader:
            if isinstance(line, Text):
                self._line(line.line)
            else:
                self._request(line)
        return self._out.finish()

    def _line(self, raw: str) -> None:
        if self._heading_next and raw.strip():
            self._heading([expand(raw, self._reader.strings)], sub=self._heading_next == "SS")
            self._heading_next = None
            return
        if not raw.strip():
            self._out.paragraph()  # a blank line is a paragraph break in man pages
            return
        self._text(raw)

    def _text(self, raw: str) -> None:
        self._out.text(expand(raw, self._reader.strings))

    def _request(self, request: Request) -> None:
        name = request.name
        args = [expand(a, self._reader.strings) for a in split_arguments(request.rest)]
        if name in _FONT:
            self._text_args(" ".join(args))
        elif name in _ALTERNATING:
            self._text_args("".join(args))
        elif name in _PARAGRAPH:
            self._out.paragraph(self._depth)
        elif name in _SPACE:
            self._out.paragraph()
        elif name in self._handlers:
            self._handlers[name](args)

    def _text_args(self, text: str) -> None:
        # `.B` alone sets the font of the next line: that line arrives as text on its own.
        if text:
            self._out.text(text)

    def _title(self, args: list[str]) -> None:
        page = self._out.page
        if args and not page.name:
            page.name = args[0]
            page.section = args[1] if len(args) > 1 else ""

    def _heading(self, args: list[str], *, sub: bool) -> None:
        heading = " ".join(args)
        if not heading:
            self._heading_next = "SS" if sub else "SH"
            return
        self._depth = 0
        if sub:
            self._out.subsection(heading)
        else:
            self._out.section(heading)

    def _synopsis(self, args: list[str]) -> None:
        self._out.paragraph()
        self._text_args(" ".join(args))

    def _reference(self, args: list[str]) -> None:
        if args:
            self._out.text(f"{args[0]}({args[1] if len(args) > 1 else ''}){''.join(args[2:])}")

    def _indented(self, args: list[str]) -> None:
        self._out.item(args[0] if args else "", self._depth)

    def _indent(self, args: list[str]) -> None:
        self._out.paragraph_as_tag(self._depth)
        self._out.flush()
        self._depth += 1

    def _outdent(self, args: list[str]) -> None:
        self._depth = max(0, self._depth - 1)
        self._out.outdent(self._depth)

    def _link_start(self, args: list[str]) -> None:
        self._link.append(args[0] if args else "")

    def _link_end(self, args: list[str]) -> None:
        target = self._link.pop() if self._link else ""
        if target:
            self._out.text(f"<{target}>{''.join(args)}")


def read_man(source: str) -> Page:
    """A man(7) page's parts."""
    return ManInterpreter(source).read()
