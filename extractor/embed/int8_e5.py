"""e5-small with int8 matmuls on onnxruntime: faster than FastE5 on the same cores,
vectors at cosine > 0.999 to FastE5's (tests/test_int8_e5.py, benchmarks/results.md).

Ingest is embedding-bound and the four weight matmuls of each layer are two thirds
of the embedding time; fp32 BLAS already runs at the CPU's peak, so going faster
needs integer arithmetic (AVX2 u8 x s8: twice the fp32 rate). onnxruntime's own
dynamic quantiser (one scale per tensor) lost too much (cosine ~0.985), so the
graph is built here from the bundled 4-bit weights:

- weights: int8, one scale per output channel (the weights are 4-bit already);
- activations: one scale per token row, computed in the graph, so a text's vector
  never depends on what else shares its batch; 7 bits, because AVX2 adds u8 x s8
  products in pairs into 16 bits and 8-bit rows saturate there (measured: 2.7% of
  outputs wrong);
- SmoothQuant (Xiao et al. 2023) on the inputs of QKV and FFN-in: channel ranges
  evened out by a scale moved into the weights, and the few channels with by far the
  largest ranges kept in fp32 (LLM.int8(), Dettmers et al. 2022). The ranges come
  from ``extractor/data/e5_int8_calibration.npz``, measured on ``samples/`` text by
  ``scripts/calibrate_int8_e5.py``; without the file the engine still works, less
  precisely.

Tokenisation, windows, batching, pooling and normalisation are FastE5's; attention,
softmax, GELU and layer norms run in fp32 inside onnxruntime. The graph is built once
per model and calibration and cached beside FastE5's weight cache.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from extractor.embed.base import INT8_E5_NAME
from extractor.embed.fast_e5 import FastE5Embedder, _Engine

CALIBRATION = Path(__file__).resolve().parent.parent / "data" / "e5_int8_calibration.npz"
_OPSET = 17
_ACT_TOP = 63  # activations: 7 bits a row, see _GraphBuilder.linear
_ALPHA = 0.85  # SmoothQuant migration strength (0 = none, 1 = all onto the weights)
_OUTLIERS = 4  # input channels of QKV and FFN-in with the largest ranges, kept in fp32


def smoothing(act_max: np.ndarray, weight: np.ndarray, alpha: float = _ALPHA) -> np.ndarray:
    """Per-input-channel scale s: activations are divided by s, weight columns multiplied."""
    w_max = np.abs(weight).max(axis=0)
    s = np.power(np.maximum(act_max, 1e-5), alpha) / np.power(np.maximum(w_max, 1e-5), 1 - alpha)
    return np.clip(s, 1e-2, 1e2).astype(np.float32)


def quantise_weight(weight: np.ndarray, bits: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """(N, K) fp32 -> (K, N) int8 and (N,) scales, symmetric per output channel."""
    top = float(2 ** (bits - 1) - 1)
    scale = np.maximum(np.abs(weight).max(axis=1), 1e-12) / top
    q = np.clip(np.rint(weight / scale[:, None]), -top, top).astype(np.int8)
    return np.ascontiguousarray(q.T), scale.astype(np.float32)


class _GraphBuilder:
    """Collects ONNX nodes and initializers (the ``onnx`` helper API, nothing downloaded)."""

    def __init__(self) -> None:
        from onnx import helper, numpy_helper

        self.helper, self.numpy_helper = helper, numpy_helper
        self.nodes: list[Any] = []
        self.inits: list[Any] = []

    def const(self, name: str, value: np.ndarray) -> str:
        self.inits.append(self.numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(self, kind: str, inputs: list[str], name: str, domain: str | None = None, **attrs: Any) -> str:
        self.nodes.append(self.helper.make_node(kind, inputs, [name], name=name, domain=domain, **attrs))
        return name

    def add_constants(self) -> None:
        """The named constants ``linear`` refers to (added once per graph)."""
        for name, value in (("c.tiny", np.array(1e-8, np.float32)), ("c.act_top", np.array(float(_ACT_TOP), np.float32)),
                            ("c.act_zp", np.array(float(_ACT_TOP + 1), np.float32)),
                            ("c.act_zp_u8", np.array(_ACT_TOP + 1, np.uint8)), ("c.zero", np.array(0.0, np.float32)),
                            ("c.one", np.array(1.0, np.float32)), ("shape.flat", np.array([-1], np.int64))):
            self.const(name, value)

    def skip_norm(self, y: str, residual: str, bias: np.ndarray, gamma: np.ndarray, beta: np.ndarray,
                  name: str, eps: float) -> str:
        """LayerNorm(y + bias + residual). Plain ops on 2-D rows: onnxruntime 1.32's fused
        SkipLayerNormalization measured 2.8x slower on CPU (4.8 vs 1.7 ms for 2048 x 384)."""
        total = self.op("Sum", [y, residual, self.const(f"{name}.bias", bias.astype(np.float32))], f"{name}.res")
        return self.op("LayerNormalization", [total, self.const(f"{name}.w", gamma), self.const(f"{name}.b", beta)],
                       name, axis=-1, epsilon=eps)

    def linear(self, x: str, weight: np.ndarray, bias: np.ndarray | None, name: str,
               inv_smooth: np.ndarray | None = None,
               outliers: tuple[np.ndarray, np.ndarray] | None = None) -> str:
        """y = x @ weight.T + bias for 2-D ``x`` (rows = tokens), on u8 x s8 -> int32.

        Activations get 7 bits a row (|q| <= 63, stored as q + 64): AVX2 adds u8 x s8 products
        in pairs into 16 bits, and 2 x 127 x 127 still fits where 2 x 255 x 127 would saturate."""
        from onnx import TensorProto

        raw = x
        if outliers is not None:  # (channel indices, their unsmoothed weight columns)
            index, wo = outliers
            inv_smooth = np.ones(weight.shape[1], np.float32) if inv_smooth is None else inv_smooth.copy()
            inv_smooth[index] = 0.0
            weight = weight.copy()
            weight[:, index] = 0.0
        if inv_smooth is not None:
            x = self.op("Mul", [x, self.const(f"{name}.inv_s", inv_smooth)], f"{name}.xs")
        amax = self.op("ReduceMax", [self.op("Abs", [x], f"{name}.abs")], f"{name}.amax", axes=[1], keepdims=1)
        row_scale = self.op("Div", [self.op("Max", [amax, "c.tiny"], f"{name}.amax1"), "c.act_top"], f"{name}.rs")
        flat_scale = self.op("Reshape", [row_scale, "shape.flat"], f"{name}.rsf")
        zero = self.op("Cast", [self.op("Add", [self.op("Mul", [flat_scale, "c.zero"], f"{name}.z0"), "c.act_zp"],
                                        f"{name}.z1")], f"{name}.zp", to=TensorProto.UINT8)
        q = self.op("QuantizeLinear", [x, flat_scale, zero], f"{name}.xq", axis=0)
        wq, wscale = quantise_weight(weight)
        # the bias is added apart: onnxruntime 1.32 scales MatMulIntegerToFloat's own bias input by a
        # per-row a_scale (wrong results; tests/test_int8_e5.py would catch it coming back)
        y = f"{name}.mm"
        self.nodes.append(self.helper.make_node(
            "MatMulIntegerToFloat", [q, self.const(f"{name}.wq", wq), row_scale, self.const(f"{name}.ws", wscale),
                                     "c.act_zp_u8"], [y], name=y, domain="com.microsoft"))
        if outliers is not None:
            # the fp32 channels (plus a column of ones carrying the bias) as one Gemm whose C is the
            # int8 result: the merge costs no extra pass over the (tokens x N) output
            xo = self.op("Gather", [raw, self.const(f"{name}.oi", index.astype(np.int64))], f"{name}.xo", axis=1)
            if bias is not None:
                ones = self.op("Add", [self.op("Mul", [amax, "c.zero"], f"{name}.z"), "c.one"], f"{name}.ones")
                xo = self.op("Concat", [xo, ones], f"{name}.xo1", axis=1)
                wo = np.concatenate([wo, bias.astype(np.float32)[:, None]], axis=1)
            return self.op("Gemm", [xo, self.const(f"{name}.wo", np.ascontiguousarray(wo.T)), y], name)
        if bias is None:
            return y
        return self.op("Add", [y, self.const(f"{name}.b", bias.astype(np.float32))], name)


def build_graph(engine: _Engine, calibration: dict[str, np.ndarray] | None) -> Any:
    """The 12 layers + masked mean pooling with int8 matmuls, as an ONNX ModelProto.

    Inputs: ``x`` (B, L, H) after the embedding layer norm, ``mask`` (B, 1, 1, L) additive
    (0 for tokens, -1e4 for padding), ``pool`` (B, L, 1) = valid / length. Output ``pooled``
    (B, H), un-normalised, like FastE5's ``forward``."""
    from onnx import TensorProto, helper

    h, nh = engine.hidden, engine.heads
    hd = h // nh
    g = _GraphBuilder()
    g.add_constants()
    rows_shape = g.const("shape.rows", np.array([-1, h], dtype=np.int64))
    batch_len = g.op("Slice", [g.op("Shape", ["x"], "x.shape"), g.const("c.i0", np.array([0], np.int64)),
                               g.const("c.i2", np.array([2], np.int64))], "x.bl")
    heads_shape = g.op("Concat", [batch_len, g.const("c.heads", np.array([nh, hd], np.int64))], "shape.heads", axis=0)
    seq_shape = g.op("Concat", [batch_len, g.const("c.hidden", np.array([h], np.int64))], "shape.seq", axis=0)
    x = g.op("Reshape", ["x", rows_shape], "x.rows")
    for n, ly in enumerate(engine.layers):
        p = f"l{n}"

        def smooth(site: str, weight: np.ndarray, p: str = p
                   ) -> tuple[np.ndarray, np.ndarray | None, tuple[np.ndarray, np.ndarray] | None]:
            if calibration is None:
                return weight, None, None
            act = calibration[f"{p}.{site}"]
            out = np.sort(np.argsort(-act)[:_OUTLIERS])
            act = act.copy()
            act[out] = np.median(act)
            s = smoothing(act, weight)
            return weight * s[None, :], (1.0 / s).astype(np.float32), (out, weight[:, out])

        qkv_w, qkv_inv, qkv_out = smooth("qkv", ly.qkv_w)
        qkv = g.linear(x, qkv_w, ly.qkv_b, f"{p}.qkv", qkv_inv, qkv_out)
        q, k, v = (g.op("Slice", [qkv, g.const(f"{p}.{c}.st", np.array([i * h], np.int64)),
                                  g.const(f"{p}.{c}.en", np.array([(i + 1) * h], np.int64)),
                                  "c.i1"], f"{p}.{c}") for i, c in enumerate("qkv"))
        qh = g.op("Transpose", [g.op("Reshape", [q, heads_shape], f"{p}.qr")], f"{p}.qt", perm=[0, 2, 1, 3])
        kh = g.op("Transpose", [g.op("Reshape", [k, heads_shape], f"{p}.kr")], f"{p}.kt", perm=[0, 2, 3, 1])
        vh = g.op("Transpose", [g.op("Reshape", [v, heads_shape], f"{p}.vr")], f"{p}.vt", perm=[0, 2, 1, 3])
        scores = g.op("Add", [g.op("MatMul", [qh, kh], f"{p}.s"), "mask"], f"{p}.sm")
        probs = g.op("Softmax", [scores], f"{p}.p", axis=-1)
        ctx = g.op("Transpose", [g.op("MatMul", [probs, vh], f"{p}.c")], f"{p}.ct", perm=[0, 2, 1, 3])
        ctx = g.op("Reshape", [ctx, rows_shape], f"{p}.cr")
        x = g.skip_norm(g.linear(ctx, ly.out_w, None, f"{p}.o"), x, ly.out_b, ly.attn_ln_w, ly.attn_ln_b,
                        f"{p}.ln1", float(engine.eps))
        fi_w, fi_inv, fi_out = smooth("ffn_in", ly.ffn_in_w)
        mid = g.linear(x, fi_w, ly.ffn_in_b, f"{p}.fi", fi_inv, fi_out)
        gelu = g.op("Gelu", [mid], f"{p}.g", domain="com.microsoft")  # exact (erf) GELU, one pass
        x = g.skip_norm(g.linear(gelu, ly.ffn_out_w, None, f"{p}.fo"), x, ly.ffn_out_b, ly.out_ln_w, ly.out_ln_b,
                        f"{p}.ln2", float(engine.eps))
    g.const("c.i1", np.array([1], np.int64))
    x = g.op("Reshape", [x, seq_shape], "x.seq")
    pooled = g.op("ReduceSum", [g.op("Mul", [x, "pool"], "weighted"), g.const("axes.seq", np.array([1], np.int64))],
                  "pooled", keepdims=0)
    graph = helper.make_graph(
        g.nodes, "e5-small-int8",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["B", "L", h]),
         helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["B", 1, 1, "L"]),
         helper.make_tensor_value_info("pool", TensorProto.FLOAT, ["B", "L", 1])],
        [helper.make_tensor_value_info(pooled, TensorProto.FLOAT, ["B", h])], initializer=g.inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", _OPSET),
                                                    helper.make_opsetid("com.microsoft", 1)], ir_version=8)


def load_calibration(path: Path = CALIBRATION) -> dict[str, np.ndarray] | None:
    """Per-layer activation ranges for SmoothQuant, or None when the file is absent."""
    if not path.exists():
        return None
    with np.load(path, allow_pickle=False) as data:
        return {k: np.asarray(data[k], dtype=np.float32) for k in data.files}


def _graph_path(engine: _Engine, cache_dir: Path, calibration_path: Path) -> Path:
    digest = hashlib.sha256(engine.cache_path.name.encode())
    digest.update(Path(__file__).read_bytes())  # any change to how the graph is built makes a new file
    if calibration_path.exists():
        digest.update(calibration_path.read_bytes())
    return cache_dir / f"e5-int8-{digest.hexdigest()[:16]}.onnx"


def graph_model(engine: _Engine, cache_dir: Path, calibration_path: Path = CALIBRATION) -> str | bytes:
    """The graph: its cached file's path, or the serialised model when the cache cannot be written
    (read-only home). Built once (a few seconds); written to a temp file renamed into place."""
    path = _graph_path(engine, cache_dir, calibration_path)
    if path.exists() and path.stat().st_size > 0:
        return str(path)
    data = build_graph(engine, load_calibration(calibration_path)).SerializeToString()
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=cache_dir)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.chmod(tmp, 0o644)  # mkstemp makes it 0600; the cache is not secret
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        for stale in cache_dir.glob("e5-int8-*.onnx"):  # graphs of older tenderx versions: 22 MB each
            if stale != path:
                stale.unlink(missing_ok=True)
    except OSError:
        return data
    return str(path)


class Int8E5Embedder(FastE5Embedder):
    """FastE5 with the transformer layers in onnxruntime on int8 matmuls.

    One session with one intra-op thread, run from one Python thread per core (each run
    releases the GIL), like FastE5's one BLAS thread per worker."""

    name = INT8_E5_NAME

    def __init__(self, model_path: Path | None = None, cache_dir: Path | None = None,
                 threads: int | None = None, batch_tokens: int = 512,
                 calibration_path: Path = CALIBRATION) -> None:
        super().__init__(model_path=model_path, cache_dir=cache_dir, threads=threads, batch_tokens=batch_tokens)
        self.calibration_path = calibration_path
        self._session: Any | None = None
        self._lock = threading.Lock()

    @property
    def session(self) -> Any:
        with self._lock:
            if self._session is None:
                import onnxruntime as ort

                opts = ort.SessionOptions()
                opts.intra_op_num_threads = 1
                opts.inter_op_num_threads = 1
                opts.log_severity_level = 3
                model = graph_model(self.engine, self.cache_dir, self.calibration_path)
                self._session = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
            return self._session

    def _forward(self, ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        out = self.session.run(["pooled"], graph_inputs(self.engine, ids, lengths))[0]
        return np.asarray(out, dtype=np.float32)

    def _run_batches(self, fn: Callable[[list[int]], None], batches: list[list[int]]) -> None:
        self.session  # noqa: B018 — build/load once, before the worker threads race for it
        super()._run_batches(fn, batches)


def graph_inputs(engine: _Engine, ids: np.ndarray, lengths: np.ndarray) -> dict[str, np.ndarray]:
    """``x``, ``mask`` and ``pool`` for a padded batch, as these layer graphs take them."""
    bsz, seq = ids.shape
    x = engine.embed_tokens(ids).reshape(bsz, seq, engine.hidden)
    valid = (np.arange(seq)[None, :] < lengths[:, None]).astype(np.float32)
    mask = ((1.0 - valid) * np.float32(-1e4))[:, None, None, :]
    pool = (valid / lengths[:, None].astype(np.float32))[:, :, None]
    return {"x": np.ascontiguousarray(x, dtype=np.float32), "mask": np.ascontiguousarray(mask, dtype=np.float32),
            "pool": np.ascontiguousarray(pool, dtype=np.float32)}
