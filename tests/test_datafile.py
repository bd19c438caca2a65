"""YAML data files read through a JSON copy in the cache folder (issue 26: a cold search must not
import PyYAML): the same values either way, a new copy for an edited file, no copy when the cache
cannot be written."""

from __future__ import annotations

import sys

from extractor.core.datafile import load_yaml

DATA = "# source: a test, 2026-12-07\nentries:\n  - {name: A100, since: 2022-09-01, n: 3}\nwords: [on, 4090]\n"


def test_the_json_copy_gives_the_same_values_without_pyyaml(tmp_path, monkeypatch):
    monkeypatch.setenv("TENDERX_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "d.yaml"
    path.write_text(DATA, encoding="utf-8")
    first = load_yaml(path)
    assert first == {"entries": [{"name": "A100", "since": "2022-09-01", "n": 3}], "words": [True, 4090]}
    assert len(list((tmp_path / "cache" / "data").glob("d-*.json"))) == 1
    monkeypatch.setitem(sys.modules, "yaml", None)  # `import yaml` now fails: the copy must answer
    assert load_yaml(path) == first


def test_an_edited_file_gets_a_new_copy_and_an_unwritable_cache_only_costs_time(tmp_path, monkeypatch):
    monkeypatch.setenv("TENDERX_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "d.yaml"
    path.write_text(DATA, encoding="utf-8")
    load_yaml(path)
    path.write_text(DATA.replace("n: 3", "n: 4"), encoding="utf-8")
    assert load_yaml(path)["entries"][0]["n"] == 4
    blocked = tmp_path / "a-file"
    blocked.write_text("", encoding="utf-8")
    monkeypatch.setenv("TENDERX_CACHE_DIR", str(blocked))  # its data/ folder cannot be made
    assert load_yaml(path)["entries"][0]["n"] == 4
