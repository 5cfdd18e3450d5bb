"""Plain-text rendering of answers, hits and catalogue records for the terminal."""

from __future__ import annotations

import textwrap

from index.ingest import IngestReport
from index.search import Hit
from index.store import ArticleRecord, QuoteRecord, StoreStats

from .answer import Answer

__all__ = ["render_answer", "render_hits", "render_articles", "render_quotes", "render_stats", "render_report"]

_WIDTH = 100


def render_answer(answer: Answer) -> str:
    """The answer, then its numbered sources with the passage span."""
    out = [answer.answer, ""]
    if answer.citations:
        out.append("Sources:" if answer.found else "Closest passages:")
    for c in answer.citations:
        where = c.url or c.article_id
        out.append(f"[{c.n}] {c.title} — {where} (passage {c.chunk_id}, chars {c.start}–{c.end})")
    return "\n".join(out).rstrip()


def render_hits(query: str, hits: list[Hit]) -> str:
    """Ranked passages, each with title, url, offsets, score and text."""
    if not hits:
        return f"No passages match {query!r}."
    out = []
    for rank, h in enumerate(hits, 1):
        out.append(f"{rank}. {h.title}  [{h.article_id}, passage {h.chunk_id}, chars {h.start}–{h.end}, score {h.score:.4f}]")
        if h.url:
            out.append(f"   {h.url}")
        out.append(textwrap.indent(textwrap.fill(" ".join(h.text.split()), _WIDTH - 3), "   "))
    return "\n".join(out)


def render_articles(articles: list[ArticleRecord]) -> str:
    if not articles:
        return "No articles indexed yet. Add some with: citebot ingest PATH_OR_URL"
    return "\n".join(
        f"{a.id}\t{a.chunks} chunks\t{a.quotes} quotes\t{a.title}" + (f"\t{a.url}" if a.url else "") for a in articles
    )


def render_quotes(quotes: list[QuoteRecord]) -> str:
    if not quotes:
        return "No quotes found."
    out = []
    for q in quotes:
        who = q.canonical_speaker or q.speaker or "(unattributed)"
        role = f" ({q.role})" if q.role else ""
        out.append(f"{who}{role}: “{' '.join(q.text.split())}”  [{q.article_id} {q.start}–{q.end}]")
    return "\n".join(out)


def render_stats(s: StoreStats) -> str:
    return "\n".join(
        [
            f"data dir     {s.data_dir}",
            f"articles     {s.articles}",
            f"chunks       {s.chunks}",
            f"quotes       {s.quotes} by {s.speakers} speakers",
            f"model        {s.model or '(none yet)'} (dim {s.dim or '-'})",
            f"index        {s.index_type}, {s.index_vectors} vectors, {s.index_bytes / 1e6:.1f} MB in RAM",
            f"on disk      {s.disk_bytes / 1e6:.1f} MB",
        ]
    )


def render_report(report: IngestReport) -> str:
    lines = [report.summary()]
    lines += [f"  skipped {s.origin}: {s.reason}" for s in report.skipped]
    return "\n".join(lines)
