"""Search: dense (FAISS), lexical (BM25) or hybrid (both, fused).

Hybrid takes ``settings.candidates`` from each retriever and fuses them over the pooled
candidates, by default as a weighted sum of z-scores (``fusion="zscore"``: each
retriever's scores standardised over the pool, so neither scale dominates), or as
cosine + max-normalised BM25 (``"weighted"``), or by reciprocal rank fusion (``"rrf"``).
Passages that contain the names and quoted phrases of the query ("Stockholm", "Moon
Jae-in", "the Christmas gift") earn ``settings.effective_name_boost`` more, since exact
names are what vector-only search misses — a tenth of it when more than
``settings.common_name_share`` of the candidates have the names anyway. When the best
candidate's cosine reaches ``settings.dense_confidence``, z-score fusion trusts the
embedding: BM25's weight is halved and names earn a tenth of their bonus.

Example:
    >>> from index import Settings, Store, Embedder, Searcher
    >>> s = Settings(data_dir="data")                                     # doctest: +SKIP
    >>> hits = Searcher(Store.open(s), Embedder(s.model)).search("Christmas gift", k=3)  # doctest: +SKIP
    >>> hits[0].title                                                     # doctest: +SKIP
    'White House Confirms Trump Administration Contacted North Korea To ‘Continue The Negotiations’'
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass

import numpy as np

from .embedding import Embedder
from .loaders import clean_text
from .settings import SearchMode
from .store import STOPWORDS, ChunkRecord, Store

__all__ = ["Hit", "Searcher", "query_names", "name_pattern", "fold_text"]

_QUOTED_RE = re.compile(r"[\"“”]([^\"“”]{2,80})[\"“”]")
_CAP_WORD_RE = re.compile(r"\b[A-Z][\w’'\-]*(?:(?:\s+(?:de|la|le|du|da|di|del|der|den|van|von|bin|ibn|al|el))*\s+[A-Z][\w’'\-]*)*")
_NOT_NAMES = frozenset(
    """who what when where why how which whose whom did does do is are was were has have had
    can could would should will the a an in on at of for to and or but i tell show give list
    find explain describe according mr mrs ms dr
    latest briefly please summarise summarize summary recap hi hey hello quick quickly overall ok okay
    so now also any anything update updates news breaking thanks""".split()
)


@dataclass(frozen=True)
class Hit:
    """A ranked passage.

    Attributes:
        chunk_id: Passage id (stable; cite it).
        article_id, title, url, date, source: The article it comes from.
        ordinal: Position of the passage in the article.
        start, end: Character offsets into the article text.
        text: The passage (``article_text[start:end]``).
        score: Fused score (mode-dependent; higher is better).
        similarity: Cosine similarity of passage and query (always computed).
        lexical: BM25 score when the lexical retriever found it, else ``None``.
        names_matched: How many query names/quoted phrases the passage contains.
    """

    chunk_id: int
    article_id: str
    title: str
    url: str | None
    date: str | None
    source: str | None
    ordinal: int
    start: int
    end: int
    text: str
    score: float
    similarity: float
    lexical: float | None
    names_matched: int

    def to_json(self) -> dict:
        """The documented JSON shape of a search result."""
        return asdict(self)

    def record(self) -> ChunkRecord:
        """The passage as a catalogue record (what answers cite)."""
        return ChunkRecord(
            self.chunk_id, self.article_id, self.ordinal, self.start, self.end, self.text, self.title, self.url,
            self.date, self.source,
        )


class Searcher:
    """Runs queries against a store with an embedding model.

    Args:
        store: The open store.
        embedder: The store's embedding model.
    """

    def __init__(self, store: Store, embedder: Embedder) -> None:
        self.store = store
        self.embedder = embedder
        self.settings = store.settings

    def search(self, query: str, k: int = 5, mode: SearchMode = "hybrid") -> list[Hit]:
        """Find the ``k`` passages that best match ``query``.

        Args:
            query: Free text.
            k: Number of passages.
            mode: ``dense``, ``lexical`` or ``hybrid``.

        Returns:
            Hits, best first.
        """
        query = clean_text(query).strip()
        if not query or k <= 0:
            return []
        qvec = self.embedder.encode([query])[0]
        return self.search_vector(query, qvec, k, mode)

    def search_vector(self, query: str, qvec: np.ndarray, k: int, mode: SearchMode = "hybrid") -> list[Hit]:
        """Like :meth:`search`, with the query already embedded."""
        n = max(k, self.settings.candidates)
        dense = self.store.dense(qvec, n) if mode != "lexical" else []
        lexical = self.store.lexical(query, n) if mode != "dense" else []
        names = query_names(query) if mode == "hybrid" else []

        candidates = dict.fromkeys(h.chunk_id for h in dense)
        candidates.update(dict.fromkeys(h.chunk_id for h in lexical))
        if names:
            candidates.update(dict.fromkeys(h.chunk_id for h in self.store.lexical(" ".join(names), n)))
        records = self.store.chunks(list(candidates))
        sims = {h.chunk_id: h.score for h in dense}
        missing = [cid for cid in records if cid not in sims]
        if missing:
            for cid, vec in self.store.vectors(missing).items():
                sims[cid] = float(np.dot(vec, qvec))
        lex = {h.chunk_id: h.score for h in lexical}
        top_lex = max(lex.values(), default=0.0) or 1.0
        dense_rank = {h.chunk_id: r for r, h in enumerate(dense)}
        lex_rank = {h.chunk_id: r for r, h in enumerate(lexical)}
        name_patterns = [name_pattern(x) for x in names]
        s = self.settings

        ids = list(records)
        sim_arr = np.array([float(sims.get(cid, 0.0)) for cid in ids])
        lex_arr = np.array([lex.get(cid, 0.0) for cid in ids])
        matched = np.zeros(len(ids), dtype=int)
        if names:
            for i, cid in enumerate(ids):
                text = records[cid].text
                folded = fold_text(text)
                matched[i] = sum(1 for p, raw in name_patterns if p.search(text if raw else folded))
        name_frac = matched / len(names) if names else np.zeros(len(ids))
        boost = s.effective_name_boost
        lexical_weight = s.lexical_weight
        if len(ids) and (matched > 0).mean() > s.common_name_share:
            boost /= 10  # most candidates have the names: they no longer tell passages apart
        if s.fusion == "zscore" and s.dense_confidence is not None and len(ids) and sim_arr.max() >= s.dense_confidence:
            # the embedding model has understood the query: BM25 and names only break near-ties
            boost, lexical_weight = s.effective_name_boost / 10, lexical_weight / 2
        if mode == "dense":
            scores = sim_arr
        elif mode == "lexical":
            scores = lex_arr
        elif s.fusion == "rrf":
            scores = np.array([
                sum(1.0 / (s.rrf_k + r[cid] + 1) for r in (dense_rank, lex_rank) if cid in r) for cid in ids
            ]) + boost * name_frac / (s.rrf_k + 1)
        else:  # zscore: both standardised over the pool; weighted: cosine + BM25 / its max
            zscore = s.fusion == "zscore"
            dense_part = _zscore(sim_arr) if zscore else sim_arr
            lexical_part = _zscore(lex_arr) if zscore else lex_arr / top_lex
            scores = (1 - lexical_weight) * dense_part + lexical_weight * lexical_part
            scores = scores + boost * name_frac

        hits = []
        for i, cid in enumerate(ids):
            if mode == "lexical" and cid not in lex:
                continue
            rec = records[cid]
            hits.append(
                Hit(
                    chunk_id=cid, article_id=rec.article_id, title=rec.title, url=rec.url,
                    date=rec.date, source=rec.source, ordinal=rec.ordinal, start=rec.start,
                    end=rec.end, text=rec.text, score=float(scores[i]), similarity=float(sim_arr[i]),
                    lexical=lex.get(cid), names_matched=int(matched[i]),
                )
            )
        hits.sort(key=lambda h: (-h.score, h.chunk_id))
        return hits[:k]


def _zscore(x: np.ndarray) -> np.ndarray:
    """Scores as standard deviations from the pool's mean (all zero when they are equal)."""
    sd = float(x.std()) if len(x) else 0.0
    return (x - x.mean()) / sd if sd > 0 else np.zeros_like(x)


def name_pattern(name: str) -> tuple[re.Pattern[str], bool]:
    """A pattern finding ``name`` as whole words, and whether it runs on the raw text.

    Two- and three-letter acronyms ("US", "UN", "AFL") match case-sensitively on the raw
    text, dots allowed ("U.S."), so the pronoun "us" is not the United States. Other
    names match accent- and case-folded text ("Nasa" for "NASA"), with a possessive or a
    plural/demonym ending ("O'Brien's", "Democrats", "Korean", "Iraqi"), not inside a
    longer word ("Cup" in "cupboard", "Niger" in "Nigeria").

    Example:
        >>> p, raw = name_pattern("US"); bool(p.search("talks with the U.S. envoy")), bool(p.search("tell us"))
        (True, False)
    """
    if name.isupper() and name.isalpha() and len(name) <= 3:
        return re.compile(r"(?<!\w)" + r"\.?".join(map(re.escape, name)) + r"\.?(?!\w)"), True
    folded = fold_text(name).strip()
    return re.compile(r"(?<!\w)" + re.escape(folded) + r"(?:['’]s|s|es|n|an|ian|ans|ians|i|is|ese)?(?!\w)"), False


def query_names(query: str) -> list[str]:
    """Names and quoted phrases in a query: what a passage should contain verbatim.

    Example:
        >>> query_names('What did O’Brien say about talks in Stockholm?')
        ['O’Brien', 'Stockholm']
    """
    found = [m.group(1).strip() for m in _QUOTED_RE.finditer(query)]
    rest = _QUOTED_RE.sub(" ", query)
    for m in _CAP_WORD_RE.finditer(rest):
        words = m.group(0).split()
        while words and (words[0].lower().strip("’'") in _NOT_NAMES or words[0].lower() in STOPWORDS):
            words.pop(0)
        if words:
            found.append(" ".join(words))
    return list(dict.fromkeys(f for f in found if f))


def fold_text(text: str) -> str:
    """Lower-case, strip accents, unify apostrophes and dashes, for containment tests."""
    if not text.isascii():  # ASCII has no accents, curly quotes or dashes to unify
        text = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in text if not unicodedata.combining(c))
        text = text.replace("’", "'").replace("‘", "'").replace("–", "-").replace("—", "-")
    return text.lower()
