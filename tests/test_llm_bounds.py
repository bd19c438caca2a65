"""Bounded LLM work: a total deadline per request, max_tokens, a response size cap, a short repair
round, over-long values cut and flagged, failed calls counted, unknown answer keys ignored.

Every test talks to the real local OpenAI-protocol server; the CLI tests run tenderx as a user does.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from extractor.backends.llm import LLMExtractor, LLMUnavailableError
from extractor.core.config import LLMSettings
from extractor.core.schema import load_schema
from extractor.read.pdf import read_pdf
from tests.conftest import run_cli
from tests.openai_server import OpenAIServer, Reply, chat_reply, schema_valid_fields
from tests.openai_server import openai_server as openai_server
from tests.pdf_factory import make_pdf

LINES = ["测试学院设备采购成交公告", "项目编号：CX-2024-017", "采购人：测试学院", "成交金额：45万元", "公告日期：2024年3月8日"]


@pytest.fixture
def pdf(tmp_path: Path) -> Path:
    return make_pdf(tmp_path / "in" / "notice.pdf", [LINES])


def good_fields() -> dict:
    fields = schema_valid_fields()
    fields["buyer"] = {"value": "测试学院", "page": 1, "quote": "采购人：测试学院"}
    return fields


def env(server: OpenAIServer) -> dict[str, str]:
    return {"OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": "sk-test", "TENDERX_MODEL": "m"}


def test_slow_drip_hits_the_total_deadline(openai_server: OpenAIServer, pdf: Path) -> None:
    """One byte every 50 ms (a ~2 KB body would take minutes) never trips a per-read timeout."""
    openai_server.handler = lambda req: Reply(200, chat_reply({"fields": good_fields()}).body, drip=0.05)
    settings = LLMSettings(base_url=openai_server.url, api_key="sk", model="m", timeout=1.0, max_retries=1)
    extractor = LLMExtractor(settings, None, backoff_base=0.01)
    started = time.monotonic()
    with pytest.raises(LLMUnavailableError, match="within 1s") as info:
        extractor.extract(read_pdf(pdf), load_schema("tender"))
    assert time.monotonic() - started < 10  # two attempts of ~1 s each, not minutes
    assert info.value.usage_so_far.calls == 2 and info.value.usage_so_far.failed_calls == 2


def test_slow_drip_then_answer_through_the_cli(pdf: Path, tmp_path: Path) -> None:
    with OpenAIServer() as server:
        server.enqueue(Reply(200, chat_reply({"fields": good_fields()}).body, drip=0.05),
                       chat_reply({"fields": good_fields()}))
        started = time.monotonic()
        res = run_cli("extract", str(pdf), "-b", "llm", "--timeout", "1", "-o", str(tmp_path / "r.jsonl"),
                      "--store", str(tmp_path / "s"), env=env(server))
        requests = server.chat_requests()
    assert res.returncode == 0, res.stderr
    assert time.monotonic() - started < 60
    rec = json.loads((tmp_path / "r.jsonl").read_text(encoding="utf-8"))
    assert rec["fields"]["buyer"]["value"] == "测试学院"
    assert rec["usage"]["calls"] == 2 and rec["usage"]["failed_calls"] == 1 and rec["usage"]["retries"] == 1
    assert all(r.body.get("max_tokens") == 4096 for r in requests)  # every request bounds its answer
    assert "2 LLM calls (1 failed" in " ".join(res.stdout.split())


def test_huge_reply_is_refused_and_the_repair_round_stays_small(pdf: Path, tmp_path: Path) -> None:
    junk = "x" * 200_000  # not JSON: the repair round must not send it back whole
    huge = "y" * 2_000_000  # over the 1 MB cap: not read further

    with OpenAIServer() as server:
        server.enqueue(chat_reply(junk), chat_reply({"fields": good_fields()}))
        res = run_cli("extract", str(pdf), "-b", "llm", "-o", str(tmp_path / "a.jsonl"),
                      "--store", str(tmp_path / "s"), env=env(server))
        first, repair = server.chat_requests()
        assert res.returncode == 0, res.stderr
        assert len(json.dumps(repair.body)) < len(json.dumps(first.body)) + 12_000
        server.enqueue(chat_reply(huge))
        res = run_cli("extract", str(pdf), "-b", "llm", "-o", str(tmp_path / "b.jsonl"), "--no-resume",
                      "--store", str(tmp_path / "s2"), env=env(server))
    assert res.returncode == 1, res.stdout + res.stderr
    rec = json.loads((tmp_path / "b.jsonl").read_text(encoding="utf-8"))
    assert "larger than 1,000,000 bytes" in rec["errors"][0]
    assert rec["usage"]["calls"] == 1 and rec["usage"]["failed_calls"] == 1  # the failed call is counted ...
    assert "1 LLM call (1 failed" in " ".join(res.stdout.split())  # ... and shows in the summary


def test_long_values_are_cut_and_flagged_unknown_keys_ignored(pdf: Path, tmp_path: Path) -> None:
    fields = good_fields()
    fields["project_name"] = {"value": "测" * 50_000, "page": 1, "quote": "测" * 50_000, "confidence": 0.2}
    fields["buyer"]["confidence"] = "high"  # an extra key the schema does not know: ignored
    with OpenAIServer() as server:
        server.handler = lambda req: chat_reply({"fields": fields, "notes": "extra top-level key"})
        res = run_cli("extract", str(pdf), "-b", "llm", "-o", str(tmp_path / "r.jsonl"),
                      "--store", str(tmp_path / "s"), "--csv", str(tmp_path / "r.csv"), env=env(server))
    assert res.returncode == 0, res.stdout + res.stderr
    rec = json.loads((tmp_path / "r.jsonl").read_text(encoding="utf-8"))
    assert len(rec["fields"]["project_name"]["value"]) <= 1001 and "truncated:project_name" in rec["flags"]
    assert rec["fields"]["project_name"]["verified"] is False
    assert rec["fields"]["buyer"] == {"value": "测试学院", "page": 1, "quote": "采购人：测试学院", "verified": True,
                                       "located": True}
    assert (tmp_path / "r.jsonl").stat().st_size < 20_000 and (tmp_path / "r.csv").stat().st_size < 20_000


