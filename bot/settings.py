"""Settings of the conversation layer (answering, Telegram, CLI) in one typed object.

Read from the environment, then a ``.env`` file, then flags; the knowledge-layer
settings (:class:`index.Settings`) ride along as ``BotSettings.index``. The Telegram
token is never part of ``repr()`` and never logged.

Example:
    >>> from bot.settings import BotSettings
    >>> BotSettings.from_env({"CITEBOT_ALLOWED_USERS": "1, 2"}).allowed_users
    frozenset({1, 2})
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from index.errors import ConfigError
from index.settings import Settings

__all__ = ["BotSettings", "load_dotenv", "DEFAULT_API_BASE_URL"]

DEFAULT_API_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_SEEDS_DIR = Path("seeds")

# Answering: calibrated on bench/data/questions.jsonl with bench/answer_eval.py.
#: Lowest sentence relevance (cosine + bonuses) that counts as an answer.
DEFAULT_MIN_ANSWER_SCORE = 0.42
#: Lowest quote relevance for "who said …" to name a speaker.
DEFAULT_MIN_QUOTE_SCORE = 0.45
#: Lowest relevance of a person's quote to the asked topic ("… say about <topic>").
DEFAULT_MIN_TOPIC_SCORE = 0.3
#: Passages whose sentences are read for an answer.
DEFAULT_ANSWER_PASSAGES = 4
#: Sentences at most in an answer.
DEFAULT_MAX_ANSWER_SENTENCES = 3
#: Closest passages offered when there is no answer.
DEFAULT_CLOSEST = 3


@dataclass(frozen=True)
class BotSettings:
    """Everything the bot, the answer engine and the CLI can be told.

    Args:
        index: Knowledge-layer settings (data dir, model, …).
        telegram_token: Bot API token (``TELEGRAM_BOT_TOKEN``); hidden from ``repr``.
        allowed_users: Telegram user ids allowed to ask; empty = everyone.
        admins: Telegram user ids allowed to add/remove articles.
        api_base_url: Bot API base (a self-hosted Bot API server, or the tests' fake).
        api_file_url: Base for file downloads; derived from ``api_base_url`` when empty.
        webhook_url: Public HTTPS URL for webhook mode (polling when empty).
        webhook_secret: Secret token Telegram sends with webhook calls (random when unset).
        webhook_listen: Address the webhook server binds (behind a local TLS proxy by default).
        webhook_port: Port the webhook server binds.
        log_level: Python logging level name.
        seeds_dir: Folder indexed on first run when the store is empty.
        min_answer_score: See ``DEFAULT_MIN_ANSWER_SCORE``.
        min_quote_score: See ``DEFAULT_MIN_QUOTE_SCORE``.
        min_topic_score: See ``DEFAULT_MIN_TOPIC_SCORE``.
        answer_passages: See ``DEFAULT_ANSWER_PASSAGES``.
        max_answer_sentences: See ``DEFAULT_MAX_ANSWER_SENTENCES``.
        llm_url: Optional OpenAI-compatible endpoint that rewrites answers (off when empty).
        llm_model: Model name sent to that endpoint.
        llm_api_key: Key for that endpoint; hidden from ``repr``.
    """

    index: Settings = field(default_factory=Settings)
    telegram_token: str | None = field(default=None, repr=False)
    allowed_users: frozenset[int] = frozenset()
    admins: frozenset[int] = frozenset()
    api_base_url: str = DEFAULT_API_BASE_URL
    api_file_url: str | None = None
    webhook_url: str | None = None
    webhook_secret: str | None = field(default=None, repr=False)
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    log_level: str = "INFO"
    seeds_dir: Path = DEFAULT_SEEDS_DIR
    min_answer_score: float = DEFAULT_MIN_ANSWER_SCORE
    min_quote_score: float = DEFAULT_MIN_QUOTE_SCORE
    min_topic_score: float = DEFAULT_MIN_TOPIC_SCORE
    answer_passages: int = DEFAULT_ANSWER_PASSAGES
    max_answer_sentences: int = DEFAULT_MAX_ANSWER_SENTENCES
    llm_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = field(default=None, repr=False)

    @property
    def file_url(self) -> str:
        """Base URL for file downloads (``…/file/bot``)."""
        if self.api_file_url:
            return self.api_file_url
        base = self.api_base_url.rstrip("/")
        return base[: -len("/bot")] + "/file/bot" if base.endswith("/bot") else base + "/file/bot"

    def is_allowed(self, user_id: int | None) -> bool:
        """Whether a Telegram user may ask (admins always may)."""
        if user_id is None:
            return False
        return not self.allowed_users or user_id in self.allowed_users or user_id in self.admins

    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.admins

    def with_(self, **changes) -> BotSettings:
        return replace(self, **changes)

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, dotenv: str | os.PathLike | None = None, **overrides
    ) -> BotSettings:
        """Build settings from the environment (and a ``.env`` file), then overrides.

        Variables: ``TELEGRAM_BOT_TOKEN`` or ``TELEGRAM_BOT_TOKEN_FILE``,
        ``CITEBOT_ALLOWED_USERS`` / ``CITEBOT_ADMINS`` (comma-separated ids),
        ``CITEBOT_API_BASE_URL``, ``CITEBOT_WEBHOOK_URL``, ``CITEBOT_WEBHOOK_SECRET``,
        ``CITEBOT_WEBHOOK_LISTEN``, ``CITEBOT_WEBHOOK_PORT``, ``CITEBOT_LOG_LEVEL``,
        ``CITEBOT_SEEDS_DIR``, ``CITEBOT_LLM_URL``, ``CITEBOT_LLM_MODEL``, ``CITEBOT_LLM_API_KEY``,
        plus every ``CITEBOT_*`` of :class:`index.Settings`. The environment wins over
        the ``.env`` file.

        Args:
            environ: Mapping to read instead of ``os.environ``.
            dotenv: A ``.env`` file to read (missing file: ignored).
            **overrides: Values that win over both (``None`` ignored). Keys of
                :class:`index.Settings` are applied to ``index``.

        Returns:
            The settings.
        """
        env: dict[str, str] = {}
        if dotenv is not None:
            env.update(load_dotenv(dotenv))
        env.update(os.environ if environ is None else environ)
        index_fields = set(Settings.__dataclass_fields__)
        index_over = {k: v for k, v in overrides.items() if k in index_fields}
        own_over = {k: v for k, v in overrides.items() if k not in index_fields and v is not None}
        values: dict[str, object] = {"index": Settings.from_env(env, **index_over)}

        token = env.get("TELEGRAM_BOT_TOKEN") or None
        token_file = env.get("TELEGRAM_BOT_TOKEN_FILE")
        if not token and token_file:
            try:
                token = Path(token_file).read_text(encoding="utf-8").strip() or None
            except OSError as e:
                raise ConfigError(f"cannot read TELEGRAM_BOT_TOKEN_FILE {token_file}: {e.strerror or e}") from None
        values["telegram_token"] = token
        values["allowed_users"] = _ids(env.get("CITEBOT_ALLOWED_USERS", ""), "CITEBOT_ALLOWED_USERS")
        values["admins"] = _ids(env.get("CITEBOT_ADMINS", ""), "CITEBOT_ADMINS")
        simple = {
            "api_base_url": "CITEBOT_API_BASE_URL", "api_file_url": "CITEBOT_API_FILE_URL",
            "webhook_url": "CITEBOT_WEBHOOK_URL", "webhook_secret": "CITEBOT_WEBHOOK_SECRET",
            "webhook_listen": "CITEBOT_WEBHOOK_LISTEN", "log_level": "CITEBOT_LOG_LEVEL",
            "llm_url": "CITEBOT_LLM_URL", "llm_model": "CITEBOT_LLM_MODEL", "llm_api_key": "CITEBOT_LLM_API_KEY",
        }
        for name, var in simple.items():
            if env.get(var):
                values[name] = env[var]
        if env.get("CITEBOT_SEEDS_DIR"):
            values["seeds_dir"] = Path(env["CITEBOT_SEEDS_DIR"])
        numeric = {
            "webhook_port": ("CITEBOT_WEBHOOK_PORT", int),
            "min_answer_score": ("CITEBOT_MIN_ANSWER_SCORE", float),
            "min_quote_score": ("CITEBOT_MIN_QUOTE_SCORE", float),
        }
        for name, (var, kind) in numeric.items():
            if env.get(var):
                try:
                    values[name] = kind(env[var])
                except ValueError:
                    raise ConfigError(f"{var}={env[var]!r} is not a number") from None
        values.update(own_over)
        return cls(**values)


def _ids(raw: str, var: str) -> frozenset[int]:
    out = set()
    for part in raw.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            out.add(int(part))
        except ValueError:
            raise ConfigError(f"{var}: {part!r} is not a Telegram user id (a number)") from None
    return frozenset(out)


def load_dotenv(path: str | os.PathLike) -> dict[str, str]:
    """Read ``KEY=VALUE`` lines (``#`` comments, optional quotes, ``export`` prefix)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as e:
        raise ConfigError(f"cannot read {path}: {e.strerror or e}") from None
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values
