"""Building the components and warming them before the first question."""

import pytest

from rag.answer import _pos_tagger

pytestmark = pytest.mark.slow


def test_warm_up_loads_what_the_first_question_needs(corpus_system):
    assert corpus_system.warm_up() >= 0
    assert _pos_tagger.cache_info().currsize == 1  # the answerer's name tagger is loaded
    assert corpus_system.retriever.bm25 is not None
    assert not corpus_system.answerer.ask("未来产业有哪些特征").refused
