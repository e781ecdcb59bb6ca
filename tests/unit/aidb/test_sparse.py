"""BM25 keyword vectors."""

from __future__ import annotations

from ai_stack.aidb.sparse import Bm25Encoder


def test_stemming_and_stopwords_unify_terms() -> None:
    encoder = Bm25Encoder()
    assert encoder.terms("The databases are running") == ["databas", "run"]
    assert encoder.query("running databases").indices == encoder.query("database run").indices


def test_repeated_terms_saturate() -> None:
    encoder = Bm25Encoder()
    once = encoder.document("vacuum")
    many = encoder.document("vacuum vacuum vacuum vacuum")
    assert many.values[0] > once.values[0]
    assert many.values[0] < 4 * once.values[0]
    assert many.values[0] < encoder.k1 + 1


def test_longer_documents_weigh_a_term_less() -> None:
    encoder = Bm25Encoder(avg_len=10)
    short = encoder.document("vacuum table")
    long = encoder.document("vacuum " + " ".join(f"word{i}" for i in range(50)))
    term = encoder.term_id("vacuum")
    assert (
        dict(zip(short.indices, short.values, strict=True))[term]
        > dict(zip(long.indices, long.values, strict=True))[term]
    )


def test_ids_are_stable_unique_and_non_negative() -> None:
    encoder = Bm25Encoder()
    vector = encoder.document("alpha beta gamma alpha")
    assert len(vector.indices) == len(set(vector.indices)) == 3
    assert all(0 <= i < 2**31 for i in vector.indices)
    assert Bm25Encoder.term_id("alpha") == Bm25Encoder.term_id("alpha")


def test_empty_text_gives_an_empty_vector() -> None:
    assert Bm25Encoder().query("the of and").indices == []
