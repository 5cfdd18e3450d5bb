"""Shared fixtures: the real embedding model and spaCy pipeline, loaded once per session,
and stores built from the seed article and the Lee news corpus (bench/data/lee.jsonl)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
os.environ.setdefault("no_proxy", "127.0.0.1,localhost")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SEED_FILE = SEEDS / "000_234da9cac87d4b52.txt"
SEED_ID = "000_234da9cac87d4b52"
LEE = ROOT / "bench" / "data" / "lee.jsonl"


@pytest.fixture(scope="session")
def embedder():
    """The real all-MiniLM-L6-v2 model, loaded once."""
    from index.embedding import load_embedder

    return load_embedder()


@pytest.fixture(scope="session")
def extractor():
    """The real spaCy quote extractor, loaded once."""
    from index.quotes import QuoteExtractor
    from index.settings import DEFAULT_SPACY_MODEL

    return QuoteExtractor(DEFAULT_SPACY_MODEL)


@pytest.fixture
def settings(tmp_path):
    """Knowledge-layer settings with a fresh data directory."""
    from index.settings import Settings

    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def store(settings):
    from index.store import Store

    s = Store.open(settings)
    yield s
    s.close()


@pytest.fixture(scope="session")
def make_engine(tmp_path_factory, embedder):
    """Build answer engines on fresh data dirs (sharing the loaded model); closed at the end."""
    from bot.answer import Engine
    from bot.settings import BotSettings
    from index.settings import Settings
    from index.store import Store

    engines = []

    def make(name: str, *targets) -> Engine:
        settings = BotSettings(index=Settings(data_dir=tmp_path_factory.mktemp(name) / "data"), seeds_dir=SEEDS)
        engine = Engine(settings, store=Store.open(settings.index), embedder=embedder)
        engines.append(engine)
        if targets:
            engine.ingest([str(t) for t in targets])
        else:
            engine.ensure_seeded()
        return engine

    yield make
    for engine in engines:
        engine.close()


@pytest.fixture(scope="session")
def engine_over(make_engine, tmp_path_factory):
    """Build an engine over a few small articles given as ``{file name: text}``."""

    def build(name: str, articles: dict[str, str]):
        folder = tmp_path_factory.mktemp(name)
        for file_name, text in articles.items():
            (folder / file_name).write_text(text, encoding="utf-8")
        return make_engine(name, folder)

    return build


@pytest.fixture(scope="session")
def corpus_engine(make_engine):
    """An answer engine over the seed article and the 50 Lee articles (read-only use)."""
    engine = make_engine("corpus", SEEDS, LEE)
    assert engine.stats().articles == 51
    return engine


@pytest.fixture(scope="session")
def seed_engine(make_engine):
    """An answer engine over the seed corpus only, as `citebot run` builds it on first run."""
    return make_engine("seed")
