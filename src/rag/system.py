"""Build once, pass in: one function builds every component from settings."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cached_property

from .catalog import Catalog, load_catalog
from .embeddings import Embedder, build_embedder
from .ingest import Ingestor
from .retrieve import Retriever
from .settings import Settings
from .store import Store, open_store


@dataclass
class System:
    settings: Settings
    embedder: Embedder
    store: Store
    catalog: Catalog
    recovered: list[str] = field(default_factory=list)  # what start-up recovery repaired

    @cached_property
    def ingestor(self) -> Ingestor:
        return Ingestor(self.settings, self.embedder, self.store, self.catalog)

    @cached_property
    def retriever(self) -> Retriever:
        return Retriever(self.settings.retrieval, self.store, self.embedder, self.settings.home / "cache")

    @cached_property
    def answerer(self):
        from .answer import build_answerer

        return build_answerer(self.settings, self.retriever)

    @property
    def offline(self):
        """The extractive answerer (the configured answerer itself, or a chat answerer's fallback)."""
        return self.answerer.offline

    @property
    def chat_model(self):
        """The configured chat model (LangChain), or None when answers are extractive or the model
        cannot be used (``chat_unavailable`` says why)."""
        return self.answerer.chat_model

    @property
    def chat_unavailable(self) -> str:
        return self.answerer.unavailable

    def warm_up(self) -> float:
        """Load what the first question would otherwise wait for (BM25 index, embedding model, the
        POS tagger of the answerer) by answering one question; returns the seconds it took."""
        t0 = time.perf_counter()
        examples = self.settings.app.examples
        self.answerer.ask(examples[0] if examples else "概述")
        return time.perf_counter() - t0


def build_system(settings: Settings, client=None, recover: bool = True) -> System:
    """Embedder, store and catalog from settings; the rest is built on first use.

    Unless ``recover=False``, writes that a killed process left half done are rolled back first
    (``Ingestor.recover``: a cheap check when all is well), so whatever runs next - the app, a
    CLI verb - lists and cites only what the file registry holds."""
    embedder = build_embedder(settings.embedding)
    store = open_store(settings, embedder.name, embedder.dim, client=client)
    system = System(settings, embedder, store, load_catalog(settings.catalog_path))
    if recover:
        system.recovered = system.ingestor.recover()
    return system
