"""docutils body nodes to Markdown-shaped text: paragraphs, lists, tables, fenced code (pure)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from docutils import nodes

from ai_stack.docs_search.parsers.page_sections import fenced

# Nothing a reader sees: targets, comments, substitution definitions, pending transforms, reports.
_INVISIBLE = (nodes.Invisible, nodes.system_message, nodes.raw, nodes.image, nodes.transition)


def render_blocks(children: Iterable[nodes.Node]) -> str:
    """The body nodes as Markdown-shaped blocks separated by blank lines."""
    return "\n\n".join(block for child in children if (block := _block(child)))


def _block(node: nodes.Node) -> str:
    if isinstance(node, _INVISIBLE):
        return ""
    if isinstance(node, nodes.Admonition):
        return _admonition(node)
    render = _BLOCKS.get(type(node).__name__)
    if render is not None:
        return render(node)
    if isinstance(node, nodes.Element) and any(isinstance(child, nodes.Body) for child in node.children):
        return render_blocks(node.children)
    return inline_text(node)


def inline_text(node: nodes.Node) -> str:
    """A paragraph's text on one line: inline literals in backticks, markup dropped."""
    return " ".join(_inline(node).split())


def _inline(node: nodes.Node) -> str:
    if isinstance(node, nodes.Text):
        return str(node.astext())
    if isinstance(node, _INVISIBLE):
        return ""
    if isinstance(node, nodes.literal):
        text = node.astext()
        return f"`{text}`" if "`" not in text else f"`` {text} ``"
    if isinstance(node, (nodes.footnote_reference, nodes.citation_reference)):
        return f"[{node.astext()}]"
    if isinstance(node, nodes.Element):
        return "".join(_inline(child) for child in node.children)
    return str(node.astext())


def _literal(node: nodes.Node) -> str:
    classes = node.get("classes", []) if isinstance(node, nodes.Element) else []
    language = node.get("language", "") if isinstance(node, nodes.Element) else ""
    if not language and "code" in classes and len(classes) > 1:
        language = classes[1]  # docutils' own `code` directive: classes ["code", language]
    if isinstance(node, nodes.math_block):
        language = "math"
    return fenced(node.astext().strip("\n"), language)


def _list(node: nodes.Node) -> str:
    ordered = isinstance(node, nodes.enumerated_list)
    items = [child for child in node.children if isinstance(child, nodes.list_item)]
    lines = []
    for number, item in enumerate(items, start=1):
        marker = f"{number}. " if ordered else "- "
        lines.append(marker + _indented(render_blocks(item.children), " " * len(marker)))
    return "\n".join(lines)


def _definition_list(node: nodes.Node) -> str:
    entries = []
    for item in node.children:
        if not isinstance(item, nodes.Element):
            continue
        terms = [inline_text(c) for c in item.children if isinstance(c, (nodes.term, nodes.classifier))]
        bodies = [c for c in item.children if isinstance(c, nodes.definition)]
        body = render_blocks(child for definition in bodies for child in definition.children)
        entries.append(" : ".join(terms) + ("\n  " + _indented(body, "  ") if body else ""))
    return "\n\n".join(entries)


def _field_list(node: nodes.Node) -> str:
    entries = []
    for field in node.children:
        if isinstance(field, nodes.Element) and len(field.children) == 2:
            name, body = field.children
            entries.append(f"{inline_text(name)}: {_indented(render_blocks(body.children), '  ')}")
    return "\n".join(entries)


def _option_list(node: nodes.Node) -> str:
    entries = []
    for item in node.children:
        if not isinstance(item, nodes.Element):
            continue
        groups = [c for c in item.children if isinstance(c, nodes.option_group)]
        descriptions = [c for c in item.children if isinstance(c, nodes.description)]
        options = ", ".join(inline_text(option) for group in groups for option in group.children)
        text = " ".join(render_blocks(d.children) for d in descriptions)
        entries.append(f"{options}\n  {_indented(text, '  ')}" if text else options)
    return "\n".join(entries)


def _table(node: nodes.Node) -> str:
    rows = [
        [inline_text(entry).replace("|", "\\|") for entry in row.children] for row in node.findall(nodes.row)
    ]
    rows = [row for row in rows if any(row)]
    if not rows:
        return ""
    width = max(len(row) for row in rows)
    padded = [row + [""] * (width - len(row)) for row in rows]
    lines = [padded[0], ["---"] * width, *padded[1:]]
    table = "\n".join("| " + " | ".join(cells) + " |" for cells in lines)
    titles = [inline_text(child) for child in node.children if isinstance(child, nodes.title)]
    return "\n\n".join([*titles, table])


def _admonition(node: nodes.Node) -> str:
    children = list(node.children) if isinstance(node, nodes.Element) else []
    if children and isinstance(children[0], nodes.title):
        label, children = inline_text(children[0]), children[1:]
    else:
        label = type(node).__name__.capitalize()
    return f"{label}: {render_blocks(children)}"


def _block_quote(node: nodes.Node) -> str:
    body = render_blocks(node.children) if isinstance(node, nodes.Element) else ""
    return "\n".join(f"> {line}" if line else ">" for line in body.split("\n"))


def _line_block(node: nodes.Node) -> str:
    return "\n".join(inline_text(line) for line in node.findall(nodes.line))


def _indented(text: str, prefix: str) -> str:
    """Every line but the first indented by `prefix` (the first follows a marker)."""
    return text.replace("\n", "\n" + prefix).replace(prefix + "\n", "\n")


_BLOCKS: dict[str, Callable[[nodes.Node], str]] = {
    "literal_block": _literal,
    "doctest_block": _literal,
    "math_block": _literal,
    "bullet_list": _list,
    "enumerated_list": _list,
    "definition_list": _definition_list,
    "field_list": _field_list,
    "docinfo": _field_list,
    "option_list": _option_list,
    "table": _table,
    "block_quote": _block_quote,
    "line_block": _line_block,
}
