"""The hybrid backend end to end through the CLI, against the real local OpenAI-protocol server:
rules first, the LLM asked only for unsettled fields with the context retrieved for them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from extractor.backends.hybrid import fields_to_ask, merge
from extractor.backends.llm import prompt_tokens
from extractor.backends.llm.prompts import build_messages
from extractor.backends.rules import extract_rules
from extractor.core.document import FieldValue
from extractor.core.schema import load_schema
from extractor.read.pdf import read_pdf
from tests.conftest import run_cli
from tests.openai_server import Recorded, Reply, chat_reply
from tests.openai_server import openai_server as openai_server

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
SETTLED = "award-property-management"  # the rules settle every field: no LLM call
ASKED = "award-univ-aws-a100-cloud"  # the rules leave ai_models unsettled (AI words, no model named)
LOW = "intention-univ-h20-compute"  # the project name comes from the title: low confidence


def _requested(req: Recorded) -> list[str]:
    return list(req.body["response_format"]["json_schema"]["schema"]["properties"]["fields"]["required"])


def model(req: Recorded) -> Reply:
    """A stand-in LLM: empty answers, except a project name it 'reads' (quoted from the prompt)."""
    fields: dict = {}
    for n in _requested(req):
        fields[n] = {"value": [] if n in ("suppliers", "chips", "cloud_providers", "ai_models") else None,
                     "page": None, "quote": None}
    if "project_name" in fields and "江州大学" in req.prompt_text:
        fields["project_name"] = {"value": "智能计算服务器采购", "page": 1, "quote": "智能计算服务器采购"}
    return chat_reply({"fields": fields}, usage={"prompt_tokens": prompt_tokens(req.messages), "completion_tokens": 50})


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    d = tmp_path / "in"
    d.mkdir()
    for name in (SETTLED, ASKED, LOW):
        shutil.copy(SAMPLES / f"{name}.pdf", d / f"{name}.pdf")
    return d


def _env(server) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": "sk-test-key", "TENDERX_MODEL": "gpt-4o-mini"}


@pytest.mark.slow
def test_hybrid_asks_only_unsettled_fields_with_retrieved_context(folder: Path, tmp_path: Path, openai_server) -> None:
    openai_server.handler = model
    out = tmp_path / "hybrid.jsonl"
    r = run_cli("extract", str(folder), "--backend", "hybrid", "-o", str(out), "--store", str(tmp_path / "st"),
                env=_env(openai_server))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "backend: hybrid" in r.stdout
    recs = {Path(x["file"]).stem: x for x in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    assert all(rec["backend"] == "hybrid" for rec in recs.values())

    requests = openai_server.chat_requests()
    asked = [set(_requested(q)) for q in requests]
    assert len(requests) == 2 and recs[SETTLED]["usage"]["calls"] == 0  # a settled document costs nothing
    assert {"ai_models"} in asked and all("buyer" not in a for a in asked)

    schema = load_schema("tender")
    aws_req = next(q for q in requests if _requested(q) == ["ai_models"])
    whole = prompt_tokens(build_messages(schema, read_pdf(SAMPLES / f"{ASKED}.pdf").pages, schema.fields))
    assert prompt_tokens(aws_req.messages) < whole / 2  # the context retrieved for one field, not the document

    aws = recs[ASKED]["fields"]
    assert aws["buyer"]["value"] == "沪东理工大学" and aws["buyer"]["engine"] == "rules"
    assert aws["buyer"]["confidence"] == "high"
    low = recs[LOW]["fields"]["project_name"]
    assert low["engine"] == "llm" and low["value"] == "智能计算服务器采购"
    assert low["disputed"] is True and low["verified"] is False  # the rules read it differently: shown, not trusted
    assert all("engine" in fv for rec in recs.values() for fv in rec["fields"].values())


@pytest.mark.slow
def test_auto_picks_hybrid_when_an_llm_is_configured(folder: Path, tmp_path: Path, openai_server) -> None:
    openai_server.handler = model
    out = tmp_path / "auto.jsonl"
    r = run_cli("extract", str(folder / f"{SETTLED}.pdf"), "-o", str(out), "--store", str(tmp_path / "st"),
                env=_env(openai_server))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "backend: hybrid" in r.stdout and openai_server.chat_requests() == []


def test_merge_takes_llm_answers_only_for_asked_fields() -> None:
    schema = load_schema("tender")
    rules = extract_rules(read_pdf(SAMPLES / f"{LOW}.pdf"), schema)
    asked = fields_to_ask(rules, schema)
    assert "project_name" in [f.name for f in asked] and rules["project_name"].confidence == "low"
    answers = {"project_name": FieldValue("智能计算服务器采购", 1, "智能计算服务器采购"),
               "buyer": FieldValue("别的单位", 1, "别的单位")}
    merged = merge(rules, answers, asked)
    assert merged["project_name"].value == "智能计算服务器采购" and merged["project_name"].engine == "llm"
    assert merged["buyer"] is rules["buyer"]  # not asked: the rules' value stands
