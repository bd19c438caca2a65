"""OCR'd page text kept on disk, so ``ingest`` then ``extract`` then ``serve`` OCR a scan once.

An entry is one JSON file per page, named by the file's sha256, the page number and a hash of
the OCR settings that change the text (model, resolution, detector input, batch): a changed
setting or model misses and is OCR'd again. Entries are written atomically (a temporary file
renamed into place), so a crash never leaves half an entry; an entry that does not parse or
belongs to other settings is ignored and rewritten. A cache folder that cannot be written only
costs the saving: OCR still works.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path


def default_dir() -> Path:
    """``$TENDERX_CACHE_DIR/ocr``, else ``~/.cache/tenderx/ocr`` (where the embedders cache too)."""
    root = os.environ.get("TENDERX_CACHE_DIR", "").strip()
    return (Path(root).expanduser() if root else Path.home() / ".cache" / "tenderx") / "ocr"


@dataclass(frozen=True)
class CachedPage:
    """One page's OCR result as stored."""

    text: str
    confidence: float
    # the recognised runs (start, end, box as page fractions): a cached page keeps its boxes (tables, desk)
    runs: tuple[tuple[int, int, float, float, float, float], ...] = ()


class PageCache:
    """The cached pages of one file under one set of OCR settings."""

    def __init__(self, root: str | Path, file_sha256: str, fingerprint: str) -> None:
        self.folder = Path(root) / file_sha256[:2]
        self.sha = file_sha256
        self.fingerprint = fingerprint
        self.tag = hashlib.sha256(fingerprint.encode()).hexdigest()[:16]
        self.hits = 0

    def _path(self, page: int) -> Path:
        return self.folder / f"{self.sha}-{self.tag}-p{page}.json"

    def get(self, page: int) -> CachedPage | None:
        """The page's cached result, or None (absent, unreadable, corrupt or other settings)."""
        try:
            data = json.loads(self._path(page).read_text(encoding="utf-8"))
            if data.get("sha256") != self.sha or data.get("settings") != self.fingerprint:
                return None
            # an entry written before runs were kept is a miss: re-read, the page gets its boxes back
            runs = tuple((int(r[0]), int(r[1]), float(r[2]), float(r[3]), float(r[4]), float(r[5]))
                         for r in data["runs"])
            found = CachedPage(str(data["text"]), float(data["confidence"]), runs)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None
        self.hits += 1
        return found

    def put(self, page: int, text: str, confidence: float,
            runs: tuple[tuple[int, int, float, float, float, float], ...] = ()) -> None:
        """Store the page's result atomically; a folder that cannot be written is skipped."""
        body = json.dumps({"sha256": self.sha, "settings": self.fingerprint, "page": page,
                           "text": text, "confidence": confidence, "runs": [list(r) for r in runs]},
                          ensure_ascii=False)
        tmp = None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=".json")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(body)
            os.replace(tmp, self._path(page))
            tmp = None
        except OSError:
            pass
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)


__all__ = ["CachedPage", "PageCache", "default_dir"]
