"""Secrets and output safety.

The API key must never appear in anything a run writes (records, CSV, the
response cache, the store) nor in stdout/stderr — also not on errors, not
with ``--debug``, not when the server echoes it back. HTML reports escape
document text. Hostile file names never make a run write outside the folders
the user named.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

import pytest

from tests.badfiles import GOOD_NOTICES, make_good
from tests.conftest import run_cli
from tests.openai_server import (
    OpenAIServer,
    Recorded,
    Reply,
    buyer_from_prompt,
    chat_reply,
    error_reply,
    schema_valid_fields,
)
from tests.pdf_factory import make_pdf

MODEL = "test-model"


@pytest.fixture
def key() -> str:
    return f"sk-test-SECRET-{secrets.token_hex(12)}"


def answer(req: Recorded) -> Reply:
    fields = schema_valid_fields()
    buyer = buyer_from_prompt(req.messages[1]["content"])
    if buyer:
        fields["buyer"] = buyer
    return chat_reply({"fields": fields})


def echo_key_then(status: int, key: str):
    """Errors that quote the key back (as some gateways do), then good answers."""
    state = {"n": 0}

    def handle(req: Recorded) -> Reply:
        state["n"] += 1
        if state["n"] <= 2 or status == 401:
            return error_reply(status, f"Incorrect API key provided: {key}. Header was Bearer {key}",
                               "invalid_request_error", code=key, headers={"X-Echo": key, "Retry-After": "0"})
        return answer(req)

    return handle


def files_under(root: Path) -> dict[Path, float]:
    return {p: p.stat().st_mtime for p in root.rglob("*") if p.is_file() and not p.is_symlink()}


def assert_key_nowhere(key: str, roots: list[Path], outputs: list[str]) -> int:
    needle = key.encode()
    scanned = 0
    for root in roots:
        for path in files_under(root):
            data = path.read_bytes()
            assert needle not in data, f"API key found in {path}"
            assert key.encode("utf-16-le") not in data, f"API key (UTF-16) found in {path}"
            scanned += 1
    for text in outputs:
        assert key not in text
        assert key[-10:] not in text  # not even its tail
    return scanned


def test_api_key_never_written_or_printed(key: str, tmp_path: Path) -> None:
    work = tmp_path / "work"
    pdfs = make_good(work / "in")
    bad = work / "in" / "raises.pdf"
    from tests.badfiles import _raises_in_pypdf

    _raises_in_pypdf(bad)
    outputs: list[str] = []
    with OpenAIServer() as server:
        env = {"OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": key, "TENDERX_MODEL": MODEL, "HOME": str(work)}
        common = ("--backend", "llm", "--store", str(work / "store"))

        server.handler = answer  # 1. a successful run, with CSV
        ok = run_cli("extract", *map(str, pdfs), "-o", str(work / "out" / "ok.jsonl"), "--csv",
                     str(work / "out" / "ok.csv"), *common, env=env, cwd=work)
        assert ok.returncode == 0, ok.stdout + ok.stderr
        outputs += [ok.stdout, ok.stderr]

        server.handler = echo_key_then(401, key)  # 2. the key is rejected (and echoed back by the server)
        denied = run_cli("extract", str(pdfs[0]), "-o", str(work / "out" / "denied.jsonl"), "--no-resume",
                         "--store", str(work / "store-401"), "--backend", "llm", env=env, cwd=work)
        assert denied.returncode == 3 and "check OPENAI_API_KEY" in denied.stderr
        outputs += [denied.stdout, denied.stderr]

        server.handler = echo_key_then(500, key)  # 3. --debug, with retries, a failing PDF, key echoed in 500s
        debug = run_cli("--debug", "extract", str(work / "in"), "-o", str(work / "out" / "debug.jsonl"), "-j", "1",
                        "--store", str(work / "store-debug"), "--backend", "llm", env=env, cwd=work)
        assert debug.returncode == 1, debug.stdout + debug.stderr
        assert "Traceback" in debug.stderr and "retry" in debug.stderr  # debug output really is on
        outputs += [debug.stdout, debug.stderr]

        out_is_dir = work / "out" / "dir.jsonl"  # 4. an unexpected crash under --debug
        out_is_dir.mkdir(parents=True)
        crash = run_cli("--debug", "extract", str(pdfs[0]), "-o", str(out_is_dir), "--backend", "llm",
                        "--store", str(work / "store"), env=env, cwd=work)
        assert crash.returncode == 3 and "Traceback" in crash.stderr
        outputs += [crash.stdout, crash.stderr]

        sent = [r.headers.get("authorization") for r in server.chat_requests()]
    assert f"Bearer {key}" in sent  # the key was really in use
    assert (work / "store" / "llm-cache.sqlite").exists()
    scanned = assert_key_nowhere(key, [work], outputs)
    assert scanned >= 5
    records = {Path(r["file"]).name: r for r in map(json.loads, (work / "out" / "debug.jsonl").read_text(
        encoding="utf-8").splitlines())}
    assert "inside pypdf" in records["raises.pdf"]["errors"][0]
    assert all(not r["errors"] for name, r in records.items() if name != "raises.pdf")


def test_hostile_file_names_stay_inside(tmp_path: Path) -> None:
    work = tmp_path / "work"
    inputs = work / "in"
    (inputs / "..%2F..%2Fevil").mkdir(parents=True)
    lines = GOOD_NOTICES["good-tender-switches.pdf"][0]
    names = ["..\\..\\escape.pdf", "new\nline.pdf", "quote\"'`$(touch pwned).pdf", "-rf.pdf",
             "..%2F..%2Fevil/../../x.pdf".replace("/", "_"), "..%2F..%2Fevil/inner.pdf", " leading space.pdf"]
    for name in names:
        make_pdf(inputs / name, [lines])
    before = files_under(tmp_path)
    out_dir = work / "out"
    res = run_cli("extract", str(inputs), "--backend", "rules", "-o", str(out_dir / "r.jsonl"), "--csv",
                  str(out_dir / "r.csv"), "--store", str(work / "store"), cwd=work)
    assert res.returncode == 0, res.stdout + res.stderr
    new = {p for p in files_under(tmp_path) if p not in before}
    assert new and all(out_dir in p.parents for p in new), sorted(map(str, new))
    assert not (work / "pwned").exists() and not (tmp_path / "x.pdf").exists()
    raw = (out_dir / "r.jsonl").read_text(encoding="utf-8")
    records = [json.loads(x) for x in raw.splitlines()]
    assert sorted(Path(r["file"]).name for r in records) == sorted(Path(n).name for n in names)
    assert all(r["fields"]["buyer"]["value"] == "北岭市第一中学" for r in records)


def test_html_report_escapes_document_text(tmp_path: Path) -> None:
    gold = tmp_path / "gold"
    gold.mkdir()
    attack = "<script>alert('x')</script><img src=x onerror=alert(1)>"
    make_pdf(gold / "xss.pdf", [["测试学院设备采购公告", f"采购人：{attack}测试学院", "预算金额：45万元"]])
    labels = {"buyer": "完全不同的学院", "budget_cny": 1, "notice_type": "tender"}
    (gold / "xss.gold.json").write_text(json.dumps({"schema": "tender", "schema_version": 1, "labels": labels},
                                                   ensure_ascii=False), encoding="utf-8")
    html_out = tmp_path / "report.html"
    res = run_cli("eval", str(gold), "--backend", "rules", "--html", str(html_out), "--store", str(tmp_path / "s"))
    assert res.returncode in (0, 1), res.stdout + res.stderr
    page = html_out.read_text(encoding="utf-8")
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;" in page or "&lt;img" in page  # the text is shown, escaped
    assert os.path.getsize(html_out) > 0
