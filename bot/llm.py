"""Optional: rewrite an extractive answer more fluently with an OpenAI-compatible chat
endpoint (a local llama.cpp or Ollama server, say), then check every citation.

Off by default (``CITEBOT_LLM_URL`` unset); the extractive answer never needs it. The
model only sees the question, the extractive answer and the cited passages. Its output
is split into sentences; a ``[n]`` marker is kept only when most content words of the
sentence occur in passage ``n``, a sentence left without a valid marker is dropped, and
if nothing survives the extractive answer is returned unchanged.
"""

from __future__ import annotations

import json
import logging
import re
import urllib.error
import urllib.request
from dataclasses import replace

from index.chunking import split_sentences
from index.store import lexical_terms

from .answer import Answer, AnswerLine

__all__ = ["rewrite", "check_citations", "MIN_SUPPORT"]

log = logging.getLogger(__name__)

#: Share of a sentence's content words that must occur in a passage it cites.
MIN_SUPPORT = 0.6
_TIMEOUT = 30.0
_MARK_RE = re.compile(r"\s*\[(\d+)\]")
_TRAILING_MARKS_RE = re.compile(r"([.!?])((?:\s*\[\d+\])+)")
_PROMPT = (
    "You rewrite answers about news articles. Use ONLY facts from the numbered passages. "
    "Keep it to at most three sentences. End every sentence with the number(s) of the "
    "passage(s) it comes from, like [1] or [1][2]. Do not add anything the passages do not say."
)


def rewrite(answer: Answer, url: str, model: str, api_key: str | None = None) -> Answer:
    """Ask the endpoint for a fluent version of ``answer`` and keep only supported citations.

    Args:
        answer: A found, extractive answer.
        url: Base URL of an OpenAI-compatible API (``…/v1``).
        model: Model name to request.
        api_key: Bearer token, if the endpoint wants one.

    Returns:
        The rewritten answer, or ``answer`` itself when the endpoint fails or nothing
        it wrote is supported by the passages.
    """
    if not answer.found or not answer.citations:
        return answer
    passages = "\n\n".join(f"[{c.n}] {c.passage}" for c in answer.citations)
    body = {
        "model": model,
        "temperature": 0,
        "messages": [
            {"role": "system", "content": _PROMPT},
            {"role": "user", "content": f"Question: {answer.question}\n\nPassages:\n{passages}\n\nDraft answer:\n{answer.answer}"},
        ],
    }
    req = urllib.request.Request(
        url.rstrip("/") + "/chat/completions",
        data=json.dumps(body).encode("utf-8"),
        headers={"Content-Type": "application/json", **({"Authorization": f"Bearer {api_key}"} if api_key else {})},
    )
    try:
        with urllib.request.urlopen(req, timeout=_TIMEOUT) as resp:  # noqa: S310 - configured endpoint
            text = json.loads(resp.read().decode("utf-8"))["choices"][0]["message"]["content"]
    except (urllib.error.URLError, TimeoutError, OSError, ValueError, KeyError, IndexError) as e:
        log.warning("LLM rewrite failed (%s); keeping the extractive answer", e)
        return answer
    lines = check_citations(text, {c.n: c.passage for c in answer.citations})
    if not lines:
        log.info("LLM rewrite had no supported sentence; keeping the extractive answer")
        return answer
    return replace(answer, lines=tuple(lines), notes=(*answer.notes, f"rewritten by {model}"))


def check_citations(text: str, passages: dict[int, str]) -> list[AnswerLine]:
    """Split model output into cited lines, keeping only markers the passages support.

    Example:
        >>> check_citations("Talks resume in Stockholm. [1] Mars is red. [1]", {1: "talks resume in Stockholm"})
        [AnswerLine(text='Talks resume in Stockholm.', citations=(1,))]
    """
    # "Sentence. [1]" → "Sentence [1]." so that markers stay with their sentence
    text = _TRAILING_MARKS_RE.sub(lambda m: m.group(2) + m.group(1), text)
    lines: list[AnswerLine] = []
    for sentence in split_sentences(text):
        marks = [int(n) for n in _MARK_RE.findall(sentence.text)]
        plain = re.sub(r"\s+([.!?])$", r"\1", _MARK_RE.sub("", sentence.text).strip())
        valid = tuple(dict.fromkeys(n for n in marks if n in passages and _supported(plain, passages[n])))
        if plain and valid:
            lines.append(AnswerLine(plain, valid))
        elif plain:
            log.info("dropped an unsupported sentence from the LLM rewrite: %r", plain[:120])
    return lines


def _supported(sentence: str, passage: str) -> bool:
    words = lexical_terms(sentence)
    if not words:
        return False
    have = {w[:5] for w in lexical_terms(passage)}
    return sum(1 for w in words if w[:5] in have) / len(words) >= MIN_SUPPORT
