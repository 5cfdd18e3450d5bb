"""citebot's knowledge layer: articles → chunks → vectors + catalogue → search.

No Telegram, no answering here; :mod:`bot` builds on this.
"""

from .chunking import Chunk, chunk_text, split_sentences
from .embedding import Embedder
from .entities import Entity, EntityTagger
from .errors import (
    CitebotError,
    ConfigError,
    FetchError,
    InputError,
    ModelMismatchError,
    StoreError,
)
from .ingest import IngestReport, ingest
from .loaders import Article, Skipped, iter_articles
from .quotes import Quote, QuoteExtractor
from .search import Hit, Searcher
from .settings import SearchMode, Settings
from .store import ArticleRecord, ChunkRecord, QuoteRecord, Store, StoreStats

__all__ = [
    "Article",
    "ArticleRecord",
    "Chunk",
    "ChunkRecord",
    "CitebotError",
    "ConfigError",
    "Embedder",
    "Entity",
    "EntityTagger",
    "FetchError",
    "Hit",
    "IngestReport",
    "InputError",
    "ModelMismatchError",
    "Quote",
    "QuoteExtractor",
    "QuoteRecord",
    "SearchMode",
    "Searcher",
    "Settings",
    "Skipped",
    "Store",
    "StoreError",
    "StoreStats",
    "chunk_text",
    "ingest",
    "iter_articles",
    "split_sentences",
]
