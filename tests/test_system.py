"""Building the components and warming them before the first question."""

import pytest

from rag.retrieve import pos_tagger

pytestmark = pytest.mark.slow


def test_warm_up_loads_what_the_first_question_needs(corpus_system):
    pos_tagger.cache_clear()  # other tests may have loaded it already
    corpus_system.warm_up()
    assert pos_tagger.cache_info().currsize == 1  # the answerer's name tagger is loaded
    assert "answerer" in vars(corpus_system)  # built once, kept for the first real question
    assert not corpus_system.answerer.ask("未来产业有哪些特征").refused


def test_every_backend_is_an_answerer(settings, monkeypatch):
    """Callers use the Answerer protocol only: what streams, the offline answerer, the chat model."""
    from rag.answer import Answer, Answerer, ExtractiveAnswerer
    from rag.system import build_system

    system = build_system(settings)
    a = system.answerer
    assert isinstance(a, Answerer) and isinstance(a, ExtractiveAnswerer)
    assert not a.streams and a.offline is a and system.chat_model is None and system.chat_unavailable == ""
    parts = list(a.stream("什么是新质生产力"))  # offline: no text first, only the Answer
    assert len(parts) == 1 and isinstance(parts[0], Answer)

    monkeypatch.delenv("RAG_TEST_NO_SUCH_KEY", raising=False)
    llm = settings.llm.model_copy(
        update={"provider": "openai", "model": "m", "base_url": "http://127.0.0.1:9/v1", "api_key_env": "RAG_TEST_NO_SUCH_KEY"}
    )
    system = build_system(settings.model_copy(update={"llm": llm}))
    a = system.answerer
    assert isinstance(a, Answerer) and a.streams and isinstance(a.offline, ExtractiveAnswerer)
    assert system.chat_model is None and "RAG_TEST_NO_SUCH_KEY" in system.chat_unavailable
