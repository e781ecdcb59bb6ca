"""roff man pages (man(7) and mdoc(7) macro packages) read into readable parts, without groff."""

from __future__ import annotations

import re

from ai_stack.docs_search.roff.man import read_man
from ai_stack.docs_search.roff.mdoc import read_mdoc
from ai_stack.docs_search.roff.page import Item, Page, Part

__all__ = ["Item", "Page", "Part", "read_page"]

# The first title macro tells the package: man's .TH, or mdoc's .Dd/.Dt (or a bare .Sh).
_TITLE = re.compile(r"^[.'][ \t]*(TH|Dd|Dt|Sh|SH)\b", re.MULTILINE)


def read_page(source: str) -> Page:
    """A page's parts, read with the macro package the page is written in."""
    first = _TITLE.search(source)
    if first is not None and first[1] in ("Dd", "Dt", "Sh"):
        return read_mdoc(source)
    return read_man(source)
