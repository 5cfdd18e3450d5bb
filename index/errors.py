"""The one error tree of citebot.

Everything citebot raises on purpose is a :class:`CitebotError`. Front ends (the CLI,
the Telegram bot) turn it into a one-line message at the edge; anything else is a bug
and is logged with its traceback.
"""

from __future__ import annotations

__all__ = [
    "CitebotError",
    "ConfigError",
    "InputError",
    "FetchError",
    "StoreError",
    "ModelMismatchError",
]


class CitebotError(Exception):
    """Base class: a problem citebot can explain to its user in one line."""


class ConfigError(CitebotError):
    """A setting is missing or invalid (bad model path, bad index type, …)."""


class InputError(CitebotError):
    """An input file, URL or question cannot be used (unreadable, binary, empty, …)."""


class FetchError(InputError):
    """A URL could not be fetched (unreachable, too large, not text, …)."""


class StoreError(CitebotError):
    """The data directory is unusable or inconsistent."""


class ModelMismatchError(StoreError):
    """The store was built with another embedding model than the one configured."""
