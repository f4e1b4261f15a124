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
