"""Idempotent, failure-isolated and interruption-safe ingestion with the real model and Chroma.
(kill -9 of real processes: tests/reliability/test_crash.py.)"""

from rag.chunking import Chunker
from rag.store import Pending
from rag.system import build_system

from conftest import read_corpus


def _write(folder, name, text):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")


def _speech_doc(n: int) -> str:
    text = read_corpus("001")
    return text[text.index("# 习近平总书记关于未来产业的重要论述") :][: 600 * n]


def test_reingest_is_idempotent_and_tracks_changes(settings, tmp_path):
    docs = tmp_path / "docs"
    _write(docs, "a.md", _speech_doc(2))
    _write(docs, "b.txt", "# 银发经济\n\n银发经济是向老年人提供产品或服务的经济活动的总和。发展银发经济利当前惠长远。\n")
    system = build_system(settings)
    first = system.ingestor.ingest([docs], progress=False)
    assert sorted(first.added) == ["a.md", "b.txt"] and first.chunks_embedded > 0
    n = system.store.count()

    again = system.ingestor.ingest([docs], progress=False)
    assert again.chunks_embedded == 0 and sorted(again.unchanged) == ["a.md", "b.txt"]
    assert system.store.count() == n

    _write(docs, "b.txt", "# 银发经济\n\n银发经济是向老年人提供产品或服务的经济活动的总和。推动银发经济发展，关键在顶层设计。\n")
    (docs / "a.md").unlink()
    changed = system.ingestor.ingest([docs], progress=False)
    assert changed.changed == ["b.txt"] and changed.removed == ["a.md"]
    texts = [t for _, t, _ in system.store.iter_all()]
    assert any("顶层设计" in t for t in texts) and not any("利当前惠长远" in t for t in texts)
    assert not any("浙江考察" in t for t in texts)
    assert set(system.store.file_records()) == {"b.txt"}


def test_bad_files_reported_and_others_ingested(settings, tmp_path):
    docs = tmp_path / "docs"
    _write(docs, "good.txt", "未来产业具有前瞻性、战略性、颠覆性等特点，需要科学谋划、全局统筹。")
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4 broken")
    (docs / "broken.docx").write_bytes(b"not a zip")
    (docs / "gbk.txt").write_bytes("发展银发经济是积极应对人口老龄化的客观要求。".encode("gbk"))
    (docs / "copy.txt").write_text("未来产业具有前瞻性、战略性、颠覆性等特点，需要科学谋划、全局统筹。", encoding="utf-8")
    system = build_system(settings)
    summary = system.ingestor.ingest([docs], progress=False)
    assert set(summary.failed) == {"broken.pdf", "broken.docx"}
    assert all(name in reason for name, reason in summary.failed.items())
    assert summary.duplicates == {"good.txt": "copy.txt"} or summary.duplicates == {"copy.txt": "good.txt"}
    sources = {m["source"] for _, _, m in system.store.iter_all()}
    assert "gbk.txt" in sources and not sources & {"broken.pdf", "broken.docx"}


def _orphans(system, source: str, n: int, text: str = "") -> list[str]:
    """Write ``n`` chunks of ``source`` straight into the store, as a killed writer leaves them."""
    chunks = Chunker(system.settings.chunking).chunk_text(text or _speech_doc(n), source)[:n]
    vectors = system.embedder.embed_passages([c.embed_text for c in chunks])
    system.store.upsert([c.id for c in chunks], [c.text for c in chunks], [c.metadata for c in chunks], vectors)
    return [c.id for c in chunks]


def test_startup_rolls_back_a_journalled_write(settings, tmp_path):
    docs = tmp_path / "docs"
    _write(docs, "small.txt", "新质生产力是创新起主导作用的先进生产力质态。")
    system = build_system(settings)
    system.ingestor.ingest([docs], progress=False)
    ids = _orphans(system, "killed.md", 3)
    system.store.begin(Pending("killed.md", "adding", ids, str(docs / "killed.md"), "corpus"))
    gen = system.store.generation()

    again = build_system(settings)
    assert again.recovered and "killed.md" in again.recovered[0]
    assert set(again.store.chunk_sources()) == {"small.txt"} and again.store.pending() == []
    assert again.store.generation() != gen  # derived indexes (BM25) rebuild
    assert build_system(settings).recovered == []  # nothing left to do: the fast path


def test_startup_removes_unregistered_chunks_without_a_journal(settings, tmp_path):
    """A store written before the journal existed (or by hand): the counts disagree, so every
    chunk's source is read and the unregistered ones go."""
    docs = tmp_path / "docs"
    _write(docs, "small.txt", "新质生产力是创新起主导作用的先进生产力质态。")
    system = build_system(settings)
    system.ingestor.ingest([docs], progress=False)
    _orphans(system, "legacy.md", 2)
    again = build_system(settings)
    assert any("legacy.md" in line for line in again.recovered)
    assert again.store.count() == sum(r.chunks for r in again.store.file_records().values())


def test_a_finished_removal_is_completed(settings, tmp_path):
    docs = tmp_path / "docs"
    _write(docs, "small.txt", "新质生产力是创新起主导作用的先进生产力质态。")
    system = build_system(settings)
    system.ingestor.ingest([docs], progress=False)
    ids = system.store.ids_for_source("small.txt")
    system.store.begin(Pending("small.txt", "removing", ids, drop=True))  # killed right after this
    again = build_system(settings)
    assert again.store.file_records() == {} and again.store.count() == 0


def test_a_write_in_progress_is_neither_counted_nor_returned(settings, tmp_path):
    """Chunks journalled as being added (an upload still embedding) are not listed, counted or
    found by a search until their file's record is written."""
    docs = tmp_path / "docs"
    _write(docs, "small.txt", "新质生产力是创新起主导作用的先进生产力质态。")
    system = build_system(settings)
    system.ingestor.ingest([docs], progress=False)
    ids = _orphans(system, "writing.md", 3)
    system.store.begin(Pending("writing.md", "adding", ids, "", "upload"))
    assert system.store.count() == 1 and {m["source"] for _, _, m in system.store.iter_all()} == {"small.txt"}
    assert system.store.ids() == system.store.ids_for_source("small.txt")
    vec = system.store.vectors(ids[:1])[ids[0]]
    assert [cid for cid, _ in system.store.query(vec, 2)] == system.store.ids_for_source("small.txt")
    assert all(h.metadata["source"] == "small.txt" for h in system.retriever.retrieve("习近平 未来产业 考察"))


def test_startup_trims_extra_chunks_of_a_registered_file(settings, tmp_path):
    """Chunks under a registered file's name that its unchanged file does not give (a changed
    version killed before the journal existed) are deleted; the file's own chunks stay."""
    docs = tmp_path / "docs"
    _write(docs, "a.md", _speech_doc(2))
    system = build_system(settings)
    system.ingestor.ingest([docs], progress=False)
    own = set(system.store.ids_for_source("a.md"))
    _orphans(system, "a.md", 1, "银发经济是向老年人提供产品或服务的经济活动的总和。")
    assert system.store.count() == len(own) + 1
    again = build_system(settings)
    assert set(again.store.ids_for_source("a.md")) == own and again.store.file_records()["a.md"].chunks == len(own)
