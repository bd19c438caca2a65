"""The int8 e5 engine (extractor/embed/int8_e5.py): the vectors FastE5 gives, within the
issue-16 bar (cosine >= 0.999), from a graph built offline out of the bundled weights."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from extractor.embed.fast_e5 import FastE5Embedder
from extractor.embed.int8_e5 import CALIBRATION, Int8E5Embedder, _GraphBuilder

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ROOT.parent / "shared" / "corpus" / "tender-packages"

# Written for this test (not in samples/, so not calibration text): prose, a table row,
# an English line, numbers and a long text that needs two windows.
TEXTS = [
    "采购人：某市第一人民医院；采购代理机构：某招标有限公司。项目编号：ZB-2026-0318。",
    "序号 | 货物名称 | 数量 | 单价（元）\n1 | GPU 计算服务器（8×NVIDIA H100） | 2 台 | 2,350,000.00",
    "The bidder shall provide Azure OpenAI service credits and on-site support for 36 months.",
    "投标保证金：人民币伍万元整（¥50,000.00），应于投标截止时间前从投标人基本账户转出。",
    "评分办法：综合评分法。价格分30分，技术分60分，商务分10分。" * 30,
    "中标供应商：北京某某科技有限公司，中标金额：1,286,000.00元。",
]


@pytest.fixture(scope="module")
def engines(e5_cache_dir):
    return FastE5Embedder(cache_dir=e5_cache_dir), Int8E5Embedder(cache_dir=e5_cache_dir)


def test_vectors_agree_with_fast_e5(engines):
    fast, int8 = engines
    ref, got = fast.embed_passages(TEXTS), int8.embed_passages(TEXTS)
    assert got.shape == ref.shape == (len(TEXTS), 384)
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    cos = (ref * got).sum(axis=1)
    assert float(cos.min()) >= 0.999, cos
    # and still tell different texts apart as FastE5 does
    assert float(got[0] @ got[2]) < 0.95
    q_ref, q_got = fast.embed_query("英伟达 H100 服务器"), int8.embed_query("英伟达 H100 服务器")
    assert float(q_ref @ q_got) >= 0.999


def test_a_text_gets_the_same_vector_whatever_shares_its_batch(engines):
    _, int8 = engines
    alone = int8.embed_passages([TEXTS[1]])[0]
    in_batch = int8.embed_passages([TEXTS[0], TEXTS[1], TEXTS[3]])[1]
    assert np.allclose(alone, in_batch, atol=1e-6)


def _one_linear(weight: np.ndarray, bias: np.ndarray, rows: int) -> tuple[object, np.ndarray]:
    import onnxruntime as ort
    from onnx import TensorProto, helper

    g = _GraphBuilder()
    g.add_constants()
    out = g.linear("x", weight, bias, "lin")
    k = weight.shape[1]
    graph = helper.make_graph(g.nodes, "one", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["M", k])],
                              [helper.make_tensor_value_info(out, TensorProto.FLOAT, ["M", weight.shape[0]])],
                              initializer=g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)],
                              ir_version=8)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(7)
    x = rng.standard_normal((rows, k)).astype(np.float32)
    return session, x


def test_int8_linear_is_the_linear_it_replaces():
    """Catches the two onnxruntime traps the graph avoids: MatMulIntegerToFloat's bias input
    (scaled by a per-row a_scale in 1.32) and u8 x s8 pair sums saturating at 8-bit activations."""
    rng = np.random.default_rng(3)
    weight = (rng.standard_normal((96, 384)) * 0.05).astype(np.float32)
    weight[:, ::7] *= 6  # large weights beside each other: where saturation would show
    bias = rng.standard_normal(96).astype(np.float32)
    session, x = _one_linear(weight, bias, rows=40)
    got = session.run(None, {"x": x})[0]  # type: ignore[attr-defined]
    ref = x @ weight.T + bias
    rel = np.abs(got - ref).max() / np.abs(ref).max()
    assert rel < 0.03, rel


def test_graph_is_cached_and_reused(tmp_path):
    stale = tmp_path / "e5-int8-0123456789abcdef.onnx"  # left by an older version
    stale.write_bytes(b"old graph")
    first = Int8E5Embedder(cache_dir=tmp_path)
    first.embed_passages(["预算金额：90万元"])
    files = list(tmp_path.glob("e5-int8-*.onnx"))
    assert len(files) == 1 and files[0].stat().st_size > 1_000_000 and not stale.exists()
    stamp = files[0].stat().st_mtime_ns
    again = Int8E5Embedder(cache_dir=tmp_path)
    again._engine = first._engine  # same weights; only the session is new
    assert np.allclose(again.embed_passages(["预算金额：90万元"]), first.embed_passages(["预算金额：90万元"]))
    assert files[0].stat().st_mtime_ns == stamp


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere: a read-only folder cannot be made")
def test_read_only_cache_builds_in_memory(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        vec = Int8E5Embedder(cache_dir=ro).embed_passages(["采购人：测试"])
        assert vec.shape == (1, 384) and not list(ro.iterdir())
    finally:
        ro.chmod(0o700)


def test_calibration_file_says_where_it_came_from():
    meta = json.loads(CALIBRATION.with_suffix(".json").read_text(encoding="utf-8"))
    assert {"source", "made", "model_sha256", "texts"} <= set(meta)
    assert meta["texts"] > 100
    with np.load(CALIBRATION) as data:
        assert len(data.files) == 24 and all(data[k].shape == (384,) for k in data.files)


def test_auto_engine_is_int8_and_mixes_with_fast_e5_stores(tmp_path, monkeypatch):
    from extractor.embed.base import FAST_E5_NAME, INT8_E5_NAME
    from extractor.embed.registry import get_embedder
    from extractor.store.store import EmbedderMismatch, Store

    monkeypatch.setenv("TENDERX_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("TENDERX_EMBED_BASE_URL", raising=False)
    monkeypatch.delenv("TENDERX_EMBED_ENGINE", raising=False)
    assert get_embedder().name == INT8_E5_NAME
    monkeypatch.setenv("TENDERX_EMBED_ENGINE", "fast")
    assert get_embedder().name == FAST_E5_NAME
    store = Store(tmp_path / "store")
    store.use_embedder(FAST_E5_NAME, 384)
    store.check_embedder(INT8_E5_NAME)  # same vector family: no EmbedderMismatch
    with pytest.raises(EmbedderMismatch):
        store.check_embedder("openai/text-embedding-3-small")


@pytest.mark.slow
@pytest.mark.skipif(not PACKAGES.is_dir(), reason="../shared/corpus not present")
def test_real_package_chunks_stay_above_the_bar(engines):
    """On text the calibration never saw (a real package), the lowest cosine still clears 0.999."""
    from extractor.pipeline.chunking import chunk_document
    from extractor.read.pdf import read_pdf

    fast, int8 = engines
    texts = [c.text for c in chunk_document(read_pdf(PACKAGES / "public-05-shanghai-open-bid-20312273.pdf"))]
    cos = (fast.embed_passages(texts) * int8.embed_passages(texts)).sum(axis=1)
    assert float(cos.min()) >= 0.999, float(cos.min())
