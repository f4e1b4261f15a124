"""Shared fixtures: a state folder per test, and one real index of the corpus per session."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


def read_corpus(prefix: str) -> str:
    return next(CORPUS.glob(f"{prefix}_*.txt")).read_text(encoding="utf-8")


@pytest.fixture()
def settings(tmp_path, monkeypatch):
    """Settings whose state folder is a fresh temporary directory."""
    from rag.settings import load_settings

    monkeypatch.chdir(ROOT)
    return load_settings(home=str(tmp_path / "home"), corpus={"path": str(CORPUS)})


@pytest.fixture(scope="session")
def corpus_system(tmp_path_factory):
    """The real corpus ingested once with the real embedding model into embedded Chroma."""
    from rag.settings import load_settings
    from rag.system import build_system

    home = tmp_path_factory.mktemp("corpus-home")
    # Developers may point RAG_TEST_CORPUS_CACHE at a state folder already holding the corpus
    # index: it is copied, and the ingest below still runs (it re-embeds only what changed), so
    # the session index is the same either way. CI leaves it unset and builds from scratch.
    cache = os.environ.get("RAG_TEST_CORPUS_CACHE")
    if cache and Path(cache, "chroma").is_dir():
        shutil.copytree(cache, home, dirs_exist_ok=True)
    s = load_settings(home=str(home), corpus={"path": str(CORPUS)})
    system = build_system(s)
    summary = system.ingestor.ingest([CORPUS], progress=False)
    assert not summary.failed, summary.failed
    return system
