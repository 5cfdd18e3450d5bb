"""Store consistency under concurrency: searches during a write, two processes sharing a
data dir, HNSW removals. Vectors are synthetic here (the store does not care), the
FAISS index and SQLite catalogue are real."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from index.chunking import Chunk
from index.loaders import Article
from index.store import PreparedArticle, Store

DIM = 384


def _prepared(i: int, n_chunks: int = 3, version: int = 0) -> PreparedArticle:
    text = " ".join(f"Sentence {k} of article {i} version {version}." for k in range(n_chunks))
    parts = text.split(" Sentence ")
    chunks, pos = [], 0
    for k, part in enumerate(parts):
        piece = part if k == 0 else "Sentence " + part
        start = text.index(piece, pos)
        chunks.append(Chunk(f"a{i}", k, start, start + len(piece), piece))
        pos = start + len(piece)
    rng = np.random.default_rng(i * 1000 + version)
    vecs = rng.standard_normal((len(chunks), DIM)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    return PreparedArticle(Article(f"a{i}", f"Title {i}", text), chunks, vecs, [])


def _index_ids(store: Store) -> list[int]:
    return sorted(int(i) for i in store._vindex.ids())


def _catalogue_ids(store: Store) -> list[int]:
    return sorted(r[0] for r in store._writer.execute("SELECT id FROM chunks"))


def test_searching_while_writing_keeps_index_and_catalogue_equal(settings):
    store = Store.open(settings)
    store.apply([_prepared(0)])
    stop = threading.Event()
    errors: list[BaseException] = []

    def search():
        query = _prepared(0).vectors[0]
        while not stop.is_set():
            try:
                store.dense(query, 5)
            except BaseException as e:  # noqa: BLE001 - reported below
                errors.append(e)
                return

    readers = [threading.Thread(target=search) for _ in range(3)]
    for t in readers:
        t.start()
    for i in range(1, 40):
        store.apply([_prepared(i), _prepared(i + 100)], removals=[f"a{i - 1}"] if i % 5 == 0 else [])
    stop.set()
    for t in readers:
        t.join()
    assert not errors
    assert _index_ids(store) == _catalogue_ids(store)
    store.close()


def test_hnsw_removal_with_concurrent_search_finishes(settings):
    store = Store.open(settings.with_(index_type="hnsw"))
    store.apply([_prepared(i) for i in range(10)])
    store.rebuild_index("hnsw")
    done = threading.Event()

    def search():
        while not done.is_set():
            store.dense(_prepared(1).vectors[0], 3)

    reader = threading.Thread(target=search, daemon=True)
    reader.start()
    writer = threading.Thread(target=lambda: [store.apply([_prepared(i, version=1)]) for i in range(10)])
    writer.start()
    writer.join(timeout=60)
    done.set()
    assert not writer.is_alive(), "writer deadlocked"
    assert _index_ids(store) == _catalogue_ids(store)
    store.close()


def test_a_stale_second_process_never_rewinds_the_index(settings):
    bot = Store.open(settings)  # e.g. the running bot
    bot.apply([_prepared(1), _prepared(2)])
    bot.save()
    cli = Store.open(settings)  # e.g. `citebot ingest` in another process
    cli.apply([_prepared(1, version=1)], removals=["a2"])
    cli.close()
    new_chunk = _catalogue_ids(bot)[0]
    hits = bot.dense(_prepared(1, version=1).vectors[0], 1)  # the bot catches up on search
    assert hits[0].chunk_id == new_chunk
    bot.close()
    reopened = Store.open(settings)
    assert _index_ids(reopened) == _catalogue_ids(reopened) == sorted(
        c for c in _catalogue_ids(reopened))
    assert reopened.stats().articles == 1
    reopened.close()


def test_close_of_an_idle_process_after_another_wrote(settings):
    idle = Store.open(settings)
    idle.apply([_prepared(1)])
    idle.save()
    other = Store.open(settings)
    other.apply([_prepared(2)])
    other.close()
    idle.close()  # must not write its older index over the newer snapshot
    reopened = Store.open(settings)
    assert reopened.stats().articles == 2
    assert _index_ids(reopened) == _catalogue_ids(reopened)
    reopened.close()


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf-sq8"])
def test_rebuild_as_each_index_type_keeps_search(settings, kind):
    store = Store.open(settings)
    store.apply([_prepared(i) for i in range(60)])
    assert store.rebuild_index(kind) == kind
    target = _prepared(7).vectors[1]
    assert store.dense(target, 1)[0].chunk_id in _catalogue_ids(store)
    hit = store.chunks([store.dense(target, 1)[0].chunk_id])
    assert next(iter(hit.values())).article_id == "a7"
    store.close()
    reopened = Store.open(settings.with_(index_type="auto"))
    assert reopened.stats().index_type == kind
    reopened.apply([_prepared(100)])
    assert reopened.stats().index_type == kind  # auto keeps an explicit choice
    reopened.close()


def test_quote_vectors_are_all_returned_past_the_sqlite_parameter_limit(settings):
    from index.quotes import Quote

    prep = _prepared(1)
    text = prep.article.text
    quotes = [Quote(text[:8], 0, 8, "Ann", "Ann Lee", None, "said") for _ in range(1000)]
    vecs = np.tile(prep.vectors[:1], (1000, 1))
    store = Store.open(settings)
    store.apply([PreparedArticle(prep.article, prep.chunks, prep.vectors, quotes, vecs)])
    stored = store.quotes("Ann Lee")
    assert len(stored) == 1000
    assert len(store.quote_vectors([q.id for q in stored])) == 1000  # a speaker with many quotes loses none
    store.close()


def test_a_reembed_cut_between_its_two_renames_is_finished_on_open(settings):
    """data → data.old done, data.rebuild → data not yet: the complete rebuild is moved in."""
    import os

    from index.store import SWAP_READY, swap_paths

    store = Store.open(settings)
    store.apply([_prepared(0)])
    store.close()
    staging, old = swap_paths(settings.data_dir)
    new = Store.open(settings.with_(data_dir=staging))
    new.apply([_prepared(1)])
    new.close()
    (staging / SWAP_READY).touch()
    os.replace(settings.data_dir, old)  # the crash comes here

    reopened = Store.open(settings)
    assert [a.id for a in reopened.articles()] == ["a1"]
    assert not (settings.data_dir / SWAP_READY).exists() and not staging.exists()


def test_a_deleted_store_is_not_brought_back_from_the_previous_re_embed(settings):
    """data.old is the store before the last re-embed: deleting data starts afresh."""
    import shutil

    from index.store import swap_paths

    store = Store.open(settings)
    store.apply([_prepared(0)])
    store.close()
    _, old = swap_paths(settings.data_dir)
    shutil.copytree(settings.data_dir, old)
    shutil.rmtree(settings.data_dir)

    assert Store.open(settings).articles() == []


def test_swap_paths_of_the_current_directory(tmp_path, monkeypatch):
    from index.store import finish_swap, swap_paths

    monkeypatch.chdir(tmp_path)
    staging, old = swap_paths(Path("."))
    assert (staging.parent, staging.name, old.name) == (tmp_path.parent, tmp_path.name + ".rebuild", tmp_path.name + ".old")
    finish_swap(Path("."))  # nothing to do, no error
