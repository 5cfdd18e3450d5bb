"""The FAISS vector index: which type, how it is built, how it is searched.

``flat`` is exact inner-product search (best up to a few hundred thousand chunks).
``ivf-sq8`` clusters vectors into ``4·√N`` lists and stores them as 8-bit scalars
(~400 bytes a 384-d vector); ``hnsw`` is a graph index (fast, more memory, no removal:
removals rebuild it). Every type maps FAISS results to catalogue chunk ids.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass

logging.getLogger("faiss.loader").setLevel(logging.WARNING)  # it logs every CPU probe at INFO

import faiss  # noqa: E402
import numpy as np  # noqa: E402

from .errors import StoreError  # noqa: E402

__all__ = ["VectorIndex", "choose_index_type", "DenseHit"]

_HNSW_M = 32
_HNSW_EF_SEARCH = 64
_IVF_MIN_TRAIN = 39  # FAISS wants ≥ 39 training points per list


@dataclass(frozen=True)
class DenseHit:
    """A chunk id and its cosine similarity to the query."""

    chunk_id: int
    score: float


def _nlist(n_total: int, n_sample: int) -> int:
    """IVF lists: 4·√N for the collection, as many as the training sample supports."""
    return max(1, min(int(4 * math.sqrt(max(n_total, 1))), n_sample // _IVF_MIN_TRAIN or 1))


def choose_index_type(requested: str, n_vectors: int, flat_limit: int) -> str:
    """Resolve ``auto`` into a concrete type for a collection of ``n_vectors``."""
    if requested != "auto":
        return requested
    return "flat" if n_vectors <= flat_limit else "ivf-sq8"


class VectorIndex:
    """A FAISS index keyed by chunk id.

    Args:
        kind: ``flat``, ``hnsw`` or ``ivf-sq8``.
        dim: Vector dimension.
        nprobe: IVF lists probed per query.
    """

    def __init__(self, kind: str, dim: int, nprobe: int = 16) -> None:
        self.kind = kind
        self.dim = dim
        self.nprobe = nprobe
        self._index = self._empty(kind, dim) if kind != "ivf-sq8" else None

    # -- building -------------------------------------------------------------------
    @staticmethod
    def _empty(kind: str, dim: int):
        if kind == "flat":
            return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        if kind == "hnsw":
            hnsw = faiss.IndexHNSWFlat(dim, _HNSW_M, faiss.METRIC_INNER_PRODUCT)
            hnsw.hnsw.efSearch = _HNSW_EF_SEARCH
            return faiss.IndexIDMap2(hnsw)
        raise StoreError(f"unknown index type {kind!r}")

    @classmethod
    def build(
        cls,
        kind: str,
        dim: int,
        vectors: np.ndarray,
        ids: np.ndarray,
        nprobe: int = 16,
        train_sample: np.ndarray | None = None,
        n_total: int | None = None,
    ) -> VectorIndex:
        """Build an index of ``kind`` over ``vectors`` (more can be added afterwards).

        Args:
            train_sample: Vectors to train IVF on (default: ``vectors``); pass a random
                sample of the whole collection when ``vectors`` is only its first batch.
            n_total: Collection size the IVF list count is sized for (default: the sample's).
        """
        faiss.omp_set_num_threads(os.cpu_count() or 1)  # building: every core helps
        self = cls(kind, dim, nprobe)
        if kind == "ivf-sq8":
            self._index = self._train_ivf(dim, vectors if train_sample is None else train_sample, n_total)
        self.add(vectors, ids)
        return self

    @staticmethod
    def train_size(n_total: int) -> int:
        """How many vectors IVF training wants for a collection of ``n_total``."""
        return 256 * _nlist(n_total, n_total)

    def compact(self) -> None:
        """Drop the slack FAISS leaves in grown inverted lists (~30% RSS after a 1M build)."""
        if self._index is not None and self.kind != "flat":
            self._index = faiss.deserialize_index(faiss.serialize_index(self._index))

    @staticmethod
    def _train_ivf(dim: int, sample: np.ndarray, n_total: int | None = None):
        n = len(sample)
        nlist = _nlist(n_total or n, n)
        quantizer = faiss.IndexFlatIP(dim)
        ivf = faiss.IndexIVFScalarQuantizer(
            quantizer, dim, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
        )
        if n == 0:
            raise StoreError("an IVF index needs vectors to train on; use the flat type for an empty store")
        train = sample if n <= 256 * nlist else sample[np.random.default_rng(0).choice(n, 256 * nlist, replace=False)]
        ivf.train(np.ascontiguousarray(train, dtype=np.float32))
        return ivf

    def add(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        """Add vectors under the given chunk ids."""
        if len(ids) == 0:
            return
        if self._index is None:  # an IVF index that was never trained: train on this batch
            self._index = self._train_ivf(self.dim, vectors)
        self._index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64))

    def remove(self, ids: np.ndarray) -> bool:
        """Remove ids; returns False when this type cannot remove (HNSW: rebuild instead)."""
        if len(ids) == 0 or self._index is None:
            return True
        if self.kind == "hnsw":
            return False
        self._index.remove_ids(np.asarray(ids, dtype=np.int64))
        return True

    # -- querying -------------------------------------------------------------------
    @property
    def ntotal(self) -> int:
        return 0 if self._index is None else int(self._index.ntotal)

    def search(self, query: np.ndarray, k: int) -> list[DenseHit]:
        """The ``k`` nearest chunk ids to one normalised query vector."""
        if self.ntotal == 0 or k <= 0:
            return []
        if self.kind == "ivf-sq8":
            self._index.nprobe = self.nprobe
        # One query gains nothing from OpenMP threads but wake-up latency (flat 100k: 6 ms
        # with one, 14 ms with two; far worse under load). The setting is per calling
        # thread in libgomp, so it is made here, where the bot's worker threads call in.
        faiss.omp_set_num_threads(1)
        scores, ids = self._index.search(np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32), k)
        return [DenseHit(int(i), float(s)) for s, i in zip(scores[0], ids[0], strict=True) if i >= 0]

    def ids(self) -> np.ndarray | None:
        """The chunk ids held (flat and HNSW); ``None`` for IVF, which keeps them in its lists."""
        if self._index is None:
            return np.zeros(0, dtype=np.int64)
        if isinstance(self._index, faiss.IndexIDMap2):
            return faiss.vector_to_array(self._index.id_map).astype(np.int64)
        return None

    def memory_bytes(self) -> int:
        """Approximate RAM held by the index (its serialized size)."""
        return 0 if self._index is None else int(faiss.serialize_index(self._index).nbytes)

    # -- persistence ----------------------------------------------------------------
    def write(self, path: str) -> None:
        faiss.write_index(self._index if self._index is not None else self._empty("flat", self.dim), path)

    @classmethod
    def read(cls, path: str, kind: str, dim: int, nprobe: int = 16) -> VectorIndex:
        self = cls.__new__(cls)
        self.kind, self.dim, self.nprobe = kind, dim, nprobe
        self._index = faiss.read_index(path)
        if kind == "ivf-sq8" and self._index.ntotal == 0:
            self._index = None  # never trained; trains on the first vectors added
            return self
        if self._index.d != dim:
            raise StoreError(f"{path} holds {self._index.d}-d vectors, the catalogue says {dim}")
        if kind == "hnsw":
            faiss.downcast_index(self._index.index).hnsw.efSearch = _HNSW_EF_SEARCH
        return self
