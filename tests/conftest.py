"""Shared fixtures: a state folder per test, and one real index of the corpus per session."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
SETTINGS = ROOT / "settings.yaml"
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
# Tests are hermetic: what a developer's shell exports (RAG_HOME, RAG_SETTINGS, RAG_LLM__PROVIDER…)
# reaches neither the tests nor the servers and CLIs they start, so no test can write into the real
# state folder or answer with a configured chat model. RAG_TEST_* (e.g. RAG_TEST_CORPUS_CACHE) stay.
for _var in [v for v in os.environ if v.startswith("RAG_") and not v.startswith("RAG_TEST_")]:
    del os.environ[_var]


def load_test_settings(**overrides):
    """The project's settings under the test profile (settings-test.yaml), ``overrides`` first."""
    from rag.settings import load_settings

    return load_settings(SETTINGS, "test", **overrides)


def stop_process(proc, timeout: float = 30) -> None:
    """Stop a server process a test started: terminate, and kill it if it has not ended in ``timeout`` s."""
    import subprocess

    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)


def system_with_chat_model(settings, base_url: str, model: str, docs: Path, timeout: float = 10.0):
    """A System over ``docs`` (ingested) whose answers a chat model writes: ``model`` at ``base_url``
    (the fake server's), its key read from RAG_TEST_LLM_KEY, no retries."""
    from rag.system import build_system

    llm = settings.llm.model_copy(
        update={
            "provider": "openai",
            "model": model,
            "base_url": base_url,
            "api_key_env": "RAG_TEST_LLM_KEY",
            "timeout_s": timeout,
            "max_retries": 0,
        }
    )
    s = settings.model_copy(update={"llm": llm, "corpus": settings.corpus.model_copy(update={"path": docs})})
    system = build_system(s)
    system.ingestor.ingest([docs], progress=False)
    return system


def pytest_collection_modifyitems(items):
    """A test that uses the corpus index (corpus_system: the real embedder over the whole corpus) is
    slow, whether or not its file says so; pure unit tests beside it stay in `pytest -m "not slow"`."""
    for item in items:
        if "corpus_system" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


def read_corpus(prefix: str) -> str:
    return next(CORPUS.glob(f"{prefix}_*.txt")).read_text(encoding="utf-8")


@pytest.fixture()
def settings(tmp_path, monkeypatch):
    """Settings whose state folder is a fresh temporary directory."""
    monkeypatch.chdir(ROOT)
    return load_test_settings(home=str(tmp_path / "home"), corpus={"path": str(CORPUS)})


@pytest.fixture()
def tokenised(monkeypatch) -> list[str]:
    """Every text tokenised through ``rag.lexical.tokenize`` during the test (the index's chunks, and
    the questions searched), in order: a test counts what an index build tokenised."""
    import rag.lexical as lexical

    calls: list[str] = []
    real = lexical.tokenize
    monkeypatch.setattr(lexical, "tokenize", lambda text: calls.append(text) or real(text))
    return calls


@pytest.fixture(scope="session")
def corpus_system(tmp_path_factory):
    """The real corpus ingested once with the real embedding model into embedded Chroma."""
    from rag.system import build_system

    home = tmp_path_factory.mktemp("corpus-home")
    # Developers may point RAG_TEST_CORPUS_CACHE at a state folder already holding the corpus
    # index: it is copied, and the ingest below still runs (it re-embeds only what changed), so
    # the session index is the same either way. CI leaves it unset and builds from scratch.
    cache = os.environ.get("RAG_TEST_CORPUS_CACHE")
    if cache and Path(cache, "chroma").is_dir():
        shutil.copytree(cache, home, dirs_exist_ok=True)
    s = load_test_settings(home=str(home), corpus={"path": str(CORPUS)})
    system = build_system(s)
    summary = system.ingestor.ingest([CORPUS], progress=False)
    assert not summary.failed, summary.failed
    return system
