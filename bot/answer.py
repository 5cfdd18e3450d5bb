"""The answer engine: a question in, a short answer out, every line cited.

One engine serves every front end (CLI, terminal chat, Telegram). Answers are
extractive: the lines of an answer are sentences or quotes copied from the retrieved
passages, and a citation is attached only to a line taken from that passage. When the
evidence is too weak the answer says so and offers the closest passages instead.

Three kinds of question are recognised:

* ``who_said``: "Who said the Christmas gift didn't come?" → the quote that matches
  best, with its speaker (and role) from the quote catalogue;
* ``person_said``: "What did O'Brien say about North Korea?" → that person's quotes,
  ranked by the topic (fuzzy speaker names: "obrien", "Robert O'Brien");
* ``general``: everything else → the best sentences of the best passages.

Example:
    >>> from bot.answer import Engine
    >>> from bot.settings import BotSettings
    >>> engine = Engine.open(BotSettings.from_env())              # doctest: +SKIP
    >>> engine.ask("Who said the Christmas gift didn't come?").answer  # doctest: +SKIP
    'Robert O’Brien, White House national security adviser, said: “All we know is …” [1]'
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Literal

import numpy as np

from index.chunking import split_sentences
from index.embedding import Embedder, load_embedder
from index.entities import Entity, EntityTagger
from index.errors import ConfigError, InputError
from index.ingest import IngestReport, ingest
from index.loaders import Article, clean_text, load_path
from index.quotes import QuoteExtractor, is_role_word, match_speakers
from index.search import Hit, Searcher, fold_text, query_names
from index.store import ArticleRecord, ChunkRecord, QuoteRecord, Store, StoreStats, lexical_terms

from .settings import BotSettings

__all__ = ["Engine", "Answer", "AnswerLine", "Citation", "QuestionKind", "classify"]

log = logging.getLogger(__name__)

QuestionKind = Literal["who_said", "person_said", "general"]

_MAX_QUESTION_CHARS = 1000
_MAX_QUOTE_CHARS = 600
_SENTENCE_CACHE = 4096  # passages whose sentence vectors are kept
_SEARCH_K = 8
#: Score lost for each content word of the question that the passage lacks: an answer
#: should mention what was asked ("How much does X earn?" needs "earn" or a form of it).
_MISSING_TERM_PENALTY = 0.1
_MAX_MISSING_PENALTY = 0.3
#: A person question's topic longer than this many content words: its missing words cost less each.
_TOPIC_WORDS = 3
#: Score lost by a sentence that lacks the kind of answer asked for ("how many" → a number).
_ANSWER_TYPE_PENALTY = 0.35
#: Score lost for each name in the question (person, place, organisation, event) that the
#: passage and its headline never mention: an answer about "the FIFA World Cup" must come
#: from a passage that names it, however close the topic ("the Hopman Cup").
_MISSING_NAME_PENALTY = 0.2
_MAX_MISSING_NAME_PENALTY = 0.4
#: The same, when another passage of the article names it: a topic the whole article is
#: about ("his Hopman Cup win") is seldom repeated in the passage holding the quote.
_ELSEWHERE_NAME_PENALTY = 0.1
_TIME_WORDS = (
    r"\b(?:1[89]\d\d|20\d\d|january|february|march|april|may|june|july|august|september|october|"
    r"november|december|jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec|monday|tuesday|wednesday|thursday|"
    r"friday|saturday|sunday|yesterday|today|tomorrow|tonight|morning|afternoon|evening|night|week|month|"
    r"year|decade|century|soon|later|earlier|spring|summer|autumn|"
    r"winter|christmas|easter)\b|\d{1,2}(?::\d\d|\s*[ap]\.?m\.?)"
)
#: Words that count: "fifteen workers", "dozens of homes", "twice".
_COUNT_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|"
    r"seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundreds?|thousands?|"
    r"millions?|billions?|dozens?|half|quarter|single|double|twice|several|none"
)
#: A number that can answer "how many": not an ordinal ("57th") and not a bare year.
_NUMBER_RE = re.compile(
    r"(?<![\w.,])\d(?:[\d,.]*\d)?(?![\d]|[.,]\d)"  # "35m", "40C", "120km/h" count too
    rf"|\b(?:{_COUNT_WORDS})\b",
    re.IGNORECASE,
)
#: A 19xx/20xx number is a year when a date word comes before it ("in 1996", "March 2001").
_YEAR_CONTEXT = re.compile(
    r"(?:\b(?:in|since|by|from|until|till|of|during|early|late|mid|before|after|year|season|"
    r"jan|feb|mar|apr|may|jun|jul|aug|sept?|oct|nov|dec)[a-z]*\.?\s+(?:\d{1,2},?\s+)?)$",
    re.IGNORECASE,
)
AnswerType = Literal["age", "money", "number", "duration", "time", "place", "person", "org", "thing", "name", "agent"]
_ORG_NOUNS = (
    r"group|company|firm|party|team|organi[sz]ation|agency|band|club|union|newspaper|paper|airline|bank|"
    r"charity|network|channel|station|movement|faction|militia|council|committee|court|ministry|department"
)
#: Things whose names are not organisations' (ships, races and shows often are: "name").
_THING_NOUNS = (
    r"weapon|missile|rocket|bomb|drug|vaccine|virus|disease|operation|plan|bill|law|act|treaty|"
    r"agreement|accord|book|film|movie|song|album|storm|cyclone|hurricane|software"
)
_PERSON_NOUNS = (
    r"boy|girl|person|child|baby|toddler|teenager|victim|suspect|thief|attacker|bomber|"
    r"driver|pilot|passenger|attendant|officer|soldier|doctor|nurse|teacher|student|worker|owner|"
    r"leader|minister|president|chief|boss|executive|director|official|judge|lawyer|"
    r"captain|coach|player|skipper|rafter|climber|journalist|reporter|author|actor|singer|father|mother|"
    r"son|daughter|wife|husband|brother|sister|friend|agent|king|queen|prince|princess|priest|bishop|"
    r"prosecutor|detective|guard|employee|resident|survivor|witness|winner|candidate|"
    r"tourist|visitor|traveller|traveler|hiker|walker|sailor|crew|farmer|militant|rebel|terrorist|"
    r"hijacker|kidnapper|prisoner|hostage|refugee|migrant|patient|fan|athlete|runner|cyclist|swimmer|"
    r"batsman|bowler|jockey|trainer|cricketer|footballer|golfer|people|children|"
    r"(?:gun|fisher|spokes|fire|sports|business|chair|fresh|police)?m[ae]n|(?:spokes|business|chair|police)?wom[ae]n"
)
_PLACE_NOUNS = r"city|country|countries|town|state|province|region|island|village|suburb|place|continent|capital|nation|port|area|district|street|venue|hospital|prison|airport"
_AGENT_NOUNS = r"man|woman|person|people|official|minister|leader|player|team|company|firm|group|party|organisation|organization|country|nation|politician|captain|coach|spokesman|spokeswoman|president|premier"
#: "How many <these>" is answered by any number: the text rarely repeats the noun.
_VAGUE_COUNTS = frozenset(
    """people persons times years days hours more were was are is did do does have has had of will would
    could can should may might must been be being the""".split()
)
#: Question wordings that ask for a kind of answer, tried in order.
_QUESTION_TYPES: tuple[tuple[re.Pattern[str], AnswerType], ...] = (
    (re.compile(r"\bhow old\b|\bwhat age\b"), "age"),
    (re.compile(r"^\s*(?:what|which)\b.*\b(?:winning|finishing|race|record|best|fastest|slowest|total|flight|travel|"
                r"journey|running)\s+time\b|\bhow long\b.*\b(?:take|took|last|lasted|spend|spent|wait|waited)\b"),
     "duration"),  # not "Who set the fastest time?" (a person) or "When is the best time …?"
    (re.compile(r"\bhow much\b.*\b(?:worth|costs?|pay|paid|spend|spent|earns?|earned|raised?|owed?)\b"
                r"|\bwhat (?:price|sum|salary|fee|fine)\b"), "money"),
    (re.compile(r"\bhow (?:many|much|far|long|big|large|high|tall|often|fast|deep|wide|heavy|hot|cold|strong)\b"
                r"|\bwhat (?:percentage|proportion|share|number|amount)\b"), "number"),
    (re.compile(r"^\s*when\b|\bwhat (?:year|date|day|time|month)\b"), "time"),
    (re.compile(rf"^\s*where\b|\b(?:which|what)\s+(?:{_PLACE_NOUNS})\b"), "place"),
)
_NAME_OF = re.compile(
    r"\bwhat(?:\s+is|\s+was|\s+were|['’]s)\s+(?:the\s+)?(?P<part>full\s+|first\s+|last\s+|sur)?names?\s+of\s+"
    r"(?:the\s+|a\s+|an\s+|his\s+|her\s+|their\s+)?(?P<what>.*)|^\s*name\s+the\s+(?P<what2>.*)"
)
#: "the name of the <noun>": which kind of name the noun wants.
_NAMED_KINDS: tuple[tuple[re.Pattern[str], AnswerType], ...] = tuple(
    (re.compile(rf"(?:[\w’'-]+\s+){{0,{n}}}?(?:{nouns})(?:e?s)?\b(?![’'])"), kind)
    for kind, nouns, n in (
        ("person", _PERSON_NOUNS, 3), ("place", _PLACE_NOUNS, 2), ("org", _ORG_NOUNS, 2), ("thing", _THING_NOUNS, 2)
    )
)
_AGENT_QUESTION = re.compile(
    rf"^\s*(?:who|whom)\b|^\s*(?:which|what)\s+(?:{_AGENT_NOUNS})\b"
    rf"|^\s*which\s+(?:[\w’'-]+\s+){{0,2}}(?:{_PERSON_NOUNS})(?:e?s)?\b"  # "which senate leader"
)
#: Events that vague counts ask about, with the words a sentence counting them uses.
_COUNT_EVENTS: tuple[tuple[str, str], ...] = (
    (r"\b(?:die[ds]?|dead|killed|deaths?|perish(?:ed)?|lost their lives)\b",
     r"\b(?:die[ds]?|dying|dead|death\w*|toll|kill\w*|lives|perish\w*|drown\w*|bodies|fatal\w*|victims?|casualt\w*|slain)\b"),
    (r"\b(?:injured|wounded|hurt|injuries)\b", r"\b(?:injur\w*|wound\w*|hurt|hospital\w*|casualt\w*)\b"),
    (r"\b(?:arrested|detained|charged)\b", r"\b(?:arrest\w*|detain\w*|charg\w*|custody|held)\b"),
    (r"\b(?:evacuated|displaced|homeless)\b", r"\b(?:evacu\w*|displac\w*|homeless|fled|flee\w*|forced)\b"),
)
#: spaCy labels that can answer each kind of question.
_ANSWER_LABELS: dict[str, set[str]] = {
    "place": {"GPE", "LOC", "FAC"},
    "person": {"PERSON"},
    "org": {"ORG"},
    "thing": {"PRODUCT", "WORK_OF_ART", "LAW", "EVENT", "FAC"},
    "name": {"PERSON", "ORG", "FAC", "PRODUCT", "WORK_OF_ART", "EVENT", "LAW"},
    "agent": {"PERSON", "ORG", "NORP", "GPE"},
}
_NOT_PLACES = frozenset(
    """january february march april may june july august september october november december monday
    tuesday wednesday thursday friday saturday sunday christmas easter reuters afp ap parliament
    court congress government police""".split()
)
#: Labels of proper names (not dates, times or quantities).
_PROPER_LABELS = {"PERSON", "NORP", "FAC", "ORG", "GPE", "LOC", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW", "LANGUAGE"}
#: Answer kinds asked for by name ("what is the name of …"): a sentence without one can't answer.
_NAME_TYPES = frozenset({"person", "org", "thing", "name"})
#: Answer kinds a sentence cannot hold without one of these: a digit or a word for an
#: amount, or (for "when") a word for a time. Deliberately broad: a sentence without any
#: is dropped, while the finer check (``_has_answer_type``) only costs a penalty.
_AMOUNT_WORDS = (
    rf"\d|\b(?:{_COUNT_WORDS}|scores?|halves|thirds?|quarters|fraction|triple|few|many|nothing|zero|"
    r"teens?|twenties|thirties|forties|fifties|sixties|seventies|eighties|nineties)\b"
)
_MEASURES: dict[str, str] = {
    "number": _AMOUNT_WORDS, "money": _AMOUNT_WORDS, "age": _AMOUNT_WORDS,
    "duration": _AMOUNT_WORDS + r"|\b(?:seconds?|minutes?|hours?|days?|weeks?|months?|years?|decades?|fortnight)\b",
    "time": _TIME_WORDS + r"|\d|\b(?:weekend|days?|overnight|recently|hours?|minutes?|fortnight|dawn|dusk|midnight|"
    r"noon|season|ago)\b",
}
#: Candidate answer sentences whose entities are looked up for typed questions.
_TYPED_CANDIDATES = 8
#: A length of time: "2:05:30", "91 minutes", "three days".
_DURATION = (
    r"\b\d{1,3}(?::\d{2}){1,2}(?:\.\d+)?\b(?!\s*(?:am|pm|a\.m|p\.m))"
    r"|(?:\b\d+(?:[.,]\d+)*(?:\s+|-)?|\b(?:an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"a few|several|many)(?:\s+|-))(?:hours?|hrs?|minutes?|mins?|seconds?|secs?|days?|weeks?|months?|years?|decades?)"
    r"\b(?!-old)"
)
_AGE_PATTERN = r"\b\d{1,3}-year-old\b|\baged?\s+\d{1,3}\b|\b\d{1,3}\s+years?\s+old\b|,\s*\d{1,3}\s*,|\(\d{1,3}\)"
#: For "who said …" answered from reported speech: sentences that attribute something.
_REPORTING = re.compile(
    r"\b(?:said|says|told|tells|described|according to|added|warned|claimed|stated|called|insisted)\b", re.IGNORECASE
)
_REPORTING_BONUS = 0.1
#: A quote in the passage that best matches the whole "who said" question earns this.
_TOP_PASSAGE_BONUS = 0.05
#: A quote's sentence counts for the quote, a little less than the quote itself.
_CONTEXT_DISCOUNT = 0.05
#: Answer sentences kept: those within this much of the best one.
_ANSWER_WINDOW = 0.1
#: Question words that say nothing about the answer's content.
_GENERIC_TERMS = frozenset(
    """how what who where when which why whose happen happened happens happening name named names
    many much people number thing things kind type make made get got go goes went use used new
    according report reported reports call called current currently like also way mean means
    know known think thought held hold holds holding take takes took taken place due expected""".split()
)

_CUE = (
    r"said|says|say|stated|states|told|tells|claimed|claims|warned|warns|added|argued|argues|insisted|"
    r"described|declared|admitted|promised|predicted|suggested|complained|announced|noted|remarked|"
    r"commented|wrote|explained|asked|urged|acknowledged|conceded|confirmed|denied|vowed|accused|"
    r"praised|criticised|criticized|called|thinks|believes|believed|revealed|"
    r"(?:voiced|expressed|raised)\s+(?:\w+\s+)?(?:concerns?|worry|worries|fears?|doubts?|support|opposition|anger|"
    r"regret|hope|sympathy|condolences|frustration|disappointment|shock|optimism|confidence)|"
    r"(?:was|is|were)\s+quoted(?:\s+as\s+saying)?|made\s+the\s+(?:remark|comment|statement|claim)"
)
#: "Which senate leader was announced as …" is passive: it asks who was named, not who spoke.
_WHO_SAID = re.compile(
    rf"^\s*(?:and\s+|so\s+)?(?:who\s+|which\s+(?:(?!(?:was|were|is|are|be|been|being)\s)[\w’'-]+\s+){{1,3}}?)"
    rf"(?:was\s+it\s+that\s+|is\s+it\s+that\s+|has\s+|had\s+)?"
    rf"(?:{_CUE})\b[\s,:]*(?:that\s+)?(?P<rest>.+?)[\s?.!]*$",
    re.IGNORECASE | re.DOTALL,
)
_PERSON_VERBS = (
    r"say|said|tell|told|think|thought|claim|claimed|warn|warned|argue|argued|comment|commented|"
    r"state|stated|reveal|revealed|predict|predicted|promise|promised|announce|announced|"
    r"have\s+to\s+say|had\s+to\s+say|mean|meant"
)
_TOPIC = (
    r"(?:\s+(?:[\w’'-]+\s+){0,2}?(?:about|on|regarding|concerning|over|of|to|towards?|re)\s+(?P<topic>.+?)"
    r"|\s+(?:that\s+)?(?P<clause>(?!(?:about|on|regarding|concerning)\b).+?))?"
)
_PERSON_SAID = [
    re.compile(
        rf"^\s*what\s+(?:did|does|has|have|had|do|will)\s+(?P<person>.+?)\s+(?:{_PERSON_VERBS})\b{_TOPIC}[\s?.!]*$",
        re.IGNORECASE | re.DOTALL,
    ),
    re.compile(
        r"^\s*how\s+(?:did|does|has)\s+(?P<person>.+?)\s+(?:describe|react|respond|characteri[sz]e|explain|justify|view|see)\b"
        r"(?:\s+(?:to\s+)?(?P<topic>.+?))?[\s?.!]*$",
        re.IGNORECASE | re.DOTALL,
    ),
    re.compile(
        rf"^\s*(?:what\s+(?:was|were|is|are)\s+)?(?P<person>[^?]+?)(?:'s|’s|s')\s+"
        rf"(?:comments?|remarks?|views?|position|quotes?|words|statements?|response|reaction|message)\b{_TOPIC}[\s?.!]*$",
        re.IGNORECASE | re.DOTALL,
    ),
    re.compile(
        rf"^\s*(?:quotes?|statements?|comments?|remarks?)\s+(?:from|by)\s+(?P<person>.+?){_TOPIC}[\s?.!]*$",
        re.IGNORECASE | re.DOTALL,
    ),
    re.compile(  # "What explanation did Saa give for resigning?"
        r"^\s*what\s+(?:explanation|reason|reasons|excuse|justification|account|message|warning|promise|assurances?)"
        r"\s+(?:did|does|has|have|had)\s+(?P<person>.+?)\s+(?:give|offer|provide|make)\b"
        r"(?:\s+(?:\w+\s+){0,3}?(?:for|about|on|over|of|to)\s+(?P<topic>.+?))?[\s?.!]*$",
        re.IGNORECASE | re.DOTALL,
    ),
]
#: Words after "what did X say" that are not a topic.
_NOT_TOPIC = frozenset(
    """yesterday today tonight recently lately earlier later then now again first last next this that
    week weekend month year morning afternoon evening night monday tuesday wednesday thursday friday
    saturday sunday before after since ago just also publicly privately there here exactly""".split()
)
_NAME_FILLERS = frozenset("the of and de la le du da di del der den van von bin ibn al el mr mrs ms dr".split())
_NOT_PERSON = frozenset(
    "it this that they them he she we you i the article articles report reports news story".split()
)


@dataclass(frozen=True)
class ParsedQuestion:
    """What :func:`classify` understood."""

    kind: QuestionKind
    text: str  # the question, cleaned
    focus: str  # what to search for: the quote/paraphrase, the topic, or the question
    person: str | None = None
    topic: str | None = None


def classify(question: str) -> ParsedQuestion:
    """Recognise the kind of question and its parts.

    Example:
        >>> classify("What did O'Brien say about North Korea?").person
        "O'Brien"
        >>> classify("Who said the Christmas gift didn't come?").focus
        "the Christmas gift didn't come"
    """
    text = " ".join(question.split())
    m = _WHO_SAID.match(text)
    if m and len(m.group("rest").split()) >= 2:
        return ParsedQuestion("who_said", text, m.group("rest").strip(" \"“”‘’'"))
    for pattern in _PERSON_SAID:
        m = pattern.match(text)
        if not m:
            continue
        person = _name_part(m.group("person"))
        person = re.sub(r"^(?:the|a|an)\s+", "", person, flags=re.IGNORECASE) if not person[:1].isupper() else person
        if person.lower() in _NOT_PERSON or len(person.split()) > 6:
            break
        parts = m.groupdict()
        clause = (parts.get("clause") or "").strip(" ?.!")
        if clause and all(w in _NOT_TOPIC for w in re.findall(r"[\w’']+", clause.lower())):
            clause = ""  # "what did X say yesterday?": a time, not a topic
        topic = (parts.get("topic") or clause).strip(" ?.!") or None
        return ParsedQuestion("person_said", text, topic or text, person=person, topic=topic)
    return ParsedQuestion("general", text, text)


def _name_part(person: str) -> str:
    """The name among comma-separated descriptions: "Tim, a former student" → Tim; "the
    White House press secretary, Ari Fleischer" → Ari Fleischer; otherwise the whole."""
    parts = [p.strip(" ,\"“”") for p in person.split(",")]
    if len(parts) == 1:
        return parts[0]
    for part in parts:
        words = part.split()
        if words and all(w[:1].isupper() or w.lower() in _NAME_FILLERS for w in words) and words[0][:1].isupper():
            return part
    return parts[0]


@dataclass(frozen=True)
class Citation:
    """A numbered source of an answer.

    Attributes:
        n: The number shown as ``[n]``.
        article_id, title, url: The article.
        chunk_id: The passage (stable id).
        start, end: The passage's character offsets in the article.
        passage: The passage text (``article_text[start:end]``).
        score: Relevance of the passage to the question.
        highlights: Offsets (in the article) of the sentences or quotes the answer took
            from this passage.
    """

    n: int
    article_id: str
    title: str
    url: str | None
    chunk_id: int
    start: int
    end: int
    passage: str
    score: float
    highlights: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class AnswerLine:
    """One line of an answer and the citation numbers that back it."""

    text: str
    citations: tuple[int, ...] = ()

    def render(self) -> str:
        """The line with its ``[n]`` markers."""
        marks = "".join(f"[{n}]" for n in self.citations)
        return f"{self.text} {marks}" if marks else self.text


@dataclass(frozen=True)
class Answer:
    """An answer with its evidence.

    Attributes:
        question: The question as asked.
        kind: ``who_said``, ``person_said`` or ``general``.
        found: False when the articles do not support an answer; then ``citations``
            are the closest passages, offered for reading, not as support.
        lines: The answer, line by line, each with its citation numbers.
        citations: Numbered sources.
        quotes: Catalogue quotes the answer used.
    """

    question: str
    kind: QuestionKind
    found: bool
    lines: tuple[AnswerLine, ...]
    citations: tuple[Citation, ...]
    quotes: tuple[QuoteRecord, ...] = ()
    notes: tuple[str, ...] = field(default=(), compare=False)

    @property
    def answer(self) -> str:
        """Plain text with ``[n]`` markers."""
        return "\n".join(line.render() for line in self.lines)

    def to_json(self) -> dict:
        """The documented JSON shape (see README)."""
        return {
            "question": self.question,
            "kind": self.kind,
            "found": self.found,
            "answer": self.answer,
            "citations": [
                {
                    "n": c.n, "article_id": c.article_id, "title": c.title, "url": c.url,
                    "chunk_id": c.chunk_id, "start": c.start, "end": c.end, "passage": c.passage,
                    "score": round(c.score, 4), "highlights": [list(h) for h in c.highlights],
                }
                for c in self.citations
            ],
            "quotes": [
                {k: v for k, v in asdict(q).items() if k not in ("title", "url")} for q in self.quotes
            ],
        }


@dataclass
class _Sentence:
    chunk: ChunkRecord
    start: int  # offsets in the article
    end: int
    text: str
    score: float = 0.0


class _Citations:
    """Hands out citation numbers in order of first use."""

    def __init__(self) -> None:
        self._by_chunk: dict[int, int] = {}
        self._items: list[tuple[ChunkRecord, float, list[tuple[int, int]]]] = []

    def cite(self, chunk: ChunkRecord, score: float, span: tuple[int, int] | None) -> int:
        n = self._by_chunk.get(chunk.id)
        if n is None:
            self._items.append((chunk, score, []))
            n = self._by_chunk[chunk.id] = len(self._items)
        if span is not None and span not in self._items[n - 1][2]:
            self._items[n - 1][2].append(span)
        return n

    def build(self) -> tuple[Citation, ...]:
        return tuple(
            Citation(
                n=i, article_id=c.article_id, title=c.title, url=c.url, chunk_id=c.id, start=c.start,
                end=c.end, passage=c.text, score=score, highlights=tuple(sorted(spans)),
            )
            for i, (c, score, spans) in enumerate(self._items, 1)
        )


class Engine:
    """Answers questions over one store. Thread-safe: ask from many threads, ingest from one.

    Args:
        settings: Bot settings (``settings.index`` for the store and models).
        store: An open store (opened from settings when omitted).
        embedder: The embedding model (loaded from settings when omitted).
    """

    def __init__(self, settings: BotSettings, *, store: Store | None = None, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.store = store or Store.open(settings.index)
        self.embedder = embedder or load_embedder(settings.index.model, settings.index.batch_size, settings.index.threads)
        self.searcher = Searcher(self.store, self.embedder)
        self._extractor: QuoteExtractor | None = None
        self._entities: EntityTagger | bool | None = None  # False: no NER model
        self._ingest_lock = threading.Lock()
        self._cache_lock = threading.Lock()
        self._sentence_cache: OrderedDict[int, tuple[list[_Sentence], np.ndarray]] = OrderedDict()

    @classmethod
    def open(cls, settings: BotSettings) -> Engine:
        """Open the store and load the model named in ``settings``."""
        return cls(settings)

    def close(self) -> None:
        self.store.close()

    # -- knowledge management (thin wrappers so front ends need only the engine) ----------
    @property
    def extractor(self) -> QuoteExtractor | None:
        if self._extractor is None and self.settings.index.quotes:
            self._extractor = QuoteExtractor(self.settings.index.spacy_model)
        return self._extractor

    def ingest(self, targets: Iterable[str], progress: bool = False) -> IngestReport:
        """Add or update articles; searches keep working meanwhile (one ingest at a time)."""
        # The sentence cache needs no purge: chunk ids are never reused, so a replaced
        # passage's entry is simply never asked for again and ages out.
        with self._ingest_lock:
            return ingest(self.store, self.embedder, targets, extractor=self.extractor, progress=progress)

    def ingest_upload(self, path: Path) -> IngestReport:
        """Add one uploaded file, whose name need not be unique ("document.txt").

        Its id is its file name, as for any file, unless an article of that id tells
        another story (another headline): then it becomes ``<name>-<hash of its
        headline>``, so a second "document.txt" never replaces the first, and a corrected
        version of either (same headline) still updates it. Decided and ingested under
        the ingest lock, so two uploads at once cannot both claim the free name.
        """
        with self._ingest_lock:
            path = self._own_name(Path(path))
            return ingest(self.store, self.embedder, [str(path)], extractor=self.extractor)

    def _own_name(self, path: Path) -> Path:
        if path.suffix.lower() in (".json", ".jsonl"):  # records carry their own ids
            return path
        new = next(load_path(path, self.settings.index), None)
        existing = self.store.article(new.id) if isinstance(new, Article) else None  # the id ingest will use
        if existing is None or new.title == existing.title:
            return path
        digest = hashlib.sha1(new.title.encode("utf-8")).hexdigest()[:8]
        renamed = path.with_name(f"{path.stem}-{digest}{path.suffix}")
        path.rename(renamed)
        log.info("upload %s has another headline than article %s: stored as %s", path.name, path.stem, renamed.stem)
        return renamed

    def remove(self, article_ids: Iterable[str]) -> list[str]:
        """Remove articles by id; returns those that existed."""
        with self._ingest_lock:
            return self.store.remove(article_ids)

    def ensure_seeded(self, progress: bool = False) -> IngestReport | None:
        """Index ``settings.seeds_dir`` when the store is empty (first run)."""
        if self.store.stats().articles or not Path(self.settings.seeds_dir).is_dir():
            return None
        log.info("empty store: indexing the seed articles in %s", self.settings.seeds_dir)
        return self.ingest([str(self.settings.seeds_dir)], progress=progress)

    def warm_up(self) -> None:
        """Load what the first question would otherwise wait for (the NER model, ~1 s)."""
        self.embedder.encode(["warm-up"])
        self._entity_tagger()

    def stats(self) -> StoreStats:
        return self.store.stats()

    def articles(self, limit: int | None = None, offset: int = 0) -> list[ArticleRecord]:
        return self.store.articles(limit, offset)

    def article(self, article_id: str) -> ArticleRecord | None:
        return self.store.article(article_id)

    def speakers(self) -> list[tuple[str, int]]:
        """Canonical speakers with their quote counts, most quoted first."""
        return self.store.speakers()

    def passage(self, chunk_id: int) -> ChunkRecord | None:
        """One passage by id (for "open the source")."""
        return self.store.chunk(chunk_id)

    def search(self, query: str, k: int = 5, mode: str = "hybrid") -> list[Hit]:
        return self.searcher.search(query, k=k, mode=mode)

    def quotes(self, name: str | None = None, article_id: str | None = None) -> list[QuoteRecord]:
        """Quotes, optionally by a (fuzzily matched) speaker name or article."""
        if not name:
            return self.store.quotes(article_id=article_id)
        return [q for speaker in self.match_speakers(name) for q in self.store.quotes(speaker, article_id)]

    def match_speakers(self, name: str) -> list[str]:
        """Canonical speakers matching a name, best first (only the best score's ties).

        A title alone ("the Queen", "the Pope", "Spain's King") matches the one speaker
        whose role ends with it and has its other words; several such speakers ("the
        President") match none: which one was meant is not known.

        Example:
            >>> engine.match_speakers("the Queen")  # doctest: +SKIP
            ['Elizabeth II']
        """
        matches = match_speakers(name, [s for s, _ in self.store.speakers()])
        if matches:
            best = matches[0][1]
            return [s for s, score in matches if score >= best - 1e-6]
        return _by_role(name, self.store.speaker_roles())

    def example_questions(self, n: int = 2) -> list[str]:
        """Questions this corpus can answer, for /start and help texts."""
        out: list[str] = []
        speakers = self.store.speakers()
        if speakers:
            speaker = speakers[0][0]
            quotes = [q for q in self.store.quotes(speaker) if len(q.text.split()) >= 6]
            # a quote that opens a sentence reads best as a prompt ("All we know is …")
            quote = next((q for q in quotes if q.text[:1].isupper()), quotes[0] if quotes else None)
            if quote is not None:
                words = quote.text.split()[:7]
                out.append(f"Who said “{' '.join(words).rstrip(',.;:')}…”?")
            out.append(f"What did {speaker} say?")
        for art in self.store.articles(limit=n):
            if len(out) >= n:
                break
            out.append(f"What happened: {art.title}?" if len(art.title) < 80 else "What is the latest news?")
        return out[:n]

    # -- answering --------------------------------------------------------------------
    def ask(self, question: str) -> Answer:
        """Answer one question.

        Args:
            question: Free text (at most 1000 characters).

        Returns:
            An :class:`Answer`; ``found`` is False when the articles do not say.

        Raises:
            InputError: empty or overlong question.
        """
        question = clean_text(question).strip()
        if not question:
            raise InputError("the question is empty")
        if len(question) > _MAX_QUESTION_CHARS:
            raise InputError(f"the question is longer than {_MAX_QUESTION_CHARS} characters")
        parsed = classify(question)
        if parsed.kind == "who_said":
            answer = self._who_said(parsed)
        elif parsed.kind == "person_said":
            answer = self._person_said(parsed)
        else:
            answer = self._general(parsed)
        if self.settings.llm_url and self.settings.llm_model and answer.found:
            from .llm import rewrite  # optional path; keeps the default import light

            answer = rewrite(answer, self.settings.llm_url, self.settings.llm_model, self.settings.llm_api_key)
        log.info("ask kind=%s found=%s citations=%d", answer.kind, answer.found, len(answer.citations))
        return answer

    def _who_said(self, q: ParsedQuestion) -> Answer:
        qvec = self.embedder.encode([q.focus])[0]
        hits = self.searcher.search_vector(q.focus, qvec, _SEARCH_K)
        candidates = self._quotes_in(hits)
        if candidates:
            vecs = self.store.quote_vectors([c.id for c in candidates])
            terms = set(lexical_terms(q.focus))
            # A short quote ("solid") says little alone: also score the sentence around it.
            context: list[tuple[str, int, int, float]] = []
            top = hits[: self.settings.answer_passages]
            for hit, (sents, svecs) in zip(top, self._sentences([h.record() for h in top]), strict=True):
                context.extend((hit.article_id, x.start, x.end, float(v @ qvec)) for x, v in zip(sents, svecs, strict=True))
            # the passage the whole question matched best ("in a Christmas speech …") vouches
            # for its quotes, whose own words may paraphrase the question loosely
            first = hits[0].chunk_id
            scored = []
            for quote in candidates:
                vec = vecs.get(quote.id)
                sim = float(np.dot(vec, qvec)) if vec is not None else 0.0
                around = [c for a, st, en, c in context if a == quote.article_id and st < quote.end and en > quote.start]
                sim = max([sim, *(c - _CONTEXT_DISCOUNT for c in around)])
                bonus = _TOP_PASSAGE_BONUS if quote.chunk_id == first else 0.0
                scored.append((sim + 0.15 * _overlap(terms, quote.text) + bonus, quote))
            scored.sort(key=lambda x: -x[0])
            best_score, best = scored[0]
            if best_score >= self.settings.min_quote_score:
                cites = _Citations()
                chunk = self._chunk_holding(best, hits)
                shown, span = _quote_part(best, chunk)
                n = cites.cite(chunk, best_score, span)
                who = _speaker_phrase(best)
                line = (
                    f"{who} said: “{shown}”"
                    if best.canonical_speaker
                    else f"The articles quote this without naming the speaker: “{shown}”"
                )
                return Answer(q.text, "who_said", True, (AnswerLine(line, (n,)),), cites.build(), (best,))
        # No matching quote: reported speech ("O'Brien confirmed that …") may still answer.
        return self._general(q, kind="who_said", qvec=qvec, hits=hits)

    def _person_said(self, q: ParsedQuestion) -> Answer:
        assert q.person is not None
        speakers = self.match_speakers(q.person)
        quotes = [quote for s in speakers for quote in self.store.quotes(s)]
        if quotes:
            topic = q.topic
            tvec = self.embedder.encode([topic])[0] if topic else None
            vecs = self.store.quote_vectors([x.id for x in quotes]) if topic else {}
            terms = set(lexical_terms(topic or ""))
            topic_names = query_names(topic) if topic else []
            name_terms = set(lexical_terms(" ".join(topic_names)))  # names count once, below
            salient = [t for t in lexical_terms(topic or "") if t not in _GENERIC_TERMS and t not in name_terms]
            passages = self.store.chunks([x.chunk_id for x in quotes if x.chunk_id is not None]) if topic else {}
            # A short quote ("to cultivate it") says little alone: its sentence counts too.
            context: dict[int, list[tuple[int, int, float, str]]] = {}
            if tvec is not None and passages:
                chunks = list(passages.values())
                for chunk, (sents, svecs) in zip(chunks, self._sentences(chunks), strict=True):
                    context[chunk.id] = [
                        (x.start, x.end, float(v @ tvec), x.text) for x, v in zip(sents, svecs, strict=True)
                    ]
            scored = []
            for quote in quotes:
                vec = vecs.get(quote.id)
                rel = (float(np.dot(vec, tvec)) if vec is not None and tvec is not None else 0.0)
                around = [(c, s) for st, en, c, s in context.get(quote.chunk_id, []) if st < quote.end and en > quote.start]
                rel = max([rel, *(c - _CONTEXT_DISCOUNT for c, _ in around)])
                rel += 0.15 * _overlap(terms, " ".join([quote.text, *(s for _, s in around)]))
                if salient:  # the topic's words should appear in or around the quote
                    where = passages.get(quote.chunk_id)
                    missing = _missing(salient, where.text if where else quote.text)
                    # a long paraphrased topic ("religious belief in a year scarred by terrorism")
                    # shares fewer words with the quote: each missing word counts for less
                    rel -= min(_MAX_MISSING_PENALTY, _MISSING_TERM_PENALTY * missing * min(1.0, _TOPIC_WORDS / len(salient)))
                if topic_names:  # "what did X say about Bloomberg": the article must name Bloomberg
                    nowhere, elsewhere = self._absent_names(topic_names, passages.get(quote.chunk_id), quote.text)
                    rel -= min(_MAX_MISSING_NAME_PENALTY,
                               _MISSING_NAME_PENALTY * nowhere + _ELSEWHERE_NAME_PENALTY * elsewhere)
                scored.append((rel, quote))
            if topic:
                scored.sort(key=lambda x: -x[0])
                best = scored[0][0]
                keep = [(s, x) for s, x in scored if s >= max(self.settings.min_topic_score, best - 0.15)]
            else:
                keep = scored
            keep = keep[: self.settings.max_answer_sentences - 1]
            if keep:
                cites = _Citations()
                lines = []
                spans = []
                for i, (score, quote) in enumerate(keep):
                    chunk = passages.get(quote.chunk_id) or self._chunk_holding(quote, [])
                    shown, span = _quote_part(quote, chunk)
                    n = cites.cite(chunk, score, span)
                    spans.append((quote.article_id, quote.start, quote.end))
                    text = f"“{shown}”"
                    lines.append(AnswerLine(f"{_speaker_phrase(quote)} said: {text}" if i == 0 else f"Also: {text}", (n,)))
                # Reported speech often carries the point ("Labor must act, Brown said."): add the
                # best attributing sentence about the person when it is not one of the quotes.
                reported = self._general(
                    ParsedQuestion("person_said", q.text, f"{q.person} {topic or ''}".strip(), q.person, topic),
                    kind="person_said", must=q.person, attributing=True,
                )
                if reported.found:
                    cite = reported.citations[reported.lines[0].citations[0] - 1]
                    start, end = cite.highlights[0]
                    if not any(a == cite.article_id and st < end and en > start for a, st, en in spans):
                        chunk = self.store.chunk(cite.chunk_id)
                        if chunk is not None:
                            n = cites.cite(chunk, cite.score, (start, end))
                            lines.append(AnswerLine(reported.lines[0].text, (n,)))
                return Answer(q.text, "person_said", True, tuple(lines), cites.build(), tuple(x for _, x in keep))
        # Not quoted (or not on this topic): reported speech about the person may answer.
        focus = f"{q.person} {q.topic or ''}".strip()
        answer = self._general(
            ParsedQuestion("person_said", q.text, focus, q.person, q.topic), kind="person_said", must=q.person
        )
        if not answer.found:
            line = AnswerLine(
                f"The articles don't quote {q.person}" + (f" on {q.topic}." if q.topic else ".")
                + (" The closest passages are listed below." if answer.citations else "")
            )
            return Answer(q.text, "person_said", False, (line,), answer.citations)
        return answer

    def _general(
        self,
        q: ParsedQuestion,
        kind: QuestionKind = "general",
        qvec: np.ndarray | None = None,
        hits: list[Hit] | None = None,
        must: str | None = None,
        attributing: bool = False,
    ) -> Answer:
        if qvec is None:
            qvec = self.embedder.encode([q.focus])[0]
        if hits is None:
            hits = self.searcher.search_vector(q.focus, qvec, _SEARCH_K)
        if not hits:
            return _not_found(q, kind, [], "The articles don't say anything about this.")
        names = query_names(q.text)
        if must:
            names = list(dict.fromkeys([*names, must]))
        folded = [fold_text(n) for n in names]
        must_key = fold_text(must.split()[-1]) if must else None
        surname = [fold_text(n.split()[-1]) for n in names]
        terms = set(lexical_terms(q.focus))
        expected = _expected_answer_type(q.text) if kind == "general" else None
        salient = [t for t in lexical_terms(q.text) if t not in _GENERIC_TERMS and t not in lexical_terms(" ".join(names))]
        # "what did X say about Bloomberg": a passage that never names Bloomberg can't answer
        topic_names = query_names(q.topic) if must and q.topic else []
        asked_names = [n for n in names if n != must and n not in topic_names]  # topic names count once, below
        sentences: list[_Sentence] = []
        seen: set[tuple[str, int]] = set()
        top = hits[: self.settings.answer_passages]
        for rank, (hit, (sents, vecs)) in enumerate(zip(top, self._sentences([h.record() for h in top]), strict=True)):
            sims = vecs @ qvec if len(sents) else np.zeros(0)
            missing = _missing(salient, hit.text)
            penalty = min(_MAX_MISSING_PENALTY, _MISSING_TERM_PENALTY * missing)
            if topic_names:  # never named in the article: skip; named in another passage: a cost
                nowhere, elsewhere = self._absent_names(topic_names, hit.record())
                if nowhere:
                    continue
                penalty += _ELSEWHERE_NAME_PENALTY * elsewhere
            absent = _missing_names(asked_names, f"{hit.title}\n{hit.text}")
            penalty += min(_MAX_MISSING_NAME_PENALTY, _MISSING_NAME_PENALTY * absent)
            title = fold_text(hit.title)
            for s, sim in zip(sents, sims, strict=True):
                key = (hit.article_id, s.start)
                if key in seen:
                    continue
                seen.add(key)
                text = fold_text(s.text)
                name_frac = (
                    sum(1 for f, last in zip(folded, surname, strict=True) if f in text or last in text) / len(names)
                    if names else 0.0
                )
                if must_key and must_key not in text:
                    continue  # "what did X say": only sentences that mention X
                score = float(sim) + 0.08 * _overlap(terms, s.text) + 0.12 * name_frac - 0.01 * rank - penalty
                if title and title in text and len(text) < len(title) + 60:
                    continue  # the headline again (share boxes, "more from"): not an answer
                if kind == "who_said" or attributing:
                    if not _REPORTING.search(s.text):
                        continue  # "who said …" is answered only by a sentence that attributes
                    score += _REPORTING_BONUS
                sentences.append(_Sentence(s.chunk, s.start, s.end, s.text, score))
        sentences.sort(key=lambda s: -s.score)
        event = _count_event(q.text) if expected == "number" else None
        if event:  # "how many people died": a sentence without deaths can't count them
            sentences = [s for s in sentences if re.search(event, s.text.lower())]
        if expected in _MEASURES:  # "when …?" answered by a sentence with no time at all: no
            sentences = [s for s in sentences if re.search(_MEASURES[expected], s.text, re.IGNORECASE)]
        if expected and sentences:  # only the leaders are tagged; the rest count as lacking the type
            tail = [replace(s, score=s.score - _ANSWER_TYPE_PENALTY) for s in sentences[_TYPED_CANDIDATES:]]
            sentences = sorted(self._typed(sentences[:_TYPED_CANDIDATES], expected, q.text) + tail, key=lambda s: -s.score)
        if not sentences or sentences[0].score < self.settings.min_answer_score:
            return _not_found(q, kind, hits, "The articles don't say.")
        best = sentences[0].score
        chosen = [s for s in sentences if s.score >= best - _ANSWER_WINDOW][: self.settings.max_answer_sentences]
        cites = _Citations()
        lines = []
        for s in chosen:
            n = cites.cite(s.chunk, s.score, (s.start, s.end))
            lines.append(AnswerLine(" ".join(s.text.split()), (n,)))
        return Answer(q.text, kind, True, tuple(lines), cites.build())

    # -- helpers ----------------------------------------------------------------------
    def _typed(self, sentences: list[_Sentence], expected: AnswerType, question: str) -> list[_Sentence]:
        """The sentences re-scored by whether they hold the kind of answer asked for."""
        entities: list[tuple[Entity, ...]] | list[None] = [None] * len(sentences)
        tagger = self._entity_tagger() if expected in _ANSWER_LABELS or expected in ("time", "money") else None
        if tagger is not None:
            entities = tagger.entities([s.text for s in sentences])
        request = _name_request(question) if tagger is not None and expected in _NAME_TYPES else None
        noun = request[1] if request else None
        out = []
        for s, ents in zip(sentences, entities, strict=True):
            if noun and _names_it_elsewhere(tagger, s.text, noun, question):
                continue  # it speaks of "the Yemeni" and names someone else: not the answer
            if _has_answer_type(expected, s.text, question, ents):
                out.append(s)
            elif expected in _NAME_TYPES and not _has_answer_type("name", s.text, question, ents, any_name=True):
                continue  # "what is the name of …" and the sentence names nothing new: no answer
            else:
                out.append(replace(s, score=s.score - _ANSWER_TYPE_PENALTY))
        return sorted(out, key=lambda s: -s.score)

    def _absent_names(self, names: Sequence[str], chunk: ChunkRecord | None, fallback: str = "") -> tuple[int, int]:
        """How many of the question's names a passage lacks: ``(nowhere, elsewhere)`` —
        those its article never mentions, and those only other passages of it mention.
        Without a passage, ``fallback`` text stands in and "elsewhere" is unknown."""
        here = f"{chunk.title}\n{chunk.text}" if chunk is not None else fallback
        absent = [n for n in names if _missing_names([n], here)]
        if not absent or chunk is None:
            return len(absent), 0
        article = self.store.article_text(chunk.article_id) or ""
        nowhere = _missing_names(absent, article)
        return nowhere, len(absent) - nowhere

    def _entity_tagger(self) -> EntityTagger | None:
        """The NER tagger, or ``None`` (with one warning) when its spaCy model won't load."""
        if self._entities is None:
            tagger = EntityTagger(self.settings.index.spacy_model)
            try:
                tagger.entities(["Warm-up in Paris."])
            except ConfigError as exc:
                log.warning("typed answers without NER (names guessed from capitals): %s", exc)
                tagger = None
            self._entities = tagger or False
        return self._entities or None

    def _sentences(self, chunks: Sequence[ChunkRecord]) -> list[tuple[list[_Sentence], np.ndarray]]:
        """Each passage's sentences (three words or more) and their vectors.

        Passages not seen recently are embedded together in one batch: one model call
        instead of one per passage.
        """
        out: dict[int, tuple[list[_Sentence], np.ndarray]] = {}
        with self._cache_lock:
            for chunk in chunks:
                cached = self._sentence_cache.get(chunk.id)
                if cached is not None:
                    self._sentence_cache.move_to_end(chunk.id)
                    out[chunk.id] = cached
        todo = [c for c in {c.id: c for c in chunks}.values() if c.id not in out]
        if todo:
            split = [
                [
                    _Sentence(chunk, chunk.start + s.start, chunk.start + s.end, s.text)
                    for s in split_sentences(chunk.text)
                    if len(s.text.split()) >= 3
                ]
                for chunk in todo
            ]
            texts = [s.text for sents in split for s in sents]
            vecs = self.embedder.encode(texts) if texts else np.zeros((0, self.embedder.dim), np.float32)
            at = 0
            with self._cache_lock:
                for chunk, sents in zip(todo, split, strict=True):
                    entry = (sents, vecs[at : at + len(sents)])
                    at += len(sents)
                    out[chunk.id] = self._sentence_cache[chunk.id] = entry
                while len(self._sentence_cache) > _SENTENCE_CACHE:
                    self._sentence_cache.popitem(last=False)
        return [out[c.id] for c in chunks]

    def _quotes_in(self, hits: Sequence[Hit]) -> list[QuoteRecord]:
        """Quotes overlapping the hit passages."""
        spans: dict[str, list[tuple[int, int]]] = {}
        for h in hits:
            spans.setdefault(h.article_id, []).append((h.start, h.end))
        out = []
        for article_id, ranges in spans.items():
            for quote in self.store.quotes(article_id=article_id):
                if any(quote.start < end and quote.end > start for start, end in ranges):
                    out.append(quote)
        return out

    def _chunk_holding(self, quote: QuoteRecord, hits: Sequence[Hit]) -> ChunkRecord:
        """The passage to cite for a quote: a hit that holds it whole, else its own chunk."""
        for h in hits:
            if h.article_id == quote.article_id and h.start <= quote.start and quote.end <= h.end:
                return h.record()
        chunk = self.store.chunk(quote.chunk_id) if quote.chunk_id is not None else None
        if chunk is None:
            raise InputError(f"quote {quote.id} has no passage; re-ingest article {quote.article_id}")
        return chunk


def _not_found(q: ParsedQuestion, kind: QuestionKind, hits: Sequence[Hit], message: str) -> Answer:
    cites = _Citations()
    for h in hits[:3]:
        cites.cite(
            h.record(),
            h.similarity,
            None,
        )
    line = message + (" The closest passages are listed below." if hits else "")
    return Answer(q.text, kind, False, (AnswerLine(line),), cites.build())


def _quote_part(quote: QuoteRecord, chunk: ChunkRecord) -> tuple[str, tuple[int, int]]:
    """The part of a quote inside the cited passage (with … where it runs on), and its span.

    A quote longer than a passage is shown only as far as the passage holds it, so the
    cited passage always contains the quoted words.
    """
    start, end = max(quote.start, chunk.start), min(quote.end, chunk.end)
    part = chunk.text[start - chunk.start : end - chunk.start]
    shown = ("…" if start > quote.start else "") + _clip(part) + ("…" if end < quote.end else "")
    return shown, (start, end)


def _speaker_phrase(quote: QuoteRecord) -> str:
    name = quote.canonical_speaker or quote.speaker or "An unnamed speaker"
    return f"{name}, {quote.role}," if quote.role else name


def _expected_answer_type(question: str) -> AnswerType | None:
    """What a direct answer must contain, or ``None`` when the question does not say.

    Example:
        >>> _expected_answer_type("In which city was he tried?")
        'place'
    """
    q = question.lower()
    for pattern, kind in _QUESTION_TYPES:
        if pattern.search(q):
            return kind
    request = _name_request(q)
    if request is not None:
        return request[0]
    if _AGENT_QUESTION.search(q):
        return "agent"
    return None


_DETERMINERS = frozenset("the a an his her their its this that these those".split())
_CLAUSE_WORDS = frozenset(
    "who whom whose that which where when in on at of for from with by to is was were are did does has had".split()
)


def _name_request(question: str) -> tuple[AnswerType, str | None] | None:
    """For "what is the name of the <noun> …": the kind of name wanted and the noun.

    The first noun of the kind lists is the head ("the union representing cricketers" →
    org, union); without one, the word before the clause ("the arrested Yemeni who …",
    "the goose the researchers …"). ``None`` when the question asks for no name.

    Example:
        >>> _name_request("What was the name of the arrested Yemeni?")
        ('name', 'yemeni')
    """
    m = _NAME_OF.search(question.lower())
    if m is None:
        return None
    if m.group("part"):  # "the first name of …"
        return "person", None
    what = (m.group("what") or m.group("what2") or "").split(",")[0]
    heads = [(k.end(), kind) for pattern, kind in _NAMED_KINDS if (k := pattern.match(what))]
    end, kind = min(heads) if heads else (len(what), "name")
    words = re.findall(r"[\w’'-]+", what[:end])
    if not heads:
        stop = next((i for i, w in enumerate(words) if w in _CLAUSE_WORDS or (i and w in _DETERMINERS)), len(words))
        words = words[:stop]
    return kind, (words[-1].strip("’'") if words else None)


def _names_it_elsewhere(tagger: EntityTagger, sentence: str, noun: str, question: str) -> bool:
    """Whether the sentence mentions the noun asked about but names nothing near it: "one
    Arab, believed to be a Yemeni, …, Mr Jan said" does not name the Yemeni."""
    near = tagger.names_near(sentence, noun)
    return near is not None and not _new_entity(near, _PROPER_LABELS | {"PROPN"}, question)


def _has_answer_type(
    kind: AnswerType, sentence: str, question: str, entities: Sequence[Entity] | None, any_name: bool = False
) -> bool:
    """Whether ``sentence`` holds an answer of ``kind`` that the question itself does not.

    ``entities`` are the sentence's named entities (``None`` when no NER model is
    available: then a capitalised word inside the sentence stands in for a name).
    """
    text = sentence.lower()
    if kind == "age":
        return re.search(_AGE_PATTERN, text) is not None
    if kind == "money":
        if re.search(r"[$£€¥]\s?\d|\d\s?(?:dollars|pounds|euros|yen|cents|pence|rupees|francs)\b|\b(?:US|A|NZ|C|HK)\$", sentence):
            return True
        return entities is not None and _new_entity(entities, {"MONEY"}, question)
    if kind == "number":
        asked = {m.group(0) for m in _NUMBER_RE.finditer(question.lower())}
        numbers = [
            m for m in _NUMBER_RE.finditer(text)
            if m.group(0) not in asked and not (re.fullmatch(r"(?:19|20)\d\d", m.group(0)) and _YEAR_CONTEXT.search(text[: m.start()]))
        ]
        counted = re.search(r"\bhow many\s+(?:more\s+|of\s+the\s+)?([a-z]+)", question.lower())
        if not numbers or not counted:
            return bool(numbers)
        if counted.group(1) in _VAGUE_COUNTS:
            return True
        # "how many homes": when the sentence speaks of homes, a number must count them
        # ("150 homes", "dozens of homes"; not "hundreds of people left their homes").
        # A sentence that never says "homes" may use another word ("a crowd of 8,000").
        noun = re.sub(r"(?:ies|es|s)$", "", counted.group(1))
        forms = rf"{re.escape(noun)}(?:s|es|ies|y)?\b"
        if not re.search(rf"\b{forms}", text):
            return True
        return any(re.match(rf"(?:\s+of)?(?:\s+[\w-]+)?\s+{forms}", text[m.end():]) for m in numbers)
    if kind == "duration":  # "2:05:30", "91 minutes", "three days"
        return re.search(_DURATION, text) is not None
    if kind == "time":
        asked = {m.group(0) for m in re.finditer(_TIME_WORDS, question.lower())}
        if any(m.group(0) not in asked for m in re.finditer(_TIME_WORDS, text)):
            return True
        return entities is not None and _new_entity(entities, {"DATE", "TIME"}, question)
    folded_q = fold_text(question)
    if kind == "place":  # "off the Gold Coast", "in Dagestan": NER misses many places
        places = re.findall(r"\b(?:in|at|off|near|outside|inside|from|to)\s+(?:the\s+)?([A-Z][\w’'-]+)", sentence)
        if any(fold_text(w) not in folded_q and w.lower() not in _NOT_PLACES for w in places):
            return True
    if entities is None:
        words = re.findall(r"(?<=[\w,;:] )[A-Z][\w’'-]+", sentence)
        return any(fold_text(w) not in folded_q for w in words)
    return _new_entity(entities, _PROPER_LABELS if any_name else _ANSWER_LABELS[kind], question)


def _count_event(question: str) -> str | None:
    """A pattern for the event a vague count asks about ("how many people died" → deaths)."""
    q = question.lower()
    for pattern, words in _COUNT_EVENTS:
        if re.search(pattern, q):
            return words
    return None


def _new_entity(entities: Sequence[Entity], labels: set[str], question: str) -> bool:
    """Whether one of ``entities`` has one of ``labels`` and is not named in the question."""
    asked = {w for w in re.findall(r"\w+", fold_text(question)) if len(w) >= 3}
    return any(
        e.label in labels and not any(w in asked for w in re.findall(r"\w+", fold_text(e.text)) if len(w) >= 3)
        for e in entities
    )


def _missing_names(names: Sequence[str], text: str) -> int:
    """How many of the question's names ``text`` does not mention.

    A name counts as mentioned when its last word and at least half of its words are
    there, possessives and plural "s" dropped and longer words matched on their first five
    letters ("Sri Lankan" → "Sri Lanka", "Russia's" → "Russia", "Arabs" → "Arab"). A name made only of short
    capitals ("US", "NSW") is skipped: the text may spell it out.

    Example:
        >>> _missing_names(["FIFA World Cup", "Perth"], "the Hopman Cup in Perth")
        1
    """
    folded = fold_text(text)
    missing = 0
    for name in names:
        words = re.findall(r"[\w’'.]+", name)
        if all(w.isupper() and len(w.strip(".")) <= 4 for w in words):
            continue
        words = [re.sub(r"(?:['’]s|['’])$", "", fold_text(w)).strip(".-") for w in words]
        words = [w for w in words if len(w) >= 2 and w not in _NAME_FILLERS]
        if not words:
            continue
        found = [re.search(r"(?<!\w)" + re.escape(w[:5] if len(w) > 5 else w), folded) is not None for w in words]
        if len(words) == 1 and not found[0] and len(words[0]) > 3 and words[0].endswith("s"):
            stem = name.strip(" .'’")[: len(words[0]) - 1]  # "Arabs" → "Arab": as a whole word, capitalised
            found[0] = stem[:1].isupper() and re.search(rf"\b{re.escape(stem)}\b", text) is not None
        if not found[-1] or 2 * sum(found) < len(words):
            missing += 1
    return missing


def _by_role(title: str, roles: Sequence[tuple[str, str]]) -> list[str]:
    """The one speaker whose role ends with the title ("Queen" → "Britain's Queen") and
    has its other words ("Spain's King"); none when the title is no role word
    ("Nicorette") or fits several speakers ("the President", "the spokesman")."""
    words = [re.sub(r"['’]s$", "", w) for w in re.findall(r"[\w’'-]+", fold_text(title))]
    words = [w for w in words if w not in ("the", "a", "an")]
    if not words or len(words) > 4 or not is_role_word(words[-1]):
        return []
    head, others = words[-1], words[:-1]
    fits = {
        speaker for speaker, role in roles
        if re.findall(r"[\w-]+", fold_text(role))[-1:] == [head] and all(w[:4] in fold_text(role) for w in others)
    }
    return list(fits) if len(fits) == 1 else []


def _missing(terms: Sequence[str], text: str) -> int:
    """How many terms have no word in ``text`` sharing their first five letters."""
    stems = {w[:5] for w in lexical_terms(text)}
    return sum(1 for t in terms if t[:5] not in stems)


def _overlap(terms: set[str], text: str) -> float:
    """Fraction of query terms present in the text (Porter-free, prefix-tolerant)."""
    if not terms:
        return 0.0
    words = set(lexical_terms(text))
    hit = sum(1 for t in terms if t in words or any(w.startswith(t[:5]) for w in words if len(t) >= 5))
    return hit / len(terms)


def _clip(text: str) -> str:
    text = " ".join(text.split()).rstrip(",;: ")
    return text if len(text) <= _MAX_QUOTE_CHARS else text[: _MAX_QUOTE_CHARS - 1].rsplit(" ", 1)[0] + "…"


