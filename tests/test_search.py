"""Search over the seed article plus 50 real ABC news articles finds what a reader means."""

from __future__ import annotations

import pytest

from index.search import query_names

from .conftest import SEED_ID


@pytest.mark.parametrize(
    ("query", "article", "words"),
    [
        ("Christmas gift", SEED_ID, "Christmas gift didn’t come"),
        ("restart nuclear talks with Pyongyang", SEED_ID, "denuclearization"),
        ("Democrats choose an interim leader", "lee-00", "interim leader"),
        ("AMP profit fell and it raised capital", "lee-01", "$750 million"),
        ("Chinese province on alert as the flood death toll passes 100", "lee-08", "108 already dead"),
    ],
)
def test_finds_the_passage_a_reader_means(corpus_engine, query, article, words):
    hits = corpus_engine.search(query, k=3)
    assert hits[0].article_id == article
    assert any(words in h.text for h in hits if h.article_id == article)


def test_hits_carry_exact_offsets_and_metadata(corpus_engine):
    for h in corpus_engine.search("Kim Jong Un new strategic weapon", k=5):
        text = corpus_engine.store.article_text(h.article_id)
        assert text[h.start:h.end] == h.text
        assert h.title and -1.0 <= h.similarity <= 1.0


def test_names_in_the_query_rank_passages_that_contain_them_first(corpus_engine):
    hits = corpus_engine.search("What happened in Stockholm?", k=3)
    assert "Stockholm" in hits[0].text
    hits = corpus_engine.search("Moon Jae-in birthday message", k=3)
    assert "Moon Jae-in" in hits[0].text


def test_modes_differ_and_lexical_finds_rare_exact_words(corpus_engine):
    lexical = corpus_engine.search("Habbush", k=3, mode="lexical")
    assert lexical and "Habbush" in lexical[0].text
    assert all("habbush" in h.text.lower() for h in lexical)  # lexical returns only real matches
    hybrid = corpus_engine.search("What did Habbush say?", k=1)
    assert "Habbush" in hybrid[0].text
    assert corpus_engine.search("the of and", k=3, mode="lexical") == []


def test_query_names():
    assert query_names("What did O’Brien say about talks in Stockholm?") == ["O’Brien", "Stockholm"]
    assert query_names('Who said "back on track"?') == ["back on track"]
    assert query_names("what happened to the economy") == []
    # opening words are not names; name particles stay inside the name
    assert query_names("Latest on the Tampa?") == ["Tampa"]
    assert query_names("Briefly, where is Osama bin Laden?") == ["Osama bin Laden"]
    assert query_names("What did Mbeki say about Zimbabwe's land seizures?") == ["Mbeki", "Zimbabwe's"]


def test_names_match_whole_words_and_acronyms_only_in_capitals():
    from index.search import fold_text, name_pattern

    def found(name, text):
        pattern, raw = name_pattern(name)
        return bool(pattern.search(text if raw else fold_text(text)))

    assert found("US", "talks with the U.S. envoy") and found("US", "US officials")
    assert not found("US", "he told us") and not found("US", "business as usual")
    assert found("O'Brien", "O’Brien's remarks") and found("Democrat", "the Democrats")
    assert found("North Korea", "the North Korean leader")
    assert not found("Cup", "a cupboard") and not found("Niger", "in Nigeria")
    assert found("NASA", "Nasa said") and found("Iraq", "an Iraqi envoy")


def test_each_fusion_has_its_own_name_bonus_unless_one_is_set():
    from index.settings import Settings

    assert Settings().effective_name_boost == 1.0  # z-score: one standard deviation
    assert Settings(fusion="weighted").effective_name_boost == 0.1  # cosine units
    assert Settings.from_env({"CITEBOT_NAME_BOOST": "0.5", "CITEBOT_FUSION": "rrf"}).effective_name_boost == 0.5
    from index.errors import ConfigError

    for bad in ({"CITEBOT_NAME_BOOST": "nan"}, {"CITEBOT_COMMON_NAME_SHARE": "-1"}):
        with pytest.raises(ConfigError):
            Settings.from_env(bad)


def test_dense_confidence_is_a_cosine_or_off():
    from index.errors import ConfigError
    from index.settings import DEFAULT_DENSE_CONFIDENCE, Settings

    assert Settings().dense_confidence == DEFAULT_DENSE_CONFIDENCE
    assert Settings.from_env({"CITEBOT_DENSE_CONFIDENCE": "0.6"}).dense_confidence == 0.6
    assert Settings.from_env({"CITEBOT_DENSE_CONFIDENCE": "off"}).dense_confidence is None
    for bad in ("2", "high"):
        with pytest.raises(ConfigError):
            Settings.from_env({"CITEBOT_DENSE_CONFIDENCE": bad})


def test_a_confident_dense_match_is_not_overruled_by_names(corpus_engine):
    """The query restates a passage closely (cosine above the threshold); with the full name
    bonus a passage that merely repeats the query's names could outrank it."""
    from index.search import Searcher

    query = "Kim Jong Un said North Korea would show off a new strategic weapon soon"
    store = corpus_engine.store
    qvec = corpus_engine.embedder.encode([query])[0]
    dense = Searcher(store, corpus_engine.embedder).search_vector(query, qvec, 1, "dense")[0]
    assert dense.similarity >= 0.7  # the model has understood the query: the case this test is about
    hybrid = Searcher(store, corpus_engine.embedder).search_vector(query, qvec, 1, "hybrid")[0]
    assert hybrid.chunk_id == dense.chunk_id
