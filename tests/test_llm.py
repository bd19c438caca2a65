"""The LLM backend against a real local OpenAI-protocol server through the real openai client."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import traceback
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from extractor.backends.llm import (
    LLMAuthError,
    LLMConfigError,
    LLMExtractor,
    LLMUnavailableError,
    estimate_cost,
    price_for,
    retry_after_seconds,
)
from extractor.backends.llm.cache import ResponseCache
from extractor.core.config import LLMSettings
from extractor.core.document import Chunk, Document
from extractor.core.evidence import verify_fields
from extractor.core.schema import Schema, load_schema
from extractor.core.tokens import count_tokens
from extractor.read.pdf import read_pdf
from extractor.search.context import merge_groups
from tests.openai_server import OpenAIServer, Recorded, Reply, chat_reply, error_reply
from tests.openai_server import openai_server as openai_server
from tests.pdf_factory import make_pdf

SECRET = "sk-test-SECRET-0123456789"
PAGE1 = ["深圳大学云计算服务采购项目成交公告", "项目编号：SZUCG2024000312", "采购人：深圳大学",
         "采购方式：单一来源"]
PAGE2 = ["成交供应商：深圳市云达科技有限公司", "成交金额：人民币贰拾万元整", "服务内容：AWS 云主机 NVIDIA A100 GPU 实例",
         "公告日期：2024年3月18日"]


@pytest.fixture(scope="module")
def schema() -> Schema:
    return load_schema("tender")


@pytest.fixture(scope="module")
def doc(tmp_path_factory: pytest.TempPathFactory) -> Document:
    path = make_pdf(tmp_path_factory.mktemp("pdf") / "award.pdf", [PAGE1, PAGE2])
    return read_pdf(path)


def extractor_for(server: OpenAIServer, cache: ResponseCache | None = None, timeout: float = 10.0,
                  max_retries: int = 3, model: str = "gpt-4o-mini", **kw: Any) -> LLMExtractor:
    settings = LLMSettings(base_url=server.url, api_key=SECRET, model=model, timeout=timeout,
                           max_retries=max_retries)
    kw.setdefault("backoff_base", 0.01)
    return LLMExtractor(settings, cache, **kw)


def empty_value(f: Any) -> Any:
    if f.type == "list":
        return []
    if not f.nullable:
        return {"enum": f.enum[0] if f.enum else None, "boolean": False}.get(f.type, "未知")
    return None


GOOD = {
    "notice_type": {"value": "award", "page": 1, "quote": "成交公告"},
    "project_code": {"value": "SZUCG2024000312", "page": 1, "quote": "项目编号：SZUCG2024000312"},
    "buyer": {"value": "深圳大学", "page": 1, "quote": "采购人：深圳大学"},
    "award_amount_cny": {"value": 200000, "page": 2, "quote": "成交金额：人民币贰拾万元整"},
    "suppliers": {"value": ["深圳市云达科技有限公司"], "page": 2, "quote": "成交供应商：深圳市云达科技有限公司"},
    "chips": {"value": ["NVIDIA A100"], "page": 2, "quote": "NVIDIA A100"},
    # a fabricated quote: kept, but must come back unverified
    "cloud_providers": {"value": ["AWS"], "page": 1, "quote": "亚马逊云科技"},
}


def answer_for(schema: Schema, names: list[str], overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """A schema-valid reply for ``names``: GOOD values where we have them, empty values elsewhere."""
    fields = {}
    for n in names:
        f = schema.field(n)
        fields[n] = (overrides or GOOD).get(n, {"value": empty_value(f), "page": None, "quote": None})
    return {"fields": fields}


def requested_fields(req: Recorded) -> list[str]:
    """The fields a request asked for, read from its JSON Schema (or the prompt's field list)."""
    fmt = req.body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        return list(fmt["json_schema"]["schema"]["properties"]["fields"]["required"])
    user = req.messages[1]["content"]
    return [ln[2:].split(" ", 1)[0] for ln in user.split("\n<document>")[0].splitlines() if ln.startswith("- ")]


def answering_handler(schema: Schema):
    def handle(req: Recorded) -> Reply:
        return chat_reply(answer_for(schema, requested_fields(req)),
                          usage={"prompt_tokens": 100, "completion_tokens": 40})
    return handle


def test_structured_output_gives_fields_with_evidence(openai_server, schema, doc):
    openai_server.handler = answering_handler(schema)
    fields, usage = extractor_for(openai_server).extract(doc, schema)
    verify_fields(doc, fields, {f.name: f.type for f in schema.fields})  # judged in one place, for every backend

    assert set(fields) == set(schema.names)
    assert fields["buyer"].value == "深圳大学" and fields["buyer"].page == 1
    assert fields["buyer"].verified is True
    assert fields["award_amount_cny"].value == 200000 and fields["award_amount_cny"].verified is True
    assert fields["cloud_providers"].value == ["AWS"] and fields["cloud_providers"].verified is False
    assert fields["agency"].value is None and fields["agency"].verified is None
    assert usage.calls == 1 and usage.retries == 0
    assert (usage.prompt_tokens, usage.completion_tokens) == (100, 40)
    assert usage.cost_usd == pytest.approx(estimate_cost("gpt-4o-mini", 100, 40))

    (req,) = openai_server.chat_requests()
    assert req.body["model"] == "gpt-4o-mini" and req.body["temperature"] == 0
    fmt = req.body["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["schema"] == schema.json_schema()
    assert req.headers["authorization"] == f"Bearer {SECRET}"
    assert req.messages[0]["role"] == "system" and "never instructions" in req.messages[0]["content"]
    user = req.messages[1]["content"]
    assert "<document>\n[page 1]\n" in user and "[page 2]" in user and "采购人：深圳大学" in user
    assert user.rstrip().endswith("</document>")


def test_malformed_json_gets_one_repair_round(openai_server, schema, doc):
    good = answer_for(schema, schema.names)
    openai_server.enqueue(chat_reply('Here you go: ```json\n{"fields": {"buyer": {"value": "深圳'),
                          chat_reply("```json\n" + json.dumps(good, ensure_ascii=False) + "\n```"))
    fields, usage = extractor_for(openai_server).extract(doc, schema)

    assert fields["buyer"].value == "深圳大学" and usage.calls == 2 and not usage.warnings
    first, repair = openai_server.chat_requests()
    assert repair.messages[:2] == first.messages
    assert repair.messages[2] == {"role": "assistant",
                                  "content": 'Here you go: ```json\n{"fields": {"buyer": {"value": "深圳'}
    assert "not a valid JSON object" in repair.messages[3]["content"]


def test_schema_violating_json_is_repaired_with_the_validation_error(openai_server, schema, doc):
    bad = answer_for(schema, schema.names)
    bad["fields"]["notice_type"] = {"value": "award_notice", "page": 1, "quote": "成交公告"}
    bad["fields"]["publish_date"] = {"value": "2024年3月18日", "page": 2, "quote": "公告日期：2024年3月18日"}
    fixed = answer_for(schema, schema.names, {**GOOD, "publish_date": {
        "value": "2024-03-18", "page": 2, "quote": "公告日期：2024年3月18日"}})
    openai_server.enqueue(chat_reply(bad), chat_reply(fixed))
    fields, usage = extractor_for(openai_server).extract(doc, schema)

    assert fields["notice_type"].value == "award" and fields["publish_date"].value == "2024-03-18"
    assert usage.calls == 2
    feedback = openai_server.chat_requests()[1].messages[3]["content"]
    assert "fields.notice_type.value" in feedback and "fields.publish_date.value" in feedback
    assert "errors.pydantic.dev" not in feedback


def test_still_invalid_after_repair_keeps_the_valid_fields(openai_server, schema, doc):
    bad = answer_for(schema, schema.names)
    bad["fields"]["notice_type"] = {"value": "award_notice", "page": 1, "quote": "成交公告"}
    openai_server.enqueue(chat_reply(bad), chat_reply(bad))
    fields, usage = extractor_for(openai_server).extract(doc, schema)

    assert usage.calls == 2  # one repair round, not more
    assert fields["notice_type"].value is None and fields["buyer"].value == "深圳大学"
    assert usage.warnings and "notice_type" in usage.warnings[0]


def test_429_honours_retry_after_then_succeeds(openai_server, schema, doc):
    waits: list[float] = []

    def sleep(s: float) -> None:
        waits.append(s)
        time.sleep(s)

    openai_server.enqueue(error_reply(429, "rate limited", "rate_limit_error", headers={"Retry-After": "1"}),
                          chat_reply(answer_for(schema, schema.names)))
    fields, usage = extractor_for(openai_server, sleep=sleep).extract(doc, schema)

    assert fields["buyer"].value == "深圳大学"
    assert waits == [1.0] and usage.retries == 1 and usage.calls == 2 and usage.failed_calls == 1  # both were sent
    first, second = openai_server.chat_requests()
    assert second.time - first.time >= 1.0  # the server saw the wait


def test_retry_after_parsing_and_cap():
    soon = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= retry_after_seconds({"retry-after": soon}, cap=60) <= 30
    assert retry_after_seconds({"retry-after": soon}, cap=5) == 5
    assert retry_after_seconds({"retry-after": "3600"}, cap=60) == 60
    assert retry_after_seconds({"retry-after-ms": "250"}, cap=60) == 0.25
    assert retry_after_seconds({"retry-after": "soon-ish"}, cap=60) is None
    assert retry_after_seconds({}, cap=60) is None


def test_500_then_success(openai_server, schema, doc):
    openai_server.enqueue(error_reply(500, "upstream exploded", "server_error"),
                          error_reply(503, "overloaded", "server_error"),
                          chat_reply(answer_for(schema, schema.names)))
    fields, usage = extractor_for(openai_server).extract(doc, schema)
    assert fields["buyer"].value == "深圳大学"
    assert usage.retries == 2 and len(openai_server.chat_requests()) == 3


def test_timeout_then_success(openai_server, schema, doc):
    slow = chat_reply(answer_for(schema, schema.names), delay=2.0)
    openai_server.enqueue(slow, chat_reply(answer_for(schema, schema.names)))
    fields, usage = extractor_for(openai_server, timeout=0.5).extract(doc, schema)
    assert fields["buyer"].value == "深圳大学"
    assert usage.retries == 1 and usage.calls == 2 and usage.failed_calls == 1
    assert len(openai_server.chat_requests()) == 2


def test_retries_are_bounded(openai_server, schema, doc):
    openai_server.enqueue(*[error_reply(502, "bad gateway", "server_error") for _ in range(5)])
    with pytest.raises(LLMUnavailableError, match="after 3 attempt"):
        extractor_for(openai_server, max_retries=2).extract(doc, schema)
    assert len(openai_server.chat_requests()) == 3


def test_finish_reason_length_splits_the_fields_in_halves(openai_server, schema, doc):
    openai_server.enqueue(chat_reply('{"fields": {"notice_type": {"value": "aw', finish_reason="length"))
    openai_server.handler = answering_handler(schema)
    fields, usage = extractor_for(openai_server).extract(doc, schema)

    first, a, b = openai_server.chat_requests()
    assert requested_fields(first) == schema.names
    half = len(schema.names) // 2
    assert requested_fields(a) == schema.names[:half] and requested_fields(b) == schema.names[half:]
    assert fields["buyer"].value == "深圳大学" and fields["chips"].value == ["NVIDIA A100"]
    assert usage.calls == 3 and not usage.warnings


def test_rejected_json_schema_falls_back_to_json_object_and_remembers(openai_server, schema, doc):
    openai_server.enqueue(
        error_reply(400, "response_format of type json_schema is not supported with this model",
                    param="response_format"),
        chat_reply(answer_for(schema, schema.names)),
    )
    ex = extractor_for(openai_server)
    fields, _ = ex.extract(doc, schema)
    assert fields["buyer"].value == "深圳大学"
    first, second = openai_server.chat_requests()
    assert first.body["response_format"]["type"] == "json_schema"
    assert second.body["response_format"] == {"type": "json_object"}
    assert ex.mode == "json_object"

    openai_server.enqueue(chat_reply(answer_for(schema, schema.names)))
    ex.extract(doc, schema)  # the run remembers the working mode: no json_schema attempt again
    assert openai_server.chat_requests()[2].body["response_format"] == {"type": "json_object"}


def test_endpoint_without_json_modes_gets_plain_text_and_json_is_extracted(openai_server, schema, doc):
    reply = "当然。结果如下：\n```json\n" + json.dumps(answer_for(schema, schema.names), ensure_ascii=False) + "\n```"
    openai_server.enqueue(error_reply(400, "Unsupported parameter: 'response_format'"),
                          error_reply(400, "json_object response format unsupported"),
                          chat_reply(reply))
    ex = extractor_for(openai_server)
    fields, _ = ex.extract(doc, schema)
    assert fields["buyer"].value == "深圳大学" and ex.mode == "text"
    assert "response_format" not in openai_server.chat_requests()[2].body


def test_other_400_is_not_retried_or_downgraded(openai_server, schema, doc):
    openai_server.enqueue(error_reply(400, "This model's maximum context length is 8192 tokens"))
    with pytest.raises(Exception, match="maximum context length"):
        extractor_for(openai_server).extract(doc, schema)
    assert len(openai_server.chat_requests()) == 1


@pytest.mark.parametrize("status", [401, 403])
def test_auth_failure_raises_at_once_without_the_key(openai_server, schema, doc, status):
    openai_server.enqueue(error_reply(status, f"Incorrect API key provided: {SECRET}", "invalid_request_error",
                                      code="invalid_api_key"))
    with pytest.raises(LLMAuthError) as info:
        extractor_for(openai_server).extract(doc, schema)
    assert str(info.value) == "authentication failed: check OPENAI_API_KEY"
    rendered = "".join(traceback.format_exception(info.value))
    assert SECRET not in rendered and SECRET not in repr(info.value)
    assert len(openai_server.chat_requests()) == 1


def test_unknown_model_is_a_config_error_naming_the_model(openai_server, schema, doc):
    openai_server.enqueue(error_reply(404, "The model `gpt-9` does not exist", code="model_not_found"))
    with pytest.raises(LLMConfigError, match="'gpt-9'"):
        extractor_for(openai_server, model="gpt-9").extract(doc, schema)
    assert len(openai_server.chat_requests()) == 1


def test_cache_serves_the_second_extract_without_http(openai_server, schema, doc, tmp_path):
    openai_server.handler = answering_handler(schema)
    cache_file = tmp_path / "cache" / "llm.sqlite"
    first_fields, first_usage = extractor_for(openai_server, ResponseCache(cache_file)).extract(doc, schema)
    assert first_usage.calls == 1 and len(openai_server.chat_requests()) == 1

    # a fresh cache object on the same file, as a second run would open it
    fields, usage = extractor_for(openai_server, ResponseCache(cache_file)).extract(doc, schema)
    assert len(openai_server.chat_requests()) == 1
    assert usage.calls == 0 and usage.cached_calls == 1 and usage.prompt_tokens == 0
    assert {n: fv.to_json() for n, fv in fields.items()} == {n: fv.to_json() for n, fv in first_fields.items()}

    rows = sqlite3.connect(cache_file).execute("SELECT key, value FROM responses").fetchall()
    raw = " ".join(k + v for k, v in rows)
    assert len(rows) == 1 and "深圳大学" in raw and SECRET not in raw

    # another model is another key
    extractor_for(openai_server, ResponseCache(cache_file), model="gpt-4o").extract(doc, schema)
    assert len(openai_server.chat_requests()) == 2


def test_cache_is_shared_by_threads(tmp_path):
    cache = ResponseCache(tmp_path / "c.sqlite")
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: cache.put(f"k{i}", {"i": i}), range(50)))
    assert len(cache) == 50 and cache.get("k7") == {"i": 7} and cache.get("nope") is None


LONG_FILLER = "本项目技术要求包括机房环境、供电、制冷、综合布线、运维服务等内容，供应商应按国家标准执行并提供相关证明材料。"


@pytest.fixture(scope="module")
def long_doc(tmp_path_factory: pytest.TempPathFactory) -> Document:
    filler = [LONG_FILLER[i % 10:] + f"（第{i}条）" for i in range(40)]
    pages = [[f"第{p}章 技术规范", *filler] for p in range(1, 9)]
    pages[0] = [*PAGE1, *filler[:30]]
    pages[6] = [*PAGE2, *filler[:30]]
    return read_pdf(make_pdf(tmp_path_factory.mktemp("long") / "long.pdf", pages, size=8))


def test_long_document_goes_through_the_retriever(openai_server, schema, long_doc):
    whole_tokens = count_tokens(long_doc.text)
    assert whole_tokens > 2500
    queries: list[str] = []
    page = {p.number: p.text for p in long_doc.pages}
    chunks = [Chunk(id="c1", doc_sha256=long_doc.sha256, file=long_doc.path, text=page[1][:200], page_start=1,
                    page_end=1, char_start=0, char_end=200, index=0),
              Chunk(id="c7", doc_sha256=long_doc.sha256, file=long_doc.path, text=page[7][:200], page_start=7,
                    page_end=7, char_start=0, char_end=200, index=20)]

    def retriever(query: str, k: int) -> list[Chunk]:
        queries.append(query)
        return [chunks[1], chunks[0]]

    openai_server.handler = answering_handler(schema)
    fields, usage = extractor_for(openai_server, max_prompt_tokens=2500, jobs=2).extract(
        long_doc, schema, retriever=retriever)

    reqs = openai_server.chat_requests()
    # groups merged into calls of <= 10 fields (basics+parties+money, compute); one query per field
    assert len(reqs) == len(merge_groups(schema.groups(), 10)) == 2 and len(queries) == len(schema.fields)
    assert any("采购人" in q for q in queries) and any("中标金额" in q for q in queries)
    assert not any("organisation" in q for q in queries)  # Chinese terms only
    for req in reqs:
        doc_block = req.messages[1]["content"].split("<document>\n", 1)[1]
        assert doc_block.index("[page 1]") < doc_block.index("[page 7]")  # chunks in page order
        for n in (2, 3, 4, 5, 6, 8):
            assert f"[page {n}]" not in doc_block
        assert "（第35条）" not in doc_block  # only the retrieved chunks' text
    asked = sorted(n for r in reqs for n in requested_fields(r))
    assert asked == sorted(schema.names)
    verify_fields(long_doc, fields, {f.name: f.type for f in schema.fields})
    assert fields["buyer"].value == "深圳大学" and fields["buyer"].verified is True
    assert fields["award_amount_cny"].page == 2 and fields["award_amount_cny"].verified is False  # wrong page
    assert max(count_tokens(r.prompt_text) for r in reqs) < whole_tokens


def test_long_document_without_retriever_uses_label_ranked_pages(openai_server, schema, long_doc):
    openai_server.handler = answering_handler(schema)
    fields, usage = extractor_for(openai_server, max_prompt_tokens=2500).extract(long_doc, schema)
    reqs = openai_server.chat_requests()
    assert len(reqs) == len(merge_groups(schema.groups(), 10))
    parties = next(r for r in reqs if "buyer" in requested_fields(r))
    assert "采购人：深圳大学" in parties.prompt_text
    assert all(count_tokens(r.prompt_text) < count_tokens(long_doc.text) for r in reqs)


def test_failing_retriever_falls_back_to_page_ranking(openai_server, schema, long_doc):
    def broken(query: str, k: int) -> list[Chunk]:
        raise RuntimeError("store is gone")

    openai_server.handler = answering_handler(schema)
    fields, _ = extractor_for(openai_server, max_prompt_tokens=2500).extract(long_doc, schema, retriever=broken)
    assert fields["buyer"].value == "深圳大学"
    assert len(openai_server.chat_requests()) == len(merge_groups(schema.groups(), 10))


def test_usage_estimated_when_the_api_omits_it_and_unknown_models_cost_none(openai_server, schema, doc):
    openai_server.enqueue(chat_reply(answer_for(schema, schema.names)))
    _, usage = extractor_for(openai_server, model="my-local-llama").extract(doc, schema)
    assert usage.prompt_tokens > 500 and usage.completion_tokens > 50
    assert usage.cost_usd is None
    assert price_for("gpt-4o-mini-2024-07-18") == price_for("gpt-4o-mini") != price_for("gpt-4o")
    assert price_for("openai/gpt-4.1-mini") is not None and price_for("deepseek-chat") is not None


def test_settings_without_model_is_a_config_error():
    with pytest.raises(LLMConfigError, match="TENDERX_MODEL"):
        LLMExtractor(LLMSettings(base_url="http://127.0.0.1:9/v1"), None)


def test_connection_refused_is_retried_then_reported(schema, doc):
    server = OpenAIServer()  # never started: nothing listens on its port after close
    port = server.port
    server._httpd.server_close()
    settings = LLMSettings(base_url=f"http://127.0.0.1:{port}/v1", api_key=SECRET, model="gpt-4o-mini",
                           max_retries=1)
    with pytest.raises(LLMUnavailableError, match="connection error") as info:
        LLMExtractor(settings, None, backoff_base=0.01).extract(doc, schema)
    assert SECRET not in str(info.value)


def test_server_records_usable_for_benchmarks(openai_server):
    """The server counts concurrent requests (benchmarks assert parallelism with it)."""
    from concurrent.futures import ThreadPoolExecutor

    import openai as openai_pkg

    both_in = threading.Barrier(2, timeout=10)  # passes only when two requests are in flight together

    def handler(req: Recorded) -> Reply:
        both_in.wait()
        return chat_reply("{}")

    openai_server.handler = handler
    client = openai_pkg.OpenAI(base_url=openai_server.url, api_key="x", max_retries=0, timeout=20)
    with ThreadPoolExecutor(2) as pool:
        replies = list(pool.map(lambda _: client.chat.completions.create(model="m", messages=[]), range(2)))
    assert [r.choices[0].message.content for r in replies] == ["{}", "{}"]
    assert openai_server.max_in_flight == 2
    emb = client.embeddings.create(model="e", input=["a", "b"])
    assert len(emb.data) == 2 and len(emb.data[0].embedding) == 16
