"""The ONNX graph that benchmarks/embed/onnx_e5.py builds from the bundled weights computes
the same vectors as FastE5 (so its speed figures compare like with like)."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.mark.slow
def test_onnx_graph_reproduces_fast_e5(tmp_path):
    from benchmarks.embed.onnx_e5 import OnnxE5Embedder
    from extractor.embed.fast_e5 import FastE5Embedder

    texts = ["采购人：甲市大数据中心，采购英伟达 A100 GPU服务器 8台。", "项目名称：课桌椅采购", "预算金额：90万元"]
    ref = FastE5Embedder(cache_dir=tmp_path).embed_passages(texts)
    got = OnnxE5Embedder(cache_dir=tmp_path).embed_passages(texts)
    assert got.shape == ref.shape == (3, 384)
    assert float((got * ref).sum(axis=1).min()) > 0.9999
    assert list((tmp_path).glob("*-layers.onnx"))  # the graph was built and cached beside the weights
    assert not np.allclose(got[0], got[1])
