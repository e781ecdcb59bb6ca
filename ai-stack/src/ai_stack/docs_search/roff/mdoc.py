"""The mdoc(7) macro package (BSD pages: .Dd/.Dt/.Sh/.Nm/.Nd), read into a PageBuilder (pure).

Supported: sections (.Sh .Ss), the name line (.Nm .Nd), paragraphs, lists (.Bl/.It/.El, tag
and bullet kinds, .It ... Xo/.Xc tags), displays (.Bd/.Ed, .D1, .Dl), spacing (.Ns .Pf .Ap .Sm),
the inline semantic macros (.Fl .Ar .Op .Xr .Cm .Ic .Pa .Ev ...) and enclosures (.Op .Pq .Dq
.Oo/.Oc ...), .Ex/.Rv -std. Not supported: .Bl -column cell alignment (rows read as text),
reference blocks beyond their words (.Rs %A %T ...), .Bf font blocks, and .St names beyond the
few common standards (others read as their bare flag).
"""

from __future__ import annotations

from ai_stack.docs_search.roff.escapes import GLUE, argument_tokens, expand
from ai_stack.docs_search.roff.mdoc_inline import CALLABLE, PhraseRenderer, Token
from ai_stack.docs_search.roff.page import Page, PageBuilder
from ai_stack.docs_search.roff.reader import Request, RoffReader, Text

_TAG_LISTS = frozenset({"-tag", "-hang", "-ohang", "-inset", "-diag"})
_BULLET_LISTS = frozenset({"-bullet", "-dash", "-hyphen", "-enum"})
NATIVE = frozenset(
    {*CALLABLE, "Dd", "Dt", "Os", "Sh", "Ss", "Pp", "Lp", "Bl", "El", "It", "Bd", "Ed", "D1", "Dl", "Sm",
     "Xo", "Xc", "Nd", "Ex", "Rv", "Bk", "Ek", "Bf", "Ef", "Rs", "Re"}
)  # fmt: skip


class MdocInterpreter:
    """Reads mdoc(7) requests into a PageBuilder."""

    def __init__(self, source: str) -> None:
        self._reader = RoffReader(source, NATIVE)
        self._phrases = PhraseRenderer(self._reader.strings)
        self._out = PageBuilder()
        self._lists: list[str] = []
        self._displays: list[bool] = []  # per open .Bd: whether it is literal
        self._spacing = True
        self._tag: list[str] | None = None  # an `.It ... Xo` tag being collected up to `.Xc`
        self._heading = ""

    def read(self) -> Page:
        for line in self._reader:
            if isinstance(line, Text):
                self._text_line(line.line)
            else:
                self._request(line)
        return self._out.finish()

    def _text_line(self, raw: str) -> None:
        if not raw.strip() and not self._displays[-1:] == [True]:
            self._out.paragraph()
            return
        self._emit(expand(raw, self._reader.strings) + ("" if self._spacing else GLUE))

    def _emit(self, text: str) -> None:
        if self._tag is not None:
            self._tag.append(text)
        else:
            self._out.text(text)

    def _request(self, request: Request) -> None:
        name, tokens = request.name, argument_tokens(request.rest)
        words = [expand(t, self._reader.strings) for t, _ in tokens]
        handler = getattr(self, f"_do_{name.lower()}", None) if name in NATIVE else None
        if handler is not None:
            handler(tokens, words)
        elif name in CALLABLE:
            if name == "Nm" and self._heading == "SYNOPSIS" and self._tag is None:
                self._out.paragraph()
            self._emit(self._render([(name, False), *tokens]))
        elif name == "br":
            self._out.line_break()
        elif name == "sp":
            self._out.paragraph()
        elif name in ("nf", "fi"):
            self._out.literal(name == "nf")

    # -- structure

    def _do_dt(self, tokens: list[Token], words: list[str]) -> None:
        if words and not self._out.page.name:
            self._out.page.name = words[0]
            self._out.page.section = words[1] if len(words) > 1 else ""

    def _do_sh(self, tokens: list[Token], words: list[str]) -> None:
        self._lists, self._displays, self._tag = [], [], None
        self._heading = self._render(tokens).replace(GLUE, "")
        self._out.section(self._heading)

    def _do_ss(self, tokens: list[Token], words: list[str]) -> None:
        self._out.subsection(self._render(tokens).replace(GLUE, ""))

    def _do_pp(self, tokens: list[Token], words: list[str]) -> None:
        self._out.paragraph()

    _do_lp = _do_pp

    def _do_nd(self, tokens: list[Token], words: list[str]) -> None:
        self._emit("- " + self._render(tokens))

    def _do_sm(self, tokens: list[Token], words: list[str]) -> None:
        self._spacing = words[0] != "off" if words else not self._spacing
        if self._spacing:
            self._out.space()

    def _render(self, tokens: list[Token]) -> str:
        return self._phrases.render(tokens, self._spacing)

    # -- lists and displays

    def _do_bl(self, tokens: list[Token], words: list[str]) -> None:
        self._out.paragraph()
        self._lists.append(next((w for w in words if w.startswith("-")), "-item"))

    def _do_el(self, tokens: list[Token], words: list[str]) -> None:
        if self._lists:
            self._lists.pop()
        self._out.outdent(len(self._lists))

    def _do_it(self, tokens: list[Token], words: list[str]) -> None:
        kind, depth = (self._lists[-1] if self._lists else "-tag"), len(self._lists)
        if kind in _BULLET_LISTS:
            self._out.item("1." if kind == "-enum" else "•", depth)
        elif kind == "-column":
            self._out.line_break()
            self._emit(self._render(tokens))
        elif kind in _TAG_LISTS:
            if any(t == ("Xo", False) for t in tokens):
                self._tag = [self._render([t for t in tokens if t != ("Xo", False)])]
            else:
                self._out.item(self._render(tokens).replace(GLUE, ""), depth)
        else:
            self._out.paragraph()

    def _do_xc(self, tokens: list[Token], words: list[str]) -> None:
        if self._tag is not None:
            parts, self._tag = self._tag, None
            self._out.item(_join(parts), len(self._lists))

    def _do_bd(self, tokens: list[Token], words: list[str]) -> None:
        literal = "-literal" in words or "-unfilled" in words
        self._displays.append(literal)
        if literal:
            self._out.literal(True)
        else:
            self._out.paragraph()

    def _do_ed(self, tokens: list[Token], words: list[str]) -> None:
        if self._displays and self._displays.pop():
            self._out.literal(False)
        self._out.paragraph()

    def _do_d1(self, tokens: list[Token], words: list[str]) -> None:
        self._out.paragraph()
        self._emit(self._render(tokens))
        self._out.paragraph()

    def _do_dl(self, tokens: list[Token], words: list[str]) -> None:
        self._out.literal(True)
        self._out.text(self._render(tokens))
        self._out.literal(False)

    def _do_ex(self, tokens: list[Token], words: list[str]) -> None:
        names = [w for w in words if w != "-std"] or [self._phrases.name]
        self._emit(f"The {', '.join(names)} utility exits 0 on success, and >0 if an error occurs.")

    def _do_rv(self, tokens: list[Token], words: list[str]) -> None:
        names = [f"{w}()" for w in words if w != "-std"] or ["The function"]
        self._emit(
            f"The {', '.join(names)} function returns the value 0 if successful; otherwise the value -1 "
            "is returned and the global variable errno is set to indicate the error."
        )


def _join(parts: list[str]) -> str:
    text = ""
    for part in parts:
        glued = not text or text.endswith(GLUE) or part.startswith(GLUE)
        text = text.rstrip(GLUE) + ("" if glued else " ") + part.lstrip(GLUE)
    return text.replace(GLUE, "")


def read_mdoc(source: str) -> Page:
    """An mdoc(7) page's parts."""
    return MdocInterpreter(source).read()
