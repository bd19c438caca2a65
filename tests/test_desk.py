"""The desk without a browser: escaping, token, host check, CSRF, no path traversal, review log,
quote boxes on the page, the self-contained HTML and the gold export (real PDFs, real records,
the real Starlette app through its test client)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from conftest import SAMPLES, run_cli
from pdf_factory import make_pdf
from starlette.testclient import TestClient

from extractor.core.schema import load_schema
from extractor.desk.app import DeskConfig, create_app
from extractor.desk.catalog import Catalog
from extractor.desk.pages import PageImages, merge_boxes
from extractor.desk.review import ReviewError, ReviewLog, coerce_value, review_path_for
from extractor.desk.security import CSRF_COOKIE, is_loopback
from extractor.pipeline.extract import extract_documents

BASE = "http://127.0.0.1:8765"
HOSTILE_BUYER = "<script>alert(1)</script>大学"
HOSTILE_LINES = ["某某大学服务器采购项目中标结果公告", "项目编号：XSS-2024-001", f"采购人名称：{HOSTILE_BUYER}",
                 "中标供应商：<img src=x onerror=alert(2)>科技有限公司", "中标金额：100万元",
                 "采购内容：NVIDIA A100 GPU服务器 4台", "2024年5月1日"]
AWS = "award-univ-aws-a100-cloud.pdf"


@pytest.fixture(scope="module")
def desk_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two real PDFs (one with markup in its buyer and supplier) and their rules-engine records."""
    root = tmp_path_factory.mktemp("desk")
    docs = root / "docs"
    make_pdf(docs / "hostile.pdf", [HOSTILE_LINES])
    make_pdf(docs / "a-office.pdf", [["办公家具采购项目中标结果公告", "采购人名称：东山区教育局", "中标金额：12万元"]])
    shutil.copy(SAMPLES / AWS, docs / AWS)
    extract_documents([docs], backend="rules", out=root / "out" / "records.jsonl")
    return root


def fresh(desk_dir: Path, tmp_path: Path) -> Path:
    """A copy of the records (each test gets its own review log beside them)."""
    out = tmp_path / "out"
    out.mkdir()
    records = out / "records.jsonl"
    # paths in the records are absolute here (extract ran on an absolute folder), so a copy still resolves
    shutil.copy(desk_dir / "out" / "records.jsonl", records)
    return records


def sha_of(records: Path, name: str) -> str:
    for line in records.read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        if rec["file"].endswith(name):
            return rec["sha256"]
    raise AssertionError(name)


def client(records: Path, **config: object) -> TestClient:
    return TestClient(create_app(DeskConfig(records=records, reviewer="tester", **config)), base_url=BASE)  # type: ignore[arg-type]


def csrf_of(c: TestClient) -> str:
    c.get("/")
    return c.cookies[CSRF_COOKIE]


# --- escaping -------------------------------------------------------------------


def test_document_text_is_escaped_everywhere(desk_dir: Path, tmp_path: Path) -> None:
    records = fresh(desk_dir, tmp_path)
    sha = sha_of(records, "hostile.pdf")
    c = client(records)
    for url in ("/", f"/doc/{sha}"):
        html = c.get(url).text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;大学" in html
        assert "<script>alert" not in html and "<img src=x" not in html
        # the only scripts a page loads are the desk's own file
        assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/desk.js" defer>']
    # the API returns the text as data (JSON), and the evidence as segments, never HTML
    ev = c.get(f"/api/documents/{sha}/evidence/buyer").json()
    assert ev["found"] and "".join(s["text"] for s in ev["segments"] if s["mark"]) == f"采购人名称：{HOSTILE_BUYER}"
    csp = c.get("/").headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp


def test_js_inserts_text_only_as_text() -> None:
    js = (Path(__file__).resolve().parent.parent / "extractor" / "desk" / "static" / "desk.js").read_text()
    assert "innerHTML" not in js and "insertAdjacentHTML" not in js and "document.write" not in js


# --- token, host, CSRF -----------------------------------------------------------


def test_token_is_required_on_every_request(desk_dir: Path, tmp_path: Path) -> None:
    records = fresh(desk_dir, tmp_path)
    token = "s3cret-token-0123"
    c = client(records, token=token, loopback_only=False)
    for url in ("/", "/api/records", "/static/desk.js", "/api/documents"):
        assert c.get(url).status_code == 401, url
    assert c.get("/api/records", headers={"Authorization": "Bearer wrong-token-000"}).status_code == 401
    assert c.get("/api/records", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert c.get("/api/records", headers={"X-Tenderx-Token": token}).status_code == 200
    # the URL printed by `tenderx serve` carries ?token=: it becomes a cookie and leaves the address bar
    r = c.get(f"/?token={token}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert c.get("/api/records").status_code == 200  # the cookie now authenticates
    other = client(records, token=token, loopback_only=False)
    assert other.get("/?token=nope-nope-nope", follow_redirects=False).status_code == 401


def test_loopback_desk_answers_only_loopback_host_names(desk_dir: Path, tmp_path: Path) -> None:
    c = client(fresh(desk_dir, tmp_path))
    assert c.get("/api/records").status_code == 200
    assert c.get("/api/records", headers={"Host": "localhost:8765"}).status_code == 200
    assert c.get("/api/records", headers={"Host": "attacker.example:8765"}).status_code == 400  # DNS rebinding
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")


def test_review_post_needs_csrf_token_same_origin_and_json(desk_dir: Path, tmp_path: Path) -> None:
    records = fresh(desk_dir, tmp_path)
    sha = sha_of(records, AWS)
    c = client(records)
    token = csrf_of(c)
    body = {"doc": sha, "field": "buyer", "action": "accept"}
    good = {"X-Tenderx-CSRF": token}
    assert c.post("/api/review", json=body).status_code == 403  # no header
    assert c.post("/api/review", json=body, headers={"X-Tenderx-CSRF": "x" * 43}).status_code == 403
    assert c.post("/api/review", json=body, headers={**good, "Origin": "http://evil.example"}).status_code == 403
    assert c.post("/api/review", json=body, headers={**good, "Sec-Fetch-Site": "cross-site"}).status_code == 403
    form = c.post("/api/review", content="doc=x", headers={**good, "Content-Type": "application/x-www-form-urlencoded"})
    assert form.status_code == 403  # what an HTML form of another site could send
    assert c.put("/api/review", json=body, headers=good).status_code == 403
    assert not review_path_for(records).exists()  # nothing was recorded by any of those
    ok = c.post("/api/review", json=body, headers={**good, "Origin": BASE})
    assert ok.status_code == 200 and ok.json()["decision"]["value"] == "沪东理工大学"
    assert len(ReviewLog(review_path_for(records)).decisions()) == 1


# --- only known files --------------------------------------------------------------


def test_only_documents_known_to_the_records_are_served(desk_dir: Path, tmp_path: Path) -> None:
    records = fresh(desk_dir, tmp_path)
    c = client(records)
    unknown = "0" * 64
    for url in (f"/doc/{unknown}", f"/api/documents/{unknown}", f"/api/documents/{unknown}/pages/1.png",
                "/api/documents/..%2F..%2F..%2Fetc%2Fpasswd/pages/1.png", "/api/documents/%2Fetc%2Fpasswd",
                "/doc/..%2Fpyproject.toml", "/static/..%2F..%2Fpyproject.toml", "/static/../app.py"):
        r = c.get(url)
        assert r.status_code == 404, url
        assert "[project]" not in r.text and "root:" not in r.text
    sha = sha_of(records, AWS)
    assert c.get(f"/api/documents/{sha}/pages/99.png").status_code == 404
    png = c.get(f"/api/documents/{sha}/pages/1.png")
    assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_record_whose_file_changed_is_not_served(desk_dir: Path, tmp_path: Path) -> None:
    """A record names a path; if that path now holds other bytes, the desk must not show them as the record's."""
    rec = json.loads((desk_dir / "out" / "records.jsonl").read_text(encoding="utf-8").splitlines()[0])
    other = tmp_path / "swapped.pdf"
    make_pdf(other, [["另一份文件"]])
    rec["file"] = str(other)
    records = tmp_path / "records.jsonl"
    records.write_text(json.dumps(rec, ensure_ascii=False) + "\n", encoding="utf-8")
    doc = Catalog(records).get(rec["sha256"])
    assert doc.path is None
    c = client(records)
    assert c.get(f"/api/documents/{rec['sha256']}/pages/1.png").status_code == 404
    assert "file was not found" in c.get(f"/doc/{rec['sha256']}").text


# --- quote boxes ----------------------------------------------------------------------


def test_quote_boxes_sit_where_the_line_was_drawn(tmp_path: Path) -> None:
    """make_pdf draws line i at x=50pt, baseline 60+17.6·i pt from the top of an A4 page (595×842 pt)."""
    lines = ["第一行：采购公告", "第二行：采购人名称：北方大学", "第三行：预算金额：300万元"]
    pdf = make_pdf(tmp_path / "lines.pdf", [lines])
    boxes = PageImages().quote_boxes(pdf, 1, "采购人名称：北方大学")
    assert len(boxes) == 1
    b = boxes[0]
    baseline = (60 + 17.6) / 841.89
    assert b.y0 < baseline < b.y1 + 0.004 and b.y1 - b.y0 < 0.02  # on the second line, one line high
    assert abs(b.x0 - (50 + 4 * 11) / 595.28) < 0.01  # after the 4 characters 第二行：
    assert abs(b.x1 - (50 + 14 * 11) / 595.28) < 0.01  # 14 full-width characters of 11 pt
    assert PageImages().quote_boxes(pdf, 1, "第三行") != boxes
    assert PageImages().quote_boxes(pdf, 1, "不在这一页") == []


def test_boxes_cover_ink_on_the_rendered_page(desk_dir: Path) -> None:
    import io

    from PIL import Image

    pdf = desk_dir / "docs" / AWS
    images = PageImages()
    boxes = images.quote_boxes(pdf, 1, "Amazon Web\nServices")  # broken over two lines in a table cell
    assert len(boxes) == 2 and boxes[1].y0 > boxes[0].y1 - 0.001
    page = Image.open(io.BytesIO(images.render(pdf, 1, scale=1.0))).convert("L")
    w, h = page.size
    for b in boxes:
        region = page.crop((int(b.x0 * w), int(b.y0 * h), int(b.x1 * w) + 1, int(b.y1 * h) + 1))
        assert region.getextrema()[0] < 100  # dark glyph pixels under the box


def test_merge_boxes_keeps_lines_apart() -> None:
    from extractor.desk.pages import Box

    same_line = [Box(0.1, 0.1, 0.12, 0.12), Box(0.12, 0.1, 0.14, 0.12)]
    assert merge_boxes(same_line) == [Box(0.1, 0.1, 0.14, 0.12)]
    two_lines = [Box(0.5, 0.1, 0.52, 0.12), Box(0.1, 0.13, 0.12, 0.15)]
    assert len(merge_boxes(two_lines)) == 2


# --- review log and values ----------------------------------------------------------------


def test_typed_values_become_the_fields_type() -> None:
    s = load_schema("tender")
    assert coerce_value(s.field("budget_cny"), "145万元") == 1450000
    assert coerce_value(s.field("budget_cny"), "1,386,000.00") == 1386000
    assert coerce_value(s.field("publish_date"), "2024年6月21日") == "2024-06-21"
    assert coerce_value(s.field("suppliers"), "甲公司; 乙公司\n丙公司") == ["甲公司", "乙公司", "丙公司"]
    assert coerce_value(s.field("suppliers"), "") == []
    assert coerce_value(s.field("restricted_us_tech"), "false") is False
    assert coerce_value(s.field("gpu_count"), "32") == 32
    assert coerce_value(s.field("agency"), "  ") is None
    with pytest.raises(ReviewError):
        coerce_value(s.field("buyer"), "")  # the schema says a notice always has a buyer
    with pytest.raises(ReviewError):
        coerce_value(s.field("notice_type"), "not-a-type")
    with pytest.raises(ReviewError):
        coerce_value(s.field("publish_date"), "soon")


def test_decisions_survive_a_restart_and_the_last_one_counts(desk_dir: Path, tmp_path: Path) -> None:
    records = fresh(desk_dir, tmp_path)
    sha = sha_of(records, AWS)
    c = client(records)
    h = {"X-Tenderx-CSRF": csrf_of(c)}
    assert c.post("/api/review", json={"doc": sha, "field": "buyer", "action": "accept"}, headers=h).status_code == 200
    r = c.post("/api/review", json={"doc": sha, "field": "buyer", "action": "correct", "value": "沪东理工大学（本部）",
                                    "page": 2, "quote": "名 称：沪东理工大学", "reviewer": "小王"}, headers=h)
    d = r.json()["decision"]
    # the quote is on page 2 but names 沪东理工大学, not the corrected value: kept, as the reviewer's word
    assert d["located"] is True and d["verified"] is False and d["evidence"] == "reviewer-stated"
    assert d["reviewer"] == "小王" and d["original"] == "沪东理工大学"
    bad = c.post("/api/review", json={"doc": sha, "field": "budget_cny", "action": "correct", "value": "很多"}, headers=h)
    assert bad.status_code == 400 and "not an amount" in bad.json()["error"]
    assert c.post("/api/review", json={"doc": sha, "field": "nope", "action": "accept"}, headers=h).status_code == 400
    with review_path_for(records).open("a", encoding="utf-8") as fh:
        fh.write('{"doc": "torn')  # a crash mid-write
    again = client(records)  # a new server on the same files
    view = again.get(f"/api/documents/{sha}").json()
    buyer = next(f for f in view["fields"] if f["name"] == "buyer")
    assert buyer["decision"]["action"] == "correct" and buyer["decision"]["value"] == "沪东理工大学（本部）"
    assert len(ReviewLog(review_path_for(records)).decisions()) == 2  # the history is kept
    page = again.get(f"/doc/{sha}").text
    assert "→ <span class=\"corrected-value\">沪东理工大学（本部）</span>" in page
    assert "corrected by 小王 · reviewer-stated" in page


def test_a_correction_is_verified_only_when_its_quote_states_the_value(desk_dir: Path, tmp_path: Path) -> None:
    records = fresh(desk_dir, tmp_path)
    sha = sha_of(records, AWS)
    c = client(records)
    h = {"X-Tenderx-CSRF": csrf_of(c)}

    def correct(field: str, value: str, quote: str) -> dict:
        r = c.post("/api/review", json={"doc": sha, "field": field, "action": "correct", "value": value,
                                        "page": 1, "quote": quote, "reviewer": "小王"}, headers=h)
        assert r.status_code == 200, r.text
        return r.json()["decision"]

    stated = correct("server_count", "4", "实例4台")  # the quote says 4 machines (p4d instances)
    assert stated["verified"] is True and stated["evidence"] == "verified"
    wrong = correct("server_count", "32", "实例4台")  # 32 is not what the quote says (issue 23)
    assert wrong["located"] is True and wrong["verified"] is False and wrong["evidence"] == "reviewer-stated"
    assert wrong["value"] == 32 and wrong["reviewer"] == "小王"  # kept, with who said so
    view = c.get(f"/api/documents/{sha}").json()
    field = next(f for f in view["fields"] if f["name"] == "server_count")
    assert field["decision"]["evidence"] == "reviewer-stated"


def test_overview_puts_flagged_documents_first(desk_dir: Path, tmp_path: Path) -> None:
    c = client(fresh(desk_dir, tmp_path))
    data = c.get("/api/records").json()
    assert data["counts"]["documents"] == 3 and data["counts"]["flagged"] == 2
    names = [r["name"] for r in data["rows"]]
    assert names[2] == "a-office.pdf" and sorted(names[:2]) == ["award-univ-aws-a100-cloud.pdf", "hostile.pdf"]
    assert [r["restricted"] for r in data["rows"]] == [True, True, False]
    html = c.get("/").text
    assert html.index("hostile.pdf") < html.index("a-office.pdf")
    assert c.get("/api/search?q=A100").json()["error"].startswith("no store")


# --- review --html and --to-gold ---------------------------------------------------------------


def test_review_html_is_self_contained_and_escaped(desk_dir: Path, tmp_path: Path) -> None:
    records = fresh(desk_dir, tmp_path)
    out = tmp_path / "review.html"
    r = run_cli("review", str(records), "--html", str(out))
    assert r.returncode == 0, r.stderr
    html = out.read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") >= 8  # page crops embedded
    assert not re.search(r"""(src|href)=["']?(https?:|//|/)""", html)  # nothing fetched from anywhere
    assert "&lt;script&gt;alert(1)&lt;/script&gt;大学" in html and "<script>alert" not in html
    assert html.index("hostile.pdf") > 0 and 'data-flagged="1"' in html


def test_gold_export_from_review_scores_with_eval(desk_dir: Path, tmp_path: Path) -> None:
    records = fresh(desk_dir, tmp_path)
    sha = sha_of(records, AWS)
    log = ReviewLog(review_path_for(records))
    rec = next(json.loads(x) for x in records.read_text(encoding="utf-8").splitlines() if sha in x)
    schema = load_schema("tender")
    log.record(schema, rec, "buyer", "accept", reviewer="tester")
    log.record(schema, rec, "budget_cny", "correct", reviewer="tester", value="150万元")  # deliberately not the PDF's 145万元
    gold = tmp_path / "gold"
    r = run_cli("review", str(records), "--to-gold", str(gold))
    assert r.returncode == 0, r.stderr
    data = json.loads((gold / "award-univ-aws-a100-cloud.gold.json").read_text(encoding="utf-8"))
    assert data["labels"] == {"buyer": "沪东理工大学", "budget_cny": 1500000}
    assert (gold / AWS).is_file()
    scores = tmp_path / "scores.json"
    ev = run_cli("eval", str(gold), "--predictions", str(records), "--json", str(scores))
    assert ev.returncode == 0, ev.stderr
    fields = json.loads(scores.read_text(encoding="utf-8"))["fields"]
    assert fields["buyer"]["accuracy"] == 1.0 and fields["budget_cny"]["accuracy"] == 0.0


def test_cli_refuses_unsafe_or_empty_setups(tmp_path: Path, desk_dir: Path) -> None:
    records = fresh(desk_dir, tmp_path)
    r = run_cli("serve", "--records", str(records), "--host", "0.0.0.0")
    assert r.returncode == 2 and "--token" in r.stderr
    r = run_cli("serve", "--records", str(tmp_path / "none.jsonl"))
    assert r.returncode == 2
    r = run_cli("serve", cwd=tmp_path)
    assert r.returncode == 2 and "nothing to show" in r.stderr
    r = run_cli("review", str(records), "--to-gold", str(tmp_path / "g"))
    assert r.returncode == 2 and "no review decisions" in r.stderr


def test_a_scanned_documents_evidence_is_found_in_its_ocr_text(tmp_path: Path) -> None:
    """Issue 23: a scan's values were verified while the desk said their quotes were not in the text."""
    name = "scanned-award-hygon-dcu-servers.pdf"
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(SAMPLES / name, docs / name)
    records = tmp_path / "out" / "records.jsonl"
    extract_documents([docs], backend="rules", out=records)
    rec = json.loads(records.read_text(encoding="utf-8").splitlines()[0])
    buyer = rec["fields"]["buyer"]
    assert buyer["source"] == "ocr" and buyer["located"] is True
    ev = client(records).get(f"/api/documents/{rec['sha256']}/evidence/buyer").json()
    assert ev["found"] is True and ev["page"] == buyer["page"]
    assert "not found" not in ev["note"] and "OCR" in ev["note"]
    assert any(s.get("mark") for s in ev["segments"])  # the quote is marked in the OCR text
    # and the recognised line that holds it is boxed on the page image, where the buyer's name is printed
    assert ev["boxes"] and all(0 <= b["x0"] < b["x1"] <= 1 and 0 <= b["y0"] < b["y1"] <= 1 for b in ev["boxes"])
    import io

    from PIL import Image

    page = Image.open(io.BytesIO(PageImages().render(docs / name, ev["page"], scale=1.0))).convert("L")
    w, h = page.size
    for b in ev["boxes"]:
        region = page.crop((int(b["x0"] * w), int(b["y0"] * h), int(b["x1"] * w) + 1, int(b["y1"] * h) + 1))
        assert region.getextrema()[0] < 100  # dark glyph pixels of the scan under the box


def test_review_html_crops_end_between_lines_not_through_them(desk_dir: Path, tmp_path: Path) -> None:
    """Every crop's first and last pixel rows are blank paper: no text line is cut in half at its edges."""
    import base64
    import io

    from PIL import Image

    records = fresh(desk_dir, tmp_path)
    out = tmp_path / "review.html"
    r = run_cli("review", str(records), "--html", str(out))
    assert r.returncode == 0, r.stderr
    crops = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", out.read_text(encoding="utf-8"))
    assert len(crops) >= 8
    cut = []
    for n, data in enumerate(crops):
        im = Image.open(io.BytesIO(base64.b64decode(data))).convert("L")
        w, h = im.size
        px = im.load()
        # table borders run through every row of a crop: ink there is a rule, not a cut glyph
        rows = range(0, h, max(1, h // 24))
        rules = {x + d for x in range(w) if sum(px[x, y] < 160 for y in rows) > len(rows) // 2 for d in (-2, -1, 0, 1, 2)}
        for y in (0, h - 1):
            ink = [x for x in range(w) if px[x, y] < 160 and x not in rules]
            long_rule = len(ink) > w // 3  # a horizontal table border along the edge is not a cut line
            if len(ink) > 2 and not long_rule:  # glyph ink on the edge row: a text line cut in half
                cut.append((n, y, len(ink)))
    assert not cut, cut


@pytest.mark.parametrize("name", ["award-kv-grid-construction.pdf", "scanned-award-kv-grid-construction.pdf"])
def test_a_table_values_cell_is_boxed_on_the_page(tmp_path: Path, name: str) -> None:
    """Issue 22: a value read from a table cell (a PDF's ruled cell, a scan's OCR grid) comes with the
    cell's box as fractions of the page image, around the quote's own boxes."""
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(SAMPLES / name, docs / name)
    records = tmp_path / "out" / "records.jsonl"
    extract_documents([docs], backend="rules", out=records)
    rec = json.loads(records.read_text(encoding="utf-8").splitlines()[0])
    buyer = rec["fields"]["buyer"]
    assert buyer["value"] == "宜陵市水务投资有限公司" and buyer["cell"]["bbox"]
    ev = client(records).get(f"/api/documents/{rec['sha256']}/evidence/buyer").json()
    cell = ev["cell_box"]
    assert cell is not None and 0 <= cell["x0"] < cell["x1"] <= 1 and 0 <= cell["y0"] < cell["y1"] <= 1
    assert ev["boxes"]
    for b in ev["boxes"]:  # the quote sits inside its cell (a scan's tilt moves the OCR box a little)
        cx, cy = (b["x0"] + b["x1"]) / 2, (b["y0"] + b["y1"]) / 2
        assert cell["x0"] - 0.01 <= cx <= cell["x1"] + 0.01 and cell["y0"] - 0.01 <= cy <= cell["y1"] + 0.01
    # a value not read from a table has no cell box
    code = client(records).get(f"/api/documents/{rec['sha256']}/evidence/notice_type").json()
    assert code["cell_box"] is None
