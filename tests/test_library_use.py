"""tenderx used as a library from a user's own script, the way the README shows it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, SAMPLES

SCRIPT = f"""
from extractor.pipeline.extract import extract_documents
report = extract_documents([{str(SAMPLES / 'award-univ-aws-a100-cloud.pdf')!r}], backend="rules", store_dir=None)
print("BUYER", report.records[0]["fields"]["buyer"]["value"], len(report.records))
"""


def test_script_without_main_guard_runs_once(tmp_path: Path) -> None:
    """The PDF worker pool must not re-run the caller's script in its workers."""
    script = tmp_path / "user_script.py"
    script.write_text(SCRIPT, encoding="utf-8")
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("BUYER 沪东理工大学 1") == 1


def test_code_piped_on_stdin_works() -> None:
    r = subprocess.run([sys.executable, "-"], input=SCRIPT, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert "BUYER 沪东理工大学 1" in r.stdout
