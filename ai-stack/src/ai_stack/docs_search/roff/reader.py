"""roff source to a stream of requests and text lines: the layer both macro packages share (pure).

Handled here: continuation lines, comments, `.if`/`.ie`/`.el` (with `\\{ ... \\}` blocks), string
(`.ds`/`.as`), register (`.nr`) and macro (`.de`/`.am`) definitions, `.ig` blocks, and calls of
macros the page defines itself (pod2man's `.Vb`/`.Sp`, old pod2man's `.Sh`). Conditions are
evaluated as nroff would on a terminal: `n` true, `t` false, numbers and comparisons of
literal numbers; anything more (`\\w` widths, units, nested expressions) counts as false.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Container, Iterator
from dataclasses import dataclass

from ai_stack.docs_search.roff.escapes import expand, split_arguments

MAX_EXPANSIONS = 20_000  # a page that calls its own macros more often than this is looping
_CONTROL = re.compile(r"^[.'][ \t]*([^\s\\]*)[ \t]*(.*)$", re.DOTALL)
_BEFORE_COMMENT = re.compile(r'^((?:[^\\]|\\[^"#])*)\\["#]', re.DOTALL)
_COPY_MODE = re.compile(r"\\\\")
_MACRO_ARG = re.compile(r"\\\$(\d|\*|@)")
_REGISTER = re.compile(r"\\n[-+]?(?:\[([^\]]*)\]|\((..)|(.))")
_COMPARISON = re.compile(r"\(?([-+]?\d+)\)?(<=|>=|==|=|<|>)\(?([-+]?\d+)\)?")
_DEFINERS = frozenset({"de", "de1", "am", "am1", "dei", "ami"})
_BLOCK_OPEN, _BLOCK_CLOSE = "\\{", "\\}"


@dataclass(frozen=True)
class Request:
    """A control line: `.name rest`; `rest` is raw (escapes not yet expanded)."""

    name: str
    rest: str


@dataclass(frozen=True)
class Text:
    """A text line, raw."""

    line: str


class RoffReader:
    """Reads one page; `strings` holds what `.ds` defined, for expanding the text it yields."""

    def __init__(self, source: str, native: Container[str]) -> None:
        self._queue = deque(_logical_lines(source))
        self._native = native  # macros the interpreter implements itself, never the page's version
        self.strings: dict[str, str] = {}
        self.registers: dict[str, int] = {".g": 1}  # we are groff, as far as conditions ask
        self.macros: dict[str, list[str]] = {}
        self._ie_results: list[bool] = []
        self._expansions = 0

    def __iter__(self) -> Iterator[Request | Text]:
        while self._queue:
            line = _strip_comment(self._queue.popleft()).replace(_BLOCK_CLOSE, "")
            control = _CONTROL.match(line) if line[:1] in (".", "'") else None
            if control is None:
                yield Text(line)
                continue
            name, rest = control.groups()
            if name and not self._handled(name, rest):
                yield Request(name, rest)

    def _handled(self, name: str, rest: str) -> bool:
        """Acts on the requests that change the reader's own state; False for the interpreter's."""
        if name in ("if", "ie", "el"):
            self._conditional(name, rest)
        elif name in _DEFINERS:
            self._define(name, rest)
        elif name == "ig":
            self._collect(rest.split()[0] if rest.split() else ".")
        elif name in ("ds", "ds1", "as", "as1"):
            self._string(name, rest)
        elif name == "nr":
            self._register(rest)
        elif name in ("rm", "rn", "als"):
            self._rename(name, rest.split())
        elif name in self.macros and name not in self._native:
            self._call(name, rest)
        else:
            return False
        return True

    def _conditional(self, name: str, rest: str) -> None:
        if name == "el":
            holds, body = (not self._ie_results.pop()) if self._ie_results else False, rest
        else:
            holds, body = self._condition(rest)
            if name == "ie":
                self._ie_results.append(holds)
        body = body.lstrip()
        opens_block = body.startswith(_BLOCK_OPEN)
        if opens_block:
            body = body[len(_BLOCK_OPEN) :].lstrip()
        if holds:
            if body.strip():
                self._queue.appendleft(body)
        elif opens_block:
            self._skip_block(1 + body.count(_BLOCK_OPEN) - body.count(_BLOCK_CLOSE))

    def _skip_block(self, depth: int) -> None:
        while depth > 0 and self._queue:
            line = self._queue.popleft()
            depth += line.count(_BLOCK_OPEN) - line.count(_BLOCK_CLOSE)

    def _condition(self, rest: str) -> tuple[bool, str]:
        """(whether the condition holds, what follows it)."""
        text = rest.lstrip()
        negate = text.startswith("!")
        text = text[1:] if negate else text
        holds, body = self._test(text)
        return holds != negate, body

    def _test(self, text: str) -> tuple[bool, str]:
        head = text[:1]
        if head in ("n", "t", "e", "o", "v") and (len(text) == 1 or not text[1].isalnum()):
            return head in ("n", "o"), text[1:]
        if head in ("d", "r", "c", "m", "F", "S") and text[1:2] in (" ", "\t"):
            parts = text[2:].lstrip().split(None, 1)
            known = self.macros.keys() | self.strings.keys() if head == "d" else self.registers.keys()
            name = parts[0] if parts else ""
            return name in known, parts[1] if len(parts) > 1 else ""
        if head and not head.isalnum() and head not in "(\\+-":
            return _string_comparison(text, self.strings)
        expression, _, body = text.partition(" ")
        return _numeric_truth(_REGISTER.sub(self._register_value, expression)), body

    def _register_value(self, match: re.Match[str]) -> str:
        name = next(g for g in match.groups() if g is not None)
        return str(self.registers.get(name, 0))

    def _define(self, name: str, rest: str) -> None:
        words = rest.split()
        if not words:
            return
        body = [_COPY_MODE.sub(r"\\", line) for line in self._collect(words[1] if len(words) > 1 else ".")]
        if name.startswith("am"):
            self.macros.setdefault(words[0], []).extend(body)
        else:
            self.macros[words[0]] = body

    def _collect(self, end: str) -> list[str]:
        """The lines up to `.end` (`..` by default), taken off the queue."""
        body: list[str] = []
        terminator = re.compile(r"^[.'][ \t]*" + re.escape(end if end != "." else ".") + r"(?:\s|$)")
        while self._queue:
            line = self._queue.popleft()
            if terminator.match(line):
                break
            body.append(line)
        return body

    def _string(self, name: str, rest: str) -> None:
        key, _, value = rest.partition(" ")
        if not key:
            return
        value = value.lstrip()
        value = value[1:] if value.startswith('"') else value  # a leading quote keeps leading spaces
        self.strings[key] = self.strings.get(key, "") + value if name.startswith("as") else value

    def _register(self, rest: str) -> None:
        parts = rest.split()
        if len(parts) >= 2 and re.fullmatch(r"[-+]?\d+", parts[1]):
            self.registers[parts[0]] = int(parts[1])

    def _rename(self, name: str, words: list[str]) -> None:
        if name == "rm":
            for word in words:
                self.macros.pop(word, None)
                self.strings.pop(word, None)
        elif len(words) >= 2 and words[1] in self.macros:
            body = self.macros[words[1]]
            self.macros[words[0]] = body if name == "als" else self.macros.pop(words[1])

    def _call(self, name: str, rest: str) -> None:
        self._expansions += 1
        if self._expansions > MAX_EXPANSIONS:
            raise ValueError(f"macro {name!r} expands more than {MAX_EXPANSIONS} times")
        args = split_arguments(rest)

        def argument(match: re.Match[str]) -> str:
            which = match[1]
            if which in ("*", "@"):
                return " ".join(args) if which == "*" else " ".join(f'"{a}"' for a in args)
            index = int(which) - 1
            return args[index] if 0 <= index < len(args) else ""

        self._queue.extendleft(reversed([_MACRO_ARG.sub(argument, line) for line in self.macros[name]]))


def _logical_lines(source: str) -> Iterator[str]:
    """Physical lines with `\\` + newline continuations joined."""
    pending = ""
    for line in source.removesuffix("\n").split("\n"):
        line = line.rstrip("\r")
        trailing = len(line) - len(line.rstrip("\\"))
        if trailing % 2:
            pending += line[:-1]
            continue
        yield pending + line
        pending = ""
    if pending:
        yield pending


def _strip_comment(line: str) -> str:
    if '\\"' not in line and "\\#" not in line:
        return line
    match = _BEFORE_COMMENT.match(line)
    return match[1].rstrip() if match else line


def _string_comparison(text: str, strings: dict[str, str]) -> tuple[bool, str]:
    """`'a'b'`: equal after expansion."""
    delimiter = text[0]
    parts = text[1:].split(delimiter, 2)
    if len(parts) < 3:
        return False, ""
    return expand(parts[0], strings) == expand(parts[1], strings), parts[2]


def _numeric_truth(expression: str) -> bool:
    expression = expression.strip()
    while expression.startswith("(") and expression.endswith(")"):
        expression = expression[1:-1]
    if re.fullmatch(r"[-+]?\d+", expression):
        return int(expression) > 0
    compared = _COMPARISON.fullmatch(expression)
    if compared is None:
        return False
    left, operator, right = int(compared[1]), compared[2], int(compared[3])
    return {
        "<": left < right,
        ">": left > right,
        "<=": left <= right,
        ">=": left >= right,
        "=": left == right,
        "==": left == right,
    }[operator]
