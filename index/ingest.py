"""Ingest: files, folders and URLs → chunks, vectors and quotes in the store.

Streams: articles are loaded lazily and committed in batches of
``settings.commit_every``, so memory stays flat however large the collection, and an
interrupted ingest resumes where it stopped (committed articles are unchanged on the
next run and skipped).

Example:
    >>> from index import Settings, Store, Embedder, ingest
    >>> s = Settings(data_dir="data")                                   # doctest: +SKIP
    >>> report = ingest(Store.open(s), Embedder(s.model), ["seeds"])    # doctest: +SKIP
    >>> report.added                                                    # doctest: +SKIP
    ['000_234da9cac87d4b52']
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from .chunking import chunk_text
from .embedding import Embedder
from .loaders import SUPPORTED_SUFFIXES, Article, Skipped, iter_articles
from .quotes import QuoteExtractor
from .store import SWAP_READY, PreparedArticle, Store, finish_swap, swap_paths

__all__ = ["ingest", "prepare", "reembed", "IngestReport"]

log = logging.getLogger(__name__)


@dataclass
class IngestReport:
    """What an ingest did.

    Attributes:
        added: Ids of new articles.
        updated: Ids of articles whose content changed and were replaced.
        unchanged: Ids already stored with the same content (nothing done).
        skipped: Inputs that could not be used, each with its reason.
        chunks: Chunks written.
        quotes: Quotes written.
        seconds: Wall time.
    """

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    chunks: int = 0
    quotes: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when at least one article is now in the store from this input."""
        return bool(self.added or self.updated or self.unchanged)

    def summary(self) -> str:
        """One line: counts of added, updated, unchanged and skipped."""
        return (
            f"{len(self.added)} added, {len(self.updated)} updated, {len(self.unchanged)} unchanged, "
            f"{len(self.skipped)} skipped; {self.chunks} chunks, {self.quotes} quotes in {self.seconds:.1f}s"
        )


def prepare(
    article: Article, embedder: Embedder, extractor: QuoteExtractor | None, max_tokens: int, overlap: int
) -> PreparedArticle:
    """Chunk, embed and extract quotes for one article (see :func:`ingest` for batches)."""
    return _prepare_batch([article], embedder, extractor, max_tokens, overlap)[0]


def _prepare_batch(
    articles: list[Article],
    embedder: Embedder,
    extractor: QuoteExtractor | None,
    max_tokens: int,
    overlap: int,
    progress: tqdm | None = None,
) -> list[PreparedArticle]:
    chunked = [
        chunk_text(a.id, a.text, embedder.count_tokens, embedder.token_spans, max_tokens, overlap)
        for a in articles
    ]
    quoted = list(extractor.extract_many(a.text for a in articles)) if extractor is not None else [[] for _ in articles]
    # one encode call for all passages and quotes of the batch keeps batches full
    texts = [c.text for chunks in chunked for c in chunks] + [q.text for qs in quoted for q in qs]
    vectors = embedder.encode(texts)
    out, pos = [], 0
    qpos = sum(len(chunks) for chunks in chunked)
    for article, chunks, quotes in zip(articles, chunked, quoted, strict=True):
        out.append(
            PreparedArticle(
                article, chunks, vectors[pos : pos + len(chunks)], quotes, vectors[qpos : qpos + len(quotes)]
            )
        )
        pos += len(chunks)
        qpos += len(quotes)
        if progress is not None:
            progress.update(1)
    return out


def _store_batches(
    store: Store,
    articles: Iterable[Article],
    embedder: Embedder,
    extractor: QuoteExtractor | None,
    report: IngestReport,
    bar: tqdm,
) -> None:
    settings = store.settings
    batch: list[Article] = []

    def prepare_all() -> list[PreparedArticle]:
        args = (embedder, extractor, settings.chunk_tokens, settings.overlap_sentences)
        try:
            return _prepare_batch(batch, *args, bar)
        except Exception:  # noqa: BLE001 - find the article at fault, keep the others
            log.debug("batch failed; preparing its articles one by one", exc_info=True)
        prepared = []
        for article in batch:
            try:
                prepared.extend(_prepare_batch([article], *args, bar))
            except Exception as e:  # noqa: BLE001 - reported as skipped, with the reason
                log.warning("skipped %s: %s", article.origin, e, exc_info=log.isEnabledFor(logging.DEBUG))
                report.skipped.append(Skipped(article.origin, f"could not be processed: {type(e).__name__}: {e}"))
                bar.update(1)
        return prepared

    def flush() -> None:
        prepared = prepare_all()
        states = {p.article.id: store.article_state(p.article) for p in prepared}
        store.apply(prepared)
        for p in prepared:
            (report.updated if states[p.article.id] == "changed" else report.added).append(p.article.id)
            report.chunks += len(p.chunks)
            report.quotes += len(p.quotes)
        bar.set_postfix(chunks=report.chunks, refresh=False)
        batch.clear()

    for article in articles:
        batch.append(article)
        if len(batch) >= settings.commit_every:
            flush()
    if batch:
        flush()


def ingest(
    store: Store,
    embedder: Embedder,
    targets: Iterable[str | os.PathLike],
    *,
    extractor: QuoteExtractor | None = None,
    progress: bool = False,
) -> IngestReport:
    """Add or update articles from files, folders and URLs.

    Args:
        store: The open store.
        embedder: The embedding model (must be the store's model).
        targets: Paths and ``http(s)://`` URLs.
        extractor: Quote extractor; ``None`` stores no quotes.
        progress: Show a progress bar (articles, with ETA) on stderr.

    Returns:
        An :class:`IngestReport`; bad inputs are in ``skipped``, never raised.
    """
    settings = store.settings
    targets = [str(t) for t in targets]
    report = IngestReport()
    started = time.monotonic()
    bar = tqdm(total=_estimate(targets), unit="article", desc="ingest", disable=not progress, dynamic_ncols=True)
    seen: dict[str, str] = {}
    try:
        fresh = _new_articles(iter_articles(targets, settings), report, seen, store, bar)
        _store_batches(store, fresh, embedder, extractor, report, bar)
    finally:
        bar.close()
        store.save()
    store.maybe_migrate()
    report.seconds = time.monotonic() - started
    for s in report.skipped:
        log.info("skipped %s: %s", s.origin, s.reason)
    log.info("ingest: %s", report.summary())
    return report


def _new_articles(
    results: Iterator[Article | Skipped],
    report: IngestReport,
    seen: dict[str, str],
    store: Store,
    bar: tqdm,
) -> Iterator[Article]:
    """New or changed articles; skipped, duplicate and unchanged ones go into the report."""
    for item in results:
        if isinstance(item, Skipped):
            report.skipped.append(item)
            bar.update(1)
            continue
        if item.id in seen:
            report.skipped.append(Skipped(item.origin, f"duplicate id {item.id!r} (already read from {seen[item.id]})"))
            bar.update(1)
            continue
        seen[item.id] = item.origin
        if store.article_state(item) == "unchanged":
            report.unchanged.append(item.id)
            bar.update(1)
            continue
        yield item


def _estimate(targets: list[str]) -> int | None:
    """A cheap article count for the progress bar's ETA (files, JSON lines)."""
    total = 0
    for t in targets:
        if t.startswith(("http://", "https://")):
            total += 1
            continue
        path = Path(t)
        files = (
            [p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES]
            if path.is_dir() else [path]
        )
        for f in files:
            if f.suffix.lower() == ".jsonl":
                try:
                    with open(f, "rb") as fh:
                        total += sum(1 for line in fh if line.strip())
                except OSError:
                    total += 1
            else:
                total += 1
    return total or None


def reembed(
    store: Store,
    embedder: Embedder,
    *,
    extractor: QuoteExtractor | None = None,
    progress: bool = False,
) -> tuple[Store, IngestReport]:
    """Re-chunk and re-embed every stored article with ``embedder`` (e.g. a new model).

    The new store is built beside the old one and swapped in by renaming, so the old
    data stays intact until the new store is complete; the old folder is kept as
    ``<data_dir>.old``. A crash between the two renames is completed on the next open
    (:func:`index.store.finish_swap`).

    Args:
        store: The store to rebuild (may have been built with another model).
        embedder: The model to embed with from now on.
        extractor: Quote extractor (quotes are extracted again).
        progress: Show a progress bar.

    Returns:
        The new, open store and the report.
    """
    settings = store.settings.with_(model=embedder.name)
    final = Path(settings.data_dir).resolve()
    staging, old = swap_paths(final)
    if staging.exists():  # left by an interrupted re-embed
        shutil.rmtree(staging)
    total = store.stats().articles
    new_store = Store.open(settings.with_(data_dir=staging))
    report = IngestReport()
    started = time.monotonic()
    bar = tqdm(total=total, unit="article", desc="re-embed", disable=not progress, dynamic_ncols=True)
    try:
        _store_batches(new_store, store.iter_articles(), embedder, extractor, report, bar)
    finally:
        bar.close()
    new_store.maybe_migrate()
    new_store.close()
    (staging / SWAP_READY).touch()
    store.close()
    if old.exists():
        shutil.rmtree(old)
    os.replace(final, old)
    finish_swap(final)  # staging -> final (unless a process opening the store just did), drops the marker
    report.seconds = time.monotonic() - started
    log.info("re-embedded %d articles with %s; previous data kept in %s", len(report.added), embedder.name, old)
    return Store.open(settings), report
