"""Named entities of answer sentences (the NER half of the quotes' spaCy model)."""

from __future__ import annotations

import pytest

from index.entities import Entity, EntityTagger
from index.errors import ConfigError
from index.settings import DEFAULT_SPACY_MODEL


def test_places_people_and_dates_are_labelled():
    tagger = EntityTagger(DEFAULT_SPACY_MODEL)
    ents = tagger.entities(["Raduyev led the raid on Kizlyar in Dagestan in January 1996.", "No names here."])
    assert ("Dagestan", "GPE") in ents[0]
    assert any(e.label == "DATE" and "1996" in e.text for e in ents[0])
    assert ents[1] == ()
    assert all(isinstance(e, Entity) for e in ents[0])


def test_repeated_texts_are_answered_from_the_cache(monkeypatch):
    import index.quotes

    tagger = EntityTagger(DEFAULT_SPACY_MODEL)
    first = tagger.entities(["Seles beat Dechy in Perth."])

    def no_model(name):
        raise AssertionError("the model ran again for a cached text")

    monkeypatch.setattr(index.quotes, "load_pipeline", no_model)
    assert tagger.entities(["Seles beat Dechy in Perth.", "Seles beat Dechy in Perth."]) == [first[0], first[0]]
    with pytest.raises(AssertionError):
        tagger.entities(["A text never seen before in Paris."])


def test_a_missing_model_is_a_config_error():
    with pytest.raises(ConfigError):
        EntityTagger("no_such_spacy_model").entities(["Paris"])
