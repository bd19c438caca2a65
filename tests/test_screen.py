"""Screening parties against the US lists (issue 12): the table, the Chinese names, the matcher, the CLI.

Every expectation about who is listed was checked against the list text in the committed table
(``raw_text``) — e.g. 西安电子科技大学 (Xidian) is on DoD 1286 but not the Entity List, 南京航空航天大学
and 北京航空航天大学 are both on the Entity List, 清华大学 is on none (only its CISS centre is).
"""

from __future__ import annotations

import ast
import csv
import json
from collections import Counter
from pathlib import Path

import pytest
from conftest import ROOT, run_cli

from extractor.screen import screen_names, screen_record, split_parties
from extractor.screen.ecfr import parse_ecfr
from extractor.screen.lists import TABLE_PATH, build_table, load_table, write_table
from extractor.screen.match import NAMES_PATH, default_screener

SHARED = next((p for p in (ROOT.parent / "shared", ROOT.parent.parent / "shared") if (p / "entitylist").is_dir()),
              None)
ENTITYLIST = SHARED / "entitylist" if SHARED else None


def results(name: str) -> list:
    return default_screener().screen(name)


def listed(name: str, list_key: str = "entity_list") -> list:
    """The exact/subunit results for a name on one list."""
    return [r for r in results(name) if r.list == list_key and r.match in ("exact", "subunit")]


# --- the committed table and the Chinese names --------------------------------------------------------

def test_committed_table_has_every_list_with_date_and_source() -> None:
    meta = load_table().meta["lists"]
    assert set(meta) >= {"entity_list", "unverified", "meu", "1260h", "1286", "uflpa", "ns_cmic"}
    for key, info in meta.items():
        assert info["as_of"][:4] == "2026" and info["source"] and info["rows"] > 0, key
    assert meta["entity_list"]["as_of"] == "2026-07-23"
    counts = Counter(p.list for p in load_table().parties)
    assert all(counts[k] == meta[k]["rows"] for k in meta)


def test_chinese_names_refer_to_real_entries_and_say_how_sure() -> None:
    table = load_table().by_key()
    with NAMES_PATH.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    bad = [r for r in rows if (r["list"], r["entry"]) not in table]
    assert bad == []
    assert {r["confidence"] for r in rows} <= {"sure", "likely"}
    assert {r["kind"] for r in rows} <= {"official", "alias", "former", "short", "affiliate"}
    entries = {(r["list"], r["entry"]) for r in rows}
    sure = {(r["list"], r["entry"]) for r in rows if r["confidence"] == "sure"}
    china_el = {(r["list"], r["entry"]) for r in rows if r["list"] in ("entity_list", "unverified", "meu")}
    assert len(entries) >= 200 and len(sure) >= 200 and len(china_el) >= 200
    assert all(len(r["name_zh"]) >= 2 for r in rows)  # no one-character short names


def test_no_chinese_name_points_at_two_different_entities_on_one_list() -> None:
    with NAMES_PATH.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    seen: dict[tuple[str, str], set[str]] = {}
    for r in rows:
        seen.setdefault((r["list"], r["name_zh"]), set()).add(r["entry"])
    clashes = {k: v for k, v in seen.items() if len(v) > 1}
    # the one known case: the Entity List names CGN twice (Corporation and Group, same company)
    assert set(clashes) == {("entity_list", "中国广核集团有限公司")}


# --- the eCFR parser ----------------------------------------------------------------------------------

_XML = """<?xml version="1.0"?>
<DIV5 N="744" TYPE="PART"><DIV9 N="Supplement No. 4 to Part 744" TYPE="APPENDIX">
<HEAD>Supplement No. 4 to Part 744&#x2014;Entity List</HEAD><TABLE><TBODY>
<TR><TD>BELARUS</TD><TD>Minsk Thing, Minsk.</TD><TD>For all items</TD><TD>Denial</TD><TD>1 FR 1, 1/1/20.</TD></TR>
<TR><TD>CHINA, PEOPLE'S REPUBLIC OF</TD><TD>Alpha University, a.k.a., the following two aliases:<br/>&#x2014;AU;
<E T="03">and</E><br/>&#x2014;Alpha University, Suzhou Research Institute.<br/> <br/> No. 1 Road, Hefei, China.</TD>
<TD>For all items subject to the EAR</TD><TD>Presumption of denial</TD><TD>89 FR 41888, 5/14/24.</TD></TR>
<TR><TD> </TD><TD>Beta Technology Co., Ltd., Room 5, Shenzhen, China.</TD><TD>For all items</TD><TD>Denial</TD>
<TD>88 FR 1, 1/2/23.</TD></TR>
<TR><TD> </TD><TD>Gamma Group, a.k.a., the following one alias:<br/>&#x2014;GG, and to include the following
affiliated entities:<br/> Hong Kong.</TD><TD>For all items</TD><TD>Denial</TD><TD>84 FR 2, 5/21/19.</TD></TR>
<TR><TD> </TD><TD>Affiliated entities:<br/> <E T="03">Gamma Cloud Co., Ltd.,</E> Beijing, China.<br/>
<E T="03">Gamma Chips Ltd.,</E> Shanghai, China.</TD><TD/><TD/><TD/></TR>
<TR><TD> </TD><TD>Delta Academy, a.k.a., the following alias, and one subordinate institution:<br/>&#x2014;DA.
<br/><E T="03">Subordinate institution</E><br/>Delta 9th Institute, a.k.a., the following one alias:<br/>
&#x2014;Delta Radio Institute.<br/> Beijing, China.</TD><TD>For all items</TD><TD>Denial</TD><TD>83 FR 3, 8/1/18.</TD></TR>
</TBODY></TABLE></DIV9></DIV5>"""


def test_parser_reads_aliases_continuations_affiliates_and_subordinates(tmp_path: Path) -> None:
    xml = tmp_path / "part-744.xml"
    xml.write_text(_XML, encoding="utf-8")
    by_name = {e.name: e for e in parse_ecfr(xml)}
    assert set(by_name) == {"Alpha University", "Beta Technology Co., Ltd.", "Gamma Group", "Gamma Cloud Co., Ltd.",
                            "Gamma Chips Ltd.", "Delta Academy", "Delta 9th Institute"}  # not Belarus
    assert by_name["Alpha University"].aliases == ["AU", "Alpha University, Suzhou Research Institute"]
    assert by_name["Alpha University"].citation == "89 FR 41888, 5/14/24."
    assert by_name["Gamma Cloud Co., Ltd."].parent == "Gamma Group"
    assert by_name["Gamma Cloud Co., Ltd."].citation == "84 FR 2, 5/21/19."  # from the entry it continues
    assert by_name["Delta 9th Institute"].parent == "Delta Academy"
    assert by_name["Delta 9th Institute"].aliases == ["Delta Radio Institute"]
    assert by_name["Beta Technology Co., Ltd."].aliases == []
    assert "Room 5, Shenzhen" in by_name["Beta Technology Co., Ltd."].raw_text


def test_table_write_is_deterministic(tmp_path: Path) -> None:
    xml = tmp_path / "part-744.xml"
    xml.write_text(_XML, encoding="utf-8")
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    write_table(build_table(xml, as_of="2026-07-23"), a)
    write_table(build_table(xml, as_of="2026-07-23"), b)
    assert a.read_bytes() == b.read_bytes()
    data = json.loads(a.read_text(encoding="utf-8"))
    assert data["lists"]["entity_list"]["rows"] == 7
    assert data["lists"]["entity_list"]["newest_citation"] == "89 FR 41888, 5/14/24"


@pytest.mark.skipif(ENTITYLIST is None, reason="../shared/entitylist not present")
def test_committed_table_is_what_the_script_builds_from_the_shared_xml(tmp_path: Path) -> None:
    out = tmp_path / "us_lists.json"
    r = run_cli_script("--ecfr", str(ENTITYLIST / "ecfr_title-15_part-744.xml"), "--as-of", "2026-07-23",
                       "--other", str(ENTITYLIST / "china_entities_other_us_lists.csv"),
                       "--other", str(ENTITYLIST / "china_entities.csv"), "--other-as-of", "2026-08-18",
                       "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert out.read_text(encoding="utf-8") == TABLE_PATH.read_text(encoding="utf-8")


@pytest.mark.skipif(ENTITYLIST is None, reason="../shared/entitylist not present")
def test_parser_agrees_with_the_shared_csv_derived_from_the_same_xml() -> None:
    mine = parse_ecfr(ENTITYLIST / "ecfr_title-15_part-744.xml")
    with (ENTITYLIST / "china_entities.csv").open(encoding="utf-8", newline="") as fh:
        theirs = [r for r in csv.DictReader(fh) if r["list"] in ("EL", "UVL", "MEU")]
    assert Counter(e.list for e in mine) == {"entity_list": 1154, "unverified": 102, "meu": 70}
    names = {(e.list, e.name) for e in mine}
    key = {"EL": "entity_list", "UVL": "unverified", "MEU": "meu"}
    same = sum((key[r["list"]], r["name"]) in names for r in theirs)
    assert same / len(theirs) >= 0.98  # the rest differ only in where an automatic name split stops


def run_cli_script(*args: str):
    import subprocess
    import sys

    return subprocess.run([sys.executable, str(ROOT / "scripts" / "update_lists.py"), *args],
                          capture_output=True, text=True, timeout=300)


# --- matching: every match type, and the near-misses ---------------------------------------------------

def test_exact_on_official_names_and_variants() -> None:
    assert [r.entry for r in listed("四川大学")] == ["Sichuan University"]
    assert [r.match for r in listed("四川大学")] == ["exact"]
    assert [r.entry for r in listed("电子科技大学")] == ["University of Electronic Science and Technology of China"]
    # brackets, spaces, and 股份有限公司 / 有限责任公司 variants normalise to one name
    for variant in ("华为终端（东莞）有限公司", "华为终端(东莞)有限公司", "华为终端东莞有限公司", " 华为终端 （东莞） 有限公司"):
        assert [r.entry for r in listed(variant)] == ["Huawei Device (Dongguan) Co., Ltd."], variant
    assert [r.match for r in listed("摩尔线程智能科技（北京）股份有限公司")] == ["exact"]
    assert [r.match for r in listed("浪潮电子信息产业有限公司")] == ["exact"]
    # 〇 / 零 / ○ in institute numbers
    for n in ("中国船舶集团有限公司第七〇九研究所", "中国船舶集团有限公司第七零九研究所", "中国船舶重工集团公司第七○九研究所"):
        assert [r.entry for r in listed(n)] == ["China State Shipbuilding Corporation, Limited (CSSC) 709th Research Institute"]
    # English names as the list writes them
    assert "Huawei Technologies Co., Ltd." in [r.entry for r in listed("HUAWEI TECHNOLOGIES CO LTD")]


def test_exact_results_carry_list_citation_and_date() -> None:
    (r,) = listed("中国科学技术大学")
    assert r.citation and "Supplement No. 4" in r.citation and "89 FR 41888" in r.citation
    assert r.as_of == "2026-07-23" and r.score == 100 and r.confidence == "sure"


def test_subunit_of_a_listed_university_only_when_not_listed_itself() -> None:
    (r,) = listed("中国科学技术大学苏州高等研究院")
    assert r.match == "subunit" and r.entry == "University of Science and Technology of China"
    assert "苏州高等研究院" in (r.note or "")
    # a campus in brackets
    assert [r.match for r in listed("哈尔滨工业大学（深圳）")] == ["subunit"]
    # a branch of a listed company
    assert [(r.match, r.entry) for r in listed("浪潮电子信息产业股份有限公司北京分公司")] == [
        ("subunit", "Inspur Electronic Information Industry Co., Ltd.")]
    # the list names this research institute (as an alias of Beihang): exact, not subunit
    assert [r.match for r in listed("北京航空航天大学杭州创新研究院")] == ["exact"]
    # a separately listed CETC institute is exact on its own entry, not a sub-unit of CETC on 1260H
    hits = [r for r in results("中国电子科技集团公司第十四研究所") if r.match != "similar"]
    assert {r.match for r in hits} == {"exact"}
    assert "China Electronics Technology Group Corporation 14th Research Institute (CETC 14)" in {r.entry for r in hits}


@pytest.mark.parametrize("name", [
    "深圳大学",  # nothing listed (only an ATR lab *at* Shenzhen University is on 1286)
    "中国科学院大学",  # CAS itself is not listed; only named institutes are
    "四川大学锦江学院",  # an independent college, not Sichuan University
    "北京理工大学珠海学院",
    "四川大学华西医院",  # affiliated hospitals are separate legal persons
    "中国科学技术大学附属第一医院",
    "中国科学技术大学出版社有限公司",
    "清华大学",  # only its CISS centre is on 1286
    "北京大学",
    "浙江大学",
])
def test_near_misses_match_nothing(name: str) -> None:
    assert [r for r in results(name) if r.match in ("exact", "subunit")] == []


def test_independent_college_says_why() -> None:
    (r,) = results("四川大学锦江学院")
    assert r.match == "none" and "独立学院" in (r.note or "")


@pytest.mark.parametrize(("name", "entry", "not_entry"), [
    ("电子科技大学", "University of Electronic Science and Technology of China", "University of Science and Technology of China"),
    ("中国科学技术大学", "University of Science and Technology of China", "University of Electronic Science and Technology of China"),
    ("北京航空航天大学", "Beijing University of Aeronautics and Astronautics (BUAA)", "Nanjing University of Aeronautics and Astronautics"),
    ("南京航空航天大学", "Nanjing University of Aeronautics and Astronautics", "Beijing University of Aeronautics and Astronautics (BUAA)"),
    ("哈尔滨工业大学", "Harbin Institute of Technology", "Harbin Engineering University"),
    ("哈尔滨工程大学", "Harbin Engineering University", "Harbin Institute of Technology"),
    ("西北工业大学", "Northwestern Polytechnical University", "Northwestern Polytechnical University, Beijing Research Institute"),
    ("国防科技大学", "National University of Defense Technology (NUDT)", "National Defense University"),
    ("中国科学院计算技术研究所", "Chinese Academy of Sciences Institute of Computing Technology", "Chinese Academy of Sciences Institute of Microelectronics"),
])
def test_listed_near_neighbours_are_not_confused(name: str, entry: str, not_entry: str) -> None:
    entries = [r.entry for r in listed(name)]
    assert entries == [entry] and not_entry not in entries


def test_names_listed_on_other_lists_only() -> None:
    # Xidian, not UESTC; on DoD 1286, not on the Entity List
    assert listed("西安电子科技大学") == []
    assert [r.entry for r in listed("西安电子科技大学", "1286")] == ["Xidian University"]
    assert listed("上海交通大学") == [] and [r.match for r in listed("上海交通大学", "1286")] == ["exact"]
    assert [r.entry for r in listed("天翼云科技有限公司", "1260h")] == ["Tianyi Cloud Technology Co., Ltd."]


def test_similar_is_shown_with_a_score_but_never_a_match() -> None:
    rs = results("哈尔滨理工大学")  # not listed; one character from 哈尔滨工业大学 and 哈尔滨工程大学
    assert rs and {r.match for r in rs} == {"similar"}
    assert {r.entry for r in rs} >= {"Harbin Institute of Technology", "Harbin Engineering University"}
    assert all(85 <= (r.score or 0) < 100 for r in rs)
    near = results("新华三技术有限公司")  # H3C; only New H3C Semiconductor is listed
    assert {r.match for r in near} <= {"similar", "none"}


# --- consortia, names, records ------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "parties"), [
    ("苏州衡川算力科技有限公司、浪潮电子信息产业股份有限公司联合体", ["苏州衡川算力科技有限公司", "浪潮电子信息产业股份有限公司"]),
    ("联合体：甲科技有限公司（牵头人）、乙数据有限公司（成员）", ["甲科技有限公司", "乙数据有限公司"]),
    ("甲科技有限公司与乙研究院（联合体）", ["甲科技有限公司", "乙研究院"]),
    ("北京应用物理与计算数学研究所", ["北京应用物理与计算数学研究所"]),  # 与 inside a name, no consortium
    ("四川大学", ["四川大学"]),
])
def test_consortium_names_split_into_parties(text: str, parties: list[str]) -> None:
    assert split_parties(text) == parties


def test_screen_names_screens_each_consortium_party() -> None:
    rs = screen_names(["苏州衡川算力科技有限公司、四川大学联合体"])
    assert [(r.party, r.match) for r in rs if r.list == "entity_list"] == [("四川大学", "exact")]
    assert ("苏州衡川算力科技有限公司", "none") in [(r.party, r.match) for r in rs]


def test_screen_record_lists_buyer_agency_and_suppliers_with_roles() -> None:
    rec = {"fields": {"buyer": {"value": "中国科学技术大学苏州高等研究院"},
                      "agency": {"value": "江苏苏采项目管理有限公司"},
                      "suppliers": {"value": ["甲科技有限公司、浪潮电子信息产业股份有限公司联合体"]}}}
    out = screen_record(rec)
    assert out and all(set(s) >= {"party", "role", "list", "entry", "citation", "match", "score", "as_of"}
                       for s in out)
    got = {(s["role"], s["party"], s["list"], s["match"]) for s in out}
    assert ("buyer", "中国科学技术大学苏州高等研究院", "entity_list", "subunit") in got
    assert ("supplier", "浪潮电子信息产业股份有限公司", "entity_list", "exact") in got
    assert not any(s["role"] == "agency" for s in out)
    assert screen_record({"fields": {"buyer": {"value": None}, "suppliers": {"value": []}}}) == []


def test_no_gold_party_of_the_invented_samples_is_listed(samples_dir: Path) -> None:
    """The samples' parties are invented except one buyer; screening must not invent listings."""
    hits = {}
    for gold in sorted(samples_dir.glob("*.gold.json")):
        labels = json.loads(gold.read_text(encoding="utf-8"))["labels"]
        rec = {"fields": {k: {"value": labels.get(k)} for k in ("buyer", "agency", "suppliers")}}
        found = [s for s in screen_record(rec) if s["match"] in ("exact", "subunit")]
        if found:
            hits[gold.name] = {(s["party"], s["match"]) for s in found}
    assert hits == {"award-ustc-suzhou-a100-rental.gold.json": {("中国科学技术大学苏州高等研究院", "subunit")}}


# --- the CLI and the pipeline, through real subprocesses ---------------------------------------------

def test_cli_screen_json_gives_subunit_exact_none_exact() -> None:
    names = ["中国科学技术大学苏州高等研究院", "四川大学", "深圳大学", "电子科技大学"]
    r = run_cli("screen", *names, "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    first = {}
    for d in data:
        if d["list"] in (None, "entity_list"):
            first.setdefault(d["party"], d["match"])
    assert [first[n] for n in names] == ["subunit", "exact", "none", "exact"]
    assert all({"party", "list", "entry", "citation", "match", "score", "as_of"} <= set(d) for d in data)


def test_cli_screen_table_and_list_info() -> None:
    r = run_cli("screen", "中国科学技术大学苏州高等研究院", "深圳大学")
    assert r.returncode == 0, r.stderr
    assert "subunit" in r.stdout and "none" in r.stdout and "lead to verify" in r.stdout
    info = run_cli("screen", "--list-info", "--json")
    assert info.returncode == 0, info.stderr
    lists = json.loads(info.stdout)
    assert lists["entity_list"]["as_of"] == "2026-07-23" and lists["entity_list"]["rows"] == 1154
    assert run_cli("screen").returncode == 2


def test_extract_attaches_screening_and_the_summary_shows_listed_parties(tmp_path: Path, samples_dir: Path) -> None:
    out = tmp_path / "records.jsonl"
    r = run_cli("extract", str(samples_dir / "award-ustc-suzhou-a100-rental.pdf"),
                str(samples_dir / "award-property-management.pdf"), "-b", "rules", "-o", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    recs = {Path(x["file"]).name: x for x in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    ustc = recs["award-ustc-suzhou-a100-rental.pdf"]
    assert "restricted_us_tech" in ustc["flags"]
    assert {(s["role"], s["list"], s["match"]) for s in ustc["screening"]} >= {("buyer", "entity_list", "subunit")}
    assert [s for s in recs["award-property-management.pdf"]["screening"] if s["match"] != "similar"] == []
    assert "naming a party on a US list" in r.stdout and "1 party on a US list" in " ".join(r.stdout.split())


# --- the layer rule -------------------------------------------------------------------------------------

def test_screen_package_imports_only_core() -> None:
    for py in (ROOT / "extractor" / "screen").glob("*.py"):
        tree = ast.parse(py.read_text(encoding="utf-8"))
        mods = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module]
        mods += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        ours = [m for m in mods if m.startswith("extractor")]
        assert all(m.startswith(("extractor.core", "extractor.screen")) for m in ours), (py.name, ours)


def test_readme_cites_the_same_federal_register_notices_as_list_info() -> None:
    info = run_cli("screen", "--list-info", "--json")
    assert info.returncode == 0, info.stderr
    lists = json.loads(info.stdout)
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    for key in ("entity_list", "unverified", "meu"):
        citation = lists[key]["newest_citation"]
        assert citation and citation in readme, (key, citation)
    assert "90 FR 50857" not in readme  # the old, wrong page number
