"""A screening entry as words a reader cannot overstate.

"entity_list" next to a name reads as "on the Entity List". For a sub-unit match that is false: the
institute is not listed, its university is. Every output (records CSV, exports, cases, findings) writes a
party's list status through ``status_text`` so the match type always travels with the list's name.
"""

from __future__ import annotations

from typing import Any

from extractor.screen.lists import LIST_LABELS

SHORT_NAMES = {"entity_list": "Entity List", "meu": "Military End-User List", "unverified": "Unverified List",
               "1260h": "DoD 1260H list", "1286": "DoD Section 1286 list", "uflpa": "UFLPA Entity List",
               "ns_cmic": "NS-CMIC list"}


def list_name(key: str | None) -> str:
    """'Entity List' for 'entity_list'; a list this module does not know keeps its label or key."""
    k = str(key or "")
    return SHORT_NAMES.get(k) or LIST_LABELS.get(k, k) or "a US list"


def status_text(entry: dict[str, Any]) -> str:
    """One sentence: the party, its role, the list, the match type, the citation and the list's date."""
    party, role = entry.get("party") or "?", entry.get("role") or "party"
    name, match = list_name(entry.get("list")), entry.get("match")
    cite = entry.get("citation") or ""
    when = f"list as of {entry['as_of']}" if entry.get("as_of") else "list date unknown"
    listed = entry.get("entry") or entry.get("matched_name") or "?"
    if match == "exact":
        return f"{party} ({role}): on the {name} as '{listed}' (exact match; {cite}; {when})"
    if match == "subunit":
        return (f"{party} ({role}): NOT on the {name} itself — a sub-unit of the listed '{listed}' "
                f"({entry.get('matched_name') or listed}); subunit match ({cite}; {when})")
    if match == "similar":
        return (f"{party} ({role}): not a match — a similar name to '{listed}' on the {name} "
                f"(score {entry.get('score')}); check the list text")
    return f"{party} ({role}): no match on the {name}"


def match_label(entry: dict[str, Any]) -> str:
    """'Entity List (exact)', 'Entity List (subunit: parent listed)', 'Entity List (similar name only)'."""
    name, match = list_name(entry.get("list")), entry.get("match")
    return {"exact": f"{name} (exact)", "subunit": f"{name} (subunit: parent listed, not itself)",
            "similar": f"{name} (similar name only, not a match)"}.get(str(match), f"{name} ({match})")
