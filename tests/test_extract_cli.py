"""`tenderx extract` / `tenderx run` end to end, as a user runs them (real PDFs, subprocess CLI).

The LLM path talks to a real local HTTP server speaking the OpenAI protocol; its "model" reads
the document block of the prompt and answers from it, so evidence can be checked for real.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import SAMPLES, run_cli
from tests.openai_server import Recorded, Reply, chat_reply
from tests.openai_server import openai_server as openai_server

PICK = ["award-univ-aws-a100-cloud", "award-hospital-biochem-analyzer-a100", "tender-qwen-api-hotline"]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    d = tmp_path / "in"
    d.mkdir()
    for name in PICK:
        shutil.copy(SAMPLES / f"{name}.pdf", d / f"{name}.pdf")
    return d


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_rules_extract_writes_records_csv_and_flag_table(folder: Path, tmp_path: Path) -> None:
    out, csv = tmp_path / "out.jsonl", tmp_path / "out.csv"
    r = run_cli("extract", str(folder), "-o", str(out), "--csv", str(csv), "--store", str(tmp_path / "st"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "backend: rules" in r.stdout and "no LLM configured" in r.stdout
    recs = {Path(x["file"]).stem: x for x in _records(out)}
    assert set(recs) == set(PICK)
    aws = recs["award-univ-aws-a100-cloud"]
    assert aws["schema"] == "tender" and aws["schema_version"] == 1 and aws["backend"] == "rules"
    assert len(aws["fields"]) == 17
    buyer = aws["fields"]["buyer"]
    assert buyer["value"] == "沪东理工大学" and buyer["verified"] is True and buyer["page"] >= 1
    assert "restricted_us_tech" in aws["flags"]
    assert "restricted_us_tech" not in recs["award-hospital-biochem-analyzer-a100"]["flags"]
    # the flagged table names the AWS/A100 award and not the analyser
    assert "flagged restricted_us_tech" in r.stdout and "沪东理工大学" in r.stdout
    rows = csv.read_text(encoding="utf-8").splitlines()
    assert len(rows) == 1 + len(PICK) and rows[0].startswith("file,sha256,backend,notice_type")


def _project_line(prompt: str) -> tuple[int, str, str] | None:
    """(page, quote, value) of the first 项目名称 line inside the prompt's document block."""
    doc = prompt.split("<document>", 1)[-1]
    page = 1
    for line in doc.splitlines():
        m = re.match(r"\[page (\d+)", line.strip())
        if m:
            page = int(m.group(1))
            continue
        m = re.search(r"项目名称[：:]\s*(\S+)", line)
        if m:
            return page, line.strip(), m.group(1)
    return None


def model(req: Recorded) -> Reply:
    """A deterministic stand-in for an LLM: reads the project name from the document block,
    and invents a buyer that is not in the document (that must come back flagged)."""
    fmt = req.body.get("response_format") or {}
    names = fmt["json_schema"]["schema"]["properties"]["fields"]["required"]
    fields: dict = {}
    for n in names:
        fields[n] = {"value": [] if n in ("suppliers", "chips", "cloud_providers", "ai_models") else None,
                     "page": None, "quote": None}
    if "restricted_us_tech" in fields:
        fields["restricted_us_tech"]["value"] = False
    if "notice_type" in fields:
        fields["notice_type"]["value"] = "other"
    hit = _project_line(req.prompt_text)
    if hit and "project_name" in fields:
        page, quote, value = hit
        fields["project_name"] = {"value": value, "page": page, "quote": quote}
    if "buyer" in fields:
        fields["buyer"] = {"value": "不存在的采购单位", "page": 1, "quote": "采购人：不存在的采购单位"}
    return chat_reply({"fields": fields}, usage={"prompt_tokens": 1000, "completion_tokens": 100})


def test_llm_extract_end_to_end_with_evidence_cost_and_cache(folder: Path, tmp_path: Path, openai_server) -> None:
    openai_server.handler = model
    env = {"OPENAI_BASE_URL": openai_server.url, "OPENAI_API_KEY": "sk-test-key", "TENDERX_MODEL": "gpt-4o-mini"}
    out = tmp_path / "llm.jsonl"
    args = ("extract", str(folder), "--backend", "llm", "-o", str(out), "--store", str(tmp_path / "st"))
    r = run_cli(*args, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    first_calls = len(openai_server.chat_requests())
    assert first_calls >= len(PICK)
    assert "backend: llm" in r.stdout and "estimated cost $" in r.stdout
    recs = _records(out)
    assert len(recs) == len(PICK)
    for rec in recs:
        assert rec["backend"] == "llm" and rec["model"] == "gpt-4o-mini"
        pn = rec["fields"]["project_name"]
        assert pn["verified"] is True and pn["value"] in pn["quote"]
        assert rec["fields"]["buyer"]["verified"] is False
        assert "unverified:buyer" in rec["flags"]
        assert rec["usage"]["prompt_tokens"] >= 1000 and rec["usage"]["cost_usd"] > 0
    # second run of the same command: resumed, nothing sent
    r2 = run_cli(*args, env=env)
    assert r2.returncode == 0 and len(openai_server.chat_requests()) == first_calls
    assert "already extracted" in r2.stdout
    # forced redo: every answer comes from the response cache
    r3 = run_cli(*args, "--no-resume", env=env)
    assert r3.returncode == 0, r3.stdout + r3.stderr
    assert len(openai_server.chat_requests()) == first_calls
    assert re.search(r"0 LLM calls \(0 failed, \d+ cached", r3.stdout.replace("\n", " ")), r3.stdout
    assert all(x["usage"]["cached_calls"] >= 1 for x in _records(out))


def test_run_is_the_main_job_and_reports_failures(folder: Path, tmp_path: Path) -> None:
    shutil.copy(SAMPLES / "broken-truncated.pdf", folder / "broken-truncated.pdf")
    r = run_cli("run", str(folder), "--out-dir", str(tmp_path / "out"), "--store", str(tmp_path / "st"))
    assert r.returncode == 1, r.stdout + r.stderr
    assert "truncated" in r.stdout and "Traceback" not in r.stdout + r.stderr
    recs = _records(tmp_path / "out" / "records.jsonl")
    assert len(recs) == len(PICK) + 1
    broken = [x for x in recs if x["file"].endswith("broken-truncated.pdf")]
    assert broken and broken[0]["errors"] and broken[0]["errors"][0].startswith("truncated")
    # issue 25: run's CSV opens in Excel (BOM) and carries the evidence and the list status of each party
    table = (tmp_path / "out" / "records.csv").read_bytes()
    assert table.startswith(b"\xef\xbb\xbf")
    header = table.decode("utf-8-sig").splitlines()[0].split(",")
    assert {"buyer", "buyer_page", "buyer_quote", "buyer_verified", "screening", "intermediaries"} <= set(header)
    assert str(folder) not in table.decode("utf-8-sig")  # files named relative to the input folder
    # issue 13: cases.jsonl beside records.jsonl (three unrelated notices: three cases), and the cases table
    cases = _records(tmp_path / "out" / "cases.jsonl")
    assert sorted(len(c["notices"]) for c in cases) == [1, 1, 1] and "Cases" in r.stdout
    # searchable afterwards
    s = run_cli("search", "亚马逊云服务", "--store", str(tmp_path / "st"), "-k", "3", "--json")
    assert s.returncode == 0, s.stderr
    hits = json.loads(s.stdout)
    assert Path(hits[0]["file"]).name == "award-univ-aws-a100-cloud.pdf"
    # filters by ingest metadata: page, and the document title recorded at ingest
    s = run_cli("search", "采购", "--store", str(tmp_path / "st"), "--where", "page=1", "--json")
    assert s.returncode == 0 and {h["page"] for h in json.loads(s.stdout)} == {1}
    s = run_cli("search", "采购", "--store", str(tmp_path / "st"), "--title", "热线智能问答", "--json")
    assert s.returncode == 0, s.stderr
    assert {Path(h["file"]).name for h in json.loads(s.stdout)} == {"tender-qwen-api-hotline.pdf"}
    s = run_cli("search", "采购", "--store", str(tmp_path / "st"), "--where", "nonsense")
    assert s.returncode == 2 and "KEY=VALUE" in s.stderr
