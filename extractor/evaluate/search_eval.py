"""Search evaluation: recall@k, MRR and no-answer accuracy per query type over a
hand-labelled query file (``evals/search_queries.yaml``).

What is scored is what a user sees: only hits that clear the relevance floor
(``Hit.good``) count, so a floor that hides right answers costs recall and a
search that always answers something fails the no-answer queries.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from extractor.core.errors import EvalInputError

ROOT = Path(__file__).resolve().parent.parent.parent
QUERIES_PATH = ROOT / "evals" / "search_queries.yaml"
BASELINE_PATH = ROOT / "evals" / "search_baseline.json"
DEPTH = 10  # hits fetched per query (MRR looks this deep)
TYPES = ("zh", "en", "mixed", "identifier", "model", "trap", "no_answer")
LANGS = ("zh", "en", "mixed")  # the language a query is typed in (identifiers have none)


def query_language(text: str, kind: str) -> str | None:
    """zh, en or mixed by the query's own text (Chinese characters, English words of 3+ letters);
    None for identifier queries, whose language is a code. Lets no-answer and trap queries
    count toward the language they are typed in."""
    if kind == "identifier":
        return None
    if kind in LANGS and kind != "mixed":
        return kind
    from extractor.search.floor import query_language as typed_in

    return typed_in(text)


@dataclass(frozen=True)
class Group:
    """One relevant (or forbidden) item: a file stem, optionally only some of its pages."""

    stem: str
    pages: frozenset[int] = frozenset()
    copies: frozenset[str] = frozenset()  # other files holding the same document (a scan of it)

    @classmethod
    def parse(cls, item: str, copies: dict[str, list[str]] | None = None) -> Group:
        stem, _, pages = str(item).partition(":")
        stem = stem.strip()
        return cls(stem, frozenset(int(p) for p in pages.split(",") if p.strip()),
                   frozenset((copies or {}).get(stem, [])))

    def matches(self, hit: Any) -> bool:
        if Path(hit.file).stem != self.stem and Path(hit.file).stem not in self.copies:
            return False
        if not self.pages:
            return True
        first = int(hit.page)
        last = int(getattr(hit, "page_end", 0) or first)
        return any(first <= p <= max(first, last) for p in self.pages)


@dataclass
class LabelledQuery:
    query: str
    type: str
    relevant: list[Group]
    forbid: list[Group]
    scope: str
    why: str = ""
    within: list[str] = field(default_factory=list)  # search only these documents (stems)

    @property
    def stems(self) -> set[str]:
        return {g.stem for g in (*self.relevant, *self.forbid)}


@dataclass
class QueryOutcome:
    query: str
    type: str
    shown: list[str]  # "stem:page" of the hits shown (above the floor)
    lang: str | None = None
    recall: float | None = None
    reciprocal_rank: float | None = None
    no_answer_right: bool | None = None
    forbid_ok: bool | None = None


@dataclass
class SearchEval:
    k: int
    mode: str
    outcomes: list[QueryOutcome] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def by_type(self) -> dict[str, dict[str, float | int | None]]:
        out: dict[str, dict[str, float | int | None]] = {}
        for t in (*TYPES, "all"):
            rows = [o for o in self.outcomes if t in ("all", o.type)]
            if rows:
                out[t] = self._scores(rows)
        return out

    def by_language(self) -> dict[str, dict[str, float | int | None]]:
        """The same scores per language typed (zh, en, mixed), over every query type: a language
        whose no-answer queries are answered anyway, or whose right hits are hidden, shows here."""
        out: dict[str, dict[str, float | int | None]] = {}
        for lang in LANGS:
            rows = [o for o in self.outcomes if o.lang == lang]
            if rows:
                out[lang] = self._scores(rows)
        return out

    def _scores(self, rows: list[QueryOutcome]) -> dict[str, float | int | None]:
        recalls = [o.recall for o in rows if o.recall is not None]
        rrs = [o.reciprocal_rank for o in rows if o.reciprocal_rank is not None]
        nas = [o.no_answer_right for o in rows if o.no_answer_right is not None]
        forbids = [o.forbid_ok for o in rows if o.forbid_ok is not None]
        return {
            "queries": len(rows),
            f"recall_at_{self.k}": _mean(recalls),
            "mrr": _mean(rrs),
            "no_answer_accuracy": _mean([float(x) for x in nas]),
            "forbid_ok": _mean([float(x) for x in forbids]),
        }

    def to_json(self) -> dict[str, Any]:
        return {"k": self.k, "mode": self.mode, "types": self.by_type(), "languages": self.by_language(),
                "skipped": len(self.skipped),
                "queries": [o.__dict__ for o in self.outcomes]}


def _mean(xs: list[float]) -> float | None:
    return round(statistics.mean(xs), 4) if xs else None


def load_queries(path: str | Path = QUERIES_PATH) -> tuple[int, list[LabelledQuery]]:
    """(k, queries) of a query file; malformed entries raise EvalInputError naming the entry."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise EvalInputError(f"{path}: not a readable query file ({e})") from None
    if not isinstance(data, dict) or not isinstance(data.get("queries"), list):
        raise EvalInputError(f"{path}: expected a mapping with a 'queries' list")
    groups = {str(k): [str(x) for x in v] for k, v in (data.get("groups") or {}).items()}
    copies: dict[str, list[str]] = {}
    for copy, original in (data.get("copies") or {}).items():
        copies.setdefault(str(original), []).append(str(copy))
    out = []
    for n, item in enumerate(data["queries"], start=1):
        if not isinstance(item, dict) or not str(item.get("query", "")).strip():
            raise EvalInputError(f"{path}: query #{n} has no 'query' text")
        kind = str(item.get("type", "zh"))
        if kind not in TYPES:
            raise EvalInputError(f"{path}: query #{n} ({item['query']!r}) has unknown type {kind!r}; use {TYPES}")
        relevant = [Group.parse(x, copies) for x in item.get("relevant") or []]
        if kind != "no_answer" and not relevant:
            raise EvalInputError(f"{path}: query #{n} ({item['query']!r}) needs 'relevant' (or type no_answer)")
        forbid = [Group.parse(x, copies) for x in item.get("forbid") or []]
        within = item.get("within")
        if within is not None and within not in groups:
            raise EvalInputError(f"{path}: query #{n} ({item['query']!r}): unknown group {within!r} in 'within'")
        out.append(LabelledQuery(str(item["query"]), kind, relevant, forbid, str(item.get("scope", "samples")),
                                 str(item.get("why", "")), groups[within] if within else []))
    return int(data.get("k", 3)), out


def evaluate_search(search: Callable[[str, list[str] | None], Iterable[Any]], queries: list[LabelledQuery],
                    present: set[str], k: int = 3, mode: str = "hybrid", has_packages: bool = False) -> SearchEval:
    """Score ``search(query, within) -> hits`` (each with file, page, page_end, good; ``within``:
    None or the file stems to search) on the queries whose files are all ``present`` (stems)
    and whose scope is available. recall@k = relevant groups in the top k / min(k, groups)."""
    result = SearchEval(k=k, mode=mode)
    for q in queries:
        if (q.scope == "packages" and not has_packages) or not (q.stems | set(q.within)) <= present:
            result.skipped.append(q.query)
            continue
        shown = [h for h in search(q.query, q.within or None) if getattr(h, "good", True)]
        outcome = QueryOutcome(q.query, q.type, [f"{Path(h.file).stem}:{h.page}" for h in shown[:k]],
                               query_language(q.query, q.type))
        if q.type == "no_answer":
            outcome.no_answer_right = not shown
        else:
            top = shown[:k]
            found = sum(any(g.matches(h) for h in top) for g in q.relevant)
            outcome.recall = found / min(k, len(q.relevant))
            rank = next((i for i, h in enumerate(shown[:DEPTH], start=1) if any(g.matches(h) for g in q.relevant)),
                        None)
            outcome.reciprocal_rank = 1.0 / rank if rank else 0.0
        if q.forbid:
            outcome.forbid_ok = not any(g.matches(h) for h in shown[:k] for g in q.forbid)
        result.outcomes.append(outcome)
    return result


def check_baseline(scores: dict[str, Any], baseline: dict[str, Any], tolerance: float = 1e-9) -> list[str]:
    """What fell below the baseline, per query type and language and metric (empty when nothing did)."""
    problems = []
    rows = [(kind, metrics, scores.get("types", {}).get(kind)) for kind, metrics in baseline.get("types", {}).items()]
    rows += [(f"lang {lang}", metrics, scores.get("languages", {}).get(lang))
             for lang, metrics in baseline.get("languages", {}).items()]
    for kind, metrics, now in rows:
        if now is None:
            problems.append(f"{kind}: no queries scored (baseline had {metrics.get('queries')})")
            continue
        for name, value in metrics.items():
            if name == "queries" or value is None:
                continue
            if (now.get(name) or 0.0) < value - tolerance:
                problems.append(f"{kind} {name} fell from {value:.3f} to {now.get(name) or 0.0:.3f}")
    return problems
