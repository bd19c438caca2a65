"""The LangChain retriever inside a real runnable chain (prompt -> fake chat model -> parser)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("langchain_core")  # an optional extra; the dev install has it

from langchain_core.documents import Document
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnablePassthrough

from extractor.search.langchain import TenderxRetriever
from tests.test_search import HashEmbedder, hashed  # noqa: F401 — the shared fixture


def _cite(docs: list[Document]) -> str:
    return "\n".join(f"[{Path(d.metadata['file']).name} p.{d.metadata['page']}] {d.page_content}" for d in docs)


def test_retriever_gives_documents_with_file_page_chunk_and_scores(hashed):  # noqa: F811
    store, emb = hashed
    retriever = TenderxRetriever(store=store, k=3, mode="lexical", embedder=emb)
    docs = retriever.invoke("交换机 采购")
    assert docs and all(isinstance(d, Document) for d in docs)
    meta = docs[0].metadata
    assert {"file", "page", "page_end", "chunk_id", "sha256", "score", "dense", "bm25", "coverage"} <= set(meta)
    assert "交换机" in docs[0].page_content and meta["bm25"] > 0 and meta["good"]
    assert docs[0].id == meta["chunk_id"] and meta["chunk_id"] in {c.id for c in store.all_chunks()}
    assert retriever.invoke("量子 退火 超导") == []  # nothing clears the floor
    assert TenderxRetriever(store=store, k=3, mode="lexical", include_weak=True).invoke("交换机 量子") != []


def test_retriever_in_a_runnable_chain_with_a_fake_chat_model(hashed):  # noqa: F811
    store, emb = hashed
    retriever = TenderxRetriever(store=store, k=2, embedder=emb)  # hybrid underneath
    prompt = ChatPromptTemplate.from_messages([
        ("system", "Answer from the tender excerpts only and cite [file p.N].\n{context}"),
        ("human", "{question}"),
    ])
    model = FakeListChatModel(responses=["预算见 [doc1.pdf p.5]"])
    seen: list[str] = []

    def record(value):
        seen.append(value.to_string())
        return value

    chain = ({"context": retriever | _cite, "question": RunnablePassthrough()}
             | RunnablePassthrough.assign(answer=prompt | record | model | StrOutputParser()))
    out = chain.invoke("预算 合同")
    assert out["answer"] == "预算见 [doc1.pdf p.5]"
    assert out["context"].startswith("[doc") and "预算" in out["context"]
    assert seen and out["context"] in seen[0] and "预算 合同" in seen[0]
    batch = chain.batch(["交换机 采购", "物业"])
    assert all(b["context"] for b in batch)
