"""HTML becomes Markdown-shaped text: headings, paragraphs, lists, tables and code keep their shape."""

from __future__ import annotations

from ai_stack.text.chunking import ChunkingOptions, chunk_text
from ai_stack.text.html import html_to_text
from ai_stack.text.markdown import markdown_blocks


def test_title_headings_and_paragraphs_without_markup() -> None:
    title, text = html_to_text(
        "<html><head><title>The  Page</title><style>p {color: red}</style></head><body>"
        "<svg><title>icon</title></svg><h1>Intro</h1><p>Some <b>bold</b>\n text.</p>"
        "<script>alert(1)</script><h2>More</h2><div>Last</div></body></html>"
    )
    assert title == "The Page"
    assert text == "# Intro\n\nSome bold text.\n\n## More\n\nLast"


def test_table_rows_become_lines_with_cells_between_bars() -> None:
    _, text = html_to_text(
        "<table><caption>Ports</caption><thead><tr><th>Name</th><th>Port</th></tr></thead>"
        "<tbody><tr><td>aidb</td><td><p>8082</p><p>(http)</p></td></tr>"
        "<tr><td>a|b</td></tr></tbody></table>"
    )
    assert text == ("Ports\n\n| Name | Port |\n| --- | --- |\n| aidb | 8082 (http) |\n| a\\|b |  |")


def test_a_table_nested_in_a_cell_only_adds_its_text() -> None:
    _, text = html_to_text("<table><tr><td><table><tr><td>in</td><td>ner</td></tr></table></td></tr></table>")
    assert text == "| in ner |\n| --- |"


def test_list_items_keep_their_lines_markers_and_nesting() -> None:
    _, text = html_to_text(
        "<p>Steps:</p><ol><li>Install</li><li>Configure<ul><li>ports</li><li>keys</li></ul></li>"
        "<li>Run</ol><ul><li>one<li>two</ul>"
    )
    assert text == ("Steps:\n\n1. Install\n2. Configure\n   - ports\n   - keys\n3. Run\n\n- one\n- two")


def test_pre_is_fenced_longer_than_any_backtick_run_inside() -> None:
    _, text = html_to_text("<p>Example:</p><pre>\n```python\nx = 1\n```\n</pre><p>After.</p>")
    assert text == "Example:\n\n````\n```python\nx = 1\n```\n````\n\nAfter."
    code = [b.text for b in markdown_blocks(text)]
    assert code[1] == "````\n```python\nx = 1\n```\n````"  # the inner ``` did not close the fence


def test_pre_without_backticks_keeps_three() -> None:
    assert html_to_text("<pre>VACUUM (VERBOSE) t;</pre>")[1] == "```\nVACUUM (VERBOSE) t;\n```"


def test_html_tables_and_lists_stay_line_per_row_in_chunks() -> None:
    _, text = html_to_text(
        "<h1>Ref</h1><table><tr><th>k</th><th>v</th></tr><tr><td>a</td><td>1</td></tr></table>"
        "<ul><li>x<ul><li>y</li></ul></li></ul>"
    )
    chunks = chunk_text(text, lambda t: len(t.split()), ChunkingOptions(max_tokens=100, overlap_tokens=0))
    assert [c.text for c in chunks] == ["# Ref\n\n| k | v |\n| --- | --- |\n| a | 1 |\n\n- x\n  - y"]


def test_unclosed_tags_still_yield_their_text() -> None:
    assert html_to_text("<ul><li>a<li>b<table><tr><td>c")[1] == "- a\n- b\n  | c |\n  | --- |"
