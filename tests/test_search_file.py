"""The search file on disk (`search/search_file.py`, `search/columns.py`): mapped rather than read,
strings decoded only when asked for, and the two levels of checking — digests at open only when
the stamp does not vouch for the file, every digest in `search_file_problem` (`tenderx store check`)."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from extractor.core.document import Chunk
from extractor.search.columns import JsonColumn, TextColumn
from extractor.search.lexical import BM25Index, search_file_problem

TEXTS = ["智算服务器采购 英伟达 A100 GPU 8块", "物业管理服务 保洁 绿化", "课桌椅采购 学生课桌椅 500套",
         "预算金额：9373.99万元 变压器 100KVA", "昇腾 910B 智算 服务器 租赁"]


def _saved(tmp_path: Path) -> tuple[BM25Index, Path]:
    chunks = [Chunk(id=f"c{i}", doc_sha256=f"{i:064x}", file=f"/x/{i}.pdf", text=t, page_start=i + 1,
                    page_end=i + 1, char_start=0, char_end=len(t), index=0) for i, t in enumerate(TEXTS)]
    index = BM25Index.build(chunks, version=7)
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((len(chunks), 16)).astype(np.float32)
    index.vectors, index.embedder = vectors / np.linalg.norm(vectors, axis=1, keepdims=True), "test"
    path = tmp_path / "search-index.npz"
    index.save(path)
    return index, path


def _member_data_offset(path: Path, member: str) -> int:
    data = path.read_bytes()
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(member)
    h = info.header_offset
    return h + 30 + int.from_bytes(data[h + 26:h + 28], "little") + int.from_bytes(data[h + 28:h + 30], "little")


def _flip_in_place_keeping_mtime(path: Path, offset: int) -> None:
    """Damage that keeps the size, the inode and the modification time (bit rot on disk)."""
    st = path.stat()
    with path.open("r+b") as fh:
        fh.seek(offset)
        byte = fh.read(1)[0]
        fh.seek(offset)
        fh.write(bytes([byte ^ 0x10]))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_the_search_file_is_mapped_and_its_strings_decoded_per_hit(tmp_path):
    built, path = _saved(tmp_path)
    loaded = BM25Index.load(path, version=7)
    assert loaded is not None
    # the vectors and postings view the mapped file (no copy), aligned for the matrix product
    assert loaded.vectors is not None and not loaded.vectors.flags.owndata
    for array in (loaded.vectors, loaded.doc_len, loaded.postings.docs):  # type: ignore[attr-defined]
        assert array.ctypes.data % 64 == 0  # each member's data starts on a 64-byte boundary of the file
    assert not loaded.postings.docs.flags.owndata  # type: ignore[attr-defined]
    assert isinstance(loaded.texts, TextColumn) and isinstance(loaded.metadatas, JsonColumn)
    # and answer exactly what the index built in memory answers
    assert list(loaded.ids) == list(built.ids) and list(loaded.texts) == list(built.texts)
    assert [loaded.metadatas[i] for i in range(len(TEXTS))] == list(built.metadatas)
    for query in ("服务器", "A100 GPU", "课桌椅", "不存在的词"):
        assert loaded.search(query, k=3) == built.search(query, k=3), query
    assert np.array_equal(loaded.vectors, built.vectors)
    assert loaded.allowed_positions({"file": "/x/2.pdf"}).tolist() == [2]  # type: ignore[union-attr]
    top = loaded.search("昇腾 910B", k=1)[0].position
    assert loaded.id_at(top) == "c4" and loaded.position_of("c4") == 4 and loaded.position_of("nope") is None
    assert BM25Index.load(path, version=8) is None  # stale: rebuilt by the caller


def test_a_stamped_file_skips_its_digests_and_a_full_check_finds_silent_damage(tmp_path):
    _, path = _saved(tmp_path)
    assert search_file_problem(path) is None
    _flip_in_place_keeping_mtime(path, _member_data_offset(path, "texts_data.npy") + 140)
    # the stamp (size, mtime, inode, manifest digest) still vouches: a search opens it without reading it all
    assert BM25Index.load(path) is not None
    # every digest: what `tenderx store check` runs
    assert BM25Index.load(path, full=True) is None
    problem = search_file_problem(path)
    assert problem is not None and "texts_data" in problem
    # once the file's modification time moves, the next open checks every digest and refuses it
    os.utime(path)
    assert BM25Index.load(path) is None


def test_an_unstamped_copy_is_checked_in_full_once_then_trusted(tmp_path):
    _, path = _saved(tmp_path)
    copy = tmp_path / "copy" / path.name
    copy.parent.mkdir()
    copy.write_bytes(path.read_bytes())  # a store copied to another machine: no stamp beside it
    stamp = copy.with_name(copy.name + ".checked")
    assert not stamp.exists()
    assert BM25Index.load(copy) is not None  # checked in full, then stamped
    assert stamp.exists()
    stamp.write_text("{}", encoding="utf-8")  # a stamp that does not match: checked in full again
    _flip_in_place_keeping_mtime(copy, _member_data_offset(copy, "vectors.npy") + 8)
    assert BM25Index.load(copy) is None
