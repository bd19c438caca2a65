"""A writer on a Chroma server killed with SIGKILL while it holds a document's lease (issue 24,
item 12): while it lives its heartbeat keeps the lease, once it is dead the next `tenderx ingest`
says whom it waits for and how long, and takes the lease over after the stale window instead of
waiting the quarter-hour TTL. Real `chroma run` (conftest), a real holder process, the real CLI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from openai_server import OpenAIServer
from pdf_factory import make_pdf

from extractor.read.pdf import file_sha256
from tests.conftest import ROOT

pytestmark = pytest.mark.server

STALE = "6"  # seconds; the default is a minute
HOLDER = """
import sys, time
from extractor.store.lease import Leases
from extractor.store.remote import connect, server_from_env
leases = Leases(connect(server_from_env()))
assert leases.try_take(sys.argv[1])
print(leases.me, flush=True)
time.sleep(600)
"""


def test_a_killed_writers_lease_is_taken_over_with_a_message(chroma_server: str, tmp_path: Path) -> None:
    from extractor.store.lease import Leases
    from extractor.store.remote import ChromaServer, connect

    database = f"t{uuid.uuid4().hex[:8]}"
    corpus = tmp_path / "corpus"
    make_pdf(corpus / "gpu.pdf", [["采购人：甲市大数据中心", "项目名称：智算中心GPU服务器采购", "英伟达 A100 服务器 8台"]])
    sha = file_sha256(corpus / "gpu.pdf")
    with OpenAIServer() as embed:
        env = {"TENDERX_CHROMA_URL": chroma_server, "TENDERX_CHROMA_DATABASE": database,
               "TENDERX_EMBED_BASE_URL": embed.url, "TENDERX_EMBED_MODEL": "emb-test", "OPENAI_API_KEY": "",
               "TENDERX_LEASE_STALE": STALE}
        full = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "TENDERX_"))} | env
        full["PYTHONPATH"] = str(ROOT)
        holder = subprocess.Popen([sys.executable, "-c", HOLDER, sha], env=full, stdout=subprocess.PIPE, text=True)
        log = tmp_path / "ingest.log"
        try:
            owner = holder.stdout.readline().strip()  # type: ignore[union-attr]
            assert owner, "the holder did not take the lease"
            other = Leases(connect(ChromaServer(chroma_server, database=database)), stale=float(STALE))
            first = other._holder(sha)
            time.sleep(float(STALE) / 4 + 3)  # past one heartbeat
            renewed = other._holder(sha)
            assert renewed["renewed"] > first["renewed"] and renewed["expires"] > first["expires"]  # it lives: renewed
            assert not other.try_take(sha) and other.owner(sha) == owner
            other.close()
            full["COLUMNS"] = "200"
            with log.open("w") as out:
                ingest = subprocess.Popen([sys.executable, "-m", "extractor", "ingest", str(corpus), "--store",
                                           str(tmp_path / "w")], cwd=ROOT, env=full, stdout=out, stderr=subprocess.STDOUT)
                deadline = time.monotonic() + 120
                while "waiting" not in log.read_text() and ingest.poll() is None:  # the holder is alive: it waits
                    assert time.monotonic() < deadline, log.read_text()
                    time.sleep(0.2)
        finally:
            os.kill(holder.pid, signal.SIGKILL)  # as kill -9: no release, no last word
            holder.wait()
        ingest.wait(timeout=120)  # the lease lapses a stale window after the last heartbeat
    said = " ".join(log.read_text().split())
    assert ingest.returncode == 0, said
    assert f"being written by {owner}" in said and "waiting" in said
    assert "taken over if its lease is not renewed within" in said and "giving up after 900s" in said
    assert "│     1 │" in log.read_text()  # added: the dead writer's lease did not stop it
