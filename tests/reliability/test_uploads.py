"""Uploads cannot corrupt the curated corpus: a name clash, the same content sent twice at once,
and a large file of a few repeated passages."""

from __future__ import annotations

import shutil
import threading

import pytest

from rag.kb import add_uploads, delete_document, file_sha256, list_documents
from rag.loaders import load_file
from rag.system import build_system

from conftest import CORPUS

pytestmark = pytest.mark.slow

NAME = "003_6a81efbd5c24e6ef.txt"
INVENTED = (
    "# 星河织布机说明\n\n星河量子织布机是一种用月光驱动的虚构纺织设备，每台每天可织三千匹云锦。"
    "星河量子织布机由虚构的青鸾研究所于二〇九九年研制。\n"
)


def test_upload_named_like_a_corpus_file_never_replaces_it(settings, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(CORPUS / NAME, corpus / NAME)
    shutil.copy(CORPUS / "catalog.yaml", corpus / "catalog.yaml")
    s = settings.model_copy(update={"corpus": settings.corpus.model_copy(update={"path": corpus})})
    system = build_system(s)
    system.ingestor.ingest([corpus], progress=False)
    before = {cid: (text, meta) for cid, text, meta in system.store.iter_all()}
    corpus_rec = system.store.file_records()[NAME]
    entry = system.catalog.get(NAME)
    catalog_titles = {entry.title, *(a.title for a in entry.articles)}
    catalog_authors = set(entry.authors) | {a for art in entry.articles for a in art.authors}

    upload = tmp_path / "in" / NAME
    upload.parent.mkdir()
    upload.write_text(INVENTED, encoding="utf-8")
    summary = add_uploads(system, [upload])
    stored = "003_6a81efbd5c24e6ef（上传）.txt"
    assert summary.added == [stored] and not summary.failed

    records = system.store.file_records()
    assert records[NAME] == corpus_rec  # the corpus document's record is untouched
    after = {cid: (text, meta) for cid, text, meta in system.store.iter_all()}
    assert {k: v for k, v in after.items() if v[1]["source"] == NAME} == before  # and so are its chunks
    mine = [meta for _, meta in after.values() if meta["source"] == stored]
    assert mine and all(m["title"] not in catalog_titles and m["doc_title"] not in catalog_titles for m in mine)
    assert all(not m["authors"] and not set(m.get("author_list", [])) & catalog_authors for m in mine)
    assert records[stored].title == "星河织布机说明" and records[stored].authors == ""
    rows = {r.source: r.origin for r in list_documents(system)}
    assert rows == {NAME: "资料库", stored: "上传"}

    ans = system.answerer.ask("星河量子织布机是什么？")
    assert not ans.refused and ans.citations[0].source == stored
    text = ans.markdown()
    assert all(t not in text for t in catalog_titles) and "马涛" not in text

    # the corpus folder ingested again: its file unchanged, the upload kept
    again = system.ingestor.ingest([corpus], progress=False)
    assert again.unchanged == [NAME] and not again.removed
    delete_document(system, stored)
    assert set(system.store.file_records()) == {NAME}
    assert {cid for cid, _, _ in system.store.iter_all()} == set(before)


def test_same_content_uploaded_at_once_under_two_names_is_indexed_once(settings, tmp_path):
    system = build_system(settings)
    text = "具身智能是指将人工智能融入机器人等物理实体，使其具备感知、学习和与环境交互的能力。"
    paths = []
    for name in ("甲.txt", "乙.txt"):
        (tmp_path / name).write_text(text, encoding="utf-8")
        paths.append(tmp_path / name)
    start = threading.Barrier(2)
    results = {}

    def upload(p):
        start.wait(timeout=30)
        results[p.name] = add_uploads(system, [p])

    threads = [threading.Thread(target=upload, args=(p,)) for p in paths]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    added = [s for r in results.values() for s in r.added]
    dupes = [s for r in results.values() for s in r.duplicates]
    assert len(added) == 1 and len(dupes) == 1
    assert set(system.store.file_records()) == set(added)
    assert system.store.count() == system.store.file_records()[added[0]].chunks
    assert sorted(p.name for p in (settings.home / "uploads").iterdir()) == added


def test_large_file_of_three_repeated_passages(settings, tmp_path):
    """~49 MiB of text that is three passages over and over: copied and hashed in blocks, indexed
    as the few chunks it holds (peak memory is measured by hand, see the report of issue 11)."""
    passages = [
        "新质生产力是创新起主导作用，摆脱传统经济增长方式、生产力发展路径，具有高科技、高效能、高质量特征，符合新发展理念的先进生产力质态。"
        * 3,
        "未来产业由前沿技术驱动，当前处于孕育萌发阶段或产业化初期，是具有显著战略性、引领性、颠覆性和不确定性的前瞻性新兴产业。"
        * 3,
        "银发经济是向老年人提供产品或服务，以及为老龄阶段做准备等一系列经济活动的总和，涉及面广、产业链长、业态多元、潜力巨大。"
        * 3,
    ]
    block = "\n\n".join(passages) + "\n\n"
    big = tmp_path / "重复.txt"
    with big.open("w", encoding="utf-8") as f:
        for _ in range(49 * 1024 * 1024 // len(block.encode())):
            f.write(block)
    s = settings.model_copy(update={"app": settings.app.model_copy(update={"max_upload_mb": 60})})
    system = build_system(s)
    summary = add_uploads(system, [big])
    assert summary.added == ["重复.txt"] and not summary.failed
    rec = system.store.file_records()["重复.txt"]
    assert rec.sha256 == file_sha256(big) == load_file(big, max_mb=60).sha256
    texts = [t for _, t, _ in system.store.iter_all()]
    assert 3 <= len(texts) <= 6 and all(any(p[:20] in t for p in passages) for t in texts)
