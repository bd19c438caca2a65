"""An LLM's silence does not erase the rules engine's evidence (issue 24 #3).

A notice names NVIDIA A100; the model (a real local OpenAI-protocol server) answers
``restricted_us_tech: false`` and ``chips: []``. The rules engine reads the A100 on the page with a
quote that states it, so the model's false/empty answers are ``disputed``, the record says what the
rules read, and the restricted flag stays raised (and counted in the summary) until a person decides.
A model that agrees, or a notice naming nothing restricted, raises no dispute.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli
from tests.openai_server import OpenAIServer, Recorded, Reply, chat_reply, schema_valid_fields
from tests.pdf_factory import make_pdf


def _notice(title: str, item: str) -> list[str]:
    return [f"{title}采购公告", f"项目名称：{title}采购项目", "采购人：测试大学", "预算金额：300万元",
            f"采购内容：{item}", "公告日期：2024年6月3日"]


def silent_model(req: Recorded) -> Reply:
    """Honest about buyer and date; says nothing restricted is bought and names no chips."""
    fields = schema_valid_fields()
    fields["buyer"] = {"value": "测试大学", "page": 1, "quote": "采购人：测试大学"}
    fields["publish_date"] = {"value": "2024-06-03", "page": 1, "quote": "公告日期：2024年6月3日"}
    fields["restricted_us_tech"] = {"value": False, "page": None, "quote": None}
    fields["chips"] = {"value": [], "page": None, "quote": None}
    return chat_reply({"fields": fields})


def test_false_and_empty_answers_against_verified_rules_values_are_disputed(tmp_path: Path) -> None:
    a100 = make_pdf(tmp_path / "a100.pdf", [_notice("智算中心GPU服务器", "GPU服务器4台，每台配置NVIDIA A100 80GB GPU卡8块")])
    plain = make_pdf(tmp_path / "desks.pdf", [_notice("办公家具", "办公桌椅50套")])
    out = tmp_path / "r.jsonl"
    with OpenAIServer() as server:
        server.handler = silent_model
        res = run_cli("extract", str(a100), str(plain), "--backend", "llm", "-o", str(out),
                      "--store", str(tmp_path / "s"),
                      env={"OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": "sk-test", "TENDERX_MODEL": "m"})
    assert res.returncode == 0, res.stdout + res.stderr
    records = {Path(r["file"]).stem: r for r in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    rec = records["a100"]
    flag = rec["fields"]["restricted_us_tech"]
    assert flag["value"] is False and flag.get("disputed") is True, flag  # the model's answer, disputed
    assert "restricted_us_tech" in rec["flags"] and "disputed:restricted_us_tech" in rec["flags"], rec["flags"]
    assert rec["disputes"]["restricted_us_tech"]["rules"]["value"] is True
    assert "A100" in rec["disputes"]["restricted_us_tech"]["rules"]["quote"]
    assert rec["fields"]["chips"].get("disputed") is True and "disputed:chips" in rec["flags"]
    assert rec["fields"]["buyer"]["verified"] is True and not rec["fields"]["buyer"].get("disputed")
    # nothing restricted on the page: the model's false is no dispute
    other = records["desks"]
    assert "restricted_us_tech" not in other["flags"], other["flags"]
    assert "restricted_us_tech" not in other.get("disputes", {}) and "chips" not in other.get("disputes", {})
    # ... but its null budget against the rules' verified 300万元 is a dispute like any other
    assert other["fields"]["budget_cny"]["value"] is None and "disputed:budget_cny" in other["flags"]
    assert "No document flagged" not in res.stdout and "disputed values" in res.stdout, res.stdout
