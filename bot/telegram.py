"""citebot on Telegram: python-telegram-bot 22 handlers around the answer :class:`Engine`.

Users ask in a private chat (any plain message is a question) or in a group (``/ask``,
a message that mentions the bot, or a reply to one of its messages). The reply is the
answer with ``[n]`` markers, a compact source list and one button per citation; a button
opens the exact passage (expandable blockquote, cited span marked) with a link to the
article. Buttons carry ids only, so they keep working after a restart.

Admins add articles from the chat — a link, a pasted or forwarded article, or a file
(.txt .md .html .json .jsonl) — while questions keep being answered; ``/remove ID`` and
``/stats`` are theirs too.

All engine work runs in threads (``asyncio.to_thread``); sends go through
``AIORateLimiter`` (which also waits out ``RetryAfter``); the token never reaches the
logs (:func:`install_log_redaction`).

Example:
    >>> from bot.answer import Engine
    >>> from bot.settings import BotSettings
    >>> settings = BotSettings.from_env()                          # doctest: +SKIP
    >>> run_bot(settings, Engine.open(settings))                   # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import importlib.util
import logging
import os
import re
import secrets
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    CallbackQuery,
    LinkPreviewOptions,
    Message,
    MessageEntity,
    MessageOriginChannel,
    MessageOriginChat,
    MessageOriginHiddenUser,
    MessageOriginUser,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatAction, ChatType, ParseMode
from telegram.error import BadRequest, Forbidden, InvalidToken, RetryAfter, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    BaseRateLimiter,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    TypeHandler,
    filters,
)

from index.errors import CitebotError, ConfigError

from . import formatting as fmt
from .answer import Engine
from .settings import BotSettings

__all__ = [
    "build_application",
    "run_bot",
    "install_log_redaction",
    "RedactSecrets",
    "FloodLimiter",
    "BOT_COMMANDS",
    "ADMIN_COMMANDS",
    "DOCUMENT_SUFFIXES",
]

log = logging.getLogger(__name__)

BOT_COMMANDS = (
    ("start", "What I know, with example questions"),
    ("help", "How to ask and how to read the sources"),
    ("ask", "Ask a question: /ask QUESTION"),
    ("quotes", "Who said what: /quotes NAME"),
    ("sources", "The articles I know"),
)
ADMIN_COMMANDS = BOT_COMMANDS + (
    ("stats", "Index and bot statistics"),
    ("remove", "Remove an article: /remove ID"),
)
#: Files an admin can send.
DOCUMENT_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".jsonl", ".json")
#: The Bot API lets bots download files up to 20 MB.
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
#: A pasted text longer than this is an article, not a question (Engine.ask takes ≤ 1000).
ARTICLE_MIN_CHARS = 1000
#: Telegram shows "typing…" for 5 s; renew it while an answer takes longer.
TYPING_EVERY = 4.5
#: Updates handled at once.
CONCURRENT_UPDATES = 32
#: Questions the engine works on at once (each in a worker thread). More threads than
#: cores only fight over the GIL with the event loop, which then answers buttons late.
ENGINE_THREADS = max(2, os.cpu_count() or 2)
#: Times a send is retried after ``RetryAfter`` (flood control) before giving up.
MAX_RETRIES = 3

APOLOGY = "Sorry, something went wrong while handling that. Please try again in a moment."
REFUSAL = (
    "Sorry, this is a private bot and you are not on its list of users. If you should be, "
    "send your Telegram id <code>{id}</code> to the person who runs it."
)
ONLY_ADMINS = "I answer questions about the articles I know; only my admins can add new ones."
NO_TOKEN = (
    "no Telegram bot token: talk to @BotFather in Telegram (/newbot), then set TELEGRAM_BOT_TOKEN "
    "(or TELEGRAM_BOT_TOKEN_FILE)"
)

_URLS = re.compile(r"(?:https?://\S+\s*)+")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


# -- logging: the token never appears -----------------------------------------------------
class RedactSecrets(logging.Filter):
    """A logging filter that replaces secrets (the bot token) in messages and tracebacks.

    :func:`install_log_redaction` runs it on every log record as it is created, so it
    covers records of every logger and every handler, including handlers added later.
    """

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def add(self, *secrets: str | None) -> None:
        for secret in secrets:
            if secret and len(secret) >= 8:
                self.secrets.add(secret)
                if ":" in secret and len(secret.split(":", 1)[1]) >= 8:  # the token's secret half
                    self.secrets.add(secret.split(":", 1)[1])

    def redact(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, "<redacted>")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken log call: leave it to logging's own error handling
            return True
        cleaned = self.redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            text = logging.Formatter().formatException(record.exc_info)
            if any(s in text for s in self.secrets):
                record.exc_text = self.redact(text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


_REDACTOR = RedactSecrets()
_factory_installed = False


def install_log_redaction(*secrets: str | None) -> None:
    """Redact ``secrets`` from every log record, and quiet the HTTP client loggers.

    httpx logs each request URL — which contains the token — at INFO; its loggers are
    set to WARNING, and the redaction catches whatever else may carry the token.
    """
    global _factory_installed
    _REDACTOR.add(*secrets)
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    if _factory_installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        _REDACTOR.filter(record)
        return record

    logging.setLogRecordFactory(factory)
    _factory_installed = True


# -- flood control ------------------------------------------------------------------------
class FloodLimiter(AIORateLimiter):
    """``AIORateLimiter`` (30 messages/s overall, 20/min per group, waits out ``RetryAfter``)
    that lets "typing…" through: chat actions are not messages, and under load they would
    otherwise use up half of the message budget."""

    async def process_request(self, callback, args, kwargs, endpoint, data, rate_limit_args):  # noqa: D102
        if endpoint == "sendChatAction":
            return await callback(*args, **kwargs)
        return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)


# -- small helpers --------------------------------------------------------------------------
def _engine(context: ContextTypes.DEFAULT_TYPE) -> Engine:
    return context.bot_data["engine"]


def _settings(context: ContextTypes.DEFAULT_TYPE) -> BotSettings:
    return context.bot_data["settings"]


def _count(context: ContextTypes.DEFAULT_TYPE, key: str, n: float = 1) -> None:
    context.bot_data["counters"][key] += n


def _is_admin(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    user = update.effective_user
    return _settings(context).is_admin(user.id if user else None)


async def _send(
    context: ContextTypes.DEFAULT_TYPE, chat_id: int, reply: fmt.Reply, reply_to: int | None = None
) -> list[Message]:
    """Send every part of a reply; the keyboard goes under the last part."""
    sent = []
    for i, part in enumerate(reply.parts):
        last = i == len(reply.parts) - 1
        sent.append(
            await context.bot.send_message(
                chat_id,
                part,
                reply_markup=reply.keyboard if last else None,
                reply_parameters=(
                    ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to and i == 0 else None
                ),
            )
        )
    return sent


async def _edit(context: ContextTypes.DEFAULT_TYPE, message: Message, reply: fmt.Reply) -> None:
    """Replace a message by a reply (extra parts follow as new messages).

    A message that can no longer be edited (deleted, too old) gets the reply as a new
    message instead; an edit that changes nothing (a double tap) is fine.
    """
    first, rest = reply.parts[0], reply.parts[1:]
    try:
        await context.bot.edit_message_text(
            first, chat_id=message.chat_id, message_id=message.message_id,
            reply_markup=None if rest else reply.keyboard,
        )
    except BadRequest as e:
        if "not modified" in e.message.lower():
            pass
        elif "can't be edited" in e.message.lower() or "not found" in e.message.lower():
            log.debug("message %s in chat %s cannot be edited (%s); sending anew", message.message_id, message.chat_id, e)
            await _send(context, message.chat_id, reply)
            return
        else:
            raise
    if rest:
        await _send(context, message.chat_id, fmt.Reply(rest, reply.keyboard))


@contextlib.asynccontextmanager
async def _typing(bot: Bot, chat_id: int) -> AsyncIterator[None]:
    """Show "typing…" in the chat until the block ends.

    A chat action already on its way is awaited, not cancelled, so it can never reach
    Telegram after the answer (which would show "typing…" under the answer).
    """
    stop = asyncio.Event()

    async def keep_typing() -> None:
        while not stop.is_set():
            try:
                await bot.send_chat_action(chat_id, ChatAction.TYPING)
            except Forbidden:
                return
            except TelegramError as e:
                log.debug("chat action failed in chat %s: %s", chat_id, e)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), TYPING_EVERY)

    task = asyncio.create_task(keep_typing())
    try:
        yield
    finally:
        stop.set()
        try:
            await asyncio.wait_for(task, TYPING_EVERY)
        except (TimeoutError, asyncio.CancelledError):
            task.cancel()


def _command_for_me(message: Message, bot: Bot) -> bool:
    """Whether the message starts with a command meant for this bot."""
    entities = message.entities or message.caption_entities
    if not entities or entities[0].type != MessageEntity.BOT_COMMAND or entities[0].offset != 0:
        return False
    command = message.parse_entity(entities[0]) if message.text else message.parse_caption_entity(entities[0])
    _, _, target = command.partition("@")
    return not target or target.lower() == (bot.username or "").lower()


def _mention_question(message: Message, bot: Bot) -> str | None:
    """In a group: the question of a message that mentions or replies to the bot, else None."""
    text = message.text or message.caption or ""
    me = f"@{bot.username}".lower() if bot.username else None
    mentioned = False
    for entity, value in {**message.parse_entities(), **message.parse_caption_entities()}.items():
        if entity.type == MessageEntity.MENTION and me and value.lower() == me:
            mentioned = True
        elif entity.type == MessageEntity.TEXT_MENTION and entity.user and entity.user.id == bot.id:
            mentioned = True
    reply = message.reply_to_message
    replied = bool(reply and reply.from_user and reply.from_user.id == bot.id)
    if not (mentioned or replied):
        return None
    return _clean_question(text, bot)


def _clean_question(text: str, bot: Bot) -> str:
    if bot.username:
        text = re.sub(rf"@{re.escape(bot.username)}\b", " ", text, flags=re.IGNORECASE)
    return " ".join(text.split()).strip(" ,:;")


def _addressed(update: Update, bot: Bot) -> bool:
    """Whether the bot would act on this update (private chat, button, command, mention, reply)."""
    if update.callback_query is not None:
        return True
    message = update.message
    if message is None:
        return False
    if message.chat.type == ChatType.PRIVATE:
        return True
    return _command_for_me(message, bot) or _mention_question(message, bot) is not None


def _wants_ingest(message: Message) -> bool:
    """A link, a forwarded message, or a text too long to be a question."""
    text = (message.text or message.caption or "").strip()
    return bool(message.forward_origin) or bool(_URLS.fullmatch(text)) or len(text) > ARTICLE_MIN_CHARS


def _origin_meta(message: Message) -> dict[str, str]:
    """Front-matter fields for a forwarded message (public channel posts get their URL)."""
    origin = message.forward_origin
    meta: dict[str, str] = {}
    if isinstance(origin, MessageOriginChannel):
        meta["source"] = origin.chat.title or ""
        if origin.chat.username:
            meta["url"] = f"https://t.me/{origin.chat.username}/{origin.message_id}"
    elif isinstance(origin, MessageOriginChat):
        meta["source"] = origin.sender_chat.title or ""
    elif isinstance(origin, MessageOriginUser):
        meta["source"] = origin.sender_user.full_name
    elif isinstance(origin, MessageOriginHiddenUser):
        meta["source"] = origin.sender_user_name
    if origin is not None:
        meta["date"] = origin.date.date().isoformat()
    return {k: " ".join(v.split()) for k, v in meta.items() if v}


def _safe_name(name: str | None, default: str) -> str:
    stem, dot, suffix = Path(name or default).name.rpartition(".")
    stem = _UNSAFE_NAME.sub("-", stem if dot else suffix).strip("-.") or "document"
    return f"{stem[:60]}.{suffix.lower()}" if dot else stem[:60]


def _titles(engine: Engine, ids: list[str]) -> dict[str, str]:
    """Titles of just-ingested articles (the newest ones)."""
    if not ids:
        return {}
    found = (engine.article(i) for i in dict.fromkeys(ids))
    return {a.id: a.title for a in found if a is not None}


def _speakers(engine: Engine) -> list[tuple[str, int]]:
    """Canonical speakers with quote counts."""
    return engine.speakers()


def _quote_refs(engine: Engine, quotes: list) -> list[fmt.PassageRef | None]:
    """Where each quote sits in its passage, for the passage buttons."""
    refs: list[fmt.PassageRef | None] = []
    for q in quotes:
        chunk = engine.passage(q.chunk_id) if q.chunk_id is not None else None
        if chunk is None:
            refs.append(None)
            continue
        span = (max(0, q.start - chunk.start), min(len(chunk.text), q.end - chunk.start))
        refs.append(fmt.PassageRef(chunk.id, (span,)))
    return refs


# -- the gate -------------------------------------------------------------------------------
async def guard(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Refuse users outside the allow-list (one polite refusal each) and drop their updates."""
    user = update.effective_user
    if user is None or not _addressed(update, context.bot):
        return
    if _settings(context).is_allowed(user.id):
        return
    refused: set[int] = context.bot_data["refused"]
    if update.callback_query is not None:
        await update.callback_query.answer("Sorry, this bot is private.")
    elif user.id not in refused and update.effective_chat is not None:
        refused.add(user.id)
        _count(context, "refused users")
        log.info("refused user id=%d", user.id)
        reply_to = update.message.message_id if update.message and update.effective_chat.type != ChatType.PRIVATE else None
        await _send(context, update.effective_chat.id, fmt.Reply([REFUSAL.format(id=user.id)]), reply_to)
    raise ApplicationHandlerStop


# -- questions ------------------------------------------------------------------------------
async def _answer(
    context: ContextTypes.DEFAULT_TYPE,
    chat_id: int,
    question: str,
    *,
    source: Message | None = None,
    echo: bool = False,
) -> None:
    """Answer one question in a chat: typing…, the engine in a thread, the rendered reply.

    The reply quotes the question (``source``) in groups, and in private chats when the
    user asked something else meanwhile, so each answer sits under its question.
    """
    engine = _engine(context)
    started = time.monotonic()
    chat_data = context.chat_data if context.chat_data is not None else {}
    pending: set[int] = chat_data.setdefault("pending", set())
    if source is not None:
        pending.add(source.message_id)
        chat_data["last_question"] = source.message_id
    try:
        async with _typing(context.bot, chat_id), context.bot_data["engine_slots"]:
            answer = await asyncio.to_thread(engine.ask, question)
        reply_to = None
        if source is not None:
            overlapping = len(pending) > 1 or chat_data.get("last_question") != source.message_id
            if source.chat.type != ChatType.PRIVATE or overlapping:
                reply_to = source.message_id
        await _send(context, chat_id, fmt.render_answer(answer, question if echo else None), reply_to)
    finally:
        if source is not None:
            pending.discard(source.message_id)
    _count(context, "questions")
    _count(context, "answered" if answer.found else "not in the articles")
    _count(context, "answer seconds (total)", time.monotonic() - started)


async def cmd_ask(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/ask QUESTION (or /ask as a reply to a message holding the question)."""
    message = update.message
    question = " ".join(context.args or [])
    replied = message.reply_to_message
    if not question and replied and replied.from_user and replied.from_user.id != context.bot.id:
        question = replied.text or replied.caption or ""
    question = _clean_question(question, context.bot)
    if not question:
        await _send(context, message.chat_id, fmt.Reply(["Ask like this: <code>/ask Who said the Christmas gift didn't come?</code>"]))
        return
    await _answer(context, message.chat_id, question, source=message)


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A plain message: a question (private chats; groups when addressed) or an admin's article."""
    message = update.message
    text = message.text or message.caption or ""
    if message.chat.type != ChatType.PRIVATE:
        question = _mention_question(message, context.bot)
        if question is None:
            return
        if not question:
            await _send(context, message.chat_id, fmt.Reply(["Yes? Ask me a question about the articles."]), message.message_id)
            return
        await _answer(context, message.chat_id, question, source=message)
        return
    if _wants_ingest(message):
        if _is_admin(update, context):
            await _ingest_message(update, context)
            return
        if message.forward_origin or _URLS.fullmatch(text.strip()):
            await _send(context, message.chat_id, fmt.Reply([ONLY_ADMINS]))
            return
    await _answer(context, message.chat_id, _clean_question(text, context.bot), source=message)


# -- commands -------------------------------------------------------------------------------
async def cmd_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start: what the bot knows, with two example questions to tap."""
    engine = _engine(context)
    stats, examples = await asyncio.to_thread(lambda: (engine.stats(), engine.example_questions(2)))
    user = update.effective_user
    reply = fmt.render_start(stats.articles, stats.chunks, examples, user.first_name if user else None)
    await _send(context, update.effective_chat.id, reply)


async def cmd_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/help: how to ask, how to read sources, the commands."""
    await _send(context, update.effective_chat.id, fmt.render_help(context.bot.username, _is_admin(update, context)))


async def cmd_quotes(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/quotes NAME: that person's quotes, paged; without a name, who is quoted."""
    engine = _engine(context)
    name = " ".join(context.args or []).strip()
    chat_id = update.effective_chat.id
    if not name:
        await _send(context, chat_id, fmt.render_speaker_choice(None, await asyncio.to_thread(_speakers, engine)))
        return
    matches = await asyncio.to_thread(engine.match_speakers, name)
    if len(matches) != 1:
        counts = dict(await asyncio.to_thread(_speakers, engine))
        await _send(context, chat_id, fmt.render_speaker_choice(name, [(m, counts.get(m, 0)) for m in matches]))
        return
    await _send(context, chat_id, await asyncio.to_thread(_quotes_page, engine, matches[0], 0))


def _quotes_page(engine: Engine, speaker: str, page: int) -> fmt.Reply:
    quotes = [q for q in engine.quotes(speaker) if q.canonical_speaker == speaker]
    per = fmt.QUOTES_PER_PAGE
    page = min(max(0, page), max(0, (len(quotes) - 1) // per))
    refs = _quote_refs(engine, quotes[page * per : (page + 1) * per])
    return fmt.render_quotes_page(speaker, quotes, page, refs)


def _sources_page(engine: Engine, page: int) -> fmt.Reply:
    per = fmt.SOURCES_PER_PAGE
    total = engine.stats().articles
    page = min(max(0, page), max(0, (total - 1) // per))
    return fmt.render_sources_page(engine.articles(limit=per, offset=page * per), total, page)


async def cmd_sources(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/sources: the indexed articles, paged."""
    reply = await asyncio.to_thread(_sources_page, _engine(context), 0)
    await _send(context, update.effective_chat.id, reply)


async def cmd_stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/stats (admins): index size and the bot's counters."""
    if not _is_admin(update, context):
        await _send(context, update.effective_chat.id, fmt.Reply(["/stats is for admins."]))
        return
    stats = await asyncio.to_thread(_engine(context).stats)
    counters: Counter = context.bot_data["counters"]
    bot_stats: dict[str, float] = {"uptime (minutes)": (time.time() - context.bot_data["started"]) / 60}
    for key in ("questions", "answered", "not in the articles", "passages opened", "ingests", "refused users", "errors"):
        bot_stats[key] = int(counters[key])
    if counters["questions"]:
        bot_stats["mean answer seconds"] = counters["answer seconds (total)"] / counters["questions"]
    await _send(context, update.effective_chat.id, fmt.render_stats(stats, bot_stats))


async def cmd_remove(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/remove ID… (admins): remove articles by id."""
    chat_id = update.effective_chat.id
    if not _is_admin(update, context):
        await _send(context, chat_id, fmt.Reply(["/remove is for admins."]))
        return
    ids = [a for a in context.args or [] if a.strip()]
    if not ids:
        await _send(context, chat_id, fmt.Reply(["Remove like this: <code>/remove ARTICLE_ID</code> (ids are in /sources)."]))
        return
    removed = await asyncio.to_thread(_engine(context).remove, ids)
    missing = [a for a in ids if a not in removed]
    lines = [f"🗑 Removed <code>{fmt.escape(a)}</code>" for a in removed]
    lines += [f"No article <code>{fmt.escape(a)}</code> (see /sources)." for a in missing]
    await _send(context, chat_id, fmt.Reply(fmt.split_html("\n".join(lines))))


async def on_unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An unknown /command in a private chat."""
    command = (update.message.text or "").split()[0]
    await _send(context, update.effective_chat.id, fmt.Reply([f"I don't know {fmt.escape(command)}. /help lists what I can do."]))


# -- admin ingest ---------------------------------------------------------------------------
async def _ingest(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    name: str,
    prepare: Callable[[Path], Awaitable[list[str]]],
    upload: bool = False,
) -> None:
    """Fetch the input into a temp folder under the data dir, ingest it in a thread, report.

    ``upload``: the input is one file named by its sender (``Engine.ingest_upload``).
    """
    engine = _engine(context)
    chat_id = update.effective_chat.id
    status = await context.bot.send_message(chat_id, f"⏳ Adding {fmt.escape(name)}…")
    incoming = Path(_settings(context).index.data_dir) / "incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="tg-", dir=incoming))
    try:
        targets = await prepare(tmp)
        if upload:
            report = await asyncio.to_thread(engine.ingest_upload, Path(targets[0]))
        else:
            report = await asyncio.to_thread(engine.ingest, targets)
        titles = await asyncio.to_thread(_titles, engine, report.added + report.updated)
    except CitebotError as e:
        await _edit(context, status, fmt.Reply([fmt.render_error(str(e))]))
        return
    except Exception:
        await _edit(context, status, fmt.Reply([f"⚠️ Could not add {fmt.escape(name)}."]))
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    _count(context, "ingests")
    log.info("admin %s ingested %s: %s", update.effective_user.id, name, report.summary())
    await _edit(context, status, fmt.render_ingest_report(report, titles, hide=[str(tmp)], name=name))


async def _ingest_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An admin's link(s), or pasted/forwarded article text."""
    message = update.message
    text = (message.text or message.caption or "").strip()
    if _URLS.fullmatch(text) and not message.forward_origin:
        urls = text.split()

        async def prepare_urls(tmp: Path) -> list[str]:
            return urls

        await _ingest(update, context, urls[0] if len(urls) == 1 else f"{len(urls)} links", prepare_urls)
        return
    meta = _origin_meta(message)

    async def prepare_text(tmp: Path) -> list[str]:
        path = tmp / f"tg-{hashlib.sha1(text.encode('utf-8')).hexdigest()[:12]}.txt"
        front = "".join(f"{k}: {v}\n" for k, v in meta.items())
        path.write_text(f"---\n{front}---\n{text}\n" if front else text + "\n", encoding="utf-8")
        return [str(path)]

    await _ingest(update, context, "the forwarded message" if message.forward_origin else "the pasted text", prepare_text)


async def on_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A file in a private chat: admins add it (download via getFile, then ingest)."""
    message = update.message
    document = message.document
    if not _is_admin(update, context):
        await _send(context, message.chat_id, fmt.Reply([ONLY_ADMINS]))
        return
    name = _safe_name(document.file_name, "document.txt")
    if not name.lower().endswith(DOCUMENT_SUFFIXES):
        kinds = " ".join(DOCUMENT_SUFFIXES)
        await _send(context, message.chat_id, fmt.Reply([f"I can read {kinds} files, not {fmt.escape(document.file_name or 'this file')}."]))
        return
    limit = min(MAX_DOWNLOAD_BYTES, _settings(context).index.max_file_bytes)
    if document.file_size and document.file_size > limit:
        await _send(context, message.chat_id, fmt.Reply([f"{fmt.escape(name)} is {document.file_size:,} bytes; the limit is {limit:,}."]))
        return

    async def prepare_file(tmp: Path) -> list[str]:
        tg_file = await document.get_file()
        path = tmp / name
        await tg_file.download_to_drive(path)
        return [str(path)]

    await _ingest(update, context, document.file_name or name, prepare_file, upload=True)


# -- buttons --------------------------------------------------------------------------------
async def on_passage(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """📄 [n]: send the cited passage (marked span, link to the article) under the answer."""
    query = update.callback_query
    try:
        chunk_id, spans = fmt.parse_passage_data(query.data or "")
    except ValueError:
        await query.answer("This button no longer works.")
        return
    chunk = await asyncio.to_thread(_engine(context).passage, chunk_id)
    if chunk is None:
        await query.answer("That passage is no longer indexed (its article was updated or removed).", show_alert=True)
        return
    await query.answer()
    reply = fmt.render_passage(
        chunk.text, chunk.title, chunk.url, chunk.article_id, spans, source=chunk.source, date=chunk.date
    )
    chat_id, reply_to = _query_place(query)
    _count(context, "passages opened")
    await _send(context, chat_id, reply, reply_to)


def _query_place(query: CallbackQuery) -> tuple[int, int | None]:
    message = query.message
    if message is None:
        return query.from_user.id, None
    return message.chat.id, message.message_id if isinstance(message, Message) else None


async def on_quotes_page(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """◀ ▶ or a speaker button under /quotes: show that page in place."""
    query = update.callback_query
    engine = _engine(context)
    try:
        key, page = fmt.parse_quotes_data(query.data or "")
    except ValueError:
        await query.answer("This button no longer works.")
        return
    speakers = await asyncio.to_thread(_speakers, engine)
    speaker = next((name for name, _ in speakers if fmt.speaker_key(name) == key), None)
    if speaker is None:
        await query.answer("Those quotes are no longer indexed.", show_alert=True)
        return
    await query.answer()
    reply = await asyncio.to_thread(_quotes_page, engine, speaker, page)
    await _show_in_place(context, query, reply)


async def on_sources_page(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """◀ ▶ under /sources: show that page in place."""
    query = update.callback_query
    try:
        page = fmt.parse_page_data(query.data or "", "s")
    except ValueError:
        await query.answer("This button no longer works.")
        return
    await query.answer()
    reply = await asyncio.to_thread(_sources_page, _engine(context), page)
    await _show_in_place(context, query, reply)


async def _show_in_place(context: ContextTypes.DEFAULT_TYPE, query: CallbackQuery, reply: fmt.Reply) -> None:
    if isinstance(query.message, Message):
        await _edit(context, query.message, reply)
    else:
        await _send(context, _query_place(query)[0], reply)


async def on_example(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An example question tapped under /start: answer it."""
    query = update.callback_query
    examples = await asyncio.to_thread(_engine(context).example_questions, 2)
    try:
        question = examples[fmt.parse_page_data(query.data or "", "x")]
    except (ValueError, IndexError):
        await query.answer("This button no longer works.")
        return
    await query.answer()
    await _answer(context, _query_place(query)[0], question, echo=True)


async def on_stale_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any other button (from an older version): say so instead of spinning."""
    await update.callback_query.answer("This button no longer works.")


# -- errors and start-up --------------------------------------------------------------------
async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the error (traceback for bugs), then tell the user briefly; never crash."""
    error = context.error
    chat = update.effective_chat if isinstance(update, Update) else None
    if isinstance(error, Forbidden):
        log.warning("chat %s: %s (the user blocked the bot or left); ignored", chat.id if chat else "-", error.message)
        return
    if isinstance(error, RetryAfter):
        log.warning("flood control: Telegram asked to wait %s; this update's reply was dropped", error.retry_after)
        return
    if isinstance(error, CitebotError):
        log.info("chat %s: %s", chat.id if chat else "-", error)
        text = fmt.render_error(str(error))
    else:
        log.error("error while handling an update", exc_info=error)
        context.bot_data["counters"]["errors"] += 1
        text = APOLOGY
    if isinstance(update, Update) and update.callback_query is not None:
        with contextlib.suppress(TelegramError):
            await update.callback_query.answer()
    if chat is None:
        return
    try:
        await context.bot.send_message(chat.id, text)
    except TelegramError as e:
        log.warning("could not tell chat %s about the error: %s", chat.id, e)


async def post_init(application: Application) -> None:
    """Register the command menus: everyone's, and the admins' (with /stats and /remove)."""
    await application.bot.set_my_commands([BotCommand(c, d) for c, d in BOT_COMMANDS])
    settings: BotSettings = application.bot_data["settings"]
    for admin in sorted(settings.admins):
        try:
            await application.bot.set_my_commands(
                [BotCommand(c, d) for c, d in ADMIN_COMMANDS], scope=BotCommandScopeChat(admin)
            )
        except TelegramError as e:  # the admin has not started the bot yet
            log.warning("could not set the admin command menu for user %s: %s", admin, e)


def build_application(
    settings: BotSettings, engine: Engine, *, rate_limiter: BaseRateLimiter | None = None
) -> Application:
    """The PTB application with every handler wired (not started).

    Args:
        settings: Token, Bot API URLs, allow-list and admins.
        engine: The answer engine (shared; not closed by the application).
        rate_limiter: Flood control; :class:`FloodLimiter` (Telegram's limits) by default.

    Returns:
        The application; run it with :func:`run_bot`, or drive it yourself in tests
        (``initialize`` → ``post_init`` → ``start`` → ``updater.start_polling``).

    Raises:
        ConfigError: no token.
    """
    if not settings.telegram_token:
        raise ConfigError(NO_TOKEN)
    install_log_redaction(settings.telegram_token, settings.webhook_secret)
    app = (
        ApplicationBuilder()
        .token(settings.telegram_token)
        .base_url(settings.api_base_url)
        .base_file_url(settings.file_url)
        .defaults(Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)))
        .rate_limiter(rate_limiter or FloodLimiter(max_retries=MAX_RETRIES))
        .concurrent_updates(CONCURRENT_UPDATES)
        .post_init(post_init)
        .build()
    )
    app.bot_data.update(
        engine=engine, settings=settings, refused=set(), counters=Counter(), started=time.time(),
        engine_slots=asyncio.Semaphore(ENGINE_THREADS),
    )

    new = filters.UpdateType.MESSAGE
    private = filters.ChatType.PRIVATE
    app.add_handler(TypeHandler(Update, guard), group=-1)
    app.add_handler(CommandHandler("start", cmd_start, filters=new))
    app.add_handler(CommandHandler("help", cmd_help, filters=new))
    app.add_handler(CommandHandler("ask", cmd_ask, filters=new))
    app.add_handler(CommandHandler("quotes", cmd_quotes, filters=new))
    app.add_handler(CommandHandler("sources", cmd_sources, filters=new))
    app.add_handler(CommandHandler("stats", cmd_stats, filters=new))
    app.add_handler(CommandHandler("remove", cmd_remove, filters=new))
    app.add_handler(MessageHandler(new & private & filters.COMMAND, on_unknown_command))
    app.add_handler(MessageHandler(new & private & filters.Document.ALL, on_document))
    app.add_handler(MessageHandler(new & (filters.TEXT | filters.CAPTION) & ~filters.COMMAND, on_text))
    app.add_handler(CallbackQueryHandler(on_passage, pattern=r"^p:"))
    app.add_handler(CallbackQueryHandler(on_quotes_page, pattern=r"^q:"))
    app.add_handler(CallbackQueryHandler(on_sources_page, pattern=r"^s:"))
    app.add_handler(CallbackQueryHandler(on_example, pattern=r"^x:"))
    app.add_handler(CallbackQueryHandler(on_stale_button))
    app.add_error_handler(on_error)
    return app


def run_bot(settings: BotSettings, engine: Engine) -> None:
    """Run the bot until interrupted (SIGINT/SIGTERM): long polling, or a webhook.

    Webhook mode (``settings.webhook_url`` set) listens on ``webhook_listen:webhook_port``
    at the URL's path and registers the URL with ``secret_token=settings.webhook_secret``;
    TLS is expected to end at a reverse proxy in front.

    Raises:
        ConfigError: no token, or webhook mode without PTB's webhook extra installed.
    """
    # Telegram drops a webhook call without the right secret; without one, anybody who
    # finds the URL could post updates "from" an admin, so a random secret is always set.
    webhook_secret = settings.webhook_secret or secrets.token_urlsafe(32)
    install_log_redaction(settings.telegram_token, webhook_secret)
    if settings.webhook_url and importlib.util.find_spec("tornado") is None:
        raise ConfigError(
            "webhook mode needs python-telegram-bot's webhook extra: pip install \"python-telegram-bot[webhooks]\""
        )
    seeded = engine.ensure_seeded()
    if seeded is not None:
        log.info("indexed the seed articles: %s", seeded.summary())
    engine.warm_up()
    app = build_application(settings, engine)
    try:
        if settings.webhook_url:
            path = urlsplit(settings.webhook_url).path.lstrip("/")
            log.info("webhook mode: listening on %s:%d/%s", settings.webhook_listen, settings.webhook_port, path)
            app.run_webhook(
                listen=settings.webhook_listen,
                port=settings.webhook_port,
                url_path=path,
                webhook_url=settings.webhook_url,
                secret_token=webhook_secret,
                allowed_updates=Update.ALL_TYPES,
            )
        else:
            log.info("polling %s for updates", urlsplit(settings.api_base_url).netloc)
            app.run_polling(allowed_updates=Update.ALL_TYPES)
    except InvalidToken:  # its message holds the token: never let it reach a traceback
        raise ConfigError("Telegram rejected the bot token (revoked or mistyped?); get one from @BotFather") from None
