"""Search: query terms and understanding (`terms`, `query`), the lexical index (`lexical`), what a
hit covers (`coverage`), hybrid ranking with the relevance floor (`hybrid`), what each field's LLM
question is shown (`context`), and a LangChain retriever (`langchain`).

``extractor.search`` is also the public call ``search(store, query, ...)``: importing this package
sets the ``extractor.search`` attribute to the package, which would hide the function
``from extractor import search`` promises, so the package itself is callable and forwards to
`extractor.search.hybrid.search`.
"""

from __future__ import annotations

import sys
import types
from typing import Any


class _CallableSearch(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from extractor.search.hybrid import search

        return search(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableSearch
