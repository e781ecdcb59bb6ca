"""roff escape sequences to plain text, and request arguments split as roff splits them (pure).

Fonts, sizes, motions and other typesetting escapes are dropped: the text is for reading and
searching, not for printing. `\\c` (join with the next input line) becomes GLUE for the caller.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

GLUE = "\x01"  # stands for \c: the next line continues this one without a space
NBSP = " "  # \~, \<space> and \0 are unbreakable spaces; a plain space reads the same
_MAX_STRING_DEPTH = 8

# fmt: off
# Glyph names of \(xx and \[name] (groff_char(7)); unknown names are dropped. The look-alike
# characters are the point of this table, hence the RUF001 exemptions.
GLYPHS: Mapping[str, str] = {
    "em": "—", "en": "–", "hy": "-", "mi": "-", "-": "-", "aq": "'", "dq": '"', "lq": "“", "rq": "”",  # noqa: RUF001
    "oq": "‘", "cq": "’", "bq": "‚", "Bq": "„", "Fo": "«", "Fc": "»", "fo": "‹", "fc": "›",  # noqa: RUF001
    "bu": "•", "co": "©", "rg": "®", "tm": "™", "de": "°", "ti": "~", "ha": "^", "ga": "`",
    "aa": "´", "ua": "↑", "da": "↓", "->": "→", "<-": "←", "<>": "↔", "rA": "⇒", "lA": "⇐",  # noqa: RUF001
    "<=": "≤", ">=": "≥", "!=": "≠", "==": "≡", "=~": "≅", "ap": "~", "mu": "×", "di": "÷",  # noqa: RUF001
    "+-": "±", "pl": "+", "eq": "=", "sl": "/", "rs": "\\", "bv": "|", "ba": "|", "br": "|",
    "or": "|", "ul": "_", "ru": "_", "lh": "☜", "rh": "☞", "fm": "′", "sd": "″", "sc": "§",  # noqa: RUF001
    "ps": "¶", "Do": "$", "Eu": "€", "eu": "€", "Po": "£", "Ye": "¥", "ct": "¢", "OK": "✓",
    "ss": "ß", "ae": "æ", "AE": "Æ", "o/": "ø", "O/": "Ø", "if": "∞", "no": "¬", "pc": "·",
    "at": "@", "sh": "#", "dg": "†", "dd": "‡", "lB": "[", "rB": "]", "lC": "{", "rC": "}",
    "la": "⟨", "ra": "⟩", "Am": "&", "ci": "○", "sq": "□", "12": "½", "14": "¼", "34": "¾",
    "*a": "α", "*b": "β", "*g": "γ", "*d": "δ", "*e": "ε", "*l": "λ", "*m": "μ", "*p": "π",  # noqa: RUF001
    "*s": "σ", "*t": "τ", "*W": "Ω", "*S": "Σ", "es": "∅", "mc": "µ", "r!": "¡", "r?": "¿",  # noqa: RUF001
}
_ACCENTS = {"'": "\u0301", "`": "\u0300", "^": "\u0302", ":": "\u0308", "~": "\u0303", ",": "\u0327"}
# Strings every man and mdoc page may use without defining them.
PREDEFINED_STRINGS: Mapping[str, str] = {
    "R": "®", "Tm": "™", "lq": "“", "rq": "”", "S": "", "Ba": "|", "Ne": "≠", "Ge": "≥", "Le": "≤",
    "Gt": ">", "Lt": "<", "Pm": "±", "If": "∞", "Pi": "π", "Na": "NaN", "Am": "&", "Lq": "“",
    "Rq": "”", "Aq": "'", "q": '"', "Px": "POSIX", "Ai": "ANSI", "HF": "", "Ux": "UNIX",
}
_SIMPLE: Mapping[str, str] = {
    "e": "\\", "\\": "\\", "E": "\\", "-": "-", ".": ".", "'": "'", "`": "`", "_": "_", " ": NBSP,
    "~": NBSP, "0": NBSP, "t": " ", "c": GLUE, "&": "", "|": "", "^": "", ")": "", "%": "", ":": "",
    ",": "", "/": "", "d": "", "u": "", "r": "", "p": "", "a": "", "z": "", "{": "", "}": "",
    "!": "", "?": "", "\n": "",
}
# fmt: on
_ESCAPE = re.compile(
    r"""\\(?:
      [fFmMsY]\[[^\]]*\] | [fFmMY]\(.. | [fFmMY]. | s[-+]?\(\d\d | s[-+]?\d\d? | s[-+]?'[^']*'
    | (?P<string>\*(?:\[(?P<sl>[^\]]*)\]|\((?P<s2>..)|(?P<s1>.)))
    | (?P<glyph>\((?P<g2>..)|\[(?P<gl>[^\]]*)\])
    | n[-+]?(?:\[[^\]]*\]|\(..|.) | g(?:\[[^\]]*\]|\(..|.) | k(?:\[[^\]]*\]|\(..|.) | \$[0-9*@#]
    | (?P<delim>[hvwlLDXoNbRSxZAVBC])(?P<q>[^\w\s\\])(?P<body>.*?)(?P=q)
    | (?P<char>.)
    )""",
    re.VERBOSE | re.DOTALL,
)
# A quoted argument (`""` is a quote inside), or a run of non-spaces in which `\ ` does not split.
_ARGUMENT = re.compile(r'"((?:[^"]|"")*)"?|((?:\\.|[^\s\\])+\\?)')


def expand(text: str, strings: Mapping[str, str] | None = None, depth: int = 0) -> str:
    """Text with every escape replaced by the character it prints (or nothing)."""
    if "\\" not in text:
        return text
    known = strings or {}
    return _ESCAPE.sub(lambda match: _replacement(match, known, depth), text)


def _replacement(match: re.Match[str], strings: Mapping[str, str], depth: int) -> str:
    if match["string"]:
        name = match["sl"] or match["s2"] or match["s1"] or ""
        value = strings.get(name, PREDEFINED_STRINGS.get(name, ""))
        return expand(value, strings, depth + 1) if depth < _MAX_STRING_DEPTH else ""
    if match["glyph"]:
        return glyph(match["g2"] or match["gl"] or "")
    if match["delim"]:
        return _delimited(match["delim"], match["body"], strings, depth)
    char = match["char"]
    if char is None:
        return ""  # fonts, sizes, registers, marks: nothing to read
    return _SIMPLE.get(char, char)


def glyph(name: str) -> str:
    """The character of a glyph name: `em`, `u00E9`, `char65`, `e'` style accents, or nothing."""
    if name in GLYPHS:
        return GLYPHS[name]
    if name.startswith("u") and 4 <= len(name) <= 7:
        try:
            return "".join(chr(int(part, 16)) for part in name[1:].split("_"))
        except ValueError:
            return ""
    if name.startswith("char") and name[4:].isdigit():
        return chr(int(name[4:]) % 0x110000)
    if len(name) == 2 and name[0] in _ACCENTS and name[1].isalpha():
        return name[1] + _ACCENTS[name[0]]
    return ""


def _delimited(kind: str, body: str, strings: Mapping[str, str], depth: int) -> str:
    if kind == "N":
        return chr(int(body)) if body.isdigit() and int(body) < 0x110000 else ""
    if kind == "C":
        return glyph(body)
    if kind == "Z":
        return expand(body, strings, depth)  # zero-width, but printed
    if kind == "o":
        return expand(body, strings, depth)[:1]  # overstrike: the base letter reads best
    return ""


def split_arguments(text: str) -> list[str]:
    """Request arguments: space separated, `"double quoted"` with `""` for a quote inside."""
    return [token for token, _ in argument_tokens(text)]


def argument_tokens(text: str) -> list[tuple[str, bool]]:
    """Request arguments, each with whether it was quoted (mdoc never reads a quoted word as a macro)."""
    tokens: list[tuple[str, bool]] = []
    for match in _ARGUMENT.finditer(text):
        quoted, bare = match.groups()
        tokens.append((quoted.replace('""', '"'), True) if quoted is not None else (bare, False))
    return tokens
