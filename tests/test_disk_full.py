"""Ingest into a store on a full disk (issue 24, item 7): Chroma's SQLite writer blocks for good when
the disk fills under it, so `tenderx ingest` refuses the write up front and exits 3 with the disk-full
message instead of hanging. A real 2 MB tmpfs (skipped where this process may not mount one)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import SAMPLES, run_cli


@pytest.fixture()
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_ingest_on_a_full_disk_says_so_and_does_not_hang(small_disk: Path, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in ("award-univ-aws-a100-cloud.pdf", "award-property-management.pdf"):
        shutil.copy(SAMPLES / name, docs / name)
    res = run_cli("ingest", str(docs), "--store", str(small_disk / "store"), timeout=240)  # hung for good before
    said = " ".join((res.stdout + res.stderr).split())
    assert res.returncode == 3, said
    assert "the disk holding it is full" in said and "free space, then run the same command again" in said
    assert "Traceback" not in said
