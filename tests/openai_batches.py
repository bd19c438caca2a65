"""The Batch API half of the local OpenAI-protocol test server: ``/v1/files`` and ``/v1/batches``.

A created batch is run through the server's ordinary chat handler, line by line,
so a test scripts batch answers exactly as it scripts online ones. ``mode`` says
how a new batch ends: ``"completed"``; ``"pending"`` (stays ``in_progress`` until
``finish()``); ``"expired"`` (only the first ``answer_first`` lines answered).
"""

from __future__ import annotations

import itertools
import json
import time
from email.parser import BytesParser
from email.policy import default as default_policy
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.openai_server import OpenAIServer, Reply


class BatchEndpoints:
    def __init__(self, server: OpenAIServer) -> None:
        self.server = server
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.mode = "completed"
        self.answer_first = 0
        self._ids = itertools.count(1)

    def handles(self, path: str) -> bool:
        return "/files" in path or "/batches" in path

    def finish(self, status: str = "completed") -> None:
        """End every pending batch (answering all its lines)."""
        for batch in self.batches.values():
            if batch["status"] == "in_progress":
                self._run(batch, len(batch["_lines"]), status)

    # --- HTTP ----------------------------------------------------------------------------
    def handle(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> Reply:
        from tests.openai_server import Reply, error_reply

        parts = path.split("?")[0].rstrip("/").split("/")
        if method == "POST" and parts[-1] == "files":
            return self._upload(headers, raw)
        if method == "GET" and parts[-1] == "content" and parts[-3] == "files":
            data = self.files.get(parts[-2])
            return Reply(200, data) if data is not None else error_reply(404, f"no file {parts[-2]}")
        if method == "POST" and parts[-1] == "batches":
            return self._create(json.loads(raw or b"{}"))
        if method == "GET" and parts[-2] == "batches":
            batch = self.batches.get(parts[-1])
            return Reply(200, self._public(batch)) if batch else error_reply(404, f"no batch {parts[-1]}")
        if method == "POST" and parts[-1] == "cancel":
            batch = self.batches.get(parts[-2])
            if not batch:
                return error_reply(404, f"no batch {parts[-2]}")
            self._run(batch, 0, "cancelled")
            return Reply(200, self._public(batch))
        return error_reply(404, f"unknown path {path}")

    def _upload(self, headers: dict[str, str], raw: bytes) -> Reply:
        from tests.openai_server import Reply

        message = BytesParser(policy=default_policy).parsebytes(
            f"Content-Type: {headers.get('content-type', '')}\r\n\r\n".encode() + raw)
        data, name, purpose = b"", "upload", ""
        for part in message.iter_parts():
            field = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True) or b""
            if field == "file":
                data, name = payload, part.get_filename() or name
            elif field == "purpose":
                purpose = payload.decode()
        file_id = f"file-{next(self._ids)}"
        self.files[file_id] = data
        return Reply(200, {"id": file_id, "object": "file", "bytes": len(data), "created_at": int(time.time()),
                           "filename": name, "purpose": purpose, "status": "processed"})

    def _create(self, body: dict[str, Any]) -> Reply:
        from tests.openai_server import Reply, error_reply

        data = self.files.get(body.get("input_file_id", ""))
        if data is None:
            return error_reply(400, "input_file_id not found")
        lines = [json.loads(x) for x in data.decode("utf-8").splitlines() if x.strip()]
        batch_id = f"batch_{next(self._ids)}"
        batch = {"id": batch_id, "object": "batch", "endpoint": body.get("endpoint"), "errors": None,
                 "input_file_id": body["input_file_id"], "completion_window": body.get("completion_window", "24h"),
                 "status": "in_progress", "output_file_id": None, "error_file_id": None,
                 "created_at": int(time.time()), "metadata": body.get("metadata"),
                 "request_counts": {"total": len(lines), "completed": 0, "failed": 0}, "_lines": lines}
        self.batches[batch_id] = batch
        if self.mode == "completed":
            self._run(batch, len(lines), "completed")
        elif self.mode == "expired":
            self._run(batch, self.answer_first, "expired")
        return Reply(200, self._public(batch))

    def _run(self, batch: dict[str, Any], answer: int, status: str) -> None:
        """Answer the first ``answer`` lines through the chat handler and end the batch as ``status``."""
        from tests.openai_server import Recorded

        out, errors = [], []
        for i, line in enumerate(batch["_lines"]):
            if i >= answer:
                errors.append({"id": f"req-{i}", "custom_id": line["custom_id"], "response": None,
                               "error": {"code": f"batch_{status}", "message": f"this request was not run: batch {status}"}})
                continue
            req = Recorded(line["url"], {}, line["body"], time.time())
            self.server.requests.append(req)
            reply = self.server._next_chat_reply(req)
            item = {"id": f"req-{i}", "custom_id": line["custom_id"],
                    "response": {"status_code": reply.status, "request_id": f"r{i}", "body": reply.body},
                    "error": None}
            (out if reply.status == 200 else errors).append(item)
        counts = batch["request_counts"]
        counts["completed"], counts["failed"] = len(out), len(errors)
        if out:
            batch["output_file_id"] = self._store(out)
        if errors:
            batch["error_file_id"] = self._store(errors)
        batch["status"] = status

    def _store(self, items: list[dict[str, Any]]) -> str:
        file_id = f"file-{next(self._ids)}"
        self.files[file_id] = "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in items).encode("utf-8")
        return file_id

    @staticmethod
    def _public(batch: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in batch.items() if not k.startswith("_")}
