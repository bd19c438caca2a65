"""The provider's Batch API end to end through the CLI, against the local OpenAI-protocol server
(extended with /v1/files and /v1/batches): submit, status, collect, failed lines retried online,
an expired batch, a batch still running, and collect run twice."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import SAMPLES, run_cli
from tests.openai_server import (
    OpenAIServer,
    Recorded,
    Reply,
    buyer_from_prompt,
    chat_reply,
    error_reply,
    schema_valid_fields,
)

DOCS = ["award-univ-aws-a100-cloud", "tender-qwen-api-hotline"]
MODEL = "gpt-4o-mini"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    d = tmp_path / "in"
    d.mkdir()
    for name in DOCS:
        shutil.copy(SAMPLES / f"{name}.pdf", d / f"{name}.pdf")
    return d


def reader_model(req: Recorded) -> Reply:
    """Answers the buyer from the prompt's 采购人 line, like a model that reads the document."""
    fields = schema_valid_fields()
    block = re.search(r"\[page (\d+)\][^\[]*?采购人信息\s*\n\s*(名\s*称：(\S+))", req.prompt_text)
    buyer = buyer_from_prompt(req.prompt_text) or (
        {"value": block.group(3), "page": int(block.group(1)), "quote": block.group(2)} if block else None)
    if buyer:
        fields["buyer"] = buyer
    return chat_reply({"fields": fields}, usage={"prompt_tokens": 1000, "completion_tokens": 100})


def env(server: OpenAIServer) -> dict[str, str]:
    return {"OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": "sk-batch", "TENDERX_MODEL": MODEL}


def submit(server: OpenAIServer, folder: Path, store: Path) -> str:
    res = run_cli("extract", str(folder), "--batch", "--store", str(store), env=env(server))
    assert res.returncode == 0, res.stdout + res.stderr
    found = re.search(r"submitted batch (\S+):", res.stdout)
    assert found, res.stdout
    return found.group(1)


def records(path: Path) -> dict[str, dict]:
    return {Path(r["file"]).stem: r for r in map(json.loads, path.read_text(encoding="utf-8").splitlines())}


def test_submit_status_collect_and_collect_again(folder: Path, tmp_path: Path) -> None:
    store, out = tmp_path / "store", tmp_path / "records.jsonl"
    with OpenAIServer() as server:
        server.handler = reader_model
        batch_id = submit(server, folder, store)
        uploads = [r for r in server.requests if r.path.endswith("/files")]
        assert len(uploads) == 1 and not [r for r in server.requests if r.path.endswith("/chat/completions")
                                          and r.headers]  # nothing sent online
        job = json.loads((store / "batches" / f"{batch_id}.json").read_text(encoding="utf-8"))
        assert len(job["files"]) == 2 and all(re.fullmatch(r"[0-9a-f]{64}:.+", cid) for cid in job["requests"])
        line = server.batch.batches[batch_id]["_lines"][0]
        assert line["url"] == "/v1/chat/completions" and line["body"]["model"] == MODEL
        assert line["body"]["response_format"]["type"] == "json_schema" and line["body"]["max_tokens"] == 4096

        res = run_cli("batch", "status", batch_id, "--store", str(store), env=env(server))
        assert res.returncode == 0 and "completed" in res.stdout and "2 completed" in res.stdout, res.stdout

        sent = len(server.chat_requests())
        res = run_cli("batch", "collect", batch_id, "-o", str(out), "--store", str(store), env=env(server))
        assert res.returncode == 0, res.stdout + res.stderr
        assert len(server.chat_requests()) == sent  # collecting sends nothing
        recs = records(out)
        buyer = recs["award-univ-aws-a100-cloud"]["fields"]["buyer"]
        assert buyer["value"] == "沪东理工大学" and buyer["verified"] is True, buyer
        assert all(r["backend"] == "llm" and not r["errors"] for r in recs.values())
        text = " ".join(res.stdout.split())
        assert "at batch prices" in text and "$0.0002 at batch prices ($0.0004 at online prices)" in text

        again = run_cli("batch", "collect", batch_id, "-o", str(out), "--store", str(store), env=env(server))
        assert again.returncode == 0 and len(out.read_text(encoding="utf-8").splitlines()) == 2

        # the online path finds every answer in the cache the batch filled: no request, same records
        online = tmp_path / "online.jsonl"
        res = run_cli("extract", str(folder), "-b", "llm", "-o", str(online), "--store", str(store), env=env(server))
        assert res.returncode == 0 and len(server.chat_requests()) == sent
        assert {k: r["fields"] for k, r in records(online).items()} == {k: r["fields"] for k, r in recs.items()}


def test_failed_lines_are_listed_and_retried_online(folder: Path, tmp_path: Path) -> None:
    store, out = tmp_path / "store", tmp_path / "records.jsonl"
    with OpenAIServer() as server:
        server.handler = lambda req: (error_reply(500, "overloaded", "server_error") if "热线" in req.prompt_text
                                      else reader_model(req))
        batch_id = submit(server, folder, store)
        res = run_cli("batch", "collect", batch_id, "-o", str(out), "--store", str(store), env=env(server))
        assert res.returncode == 1, res.stdout + res.stderr
        assert "retry online" in res.stdout and "tender-qwen-api-hotline" in res.stdout
        recs = records(out)
        assert "batch results" in recs["tender-qwen-api-hotline"]["errors"][0]
        assert not recs["award-univ-aws-a100-cloud"]["errors"]

        server.handler = reader_model
        sent = len(server.chat_requests())
        res = run_cli("extract", str(folder), "-b", "llm", "-o", str(out), "--store", str(store), env=env(server))
        assert res.returncode == 0, res.stdout + res.stderr
        assert len(server.chat_requests()) == sent + 1  # only the failed request goes online
        assert not any(r["errors"] for r in records(out).values())


def test_expired_and_running_batches_say_so(folder: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    with OpenAIServer() as server:
        server.handler = reader_model
        server.batch.mode = "pending"
        running = submit(server, folder, store)
        res = run_cli("batch", "collect", running, "--store", str(store), "-o", str(tmp_path / "a.jsonl"),
                      env=env(server))
        assert res.returncode == 2 and "in_progress" in res.stderr, res.stderr
        server.batch.finish()
        res = run_cli("batch", "status", running, "--wait", "--interval", "0.1", "--store", str(store), env=env(server))
        assert res.returncode == 0 and "completed" in res.stdout

        server.batch.mode, server.batch.answer_first = "expired", 1
        expired = submit(server, folder, store)
        res = run_cli("batch", "collect", expired, "--store", str(store), "-o", str(tmp_path / "b.jsonl"),
                      env=env(server))
        assert res.returncode == 1, res.stdout + res.stderr
        assert "expired" in res.stdout and "1 of 2 requests answered" in " ".join(res.stdout.split())

    res = run_cli("batch", "status", "batch_nope", "--store", str(store),
                  env={"OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "TENDERX_MODEL": MODEL})
    assert res.returncode == 2 and "no batch 'batch_nope'" in res.stderr
