"""HTML written through the API is chunked as its text: tags never reach the index."""

from __future__ import annotations

from ai_stack.aidb.app import make_chunker
from ai_stack.aidb.settings import AidbSettings

PAGE = """<html><head><title>VACUUM</title><style>p {color: red}</style></head>
<body><h1>VACUUM</h1><p>VACUUM reclaims storage occupied by <b>dead tuples</b>.</p>
<h2>Options</h2><pre>VACUUM (VERBOSE) mytable;</pre><script>alert(1)</script></body></html>"""


def test_html_is_chunked_as_text_with_headings() -> None:
    chunks = make_chunker(AidbSettings())(PAGE, "text/html")
    text = "\n".join(c.text for c in chunks)
    assert "<" not in text.replace("<=", "") and "alert" not in text and "color: red" not in text
    assert "reclaims storage occupied by dead tuples" in text
    assert "VACUUM (VERBOSE) mytable;" in text
    assert [tuple(c.heading_path) for c in chunks] == [("VACUUM",), ("VACUUM", "Options")]
