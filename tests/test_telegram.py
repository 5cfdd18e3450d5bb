"""The Telegram bot end to end: the real PTB Application and the real Engine, talking HTTP
to the fake Bot API server (tests/fake_telegram.py); assertions are on what crossed the wire.

Covers: question → cited answer with buttons; button → passage (also after a restart);
long answers split into valid HTML; group-chat rules; the allow-list; admin ingest of a
document (getFile + download), a link and pasted text; /start, /help, /quotes, /sources,
/stats, /remove; a user who blocked the bot (403); flood control (429 + retry_after);
errors (CitebotError message, apology + traceback); unknown methods; and the real
``python -m bot.cli serve`` in a subprocess, whose output must not contain the token.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import os
import signal
import socket
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
import pytest_asyncio

from bot.answer import AnswerLine
from bot.settings import BotSettings
from bot.telegram import (
    ADMIN_COMMANDS,
    BOT_COMMANDS,
    build_application,
    install_log_redaction,
    run_bot,
)
from index.errors import ConfigError

from .conftest import ROOT, SEED_ID, SEEDS
from .fake_telegram import BOT_USERNAME, Call, FakeTelegram, check_telegram_html

pytestmark = pytest.mark.asyncio(loop_scope="session")

ADMIN = 500
ALICE = 1001
GROUP = -100200300

WHO_SAID = "Who said the Christmas gift didn't come?"
MOON_ARTICLE = """Lunar Greenhouse Sprouts Its First Basil

The experimental greenhouse at the Shackleton crater outpost produced its first basil
seedlings this week, months ahead of schedule, according to the mission's science team.

“The basil sprouted on day nine, which nobody on the team expected,” said Dr. Amara Okafor,
the outpost's chief botanist. She added that the plants grew under red and blue LEDs.

Engineers had worried that the low gravity would confuse the roots, but the seedlings
oriented themselves along the nutrient film without trouble.
"""


# -- fixtures ---------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def admin_engine(make_engine):
    """An engine of its own (seed corpus) for the tests that add and remove articles."""
    return make_engine("tg-admin")


@pytest_asyncio.fixture(loop_scope="session")
async def fake():
    """A fresh fake Bot API server; fails the test if the bot called an unknown method."""
    async with FakeTelegram() as server:
        yield server
        assert not server.unknown, f"the bot called methods the fake does not know: {server.unknown}"


class Harness:
    """Builds, starts and stops real Applications against the fake server."""

    def __init__(self, fake: FakeTelegram, engine) -> None:
        self.fake = fake
        self.engine = engine
        self.apps: list = []

    def settings(self, **changes) -> BotSettings:
        base = BotSettings(
            index=self.engine.settings.index,
            telegram_token=self.fake.token,
            api_base_url=self.fake.base_url,
            admins=frozenset({ADMIN}),
        )
        return replace(base, **changes)

    async def start(self, engine=None, **changes):
        app = build_application(self.settings(**changes), engine or self.engine)
        await app.initialize()
        await app.post_init(app)  # run_polling would call it; tests drive the app themselves
        await app.start()
        await app.updater.start_polling(timeout=2, poll_interval=0)
        self.apps.append(app)
        return app

    async def stop(self, app) -> None:
        self.apps.remove(app)
        await app.updater.stop()
        await app.stop()
        await app.shutdown()

    async def ask(self, text: str, *, user_id: int = ALICE, timeout: float = 30, **kw) -> Call:
        """Send a message and return the bot's next sendMessage to that chat."""
        mark = self.fake.mark()
        msg = self.fake.user_message(text, user_id=user_id, **kw)
        calls = await self.fake.wait_for("sendMessage", since=mark, chat_id=msg["chat"]["id"], timeout=timeout)
        return calls[0]


@pytest_asyncio.fixture(loop_scope="session")
async def harness(fake, seed_engine):
    h = Harness(fake, seed_engine)
    yield h
    for app in list(h.apps):
        await h.stop(app)


@pytest_asyncio.fixture(loop_scope="session")
async def admin_harness(fake, admin_engine):
    h = Harness(fake, admin_engine)
    yield h
    for app in list(h.apps):
        await h.stop(app)


@pytest_asyncio.fixture(loop_scope="session")
async def bot(harness):
    """A running bot on the seed corpus (admin: ADMIN; everyone allowed)."""
    return await harness.start()


class EngineProxy:
    """The real engine with ``ask`` replaced (for long answers and failures)."""

    def __init__(self, engine, ask) -> None:
        self._engine = engine
        self.ask = ask

    def __getattr__(self, name):
        return getattr(self._engine, name)


def assert_valid_part(text: str) -> None:
    """What Telegram requires of one HTML message: ≤ 4096 characters, balanced known tags."""
    assert len(text) <= 4096
    error, visible = check_telegram_html(text)  # html.parser-based, like Telegram's checks
    assert error is None, f"{error}: {text[:200]!r}"
    assert visible.strip()


def buttons(call: Call) -> list[dict]:
    markup = call.params.get("reply_markup") or {}
    return [b for row in markup.get("inline_keyboard", []) for b in row]


# -- questions and passages -------------------------------------------------------------------
async def test_question_gets_cited_html_answer_with_source_list_and_buttons(bot, fake, harness):
    mark = fake.mark()
    call = await harness.ask(WHO_SAID)
    text = call.params["text"]
    assert call.params["parse_mode"] == "HTML"
    assert "O’Brien" in text and "[1]" in text
    assert "<b>Sources</b>" in text and "[1] White House Confirms Trump Administration" in text
    assert_valid_part(text)
    data = [b["callback_data"] for b in buttons(call)]
    assert data and all(d.startswith("p:") and len(d.encode()) <= 64 for d in data)
    typing = fake.calls_of("sendChatAction", since=mark, chat_id=ALICE)
    assert typing and typing[0].params["action"] == "typing" and typing[0].at <= call.at
    assert call.params.get("link_preview_options") == {"is_disabled": True}
    assert "reply_parameters" not in call.params  # one question in a private chat: no quote


async def test_quick_questions_in_a_private_chat_are_answered_under_each_question(harness, fake, seed_engine):
    def slow_first(question):
        if question == WHO_SAID:
            time.sleep(1.0)  # the second question is answered first
        return seed_engine.ask(question)

    await harness.start(engine=EngineProxy(seed_engine, slow_first))
    mark = fake.mark()
    first = fake.user_message(WHO_SAID, user_id=ALICE)
    second = fake.user_message("What did O'Brien say about North Korea?", user_id=ALICE)
    answers = await fake.wait_for("sendMessage", lambda c: "[1]" in c.params["text"], since=mark, chat_id=ALICE, count=2)
    quoted = [a.params.get("reply_parameters", {}).get("message_id") for a in answers]
    assert quoted == [second["message_id"], first["message_id"]]


async def test_button_opens_the_exact_passage_with_the_cited_span_marked(bot, fake, harness):
    answer = await harness.ask(WHO_SAID)
    answer_msg = fake.sent(ALICE)[-1]
    mark = fake.mark()
    fake.press(answer_msg, buttons(answer)[0]["callback_data"], user_id=ALICE)
    await fake.wait_for("answerCallbackQuery", since=mark)
    passage = (await fake.wait_for("sendMessage", since=mark, chat_id=ALICE))[0]
    text = passage.params["text"]
    assert_valid_part(text)
    assert "<blockquote expandable>" in text
    marked = text.split("<b><u>", 1)[1].split("</u></b>", 1)[0]
    assert "the Christmas gift didn’t come" in marked
    assert "White House Confirms" in text and f"<code>{SEED_ID}</code>" in text  # no URL: the article id
    assert passage.params["reply_parameters"]["message_id"] == answer_msg["message_id"]


async def test_buttons_keep_working_after_a_restart(harness, fake):
    app = await harness.start()
    answer = await harness.ask(WHO_SAID)
    answer_msg = fake.sent(ALICE)[-1]
    await harness.stop(app)
    await harness.start()  # a new process would know nothing but what the button carries
    mark = fake.mark()
    fake.press(answer_msg, buttons(answer)[0]["callback_data"], user_id=ALICE)
    passage = (await fake.wait_for("sendMessage", since=mark, chat_id=ALICE))[0]
    assert "Christmas gift" in passage.params["text"]
    # a passage that no longer exists: a clear alert, no crash
    mark = fake.mark()
    fake.press(answer_msg, "p:99999999:0-5", user_id=ALICE)
    alert = (await fake.wait_for("answerCallbackQuery", since=mark))[0]
    assert "no longer" in alert.params["text"] and alert.params["show_alert"] is True


async def test_long_answer_is_split_into_valid_html_parts(harness, fake, seed_engine):
    def long_ask(question):
        real = seed_engine.ask(question)
        line = real.lines[0]
        lines = tuple(AnswerLine(f"{line.text} <{i}> & more", line.citations) for i in range(40))
        return replace(real, lines=lines)

    await harness.start(engine=EngineProxy(seed_engine, long_ask))
    mark = fake.mark()
    fake.user_message(WHO_SAID, user_id=ALICE)
    await fake.wait_for("sendMessage", lambda c: c.params.get("reply_markup"), since=mark, chat_id=ALICE)
    parts = fake.calls_of("sendMessage", since=mark, chat_id=ALICE)
    assert len(parts) >= 2
    for part in parts:
        assert_valid_part(part.params["text"])
    assert [bool(p.params.get("reply_markup")) for p in parts] == [False] * (len(parts) - 1) + [True]
    joined = "".join(p.params["text"] for p in parts)
    assert "&lt;39&gt; &amp; more" in joined and "<b>Sources</b>" in parts[-1].params["text"]
    assert not [c for c in fake.calls[mark:] if c.status != 200]


# -- who may ask, and where -------------------------------------------------------------------
async def test_group_messages_are_questions_only_when_addressed(bot, fake, harness):
    group = {"chat_id": GROUP, "chat_type": "supergroup"}
    mark = fake.mark()
    fake.user_message("Who said the Christmas gift didn't come? anyone?", user_id=ALICE, **group)
    fake.user_message("/ask@some_other_bot who said it?", user_id=ALICE, **group)
    await asyncio.sleep(1.0)
    await fake.settle()
    assert not fake.calls_of("sendMessage", since=mark, chat_id=GROUP)

    mention = await harness.ask(f"@{BOT_USERNAME} {WHO_SAID}", user_id=ALICE, **group)
    assert "O’Brien" in mention.params["text"]
    assert mention.params["reply_parameters"]["message_id"]  # answers quote the question in groups

    ask = await harness.ask(f"/ask@{BOT_USERNAME} {WHO_SAID}", user_id=ALICE, **group)
    assert "[1]" in ask.params["text"]

    bot_msg = fake.sent(GROUP)[-1]
    reply = await harness.ask("What did O'Brien say about North Korea?", user_id=ALICE, reply_to=bot_msg, **group)
    assert "[1]" in reply.params["text"]


async def test_users_outside_the_allow_list_get_one_polite_refusal(harness, fake, caplog):
    caplog.set_level(logging.INFO)
    await harness.start(allowed_users=frozenset({ALICE}))
    stranger = 4242
    mark = fake.mark()
    fake.user_message(WHO_SAID, user_id=stranger)
    fake.user_message("/start", user_id=stranger)
    fake.user_message("hello again", user_id=stranger)
    await fake.wait_for("sendMessage", since=mark, chat_id=stranger)
    await asyncio.sleep(0.5)
    await fake.settle()
    sent = fake.calls_of("sendMessage", since=mark, chat_id=stranger)
    assert len(sent) == 1 and "private bot" in sent[0].params["text"] and str(stranger) in sent[0].params["text"]
    assert not fake.calls_of("sendChatAction", since=mark, chat_id=stranger)  # nothing was answered
    refused = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert refused == [f"refused user id={stranger}"]  # by id only: no name, no message text
    answer = await harness.ask(WHO_SAID, user_id=ALICE)
    assert "[1]" in answer.params["text"]
    admin = await harness.ask("/help", user_id=ADMIN)  # admins are always allowed
    assert "/remove" in admin.params["text"]


# -- admin ingest -----------------------------------------------------------------------------
async def test_admin_document_is_downloaded_ingested_and_then_answers(fake, admin_engine, admin_harness):
    h = admin_harness
    added: list[str] = []
    await h.start()
    try:
        mark = fake.mark()
        fake.user_document(MOON_ARTICLE.encode(), "moon-basil.txt", user_id=ADMIN)
        await fake.wait_for("getFile", since=mark)
        await fake.wait_for("downloadFile", since=mark)
        edited = (await fake.wait_for("editMessageText", since=mark, chat_id=ADMIN, timeout=60))[0]
        summary = edited.params["text"]
        assert_valid_part(summary)
        assert "1 added" in summary and "<code>moon-basil</code>" in summary and "Lunar Greenhouse" in summary
        assert "incoming" not in summary and "/tmp" not in summary  # no internal paths
        answer = await h.ask("Who said the basil sprouted on day nine?", user_id=ADMIN)
        assert "Okafor" in answer.params["text"] and "Lunar Greenhouse Sprouts Its First Basil" in answer.params["text"]
        incoming = Path(admin_engine.settings.index.data_dir) / "incoming"
        assert not any(incoming.iterdir())  # the temp folder is cleaned up

        again = fake.mark()
        fake.user_document(MOON_ARTICLE.encode(), "moon-basil.txt", user_id=ADMIN)
        edited = (await fake.wait_for("editMessageText", since=again, chat_id=ADMIN, timeout=60))[0]
        assert "1 unchanged" in edited.params["text"]  # re-sending does not duplicate

        edited_version = MOON_ARTICLE.replace("day nine", "day eight")
        again = fake.mark()
        fake.user_document(edited_version.encode(), "moon-basil.txt", user_id=ADMIN)
        edited = (await fake.wait_for("editMessageText", since=again, chat_id=ADMIN, timeout=60))[0]
        assert "1 updated" in edited.params["text"]  # same name, same headline: a new version

        other_story = "Rover Finds Ice Under Crater Rim\n\nThe rover drilled through the rim and found ice, the team said.\n"
        again = fake.mark()
        fake.user_document(other_story.encode(), "moon-basil.txt", user_id=ADMIN)
        edited = (await fake.wait_for("editMessageText", since=again, chat_id=ADMIN, timeout=60))[0]
        assert "1 added" in edited.params["text"]  # same name, other story: kept apart
        titles = {a.title for a in admin_engine.articles()}
        assert {"Lunar Greenhouse Sprouts Its First Basil", "Rover Finds Ice Under Crater Rim"} <= titles
        added.extend(a.id for a in admin_engine.articles() if a.title == "Rover Finds Ice Under Crater Rim")

        again = fake.mark()
        fake.user_document(other_story.replace("found ice", "found water ice").encode(), "moon-basil.txt", user_id=ADMIN)
        edited = (await fake.wait_for("editMessageText", since=again, chat_id=ADMIN, timeout=60))[0]
        assert "1 updated" in edited.params["text"]  # a corrected version of the second story updates it
        rover = [a for a in admin_engine.articles() if a.title == "Rover Finds Ice Under Crater Rim"]
        assert len(rover) == 1 and "water ice" in admin_engine.store.article_text(rover[0].id)

        long_name = "Quarterly_report_of_the_harbour_bridge_maintenance_team_2001.txt"  # ids are cut at 48
        for headline in ("Bridge Paint Report", "Bridge Cable Report"):
            again = fake.mark()
            story = f"{headline}\n\nThe team inspected the harbour bridge and filed its {headline.lower()}.\n"
            fake.user_document(story.encode(), long_name, user_id=ADMIN)
            edited = (await fake.wait_for("editMessageText", since=again, chat_id=ADMIN, timeout=60))[0]
            assert "1 added" in edited.params["text"]
        reports = [a for a in admin_engine.articles() if a.title in ("Bridge Paint Report", "Bridge Cable Report")]
        assert len(reports) == 2  # the second long-named upload did not replace the first
        added.extend(a.id for a in reports)

        other = await h.ask("/start", user_id=ALICE)  # a non-admin cannot add
        assert other
        mark = fake.mark()
        fake.user_document(b"text", "x.txt", user_id=ALICE)
        refusal = (await fake.wait_for("sendMessage", since=mark, chat_id=ALICE))[0]
        assert "only my admins" in refusal.params["text"]
        assert not fake.calls_of("getFile", since=mark)
    finally:
        admin_engine.remove(["moon-basil", *added])


async def test_admin_adds_a_link_and_pasted_text_and_questions_keep_flowing(fake, admin_engine, admin_harness):
    h = admin_harness
    await h.start()
    url = fake.add_page("news/orchard.txt", "Orchard Robots Pick Apples\n\n" + "The robots picked 4,000 apples an hour at the Kent orchard. " * 5, "text/plain")
    pasted = "Harbour Bridge Repainted\n\n" + ("Painters finished the harbour bridge in teal after nine months of work. " * 20)
    added: list[str] = []
    try:
        mark = fake.mark()
        fake.user_message(url, user_id=ADMIN)
        fake.user_message(WHO_SAID, user_id=ALICE)  # asked while the ingest runs
        answer = (await fake.wait_for("sendMessage", lambda c: "[1]" in c.params["text"], since=mark, chat_id=ALICE))[0]
        assert "O’Brien" in answer.params["text"]
        edited = (await fake.wait_for("editMessageText", since=mark, chat_id=ADMIN, timeout=60))[0]
        assert "1 added" in edited.params["text"] and "Orchard Robots" in edited.params["text"]
        added += [line.split("<code>")[1].split("</code>")[0] for line in edited.params["text"].splitlines() if "Added:" in line]

        mark = fake.mark()
        fake.user_message(pasted, user_id=ADMIN)
        edited = (await fake.wait_for("editMessageText", since=mark, chat_id=ADMIN, timeout=60))[0]
        assert "1 added" in edited.params["text"] and "Harbour Bridge Repainted" in edited.params["text"]
        added += [line.split("<code>")[1].split("</code>")[0] for line in edited.params["text"].splitlines() if "Added:" in line]
        answer = await h.ask("What colour was the harbour bridge painted?", user_id=ALICE)
        assert "[1] Harbour Bridge Repainted" in answer.params["text"]  # cited from the pasted article

        mark = fake.mark()
        fake.user_message("https://unreachable.invalid/story", user_id=ADMIN)
        edited = (await fake.wait_for("editMessageText", since=mark, chat_id=ADMIN, timeout=60))[0]
        assert "Nothing added" in edited.params["text"] and "Skipped https://unreachable.invalid/story" in edited.params["text"]
        assert_valid_part(edited.params["text"])

        mark = fake.mark()
        channel = {"type": "channel", "chat": {"id": -1009, "type": "channel", "title": "Moon News", "username": "moonnews"}, "message_id": 77, "date": int(time.time())}
        fake.user_message("Rover Finds Ice\n\nThe rover found ice under the crater rim on Tuesday.", user_id=ADMIN, forward_origin=channel)
        edited = (await fake.wait_for("editMessageText", since=mark, chat_id=ADMIN, timeout=60))[0]
        assert "Added from the forwarded message" in edited.params["text"] and "Rover Finds Ice" in edited.params["text"]
        added += [line.split("<code>")[1].split("</code>")[0] for line in edited.params["text"].splitlines() if "Added:" in line]
        sources = await h.ask("/sources", user_id=ALICE)
        assert '<a href="https://t.me/moonnews/77">Rover Finds Ice</a> — <i>Moon News' in sources.params["text"]

        refused = await h.ask("https://example.com/story", user_id=ALICE)
        assert "only my admins" in refused.params["text"]
        removed = await h.ask("/remove " + " ".join(added) + " no-such-id", user_id=ADMIN)
        assert removed.params["text"].count("Removed") == 3 and "No article <code>no-such-id</code>" in removed.params["text"]
        added.clear()
    finally:
        if added:
            admin_engine.remove(added)


# -- commands ---------------------------------------------------------------------------------
async def test_commands_are_registered_and_start_offers_example_questions(bot, fake, harness):
    default = [c for c in fake.calls_of("setMyCommands") if not c.params.get("scope")]
    assert [c["command"] for c in default[0].params["commands"]] == [c for c, _ in BOT_COMMANDS]
    admin = [c for c in fake.calls_of("setMyCommands") if c.params.get("scope")]
    assert admin[0].params["scope"] == {"type": "chat", "chat_id": ADMIN}
    assert [c["command"] for c in admin[0].params["commands"]] == [c for c, _ in ADMIN_COMMANDS]

    start = await harness.ask("/start")
    text = start.params["text"]
    assert "1 news article" in text and "Send me a question" in text
    examples = buttons(start)
    assert [b["callback_data"] for b in examples] == ["x:0", "x:1"]
    mark = fake.mark()
    fake.press(fake.sent(ALICE)[-1], "x:1", user_id=ALICE)
    answer = (await fake.wait_for("sendMessage", since=mark, chat_id=ALICE))[0]
    assert answer.params["text"].startswith("❓ <i>") and "[1]" in answer.params["text"]

    help_ = await harness.ask("/help")
    assert "/quotes" in help_.params["text"] and "/remove" not in help_.params["text"]
    unknown = await harness.ask("/frobnicate")
    assert "/help" in unknown.params["text"]


async def test_quotes_are_paged_with_buttons_and_open_passages(bot, fake, harness, seed_engine):
    speaker = "Robert O’Brien"
    expected = [q for q in seed_engine.quotes(speaker) if q.canonical_speaker == speaker]
    call = await harness.ask("/quotes obrien")
    text = call.params["text"]
    assert_valid_part(text)
    assert f"<b>{speaker}</b>" in text and f"{len(expected)} quote" in text
    assert "the Christmas gift didn’t come" in text
    data = [b["callback_data"] for b in buttons(call) if b["callback_data"].startswith("p:")]
    assert len(data) == min(5, len(expected))
    pager = [b["callback_data"] for b in buttons(call) if b["callback_data"].startswith("q:")]
    assert len(pager) == (1 if len(expected) > 5 else 0)

    choose = await harness.ask("/quotes")
    pick = buttons(choose)[0]
    assert pick["text"].startswith(speaker) and pick["callback_data"].startswith("q:")
    mark = fake.mark()
    fake.press(fake.sent(ALICE)[-1], pick["callback_data"], user_id=ALICE)
    edited = (await fake.wait_for("editMessageText", since=mark, chat_id=ALICE))[0]
    assert f"{len(expected)} quote" in edited.params["text"]
    if pager:  # next page, edited in place
        mark = fake.mark()
        fake.press(fake.sent(ALICE)[-1], pager[0], user_id=ALICE)
        edited = (await fake.wait_for("editMessageText", since=mark, chat_id=ALICE))[0]
        assert "(page 2/" in edited.params["text"]

    mark = fake.mark()
    fake.press(fake.sent(ALICE)[-1], data[0], user_id=ALICE)
    passage = (await fake.wait_for("sendMessage", since=mark, chat_id=ALICE))[0]
    assert "<b><u>" in passage.params["text"]

    nobody = await harness.ask("/quotes Zebulon Quackenbush")
    assert "No one called <b>Zebulon Quackenbush</b>" in nobody.params["text"]


async def test_sources_stats_and_admin_only_commands(bot, fake, harness):
    sources = await harness.ask("/sources")
    assert "1 article indexed" in sources.params["text"] and f"<code>{SEED_ID}</code>" in sources.params["text"]
    stats = await harness.ask("/stats", user_id=ADMIN)
    assert "Articles: 1" in stats.params["text"] and "questions" in stats.params["text"]
    denied = await harness.ask("/stats")
    assert "for admins" in denied.params["text"]
    denied = await harness.ask("/remove " + SEED_ID)
    assert "for admins" in denied.params["text"]


# -- failures ---------------------------------------------------------------------------------
async def test_a_user_who_blocked_the_bot_is_ignored_and_the_next_update_served(bot, fake, caplog, harness):
    caplog.set_level(logging.INFO)
    blocked = 3003
    fake.block(blocked)
    mark = fake.mark()
    fake.user_message(WHO_SAID, user_id=blocked)
    await fake.settle(quiet=0.2)
    for _ in range(100):
        if [c for c in fake.calls[mark:] if c.method == "sendMessage" and c.status == 403]:
            break
        await asyncio.sleep(0.1)
    assert [c for c in fake.calls[mark:] if c.method == "sendMessage" and c.status == 403]
    answer = await harness.ask(WHO_SAID, user_id=ALICE)
    assert "[1]" in answer.params["text"]
    blocked_logs = [r for r in caplog.records if "blocked" in r.getMessage()]
    assert blocked_logs and all(r.exc_info is None for r in blocked_logs)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_retry_after_is_honoured(bot, fake):
    fake.fail("sendMessage", 429, retry_after=1, chat_id=ALICE)
    mark = fake.mark()
    fake.user_message(WHO_SAID, user_id=ALICE)
    answer = (await fake.wait_for("sendMessage", since=mark, chat_id=ALICE))[0]
    tries = [c for c in fake.calls[mark:] if c.method == "sendMessage"]
    assert [c.status for c in tries] == [429, 200]
    assert tries[1].at - tries[0].at >= 1.0
    assert "[1]" in answer.params["text"]


async def test_citebot_errors_reach_the_user_and_bugs_get_an_apology(harness, fake, seed_engine, caplog):
    await harness.start()
    too_long = await harness.ask("why " * 300)
    assert too_long.params["text"].startswith("⚠️ The question is longer than 1000 characters")

    app = harness.apps[-1]
    await harness.stop(app)

    def broken(question):
        raise RuntimeError("index exploded")

    caplog.set_level(logging.INFO)
    await harness.start(engine=EngineProxy(seed_engine, broken))
    apology = await harness.ask(WHO_SAID)
    assert apology.params["text"].startswith("Sorry, something went wrong")
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors and errors[0].exc_info and "index exploded" in str(errors[0].exc_info[1])
    again = await harness.ask("/help")  # the bot is still serving
    assert "/quotes" in again.params["text"]


async def test_unknown_methods_are_recorded_so_the_test_fails(bot, fake):
    from telegram.error import TelegramError

    with pytest.raises(TelegramError):
        await bot.bot.do_api_request("sendTelepathy", api_kwargs={"chat_id": ALICE})
    assert fake.unknown == ["sendTelepathy"]
    fake.unknown.clear()  # the fixture would fail this test otherwise; that is the point


async def test_the_token_never_reaches_the_logs(bot, fake, caplog, harness):
    caplog.set_level(logging.DEBUG)
    logging.getLogger("telegram.Bot").debug("calling %s/bot%s/getMe", fake.url, fake.token)
    await harness.ask("/help")
    assert caplog.records
    secret = fake.token.split(":", 1)[1]
    assert fake.token not in caplog.text and secret not in caplog.text
    install_log_redaction(fake.token)  # idempotent


async def test_run_bot_explains_a_missing_token_or_webhook_extra(seed_engine, monkeypatch):
    settings = BotSettings(index=seed_engine.settings.index, telegram_token=None)
    with pytest.raises(ConfigError, match="BotFather"):
        run_bot(settings, seed_engine)
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "tornado" else real(name, *a))
    hook = replace(settings, telegram_token="1:" + "x" * 20, webhook_url="https://bot.example/hook")
    with pytest.raises(ConfigError, match=r"python-telegram-bot\[webhooks\]"):
        run_bot(hook, seed_engine)


# -- the real entry point ---------------------------------------------------------------------
async def serve(fake: FakeTelegram, tmp_path: Path, **env_extra: str) -> asyncio.subprocess.Process:
    """``python -m bot.cli -vv serve`` against the fake server (DEBUG logs: the strictest case)."""
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": fake.token,
        "CITEBOT_API_BASE_URL": fake.base_url,
        "CITEBOT_DATA_DIR": str(tmp_path / "data"),
        "CITEBOT_SEEDS_DIR": str(SEEDS),
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
        "HF_HUB_OFFLINE": "1",
        "PYTHONUNBUFFERED": "1",
        **env_extra,
    }
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "-vv", "--env-file", str(tmp_path / "none.env"), "serve",
        cwd=str(ROOT), env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )


async def finish(proc: asyncio.subprocess.Process) -> str:
    """Stop the server like Ctrl-C does; its stdout + stderr."""
    if proc.returncode is None:
        proc.send_signal(signal.SIGINT)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), 30)
    except TimeoutError:
        proc.kill()
        out, err = await proc.communicate()
    logs = (out + err).decode("utf-8", "replace")
    if os.environ.get("CITEBOT_SHOW_SERVE_LOGS"):
        print(logs)
    return logs


async def test_cli_serve_answers_a_question_and_never_prints_the_token(fake, tmp_path):
    proc = await serve(fake, tmp_path)
    try:
        await fake.wait_for("deleteWebhook", timeout=120)  # polling starts right after
        call = await Harness(fake, None).ask(WHO_SAID, timeout=60)
        assert "O’Brien" in call.params["text"] and "[1]" in call.params["text"]
    finally:
        logs = await finish(proc)
    assert proc.returncode == 0, logs[-3000:]
    assert "Calling Bot API endpoint `getUpdates`" in logs  # DEBUG logging was really on
    assert fake.token not in logs and fake.token.split(":", 1)[1] not in logs


@pytest.mark.skipif(
    importlib.util.find_spec("tornado") is None, reason="webhook mode needs python-telegram-bot[webhooks] (tornado)"
)
async def test_cli_serve_webhook_mode_checks_the_secret_token(fake, tmp_path):
    import aiohttp

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    secret = "hook-Secret-0123456789"
    proc = await serve(
        fake, tmp_path, CITEBOT_WEBHOOK_URL="https://bot.example/citebot/hook", CITEBOT_WEBHOOK_SECRET=secret,
        CITEBOT_WEBHOOK_LISTEN="127.0.0.1", CITEBOT_WEBHOOK_PORT=str(port),
    )
    try:
        hook = (await fake.wait_for("setWebhook", timeout=120))[0]
        assert hook.params["url"] == "https://bot.example/citebot/hook" and hook.params["secret_token"] == secret
        msg = fake.user_message(WHO_SAID, user_id=ALICE, push=False)
        update = {"update_id": 1, "message": {k: v for k, v in msg.items() if k != "html"}}
        url = f"http://127.0.0.1:{port}/citebot/hook"
        async with aiohttp.ClientSession() as http:
            for _ in range(50):
                try:
                    async with http.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}) as r:
                        assert r.status == 403
                    break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.2)
            async with http.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": secret}) as r:
                assert r.status == 200
        call = (await fake.wait_for("sendMessage", chat_id=ALICE, timeout=60))[0]
        assert "[1]" in call.params["text"]
    finally:
        logs = await finish(proc)
    assert proc.returncode == 0, logs[-3000:]
    assert fake.token not in logs and secret not in logs
