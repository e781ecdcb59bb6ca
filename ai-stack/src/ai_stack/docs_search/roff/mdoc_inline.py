"""mdoc(7) macro lines as text: the inline macros, their arguments and mdoc's spacing rules (pure)."""

from __future__ import annotations

from collections.abc import Mapping

from ai_stack.docs_search.roff.escapes import GLUE, expand

Token = tuple[str, bool]  # (word, quoted)
_ENCLOSE = {
    "Aq": ("<", ">"), "Bq": ("[", "]"), "Brq": ("{", "}"), "Dq": ('"', '"'), "Op": ("[", "]"),
    "Pq": ("(", ")"), "Ql": ("'", "'"), "Qq": ('"', '"'), "Sq": ("'", "'"),
}  # fmt: skip
_OPEN = {"Ao": "<", "Bo": "[", "Bro": "{", "Do": '"', "Oo": "[", "Po": "(", "Qo": '"', "So": "'"}
_CLOSE = {"Ac": ">", "Bc": "]", "Brc": "}", "Dc": '"', "Oc": "]", "Pc": ")", "Qc": '"', "Sc": "'"}
_SYSTEMS = {
    "At": "AT&T UNIX", "Bsx": "BSD/OS", "Bx": "BSD", "Dx": "DragonFly", "Fx": "FreeBSD",
    "Nx": "NetBSD", "Ox": "OpenBSD", "Ux": "UNIX",
}  # fmt: skip
_STANDARDS = {
    "-p1003.1": "IEEE Std 1003.1 (POSIX.1)", "-p1003.1-2008": "IEEE Std 1003.1-2008 (POSIX.1)",
    "-p1003.2": "IEEE Std 1003.2 (POSIX.2)", "-isoC": "ISO/IEC 9899:1990 (ISO C90)",
    "-isoC-99": "ISO/IEC 9899:1999 (ISO C99)", "-ansiC": "ANSI X3.159-1989 (ANSI C89)",
    "-xpg4": "X/Open Portability Guide Issue 4 (XPG4)",
    "-susv2": "Version 2 of the Single UNIX Specification",
    "-susv3": "Version 3 of the Single UNIX Specification",
    "-susv4": "Version 4 of the Single UNIX Specification",
}  # fmt: skip
# Font-only macros: their arguments read as plain words.
_PLAIN = frozenset(
    "Ad An Cd Cm Dv Em Er Ev Fa Fd Fr Ft Ic In Lb Li Ms Mt No Ot Pa Sx Sy Tn Va Vt Tg %A %B %C %D "
    "%I %J %N %O %P %Q %R %T %U %V".split()
)
CALLABLE = frozenset(
    {*_ENCLOSE, *_OPEN, *_CLOSE, *_SYSTEMS, *_PLAIN, "Fl", "Ar", "Xr", "Ns", "Pf", "Nm", "Fn", "Ta", "Ap",
     "St", "Lk", "Eo", "Ec"}
)  # fmt: skip
_MACRO_TOKENS = frozenset((name, False) for name in CALLABLE)
CLOSING_PUNCTUATION = frozenset({".", ",", ":", ";", ")", "]", "?", "!"})
_OPENING_PUNCTUATION = frozenset({"(", "["})


class _Words:
    """Words of one output line, with mdoc's spacing: punctuation and `Ns` join without a space."""

    def __init__(self, spacing: bool) -> None:
        self._parts: list[str] = []
        self._nospace = False
        self._spacing = spacing
        self.glued_before = False  # the line starts by joining the previous one

    def add(self, text: str) -> None:
        if not text:
            return
        if not self._parts and self._nospace:
            self.glued_before = True
        space = "" if not self._parts or self._nospace or not self._spacing else " "
        self._parts.append(space + text)
        self._nospace = False

    def attach(self, text: str) -> None:
        self.glue()
        self.add(text)

    def glue(self) -> None:
        self._nospace = True

    def text(self) -> str:
        joined = "".join(self._parts)
        if not joined:
            return ""
        tail = GLUE if self._nospace or not self._spacing else ""
        return (GLUE if self.glued_before else "") + joined + tail


class PhraseRenderer:
    """Renders the words of mdoc macro lines; `name` is the page's `.Nm`, learnt from its first use."""

    def __init__(self, strings: Mapping[str, str]) -> None:
        self._strings = strings
        self.name = ""

    def render(self, tokens: list[Token], spacing: bool = True) -> str:
        """One macro line's words as text (GLUE marks a join with the line before or after)."""
        out = _Words(spacing)
        closers: list[str] = []
        index = 0
        while index < len(tokens):
            word, quoted = tokens[index]
            index += 1
            if not quoted and word in CALLABLE:
                index = self._inline(word, tokens, index, out, closers)
            elif not quoted and word in CLOSING_PUNCTUATION:
                if closers and all(t in CLOSING_PUNCTUATION for t, _ in tokens[index:]):
                    while closers:
                        out.attach(closers.pop())
                out.attach(word)
            elif not quoted and word in _OPENING_PUNCTUATION:
                out.add(word)
                out.glue()
            else:
                out.add(expand(word, self._strings))
        while closers:
            out.attach(closers.pop())
        return out.text()

    def _inline(self, name: str, tokens: list[Token], index: int, out: _Words, closers: list[str]) -> int:
        """Writes macro `name`, whose arguments start at `index`; returns the index after what it used."""
        args = _arguments(tokens, index)
        if name == "Fl":
            for flag in args or [""]:
                out.add("-" + expand(flag, self._strings))
            if not args and index < len(tokens) and tokens[index] in _MACRO_TOKENS:
                out.glue()  # `Fl Fl apple` is --apple: a bare Fl prefixes the next macro's output
            return index + len(args)
        if name == "Ar" and not args:
            out.add("file ...")
        elif name == "Nm":
            if not args:
                out.add(self.name)
            elif not self.name:
                self.name = expand(args[0], self._strings)
        elif name == "Xr" and args:
            section = f"({args[1]})" if len(args) > 1 else ""
            out.add(expand(args[0], self._strings) + section)
            return index + min(len(args), 2)
        elif name == "Fn" and args:
            rest = ", ".join(expand(a, self._strings) for a in args[1:])
            out.add(f"{expand(args[0], self._strings)}({rest})")
            return index + len(args)
        elif name in _ENCLOSE:
            opening, closing = _ENCLOSE[name]
            out.add(opening)
            out.glue()
            closers.append(closing)
        else:
            following = expand(tokens[index][0], self._strings) if index < len(tokens) else ""
            return index + self._small(name, args, following, out)
        return index

    def _small(self, name: str, args: list[str], following: str, out: _Words) -> int:
        """Delimiters, spacing and names; returns how many following tokens it used."""
        if name in _OPEN:
            out.add(_OPEN[name])
            out.glue()
        elif name in _CLOSE:
            out.attach(_CLOSE[name])
        elif name in ("Eo", "Pf") and following:
            out.add(following)
            out.glue()
            return 1
        elif name == "Ec" and following:
            out.attach(following)
            return 1
        elif name in ("Ns", "Ap"):
            out.glue()
            if name == "Ap":
                out.attach("'")
                out.glue()
        elif name in _SYSTEMS:
            out.add(f"{_SYSTEMS[name]} {args[0]}" if args else _SYSTEMS[name])
            return 1 if args else 0
        elif name == "St" and following:
            out.add(_STANDARDS.get(following, following.lstrip("-")))
            return 1
        elif name == "Ta":
            out.add("|")
        return 0


def _arguments(tokens: list[Token], index: int) -> list[str]:
    """The words after a macro up to the next macro or punctuation."""
    args: list[str] = []
    for word, quoted in tokens[index:]:
        if not quoted and (word in CALLABLE or word in CLOSING_PUNCTUATION or word in _OPENING_PUNCTUATION):
            break
        args.append(word)
    return args
