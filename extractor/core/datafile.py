"""tenderx's YAML data files (watchlist, glossary, search floor …), read through a JSON copy.

The data files stay YAML, with their comments, sources and dates. But every cold ``tenderx
search`` reads three of them, and importing PyYAML and constructing its objects cost about as much
as the rest of query analysis (~25 ms CPU on the 2-core machine). So the first read of a file's
content writes a JSON copy into the tenderx cache folder, named by a hash of the YAML bytes (an
edited file gets a new copy), and later reads parse that with the json module the CLI has loaded
anyway. Both paths return the same values: dates become ISO strings either way.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
from pathlib import Path
from typing import Any


def cache_dir() -> Path:
    """``$TENDERX_CACHE_DIR`` or ``~/.cache/tenderx`` (where the lexicon and the embedders cache too)."""
    return Path(os.environ.get("TENDERX_CACHE_DIR") or Path.home() / ".cache" / "tenderx")


def load_yaml(path: str | Path) -> Any:
    """A YAML data file's content as JSON values (dicts, lists, strings, numbers; dates as
    ISO strings), from the cached JSON copy when there is one."""
    raw = Path(path).read_bytes()
    copy = cache_dir() / "data" / f"{Path(path).stem}-{hashlib.sha256(raw).hexdigest()[:16]}.json"
    try:
        return json.loads(copy.read_bytes())
    except (OSError, ValueError):
        pass
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present
    text = json.dumps(yaml.load(raw.decode("utf-8"), Loader=loader), ensure_ascii=False, default=_iso)
    try:
        copy.parent.mkdir(parents=True, exist_ok=True)
        tmp = copy.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, copy)
    except OSError:  # a read-only home: parse the YAML every time
        pass
    return json.loads(text)


def _iso(value: Any) -> str:
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a data-file value")
