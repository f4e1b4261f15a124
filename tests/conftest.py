"""Shared fixtures: a state folder per test, and one real index of the corpus per session."""

from __future__ import annotations

import os
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
    s = load_settings(home=str(home), corpus={"path": str(CORPUS)})
    system = build_system(s)
    summary = system.ingestor.ingest([CORPUS], progress=False)
    assert not summary.failed, summary.failed
    return system
