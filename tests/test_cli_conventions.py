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


def _all_command_paths() -> list[list[str]]:
    import typer.main

    from extractor.cli.app import app

    paths: list[list[str]] = []

    def walk(cmd: object, prefix: list[str]) -> None:
        paths.append(prefix)
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, [*prefix, name])

    walk(typer.main.get_command(app), [])
    return paths


def test_help_names_values_in_words_not_python_types() -> None:
    """Every command's --help (one interpreter runs them all through `main`): no `<bool>`, `<list[Path]>`."""
    paths = _all_command_paths()
    assert ["ingest"] in paths and ["store", "check"] in paths and len(paths) > 15
    code = ("import sys; from extractor.cli.app import main\n"
            "for args in __import__('json').loads(sys.argv[1]):\n"
            "    sys.argv = ['tenderx', *args, '--help']; print('===== ' + ' '.join(args), flush=True)\n"
            "    try:\n        main()\n    except SystemExit:\n        pass\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "TENDERX_"))}
    env["COLUMNS"] = "200"
    res = subprocess.run([sys.executable, "-c", code, json.dumps(paths)], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    helps = res.stdout.split("===== ")[1:]
    assert len(helps) == len(paths) and all("Usage:" in h for h in helps)
    for bad in ("<bool>", "<str>", "<path>", "<list[", "<int", "<float", "<Path"):
        assert bad not in res.stdout, [h.splitlines()[0] for h in helps if bad in h]
    ingest = next(h for h in helps if h.startswith("ingest\n"))
    assert "PATHS" in ingest and "--store" in ingest and " PATH " in ingest and "INTEGER" in ingest


def test_screen_and_run_help_say_what_they_do() -> None:
    screen = run_cli("screen", "--help")
    assert screen.returncode == 0 and "Examples:" in screen.stdout and "tenderx screen --list-info" in screen.stdout
    run = run_cli("run", "--help")
    assert run.returncode == 0 and "cases.jsonl" in run.stdout


def test_chroma_url_is_accepted_after_the_command_too(tmp_path: Path) -> None:
    """`tenderx ingest X --chroma-url URL` means the global option (here: a server that is down → exit 3),
    not "No such option" (exit 2); both spellings, and before the command as ever."""
    from tests.conftest import _free_port

    down = f"http://127.0.0.1:{_free_port()}"
    doc = str(SAMPLES / f"{ONE}.pdf")
    store = str(tmp_path / "s")
    for args in (["ingest", doc, "--chroma-url", down, "--store", store],
                 ["ingest", doc, "--store", store, f"--chroma-url={down}"],
                 ["--chroma-url", down, "ingest", doc, "--store", store]):
        res = run_cli(*args)
        assert res.returncode == 3, (args, res.stdout, res.stderr)
        assert "not reachable" in res.stderr and down in " ".join(res.stderr.split())


def test_summary_counts_in_words_and_parties_not_list_rows(tmp_path: Path) -> None:
    """One failed file is "1 failure"; a party that two lists name is one party on a US list."""
    for name in ("award-ustc-suzhou-a100-rental.pdf", "broken-truncated.pdf"):
        shutil.copy(SAMPLES / name, tmp_path / name)
    out = tmp_path / "records.jsonl"
    res = run_cli("extract", str(tmp_path), "-b", "rules", "-o", str(out))
    assert res.returncode == 1, res.stdout + res.stderr
    said = " ".join(res.stdout.split())
    ustc = next(json.loads(x) for x in out.read_text(encoding="utf-8").splitlines() if "ustc" in x)
    rows = [s for s in ustc["screening"] if s["match"] in ("exact", "subunit")]
    assert len(rows) >= 2 and len({s["party"] for s in rows}) == 1  # one party, named by two lists
    assert "2 documents, 1 failure, 0 LLM calls" in said and "1 failures" not in said
    assert "1 party on a US list" in said
