"""Findings: records (and cases) → the procurements a journalist can publish, with their evidence.

Layer: above ``export`` (it names files as exports do) and ``desk`` (it crops page images with the
desk's renderer); the CLI's ``tenderx findings`` is a thin call to ``write_findings``.
"""

from extractor.findings.build import Findings, build_findings
from extractor.findings.output import FindingsOutput, write_findings
from extractor.findings.summary import summarise, summary_line

__all__ = ["Findings", "FindingsOutput", "build_findings", "summarise", "summary_line", "write_findings"]
