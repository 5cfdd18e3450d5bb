"""Telegram HTML rendering (bot/formatting.py): escaping, source lists, passages with the
cited span marked, callback data within 64 bytes, and splitting long HTML into parts that
are each ≤ 4096 characters with balanced tags (checked with html.parser)."""

from __future__ import annotations

import html
import random
import re
from html.parser import HTMLParser

import pytest

from bot import formatting as fmt
from bot.answer import Answer, AnswerLine, Citation
from index.ingest import IngestReport
from index.loaders import Skipped
from index.store import ArticleRecord, QuoteRecord

ARTICLE = (
    "Talks may resume soon. “All we know is the Christmas gift didn’t come,” O’Brien said. "
    "Officials <declined> to comment & left."
)
PASSAGE_START = 1000  # the passage's offset in its article


class Balanced(HTMLParser):
    """Collects tags and visible text; records unbalanced or unknown tags."""

    ALLOWED = {"b", "i", "u", "s", "a", "code", "pre", "blockquote", "tg-spoiler"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in self.ALLOWED:
            self.errors.append(f"unknown <{tag}>")
        self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(f"unbalanced </{tag}>")

    def handle_data(self, data):
        self.text.append(data)


def parse(part: str) -> Balanced:
    p = Balanced()
    p.feed(part)
    p.close()
    assert not p.errors and not p.stack, (p.errors, p.stack, part[:120])
    return p


def visible(text: str) -> str:
    return "".join(parse(text).text)


def citation(n=1, *, url=None, title="White House <Confirms> & more", highlights=((1023, 1085),), article_id="a1", chunk_id=7):
    return Citation(
        n=n, article_id=article_id, title=title, url=url, chunk_id=chunk_id, start=PASSAGE_START,
        end=PASSAGE_START + len(ARTICLE), passage=ARTICLE, score=0.8, highlights=highlights,
    )


# -- answers ----------------------------------------------------------------------------------
def test_answer_has_markers_escaped_text_grouped_sources_and_one_button_per_citation():
    answer = Answer(
        "q", "general", True,
        (AnswerLine("Officials <declined> & left", (1,)), AnswerLine("Talks may resume", (2, 3))),
        (
            citation(1, url="https://news.example/a?x=1&y=2"),
            citation(2, title="Other <b>story</b>", article_id="a2", chunk_id=9),
            citation(3, url="https://news.example/a?x=1&y=2", chunk_id=8),
        ),
    )
    reply = fmt.render_answer(answer)
    text = reply.html
    parse(text)
    assert "Officials &lt;declined&gt; &amp; left [1]" in text and "Talks may resume [2][3]" in text
    assert '[1] [3] <a href="https://news.example/a?x=1&amp;y=2">White House &lt;Confirms&gt; &amp; more</a>' in text
    assert "[2] Other &lt;b&gt;story&lt;/b&gt;" in text  # no URL: the title, unlinked
    data = [b.callback_data for row in reply.keyboard.inline_keyboard for b in row]
    assert data == ["p:7:23-85", "p:9:23-85", "p:8:23-85"]


def test_not_found_answer_lists_the_closest_passages_and_the_question_can_be_echoed():
    answer = Answer("q", "general", False, (AnswerLine("The articles don't say."),), (citation(1, highlights=()),))
    reply = fmt.render_answer(answer, question="Is <this> known?")
    assert reply.parts[0].startswith("❓ <i>Is &lt;this&gt; known?</i>")
    assert "<b>Closest passages</b>" in reply.html and "<b>Sources</b>" not in reply.html
    assert reply.keyboard.inline_keyboard[0][0].callback_data == "p:7"


def test_only_web_urls_become_links():
    assert fmt.link("x", "javascript:alert(1)") == "x"
    assert fmt.link("x", "file:///etc/passwd") == "x"
    assert fmt.link("<x>", 'https://a.example/"onmouseover') == "&lt;x&gt;"
    assert fmt.link("x", "https://a.example/p") == '<a href="https://a.example/p">x</a>'


# -- passages ---------------------------------------------------------------------------------
def test_passage_marks_the_cited_span_from_relative_offsets():
    start = ARTICLE.index("“All")
    end = ARTICLE.index("said.") + len("said.")
    chunk_id, spans = fmt.parse_passage_data(fmt.passage_data(7, [(start, end)]))
    reply = fmt.render_passage(ARTICLE, "T & T", "https://n.example/a", "a1", spans, source="The Hill", date="2020-01-06")
    text = reply.parts[0]
    parse(text)
    assert text.startswith('📄 <b><a href="https://n.example/a">T &amp; T</a></b>\n<i>The Hill · 2020-01-06</i>')
    marked = text.split("<b><u>")[1].split("</u></b>")[0]
    assert html.unescape(marked) == ARTICLE[start:end]
    assert "<blockquote expandable>" in text and "Officials &lt;declined&gt; to comment &amp; left." in text
    assert "Read the full article" in text
    assert visible(text.split("<blockquote expandable>")[1].split("</blockquote>")[0]) == ARTICLE


def test_passage_spans_are_clamped_merged_and_optional():
    text = fmt.render_passage(ARTICLE, "T", None, "a<1>", [(5, 12), (10, 20), (500, 900)]).parts[0]
    parse(text)
    assert text.count("<b><u>") == 1 and f"<b><u>{ARTICLE[5:20]}</u></b>" in text
    assert "Article <code>a&lt;1&gt;</code>" in text
    plain = fmt.render_passage(ARTICLE, "T", None, "a1").parts[0]
    assert "<u>" not in plain


def test_citation_highlights_become_offsets_relative_to_the_passage():
    c = citation(1, highlights=((PASSAGE_START + 23, PASSAGE_START + 85), (PASSAGE_START - 50, PASSAGE_START + 4)))
    answer = Answer("q", "general", True, (AnswerLine("x", (1,)),), (c,))
    data = fmt.render_answer(answer).keyboard.inline_keyboard[0][0].callback_data
    assert fmt.parse_passage_data(data) == (7, [(0, 4), (23, 85)])


# -- callback data ----------------------------------------------------------------------------
def test_callback_data_fits_64_bytes_and_round_trips():
    data = fmt.passage_data(2**40, [(i * 100_000, i * 100_000 + 99_999) for i in range(20)])
    assert len(data.encode()) <= 64
    chunk, spans = fmt.parse_passage_data(data)
    assert chunk == 2**40 and spans and spans[0] == (0, 99_999)
    assert fmt.parse_quotes_data(fmt.quotes_data("Robert O’Brien" * 20, 12)) == (fmt.speaker_key("Robert O’Brien" * 20), 12)
    assert len(fmt.quotes_data("x" * 500, 10**6).encode()) <= 64
    assert fmt.parse_page_data(fmt.sources_data(3), "s") == 3
    assert fmt.parse_page_data(fmt.example_data(1), "x") == 1


@pytest.mark.parametrize("bad", ["", "p:", "p:x", "p:1:2", "p:1:a-b", "q:1", "q:zzzzzzzzzz:1", "s:-1"])
def test_malformed_callback_data_is_a_value_error(bad):
    with pytest.raises(ValueError):
        if bad.startswith("q"):
            fmt.parse_quotes_data(bad)
        elif bad.startswith("s"):
            fmt.parse_page_data(bad, "s")
        else:
            fmt.parse_passage_data(bad)


# -- splitting --------------------------------------------------------------------------------
def test_short_html_is_one_part():
    assert fmt.split_html("<b>hi</b>") == ["<b>hi</b>"]


def test_long_answer_splits_at_line_breaks_into_valid_parts():
    lines = [f"Sentence {i} says &lt;something&gt; about <b>talks</b> & <i>gifts</i>. [{i}]" for i in range(400)]
    text = "\n".join(line.replace(" & ", " &amp; ") for line in lines)
    parts = fmt.split_html(text)
    assert len(parts) > 1
    for part in parts:
        assert len(part) <= fmt.MAX_MESSAGE
        parse(part)
    assert "".join(visible(p) for p in parts) == visible(text)
    assert all(p.endswith("\n") for p in parts[:-1])  # cut at line ends, not mid-sentence


def test_split_inside_a_blockquote_and_link_reopens_them():
    body = " ".join(f"word{i} &amp;" for i in range(2000))
    text = f'<b>Head</b>\n<blockquote expandable><a href="https://x.example/a">{body}</a></blockquote>'
    parts = fmt.split_html(text, limit=1000)
    assert len(parts) > 4
    for part in parts[1:]:
        assert part.startswith('<blockquote expandable><a href="https://x.example/a">')
        assert part.endswith("</a></blockquote>")
    for part in parts:
        assert len(part) <= 1000
        parse(part)
        assert "&am" not in part.replace("&amp;", "")  # no entity cut in half
    assert "".join(visible(p) for p in parts) == visible(text)


def test_text_without_spaces_is_cut_anywhere_but_never_inside_a_tag():
    text = "<code>" + "x" * 9000 + "</code>"
    parts = fmt.split_html(text)
    assert len(parts) == 3 and len(parts[0]) == len(parts[1]) == 4096
    for part in parts:
        parse(part)
    assert sum(len(visible(p)) for p in parts) == 9000


def test_emoji_count_as_two_characters_like_telegram():
    text = "😀" * 3000  # 6000 UTF-16 units
    parts = fmt.split_html(text)
    assert len(parts) == 2 and all(fmt.utf16_len(p) <= 4096 for p in parts)
    assert "".join(parts) == text


def test_random_nested_html_always_splits_into_valid_parts():
    rng = random.Random(7)
    words = ["alpha", "beta", "&amp;", "&lt;x&gt;", "😀", "O’Brien", "\n", "\n\n", "said:", "“gift”"]
    tags = ["b", "i", "u", "code", "blockquote expandable", 'a href="https://e.example/?a=1&amp;b=2"']
    for _ in range(30):
        out, stack = [], []
        for _ in range(rng.randint(200, 3000)):
            r = rng.random()
            if r < 0.08 and len(stack) < 3:
                tag = rng.choice(tags)
                stack.append(tag.split()[0])
                out.append(f"<{tag}>")
            elif r < 0.14 and stack:
                out.append(f"</{stack.pop()}>")
            else:
                out.append(rng.choice(words) + " ")
        out += [f"</{t}>" for t in reversed(stack)]
        text = "".join(out)
        limit = rng.choice([300, 500, 4096])  # room for 3 nested tags and their closers
        parts = fmt.split_html(text, limit=limit)
        for part in parts:
            assert fmt.utf16_len(part) <= limit
            parse(part)
        # nothing lost or reordered (whitespace-only parts are dropped: Telegram rejects them)
        assert re.sub(r"\s+", "", "".join(visible(p) for p in parts)) == re.sub(r"\s+", "", visible(text))


# -- quotes, sources, reports -----------------------------------------------------------------
def quote(i: int, text: str = "We would like to continue the negotiations") -> QuoteRecord:
    return QuoteRecord(
        id=i, article_id=f"a{i // 4}", chunk_id=i, text=f"{text} <{i}>", start=10 * i, end=10 * i + 5,
        speaker="O’Brien", canonical_speaker="Robert O’Brien", role="national security adviser", cue="said",
        title=f"Story {i // 4} & co", url=None,
    )


def test_quotes_are_paged_with_passage_buttons_and_a_pager():
    quotes = [quote(i, "word " * 200) for i in range(12)]
    refs = [fmt.PassageRef(i, ((0, 5),)) for i in range(5, 10)]
    reply = fmt.render_quotes_page("Robert O’Brien", quotes, 1, refs)
    text = reply.html
    assert len(reply.parts) == 1 and len(text) <= 4096
    parse(text)
    assert "💬 <b>Robert O’Brien</b>, national security adviser — 12 quotes (page 2/3)" in text
    assert "6. “word" in text and "&lt;5&gt;" not in text  # long quotes are clipped in the list
    assert "Story 1 &amp; co" in text
    rows = reply.keyboard.inline_keyboard
    assert [b.callback_data for b in rows[0]] == [f"p:{i}:0-5" for i in range(5, 10)]
    key = fmt.speaker_key("Robert O’Brien")
    assert [b.callback_data for b in rows[-1]] == [f"q:{key}:0", f"q:{key}:2"]
    last = fmt.render_quotes_page("Robert O’Brien", quotes, 99, [])
    assert "(page 3/3)" in last.html and [b.text for b in last.keyboard.inline_keyboard[-1]] == ["◀ Previous"]


def test_speaker_choice_and_sources_page_escape_names():
    choice = fmt.render_speaker_choice("<Kim>", [("Kim <Jong> Un", 3), ("Kim Yo Jong", 1)])
    parse(choice.html)
    assert "&lt;Kim&gt;" in choice.html
    assert [b.text for row in choice.keyboard.inline_keyboard for b in row] == ["Kim <Jong> Un (3)", "Kim Yo Jong (1)"]
    arts = [ArticleRecord(f"id{i}", f"Title <{i}>", "https://n.example/" + str(i), "2020-01-0" + str(i % 9 + 1), "The Hill", None, "h", 3, 1, 0.0) for i in range(10)]
    page = fmt.render_sources_page(arts, 25, 0)
    parse(page.html)
    assert "📚 <b>25 articles indexed</b> (page 1/3)" in page.html
    assert '1. <a href="https://n.example/0">Title &lt;0&gt;</a> — <i>The Hill · 2020-01-01</i>' in page.html
    assert [b.callback_data for b in page.keyboard.inline_keyboard[0]] == ["s:1"]
    assert fmt.render_sources_page([], 0, 0).parts == ["No articles are indexed yet."]


def test_ingest_report_hides_temp_paths_and_escapes_reasons():
    report = IngestReport(added=["moon"], skipped=[Skipped("/data/incoming/tg-abc123/notes.pdf", "unsupported file type .pdf; use <txt>")])
    reply = fmt.render_ingest_report(report, {"moon": "Moon & Basil"}, hide=["/data/incoming/tg-abc123"], name="notes.zip")
    text = reply.html
    parse(text)
    assert text.startswith("✅ <b>Added from notes.zip</b>")
    assert "1 added, 0 updated, 0 unchanged, 1 skipped" in text
    assert "• Added: Moon &amp; Basil <code>moon</code>" in text
    assert "• Skipped notes.pdf: unsupported file type .pdf; use &lt;txt&gt;" in text and "incoming" not in text
    nothing = fmt.render_ingest_report(IngestReport(skipped=[Skipped("https://x.example", "HTTP 404 Not Found")]))
    assert nothing.html.startswith("⚠️ <b>Nothing added</b>")


def test_start_help_stats_and_errors_are_valid_html():
    start = fmt.render_start(3, 40, ["Who said “a <b>”?", "What did Kim say?"], "Ann <3")
    for reply in (start, fmt.render_help("citebot_bot", True), fmt.render_help(None, False)):
        parse(reply.html)
    assert "Hi, Ann &lt;3!" in start.html and "<b>3 news articles</b>" in start.html
    assert [b.callback_data for row in start.keyboard.inline_keyboard for b in row] == ["x:0", "x:1"]
    assert fmt.render_error("the question is empty <x>") == "⚠️ The question is empty &lt;x&gt;"
