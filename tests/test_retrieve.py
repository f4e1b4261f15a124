"""Hybrid retrieval finds known passages of the real corpus; filters and refusal signal work."""

import pytest

from rag.retrieve import Filters, tokenize

KNOWN = [
    ("具身智能是指什么", "具身智能是一个涉及人工智能、认知科学和机器人学的概念"),
    ("银发经济的定义", "银发经济是向老年人提供产品或服务"),
    ("习近平在浙江考察时强调了什么", "要抓住产业数字化、数字产业化赋予的机遇"),
    ("未来产业一词最早由谁提出", "未来产业一词最早是由Alec Ross(2016)提出"),
    ("发展未来产业需要处理好哪几对关系", "要处理好以下几对关系"),
    ("数字技术遵循摩尔定律", "数字技术遵循摩尔定律的指数级演进"),
]


def test_user_dictionary_keeps_policy_terms():
    toks = tokenize("因地制宜发展新质生产力和未来产业，推进具身智能与脑机接口")
    for term in ("新质生产力", "未来产业", "具身智能", "脑机接口", "因地制宜"):
        assert term in toks


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["hybrid", "bm25", "dense"])
def test_known_passages_in_top5(corpus_system, mode):
    found = 0
    for question, needle in KNOWN:
        top = corpus_system.retriever.retrieve(question, top_k=5, mode=mode)
        found += any(needle in p.text for p in top)
    assert found >= (len(KNOWN) if mode == "hybrid" else len(KNOWN) - 2)


@pytest.mark.slow
def test_filters(corpus_system):
    r = corpus_system.retriever
    hits = r.retrieve("新质生产力", top_k=10, filters=Filters(author="林宝"))
    assert hits and all("林宝" in h.metadata["authors"] for h in hits)
    hits = r.retrieve("未来产业", top_k=10, filters=Filters(date_from="2025-01-01", date_to="2025-12-31"))
    assert hits and all((h.metadata["speech_date"] or h.metadata["date"]).startswith("2025") for h in hits)
    hits = r.retrieve("未来产业", top_k=5, filters=Filters(sources=["003_6a81efbd5c24e6ef.txt"]))
    assert {h.metadata["source"] for h in hits} == {"003_6a81efbd5c24e6ef.txt"}


@pytest.mark.slow
def test_answerability_separates_off_corpus_questions(corpus_system):
    # Retrieval always returns passages; whether they answer is the fitted answerability decision
    # (there is no separate retrieval-confidence constant to drift with another embedder).
    a = corpus_system.answerer
    assert not any(a.ask(q).refused for q, _ in KNOWN)
    assert all(a.ask(q).refused for q in ("如何做红烧肉", "明天北京天气怎么样", "梅西在哪个俱乐部踢球"))


@pytest.mark.slow
def test_bm25_index_rebuilt_when_another_process_changes_the_collection(settings, tmp_path):
    """A retriever whose index was built before another process ingested a document finds that
    document's words by BM25 alone: a stale index could not."""
    from rag.system import build_system

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("银发经济利当前惠长远。发展银发经济需要完善养老服务体系。", encoding="utf-8")
    s = settings.model_copy(update={"corpus": settings.corpus.model_copy(update={"path": docs})})
    reader = build_system(s)
    reader.ingestor.ingest([docs], progress=False)
    assert {p.metadata["source"] for p in reader.retriever.retrieve("量子计算机", top_k=5, mode="bm25")} <= {"a.txt"}
    (docs / "b.txt").write_text("量子计算机利用量子比特进行计算。量子科技是未来产业的重要方向。", encoding="utf-8")
    gen = reader.store.generation()
    build_system(s).ingestor.ingest([docs], progress=False)  # another process: its own store and retriever
    assert reader.store.generation() != gen
    hits = reader.retriever.retrieve("量子计算机", top_k=5, mode="bm25")
    assert hits and hits[0].metadata["source"] == "b.txt"


TEXTS = ["银发经济利当前惠长远", "量子科技是未来产业", "新质生产力是创新起主导作用的先进生产力质态", "具身智能机器人走进工厂"]
METAS = [{"title": f"文{i}", "source": f"{i}.txt"} for i in range(4)]


def _small_store(settings):
    import numpy as np

    from rag.store import open_store

    store = open_store(settings, "test-vectors", 4)
    vecs = np.eye(4, dtype=np.float32)
    store.upsert(["a", "b", "c"], TEXTS[:3], METAS[:3], vecs[:3])
    store.bump_generation()
    return store, vecs


def test_one_update_per_generation_while_readers_keep_the_previous_index(settings, monkeypatch):
    import threading
    import time

    import rag.retrieve as retrieve

    store, vecs = _small_store(settings)
    r = retrieve.Retriever(settings.retrieval, store, None, settings.home / "cache")
    assert len(r.chunks) == 3
    store.upsert(["d"], TEXTS[3:], METAS[3:], vecs[3:])
    store.bump_generation()
    real = retrieve.load_index

    def slow_load(*args, **kwargs):  # hold the update open so readers arrive while it runs
        time.sleep(0.5)
        return real(*args, **kwargs)

    monkeypatch.setattr(retrieve, "load_index", slow_load)
    seen: list[int] = []
    threads = [threading.Thread(target=lambda: seen.append(len(r.chunks))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(r.builds) == len(set(r.builds)) == 2  # first load + exactly one update for the new generation
    assert 3 in seen and 4 in seen and len(seen) == 8  # readers were served the previous index meanwhile
    assert r.retrieve("具身智能", top_k=1, mode="bm25")[0].id == "d"


def _chunk_texts(calls: list[str]) -> list[str]:
    """The chunks among the tokenised texts (a chunk is indexed under its header 《title》; the
    question of a search is tokenised too)."""
    return [t for t in calls if t.startswith("《")]


def test_new_process_tokenises_only_the_new_chunks(settings, tokenised):
    import rag.retrieve as retrieve

    store, vecs = _small_store(settings)
    cache = settings.home / "cache"
    _ = retrieve.Retriever(settings.retrieval, store, None, cache).chunks  # writes the caches
    assert len(tokenised) == 3
    tokenised.clear()
    store.delete(["a"])
    store.upsert(["d"], TEXTS[3:], METAS[3:], vecs[3:])
    store.bump_generation()
    r = retrieve.Retriever(settings.retrieval, store, None, cache)
    assert sorted(r.chunks.ids) == ["b", "c", "d"] and not list(cache.glob("*.tmp"))
    assert len(_chunk_texts(tokenised)) == 1 and "具身智能" in _chunk_texts(tokenised)[0]
    assert r.retrieve("具身智能", top_k=1, mode="bm25")[0].id == "d"
    assert not r.retrieve("银发经济", top_k=3, mode="bm25")  # a's words left with it


def test_restart_and_unchanged_generation_tokenise_nothing(settings, tokenised):
    import rag.retrieve as retrieve

    store, _ = _small_store(settings)
    cache = settings.home / "cache"
    r = retrieve.Retriever(settings.retrieval, store, None, cache)
    first = r.retrieve("量子科技", top_k=3, mode="bm25")
    assert len(_chunk_texts(tokenised)) == 3 and (cache / f"tokens-v1-{store.name}.pkl").is_file()
    tokenised.clear()
    store.bump_generation()  # a new generation with the same chunks (e.g. an unchanged re-ingest)
    assert r.retrieve("量子科技", top_k=3, mode="bm25") == first and len(r.builds) == 2
    restarted = retrieve.Retriever(settings.retrieval, store, None, cache)
    assert restarted.retrieve("量子科技", top_k=3, mode="bm25") == first
    assert _chunk_texts(tokenised) == []


def test_damaged_caches_are_rebuilt(settings, tokenised):
    import rag.retrieve as retrieve

    store, _ = _small_store(settings)
    cache = settings.home / "cache"
    first = retrieve.Retriever(settings.retrieval, store, None, cache).retrieve("量子科技", top_k=3, mode="bm25")
    files = sorted(cache.glob("*.pkl"))
    assert [f.name.split("-")[0] for f in files] == ["chunks", "tokens"]
    for f in files:
        f.write_bytes(f.read_bytes()[:40])  # cut short, as by a full disk
    tokenised.clear()
    again = retrieve.Retriever(settings.retrieval, store, None, cache).retrieve("量子科技", top_k=3, mode="bm25")
    assert again == first and len(_chunk_texts(tokenised)) == 3


@pytest.mark.slow
def test_one_question_reads_one_state_of_the_index(corpus_system):
    """Inside ``pinned`` (one question: its retrieval and its answer) a new generation of the
    index is not seen, also from the worker threads LangChain runs steps in; after it, it is."""
    from concurrent.futures import ThreadPoolExecutor
    from contextvars import copy_context

    r = corpus_system.retriever
    before, lexicon = r.chunks, r.lexicon
    with r.pinned():
        corpus_system.store.bump_generation()
        assert r.chunks is before and r.lexicon is lexicon
        ctx = copy_context()
        with ThreadPoolExecutor(1) as pool:
            chunks, lex = pool.submit(ctx.run, lambda: (r.chunks, r.lexicon)).result()
            assert chunks is before and lex is lexicon
    assert r.chunks is not before and r.chunks.gen == corpus_system.store.generation() and r.lexicon is not lexicon


@pytest.mark.slow
def test_wide_filters_are_pushed_down_to_chroma(corpus_system, monkeypatch):
    from rag.retrieve import Filters

    r = corpus_system.retriever
    f = Filters(sources=["003_6a81efbd5c24e6ef.txt"], author="刘云")
    assert f.where(r.linker.authors) == {
        "$and": [
            {"$or": [{"source": {"$in": ["003_6a81efbd5c24e6ef.txt"]}}, {"title": {"$in": ["003_6a81efbd5c24e6ef.txt"]}}]},
            {"author_list": {"$contains": "刘云"}},
        ]
    }
    assert Filters(author="刘").where(r.linker.authors) is None  # part of a name: checked in process only
    exact = r.retrieve("未来产业创新中心", top_k=5, filters=f)
    seen = []
    real_query = r.store.query
    monkeypatch.setattr(r.store, "query", lambda qv, k, where=None: seen.append(where) or real_query(qv, k, where))
    monkeypatch.setattr(r.s, "exact_filter_max", 0)  # every filter is "wide": Chroma filters the dense search
    monkeypatch.setattr(r.s, "exact_dense_max", 0)  # and the index is "large": searched through Chroma's HNSW
    pushed = r.retrieve("未来产业创新中心", top_k=5, filters=f)
    assert f.where(r.linker.authors) in seen
    assert pushed and all(p.metadata["source"] == "003_6a81efbd5c24e6ef.txt" and "刘云" in p.metadata["authors"] for p in pushed)
    assert [p.id for p in pushed][:3] == [p.id for p in exact][:3]


@pytest.mark.slow
def test_a_small_index_is_searched_exactly_and_a_large_one_through_chroma(corpus_system, monkeypatch):
    import numpy as np

    r = corpus_system.retriever
    qv = r.embed_query("未来产业的特征")
    with r.pinned():
        chunks = r.chunks
        assert len(chunks.ids) <= r.s.exact_dense_max  # the corpus: exact in process
        hits = r._dense(qv, 10, chunks, None)
        vectors = r.store.vectors(list(chunks.ids))
        truth = sorted(((float(vectors[cid] @ qv), row) for row, cid in enumerate(chunks.ids)), reverse=True)[:10]
        assert [row for row, _ in hits] == [row for _, row in truth]  # the true nearest, in order
        assert np.allclose([s for _, s in hits], [s for s, _ in truth], atol=1e-5)
        called = []
        monkeypatch.setattr(r.store, "query", lambda qv, k, where=None: called.append(k) or [])
        r._dense(qv, 10, chunks, None)
        assert not called  # no approximate search for a small index
        monkeypatch.setattr(r.s, "exact_dense_max", 0)
        r._dense(qv, 10, chunks, None)
        assert called == [10]  # a large index asks Chroma's HNSW index
