"""Failed but billed LLM calls are costed (issue 24 #16), through the CLI against a real local
OpenAI-protocol server, with a model that is in the price table.

A complete 2 MB reply (over the 1 MB cap) whose usage says 1000/500 tokens is refused as an answer
but costed at 1000/500; so is a reply that is JSON with a usage but not a chat completion. A request
that timed out has no known usage: it is counted as attempted and the summary says it is not in
the cost.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli
from tests.openai_server import OpenAIServer, Reply, chat_reply, schema_valid_fields
from tests.pdf_factory import make_pdf

MODEL = "gpt-4o-mini"  # priced in data/llm_prices.yaml


def _env(server: OpenAIServer) -> dict[str, str]:
    return {"OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": "sk-test", "TENDERX_MODEL": MODEL}


def _good() -> Reply:
    fields = schema_valid_fields()
    fields["buyer"] = {"value": "测试学院", "page": 1, "quote": "采购人：测试学院"}
    return chat_reply({"fields": fields}, usage={"prompt_tokens": 300, "completion_tokens": 50})


def test_refused_replies_are_costed_by_the_usage_they_report(tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "in" / "n.pdf", [["测试学院设备采购公告", "采购人：测试学院", "公告日期：2024年3月8日"]])
    huge = chat_reply("y" * 2_000_000, usage={"prompt_tokens": 1000, "completion_tokens": 500})
    not_completion = Reply(200, {"id": "x", "choices": "oops", "usage": {"prompt_tokens": 700, "completion_tokens": 70}})
    for name, reply, (p, c) in (("huge", huge, (1000, 500)), ("odd", not_completion, (700, 70))):
        out = tmp_path / f"{name}.jsonl"
        with OpenAIServer() as server:
            server.enqueue(reply)
            res = run_cli("extract", str(pdf), "-b", "llm", "-o", str(out), "--store", str(tmp_path / name),
                          env=_env(server))
        assert res.returncode == 1, res.stdout + res.stderr  # the document failed ...
        rec = json.loads(out.read_text(encoding="utf-8"))
        usage = rec["usage"]
        assert usage["failed_calls"] == 1 and (usage["prompt_tokens"], usage["completion_tokens"]) == (p, c), usage
        assert usage["cost_usd"] and usage["cost_usd"] > 0, usage  # ... but what it cost is counted
        assert "estimated cost $0.0000" not in " ".join(res.stdout.split())


def test_timed_out_calls_are_counted_and_the_summary_says_their_cost_is_unknown(tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "in" / "n.pdf", [["测试学院设备采购公告", "采购人：测试学院", "公告日期：2024年3月8日"]])
    out = tmp_path / "r.jsonl"
    with OpenAIServer() as server:
        server.enqueue(Reply(200, _good().body, drip=0.05), _good())  # the first drips for a minute
        res = run_cli("extract", str(pdf), "-b", "llm", "-o", str(out), "--timeout", "2",
                      "--store", str(tmp_path / "s"), env=_env(server), timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    usage = json.loads(out.read_text(encoding="utf-8"))["usage"]
    assert usage["calls"] == 2 and usage["failed_calls"] == 1 and usage["unpriced_calls"] == 1, usage
    assert usage["prompt_tokens"] == 300 and usage["cost_usd"] > 0
    assert "1 timed-out call(s) not in it: usage unknown" in " ".join(res.stdout.split()), res.stdout
