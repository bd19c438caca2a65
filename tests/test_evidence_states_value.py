"""An enum needs its word in the quote; a count needs its digits as a count (issue 24 #2).

A model (a real local OpenAI-protocol server) answers ``procurement_method: single_source`` quoting
the title line, and ``gpu_count: 2024`` quoting ``公告日期：2024年5月20日``; other answers put a
count inside a project code, an amount in yuan and a model number. None of them may verify. The same
fields quoted from lines that state them (采购方式：单一来源, 4 servers × 8 cards) still verify.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import run_cli
from tests.openai_server import OpenAIServer, Recorded, Reply, chat_reply, schema_valid_fields
from tests.pdf_factory import make_pdf

LINES = ["某研究院智算服务器采购公告", "项目编号：ZS-2048-016", "采购人：某研究院", "采购方式：单一来源",
         "预算金额：128万元", "采购内容：GPU服务器4台，每台配置NVIDIA A100 80GB GPU卡8块",
         "公告日期：2024年5月20日"]

# (field, value, quote, verified?)
CASES: list[tuple[str, Any, str, bool]] = [
    ("procurement_method", "single_source", "某研究院智算服务器采购公告", False),  # the title does not say 单一来源
    ("notice_type", "award", "某研究院智算服务器采购公告", False),  # nor 中标/成交
    ("gpu_count", 2024, "公告日期：2024年5月20日", False),  # a year is not a count
    ("server_count", 2048, "项目编号：ZS-2048-016", False),  # nor part of a code
    ("gpu_count", 128, "预算金额：128万元", False),  # nor an amount
    ("gpu_count", 100, "采购内容：GPU服务器4台，每台配置NVIDIA A100 80GB GPU卡8块", False),  # nor a model number
    ("server_count", 80, "采购内容：GPU服务器4台，每台配置NVIDIA A100 80GB GPU卡8块", False),  # nor a size
]
GOOD: list[tuple[str, Any, str, bool]] = [
    ("procurement_method", "single_source", "采购方式：单一来源", True),
    ("notice_type", "tender", "某研究院智算服务器采购公告", True),
    ("gpu_count", 8, "采购内容：GPU服务器4台，每台配置NVIDIA A100 80GB GPU卡8块", True),
    ("server_count", 4, "采购内容：GPU服务器4台，每台配置NVIDIA A100 80GB GPU卡8块", True),
]


GROUPS = {"wrong-1": CASES[:4], "wrong-2": CASES[4:5] + CASES[6:], "wrong-3": CASES[5:6], "right": GOOD}


def model(req: Recorded) -> Reply:
    """Answers each notice (told apart by its 备注 line) with its group's values and quotes."""
    fields = schema_valid_fields()
    group = next(g for g in GROUPS if f"备注：{g}" in req.prompt_text)
    for name, value, quote, _ in GROUPS[group]:
        fields[name] = {"value": value, "page": 1, "quote": quote}
    return chat_reply({"fields": fields})


def test_quotes_must_state_enum_words_and_counts(tmp_path: Path) -> None:
    for group in GROUPS:
        make_pdf(tmp_path / "in" / f"{group}.pdf", [[*LINES, f"备注：{group}"]])
    out = tmp_path / "r.jsonl"
    with OpenAIServer() as server:
        server.handler = model
        res = run_cli("extract", str(tmp_path / "in"), "--backend", "llm", "-o", str(out), "-j", "2",
                      "--store", str(tmp_path / "s"),
                      env={"OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": "sk-test", "TENDERX_MODEL": "m"})
    assert res.returncode == 0, res.stdout + res.stderr
    records = {Path(r["file"]).stem: r for r in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    for group, cases in GROUPS.items():
        rec = records[group]
        for name, value, _quote, verified in cases:
            fv = rec["fields"][name]
            assert fv["value"] == value, (group, name, fv)
            assert (fv.get("verified") is True) is verified, (group, name, fv)
            if not verified:
                assert f"unverified:{name}" in rec["flags"], (group, rec["flags"])
