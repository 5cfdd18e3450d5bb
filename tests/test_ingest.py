"""Ingest into the real store: idempotent, replaces changed articles, removes, survives
interruption, refuses a store built with another model, fetches URLs."""

from __future__ import annotations

import http.server
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

from index.errors import ModelMismatchError
from index.ingest import ingest
from index.search import Searcher
from index.settings import Settings
from index.store import Store

from .conftest import LEE, ROOT, SEED_ID, SEEDS


def _consistent(store: Store) -> None:
    """The vector index, the catalogue and the BM25 index hold exactly the same chunk ids."""
    ids = {r[0] for r in sqlite3.connect(store.path).execute("SELECT id FROM chunks")}
    fts = {r[0] for r in sqlite3.connect(store.path).execute("SELECT rowid FROM chunks_fts")}
    assert {int(i) for i in store._vindex.ids()} == ids == fts


def test_reingest_unchanged_changes_nothing(store, embedder):
    first = ingest(store, embedder, [SEEDS])
    gen, stats = store.generation, store.stats()
    second = ingest(store, embedder, [SEEDS])
    assert first.added == [SEED_ID] and first.chunks == stats.chunks > 3
    assert second.unchanged == [SEED_ID] and not second.added and not second.updated
    assert store.generation == gen
    assert store.stats().chunks == stats.chunks
    _consistent(store)


def test_changed_article_replaces_its_chunks(store, embedder, tmp_path):
    f = tmp_path / "story.txt"
    f.write_text("Harbour story\n\nThe ferry to Manly was cancelled because of a storm.\n")
    ingest(store, embedder, [f])
    searcher = Searcher(store, embedder)
    old_ids = {h.chunk_id for h in searcher.search("ferry Manly storm", k=5)}
    f.write_text("Harbour story\n\nThe ferry to Manly resumed after the volcano ash cleared.\n")
    report = ingest(store, embedder, [f])
    assert report.updated == ["story"] and not report.added
    hits = searcher.search("volcano ash", k=5)
    assert hits[0].article_id == "story" and "volcano" in hits[0].text
    assert not old_ids & {h.chunk_id for h in hits}
    assert all("storm" not in h.text for h in searcher.search("storm", k=5))
    assert store.stats().articles == 1
    _consistent(store)


def test_same_url_under_another_id_replaces(store, embedder, tmp_path):
    url = "https://news.example/a/1"
    (tmp_path / "a.jsonl").write_text(json.dumps({"id": "one", "url": url, "text": "Old text about tides."}) + "\n")
    (tmp_path / "b.jsonl").write_text(json.dumps({"id": "two", "url": url, "text": "New text about tides."}) + "\n")
    ingest(store, embedder, [tmp_path / "a.jsonl"])
    report = ingest(store, embedder, [tmp_path / "b.jsonl"])
    assert report.updated == ["two"]
    assert [a.id for a in store.articles()] == ["two"]


def test_remove_takes_article_chunks_and_quotes(store, embedder, extractor):
    ingest(store, embedder, [SEEDS, LEE], extractor=extractor)
    assert store.quotes(article_id=SEED_ID)
    assert store.remove([SEED_ID, "no-such-id"]) == [SEED_ID]
    assert store.article(SEED_ID) is None
    assert not store.quotes(article_id=SEED_ID)
    hits = Searcher(store, embedder).search("Christmas gift O'Brien North Korea", k=10)
    assert hits and all(h.article_id != SEED_ID for h in hits)
    _consistent(store)
    store.close()
    reopened = Store.open(store.settings)
    assert reopened.stats().articles == 50
    _consistent(reopened)
    reopened.close()


def test_interrupted_ingest_keeps_committed_batches(settings, embedder, monkeypatch):
    settings = settings.with_(commit_every=10)
    store = Store.open(settings)
    calls = {"n": 0}
    real_apply = store.apply

    def apply_then_die(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real_apply(*args, **kwargs)

    monkeypatch.setattr(store, "apply", apply_then_die)
    with pytest.raises(KeyboardInterrupt):
        ingest(store, embedder, [LEE])
    store.close()
    reopened = Store.open(settings)
    assert reopened.stats().articles == 20
    _consistent(reopened)
    resumed = ingest(reopened, embedder, [LEE])
    assert len(resumed.unchanged) == 20 and len(resumed.added) == 30
    _consistent(reopened)
    reopened.close()


def test_lost_snapshot_is_rebuilt_from_the_catalogue(settings, embedder):
    store = Store.open(settings)
    ingest(store, embedder, [SEEDS])
    expected = store.stats().chunks
    store.close()
    for snap in settings.data_dir.glob("vectors-*.faiss"):
        snap.write_bytes(b"garbage")
    reopened = Store.open(settings)
    assert reopened.stats().index_vectors == expected
    assert Searcher(reopened, embedder).search("Christmas gift", k=1)[0].article_id == SEED_ID
    reopened.close()


def test_killed_ingest_process_leaves_a_usable_store(tmp_path):
    """SIGKILL a real `citebot ingest` mid-way; the store opens consistent and resumes."""
    data = tmp_path / "data"
    env = {**os.environ, "CITEBOT_DATA_DIR": str(data), "CITEBOT_COMMIT_EVERY": "5", "CITEBOT_QUOTES": "0"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "-q", "ingest", str(LEE)], cwd=ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                gen = sqlite3.connect(data / "catalogue.sqlite3").execute(
                    "SELECT value FROM meta WHERE key='generation'").fetchone()
            except sqlite3.Error:
                gen = None
            if gen and int(gen[0]) >= 2:
                break
            time.sleep(0.02)
        assert proc.poll() is None, "ingest finished before it could be interrupted"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    settings = Settings(data_dir=data, quotes=False)
    store = Store.open(settings)
    committed = store.stats().articles
    assert 0 < committed < 50
    _consistent(store)
    store.close()
    # the next run resumes: committed articles are unchanged, the rest are added
    store = Store.open(settings)
    from index.embedding import load_embedder

    resumed = ingest(store, load_embedder(), [LEE])
    assert (len(resumed.unchanged), len(resumed.added)) == (committed, 50 - committed)
    _consistent(store)
    store.close()


def test_store_built_with_another_model_is_refused(settings, embedder):
    store = Store.open(settings)
    ingest(store, embedder, [SEEDS])
    store.close()
    with pytest.raises(ModelMismatchError, match="citebot rebuild --reembed"):
        Store.open(settings.with_(model="/models/other-model"))


class _Handler(http.server.BaseHTTPRequestHandler):
    pages = {
        "/story.html": ("text/html; charset=utf-8", "<html><head><title>Dam opens</title></head><body><article>"
                        "<h1>Dam opens</h1><p>The new dam on the Snowy River opened on Friday after six years of "
                        "work, engineers said, and will supply water to forty thousand homes.</p></article></body></html>"),
        "/plain.txt": ("text/plain; charset=utf-8", "Wire brief\n\nA magnitude 5 earthquake shook Wellington overnight."),
        "/image.png": ("image/png", "\x89PNG"),
        "/huge.html": ("text/html", "<p>" + "x" * 5000 + "</p>"),
    }

    def do_GET(self):  # noqa: N802 - http.server API
        page = self.pages.get(self.path)
        if page is None:
            self.send_error(404)
            return
        body = page[1].encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", page[0])
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def web():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_url_ingest_from_a_local_server(settings, embedder, web):
    store = Store.open(settings.with_(fetch_max_bytes=2000))
    report = ingest(store, embedder, [f"{web}/story.html", f"{web}/plain.txt", f"{web}/missing.html",
                                      f"{web}/image.png", f"{web}/huge.html", "http://127.0.0.1:9/closed"])
    assert len(report.added) == 2
    reasons = {s.origin.rsplit("/", 1)[-1]: s.reason for s in report.skipped}
    assert reasons["missing.html"] == "HTTP 404 Not Found"
    assert "content type image/png" in reasons["image.png"]
    assert "limit" in reasons["huge.html"]
    assert reasons["closed"].startswith("unreachable")
    hit = Searcher(store, embedder).search("Snowy River dam water supply", k=1)[0]
    assert hit.url == f"{web}/story.html" and hit.title == "Dam opens"
    assert store.article_text(hit.article_id)[hit.start:hit.end] == hit.text
    store.close()
