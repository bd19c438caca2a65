"""Values a notice names only in its opening sentence, not under a label: the project of a
candidate notice (``一、招标概况 建投·信义华府…建设项目检测于2025年06月11日在…发布招标公告``).
The closing words are data (``rules_cues.yaml``: ``project_sentence_published``)."""

from __future__ import annotations

import re
from functools import lru_cache

from extractor.backends.rules.cues import cues, words_re
from extractor.backends.rules.views import View
from extractor.core.document import FieldValue

_SENTENCE_WINDOW = 80  # characters between the date and the words saying a notice was published


@lru_cache(maxsize=1)
def _project_sentence() -> re.Pattern[str]:
    """A line that opens with the name, then 于 + a date, then (in the same sentence) the words
    saying a notice about it was published."""
    published = words_re(cues()["project_sentence_published"])
    return re.compile(r"^[ \t]*([^\n。；;，,：:]{4,80}?)于\s*\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日"
                      rf"[^\n。]{{0,{_SENTENCE_WINDOW}}}?(?:{published})", re.M)


def project_from_sentence(views: list[View]) -> FieldValue | None:
    """The project named at the start of the notice's opening sentence (the first two pages)."""
    for v in views[:2]:
        m = _project_sentence().search(v.clean)
        if m:
            return v.fv(m.group(1).strip(), m.start(1), m.end()).low(
                "named in the opening sentence, not under a 项目名称 label")
    return None
