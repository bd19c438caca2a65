"""With a perfect model the LLM path loses nothing, and hybrid keeps at least the rules' score.

A real local OpenAI-protocol server answers every request from the gold labels of the document the
prompt shows, quoting the line (or table cell) that states each value (``tests/perfect_reader.py``).
The real CLI extracts samples with ``--backend llm`` and ``--backend hybrid`` against it and
``tenderx eval --predictions`` scores the records: a one-page award whose winners sit only in a
lot table, a 31-page tender package (planned as retrieval calls, quotes on later pages), a notice
whose buyer label ends page 1 and whose buyer opens page 2, and a saved web award with tables.
Losses found this way that are not the LLM backend's to fix are each pinned by a strict xfail.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.perfect_reader import Answer, perfect_reader_server

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
CLEAN = ["award-multi-lot-campus-network.pdf", "package-city-govcloud-ascend.pdf",
         "award-property-management.pdf", "web/zcy-award-deepseek-api-tokens.html"]
# documents with a known loss, each pinned below; every other value of theirs is held to the same bar
DEFECTS = ["web/ccgp-local-tender-hospital-servers.html", "award-one-failed-lot.pdf",
           "award-kv-grid-construction.pdf"]
# (document, field) right but not verified for a reason outside the LLM path: the xfails below
KNOWN_UNVERIFIED = {("ccgp-local-tender-hospital-servers.html", "server_count"),
                    ("award-one-failed-lot.pdf", "award_amount_cny")}


@dataclass
class Run:
    """One backend's extraction against the perfect reader."""

    records: dict[str, dict[str, Any]]  # document file name → its fields
    scores: dict[str, Any]  # ``tenderx eval --json`` of those records
    answers: dict[tuple[str, str], Answer]  # what the reader answered

    def errors(self) -> set[tuple[str, str]]:
        return {(Path(d["file"]).name, e["field"]) for d in self.scores["documents_detail"] for e in d["errors"]}

    def quoted(self) -> list[tuple[str, str, dict[str, Any]]]:
        """(document, field, record value) of every value the record took from a reader's quote."""
        out = []
        for (doc, name), answer in self.answers.items():
            fv = self.records[doc][name]
            if answer.quote and fv.get("engine") in (None, "llm") and fv.get("value") == answer.value:
                out.append((doc, name, fv))
        return out


def _scores(gold: Path, args: list[str], out: Path) -> dict[str, Any]:
    res = run_cli("eval", str(gold), *args, "--json", str(out))
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    return dict(json.loads(out.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """``llm`` and ``hybrid`` runs against the perfect reader, and the ``rules`` scores."""
    tmp = tmp_path_factory.mktemp("perfect")
    gold = tmp / "gold"
    gold.mkdir()
    for doc in CLEAN + DEFECTS:
        src = SAMPLES / doc
        shutil.copy(src, gold / src.name)
        shutil.copy(src.with_name(src.stem + ".gold.json"), gold / (src.stem + ".gold.json"))
    out: dict[str, Any] = {"rules": _scores(gold, ["--backend", "rules"], tmp / "rules.json")}
    with perfect_reader_server(gold) as (server, reader):
        env = {"OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": "sk-perfect", "TENDERX_MODEL": "perfect-reader"}
        for backend in ("llm", "hybrid"):
            reader.answers.clear()
            records = tmp / f"{backend}.jsonl"
            res = run_cli("extract", str(gold), "--backend", backend, "-o", str(records), "--store",
                          str(tmp / "store"), "--no-cache", "-j", "2", env=env)
            assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
            assert reader.unrecognised == 0
            recs = [json.loads(line) for line in records.read_text(encoding="utf-8").splitlines()]
            out[backend] = Run({Path(r["file"]).name: r["fields"] for r in recs},
                               _scores(gold, ["--predictions", str(records)], tmp / f"{backend}.json"),
                               dict(reader.answers))
    return out


def test_llm_gets_every_gold_field_and_every_quoted_value_verified(runs: dict[str, Any]) -> None:
    llm: Run = runs["llm"]
    assert llm.errors() == set()
    assert llm.scores["micro_f1"] == 1.0
    quoted = llm.quoted()
    assert len(quoted) >= 40  # the bar below is held over the whole of every document's answer
    unverified = {(doc, name): fv.get("quote") for doc, name, fv in quoted
                  if fv.get("verified") is not True and (doc, name) not in KNOWN_UNVERIFIED}
    assert unverified == {}
    # the package was read in retrieval calls, and quotes from its later pages kept their page
    package = [fv for doc, _, fv in quoted if doc == "package-city-govcloud-ascend.pdf"]
    assert package and any(fv["page"] > 1 for fv in package)
    # the buyer's label ends page 1; the reader quotes page 2's 名称 line, and it verifies
    buyer = llm.records["award-property-management.pdf"]["buyer"]
    assert (buyer["page"], buyer["verified"]) == (2, True)
    # a winner cited by its lot-table cell: tenderx filled the cell's text in as the quote
    suppliers = llm.records["award-multi-lot-campus-network.pdf"]["suppliers"]
    assert suppliers["verified"] is True and suppliers["quote"] in suppliers["value"]


def test_hybrid_keeps_the_rules_score_and_verifies_what_the_reader_quoted(runs: dict[str, Any]) -> None:
    hybrid: Run = runs["hybrid"]
    assert hybrid.errors() <= {(Path(d["file"]).name, e["field"]) for d in runs["rules"]["documents_detail"]
                               for e in d["errors"]}
    assert hybrid.scores["micro_f1"] >= runs["rules"]["micro_f1"]
    quoted = hybrid.quoted()
    assert quoted  # hybrid asked the reader something and took its answer
    assert {(doc, name): fv.get("quote") for doc, name, fv in quoted
            if fv.get("verified") is not True and (doc, name) not in KNOWN_UNVERIFIED} == {}


@pytest.mark.xfail(strict=True, reason="core.shape's `count` check reads only the cited cell's text (12台), "
                   "not its row (the server item) or column (数量): a server count cited from a quantity "
                   "cell is never verified")
def test_a_count_cited_from_a_quantity_cell_verifies(runs: dict[str, Any]) -> None:
    fv = runs["llm"].records["ccgp-local-tender-hospital-servers.html"]["server_count"]
    assert fv["value"] == 12
    assert fv["verified"] is True


def test_hybrid_asks_for_a_count_the_rules_missed(runs: dict[str, Any]) -> None:
    assert runs["hybrid"].records["ccgp-local-tender-hospital-servers.html"]["server_count"]["value"] == 12


@pytest.mark.xfail(strict=True, reason="core.shape's `total_of_lots` check rejects the award total when it "
                   "is the amount of the one lot awarded (the others failed), so the right total never verifies")
def test_the_only_awarded_lot_amount_verifies_as_the_total(runs: dict[str, Any]) -> None:
    fv = runs["llm"].records["award-one-failed-lot.pdf"]["award_amount_cny"]
    assert fv["value"] == 1320000
    assert fv["verified"] is True


def test_a_buyer_from_a_construction_grid_verifies(runs: dict[str, Any]) -> None:
    fv = runs["llm"].records["award-kv-grid-construction.pdf"]["buyer"]
    assert fv["value"] == "宜陵市水务投资有限公司"
    assert fv["verified"] is True


def test_an_amount_from_a_construction_grid_verifies(runs: dict[str, Any]) -> None:
    fv = runs["llm"].records["award-kv-grid-construction.pdf"]["award_amount_cny"]
    assert (fv["value"], fv["quote"]) == (18623500, "1,862.35")
    assert fv["verified"] is True
