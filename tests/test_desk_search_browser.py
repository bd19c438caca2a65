"""The desk's search in a real browser (issue 26): an English query finds Chinese notices; each
hit shows its document's buyer, notice type, flags and list status; hits are grouped by
document; the notice-type, flagged and date filters narrow the list. Debian's chromium via
Playwright, the real `tenderx serve` in a subprocess (helpers of test_desk_browser)."""

from __future__ import annotations

import json
import shutil
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import SAMPLES, new_page
from test_desk_browser import ARGS, CHROMIUM, Server, free_port

NAMES = ("award-property-management.pdf", "chain-hospital-1-tender.pdf", "chain-hospital-2-termination.pdf",
         "award-ustc-suzhou-a100-rental.pdf", "intention-office-equipment.pdf")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (make system-deps-test)"),
]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from extractor.pipeline.extract import extract_documents
    from extractor.pipeline.ingest import ingest

    root = tmp_path_factory.mktemp("desk-search")
    docs = root / "docs"
    docs.mkdir()
    for name in NAMES:
        shutil.copy(SAMPLES / name, docs / name)
    assert not ingest([docs], store_dir=root / "store").failed
    extract_documents([docs], backend="rules", out=root / "out" / "records.jsonl")
    return root


@pytest.fixture(scope="module")
def server(workspace: Path) -> Iterator[Server]:
    s = Server(workspace, free_port()).start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield b
        b.close()


def _records(workspace: Path) -> dict[str, dict]:
    rows = [json.loads(line) for line in (workspace / "out" / "records.jsonl").read_text(encoding="utf-8").splitlines()]
    return {Path(r["file"]).name: r for r in rows}


def _groups(page: object) -> list[dict]:
    return page.evaluate(  # type: ignore[attr-defined]
        """() => [...document.querySelectorAll('li.hit-group')].map(g => ({
            name: g.querySelector('.group-head .muted').textContent.trim(),
            buyer: g.querySelector('.fact.buyer').textContent.trim(),
            type: g.querySelector('.fact.notice-type').textContent.trim(),
            flags: [...g.querySelectorAll('.badge.flag')].map(b => b.textContent.trim()),
            listed: [...g.querySelectorAll('.badge.listed')].map(b => b.textContent.trim()),
            listStatus: (g.querySelector('.fact.list-status') || {}).textContent || '',
            hits: g.querySelectorAll('li.hit').length}))""")


def test_search_page_shows_document_facts_groups_and_filters(workspace: Path, server: Server, browser: object) -> None:
    records = _records(workspace)
    page = new_page(browser)
    page.goto(server.login("/search?" + urllib.parse.urlencode({"q": "firewall for a county hospital"})))
    groups = _groups(page)
    names = [g["name"] for g in groups]
    assert names and names[0].startswith("chain-hospital-"), names  # English query, Chinese notice
    assert len(names) == len(set(names))  # one group per document, its hits inside
    assert sum(g["hits"] for g in groups) >= len(groups)
    tender = next(g for g in groups if g["name"] == "chain-hospital-1-tender.pdf")
    rec = records["chain-hospital-1-tender.pdf"]
    assert tender["buyer"] == f"buyer: {rec['fields']['buyer']['value']}"
    assert tender["type"] == rec["fields"]["notice_type"]["value"] == "tender"
    assert tender["listed"] == [] and "no party on a US list" in tender["listStatus"]

    # the notice-type filter, chosen in the form as a user does
    page.select_option("select[name=type]", "termination")
    page.click("form.search button")
    page.wait_for_load_state()
    narrowed = _groups(page)
    assert [g["name"] for g in narrowed] == ["chain-hospital-2-termination.pdf"]
    assert "type=termination" in page.url

    # flagged only: every group shown carries a flag or a listed party, and the unflagged are gone
    flagged = {Path(r["file"]).name for r in records.values()
               if [f for f in r.get("flags") or [] if not f.startswith("unverified:") and f != "needs_ocr"]
               or r["fields"].get("restricted_us_tech", {}).get("value") is True}
    page.goto(server.login("/search?" + urllib.parse.urlencode({"q": "采购项目 中标"})))
    everything = {g["name"] for g in _groups(page)}
    assert everything - flagged  # unflagged documents answer this query ...
    page.goto(server.login("/search?" + urllib.parse.urlencode({"q": "采购项目 中标", "flagged": "1"})))
    shown = _groups(page)
    assert shown and {g["name"] for g in shown} <= flagged  # ... and are gone when flagged only
    ustc = next(g for g in shown if g["name"] == "award-ustc-suzhou-a100-rental.pdf")
    assert "restricted_us_tech" in ustc["flags"]
    assert any("entity_list" in x and "[subunit]" in x for x in ustc["listed"])  # the buyer is a listed university's unit

    # dates: only documents published inside the range
    date = rec["fields"]["publish_date"]["value"]
    assert date
    page.goto(server.login("/search?" + urllib.parse.urlencode({"q": "hospital", "from": date, "to": date})))
    dated = _groups(page)
    assert dated and all(records[g["name"]]["fields"]["publish_date"]["value"] == date for g in dated)
    page.close()


def test_search_api_returns_the_same_facts(workspace: Path, server: Server) -> None:
    path = "/api/search?" + urllib.parse.urlencode({"q": "property management", "k": 5})
    with urllib.request.urlopen(server.request(path), timeout=120) as r:
        body = json.loads(r.read())
    first = body["groups"][0]
    assert first["name"] == "award-property-management.pdf"
    assert first["notice_type"] == "award" and first["buyer"]
    assert {h["name"] for g in body["groups"] for h in g["hits"]} == {h["name"] for h in body["hits"]}
