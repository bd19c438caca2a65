"""LLM-side faults through `tenderx extract --backend llm` against a real local OpenAI-protocol server.

Connection refused, slow replies past the timeout, 401, 404 model, 429 storms,
5xx, malformed / truncated / wrong-schema JSON: the batch always finishes with
every document either extracted or carrying an error, and no fault is retried
without bound (the request counts below are exact).
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.badfiles import make_good
from tests.conftest import run_cli
from tests.openai_server import (
    OpenAIServer,
    Recorded,
    Reply,
    buyer_from_prompt,
    chat_reply,
    error_reply,
    schema_valid_fields,
)
from tests.openai_server import openai_server as openai_server

KEY = "sk-test-faults-0000"
MODEL = "test-model"
ATTEMPTS = 5  # LLMSettings.max_retries (4) + 1: the bound on requests per call


@pytest.fixture(scope="module")
def pdfs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return make_good(tmp_path_factory.mktemp("faults"))[:2]


def valid_answer(req: Recorded) -> dict:
    """A schema-valid reply whose buyer is quoted from the requested document."""
    fields = schema_valid_fields()
    user_text = "\n".join(str(m.get("content")) for m in req.messages if m.get("role") == "user")
    buyer = buyer_from_prompt(user_text)
    if buyer:
        fields["buyer"] = buyer
    return {"fields": fields}


def answering(req: Recorded) -> Reply:
    return chat_reply(valid_answer(req))


def scripted(first: list[Reply], then: Callable[[Recorded], Reply] = answering) -> Callable[[Recorded], Reply]:
    """The first len(first) requests get these replies (in order, thread-safe), the rest ``then``."""
    queue = list(first)
    lock = threading.Lock()

    def handle(req: Recorded) -> Reply:
        with lock:
            if queue:
                return queue.pop(0)
        return then(req)

    return handle


def extract(pdfs: list[Path], tmp_path: Path, url: str, *extra: str, jobs: int = 2):
    out = tmp_path / "records.jsonl"
    res = run_cli("extract", *map(str, pdfs), "--backend", "llm", "-o", str(out), "-j", str(jobs),
                  "--store", str(tmp_path / "store"), *extra,
                  env={"OPENAI_BASE_URL": url, "OPENAI_API_KEY": KEY, "TENDERX_MODEL": MODEL}, timeout=300)
    assert "Traceback" not in res.stdout + res.stderr
    assert KEY not in res.stdout + res.stderr
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()] if out.exists() else []
    return res, records


def assert_all_accounted(records: list[dict], pdfs: list[Path]) -> None:
    assert sorted(Path(r["file"]).name for r in records) == sorted(p.name for p in pdfs)
    for r in records:
        assert r["errors"] or r["fields"]["buyer"]["verified"] is True, r


def test_connection_refused(pdfs: list[Path], tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    res, records = extract(pdfs[:1], tmp_path, f"http://127.0.0.1:{port}/v1")
    assert res.returncode == 1, res.stdout + res.stderr
    assert_all_accounted(records, pdfs[:1])
    (rec,) = records
    assert rec["errors"] and "connection error" in rec["errors"][0]
    assert f"after {ATTEMPTS} attempt(s)" in rec["errors"][0]


def test_slow_replies_past_the_timeout_are_retried(openai_server: OpenAIServer, pdfs: list[Path],
                                                   tmp_path: Path) -> None:
    slow = [Reply(200, {"choices": []}, delay=3.0), Reply(200, {"choices": []}, delay=3.0)]
    openai_server.handler = scripted(slow)
    res, records = extract(pdfs, tmp_path, openai_server.url, "--timeout", "1")
    assert res.returncode == 0, res.stdout + res.stderr
    assert_all_accounted(records, pdfs)
    assert all(not r["errors"] for r in records)
    assert sum(r["usage"]["retries"] for r in records) == 2
    assert len(openai_server.chat_requests()) == 4


def test_401_stops_the_run_with_check_your_key(openai_server: OpenAIServer, pdfs: list[Path],
                                               tmp_path: Path) -> None:
    openai_server.handler = lambda req: error_reply(401, "Incorrect API key provided", "invalid_request_error",
                                                    "invalid_api_key")
    res, _ = extract(pdfs, tmp_path, openai_server.url, jobs=1)
    assert res.returncode == 3
    assert "check OPENAI_API_KEY" in res.stderr
    assert len(openai_server.chat_requests()) == 1  # never retried


def test_404_model_is_a_clear_fatal_error(openai_server: OpenAIServer, pdfs: list[Path], tmp_path: Path) -> None:
    openai_server.handler = lambda req: error_reply(404, f"The model `{MODEL}` does not exist", "invalid_request_error",
                                                    "model_not_found")
    res, _ = extract(pdfs, tmp_path, openai_server.url, jobs=1)
    assert res.returncode == 3
    assert "not found" in res.stderr and MODEL in res.stderr and "--model" in res.stderr
    assert len(openai_server.chat_requests()) == 1


def test_429_storm_is_bounded(openai_server: OpenAIServer, pdfs: list[Path], tmp_path: Path) -> None:
    openai_server.handler = lambda req: error_reply(429, "Rate limit reached", "rate_limit_error",
                                                    "rate_limit_exceeded", headers={"Retry-After": "0"})
    res, records = extract(pdfs, tmp_path, openai_server.url)
    assert res.returncode == 1
    assert_all_accounted(records, pdfs)
    for r in records:
        assert "HTTP 429" in r["errors"][0] and f"after {ATTEMPTS} attempt(s)" in r["errors"][0]
    assert len(openai_server.chat_requests()) == ATTEMPTS * len(pdfs)


def test_429_then_recovery(openai_server: OpenAIServer, pdfs: list[Path], tmp_path: Path) -> None:
    storm = [error_reply(429, "slow down", "rate_limit_error", headers={"Retry-After": "0"})] * 3
    openai_server.handler = scripted(storm)
    res, records = extract(pdfs, tmp_path, openai_server.url)
    assert res.returncode == 0, res.stdout + res.stderr
    assert_all_accounted(records, pdfs)
    assert sum(r["usage"]["retries"] for r in records) == 3


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_storm_and_recovery(openai_server: OpenAIServer, pdfs: list[Path], tmp_path: Path, status: int) -> None:
    # the first document meets a storm it cannot outlast; the second a single hiccup
    openai_server.handler = scripted([error_reply(status, "upstream trouble", "server_error",
                                                  headers={"Retry-After": "0"})] * (ATTEMPTS + 1))
    res, records = extract(pdfs, tmp_path, openai_server.url, jobs=1)
    assert res.returncode == 1
    assert_all_accounted(records, pdfs)
    failed = [r for r in records if r["errors"]]
    assert len(failed) == 1 and f"HTTP {status}" in failed[0]["errors"][0]
    assert len(openai_server.chat_requests()) == ATTEMPTS + 2


@pytest.mark.parametrize("content", [
    'Sure! Here is the JSON: {"fields": {"buyer": {"value": "西江',  # truncated
    "I could not find anything useful in this document.",  # no JSON at all
    "{'fields': {'buyer': None}}",  # Python, not JSON
], ids=["truncated", "prose", "python-repr"])
def test_malformed_json_fails_the_document_after_one_repair(openai_server: OpenAIServer, pdfs: list[Path],
                                                             tmp_path: Path, content: str) -> None:
    openai_server.handler = lambda req: chat_reply(content)
    res, records = extract(pdfs, tmp_path, openai_server.url)
    assert res.returncode == 1
    assert_all_accounted(records, pdfs)
    for r in records:
        assert r["errors"] and "no usable answer" in r["errors"][0]
        assert all(fv["value"] in (None, []) for fv in r["fields"].values())
    assert len(openai_server.chat_requests()) == 2 * len(pdfs)  # the answer + one repair round each


def test_cut_off_reply_is_split_then_given_up(openai_server: OpenAIServer, pdfs: list[Path], tmp_path: Path) -> None:
    openai_server.handler = lambda req: chat_reply('{"fields": {"buyer": {"value": "西', finish_reason="length")
    res, records = extract(pdfs[:1], tmp_path, openai_server.url)
    assert res.returncode == 1
    (rec,) = records
    assert "cut off" in rec["errors"][0]
    assert len(openai_server.chat_requests()) < 40  # halving is bounded by max_split_depth


def test_valid_json_for_the_wrong_schema(openai_server: OpenAIServer, pdfs: list[Path], tmp_path: Path) -> None:
    wrong = {"answer": {"buyer": "西江大学"}, "confidence": 0.9}
    openai_server.handler = lambda req: chat_reply(wrong)
    res, records = extract(pdfs, tmp_path, openai_server.url)
    assert res.returncode == 1
    assert_all_accounted(records, pdfs)
    for r in records:
        assert r["errors"] and "no usable answer" in r["errors"][0]
        assert r["fields"]["buyer"]["value"] is None
    assert len(openai_server.chat_requests()) == 2 * len(pdfs)


def test_one_bad_answer_does_not_sink_the_batch(openai_server: OpenAIServer, pdfs: list[Path],
                                                tmp_path: Path) -> None:
    def per_document(req: Recorded) -> Reply:
        if "西江大学" in req.prompt_text:  # every turn about this document, repair included
            return chat_reply("<html>502 Bad Gateway</html>")
        return answering(req)

    openai_server.handler = per_document
    res, records = extract(pdfs, tmp_path, openai_server.url)
    assert res.returncode == 1
    assert_all_accounted(records, pdfs)
    by_name = {Path(r["file"]).name: r for r in records}
    assert by_name["good-award-gpu.pdf"]["errors"]
    assert not by_name["good-tender-switches.pdf"]["errors"]
    assert by_name["good-tender-switches.pdf"]["fields"]["buyer"]["value"] == "北岭市第一中学"
