"""tenderx's index as a LangChain retriever, for users' own RAG chains.

``TenderxRetriever(store=Store(".tenderx"))`` is a ``langchain_core`` ``BaseRetriever``
whose documents come from the hybrid search (``run_search``): ``page_content`` is the
chunk text and ``metadata`` carries file, page, chunk id and every score, so an
answer can cite the page it stands on. Hits below the relevance floor are left out
unless ``include_weak=True``. Needs the optional extra: ``pip install 'tenderx[langchain]'``.
"""

from __future__ import annotations

import threading
from typing import Any

try:
    from langchain_core.callbacks import CallbackManagerForRetrieverRun
    from langchain_core.documents import Document
    from langchain_core.retrievers import BaseRetriever
except ImportError as e:  # pragma: no cover - the optional extra is missing
    raise ImportError("TenderxRetriever needs langchain-core: pip install 'tenderx[langchain]'") from e
from pydantic import ConfigDict

from extractor.search.hybrid import Hit, open_store, run_search


class TenderxRetriever(BaseRetriever):
    """Hybrid (or dense / lexical) search over a tenderx store, as LangChain Documents."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    store: Any  # an extractor.store.store.Store, or a store directory
    k: int = 4
    mode: str = "hybrid"
    file: str | None = None
    where: dict[str, Any] | None = None
    include_weak: bool = False  # also return hits below the relevance floor
    embedder: Any = None  # an Embedder; None = the store's default

    def model_post_init(self, __context: Any) -> None:
        if not hasattr(self.store, "documents"):  # a path: open it once, keep it warm
            self.store = open_store(self.store)
        self._owner = threading.get_ident()
        self._local = threading.local()

    def _store_here(self) -> Any:
        """The store for this thread: chains run retrievers in thread pools, and a store's
        SQLite connection belongs to the thread that opened it (the loaded index is shared)."""
        if threading.get_ident() == self._owner:
            return self.store
        store = getattr(self._local, "store", None)
        if store is None:
            store = self._local.store = open_store(self.store.path)
        held = getattr(self.store, "_bm25_index", None)
        if held is not None and getattr(store, "_bm25_index", None) is None:
            setattr(store, "_bm25_index", held)  # noqa: B010 — index_for_store still checks its version against this store's
        return store

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun
                                ) -> list[Document]:
        result = run_search(self._store_here(), query, k=self.k, mode=self.mode, file=self.file,
                            where=self.where, embedder=self.embedder)
        hits = result.hits if self.include_weak else result.good
        return [to_document(h) for h in hits]


def to_document(hit: Hit) -> Document:
    """One search hit as a Document (metadata: file, page, page_end, chunk_id, sha256, scores)."""
    return Document(page_content=hit.text, id=hit.chunk_id, metadata={
        "file": hit.file, "page": hit.page, "page_end": hit.page_end or hit.page, "chunk_id": hit.chunk_id,
        "sha256": hit.sha256, "rank": hit.rank, "score": hit.score, "dense": hit.dense, "bm25": hit.bm25,
        "coverage": hit.coverage, "good": hit.good})
