"""Measure the activation ranges the int8 e5 engine's SmoothQuant needs.

For every layer, the largest |value| of each channel entering the QKV and FFN-in
matmuls, over the chunk texts of samples/ (hand-made and real-layout notices, never
the real packages the engine is then checked on). Writes
extractor/data/e5_int8_calibration.npz and a .json beside it saying where the
ranges came from. Run again only when samples/ or the model changes:

    python scripts/calibrate_int8_e5.py
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def sample_texts() -> list[str]:
    """Chunk texts of every readable file in samples/ (scans read by OCR are skipped)."""
    from extractor.pipeline.chunking import chunk_document
    from extractor.read.formats import read_document

    texts: list[str] = []
    for path in sorted((ROOT / "samples").rglob("*")):
        if not path.is_file() or path.suffix.lower() not in {".pdf", ".html", ".htm", ".docx", ".txt"}:
            continue
        try:
            doc = read_document(path)
        except Exception:  # noqa: BLE001 — a deliberately broken sample is no calibration text
            continue
        texts.extend(c.text for c in chunk_document(doc))
    return texts


def activation_ranges(texts: list[str]) -> dict[str, np.ndarray]:
    """Per-channel max |x| at each layer's two smoothed matmul inputs (fp32 forward)."""
    from extractor.embed.fast_e5 import FastE5Embedder, _gelu_inplace

    embedder = FastE5Embedder(threads=1)
    eng = embedder.engine
    h, nh = eng.hidden, eng.heads
    hd = h // nh
    ranges = {f"l{n}.{site}": np.zeros(h, np.float32) for n in range(len(eng.layers)) for site in ("qkv", "ffn_in")}
    for text in texts:
        ids = np.array([eng.tokenizer.encode(text)[: eng.max_positions]])
        n_tok = ids.shape[1]
        x = eng.embed_tokens(ids)
        for n, ly in enumerate(eng.layers):
            ranges[f"l{n}.qkv"] = np.maximum(ranges[f"l{n}.qkv"], np.abs(x).max(axis=0))
            qkv = (x @ ly.qkv_w.T + ly.qkv_b).reshape(n_tok, 3, nh, hd)
            q, k, v = (qkv[:, i].transpose(1, 0, 2) for i in range(3))
            scores = q @ k.transpose(0, 2, 1)
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            ctx = (scores @ v) / scores.sum(axis=-1, keepdims=True)
            attn = ctx.transpose(1, 0, 2).reshape(n_tok, h) @ ly.out_w.T + ly.out_b + x
            x = eng.layer_norm(attn.astype(np.float32), ly.attn_ln_w, ly.attn_ln_b)
            ranges[f"l{n}.ffn_in"] = np.maximum(ranges[f"l{n}.ffn_in"], np.abs(x).max(axis=0))
            mid = (x @ ly.ffn_in_w.T + ly.ffn_in_b).astype(np.float32)
            _gelu_inplace(mid)
            x = eng.layer_norm((mid @ ly.ffn_out_w.T + ly.ffn_out_b + x).astype(np.float32),
                               ly.out_ln_w, ly.out_ln_b)
    return ranges


def main() -> None:
    from extractor.embed.fast_e5 import bundled_model_path
    from extractor.embed.int8_e5 import CALIBRATION

    texts = sample_texts()
    ranges = activation_ranges(texts)
    CALIBRATION.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(CALIBRATION, **ranges)
    model = bundled_model_path()
    meta = {
        "what": "per-channel max |activation| entering each layer's QKV and FFN-in matmuls of e5-small, "
                "for the int8 engine's SmoothQuant channel scales",
        "source": "chunk texts of samples/ (tenderx's own hand-made and real-layout notices), fp32 FastE5 forward",
        "texts": len(texts),
        "model": model.name,
        "model_sha256": hashlib.sha256(model.read_bytes()).hexdigest(),
        "made": dt.date.today().isoformat(),
        "by": "scripts/calibrate_int8_e5.py",
    }
    CALIBRATION.with_suffix(".json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    print(f"{CALIBRATION}: {len(texts)} texts")


if __name__ == "__main__":
    main()
