"""Tables of OCR'd pages rebuilt from the recogniser's boxes (issue 22), read by the rules engine
as PDF tables are; the OCR cache keeps the boxes; a lot number OCR ran into its figure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from extractor.backends.rules.engine import extract_rules
from extractor.backends.rules.money import _fused_lot_amounts
from extractor.read.ocr import OcrSettings
from extractor.read.ocr_cache import PageCache
from extractor.read.ocr_tables import read_ocr_tables
from extractor.read.pdf import read_pdf

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
A4 = (595.0, 842.0)


def _runs(text: str, boxes: dict[str, tuple[float, float, float, float]]) -> tuple:
    """A run per box-named piece of ``text`` (each piece once), boxes as page fractions."""
    return tuple((text.index(k), text.index(k) + len(k), *b) for k, b in boxes.items())


def test_aligned_tab_lines_make_a_grid_with_offsets_and_boxes() -> None:
    text = "中标结果\n包号\t中标供应商\t中标金额\n1\t甲公司\t100\n2\t乙公司\t200\n说明文字"
    runs = _runs(text, {"中标结果": (0.1, 0.05, 0.3, 0.07),
                        "包号": (0.1, 0.1, 0.15, 0.12), "中标供应商": (0.3, 0.1, 0.45, 0.12), "中标金额": (0.6, 0.1, 0.7, 0.12),
                        "1\t": (0.11, 0.13, 0.12, 0.15), "甲公司": (0.31, 0.13, 0.4, 0.15), "100": (0.62, 0.13, 0.66, 0.15),
                        "2\t": (0.11, 0.16, 0.12, 0.18), "乙公司": (0.31, 0.16, 0.4, 0.18), "200": (0.62, 0.16, 0.66, 0.18),
                        "说明文字": (0.1, 0.2, 0.3, 0.22)})
    runs = tuple((s, e - 1 if text[e - 1] == "\t" else e, *b) for s, e, *b in runs)
    [table] = read_ocr_tables(text, runs, 1, A4)
    assert (table.n_rows, table.n_cols) == (3, 3)
    grid = table.grid()
    assert [c.text for c in grid[2] if c] == ["2", "乙公司", "200"]
    cell = grid[1][1]
    assert cell is not None and text[cell.start:cell.end] == "甲公司"
    assert cell.bbox == pytest.approx((0.31 * 595, 0.13 * 842, 0.4 * 595, 0.15 * 842))


def test_misaligned_lines_and_pages_without_table_words_have_no_table() -> None:
    text = "包号\t名称\n甲\t乙"  # the second line's cells sit under no column of the first
    runs = _runs(text, {"包号": (0.1, 0.1, 0.2, 0.12), "名称": (0.5, 0.1, 0.6, 0.12),
                        "甲": (0.25, 0.13, 0.3, 0.15), "乙": (0.7, 0.13, 0.8, 0.15)})
    assert read_ocr_tables(text, runs, 1, A4) == []
    plain = "名称\t数量\n甲\t1\n乙\t2"  # aligned, but no table word (table_cues.yaml) on the page
    runs = _runs(plain, {"名称": (0.1, 0.1, 0.2, 0.12), "数量": (0.5, 0.1, 0.6, 0.12),
                         "甲": (0.1, 0.13, 0.2, 0.15), "1": (0.5, 0.13, 0.6, 0.15),
                         "乙": (0.1, 0.16, 0.2, 0.18), "2": (0.5, 0.16, 0.6, 0.18)})
    assert read_ocr_tables(plain, runs, 1, A4) == []


@pytest.fixture(scope="module")
def kv_scan() -> object:
    return read_pdf(SAMPLES / "scanned-award-kv-grid-construction.pdf", ocr=OcrSettings(threads=2))


def test_a_scanned_key_value_grid_is_a_table_of_the_ocr_text(kv_scan: object) -> None:
    page = kv_scan.pages[0]  # type: ignore[attr-defined]
    assert page.ocr is not None
    [table] = page.tables
    assert (table.n_rows, table.n_cols) == (6, 4)
    for cell in table.cells:
        assert cell.start is not None and page.text[cell.start:cell.end].strip() == cell.text
        assert cell.bbox is not None and 0 <= cell.bbox[0] < cell.bbox[2] <= 595.3
    assert [c.text for c in table.grid()[0] if c][:2] == ["建设单位", "宜陵市水务投资有限公司"]


def test_rules_read_a_scanned_grid_through_its_cells(kv_scan: object) -> None:
    fields = extract_rules(kv_scan)  # type: ignore[arg-type]
    assert fields["buyer"].value == "宜陵市水务投资有限公司"
    assert fields["buyer"].cell is not None and len(fields["buyer"].cell["bbox"]) == 4
    assert fields["publish_date"].value == "2025-05-12"  # 公示日期 | 2025年5月12日 on one OCR line
    assert fields["award_amount_cny"].value == 18_623_500


def test_ocr_cache_keeps_runs_and_misses_entries_without_them(tmp_path: Path) -> None:
    cache = PageCache(tmp_path, "ab" * 32, "settings")
    runs = ((0, 2, 0.1, 0.2, 0.3, 0.4),)
    cache.put(1, "包号", 0.9, runs)
    hit = cache.get(1)
    assert hit is not None and hit.runs == runs
    old = json.loads(cache._path(1).read_text(encoding="utf-8"))
    del old["runs"]  # written before runs were kept: re-read so the page gets its boxes back
    cache._path(1).write_text(json.dumps(old), encoding="utf-8")
    assert cache.get(1) is None


def test_lot_numbers_run_into_their_figures_are_split_off() -> None:
    assert _fused_lot_amounts("：包1280万元，包2140万元，包3100万元。") == (5_200_000.0, 24)
    assert _fused_lot_amounts("：包1 280万元，包2 140万元") is None  # the space kept: read as usual
    assert _fused_lot_amounts("：包1280万元，包3140万元") is None  # not lots 1, 2 in order
