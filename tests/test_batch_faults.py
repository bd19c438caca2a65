"""Batch API faults (issue 24 #8, #10), through the CLI against the local OpenAI-protocol server.

A malformed line in a batch output file (a JSON array, a string body, ``usage: "many"``) no longer
aborts ``collect``: the good answers are kept and the bad lines listed; an answer with one invalid
required field keeps its other fields, as the online path does. And ``--timeout`` bounds each
request of ``batch status`` and ``batch collect`` in total, also against a server that drips its
reply one byte at a time.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import SAMPLES, run_cli
from tests.openai_server import OpenAIServer, Recorded, Reply, chat_reply
from tests.test_batch import DOCS, env, reader_model, records, submit


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    d = tmp_path / "in"
    d.mkdir()
    for name in DOCS:
        shutil.copy(SAMPLES / f"{name}.pdf", d / f"{name}.pdf")
    return d


def flawed_model(req: Recorded) -> Reply:
    """The hotline notice's answer has a null required field and ``usage: "many"``; the other is sound."""
    if "热线" not in req.prompt_text:
        return reader_model(req)
    reply = reader_model(req)
    body = json.loads(reply.body["choices"][0]["message"]["content"])
    body["fields"]["notice_type"] = {"value": None, "page": None, "quote": None}
    out = chat_reply(body)
    out.body["usage"] = "many"
    return out


def test_malformed_output_lines_cost_no_good_answer(folder: Path, tmp_path: Path) -> None:
    store, out = tmp_path / "store", tmp_path / "records.jsonl"
    with OpenAIServer() as server:
        server.handler = flawed_model
        batch_id = submit(server, folder, store)
        batch = server.batch.batches[batch_id]
        junk = [b"[1, 2, 3]", json.dumps({"custom_id": "req-x", "response": {"status_code": 200,
                                                                             "body": "just a string"}}).encode(),
                b'"a bare string"', b"{not json"]
        server.batch.files[batch["output_file_id"]] += b"\n".join(junk) + b"\n"
        res = run_cli("batch", "collect", batch_id, "-o", str(out), "--store", str(store), env=env(server))
    assert res.returncode == 0, res.stdout + res.stderr
    text = " ".join(res.stdout.split())
    assert text.count("bad line in the batch output") == 5, res.stdout  # 4 junk lines + the malformed usage
    assert "JSON list" in text and "str" in text and "usage" in text
    recs = records(out)
    assert not any(r["errors"] for r in recs.values()), recs
    good = recs["award-univ-aws-a100-cloud"]["fields"]
    assert good["buyer"]["value"] and good["notice_type"]["value"]
    partial = recs["tender-qwen-api-hotline"]["fields"]
    assert partial["buyer"]["value"], partial["buyer"]  # kept although notice_type was invalid
    assert partial["notice_type"]["value"] is None
    assert "invalid: notice_type" in text


def _dripping(server: OpenAIServer, part: str) -> None:
    """GET replies whose path contains ``part`` are sent one byte every 0.3 s (minutes in all)."""
    handle = server.batch.handle

    def slow(method: str, path: str, headers: dict[str, str], raw: bytes) -> Reply:
        reply = handle(method, path, headers, raw)
        return dataclasses.replace(reply, drip=0.3) if method == "GET" and part in path else reply

    server.batch.handle = slow  # type: ignore[method-assign]


@pytest.mark.parametrize("command,part", [("status", "/batches/"), ("collect", "/content")])
def test_timeout_is_a_total_deadline_against_a_dripping_server(folder: Path, tmp_path: Path, command: str,
                                                               part: str) -> None:
    store = tmp_path / "store"
    with OpenAIServer() as server:
        server.handler = reader_model
        batch_id = submit(server, folder, store)
        _dripping(server, part)
        # without a total deadline the reply takes minutes and the subprocess limit below ends the test
        res = run_cli("batch", command, batch_id, "--store", str(store), "--timeout", "2",
                      "-o" if command == "collect" else "--interval", str(tmp_path / "r.jsonl") if command == "collect"
                      else "1", env=env(server), timeout=100)
    assert res.returncode == 3, res.stdout + res.stderr
    assert "within 2s" in res.stderr, res.stderr
