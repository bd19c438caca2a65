"""The LLM response cache belongs to one endpoint; ``--no-cache`` asks again (issue 24 #18).

Two real local OpenAI-protocol servers serve the same model name with different answers. After a
run against the first, a run against the second must ask the second (not replay the first's
answers and evidence from the cache); a repeat against the second is answered from the cache, and
``--no-cache`` asks it again.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli
from tests.openai_server import OpenAIServer, Recorded, Reply, chat_reply, schema_valid_fields
from tests.pdf_factory import make_pdf


def _answering(buyer: str):
    def model(req: Recorded) -> Reply:
        fields = schema_valid_fields()
        fields["buyer"] = {"value": buyer, "page": 1, "quote": f"采购人：{buyer}" if buyer == "测试大学" else buyer}
        return chat_reply({"fields": fields}, usage={"prompt_tokens": 100, "completion_tokens": 20})
    return model


def _extract(pdf: Path, tmp: Path, server: OpenAIServer, name: str, *extra: str) -> dict:
    out = tmp / f"{name}.jsonl"
    res = run_cli("extract", str(pdf), "--backend", "llm", "-o", str(out), "--store", str(tmp / "store"), *extra,
                  env={"OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": "sk-test", "TENDERX_MODEL": "same-name"})
    assert res.returncode == 0, res.stdout + res.stderr
    return json.loads(out.read_text(encoding="utf-8"))


def test_cache_is_per_endpoint_and_no_cache_asks_again(tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "n.pdf", [["测试大学设备采购公告", "采购人：测试大学", "公告日期：2024年3月8日"]])
    with OpenAIServer() as first, OpenAIServer() as second:
        first.handler = _answering("测试大学")
        second.handler = _answering("另一个端点的答案")
        rec1 = _extract(pdf, tmp_path, first, "first")
        assert rec1["fields"]["buyer"]["value"] == "测试大学" and len(first.chat_requests()) == 1
        rec2 = _extract(pdf, tmp_path, second, "second")
        assert len(second.chat_requests()) == 1, "the second endpoint was never asked: the cache replayed the first"
        assert rec2["fields"]["buyer"]["value"] == "另一个端点的答案"
        rec3 = _extract(pdf, tmp_path, second, "again")  # the same endpoint again: from the cache
        assert len(second.chat_requests()) == 1 and rec3["usage"].get("cached_calls") == 1
        rec4 = _extract(pdf, tmp_path, second, "re-ask", "--no-cache")
        assert len(second.chat_requests()) == 2 and not rec4["usage"].get("cached_calls")
        assert len(first.chat_requests()) == 1


def test_no_cache_is_offered_wherever_the_cache_is_used() -> None:
    for command in ("extract", "run", "eval"):
        res = run_cli(command, "--help")
        assert res.returncode == 0 and "--no-cache" in res.stdout, (command, res.stdout[-500:])
