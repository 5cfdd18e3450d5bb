"""citebot's conversation layer: questions → cited answers, for the CLI and Telegram."""

from .answer import Answer, AnswerLine, Citation, Engine, classify
from .settings import BotSettings

__all__ = ["Answer", "AnswerLine", "BotSettings", "Citation", "Engine", "classify"]
