"""The desk attacked (issue 24): open redirect, a loopback desk without a token, oversized and
hostile request bodies, malformed records, symlinks planted in a gold folder, a hand-written gold
file, two desks appending to one decision file. Real PDFs, real records, the real app (Starlette's
test client) and real `tenderx serve` / `tenderx review` subprocesses."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import SAMPLES, run_cli
from pdf_factory import make_pdf
from starlette.testclient import TestClient

from extractor.core.schema import load_schema
from extractor.desk.app import DeskConfig, create_app
from extractor.desk.review import ReviewLog, review_path_for
from extractor.desk.security import CSRF_COOKIE, CSRF_HEADER, TOKEN_HEADER
from extractor.pipeline.extract import extract_documents

BASE = "http://127.0.0.1:8765"
AWS = "award-univ-aws-a100-cloud.pdf"


@pytest.fixture(scope="module")
def desk_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("desk-attacks")
    docs = root / "docs"
    make_pdf(docs / "a-office.pdf", [["办公家具采购项目中标结果公告", "采购人名称：东山区教育局", "中标金额：12万元"]])
    shutil.copy(SAMPLES / AWS, docs / AWS)
    extract_documents([docs], backend="rules", out=root / "out" / "records.jsonl")
    return root


def fresh(desk_dir: Path, tmp_path: Path) -> Path:
    out = tmp_path / "out"
    out.mkdir()
    shutil.copy(desk_dir / "out" / "records.jsonl", out / "records.jsonl")
    return out / "records.jsonl"


def record_of(records: Path, name: str) -> dict:
    return next(json.loads(x) for x in records.read_text(encoding="utf-8").splitlines() if name in x)


def csrf_client(records: Path) -> tuple[TestClient, dict[str, str]]:
    c = TestClient(create_app(DeskConfig(records=records, reviewer="tester")), base_url=BASE)
    c.get("/")
    return c, {"X-Tenderx-CSRF": c.cookies[CSRF_COOKIE], "Content-Type": "application/json"}


# --- login redirect (item 17) -------------------------------------------------------------------


def test_token_login_never_redirects_off_site(desk_dir: Path, tmp_path: Path) -> None:
    token = "s3cret-token-0123"
    c = TestClient(create_app(DeskConfig(records=fresh(desk_dir, tmp_path), token=token)), base_url=BASE)
    for path, expected in (("//evil.example/", "/evil.example/"), ("///evil.example", "/evil.example"),
                           ("/\\evil.example/x", None), ("/search", "/search")):
        r = c.get(f"{BASE}{path}?token={token}&q=1", follow_redirects=False)
        assert r.status_code == 303, path
        location = r.headers["location"]
        assert expected is None or location == f"{expected}?q=1", (path, location)
        assert location.startswith("/") and not location.startswith(("//", "/\\")) and "://" not in location


# --- loopback token, private review file (item 6) -----------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Desk:
    """`tenderx serve` on loopback in a subprocess; the token is read from what it prints."""

    def __init__(self, records: Path, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "TENDERX_"))}
        self.log = log
        self.proc = subprocess.Popen([sys.executable, "-m", "extractor", "serve", "--records", str(records),
                                      "--port", str(self.port), "--reviewer", log.stem],
                                     env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        self.token = ""
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("desk exited: " + log.read_text())
            printed = re.search(r"\?token=([\w-]+)", log.read_text())
            if printed:
                self.token = printed.group(1)
                try:
                    urllib.request.urlopen(self.request("/api/documents"), timeout=5)
                    break
                except OSError:
                    pass
            time.sleep(0.2)
        else:
            self.proc.kill()  # never leave a desk behind
            self.proc.wait()
            raise AssertionError("desk did not start (no token printed?): " + log.read_text())
        self.csrf = "c" * 43  # the desk checks the header against the cookie, both sent here

    def request(self, path: str, body: dict | None = None) -> urllib.request.Request:
        headers = {TOKEN_HEADER: self.token}
        if body is not None:
            headers |= {CSRF_HEADER: self.csrf, "Cookie": f"{CSRF_COOKIE}={self.csrf}", "Content-Type": "application/json"}
        data = json.dumps(body).encode("utf-8") if body is not None else None
        return urllib.request.Request(self.url + path, data=data, headers=headers)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def test_loopback_desk_needs_the_printed_token_and_keeps_decisions_private(desk_dir: Path, tmp_path: Path) -> None:
    records = fresh(desk_dir, tmp_path)
    desk = Desk(records, tmp_path / "serve.log")
    try:
        assert len(desk.token) >= 20
        with pytest.raises(urllib.error.HTTPError) as refused:  # another local account, without the token
            urllib.request.urlopen(desk.url + "/api/records", timeout=10)
        assert refused.value.code == 401
        sha = record_of(records, AWS)["sha256"]
        r = urllib.request.urlopen(desk.request("/api/review", {"doc": sha, "field": "buyer", "action": "accept"}),
                                   timeout=30)
        assert r.status == 200
    finally:
        desk.stop()
    review = review_path_for(records)
    assert review.stat().st_mode & 0o777 == 0o600


# --- request bounds, malformed records (item 13) ------------------------------------------------


def test_review_requests_are_bounded_and_checked(desk_dir: Path, tmp_path: Path) -> None:
    records = fresh(desk_dir, tmp_path)
    sha = record_of(records, AWS)["sha256"]
    c, headers = csrf_client(records)
    big = json.dumps({"doc": sha, "field": "project_name", "action": "correct", "value": "项" * 300_000})
    r = c.post("/api/review", content=big, headers=headers)
    assert r.status_code == 413 and "too large" in r.json()["error"]

    def chunks():  # no Content-Length: the limit holds while streaming
        for _ in range(200):
            yield b" " * 4096

    assert c.post("/api/review", content=chunks(), headers=headers).status_code == 413
    deep = "[" * 100_000 + "]" * 100_000
    r = c.post("/api/review", content=deep, headers=headers)
    assert r.status_code == 400 and "nested" in r.json()["error"]
    start = f'{{"doc": "{sha}", "field": "gpu_count", "action": "correct", "value": '
    for raw in (start + "1e999999}", start + "NaN}", start + "-Infinity}"):
        r = c.post("/api/review", content=raw, headers=headers)
        assert r.status_code == 400, raw
    for typed in ("1e999999", "inf", "2.5"):
        body = {"doc": sha, "field": "gpu_count", "action": "correct", "value": typed}
        r = c.post("/api/review", json=body, headers=headers)
        assert r.status_code == 400, typed
    body = {"doc": sha, "field": "budget_cny", "action": "correct", "value": "1e999999"}
    assert c.post("/api/review", json=body, headers=headers).status_code == 400
    assert not review_path_for(records).exists()  # none of that was recorded
    ok = c.post("/api/review", json={"doc": sha, "field": "gpu_count", "action": "correct", "value": "8"}, headers=headers)
    assert ok.status_code == 200 and ok.json()["decision"]["value"] == 8


@pytest.mark.parametrize("fields", [[], ["buyer"], "abc", {"buyer": "沪东理工大学", "budget_cny": [1]}])
def test_a_malformed_record_does_not_stop_the_desk_or_the_exports(desk_dir: Path, tmp_path: Path,
                                                                  fields: object) -> None:
    records = fresh(desk_dir, tmp_path)
    bad = record_of(records, "a-office.pdf")
    bad["fields"] = fields
    bad["flags"] = "needs a look"
    lines = [x for x in records.read_text(encoding="utf-8").splitlines() if "a-office.pdf" not in x]
    records.write_text("\n".join([*lines, json.dumps(bad, ensure_ascii=False)]) + "\n", encoding="utf-8")
    c, _ = csrf_client(records)
    assert c.get("/").status_code == 200 and c.get("/api/records").status_code == 200
    assert c.get(f"/doc/{bad['sha256']}").status_code == 200
    r = run_cli("review", str(records), "--html", str(tmp_path / "r.html"))
    assert r.returncode == 0, r.stderr
    for fmt in ("csv", "ocds"):
        r = run_cli("export", str(records), "--format", fmt, "--out", str(tmp_path / f"e.{fmt}"))
        assert r.returncode == 0, r.stderr


# --- gold files: symlinks and hand-written labels (items 5, 15) ---------------------------------


def reviewed(records: Path) -> None:
    rec = record_of(records, AWS)
    log = ReviewLog(review_path_for(records))
    log.record(load_schema("tender"), rec, "buyer", "accept", reviewer="tester")
    log.record(load_schema("tender"), rec, "budget_cny", "correct", reviewer="tester", value="150万元")


def test_gold_export_never_writes_through_a_planted_symlink(desk_dir: Path, tmp_path: Path) -> None:
    records = fresh(desk_dir, tmp_path)
    reviewed(records)
    gold = tmp_path / "gold"
    gold.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (gold / AWS).symlink_to(victim)  # where the PDF copy would go
    r = run_cli("review", str(records), "--to-gold", str(gold))
    assert r.returncode == 0, r.stderr
    assert victim.read_text() == "precious\n"
    assert not (gold / AWS).is_symlink() and (gold / AWS).read_bytes() == (SAMPLES / AWS).read_bytes()
    other = tmp_path / "other.json"
    other.write_text("precious too\n")
    link = gold / "award-univ-aws-a100-cloud.gold.json"
    link.unlink()
    link.symlink_to(other)  # where the gold file goes
    r = run_cli("review", str(records), "--to-gold", str(gold))
    assert r.returncode == 0, r.stderr
    assert "left alone" in r.stderr and other.read_text() == "precious too\n"  # not ours to replace
    r = run_cli("review", str(records), "--to-gold", str(gold), "--force")
    assert r.returncode == 0, r.stderr
    assert other.read_text() == "precious too\n" and not link.is_symlink()
    assert json.loads(link.read_text(encoding="utf-8"))["labels"]["budget_cny"] == 1500000


def test_gold_export_merges_a_hand_written_gold_file(desk_dir: Path, tmp_path: Path) -> None:
    records = fresh(desk_dir, tmp_path)
    reviewed(records)
    gold = tmp_path / "gold"
    gold.mkdir()
    hand = {"schema": "tender", "schema_version": 1, "labels": {
        "buyer": "沪东理工大学", "budget_cny": 1450000, "notice_type": "award", "agency": None, "gpu_count": 4}}
    path = gold / "award-univ-aws-a100-cloud.gold.json"
    path.write_text(json.dumps(hand, ensure_ascii=False), encoding="utf-8")
    r = run_cli("review", str(records), "--to-gold", str(gold))
    assert r.returncode == 0, r.stderr
    labels = json.loads(path.read_text(encoding="utf-8"))["labels"]
    assert labels == hand["labels"]  # nothing lost; the disagreeing budget keeps the hand-written label
    assert "conflict" in r.stderr and "budget_cny" in r.stderr
    r = run_cli("review", str(records), "--to-gold", str(gold), "--force")
    labels = json.loads(path.read_text(encoding="utf-8"))["labels"]
    assert labels == {**hand["labels"], "budget_cny": 1500000}


# --- two desks, one decision file (item 11) -----------------------------------------------------


def test_two_desks_on_one_review_file_lose_no_acknowledged_decision(desk_dir: Path, tmp_path: Path) -> None:
    records = fresh(desk_dir, tmp_path)
    sha = record_of(records, AWS)["sha256"]
    desks: list[Desk] = []
    acknowledged: list[str] = []
    lock = threading.Lock()

    def post(desk: Desk, n: int) -> None:
        for i in range(n):
            value = f"{desk.log.stem}-{i}-" + "项" * 20_000  # long lines: several write() calls each
            body = {"doc": sha, "field": "project_name", "action": "correct", "value": value}
            with urllib.request.urlopen(desk.request("/api/review", body), timeout=60) as r:
                if r.status == 200:
                    with lock:
                        acknowledged.append(value[:40])

    try:
        desks += [Desk(records, tmp_path / "first.log"), Desk(records, tmp_path / "second.log")]
        threads = [threading.Thread(target=post, args=(d, 60)) for d in desks for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        for d in desks:
            d.stop()
    assert len(acknowledged) == 240
    kept = [d.value[:40] for d in ReviewLog(review_path_for(records)).decisions()]
    assert sorted(kept) == sorted(acknowledged)


# --- beyond the issue: a record line nested 100,000 deep, a symlink where decisions go ----------


def test_a_record_line_nested_too_deep_is_skipped(desk_dir: Path, tmp_path: Path) -> None:
    records = fresh(desk_dir, tmp_path)
    with records.open("a", encoding="utf-8") as fh:
        fh.write('{"file": "x.pdf", "sha256": "' + "d" * 64 + '", "fields": ' + "[" * 100_000 + "]" * 100_000 + "}\n")
    c, _ = csrf_client(records)
    assert c.get("/").status_code == 200
    r = run_cli("review", str(records), "--html", str(tmp_path / "r.html"))
    assert r.returncode == 0, r.stderr
    r = run_cli("export", str(records), "--format", "csv", "--out", str(tmp_path / "e.csv"))
    assert r.returncode == 0, r.stderr


def test_decisions_are_not_written_through_a_planted_symlink(desk_dir: Path, tmp_path: Path) -> None:
    records = fresh(desk_dir, tmp_path)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    review_path_for(records).symlink_to(victim)
    c, headers = csrf_client(records)
    body = {"doc": record_of(records, AWS)["sha256"], "field": "buyer", "action": "accept"}
    r = c.post("/api/review", json=body, headers=headers)
    assert r.status_code == 400 and "symbolic link" in r.json()["error"]
    assert victim.read_text() == "precious\n"
