"""HTML rendering of citebot's answers, passages and lists for Telegram.

Everything here is pure: an :class:`~bot.answer.Answer` (or a passage, a page of quotes,
a list of articles) in, a :class:`Reply` out — the message text in Telegram's HTML
dialect, already split into parts of at most 4096 characters, plus an optional inline
keyboard. Every dynamic string is escaped; tags are never cut by a split (open tags are
closed at the end of a part and reopened at the start of the next).

Callback data carries ids only, so buttons keep working after a restart:

* ``p:<chunk_id>:<start>-<end>[,<start>-<end>…]`` — open a passage, cited spans as
  offsets relative to the passage start;
* ``q:<speaker-key>:<page>`` — a page of a speaker's quotes (the key is a short hash of
  the canonical speaker name, see :func:`speaker_key`);
* ``s:<page>`` — a page of the article list;
* ``x:<i>`` — ask the i-th example question of ``/start``.

Example:
    >>> reply = render_passage(
    ...     text="Talks may resume. Nobody knows when.", title="Talks <live>",
    ...     url="https://example.com/a", article_id="a1", spans=[(0, 17)])
    >>> "<b><u>Talks may resume.</u></b>" in reply.parts[0]
    True
    >>> "Talks &lt;live&gt;" in reply.parts[0]
    True
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

__all__ = [
    "MAX_MESSAGE",
    "MAX_CALLBACK_DATA",
    "Reply",
    "PassageRef",
    "escape",
    "link",
    "is_web_url",
    "split_html",
    "utf16_len",
    "render_answer",
    "render_passage",
    "render_quotes_page",
    "render_speaker_choice",
    "render_sources_page",
    "render_start",
    "render_help",
    "render_stats",
    "render_ingest_report",
    "render_error",
    "passage_data",
    "parse_passage_data",
    "quotes_data",
    "parse_quotes_data",
    "sources_data",
    "parse_page_data",
    "example_data",
    "speaker_key",
]

#: Telegram's limit on a message's text.
MAX_MESSAGE = 4096
#: Telegram's limit on a button's callback data, in bytes.
MAX_CALLBACK_DATA = 64
#: Quotes per page of /quotes, articles per page of /sources.
QUOTES_PER_PAGE = 5
SOURCES_PER_PAGE = 10
#: Longest quote shown in a list (the passage button shows it whole).
_QUOTE_LIST_CHARS = 280
_TITLE_CHARS = 120
_BUTTON_LABEL_CHARS = 48
_BUTTONS_PER_ROW = 4
_QUOTE_MARKS = "“”\"' ,"

_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)([^<>]*)>")
_ATOM = re.compile(r"<[^<>]*>|&(?:#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);|[\s\S]", re.DOTALL)


@dataclass(frozen=True)
class Reply:
    """A rendered message: HTML parts (each ≤ 4096 characters) and an optional keyboard.

    The keyboard belongs under the last part.
    """

    parts: list[str]
    keyboard: InlineKeyboardMarkup | None = None

    @property
    def html(self) -> str:
        """All parts joined (for tests and logs)."""
        return "".join(self.parts)


@dataclass(frozen=True)
class PassageRef:
    """Where a quote sits: its passage id and its span relative to the passage start."""

    chunk_id: int
    spans: tuple[tuple[int, int], ...] = field(default=())


# -- escaping ---------------------------------------------------------------------------
def escape(text: object) -> str:
    """Escape a dynamic string for Telegram HTML (``&``, ``<``, ``>``)."""
    return html.escape(str(text), quote=False)


def is_web_url(url: str | None) -> bool:
    """Whether ``url`` is an http(s) URL Telegram can link."""
    return bool(url and re.match(r"^https?://[^\s<>\"]+$", url))


def link(text: str, url: str | None) -> str:
    """``<a href=…>text</a>`` for http(s) URLs, else the escaped text alone."""
    if is_web_url(url):
        return f'<a href="{html.escape(url, quote=True)}">{escape(text)}</a>'
    return escape(text)


def _clip(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:.") + "…"


def _capitalize(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units (how Telegram counts characters)."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


# -- splitting --------------------------------------------------------------------------
def split_html(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """Split Telegram HTML into parts of at most ``limit`` characters.

    Splits at a paragraph or line break when one is in the second half of the part,
    else at a space, else anywhere between characters — never inside a tag or an
    entity. Tags open at a split are closed at the end of the part and reopened (with
    their attributes) at the start of the next, so every part is valid on its own.
    Lengths are counted in UTF-16 code units, as Telegram does.

    Args:
        text: HTML whose tags are balanced.
        limit: Largest part.

    Returns:
        The parts (one part when the text fits).
    """
    if utf16_len(text) <= limit:
        return [text] if text.strip() else []
    atoms = _ATOM.findall(text)
    parts: list[str] = []
    stack: list[tuple[str, str]] = []  # (name, opening tag)
    i = 0
    while i < len(atoms):
        prefix = "".join(tag for _, tag in stack)
        pieces = [prefix]
        size = utf16_len(prefix)
        local = list(stack)
        # best break so far per priority: (atom index, size, stack after it)
        breaks: dict[int, tuple[int, int, list[tuple[str, str]]]] = {}
        last_fit: tuple[int, int, list[tuple[str, str]]] | None = None
        j = i
        overflow = False
        while j < len(atoms):
            atom = atoms[j]
            new_stack = _apply_tag(local, atom)
            closing = sum(len(name) + 3 for name, _ in new_stack)
            alen = utf16_len(atom)
            if size + alen + closing > limit:
                overflow = True
                break
            pieces.append(atom)
            size += alen
            local = new_stack
            if not atom.startswith("<"):
                state = (j, size, list(local))
                last_fit = state
                if atom == "\n":
                    breaks[0 if not local else 1] = state
                elif atom.isspace():
                    breaks[2] = state
            j += 1
        if not overflow:
            parts.append("".join(pieces) + "".join(f"</{name}>" for name, _ in reversed(local)))
            break
        chosen = None
        for prio in (0, 1, 2):
            cand = breaks.get(prio)
            if cand is not None and cand[1] >= limit // 2:
                chosen = cand
                break
        if chosen is None:
            chosen = max(breaks.values(), key=lambda b: b[0], default=None) or last_fit
        if chosen is None:  # no character fits beside the open tags: cut where the overflow is
            end = max(j - 1, i)
            after = list(stack)
            for atom in atoms[i : end + 1]:
                after = _apply_tag(after, atom)
            chosen = (end, 0, after)
        end, _, after = chosen
        body = "".join(atoms[i : end + 1])
        parts.append(prefix + body + "".join(f"</{name}>" for name, _ in reversed(after)))
        stack = after
        i = end + 1
    return [p for p in parts if _visible(p).strip()]


def _apply_tag(stack: list[tuple[str, str]], atom: str) -> list[tuple[str, str]]:
    m = _TAG.fullmatch(atom)
    if not m:
        return stack
    closing, name = m.group(1), m.group(2).lower()
    if closing:
        for k in range(len(stack) - 1, -1, -1):
            if stack[k][0] == name:
                return stack[:k]
        return stack
    if m.group(3).rstrip().endswith("/"):
        return stack
    return [*stack, (name, atom)]


def _visible(html_text: str) -> str:
    return html.unescape(_TAG.sub("", html_text))


# -- callback data ----------------------------------------------------------------------
def speaker_key(name: str) -> str:
    """A short, stable key for a canonical speaker name (10 hex digits)."""
    return hashlib.sha1(name.encode("utf-8")).hexdigest()[:10]


def passage_data(chunk_id: int, spans: Iterable[tuple[int, int]] = ()) -> str:
    """``p:<chunk_id>[:<s>-<e>,…]`` with as many spans as fit in 64 bytes."""
    data = f"p:{int(chunk_id)}"
    sep = ":"
    for start, end in spans:
        piece = f"{sep}{max(0, int(start))}-{max(0, int(end))}"
        if len((data + piece).encode()) > MAX_CALLBACK_DATA:
            break
        data += piece
        sep = ","
    return data


def parse_passage_data(data: str) -> tuple[int, list[tuple[int, int]]]:
    """Inverse of :func:`passage_data`; ``ValueError`` for anything else."""
    kind, chunk, spans = (data.split(":", 2) + ["", ""])[:3]
    if kind != "p" or not chunk.isdigit():
        raise ValueError(f"not passage data: {data!r}")
    out = []
    for piece in filter(None, spans.split(",")):
        start, _, end = piece.partition("-")
        if not (start.isdigit() and end.isdigit()):
            raise ValueError(f"bad span in {data!r}")
        out.append((int(start), int(end)))
    return int(chunk), out


def quotes_data(speaker: str, page: int) -> str:
    """``q:<speaker-key>:<page>``."""
    return f"q:{speaker_key(speaker)}:{int(page)}"


def parse_quotes_data(data: str) -> tuple[str, int]:
    """``(speaker_key, page)``; ``ValueError`` for anything else."""
    kind, key, page = (data.split(":", 2) + ["", ""])[:3]
    if kind != "q" or not re.fullmatch(r"[0-9a-f]{10}", key) or not page.isdigit():
        raise ValueError(f"not quotes data: {data!r}")
    return key, int(page)


def sources_data(page: int) -> str:
    """``s:<page>``."""
    return f"s:{int(page)}"


def example_data(i: int) -> str:
    """``x:<i>``: ask the i-th example question."""
    return f"x:{int(i)}"


def parse_page_data(data: str, kind: str) -> int:
    """The number of ``<kind>:<n>`` data; ``ValueError`` for anything else."""
    prefix, _, n = data.partition(":")
    if prefix != kind or not n.isdigit():
        raise ValueError(f"not {kind} data: {data!r}")
    return int(n)


def _button(label: str, data: str) -> InlineKeyboardButton:
    if not 0 < len(data.encode()) <= MAX_CALLBACK_DATA:
        raise ValueError(f"callback data must be 1-{MAX_CALLBACK_DATA} bytes: {data!r}")
    return InlineKeyboardButton(_clip(label, _BUTTON_LABEL_CHARS), callback_data=data)


def _rows(buttons: Sequence[InlineKeyboardButton], per_row: int = _BUTTONS_PER_ROW) -> list[list[InlineKeyboardButton]]:
    return [list(buttons[k : k + per_row]) for k in range(0, len(buttons), per_row)]


def _pager(page: int, pages: int, data: Callable[[int], str]) -> list[InlineKeyboardButton]:
    row = []
    if page > 0:
        row.append(_button("◀ Previous", data(page - 1)))
    if page + 1 < pages:
        row.append(_button("Next ▶", data(page + 1)))
    return row


# -- answers ----------------------------------------------------------------------------
def render_answer(answer: Any, question: str | None = None) -> Reply:
    """The answer with ``[n]`` markers, a compact source list and one button per citation.

    Args:
        answer: An :class:`~bot.answer.Answer` (``lines``, ``citations``, ``found``).
        question: Shown above the answer when given (for answers to a tapped example).

    Returns:
        The reply; the source list groups citations of the same article
        (``[1] [3] Title``) and links the title to the article's URL when known.
    """
    out: list[str] = []
    if question:
        out.append(f"❓ <i>{escape(question)}</i>\n")
    for line in answer.lines:
        marks = "".join(f"[{n}]" for n in line.citations)
        out.append(escape(line.text) + (f" {marks}" if marks else ""))
    citations = list(answer.citations)
    if citations:
        out.append("")
        out.append("<b>Sources</b>" if answer.found else "<b>Closest passages</b>")
        by_article: dict[str, list] = {}
        for c in citations:
            by_article.setdefault(c.article_id, []).append(c)
        for cites in by_article.values():
            marks = " ".join(f"[{c.n}]" for c in cites)
            out.append(f"{marks} {link(_clip(cites[0].title, _TITLE_CHARS), cites[0].url)}")
    buttons = [
        _button(f"📄 [{c.n}]" if len(citations) > 1 else f"📄 Open passage [{c.n}]", passage_data(c.chunk_id, _relative(c)))
        for c in citations
    ]
    keyboard = InlineKeyboardMarkup(_rows(buttons)) if buttons else None
    return Reply(split_html("\n".join(out)), keyboard)


def _relative(citation: Any) -> list[tuple[int, int]]:
    """Highlights of a citation as offsets relative to its passage, clamped and merged."""
    length = len(citation.passage)
    spans = [
        (max(0, s - citation.start), min(length, e - citation.start))
        for s, e in citation.highlights
        if e > citation.start and s < citation.end
    ]
    return _merge(spans)


def _merge(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for s, e in sorted((s, e) for s, e in spans if e > s):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def render_passage(
    text: str,
    title: str,
    url: str | None,
    article_id: str,
    spans: Iterable[tuple[int, int]] = (),
    *,
    source: str | None = None,
    date: str | None = None,
) -> Reply:
    """A source passage as an expandable blockquote with the cited spans marked.

    Args:
        text: The passage.
        title, url, article_id, source, date: The article.
        spans: Cited spans, as offsets relative to the passage start (clamped).

    Returns:
        Title (linked), the passage, and a link to the article (or its id when there is
        no URL).
    """
    spans = _merge((max(0, s), min(len(text), e)) for s, e in spans)
    body, pos = [], 0
    for s, e in spans:
        body.append(escape(text[pos:s]))
        body.append(f"<b><u>{escape(text[s:e])}</u></b>")
        pos = e
    body.append(escape(text[pos:]))
    quoted = "".join(body).strip()
    head = f"📄 <b>{link(_clip(title, _TITLE_CHARS), url)}</b>"
    meta = " · ".join(escape(x) for x in (source, date) if x)
    lines = [head] + ([f"<i>{meta}</i>"] if meta else [])
    lines.append(f"<blockquote expandable>{quoted}</blockquote>")
    if is_web_url(url):
        lines.append(f'🔗 {link("Read the full article", url)}')
    else:
        lines.append(f"Article <code>{escape(article_id)}</code>")
    return Reply(split_html("\n".join(lines)))


# -- quotes -----------------------------------------------------------------------------
def render_quotes_page(
    speaker: str,
    quotes: Sequence[Any],
    page: int,
    refs: Sequence[PassageRef | None] = (),
    per_page: int = QUOTES_PER_PAGE,
) -> Reply:
    """One page of a speaker's quotes, numbered, with passage buttons and a pager.

    Args:
        speaker: Canonical speaker name.
        quotes: All the speaker's quotes (:class:`~index.store.QuoteRecord`).
        page: Page number, from 0 (clamped).
        refs: For the quotes of this page, where each sits (``None``: no button).
        per_page: Quotes per page.
    """
    pages = max(1, -(-len(quotes) // per_page))
    page = min(max(0, page), pages - 1)
    shown = quotes[page * per_page : (page + 1) * per_page]
    role = next((q.role for q in quotes if q.role), None)
    who = f"<b>{escape(speaker)}</b>" + (f", {escape(role)}" if role else "")
    count = f"{len(quotes)} quote" + ("s" if len(quotes) != 1 else "")
    lines = [f"💬 {who} — {count}" + (f" (page {page + 1}/{pages})" if pages > 1 else ""), ""]
    buttons = []
    previous = None
    for k, q in enumerate(shown):
        n = page * per_page + k + 1
        if q.article_id != previous:  # the article once, above its quotes
            lines.append(f"📰 <i>{link(_clip(q.title, _TITLE_CHARS), q.url)}</i>")
            previous = q.article_id
        text = _clip(q.text, _QUOTE_LIST_CHARS).strip(_QUOTE_MARKS)
        lines.append(f"{n}. “{escape(text)}”")
        ref = refs[k] if k < len(refs) else None
        if ref is not None:
            buttons.append(_button(f"📄 {n}", passage_data(ref.chunk_id, ref.spans)))
    rows = _rows(buttons, 5)
    nav = _pager(page, pages, lambda p: quotes_data(speaker, p))
    if nav:
        rows.append(nav)
    return Reply(split_html("\n".join(lines)), InlineKeyboardMarkup(rows) if rows else None)


def render_speaker_choice(query: str | None, speakers: Sequence[tuple[str, int]]) -> Reply:
    """Buttons to pick a speaker (several matched a name, or no name was given)."""
    if not speakers:
        text = (
            f"No one called <b>{escape(query)}</b> is quoted in the articles."
            if query else "The articles quote no one yet."
        )
        return Reply([text])
    if query:
        text = f"Several people match <b>{escape(query)}</b>; whose quotes?"
    else:
        text = "Who is quoted in the articles (most quoted first)? Tap a name, or send <code>/quotes NAME</code>."
    buttons = [_button(f"{name} ({count})", quotes_data(name, 0)) for name, count in speakers[:20]]
    return Reply([text], InlineKeyboardMarkup(_rows(buttons, 2)))


# -- lists and texts --------------------------------------------------------------------
def render_sources_page(articles: Sequence[Any], total: int, page: int, per_page: int = SOURCES_PER_PAGE) -> Reply:
    """One page of the article list (``articles`` is that page), with a pager."""
    pages = max(1, -(-total // per_page))
    if not total:
        return Reply(["No articles are indexed yet."])
    lines = [f"📚 <b>{total} article{'s' if total != 1 else ''} indexed</b>" + (f" (page {page + 1}/{pages})" if pages > 1 else ""), ""]
    for k, a in enumerate(articles):
        n = page * per_page + k + 1
        meta = " · ".join(escape(x) for x in (a.source, a.date) if x)
        lines.append(
            f"{n}. {link(_clip(a.title, _TITLE_CHARS), a.url)}" + (f" — <i>{meta}</i>" if meta else "")
            + f"\n    <code>{escape(a.id)}</code>"
        )
    nav = _pager(page, pages, sources_data)
    return Reply(split_html("\n".join(lines)), InlineKeyboardMarkup([nav]) if nav else None)


def render_start(articles: int, chunks: int, examples: Sequence[str], first_name: str | None = None) -> Reply:
    """The /start greeting: what the bot knows and two questions to tap."""
    hello = f"👋 Hi{', ' + escape(first_name) if first_name else ''}! "
    if not articles:
        return Reply([hello + "I answer questions about news articles with citations, but none are indexed yet."])
    lines = [
        hello + f"I answer questions about <b>{articles} news article{'s' if articles != 1 else ''}</b> "
        f"({chunks} passages), and every line of an answer cites the exact passage it comes from.",
        "",
        "Send me a question, or tap one of these:",
    ]
    lines += [f"• <i>{escape(q)}</i>" for q in examples]
    lines += ["", "/help shows everything I can do."]
    buttons = [[_button(q, example_data(i))] for i, q in enumerate(examples)]
    return Reply(split_html("\n".join(lines)), InlineKeyboardMarkup(buttons) if buttons else None)


def render_help(bot_username: str | None, is_admin: bool) -> Reply:
    """The /help text (admin commands only for admins)."""
    mention = f"@{escape(bot_username)}" if bot_username else "me"
    lines = [
        "<b>Ask me about the news articles I have read.</b>",
        "Every line of an answer ends with [n]; tap 📄 [n] under the answer to read the exact passage.",
        "If the articles don't say, I tell you so and show the closest passages.",
        "",
        "<b>Commands</b>",
        "/ask QUESTION — ask (in groups, or just send the question in a private chat)",
        "/quotes NAME — what a person said, with the passages",
        "/sources — the articles I know",
        "/start — what I know, with example questions",
        "",
        f"<b>In groups</b> I answer /ask, messages that mention {mention}, and replies to my messages.",
    ]
    if is_admin:
        lines += [
            "",
            "<b>Admin</b>",
            "Send a link, paste or forward an article, or send a file (.txt .md .html .json .jsonl) to add it.",
            "/remove ID — remove an article (ids are in /sources)",
            "/stats — index and bot statistics",
        ]
    return Reply(split_html("\n".join(lines)))


def render_stats(stats: Any, bot_stats: dict[str, float] | None = None) -> Reply:
    """The /stats text from :class:`~index.store.StoreStats` and the bot's counters."""
    mb = stats.disk_bytes / 1e6
    lines = [
        "📊 <b>Index</b>",
        f"Articles: {stats.articles}",
        f"Passages: {stats.chunks}",
        f"Quotes: {stats.quotes} by {stats.speakers} speaker{'s' if stats.speakers != 1 else ''}",
        f"Model: <code>{escape(stats.model or '-')}</code> ({stats.dim or '-'} dims)",
        f"Vector index: {escape(stats.index_type)}, {stats.index_vectors} vectors",
        f"On disk: {mb:.1f} MB",
    ]
    if bot_stats:
        lines += ["", "🤖 <b>Bot</b>"]
        lines += [f"{escape(k)}: {escape(_number(v))}" for k, v in bot_stats.items()]
    return Reply(split_html("\n".join(lines)))


def _number(v: object) -> str:
    if isinstance(v, float):
        return f"{v:.2f}"
    return str(v)


def render_ingest_report(
    report: Any, titles: dict[str, str] | None = None, hide: Sequence[str] = (), name: str | None = None
) -> Reply:
    """The admin's summary of an ingest: counts, the articles, and skipped inputs with reasons.

    Args:
        report: An :class:`~index.ingest.IngestReport`.
        titles: Titles of added/updated articles by id.
        hide: Path prefixes (temporary folders) removed from skipped origins.
        name: What was sent (a file name, "the pasted text", a URL), for the heading.
    """
    titles = titles or {}

    def clean(origin: str) -> str:
        for prefix in hide:
            origin = origin.replace(prefix.rstrip("/") + "/", "").replace(prefix, "")
        return origin

    what = f" from {escape(name)}" if name else ""
    if report.added or report.updated:
        head = "✅ <b>Added" + what + "</b>"
    elif report.unchanged:
        head = "☑️ <b>Already indexed" + what + "</b>"
    else:
        head = "⚠️ <b>Nothing added" + what + "</b>"
    lines = [
        head,
        f"{len(report.added)} added, {len(report.updated)} updated, "
        f"{len(report.unchanged)} unchanged, {len(report.skipped)} skipped",
    ]
    for label, ids in (("Added", report.added), ("Updated", report.updated)):
        for aid in ids[:20]:
            title = titles.get(aid)
            lines.append(f"• {label}: " + (f"{escape(_clip(title, 100))} " if title else "") + f"<code>{escape(aid)}</code>")
        if len(ids) > 20:
            lines.append(f"• … and {len(ids) - 20} more")
    for s in report.skipped[:20]:
        lines.append(f"• Skipped {escape(_clip(clean(s.origin), 80))}: {escape(s.reason)}")
    if len(report.skipped) > 20:
        lines.append(f"• … and {len(report.skipped) - 20} more skipped")
    if report.ok:
        lines.append("Questions now use the new articles.")
    return Reply(split_html("\n".join(lines)))


def render_error(message: str) -> str:
    """A :class:`~index.errors.CitebotError` as one line for the user."""
    return f"⚠️ {escape(_capitalize(message.strip()))}"

