"""Build tenderx's screening table (extractor/data/screening/us_lists.json) from the US lists.

Offline (what the committed table was built from; the shared copy of the official eCFR XML):
    python scripts/update_lists.py --ecfr ../shared/entitylist/ecfr_title-15_part-744.xml \
        --as-of 2026-07-23 --other ../shared/entitylist/china_entities_other_us_lists.csv \
        --other ../shared/entitylist/china_entities.csv --other-as-of 2026-08-18

Online (a user refreshing the lists; needs internet):
    python scripts/update_lists.py --online            # today's eCFR Part 744 + the Consolidated Screening List

The table records, per list, its as-of date, its source and row count; `tenderx screen --list-info`
prints them. Review the diff (one entry per line) before committing an update.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from extractor.screen.lists import TABLE_PATH, build_table, write_table

ECFR_TITLES = "https://www.ecfr.gov/api/versioner/v1/titles.json"
ECFR_API = "https://www.ecfr.gov/api/versioner/v1/full/{date}/title-15.xml?part=744"
CSL_URL = "https://data.trade.gov/downloadable_consolidated_screening_list/v1/consolidated.json"
# Consolidated Screening List sources that are not in Part 744 (the eCFR is the authority for those),
# recognised by a phrase of the CSL `source` name
CSL_LISTS = {
    "Chinese Military-Industrial Complex": "ns_cmic",
    "Specially Designated Nationals": "sdn",
}


def _download(url: str, dest: Path) -> Path:
    req = urllib.request.Request(url, headers={"User-Agent": "tenderx update_lists"})
    with urllib.request.urlopen(req, timeout=120) as resp:
        dest.write_bytes(resp.read())
    return dest


def csl_rows(path: Path, as_of: str) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """China/Hong Kong rows of the CSL JSON for the lists in CSL_LISTS."""
    data = json.loads(path.read_text(encoding="utf-8"))
    rows: list[dict[str, Any]] = []
    lists: dict[str, dict[str, Any]] = {}
    for r in data.get("results", []):
        key = next((k for phrase, k in CSL_LISTS.items() if phrase in r.get("source", "")), None)
        countries = {a.get("country") for a in r.get("addresses") or []}
        if not key or not countries & {"CN", "HK"}:
            continue
        info = lists.setdefault(key, {"label": r["source"], "as_of": as_of, "source": CSL_URL, "rows": 0})
        info["rows"] += 1
        rows.append(
            {
                "id": f"{key}-{info['rows']:04d}",
                "list": key,
                "name": r.get("name", "").strip(),
                "aliases": [a.strip() for a in r.get("alt_names") or [] if a.strip()],
                "country": ";".join(sorted(c for c in countries if c in {"CN", "HK"})),
                "citation": r.get("federal_register_notice") or "",
                "license_review_policy": "",
                "parent": "",
                "raw_text": r.get("name", "").strip(),
            }
        )
    return rows, lists


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ecfr", type=Path, help="an eCFR XML file of 15 CFR Part 744")
    ap.add_argument("--as-of", help="the date the eCFR text is as of (YYYY-MM-DD)")
    ap.add_argument("--other", type=Path, action="append", default=[], help="CSV of other US lists (repeatable)")
    ap.add_argument("--other-as-of", default="", help="as-of date of the --other CSVs")
    ap.add_argument("--online", action="store_true", help="download today's eCFR and the CSL JSON")
    ap.add_argument("--out", type=Path, default=TABLE_PATH)
    args = ap.parse_args(argv)
    if args.online:
        tmp = Path(tempfile.mkdtemp(prefix="tenderx-lists-"))
        titles = json.loads(_download(ECFR_TITLES, tmp / "titles.json").read_text(encoding="utf-8"))
        today = next(t["latest_issue_date"] for t in titles["titles"] if t["number"] == 15)  # newest eCFR issue
        xml = _download(ECFR_API.format(date=today), tmp / "part-744.xml")
        table = build_table(xml, as_of=today, source=ECFR_API.format(date=today))
        rows, lists = csl_rows(_download(CSL_URL, tmp / "consolidated.json"), dt.date.today().isoformat())
        table["entries"].extend(rows)
        table["lists"].update(lists)
    else:
        if not args.ecfr or not args.as_of:
            ap.error("give --ecfr FILE and --as-of DATE (or --online)")
        source = f"eCFR 15 CFR Part 744 XML ({args.ecfr.name}, as of {args.as_of})"
        table = build_table(args.ecfr, as_of=args.as_of, source=source, other_lists=args.other,
                            other_as_of=args.other_as_of)
    write_table(table, args.out)
    for key, info in table["lists"].items():
        print(f"{key:12} {info['rows']:5d} rows  as of {info['as_of']}  {info.get('newest_citation', '')}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
