"""Why a PDF could not be read: the failure kinds and their error. The PDF reader, OCR and the
bounded worker all raise it, so it sits below them."""

from __future__ import annotations

from extractor.core.errors import ReadError

ERROR_KINDS = ("missing", "empty", "not_pdf", "html_not_pdf", "encrypted", "truncated", "corrupt", "unreadable",
               "timeout", "memory", "too_large")  # the last three come from extractor.read.guard


class PdfError(ReadError):
    """A file that cannot be read as a PDF; ``kind`` is one of ERROR_KINDS, ``message``
    one line for the user."""

    def __init__(self, kind: str, message: str):
        assert kind in ERROR_KINDS, kind
        super().__init__(kind, message)
