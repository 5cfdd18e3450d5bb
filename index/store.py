"""The store: a SQLite catalogue (articles, chunks, vectors, quotes, BM25 via FTS5) and a
FAISS index of the chunk vectors, kept consistent and crash-safe.

Layout of the data directory::

    catalogue.sqlite3     articles, chunks (text, offsets, vector), quotes, FTS5, journal
    vectors-<gen>.faiss   the FAISS index as of catalogue generation <gen>

SQLite is the source of truth and its commit is the atomic step: every change bumps the
catalogue *generation* and logs the chunk ids it added or removed in a journal. The FAISS
file is a snapshot written atomically (temp file, fsync, rename) at the end of an ingest;
on open, the newest snapshot is loaded and the journal since its generation replayed, so
an ingest killed at any point leaves the previous state (or the last committed batch)
usable. Open also checks the index against the catalogue and rebuilds it from the stored
vectors if they disagree.

Example:
    >>> from index import Settings, Store
    >>> store = Store.open(Settings(data_dir="data"))     # doctest: +SKIP
    >>> store.stats().articles                             # doctest: +SKIP
    1
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .chunking import Chunk
from .errors import ModelMismatchError, StoreError
from .loaders import Article
from .quotes import Quote
from .settings import Settings
from .vectors import DenseHit, VectorIndex, choose_index_type

__all__ = [
    "Store",
    "PreparedArticle",
    "ArticleRecord",
    "ChunkRecord",
    "QuoteRecord",
    "LexicalHit",
    "StoreStats",
]

log = logging.getLogger(__name__)

SCHEMA_VERSION = "1"
CATALOGUE = "catalogue.sqlite3"
_SNAPSHOT_RE = re.compile(r"^vectors-(\d+)\.faiss$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, url TEXT, date TEXT, source TEXT,
    origin TEXT, content_hash TEXT NOT NULL, text TEXT NOT NULL,
    added_at REAL NOT NULL, updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS articles_url ON articles(url);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL,
    text TEXT NOT NULL, vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_article ON chunks(article_id, ordinal);
CREATE TABLE IF NOT EXISTS quotes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    chunk_id INTEGER REFERENCES chunks(id) ON DELETE SET NULL,
    text TEXT NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL,
    speaker TEXT, canonical_speaker TEXT, role TEXT, cue TEXT, vector BLOB
);
CREATE INDEX IF NOT EXISTS quotes_article ON quotes(article_id);
CREATE INDEX IF NOT EXISTS quotes_speaker ON quotes(canonical_speaker);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    text, content='chunks', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS chunks_ai AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER IF NOT EXISTS chunks_ad AFTER DELETE ON chunks BEGIN
    INSERT INTO chunks_fts(chunks_fts, rowid, text) VALUES ('delete', old.id, old.text);
    INSERT INTO journal(generation, op, chunk_id)
        VALUES ((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'generation'), 'del', old.id);
END;
CREATE TABLE IF NOT EXISTS journal (
    generation INTEGER NOT NULL, op TEXT NOT NULL, chunk_id INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS journal_gen ON journal(generation);
"""

#: Words that carry no evidence in a lexical query (or as a name in a question).
STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our ours
    out over own same she should so some such than that the their theirs them then there these
    they this those through to too under until up very was we were what when where which while
    who whom why will with would you your yours s t don didn doesn isn wasn say says said tell
    told""".split()
)
_ARTICLE_SELECT = (
    "SELECT a.id, a.title, a.url, a.date, a.source, a.origin, a.content_hash,"
    " (SELECT COUNT(*) FROM chunks c WHERE c.article_id = a.id),"
    " (SELECT COUNT(*) FROM quotes q WHERE q.article_id = a.id), a.added_at FROM articles a"
)
_WORD_RE = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class PreparedArticle:
    """An article ready to store: chunks and quotes, each with its vectors (same order)."""

    article: Article
    chunks: list[Chunk]
    vectors: np.ndarray
    quotes: list[Quote]
    quote_vectors: np.ndarray | None = None


@dataclass(frozen=True)
class ArticleRecord:
    id: str
    title: str
    url: str | None
    date: str | None
    source: str | None
    origin: str | None
    content_hash: str
    chunks: int
    quotes: int
    added_at: float


@dataclass(frozen=True)
class ChunkRecord:
    """A stored passage with the metadata needed to cite it."""

    id: int
    article_id: str
    ordinal: int
    start: int
    end: int
    text: str
    title: str
    url: str | None
    date: str | None
    source: str | None


@dataclass(frozen=True)
class QuoteRecord:
    id: int
    article_id: str
    chunk_id: int | None
    text: str
    start: int
    end: int
    speaker: str | None
    canonical_speaker: str | None
    role: str | None
    cue: str | None
    title: str
    url: str | None


@dataclass(frozen=True)
class LexicalHit:
    """A chunk id and its BM25 score (higher is better)."""

    chunk_id: int
    score: float


@dataclass(frozen=True)
class StoreStats:
    data_dir: str
    articles: int
    chunks: int
    quotes: int
    speakers: int
    model: str | None
    dim: int | None
    index_type: str
    index_vectors: int
    index_bytes: int
    disk_bytes: int
    generation: int


class Store:
    """FAISS + SQLite catalogue in one data directory. Use :meth:`open`.

    Thread-safety: any number of threads may search while one thread writes; writes
    (and catching up with other processes) take ``_write_lock`` then ``_index_lock``.
    """

    def __init__(self, settings: Settings, *, allow_model_mismatch: bool = False) -> None:
        self.settings = settings
        self.dir = Path(settings.data_dir)
        finish_swap(self.dir)
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StoreError(f"cannot create data directory {self.dir}: {e.strerror or e}") from None
        self.path = self.dir / CATALOGUE
        self._local = threading.local()
        self._write_lock = threading.RLock()
        self._index_lock = threading.RLock()
        self._conns: list[sqlite3.Connection] = []
        self._writer = self._connect()
        with self._write_lock:
            try:
                self._writer.executescript(_SCHEMA)
                self._init_meta()
            except sqlite3.DatabaseError as e:
                raise StoreError(f"{self.path} is not a citebot catalogue ({e})") from None
        self._check_model(settings.model, allow_model_mismatch)
        self._gen = 0
        self._vindex: VectorIndex
        self._load_index()

    @classmethod
    def open(cls, settings: Settings, *, allow_model_mismatch: bool = False) -> Store:
        """Open (or create) the store in ``settings.data_dir``.

        Args:
            settings: Where the data lives and which model is expected.
            allow_model_mismatch: Open a store built with another model (for rebuilds).

        Returns:
            The store, with index and catalogue checked against each other.

        Raises:
            ModelMismatchError: the store was built with another embedding model.
            StoreError: the directory or catalogue is unusable.
        """
        return cls(settings, allow_model_mismatch=allow_model_mismatch)

    # -- connections ----------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
        except sqlite3.Error as e:
            raise StoreError(f"cannot open {self.path}: {e} (not a citebot catalogue, or damaged)") from None
        conn.row_factory = sqlite3.Row
        self._conns.append(conn)
        return conn

    @property
    def _db(self) -> sqlite3.Connection:
        """A read connection for the calling thread."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    def close(self) -> None:
        """Write a final snapshot if needed and close all connections."""
        try:
            self.save()
        finally:
            for conn in self._conns:
                conn.close()
            self._conns.clear()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- meta -----------------------------------------------------------------------
    def _init_meta(self) -> None:
        defaults = {"schema_version": SCHEMA_VERSION, "generation": "0", "snapshot_generation": "0"}
        for key, value in defaults.items():
            self._writer.execute("INSERT OR IGNORE INTO meta(key, value) VALUES (?, ?)", (key, value))
        found = self.meta("schema_version")
        if found != SCHEMA_VERSION:
            raise StoreError(f"{self.path} has schema version {found}; this citebot reads {SCHEMA_VERSION}")

    def meta(self, key: str, conn: sqlite3.Connection | None = None) -> str | None:
        row = (conn or self._writer).execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def _set_meta(self, key: str, value: object) -> None:
        self._writer.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, str(value)))

    def _check_model(self, model: str, allow: bool) -> None:
        built_with = self.meta("model")
        if built_with is not None and built_with != model and not allow:
            raise ModelMismatchError(
                f"the index in {self.dir} was built with model {built_with!r}, not {model!r}: "
                f"run `citebot rebuild --reembed` to re-embed it with {model!r}, "
                f"or set CITEBOT_DATA_DIR to another folder"
            )

    @property
    def model(self) -> str | None:
        return self.meta("model")

    @property
    def dim(self) -> int | None:
        value = self.meta("dim")
        return None if value is None else int(value)

    @property
    def generation(self) -> int:
        return int(self.meta("generation") or 0)

    # -- the vector index -----------------------------------------------------------
    def _snapshots(self) -> list[tuple[int, Path]]:
        found = []
        for p in self.dir.iterdir():
            m = _SNAPSHOT_RE.match(p.name)
            if m:
                found.append((int(m.group(1)), p))
        return sorted(found)

    def _load_index(self) -> None:
        """Load the newest usable snapshot, replay the journal, check against the catalogue."""
        with self._index_lock:
            gen = self.generation
            dim = self.dim
            kind = self.meta("index_type") or "flat"
            floor = int(self.meta("snapshot_generation") or 0)
            self._vindex = VectorIndex("flat", dim or 0, self.settings.ivf_nprobe)
            self._gen = 0
            loaded = False
            for snap_gen, path in reversed(self._snapshots()):
                if snap_gen > gen or snap_gen < floor or dim is None:
                    continue  # from a transaction that never committed, or superseded
                try:
                    self._vindex = VectorIndex.read(str(path), kind, dim, self.settings.ivf_nprobe)
                except Exception as e:  # noqa: BLE001 - a damaged snapshot is rebuilt below
                    log.warning("snapshot %s is unreadable (%s); rebuilding from the catalogue", path.name, e)
                    break
                self._gen = snap_gen
                loaded = True
                break
            if dim is not None and not loaded and self._count("chunks"):
                log.warning("no usable vector snapshot in %s; rebuilding from the catalogue", self.dir)
                self._rebuild_locked(kind)
            elif dim is not None:
                self._replay(self._writer)
            if not self._index_matches_catalogue():
                log.warning(
                    "vector index (%d vectors) disagrees with the catalogue (%d chunks); rebuilding it",
                    self._vindex.ntotal, self._count("chunks"),
                )
                self._rebuild_locked(kind)
        self._clean_snapshots()

    def _index_matches_catalogue(self) -> bool:
        if self._vindex.ntotal != self._count("chunks"):
            return False
        ids = self._vindex.ids()
        if ids is None:  # IVF keeps ids in its lists; the count has to do
            return True
        stored = np.fromiter((r[0] for r in self._writer.execute("SELECT id FROM chunks")), dtype=np.int64)
        return np.array_equal(np.sort(ids), np.sort(stored))

    def _replay(self, conn: sqlite3.Connection) -> None:
        rows = conn.execute(
            "SELECT generation, op, chunk_id FROM journal WHERE generation > ? ORDER BY rowid", (self._gen,)
        ).fetchall()
        dim = self.dim
        if dim is not None and self._vindex.dim != dim:  # first vectors of a new store
            self._vindex = VectorIndex("flat", dim, self.settings.ivf_nprobe)
        dels = np.array([r["chunk_id"] for r in rows if r["op"] == "del"], dtype=np.int64)
        adds = [r["chunk_id"] for r in rows if r["op"] == "add"]
        if not self._vindex.remove(dels):
            self._rebuild_locked(self._vindex.kind)
            return
        if adds:
            ids, vectors = self._vectors_for(conn, adds)
            self._vindex.add(vectors, ids)
        self._gen = int(self.meta("generation", conn) or 0)

    def _vectors_for(self, conn: sqlite3.Connection, chunk_ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        ids, vecs = [], []
        for start in range(0, len(chunk_ids), 900):
            part = list(chunk_ids[start : start + 900])
            q = f"SELECT id, vector FROM chunks WHERE id IN ({','.join('?' * len(part))})"
            for row in conn.execute(q, part):
                ids.append(row[0])
                vecs.append(np.frombuffer(row[1], dtype=np.float32))
        dim = self.dim or 0
        return np.array(ids, dtype=np.int64), (np.vstack(vecs) if vecs else np.zeros((0, dim), np.float32))

    def _iter_all_vectors(self, batch: int = 50_000):
        last = -1
        while True:
            rows = self._writer.execute(
                "SELECT id, vector FROM chunks WHERE id > ? ORDER BY id LIMIT ?", (last, batch)
            ).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            yield (
                np.array([r[0] for r in rows], dtype=np.int64),
                np.vstack([np.frombuffer(r[1], dtype=np.float32) for r in rows]),
            )

    def _rebuild_locked(self, kind: str) -> None:
        dim = self.dim
        n = self._count("chunks")
        kind = choose_index_type(kind, n, self.settings.flat_limit)
        if dim is None or n == 0:
            self._vindex = VectorIndex("flat", dim or 0, self.settings.ivf_nprobe)
        else:
            batches = self._iter_all_vectors()
            ids, vectors = next(batches)
            sample = None
            if kind == "ivf-sq8" and n > len(ids):  # train on the whole collection, not its oldest part
                want = min(n, VectorIndex.train_size(n))
                rows = self._writer.execute(
                    "SELECT vector FROM chunks WHERE id IN (SELECT id FROM chunks ORDER BY random() LIMIT ?)", (want,)
                ).fetchall()
                sample = np.vstack([np.frombuffer(r[0], dtype=np.float32) for r in rows])
            self._vindex = VectorIndex.build(
                kind, dim, vectors, ids, self.settings.ivf_nprobe, train_sample=sample, n_total=n
            )
            for ids, vectors in batches:
                self._vindex.add(vectors, ids)
            self._vindex.compact()
        self._gen = self.generation
        with self._write_lock:
            self._set_meta("index_type", self._vindex.kind)
        self._write_snapshot()

    def rebuild_index(self, index_type: str | None = None) -> str:
        """Rebuild the vector index from the stored vectors, optionally as another type.

        Args:
            index_type: ``auto``, ``flat``, ``hnsw`` or ``ivf-sq8``; default: the setting.

        Returns:
            The type built.
        """
        with self._write_lock, self._index_lock:
            self._rebuild_locked(index_type or self.settings.index_type)
            return self._vindex.kind

    def save(self) -> None:
        """Write the vector snapshot if the catalogue moved on since the last one."""
        if not self._conns:
            return
        with self._write_lock, self._index_lock:
            self._catch_up()  # never write an index older than the catalogue
            if int(self.meta("snapshot_generation") or 0) != self._gen or not self._snapshots():
                if self.dim is not None:
                    self._write_snapshot()

    def _write_snapshot(self) -> None:
        gen = self._gen
        final = self.dir / f"vectors-{gen}.faiss"
        tmp = self.dir / f".vectors-{gen}.faiss.tmp"
        self._vindex.write(str(tmp))
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, final)
        _fsync_dir(self.dir)
        with self._write_lock:
            self._writer.execute("BEGIN IMMEDIATE")
            if gen < int(self.meta("snapshot_generation") or 0):  # another process got further
                self._writer.execute("ROLLBACK")
                final.unlink(missing_ok=True)
                return
            self._set_meta("snapshot_generation", gen)
            self._writer.execute("DELETE FROM journal WHERE generation <= ?", (gen,))
            self._writer.execute("COMMIT")
        self._clean_snapshots()

    def _clean_snapshots(self) -> None:
        keep = int(self.meta("snapshot_generation") or 0)
        for snap_gen, path in self._snapshots():
            if snap_gen != keep:
                path.unlink(missing_ok=True)
        for tmp in self.dir.glob(".vectors-*.faiss.tmp"):
            tmp.unlink(missing_ok=True)

    def refresh(self) -> None:
        """Pick up changes another process committed (e.g. ``citebot ingest`` next to the bot).

        Cheap when nothing changed (one ``PRAGMA data_version`` on this thread's
        connection). Skipped while this process is writing: :meth:`apply` catches up
        itself after its commit.
        """
        version = self._db.execute("PRAGMA data_version").fetchone()[0]
        if version == getattr(self._local, "data_version", None):
            return
        if not self._write_lock.acquire(blocking=False):
            return
        try:
            with self._index_lock:
                self._local.data_version = version
                self._catch_up()
        finally:
            self._write_lock.release()

    def _catch_up(self) -> None:
        """Bring the vector index to the committed generation (caller holds both locks)."""
        if int(self.meta("snapshot_generation") or 0) > self._gen:
            self._load_index()  # another process wrote a newer snapshot and trimmed the journal
        elif self.generation != self._gen:
            self._replay(self._writer)

    # -- writing --------------------------------------------------------------------
    def apply(self, upserts: Sequence[PreparedArticle] = (), removals: Iterable[str] = ()) -> list[str]:
        """Store new or changed articles and remove others, in one transaction.

        An article replaces any stored article with the same id or the same url.

        Args:
            upserts: Prepared articles (chunks, vectors, quotes).
            removals: Article ids to remove.

        Returns:
            Ids of articles that were removed or replaced.
        """
        removals = list(removals)
        if not upserts and not removals:
            return []
        with self._write_lock:
            db = self._writer
            replaced: list[str] = []
            try:
                db.execute("BEGIN IMMEDIATE")
                gen = self.generation + 1
                self._set_meta("generation", gen)
                if upserts and self.meta("dim") is None:
                    self._set_meta("model", self.settings.model)
                    self._set_meta("dim", upserts[0].vectors.shape[1])
                    self._set_meta("index_type", "flat")
                for art_id in removals:
                    if db.execute("DELETE FROM articles WHERE id = ?", (art_id,)).rowcount:
                        replaced.append(art_id)
                now = time.time()
                for prep in upserts:
                    a = prep.article
                    old = db.execute(
                        "SELECT id, added_at FROM articles WHERE id = ? OR (url IS NOT NULL AND url = ?)",
                        (a.id, a.url),
                    ).fetchall()
                    added_at = min([r["added_at"] for r in old], default=now)
                    for r in old:
                        db.execute("DELETE FROM articles WHERE id = ?", (r["id"],))
                        replaced.append(r["id"])
                    db.execute(
                        "INSERT INTO articles(id, title, url, date, source, origin, content_hash, text,"
                        " added_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                        (a.id, a.title, a.url, a.date, a.source, a.origin, a.content_hash, a.text, added_at, now),
                    )
                    chunk_ids = []
                    for chunk, vec in zip(prep.chunks, prep.vectors, strict=True):
                        cur = db.execute(
                            'INSERT INTO chunks(article_id, ordinal, start, "end", text, vector)'
                            " VALUES (?,?,?,?,?,?)",
                            (a.id, chunk.ordinal, chunk.start, chunk.end, chunk.text,
                             np.asarray(vec, dtype=np.float32).tobytes()),
                        )
                        chunk_ids.append(cur.lastrowid)
                    db.executemany(
                        "INSERT INTO journal(generation, op, chunk_id) VALUES (?, 'add', ?)",
                        [(gen, cid) for cid in chunk_ids],
                    )
                    for n, q in enumerate(prep.quotes):
                        qvec = None if prep.quote_vectors is None else prep.quote_vectors[n]
                        db.execute(
                            'INSERT INTO quotes(article_id, chunk_id, text, start, "end", speaker,'
                            " canonical_speaker, role, cue, vector) VALUES (?,?,?,?,?,?,?,?,?,?)",
                            (a.id, _chunk_for(q, prep.chunks, chunk_ids), q.text, q.start, q.end,
                             q.speaker, q.canonical_speaker, q.role, q.cue,
                             None if qvec is None else np.asarray(qvec, dtype=np.float32).tobytes()),
                        )
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            with self._index_lock:
                try:
                    self._catch_up()
                except BaseException:
                    log.exception("vector index update failed; reloading it from the catalogue")
                    self._load_index()
                    raise
            return replaced

    def remove(self, article_ids: Iterable[str]) -> list[str]:
        """Remove articles (with their chunks and quotes); returns the ids that existed."""
        removed = self.apply(removals=article_ids)
        self.save()
        return removed

    def maybe_migrate(self) -> str | None:
        """Under ``auto``, switch to the approximate index once the collection outgrows flat.

        Returns:
            The new index type when it changed, else ``None``.
        """
        if self.settings.index_type != "auto":
            return None
        if self._vindex.kind != "flat":  # an explicit rebuild (hnsw, ivf) is kept
            return None
        want = choose_index_type("auto", self._vindex.ntotal, self.settings.flat_limit)
        if want == self._vindex.kind:
            return None
        log.info("collection has %d chunks: switching the vector index to %s", self._vindex.ntotal, want)
        return self.rebuild_index(want)

    # -- reading --------------------------------------------------------------------
    def _count(self, table: str) -> int:
        return self._writer.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]  # noqa: S608

    def article_state(self, article: Article) -> str | None:
        """``"unchanged"``, ``"changed"`` (same id or url, other content) or ``None`` (new)."""
        rows = self._db.execute(
            "SELECT content_hash FROM articles WHERE id = ? OR (url IS NOT NULL AND url = ?)",
            (article.id, article.url),
        ).fetchall()
        if not rows:
            return None
        if len(rows) == 1 and rows[0][0] == article.content_hash:
            return "unchanged"
        return "changed"

    def dense(self, query_vector: np.ndarray, k: int) -> list[DenseHit]:
        """Nearest chunks to a normalised query vector."""
        self.refresh()
        with self._index_lock:
            return self._vindex.search(query_vector, k)

    def lexical(self, query: str, k: int) -> list[LexicalHit]:
        """BM25 over chunk texts (SQLite FTS5, Porter stemming); stop words ignored."""
        terms = lexical_terms(query)
        if not terms or k <= 0:
            return []
        match = " OR ".join(f'"{t}"' for t in terms)
        rows = self._db.execute(
            "SELECT rowid, bm25(chunks_fts) AS s FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY s LIMIT ?",
            (match, k),
        ).fetchall()
        return [LexicalHit(int(r[0]), -float(r[1])) for r in rows]

    def chunks(self, chunk_ids: Sequence[int]) -> dict[int, ChunkRecord]:
        """Chunk records by id (ids that no longer exist are absent)."""
        out: dict[int, ChunkRecord] = {}
        ids = list(dict.fromkeys(chunk_ids))
        for start in range(0, len(ids), 900):
            part = ids[start : start + 900]
            rows = self._db.execute(
                'SELECT c.id, c.article_id, c.ordinal, c.start, c."end", c.text, a.title, a.url, a.date, a.source'
                f" FROM chunks c JOIN articles a ON a.id = c.article_id WHERE c.id IN ({','.join('?' * len(part))})",
                part,
            ).fetchall()
            for r in rows:
                out[r[0]] = ChunkRecord(*r)
        return out

    def vectors(self, chunk_ids: Sequence[int]) -> dict[int, np.ndarray]:
        """Stored vectors by chunk id."""
        ids, vecs = self._vectors_for(self._db, list(chunk_ids))
        return {int(i): v for i, v in zip(ids, vecs, strict=True)}

    def chunk(self, chunk_id: int) -> ChunkRecord | None:
        """One chunk record, or ``None``."""
        return self.chunks([chunk_id]).get(chunk_id)

    def iter_articles(self) -> Iterator[Article]:
        """Every stored article as an :class:`Article` (for rebuilds and exports)."""
        last = ""
        while True:
            rows = self._db.execute(
                "SELECT id, title, text, url, date, source, origin FROM articles WHERE id > ? ORDER BY id LIMIT 500",
                (last,),
            ).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            for r in rows:
                yield Article(r[0], r[1], r[2], r[3], r[4], r[5], r[6] or "")

    def article_text(self, article_id: str) -> str | None:
        row = self._db.execute("SELECT text FROM articles WHERE id = ?", (article_id,)).fetchone()
        return None if row is None else row[0]

    def articles(self, limit: int | None = None, offset: int = 0) -> list[ArticleRecord]:
        """Articles, newest first."""
        rows = self._db.execute(
            _ARTICLE_SELECT + " ORDER BY a.added_at DESC, a.id LIMIT ? OFFSET ?",
            (-1 if limit is None else limit, offset),
        ).fetchall()
        return [ArticleRecord(*r) for r in rows]

    def article(self, article_id: str) -> ArticleRecord | None:
        row = self._db.execute(
            _ARTICLE_SELECT + " WHERE a.id = ?",
            (article_id,),
        ).fetchone()
        return None if row is None else ArticleRecord(*row)

    def quotes(self, speaker: str | None = None, article_id: str | None = None) -> list[QuoteRecord]:
        """Stored quotes, in article order.

        Args:
            speaker: Exact canonical speaker.
            article_id: Only this article.
        """
        sql = (
            'SELECT q.id, q.article_id, q.chunk_id, q.text, q.start, q."end", q.speaker,'
            " q.canonical_speaker, q.role, q.cue, a.title, a.url FROM quotes q"
            " JOIN articles a ON a.id = q.article_id WHERE 1=1"
        )
        args: list[object] = []
        if speaker is not None:
            sql += " AND q.canonical_speaker = ?"
            args.append(speaker)
        if article_id is not None:
            sql += " AND q.article_id = ?"
            args.append(article_id)
        sql += " ORDER BY a.added_at, q.article_id, q.start"
        return [QuoteRecord(*r) for r in self._db.execute(sql, args).fetchall()]

    def quote_vectors(self, quote_ids: Sequence[int]) -> dict[int, np.ndarray]:
        """Stored vectors of quotes (quotes stored without one are absent)."""
        ids = list(dict.fromkeys(quote_ids))
        out: dict[int, np.ndarray] = {}
        for start in range(0, len(ids), 900):  # SQLite's bound-parameter limit
            part = ids[start : start + 900]
            rows = self._db.execute(
                f"SELECT id, vector FROM quotes WHERE vector IS NOT NULL AND id IN ({','.join('?' * len(part))})", part
            ).fetchall()
            out.update((r[0], np.frombuffer(r[1], dtype=np.float32)) for r in rows)
        return out

    def speakers(self) -> list[tuple[str, int]]:
        """Canonical speakers with their quote counts, most quoted first."""
        rows = self._db.execute(
            "SELECT canonical_speaker, COUNT(*) FROM quotes WHERE canonical_speaker IS NOT NULL"
            " GROUP BY canonical_speaker ORDER BY COUNT(*) DESC, canonical_speaker"
        ).fetchall()
        return [(r[0], r[1]) for r in rows]

    def speaker_roles(self) -> list[tuple[str, str]]:
        """Each canonical speaker with each role the articles give them ("Britain's Queen")."""
        rows = self._db.execute(
            "SELECT DISTINCT canonical_speaker, role FROM quotes"
            " WHERE canonical_speaker IS NOT NULL AND role IS NOT NULL AND role != ''"
            " ORDER BY canonical_speaker, role"
        ).fetchall()
        return [(r[0], r[1]) for r in rows]

    def stats(self) -> StoreStats:
        """Counts, model, index type and sizes."""
        disk = sum(p.stat().st_size for p in self.dir.iterdir() if p.is_file())
        with self._index_lock:
            kind, ntotal = self._vindex.kind, self._vindex.ntotal
            ibytes = self._vindex.memory_bytes()
        return StoreStats(
            data_dir=str(self.dir),
            articles=self._count("articles"),
            chunks=self._count("chunks"),
            quotes=self._count("quotes"),
            speakers=len(self.speakers()),
            model=self.model,
            dim=self.dim,
            index_type=kind,
            index_vectors=ntotal,
            index_bytes=ibytes,
            disk_bytes=disk,
            generation=self.generation,
        )


#: Written into a re-embedded store once it is complete, before it is swapped in.
SWAP_READY = "SWAP_READY"


def swap_paths(data_dir: Path) -> tuple[Path, Path]:
    """``(<data_dir>.rebuild, <data_dir>.old)``: the new store being built, the previous one."""
    data_dir = Path(data_dir).resolve()
    return data_dir.with_name(data_dir.name + ".rebuild"), data_dir.with_name(data_dir.name + ".old")


def finish_swap(data_dir: Path) -> None:
    """Complete a re-embed swap that a crash cut between its two renames.

    The swap renames ``data`` → ``data.old`` and then ``data.rebuild`` → ``data``, and
    ``data.rebuild`` holds ``SWAP_READY`` before the first rename. So ``data`` missing
    with a ready rebuild beside it means a cut swap: the rebuild is moved into place
    (by whichever process gets there first). Anything else is left alone.
    """
    data_dir = Path(data_dir).resolve()
    if not data_dir.name:  # the file-system root: no sibling folders to swap with
        return
    staging, _ = swap_paths(data_dir)
    if not data_dir.exists() and (staging / SWAP_READY).exists():
        try:
            os.replace(staging, data_dir)
            log.warning("finished an interrupted re-embed: %s is the re-embedded store", data_dir)
        except FileNotFoundError:  # another process finished it first
            pass
    (data_dir / SWAP_READY).unlink(missing_ok=True)


def lexical_terms(query: str) -> list[str]:
    """Lower-cased content words of a query, in order, without duplicates."""
    words = [w.lower() for w in _WORD_RE.findall(query)]
    return list(dict.fromkeys(w for w in words if w not in STOPWORDS and (len(w) > 1 or w.isdigit())))


def _chunk_for(quote: Quote, chunks: Sequence[Chunk], ids: Sequence[int]) -> int | None:
    """The first chunk holding the whole quote, else the one holding its start."""
    for chunk, cid in zip(chunks, ids, strict=True):
        if chunk.start <= quote.start and quote.end <= chunk.end:
            return cid
    for chunk, cid in zip(chunks, ids, strict=True):
        if chunk.start <= quote.start < chunk.end:
            return cid
    return None


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
