"""The wheel installs and runs outside the repo: `python -m build` makes an sdist and a wheel (the wheel built
from the sdist, so both carry prompts, schemas and data files); the wheel goes into a fresh venv in a temp
folder and `tenderx run` does the main job on a copy of a few samples from a folder outside the repo.

Offline: the build uses the installed hatchling (no isolated build env to download), and the fresh venv
sees this environment's dependencies through a .pth line instead of downloading them again."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT, SAMPLES

pytestmark = pytest.mark.packaging
SAMPLE_NAMES = ("award-amd-mi250-cluster.pdf", "award-hygon-dcu-servers.pdf")
PACKAGED = ("extractor/prompts/extract.v1.system.md", "extractor/schemas/tender.yaml",
            "extractor/data/watchlist.yaml", "extractor/data/screening/us_lists.json",
            "extractor/data/e5_int8_calibration.npz", "extractor/desk/templates/document.html",
            "extractor/desk/static/desk.css", "extractor/data/ocds/release-schema.json")


def _clean_env() -> dict[str, str]:
    """No PYTHONPATH (the repo must not leak in) and no tenderx/OpenAI settings."""
    env = {k: v for k, v in os.environ.items()
           if k != "PYTHONPATH" and not k.startswith(("OPENAI_", "TENDERX_", "PIP_"))}
    env["COLUMNS"] = "200"
    return env


def _run(argv: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    res = subprocess.run(argv, cwd=cwd, env=_clean_env(), capture_output=True, text=True, timeout=timeout)
    assert res.returncode == 0, f"{argv}\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
    return res


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)], cwd=out)
    return out


def test_sdist_and_wheel_carry_prompts_schemas_and_data(dist: Path) -> None:
    wheel = next(dist.glob("tenderx-*.whl"))
    sdist = next(dist.glob("tenderx-*.tar.gz"))
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [p for p in PACKAGED if p not in names]
    assert not missing, missing
    assert not any(n.startswith(("tests/", "samples/", "evals/")) for n in names)
    assert any(n.endswith("entry_points.txt") for n in names)
    with tarfile.open(sdist) as tar:
        members = {m.split("/", 1)[1] for m in tar.getnames() if "/" in m}
    assert {"pyproject.toml", "README.md", "prompts/extract.v1.system.md", "extractor/schemas/tender.yaml"} <= members


def test_wheel_installs_in_a_fresh_venv_and_runs_the_main_job_outside_the_repo(dist: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=tmp_path)
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    python = bindir / ("python.exe" if os.name == "nt" else "python")
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                     cwd=tmp_path).stdout.strip())
    # dependencies come from this environment (already installed), not from an index
    (site / "_tenderx_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    wheel = next(dist.glob("tenderx-*.whl"))
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-index", "--no-deps",
          "--ignore-installed", "--quiet", str(wheel)], cwd=tmp_path)

    work = tmp_path / "analyst"
    (work / "tenders").mkdir(parents=True)
    for name in SAMPLE_NAMES:
        shutil.copy(SAMPLES / name, work / "tenders" / name)
    where = _run([str(python), "-c", "import extractor, extractor.backends.llm.prompts as p; "
                  "print(extractor.__file__); print(p.prompts_dir()); print(len(p.load_prompt('extract.system')))"],
                 cwd=work).stdout.splitlines()
    assert all(Path(line).is_relative_to(venv) for line in where[:2]), where  # the wheel's copy, not the repo's
    assert int(where[2]) > 100

    exe = bindir / ("tenderx.exe" if os.name == "nt" else "tenderx")
    res = _run([str(exe), "run", "tenders"], cwd=work)
    assert "2 documents, 0 failures" in res.stdout, res.stdout
    records = [json.loads(line) for line in (work / "tenderx-out" / "records.jsonl").read_text("utf-8").splitlines()]
    assert sorted(Path(r["file"]).name for r in records) == sorted(SAMPLE_NAMES)
    assert all(r["fields"].get("buyer") for r in records), records
    assert (work / "tenderx-out" / "cases.jsonl").exists() and (work / ".tenderx").is_dir()
