"""The knowledge base as LangChain parts: a ``BaseRetriever`` returning ``Document``s.

``KnowledgeBaseRetriever`` wraps the project's hybrid retriever (BM25 + e5 + sentence search, with
the question's linked authors/titles/occasions), so a LangChain user can compose it with their own
prompt and model::

    retriever = build_system(load_settings()).retriever.as_langchain(k=4)
    docs = retriever.invoke("什么是新质生产力？")   # Documents, metadata intact

Each Document's ``page_content`` is the passage as displayed (the original text); its metadata is
the chunk's (source, title, authors, section, occasion, speech_date, …) plus ``id``, ``score`` and
``rank``.
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from .retrieve import Filters, Passage


def to_document(p: Passage) -> Document:
    return Document(page_content=p.text, id=p.id, metadata={**p.metadata, "id": p.id, "score": round(p.score, 6), "rank": p.rank})


class KnowledgeBaseRetriever(BaseRetriever):
    """LangChain retriever over the knowledge base (see module doc)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    retriever: Any  # rag.retrieve.Retriever
    k: int | None = None  # passages returned; None: retrieval.top_k
    mode: str | None = None  # hybrid | bm25 | dense; None: retrieval.mode
    filters: Filters | None = None

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        from .query import analyze

        with self.retriever.pinned():  # the names are linked against the index that is searched
            analysis = analyze(query, self.retriever.linker)
            passages = self.retriever.retrieve(query, self.k, self.mode, self.filters, analysis)
        return [to_document(p) for p in passages]
