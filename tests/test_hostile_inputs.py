"""Attacks found by re-running issue 10's list against the merged code: a FIFO in a folder (hung
every extract), a symlink to the parent folder (read documents outside the folder given), and an
endpoint reporting impossible token counts (shown as-is in the cost line)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from tests.conftest import SAMPLES, run_cli
from tests.openai_server import OpenAIServer, chat_reply, schema_valid_fields

ONE = "award-univ-aws-a100-cloud"


def test_a_fifo_in_a_folder_is_skipped_not_waited_on(tmp_path: Path) -> None:
    d = tmp_path / "in"
    d.mkdir()
    shutil.copy(SAMPLES / f"{ONE}.pdf", d / "a.pdf")
    os.mkfifo(d / "b.pdf")
    res = run_cli("extract", str(d), "-b", "rules", "-o", str(tmp_path / "r.jsonl"), timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    assert len((tmp_path / "r.jsonl").read_text(encoding="utf-8").splitlines()) == 1
    named = run_cli("extract", str(d / "b.pdf"), "-b", "rules", "-o", str(tmp_path / "n.jsonl"), timeout=120)
    assert named.returncode == 2 and "b.pdf" in named.stderr  # refused at once, never opened


def test_a_link_to_the_parent_folder_is_not_followed(tmp_path: Path) -> None:
    d = tmp_path / "in"
    d.mkdir()
    shutil.copy(SAMPLES / f"{ONE}.pdf", d / "a.pdf")
    shutil.copy(SAMPLES / "tender-qwen-api-hotline.pdf", tmp_path / "outside.pdf")
    (d / "up").symlink_to("..")
    (d / "sub").mkdir()
    (d / "inside").symlink_to(d / "sub")  # a link that stays inside is fine
    shutil.copy(SAMPLES / "award-hygon-dcu-servers.pdf", d / "sub" / "c.pdf")
    res = run_cli("extract", str(d), "-b", "rules", "-o", str(tmp_path / "r.jsonl"), timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    files = sorted(Path(json.loads(x)["file"]).name for x in (tmp_path / "r.jsonl").read_text().splitlines())
    assert files == ["a.pdf", "c.pdf"]


def test_impossible_token_counts_are_not_believed(tmp_path: Path) -> None:
    shutil.copy(SAMPLES / f"{ONE}.pdf", tmp_path / "a.pdf")
    with OpenAIServer() as server:
        server.handler = lambda req: chat_reply({"fields": schema_valid_fields()},
                                                usage={"prompt_tokens": 10**15, "completion_tokens": -5})
        res = run_cli("extract", str(tmp_path / "a.pdf"), "-b", "llm", "-o", str(tmp_path / "r.jsonl"),
                      "--store", str(tmp_path / "s"),
                      env={"OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": "sk", "TENDERX_MODEL": "gpt-4o-mini"})
    assert res.returncode == 0, res.stdout + res.stderr
    usage = json.loads((tmp_path / "r.jsonl").read_text(encoding="utf-8"))["usage"]
    assert 0 < usage["prompt_tokens"] < 100_000 and usage["completion_tokens"] >= 0
