"""Articles → sentence-aware chunks with character offsets.

Sentences come from syntok (a real segmenter: "Dr.", "U.S.", "Jan. 5" stay whole).
Sentences are packed greedily up to a token budget measured with the embedding model's
own tokenizer, and consecutive chunks share ``overlap`` sentences. A sentence longer
than the budget is cut at token boundaries. Every chunk keeps ``start``/``end`` offsets
into the article text, so ``article.text[chunk.start:chunk.end] == chunk.text``.

Example:
    >>> from index.chunking import split_sentences
    >>> [s.text for s in split_sentences("Dr. Smith left. He came back.")]
    ['Dr. Smith left.', 'He came back.']
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import syntok.segmenter as _segmenter

__all__ = ["Chunk", "Span", "split_sentences", "chunk_text"]

#: Counts tokens of several texts at once (the embedding model's tokenizer).
TokenCounter = Callable[[Sequence[str]], list[int]]
#: Gives token character offsets of one text: [(start, end), …].
TokenSpans = Callable[[str], list[tuple[int, int]]]


@dataclass(frozen=True)
class Span:
    """A sentence (or other piece) of an article: ``text == article_text[start:end]``."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Chunk:
    """A passage of an article, the unit that is embedded, searched and cited."""

    article_id: str
    ordinal: int
    start: int
    end: int
    text: str


def split_sentences(text: str) -> list[Span]:
    """Split text into sentences with exact character offsets.

    Args:
        text: Article text.

    Returns:
        Sentences in order; paragraph breaks always end a sentence.
    """
    spans: list[Span] = []
    for paragraph in _segmenter.analyze(text):
        for sentence in paragraph:
            tokens = [t for t in sentence if t.value]
            if not tokens:
                continue
            start = tokens[0].offset
            end = tokens[-1].offset + len(tokens[-1].value)
            if text[start:end].strip():
                spans.append(Span(start, end, text[start:end]))
    return spans


def chunk_text(
    article_id: str,
    text: str,
    count_tokens: TokenCounter,
    token_spans: TokenSpans,
    max_tokens: int,
    overlap: int = 1,
) -> list[Chunk]:
    """Pack sentences into chunks of at most ``max_tokens`` tokens.

    Args:
        article_id: Id stored on each chunk.
        text: Article text.
        count_tokens: Token counter of the embedding model.
        token_spans: Token offsets of one text (used to cut overlong sentences).
        max_tokens: Budget per chunk.
        overlap: Sentences repeated at the start of the next chunk.

    Returns:
        Chunks in article order, ``ordinal`` from 0.
    """
    sentences = split_sentences(text)
    counts = count_tokens([s.text for s in sentences]) if sentences else []
    sized: list[tuple[Span, int]] = []
    for sentence, n in zip(sentences, counts, strict=True):
        if n <= max_tokens:
            sized.append((sentence, n))
            continue
        sized.extend((piece, max_tokens) for piece in _cut(sentence, token_spans, max_tokens))

    chunks: list[tuple[int, int]] = []
    i = 0
    while i < len(sized):
        j, total = i, 0
        while j < len(sized) and (j == i or total + sized[j][1] <= max_tokens):
            total += sized[j][1]
            j += 1
        chunks.append((sized[i][0].start, sized[j - 1][0].end))
        if j >= len(sized):
            break
        # next chunk starts `overlap` sentences back, but always moves forward
        i = max(i + 1, j - overlap) if overlap else j
    return [
        Chunk(article_id, n, start, end, text[start:end]) for n, (start, end) in enumerate(chunks)
    ]


def _cut(sentence: Span, token_spans: TokenSpans, max_tokens: int) -> list[Span]:
    offsets = token_spans(sentence.text)
    pieces = []
    for k in range(0, len(offsets), max_tokens):
        window = offsets[k : k + max_tokens]
        start = sentence.start + window[0][0]
        end = sentence.start + window[-1][1]
        pieces.append(Span(start, end, sentence.text[window[0][0] : window[-1][1]]))
    return pieces
