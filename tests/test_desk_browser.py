"""The desk in a real browser: Debian's chromium driven by Playwright (never `playwright install`).

A store and records are built from three samples and one PDF whose buyer is markup; the real
`tenderx serve` runs in a subprocess on a free loopback port. The test filters to flagged
documents, opens one, clicks a value and checks that the highlight boxes sit over the quote's
ink on the page image; corrects a value by typing it and selecting the quote in the page text,
restarts the server and finds the correction kept; exports gold and scores it with `tenderx eval`.
Screenshots go to $TENDERX_TEST_ARTIFACTS (or the test's tmp dir).
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import SAMPLES, new_page, run_cli
from pdf_factory import make_pdf

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
AWS = "award-univ-aws-a100-cloud.pdf"
SAMPLE_NAMES = (AWS, "award-property-management.pdf", "award-volcengine-deepseek-tokens.pdf")
HOSTILE_BUYER = "<script>alert(1)</script>大学"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (make system-deps-test)"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """`tenderx serve` in a subprocess, as a user starts it."""

    def __init__(self, cwd: Path, port: int) -> None:
        self.cwd, self.port, self.proc = cwd, port, None
        self.token = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "TENDERX_"))}
        self.log = (self.cwd / f"serve-{time.time_ns()}.log").open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "extractor", "serve", "--records", "out/records.jsonl", "--store", "store",
             "--port", str(self.port)], cwd=self.cwd, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, (self.cwd / self.log.name).read_text()
            printed = re.search(r"\?token=([\w-]+)", (self.cwd / self.log.name).read_text())
            if not printed:
                time.sleep(0.3)
                continue
            self.token = printed.group(1)  # a new one each run, as a user reads it off the terminal
            try:
                with urllib.request.urlopen(self.request("/api/documents"), timeout=5) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.3)
        raise AssertionError("the desk did not start")

    def login(self, path: str) -> str:
        """The URL as `tenderx serve` prints it, for ``path``."""
        return f"{self.url}{path}{'&' if '?' in path else '?'}token={self.token}"

    def request(self, path: str) -> urllib.request.Request:
        return urllib.request.Request(self.url + path, headers={"X-Tenderx-Token": self.token})

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
        self.log.close()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from extractor.pipeline.extract import extract_documents
    from extractor.pipeline.ingest import ingest

    root = tmp_path_factory.mktemp("desk-browser")
    docs = root / "docs"
    docs.mkdir()
    for name in SAMPLE_NAMES:
        shutil.copy(SAMPLES / name, docs / name)
    make_pdf(docs / "hostile.pdf", [["某某大学服务器采购项目中标结果公告", f"采购人名称：{HOSTILE_BUYER}",
                                     "中标供应商：<img src=x onerror=alert(2)>科技有限公司", "中标金额：100万元",
                                     "采购内容：NVIDIA A100 GPU服务器 4台", "2024年5月1日"]])
    report = ingest([docs], store_dir=root / "store")
    assert not report.failed
    extract_documents([docs], backend="rules", out=root / "out" / "records.jsonl")
    return root


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = Path(os.environ.get("TENDERX_TEST_ARTIFACTS") or tmp_path_factory.mktemp("desk-screens"))
    out.mkdir(parents=True, exist_ok=True)
    return out


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield b
        b.close()


def wait_until(page: object, js: str, timeout: float = 30) -> None:
    """Poll a JS expression (page.wait_for_function would eval a string, which the desk's CSP forbids)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(js):  # type: ignore[attr-defined]
        assert time.monotonic() < deadline, f"timed out waiting for {js}"
        time.sleep(0.1)


def ink_and_highlight(png: bytes) -> tuple[int, int]:
    """Pixels that are dark (glyph ink) and pixels tinted by the yellow highlight, in a screenshot."""
    from PIL import Image

    im = Image.open(io.BytesIO(png)).convert("RGB")
    dark = yellow = 0
    for r, g, b in im.get_flattened_data() if hasattr(im, "get_flattened_data") else im.getdata():
        if r + g + b < 300:
            dark += 1
        if r > 200 and g > 150 and b < 170:
            yellow += 1
    return dark, yellow


def test_review_in_the_browser_survives_a_restart_and_becomes_gold(workspace: Path, artifacts: Path,
                                                                   browser: object) -> None:
    from playwright.sync_api import expect

    server = Server(workspace, free_port()).start()
    page = new_page(browser, viewport={"width": 1500, "height": 950})
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith((server.url, "data:")) else outside.append(r.url))
    try:
        # overview: four documents, the filter keeps the two flagged ones; the hostile buyer is text
        with pytest.raises(urllib.error.HTTPError) as refused:  # without the printed token: nothing
            urllib.request.urlopen(server.url + "/api/documents", timeout=5)
        assert refused.value.code == 401
        page.goto(server.login("/"))
        assert page.url == server.url + "/"  # the token left the address bar
        assert page.locator("#docs tbody tr").count() == 4
        page.get_by_text(HOSTILE_BUYER, exact=True).wait_for()
        page.check("#f-flagged")
        visible = page.locator("#docs tbody tr:visible")
        assert visible.count() == 2
        assert sorted(visible.locator("a.doc-link").all_inner_texts()) == [AWS, "hostile.pdf"]
        page.screenshot(path=str(artifacts / "desk-overview.png"), full_page=True)

        # document: click a value, the quote is boxed on the page image and marked in the text
        page.locator("a.doc-link", has_text=AWS).click()
        page.locator("#reviewer").fill("browser-test")
        page.locator("#reviewer").dispatch_event("change")
        page.click("button.value[data-field=cloud_providers]")
        page.wait_for_selector("#hl-layer .hl")
        wait_until(page, "document.getElementById('page-img').complete")
        assert "Amazon Web" in page.inner_text("#page-text mark")
        boxes = page.locator("#hl-layer .hl")
        assert boxes.count() == 2  # the quote breaks over two lines of a table cell
        img = page.locator("#page-img").bounding_box()
        for i in range(boxes.count()):
            bb = boxes.nth(i).bounding_box()
            assert bb and img and bb["width"] > 5 and bb["height"] > 5
            assert img["x"] <= bb["x"] and bb["x"] + bb["width"] <= img["x"] + img["width"]
            assert img["y"] <= bb["y"] and bb["y"] + bb["height"] <= img["y"] + img["height"]
            assert boxes.nth(i).is_visible()
            dark, yellow = ink_and_highlight(page.screenshot(clip=bb))
            assert dark > 10 and yellow > 10, (dark, yellow)  # printed glyphs under a visible highlight
        page.screenshot(path=str(artifacts / "desk-document.png"))

        # correct a value: type it, pick the quote by selecting it in the page text
        page.click("button.value[data-field=budget_cny]")
        page.wait_for_selector("#page-text mark")
        page.click("button.correct[data-field=budget_cny]")
        page.fill("#cf-value", "150万元")
        page.evaluate("""() => {
            const pre = document.getElementById('page-text');
            const walker = document.createTreeWalker(pre, NodeFilter.SHOW_TEXT);
            const want = '项目预算金额为人民币145万元';
            for (let n = walker.nextNode(); n; n = walker.nextNode()) {
                const at = n.data.indexOf(want);
                if (at >= 0) {
                    const r = document.createRange(); r.setStart(n, at); r.setEnd(n, at + want.length);
                    const s = window.getSelection(); s.removeAllRanges(); s.addRange(r);
                    pre.dispatchEvent(new MouseEvent('mouseup', {bubbles: true}));
                    return;
                }
            }
            throw new Error('quote not in page text');
        }""")
        assert page.input_value("#cf-quote") == "项目预算金额为人民币145万元"
        page.click("#cf-save")
        page.locator("#field-budget_cny .corrected").wait_for()
        assert page.inner_text("#field-budget_cny .corrected") == "→ 1500000"
        page.click("button.accept[data-field=buyer]")
        expect(page.locator("#field-buyer .decision")).to_contain_text("accepted")
        page.screenshot(path=str(artifacts / "desk-corrected.png"))

        # restart: the correction is still there
        server.stop()
        server.start()
        page.goto(server.login(page.url[len(server.url):]))  # a restarted desk has a new token
        assert page.inner_text("#field-budget_cny .corrected") == "→ 1500000"
        assert page.inner_text("#field-budget_cny .decision") == "corrected by browser-test · reviewer-stated"  # 145万元 does not state 1500000
        assert page.inner_text("#field-buyer .decision") == "accepted by browser-test"

        # search: a hit opens its document at its page
        page.goto(server.url + "/search?q=" + urllib.request.quote("亚马逊云服务 A100"))  # the cookie holds
        first = page.locator("a.hit-link").first
        assert AWS in first.inner_text() and page.locator(".snippet mark").count() > 0
        target_page = first.inner_text().rsplit("page ", 1)[1].strip()
        page.screenshot(path=str(artifacts / "desk-search.png"))
        first.click()
        expect(page.locator("#page-no")).to_have_text(target_page)

        # find within the document (to fill a value the extraction missed), then jump to a page
        page.fill("#find-q", "预算金额")
        page.click("#find-form button")
        page.locator("#find-hits li button").first.wait_for()
        hit_page = page.inner_text("#find-hits li button >> nth=0").split()[-1]
        page.click("#find-hits li button >> nth=0")
        expect(page.locator("#page-no")).to_have_text(hit_page)
        page.fill("#goto-page", "2")
        page.press("#goto-page", "Enter")
        expect(page.locator("#page-no")).to_have_text("2")
        rows = json.loads(urllib.request.urlopen(server.request("/api/records"), timeout=30).read())["rows"]
        aws = next(r["id"] for r in rows if r["name"] == AWS)
        found = json.loads(urllib.request.urlopen(
            server.request(f"/api/search?k=5&doc={aws}&q=" + urllib.request.quote("预算")), timeout=60).read())
        assert found["hits"] and {h["doc"] for h in found["hits"]} == {aws}
        assert dialogs == [] and outside == []  # no script from a document ran; nothing left the machine
    finally:
        page.close()
        server.stop()

    # the review becomes gold labels that `tenderx eval` scores
    gold = workspace / "gold"
    r = run_cli("review", "out/records.jsonl", "--to-gold", str(gold), cwd=workspace)
    assert r.returncode == 0, r.stderr
    labels = json.loads((gold / "award-univ-aws-a100-cloud.gold.json").read_text(encoding="utf-8"))["labels"]
    assert labels == {"budget_cny": 1500000, "buyer": "沪东理工大学"}
    scores = workspace / "scores.json"
    ev = run_cli("eval", str(gold), "--predictions", "out/records.jsonl", "--json", str(scores), cwd=workspace)
    assert ev.returncode == 0, ev.stdout + ev.stderr
    fields = json.loads(scores.read_text(encoding="utf-8"))["fields"]
    assert fields["buyer"]["accuracy"] == 1.0 and fields["budget_cny"]["accuracy"] == 0.0  # the reviewer disagreed


def test_review_html_opens_offline_with_page_crops(workspace: Path, artifacts: Path, browser: object) -> None:
    out = workspace / "review.html"
    r = run_cli("review", "out/records.jsonl", "--html", str(out), cwd=workspace)
    assert r.returncode == 0, r.stderr
    page = new_page(browser, viewport={"width": 1200, "height": 900})
    requests: list[str] = []
    page.on("request", lambda req: requests.append(req.url))
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        page.goto(out.as_uri())
        sections = page.locator("section.rdoc")
        assert sections.count() == 4
        assert sections.first.get_attribute("data-flagged") == "1"  # flagged first
        crops = page.locator("section.rdoc img")
        assert crops.count() >= 10
        assert page.evaluate("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
        page.check("#f-flagged")
        assert page.locator("section.rdoc:visible").count() == 2
        page.screenshot(path=str(artifacts / "desk-review-html.png"))
        assert [u for u in requests if not u.startswith(("file:", "data:"))] == []
        assert dialogs == []
    finally:
        page.close()



@pytest.fixture(scope="module")
def failed_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A good notice and a broken (truncated) PDF, extracted with the rules engine: one record has errors."""
    from extractor.pipeline.extract import extract_documents
    from extractor.pipeline.ingest import ingest

    root = tmp_path_factory.mktemp("desk-failed")
    docs = root / "docs"
    docs.mkdir()
    for name in (AWS, "broken-truncated.pdf"):
        shutil.copy(SAMPLES / name, docs / name)
    ingest([docs], store_dir=root / "store")  # the broken file fails here too
    extract_documents([docs], backend="rules", out=root / "out" / "records.jsonl")
    return root


def test_a_failed_file_reads_clearly_and_offers_nothing_to_review(failed_workspace: Path, artifacts: Path,
                                                                  browser: object) -> None:
    server = Server(failed_workspace, free_port()).start()
    page = new_page(browser, viewport={"width": 1500, "height": 950})
    try:
        page.goto(server.login("/"))
        badge = page.locator("#docs .badge.err").first
        badge.wait_for()
        colours = badge.evaluate("b => { const s = getComputedStyle(b); return [s.color, s.backgroundColor]; }")
        assert colours[0] != colours[1] and colours[0] == "rgb(255, 255, 255)", colours  # white on red
        page.locator("a.doc-link", has_text="broken-truncated.pdf").click()
        page.locator(".error-box").first.wait_for()
        page.screenshot(path=str(artifacts / "desk-failed-file.png"), full_page=True)
        assert page.locator("button.accept, button.correct").count() == 0
        broken_images = page.evaluate("Array.from(document.images).filter(i => i.offsetParent !== null && "
                                      "!(i.complete && i.naturalWidth > 0)).length")
        assert broken_images == 0
        assert "no page view" in page.locator("#evidence").inner_text()
        # a readable document still offers review, and its field table's headers do not run together
        page.goto(server.login("/"))
        page.locator("a.doc-link", has_text=AWS).click()
        page.locator("button.accept").first.wait_for()
        heads = page.evaluate("""Array.from(document.querySelectorAll('.fields-table thead th')).map(th => {
            const r = document.createRange(); r.selectNodeContents(th); const t = r.getBoundingClientRect();
            const c = th.getBoundingClientRect(); const s = getComputedStyle(th);
            return [th.textContent, t.left, t.right, c.left + parseFloat(s.paddingLeft),
                    c.right - parseFloat(s.paddingRight)]; })""")
        by_name = {h[0]: h for h in heads}
        assert by_name["page"][2] <= by_name["page"][4] + 0.5, by_name["page"]  # "page" fits its column
        assert by_name["page"][2] < by_name["quote"][1], (by_name["page"], by_name["quote"])
        wait_until(page, "document.getElementById('page-img').complete && "
                         "document.getElementById('page-img').naturalWidth > 0")
    finally:
        page.close()
        server.stop()
