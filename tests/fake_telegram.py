"""A fake Telegram Bot API server for tests and benchmarks (no Telegram needed).

Real HTTP on ``127.0.0.1`` (aiohttp, port 0), real long polling, and the behaviours of
the real Bot API that matter to a bot: form-encoded requests decoded per field, HTML
checked the way Telegram checks it ("can't parse entities", 4096 characters), callback
data limited to 64 bytes, files served for ``getFile``, and errors on demand (403 for a
chat that blocked the bot, 429 with ``retry_after``, any status for any method).

Every call is recorded; tests push updates and wait for the calls they expect. A method
this server does not implement is answered with 404 (which PTB reports as
``InvalidToken``) and recorded in :attr:`FakeTelegram.unknown` so a test can fail on it.

Example:
    >>> async def demo():                                            # doctest: +SKIP
    ...     async with FakeTelegram() as fake:
    ...         app = ApplicationBuilder().token(fake.token).base_url(fake.base_url).build()
    ...         fake.user_message("hello", user_id=42)
    ...         call = await fake.wait_for("sendMessage")
"""

from __future__ import annotations

import asyncio
import html
import itertools
import json
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from aiohttp import web

__all__ = ["FakeTelegram", "Call", "check_telegram_html", "DEFAULT_TOKEN", "BOT_ID", "BOT_USERNAME"]

BOT_ID = 7000000001
BOT_USERNAME = "citebot_test_bot"
DEFAULT_TOKEN = f"{BOT_ID}:AAH-fake-Secret-token-0123456789abcdef"

#: Fields never JSON-decoded (PTB sends strings verbatim, everything else as JSON).
FREE_TEXT = frozenset(
    "text caption data callback_query_id description short_description name query secret_token url "
    "title parse_mode action file_id emoji explanation question language_code inline_message_id "
    "ip_address".split()
)
#: Methods that send or change something in a chat (subject to 403/429 injection).
CHAT_METHODS = frozenset(
    "sendMessage editMessageText editMessageReplyMarkup sendChatAction sendDocument sendPhoto "
    "deleteMessage forwardMessage copyMessage".split()
)
#: Tags Telegram's HTML parse mode accepts, with their allowed attributes.
ALLOWED_TAGS = {
    "b": set(), "strong": set(), "i": set(), "em": set(), "u": set(), "ins": set(), "s": set(),
    "strike": set(), "del": set(), "tg-spoiler": set(), "span": {"class"}, "a": {"href"},
    "code": {"class"}, "pre": set(), "blockquote": {"expandable"}, "tg-emoji": {"emoji-id"},
}
_BAD_ENTITY = re.compile(r"&(?!(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);)")
_TAG_START = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s[^<>]*)?)>")


@dataclass
class Call:
    """One request the bot made: method, decoded parameters, when, and the HTTP status."""

    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)
    status: int = 200
    result: Any = None


@dataclass
class _Rule:
    methods: frozenset[str]
    status: int
    description: str
    chat_id: int | None
    times: int | None
    retry_after: int | None


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.error: str | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self.error = self.error or f"Unsupported start tag \"{tag}\""
            return
        for name, _value in attrs:
            if name not in ALLOWED_TAGS[tag]:
                self.error = self.error or f"Unsupported attribute \"{name}\" of tag \"{tag}\""
        if tag == "a" and not dict(attrs).get("href"):
            self.error = self.error or "Can't parse entities: a tag without href"
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.error = self.error or f"Can't find end tag corresponding to start tag \"{tag}\""
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def check_telegram_html(text: str) -> tuple[str | None, str]:
    """Check HTML the way Telegram does; returns ``(error or None, visible text)``."""
    if _BAD_ENTITY.search(text):
        return "Can't parse entities: unsupported entity or unescaped &", ""
    pos = 0
    while (k := text.find("<", pos)) >= 0:
        m = _TAG_START.match(text, k)
        if not m:
            return f"Can't parse entities: unescaped '<' at byte offset {k}", ""
        pos = m.end()
    checker = _Checker()
    checker.feed(text)
    checker.close()
    if checker.error:
        return f"Can't parse entities: {checker.error}", ""
    if checker.stack:
        return f"Can't parse entities: can't find end tag corresponding to start tag \"{checker.stack[-1]}\"", ""
    return None, "".join(checker.text)


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class FakeTelegram:
    """The fake Bot API server.

    Args:
        token: The bot token the server accepts.
        username: The bot's username (``getMe``).
        strict: Check HTML, lengths and callback data like Telegram (400 on errors).

    Use as ``async with FakeTelegram() as fake:`` or call :meth:`start` / :meth:`close`.
    """

    def __init__(self, token: str = DEFAULT_TOKEN, username: str = BOT_USERNAME, strict: bool = True) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.username = username
        self.strict = strict
        self.calls: list[Call] = []
        self.unknown: list[str] = []
        self.deliveries: Counter[int] = Counter()
        self.url = ""
        self._queue: list[dict] = []
        self._next_update = itertools.count(1)
        self._next_message: dict[int, itertools.count] = {}
        self._chats: dict[int, dict] = {}
        self._messages: dict[tuple[int, int], dict] = {}
        self._files: dict[str, tuple[str, bytes]] = {}
        self._pages: dict[str, tuple[bytes, str]] = {}
        self._rules: list[_Rule] = []
        self._wakeup = asyncio.Event()
        self._call_event = asyncio.Event()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self.pushed = 0
        self.aborted = 0
        self.last_offset = 0
        self._listeners: list[Any] = []

    # -- lifecycle ------------------------------------------------------------------
    async def start(self) -> str:
        """Start listening on 127.0.0.1 (a free port); returns the server URL."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        app.router.add_get("/{path:.+}", self._handle_page)
        self._runner = web.AppRunner(app, shutdown_timeout=1, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # noqa: SLF001 - aiohttp has no public accessor
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def close(self) -> None:
        """Wake every waiting getUpdates and stop the server."""
        self._closing = True
        self._wake()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def base_url(self) -> str:
        """For ``ApplicationBuilder().base_url(...)``."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """For ``ApplicationBuilder().base_file_url(...)``."""
        return f"{self.url}/file/bot"

    # -- test controls --------------------------------------------------------------
    def fail(
        self,
        method: str | set[str] | frozenset[str],
        status: int = 400,
        description: str | None = None,
        *,
        chat_id: int | None = None,
        times: int | None = 1,
        retry_after: int | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` (for ``chat_id``) with an error.

        ``status=429`` with ``retry_after`` produces PTB's ``RetryAfter``; 403
        ``Forbidden``; 400 ``BadRequest``; ``times=None`` means forever.
        """
        methods = frozenset([method]) if isinstance(method, str) else frozenset(method)
        default = {
            400: "Bad Request: injected error",
            403: "Forbidden: bot was blocked by the user",
            409: "Conflict: terminated by other getUpdates request",
            429: f"Too Many Requests: retry after {retry_after or 1}",
        }.get(status, "Internal Server Error")
        self._rules.append(_Rule(methods, status, description or default, chat_id, times, retry_after))

    def block(self, chat_id: int) -> None:
        """The user of ``chat_id`` blocked the bot: every chat method answers 403."""
        self.fail(CHAT_METHODS, 403, chat_id=chat_id, times=None)

    def unblock(self, chat_id: int) -> None:
        self._rules = [r for r in self._rules if not (r.status == 403 and r.chat_id == chat_id)]

    def add_file(self, content: bytes, file_name: str) -> str:
        """Store a file for getFile; returns its file_id."""
        file_id = f"FILE{len(self._files) + 1:04d}"
        self._files[file_id] = (file_name, content)
        return file_id

    def add_page(self, path: str, body: str | bytes, content_type: str = "text/html") -> str:
        """Serve a web page (for URL ingest); returns its URL."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        self._pages[path.lstrip("/")] = (data, content_type)
        return f"{self.url}/{path.lstrip('/')}"

    def subscribe(self, listener: Any) -> None:
        """Call ``listener(call)`` for every finished call (cheaper than many ``wait_for``)."""
        self._listeners.append(listener)

    def mark(self) -> int:
        """Position in :attr:`calls`, for ``since=``."""
        return len(self.calls)

    def calls_of(self, method: str, since: int = 0, chat_id: int | None = None) -> list[Call]:
        """Recorded successful calls of ``method`` (optionally to one chat)."""
        return [
            c for c in self.calls[since:]
            if c.method == method and c.status == 200 and (chat_id is None or c.params.get("chat_id") == chat_id)
        ]

    async def wait_for(
        self,
        method: str,
        where: Any = None,
        *,
        since: int = 0,
        count: int = 1,
        timeout: float = 30.0,
        chat_id: int | None = None,
    ) -> list[Call]:
        """Wait until ``count`` successful calls of ``method`` matching ``where`` arrived."""
        deadline = time.monotonic() + timeout
        while True:
            found = [c for c in self.calls_of(method, since, chat_id) if where is None or where(c)]
            if len(found) >= count:
                return found
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                seen = [(c.method, c.status, str(c.params)[:200]) for c in self.calls[since:]]
                raise AssertionError(f"timed out waiting for {count}× {method}; calls since: {seen}")
            event = self._call_event
            try:
                await asyncio.wait_for(event.wait(), min(remaining, 0.5))
            except TimeoutError:
                pass

    async def settle(self, quiet: float = 0.3, timeout: float = 10.0) -> None:
        """Wait until the bot has made no call for ``quiet`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            last = max((c.at for c in self.calls if c.method != "getUpdates"), default=0.0)
            if time.monotonic() - last >= quiet:
                return
            await asyncio.sleep(quiet / 3)

    def sent(self, chat_id: int | None = None) -> list[dict]:
        """Messages the bot sent (as stored, with edits applied), oldest first."""
        return [m for (cid, _), m in self._messages.items() if m["from"]["id"] == self.bot_id and (chat_id is None or cid == chat_id)]

    # -- building and pushing updates -----------------------------------------------
    def user(self, user_id: int, first_name: str | None = None) -> dict:
        return {"id": user_id, "is_bot": False, "first_name": first_name or f"User{user_id}", "username": f"user{user_id}", "language_code": "en"}

    def chat(self, chat_id: int, chat_type: str = "private", title: str | None = None) -> dict:
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = {"id": chat_id, "type": chat_type}
            if chat_type == "private":
                chat["first_name"] = f"User{chat_id}"
            else:
                chat["title"] = title or f"Group {chat_id}"
            self._chats[chat_id] = chat
        return chat

    def push(self, update: dict) -> int:
        """Queue an update (``update_id`` assigned); returns the id."""
        update = dict(update)
        update["update_id"] = next(self._next_update)
        self._queue.append(update)
        self.pushed += 1
        self._wake()
        return update["update_id"]

    def user_message(
        self,
        text: str,
        *,
        user_id: int = 1001,
        chat_id: int | None = None,
        chat_type: str = "private",
        reply_to: dict | None = None,
        forward_origin: dict | None = None,
        document: dict | None = None,
        push: bool = True,
    ) -> dict:
        """A message from a user (commands and @mentions get their entities); pushed."""
        chat = self.chat(user_id if chat_id is None else chat_id, chat_type)
        msg: dict[str, Any] = {
            "message_id": self._message_id(chat["id"]),
            "date": int(time.time()),
            "chat": chat,
            "from": self.user(user_id),
        }
        key = "caption" if document is not None else "text"
        if text or document is None:
            msg[key] = text
            entities = _entities(text)
            if entities:
                msg["caption_entities" if document is not None else "entities"] = entities
        if document is not None:
            msg["document"] = document
        if reply_to is not None:
            msg["reply_to_message"] = reply_to
        if forward_origin is not None:
            msg["forward_origin"] = forward_origin
        self._messages[(chat["id"], msg["message_id"])] = msg
        if push:
            self.push({"message": msg})
        return msg

    def user_document(self, content: bytes, file_name: str, *, user_id: int = 1001, caption: str = "", **kw: Any) -> dict:
        """A document message (the file is served for getFile); pushed."""
        file_id = self.add_file(content, file_name)
        document = {
            "file_id": file_id, "file_unique_id": f"U{file_id}", "file_name": file_name,
            "mime_type": "text/plain", "file_size": len(content),
        }
        return self.user_message(caption, user_id=user_id, document=document, **kw)

    def press(self, message: dict, data: str, *, user_id: int = 1001) -> int:
        """A button press (callback query) on a bot message; pushed; returns the update id."""
        query = {
            "id": f"cq{next(self._next_update)}",
            "from": self.user(user_id),
            "chat_instance": f"ci{message['chat']['id']}",
            "message": {k: v for k, v in message.items() if k != "html"},
            "data": data,
        }
        return self.push({"callback_query": query})

    # -- HTTP handlers --------------------------------------------------------------
    def _wake(self) -> None:
        self._wakeup.set()
        self._wakeup = asyncio.Event()

    def _called(self, call: Call) -> None:
        self.calls.append(call)
        for listener in self._listeners:
            listener(call)
        self._call_event.set()
        self._call_event = asyncio.Event()

    def _message_id(self, chat_id: int) -> int:
        counter = self._next_message.setdefault(chat_id, itertools.count(1))
        return next(counter)

    async def _params(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            body = await request.json()
            return dict(body or {})
        raw = dict(request.query)
        if request.method == "POST":
            form = await request.post()
            raw.update(form.items())
        out: dict[str, Any] = {}
        for key, value in raw.items():
            if not isinstance(value, str):  # an uploaded file
                out[key] = {"filename": value.filename, "content": value.file.read()}
            elif key in FREE_TEXT:
                out[key] = value
            else:
                try:
                    out[key] = json.loads(value)
                except ValueError:
                    out[key] = value
        return out

    async def _handle_method(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        try:
            params = await self._params(request)
        except ConnectionResetError:  # the client gave up on the request (e.g. a cancelled task)
            self.aborted += 1
            return web.Response(status=499)
        call = Call(method, params)
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            self.unknown.append(method)
            call.status = 404
            self._called(call)
            return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
        rule = self._matching_rule(method, params)
        if rule is not None:
            call.status = rule.status
            self._called(call)
            body: dict[str, Any] = {"ok": False, "error_code": rule.status, "description": rule.description}
            if rule.retry_after is not None:
                body["parameters"] = {"retry_after": rule.retry_after}
            return web.json_response(body, status=rule.status)
        try:
            result = await handler(params)
        except _ApiError as e:
            call.status = e.status
            self._called(call)
            return web.json_response({"ok": False, "error_code": e.status, "description": e.description}, status=e.status)
        call.result = result
        self._called(call)
        return web.json_response({"ok": True, "result": result})

    def _matching_rule(self, method: str, params: dict[str, Any]) -> _Rule | None:
        for rule in self._rules:
            if method not in rule.methods:
                continue
            if rule.chat_id is not None and _int(params.get("chat_id")) != rule.chat_id:
                continue
            if rule.times is not None:
                rule.times -= 1
                if rule.times <= 0:
                    self._rules.remove(rule)
            return rule
        return None

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        path = request.match_info["path"]
        for file_id, (name, content) in self._files.items():
            if path == _file_path(file_id, name):
                self._called(Call("downloadFile", {"file_path": path}))
                return web.Response(body=content, content_type="application/octet-stream")
        return web.Response(status=404)

    async def _handle_page(self, request: web.Request) -> web.Response:
        page = self._pages.get(request.match_info["path"])
        if page is None:
            return web.Response(status=404, text="not found")
        body, ctype = page
        return web.Response(body=body, content_type=ctype, charset="utf-8")

    # -- Bot API methods ------------------------------------------------------------
    async def _m_getMe(self, p: dict) -> dict:
        return {
            "id": self.bot_id, "is_bot": True, "first_name": "Citebot", "username": self.username,
            "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False,
        }

    async def _m_getUpdates(self, p: dict) -> list[dict]:
        offset = _int(p.get("offset")) or 0
        timeout = float(p.get("timeout") or 0)
        limit = _int(p.get("limit")) or 100
        if offset:
            self.last_offset = max(self.last_offset, offset)
            self._queue = [u for u in self._queue if u["update_id"] >= offset]
        deadline = asyncio.get_running_loop().time() + timeout
        while not self._queue and not self._closing:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                break
            event = self._wakeup
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                break
        batch = self._queue[:limit]
        for u in batch:
            self.deliveries[u["update_id"]] += 1
        return batch

    async def _m_deleteWebhook(self, p: dict) -> bool:
        if p.get("drop_pending_updates"):
            self._queue.clear()
        return True

    async def _m_setWebhook(self, p: dict) -> bool:
        return True

    async def _m_getWebhookInfo(self, p: dict) -> dict:
        return {"url": "", "has_custom_certificate": False, "pending_update_count": len(self._queue)}

    async def _m_setMyCommands(self, p: dict) -> bool:
        for cmd in p.get("commands") or []:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", cmd.get("command", "")) or not 1 <= len(cmd.get("description", "")) <= 256:
                raise _ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
        return True

    async def _m_deleteMyCommands(self, p: dict) -> bool:
        return True

    async def _m_setMyDescription(self, p: dict) -> bool:
        return True

    async def _m_setMyShortDescription(self, p: dict) -> bool:
        return True

    async def _m_sendChatAction(self, p: dict) -> bool:
        self._known_chat(p)
        return True

    async def _m_answerCallbackQuery(self, p: dict) -> bool:
        if len(p.get("text") or "") > 200:
            raise _ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        return True

    async def _m_sendMessage(self, p: dict) -> dict:
        chat = self._known_chat(p)
        self._check_text(p.get("text"), p.get("parse_mode"))
        self._check_markup(p.get("reply_markup"))
        msg: dict[str, Any] = {
            "message_id": self._message_id(chat["id"]),
            "date": int(time.time()),
            "chat": chat,
            "from": {"id": self.bot_id, "is_bot": True, "first_name": "Citebot", "username": self.username},
            "text": html.unescape(re.sub(r"<[^>]+>", "", p["text"])) if p.get("parse_mode") == "HTML" else p["text"],
        }
        reply = p.get("reply_parameters") or {}
        if reply.get("message_id"):
            target = self._messages.get((chat["id"], reply["message_id"]))
            if target is None and not reply.get("allow_sending_without_reply"):
                raise _ApiError(400, "Bad Request: message to be replied not found")
            if target is not None:
                msg["reply_to_message"] = target
        if p.get("reply_markup"):
            msg["reply_markup"] = p["reply_markup"]
        msg["html"] = p.get("text")
        self._messages[(chat["id"], msg["message_id"])] = msg
        return {k: v for k, v in msg.items() if k != "html"}

    async def _m_editMessageText(self, p: dict) -> dict:
        chat = self._known_chat(p)
        msg = self._messages.get((chat["id"], _int(p.get("message_id"))))
        if msg is None:
            raise _ApiError(400, "Bad Request: message to edit not found")
        self._check_text(p.get("text"), p.get("parse_mode"))
        self._check_markup(p.get("reply_markup"))
        if p.get("text") == msg.get("html") and p.get("reply_markup") == msg.get("reply_markup"):
            raise _ApiError(400, "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message")
        msg["html"] = p.get("text")
        msg["text"] = html.unescape(re.sub(r"<[^>]+>", "", p["text"])) if p.get("parse_mode") == "HTML" else p["text"]
        if p.get("reply_markup"):
            msg["reply_markup"] = p["reply_markup"]
        else:
            msg.pop("reply_markup", None)
        msg["edit_date"] = int(time.time())
        return {k: v for k, v in msg.items() if k != "html"}

    async def _m_editMessageReplyMarkup(self, p: dict) -> dict:
        chat = self._known_chat(p)
        msg = self._messages.get((chat["id"], _int(p.get("message_id"))))
        if msg is None:
            raise _ApiError(400, "Bad Request: message to edit not found")
        self._check_markup(p.get("reply_markup"))
        msg["reply_markup"] = p.get("reply_markup")
        return {k: v for k, v in msg.items() if k != "html"}

    async def _m_getFile(self, p: dict) -> dict:
        file_id = p.get("file_id")
        if file_id not in self._files:
            raise _ApiError(400, "Bad Request: invalid file_id")
        name, content = self._files[file_id]
        return {"file_id": file_id, "file_unique_id": f"U{file_id}", "file_size": len(content), "file_path": _file_path(file_id, name)}

    # -- checks ---------------------------------------------------------------------
    def _known_chat(self, p: dict) -> dict:
        chat_id = _int(p.get("chat_id"))
        if chat_id is None or chat_id not in self._chats:
            raise _ApiError(400, "Bad Request: chat not found")
        return self._chats[chat_id]

    def _check_text(self, text: Any, parse_mode: Any) -> None:
        if not isinstance(text, str) or not text.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        visible = text
        if self.strict and parse_mode == "HTML":
            error, visible = check_telegram_html(text)
            if error:
                raise _ApiError(400, f"Bad Request: {error}")
        if self.strict and _utf16(visible) > 4096:
            raise _ApiError(400, "Bad Request: message is too long")

    def _check_markup(self, markup: Any) -> None:
        if not markup or not self.strict:
            return
        if not isinstance(markup, dict):
            raise _ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        for row in markup.get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode("utf-8")) <= 64:
                    raise _ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
                if not button.get("text"):
                    raise _ApiError(400, "Bad Request: text buttons are unallowed in the inline keyboard")
                url = button.get("url")
                if url is not None and not re.match(r"^(https?|tg)://", url):
                    raise _ApiError(400, "Bad Request: BUTTON_URL_INVALID")


class _ApiError(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _file_path(file_id: str, name: str) -> str:
    suffix = name[name.rfind(".") :] if "." in name else ""
    return f"documents/{file_id.lower()}{suffix}"


def _entities(text: str) -> list[dict]:
    """bot_command and mention entities, with UTF-16 offsets like Telegram's."""
    out = []
    for m in re.finditer(r"(?<![\w/@])(/[A-Za-z0-9_]+(?:@[A-Za-z0-9_]+)?)|(?<![\w@])(@[A-Za-z0-9_]{5,32})", text):
        kind = "bot_command" if m.group(1) else "mention"
        if kind == "bot_command" and m.start() != 0:
            continue
        out.append({"type": kind, "offset": _utf16(text[: m.start()]), "length": _utf16(m.group(0))})
    return out
