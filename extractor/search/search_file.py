"""The search file's bytes: numpy arrays in an uncompressed zip (``.npz``), each array's data
aligned to 64 bytes so a reader maps it instead of reading it, plus the stamp that lets a
search skip the full checksum.

Why: a new process's first search used to read, checksum and JSON-decode the whole file
(388 MB at 100,000 chunks) before answering. Mapped, it touches only the pages a query needs.

Integrity, two levels:

- every open checks the zip layout, each array's dtype and shape against the manifest, and
  that the file's size, modification time, inode and manifest digest equal the stamp written
  beside it (``search-index.npz.checked``) when the file was written or last fully checked;
- without a matching stamp (the file changed, was copied, or never checked) every array's
  SHA-256 is checked against the manifest before use, and the stamp renewed.

So a damaged or replaced file is caught at open; damage that keeps the size and the
modification time (bit rot on disk) is caught by ``tenderx store check``, which always
checks every digest. Nothing read back runs code: no pickles, object dtypes are refused.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import mmap
import os
import struct
import sys
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

ALIGN = 64  # the .npy header pads itself to 64 bytes, so a 64-aligned member start aligns its data
_PADDING_ID = 0xD935  # the zip extra-field id zipalign uses for padding (ignored by readers)
_LOCAL_HEADER = 30
_ZIP64_EXTRA = 20  # numpy forces zip64 members; zipfile then adds this to each local header
STAMP_SUFFIX = ".checked"
MANIFEST = "manifest"


class SearchFileError(ValueError):
    """The file is missing a part, laid out wrongly, or a checksum does not match."""


def digest(array: np.ndarray) -> str:
    """SHA-256 of an array's dtype, shape and bytes (the manifest's per-member digest)."""
    h = hashlib.sha256(f"{array.dtype.str}{array.shape}".encode())
    h.update(np.ascontiguousarray(array).data.cast("B"))
    return h.hexdigest()


def json_array(value: Any) -> np.ndarray:
    """A JSON value as a uint8 member."""
    return np.frombuffer(json.dumps(value, ensure_ascii=False).encode("utf-8"), dtype=np.uint8)


def json_value(array: np.ndarray) -> Any:
    """A uint8 member's JSON value."""
    if array.dtype != np.uint8 or array.ndim != 1:
        raise SearchFileError("not a JSON member")
    return json.loads(array.tobytes().decode("utf-8"))


def write(path: Path, members: Mapping[str, np.ndarray], manifest: dict[str, Any]) -> None:
    """Write the members and the manifest (given each member's digest, dtype and shape here)
    atomically, every member's data 64-byte aligned, then stamp the new file as checked."""
    manifest = {**manifest, "sha256": {k: digest(v) for k, v in members.items()},
                "layout": {k: [v.dtype.str, list(v.shape)] for k, v in members.items()}}
    arrays = {**members, MANIFEST: json_array(manifest)}
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
            for name, array in arrays.items():
                info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                info.extra = _padding(fh.tell(), len(info.filename.encode()))
                with zf.open(info, "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, np.ascontiguousarray(array), allow_pickle=False)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    with contextlib.suppress(OSError):
        _write_stamp(path, arrays[MANIFEST])


def _padding(offset: int, name_len: int) -> bytes:
    """An extra field that ends the member's local header on a 64-byte boundary."""
    pad = -(offset + _LOCAL_HEADER + name_len + _ZIP64_EXTRA) % ALIGN
    if pad and pad < 4:
        pad += ALIGN
    return struct.pack("<HH", _PADDING_ID, pad - 4) + bytes(pad - 4) if pad else b""


class MappedFile:
    """The members of a search file, mapped read-only (read whole on Windows, where a mapped
    file cannot be replaced by the next ingest). ``checked`` says whether the digests were
    verified at this open (False: the stamp vouched for an unchanged file)."""

    def __init__(self, path: Path, full: bool = False) -> None:
        with path.open("rb") as fh:
            stat = os.fstat(fh.fileno())
            buffer: Any = fh.read() if sys.platform == "win32" else \
                mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        self.path, self.identity = path, (stat.st_size, stat.st_mtime_ns, stat.st_ino)
        self.members = _members(buffer)
        if MANIFEST not in self.members:
            raise SearchFileError("no manifest")
        self.manifest = json_value(self.members[MANIFEST])
        if not isinstance(self.manifest, dict):
            raise SearchFileError("manifest is not an object")
        self.checked = full or not self._stamp_matches()

    def verify_layout(self) -> None:
        """Each member the manifest names exists with its dtype and shape (cheap; every open)."""
        layout = self.manifest.get("layout")
        digests = self.manifest.get("sha256")
        if not isinstance(layout, dict) or not isinstance(digests, dict) or set(layout) != set(digests):
            raise SearchFileError("manifest without a layout")
        for name, (dtype, shape) in layout.items():
            array = self.members.get(name)
            if array is None or array.dtype.str != dtype or list(array.shape) != shape:
                raise SearchFileError(f"member {name} is not as the manifest says")

    def verify_digests(self) -> None:
        """Every member's SHA-256 against the manifest (reads the whole file)."""
        for name, want in self.manifest["sha256"].items():
            if digest(self.members[name]) != want:
                raise SearchFileError(f"checksum mismatch in {name}")

    def open_checked(self) -> None:
        """The checks an open owes: layout always, digests unless the stamp vouches; a full
        check that passes renews the stamp (when the folder is writable)."""
        self.verify_layout()
        if self.checked:
            self.verify_digests()
            with contextlib.suppress(OSError):
                _write_stamp(self.path, self.members[MANIFEST], self.identity)

    def _stamp_matches(self) -> bool:
        try:
            stamp = json.loads(_stamp_path(self.path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        return isinstance(stamp, dict) and stamp == _stamp(self.members[MANIFEST], self.identity)


def _stamp_path(path: Path) -> Path:
    return path.with_name(path.name + STAMP_SUFFIX)


def _stamp(manifest: np.ndarray, identity: tuple[int, int, int]) -> dict[str, Any]:
    size, mtime_ns, inode = identity
    return {"size": size, "mtime_ns": mtime_ns, "inode": inode,
            "manifest_sha256": hashlib.sha256(manifest.tobytes()).hexdigest()}


def _write_stamp(path: Path, manifest: np.ndarray, identity: tuple[int, int, int] | None = None) -> None:
    if identity is None:
        st = path.stat()
        identity = (st.st_size, st.st_mtime_ns, st.st_ino)
    target = _stamp_path(path)
    fd, tmp = tempfile.mkstemp(prefix=target.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(_stamp(manifest, identity), fh)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remove(path: Path) -> None:
    """Delete a damaged search file and its stamp (the next ingest or search rebuilds it)."""
    for target in (path, _stamp_path(path)):
        target.unlink(missing_ok=True)


def _members(buffer: Any) -> dict[str, np.ndarray]:
    """name -> read-only array viewing ``buffer`` (no copy), for every stored .npy member."""
    view = memoryview(buffer)
    out: dict[str, np.ndarray] = {}
    with zipfile.ZipFile(_BufferFile(view)) as zf:
        infos = zf.infolist()
    for info in infos:
        if info.compress_type != zipfile.ZIP_STORED or not info.filename.endswith(".npy"):
            raise SearchFileError(f"member {info.filename} is compressed or not an array")
        local = bytes(view[info.header_offset:info.header_offset + _LOCAL_HEADER])
        if len(local) != _LOCAL_HEADER or local[:4] != b"PK\x03\x04":
            raise SearchFileError(f"bad local header for {info.filename}")
        name_len, extra_len = struct.unpack("<HH", local[26:30])
        start = info.header_offset + _LOCAL_HEADER + name_len + extra_len
        out[info.filename[:-4]] = _array_at(view, start, info.file_size)
    return out


def _array_at(view: memoryview, start: int, size: int) -> np.ndarray:
    stream = _BufferFile(view[start:start + size])
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
    elif version == (2, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
    else:
        raise SearchFileError(f"npy version {version}")
    if dtype.hasobject or fortran:
        raise SearchFileError("object or Fortran-ordered array")
    count = int(np.prod(shape, dtype=np.int64))
    offset = start + stream.tell()
    if stream.tell() + count * dtype.itemsize > size:
        raise SearchFileError("array runs past its member")
    return np.frombuffer(view, dtype=dtype, count=count, offset=offset).reshape(shape)


class _BufferFile:
    """A read-only, seekable file over a memoryview (what zipfile and numpy's header reader need)."""

    def __init__(self, view: memoryview) -> None:
        self.view, self.pos = view, 0

    def read(self, n: int = -1) -> bytes:
        end = len(self.view) if n is None or n < 0 else min(len(self.view), self.pos + n)
        out = bytes(self.view[self.pos:end])
        self.pos = end
        return out

    def seek(self, offset: int, whence: int = 0) -> int:
        self.pos = offset if whence == 0 else self.pos + offset if whence == 1 else len(self.view) + offset
        return self.pos

    def tell(self) -> int:
        return self.pos

    def seekable(self) -> bool:
        return True
