"""Identifier-aware keyword analysis: names kept whole as well as by their parts."""

from __future__ import annotations

import pytest
from ai_stack.text.keywords import KeywordAnalyzer


@pytest.fixture(scope="module")
def analyzer() -> KeywordAnalyzer:
    return KeywordAnalyzer()


@pytest.mark.parametrize(
    ("text", "whole", "parts"),
    [
        ("__init_subclass__", "__init_subclass__", {"init", "subclass"}),
        ("services.openssh.enable = true;", "services.openssh.enable", {"servic", "openssh", "enabl"}),
        ("subprocess.CalledProcessError", "subprocess.calledprocesserror", {"calledprocesserror", "process"}),
        ("pg_dump --no-owner", "--no-owner", {"owner", "pg_dump", "dump"}),
        ("python -X importtime", "-x", {"python", "importtim"}),
        ("f(*args, **kwargs)", "**kwargs", {"kwarg", "*args"}),
        ("(x := 5)", ":=", {"x", "5"}),
        ("ctx = SSLContext.load_cert_chain", "load_cert_chain", {"ssl", "context", "sslcontext", "cert"}),
        ("pg_catalog.pg_class", "pg_class", {"pg_catalog", "pg_catalog.pg_class", "class"}),
        ("auth method scram-sha-256", "scram-sha-256", {"scram", "sha", "256"}),
    ],
)
def test_identifiers_are_kept_whole_and_by_their_parts(
    analyzer: KeywordAnalyzer, text: str, whole: str, parts: set[str]
) -> None:
    terms = set(analyzer.terms(text))
    assert whole in terms
    assert parts <= terms


def test_prose_is_stemmed_without_stop_words_or_punctuation(analyzer: KeywordAnalyzer) -> None:
    assert analyzer.terms("The servers are running. Then it stopped - twice!") == [
        "server",
        "run",
        "stop",
        "twice",
    ]


def test_a_query_names_the_identifier_as_the_document_does(analyzer: KeywordAnalyzer) -> None:
    """An exact name shares its whole term only with text holding that exact name."""
    query = set(analyzer.terms("__init_subclass__"))
    defines = set(analyzer.terms("object.__init_subclass__(cls) is called when a class is subclassed"))
    mentions = set(analyzer.terms("the init method of a subclass"))
    assert "__init_subclass__" in query & defines
    assert "__init_subclass__" not in mentions


def test_markdown_emphasis_is_not_a_starred_parameter(analyzer: KeywordAnalyzer) -> None:
    terms = analyzer.terms("**Note** that *args is starred")
    assert "**note" not in terms and "note" in terms and "*args" in terms


def test_camel_case_splits_acronyms_and_words(analyzer: KeywordAnalyzer) -> None:
    assert analyzer.terms("HTTPServerError") == ["httpservererror", "http", "server", "error"]
    assert analyzer.terms("HTTP") == ["http"]
