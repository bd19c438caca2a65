"""CLI conventions a user expects: --version, exit codes from one place, `-o -`, the user's umask."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

from extractor import __version__
from extractor.core.errors import (
    EmbedderMismatch,
    EvalInputError,
    ExitCode,
    LLMAuthError,
    ReadError,
    SchemaError,
    StoreLocked,
    TenderxError,
    UsageError,
    exit_code_for,
)
from tests.conftest import ROOT, SAMPLES, run_cli

ONE = "award-univ-aws-a100-cloud"


def test_version() -> None:
    res = run_cli("--version")
    assert res.returncode == 0 and res.stdout.strip() == f"tenderx {__version__}"


def test_every_error_has_one_root_and_a_documented_code() -> None:
    assert exit_code_for(UsageError("x")) == ExitCode.USAGE == 2
    assert exit_code_for(SchemaError("x")) == exit_code_for(EvalInputError("x")) == ExitCode.USAGE
    assert exit_code_for(StoreLocked(Path("s"), 1)) == exit_code_for(EmbedderMismatch("x")) == ExitCode.FATAL == 3
    assert exit_code_for(LLMAuthError("x")) == ExitCode.FATAL
    assert exit_code_for(ReadError("corrupt", "x")) == ExitCode.PARTIAL == 1
    assert exit_code_for(KeyboardInterrupt()) == ExitCode.INTERRUPTED == 130
    assert exit_code_for(RuntimeError("x")) == ExitCode.FATAL
    for err in (UsageError, SchemaError, EvalInputError, StoreLocked, LLMAuthError, ReadError):
        assert issubclass(err, TenderxError)


def test_missing_path_is_a_usage_error_for_every_command(tmp_path: Path) -> None:
    out = tmp_path / "records.jsonl"
    for args in (["extract", "/nonexistent/x", "-o", str(out)], ["ingest", "/nonexistent/x", "-s", str(tmp_path / "s")],
                 ["run", "/nonexistent/x", "-o", str(tmp_path / "o"), "-s", str(tmp_path / "s")]):
        res = run_cli(*args)
        assert res.returncode == 2, (args, res.stdout, res.stderr)
        assert "no such file or folder" in res.stderr and "Traceback" not in res.stderr
    assert not out.exists()  # no record is written for a path that does not exist


def test_unknown_backend_is_a_usage_error(tmp_path: Path) -> None:
    res = run_cli("extract", str(SAMPLES / f"{ONE}.pdf"), "-b", "nope", "-o", str(tmp_path / "r.jsonl"))
    assert res.returncode == 2 and "unknown backend 'nope'" in res.stderr


def test_records_to_stdout(tmp_path: Path) -> None:
    shutil.copy(SAMPLES / f"{ONE}.pdf", tmp_path / f"{ONE}.pdf")
    res = run_cli("extract", str(tmp_path / f"{ONE}.pdf"), "-b", "rules", "-o", "-", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    records = [json.loads(line) for line in res.stdout.splitlines()]
    assert len(records) == 1 and records[0]["fields"]["buyer"]["value"] == "沪东理工大学"
    assert "backend: rules" in res.stderr  # the summary goes to stderr, so stdout stays pipeable
    assert not (tmp_path / "tenderx-out").exists()


def test_written_files_follow_the_umask(tmp_path: Path) -> None:
    shutil.copy(SAMPLES / f"{ONE}.pdf", tmp_path / f"{ONE}.pdf")
    for umask, mode in ((0o022, 0o644), (0o027, 0o640)):
        out = tmp_path / f"out-{umask:o}"
        code = ("import os, sys; os.umask(int(sys.argv[1], 8)); sys.argv = ['tenderx', *sys.argv[2:]]; "
                "from extractor.cli import main; main()")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "TENDERX_"))}
        res = subprocess.run([sys.executable, "-c", code, f"{umask:o}", "extract", str(tmp_path / f"{ONE}.pdf"),
                              "-b", "rules", "-o", str(out / "records.jsonl"), "--csv", str(out / "records.csv")],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, res.stderr
        for name in ("records.jsonl", "records.csv"):
            assert stat.S_IMODE((out / name).stat().st_mode) == mode, (name, oct(umask))
