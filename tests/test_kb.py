from rag.kb import add_uploads, delete_document, list_documents, safe_name, upload_name
from rag.loaders import file_sha256
from rag.system import build_system


def test_safe_name():
    assert safe_name("../../etc/passwd.txt") == "passwd.txt"
    assert safe_name("我的 资料;rm -rf.md") == "我的_资料_rm_-rf.md"
    assert safe_name("C:\\\\Users\\\\x\\\\报告.docx") == "报告.docx"


def test_upload_duplicate_failure_delete(settings, tmp_path):
    system = build_system(settings)
    src = tmp_path / "in"
    src.mkdir()
    (src / "银发.txt").write_text("银发经济是向老年人提供产品或服务的经济活动的总和。", encoding="utf-8")
    (src / "copy.txt").write_text("银发经济是向老年人提供产品或服务的经济活动的总和。", encoding="utf-8")
    (src / "bad.pdf").write_bytes(b"%PDF broken")
    (src / "x.exe").write_bytes(b"MZ")
    summary = add_uploads(system, [src / "银发.txt", src / "copy.txt", src / "bad.pdf", src / "x.exe"])
    assert summary.added == ["银发.txt"]
    assert summary.duplicates == {"copy.txt": "银发.txt"}
    assert set(summary.failed) == {"bad.pdf", "x.exe"}
    uploads = settings.home / "uploads"
    assert sorted(p.name for p in uploads.iterdir()) == ["银发.txt"]  # nothing left of the failures
    rows = list_documents(system)
    assert [(r.source, r.origin) for r in rows] == [("银发.txt", "上传")]
    # ingesting the corpus folder later does not prune the upload
    assert delete_document(system, "银发.txt") == 1
    assert list_documents(system) == [] and not (uploads / "银发.txt").exists()


def test_upload_size_limit(settings, tmp_path):
    system = build_system(settings.model_copy(update={"app": settings.app.model_copy(update={"max_upload_mb": 0.001})}))
    big = tmp_path / "big.txt"
    big.write_text("字" * 2000, encoding="utf-8")
    summary = add_uploads(system, [big])
    assert "big.txt" in summary.failed and "过大" in summary.failed["big.txt"]


def test_folder_ingest_keeps_uploads(settings, tmp_path):
    system = build_system(settings)
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "c.txt").write_text("未来产业具有前瞻性、战略性、颠覆性等特点。", encoding="utf-8")
    up = tmp_path / "u.txt"
    up.write_text("脑机接口是指在人或动物大脑与外部设备之间创建的直接连接。", encoding="utf-8")
    add_uploads(system, [up])
    summary = system.ingestor.ingest([folder], progress=False)
    assert summary.added == ["c.txt"] and summary.removed == []
    assert {r.source for r in list_documents(system)} == {"c.txt", "u.txt"}


def test_upload_name_stays_out_of_the_corpus_namespace(tmp_path):
    taken = {"003_a.txt"}  # a corpus document's name
    assert upload_name("003_a.txt", "x", tmp_path, taken) == "003_a（上传）.txt"
    (tmp_path / "b.txt").write_text("已有的上传", encoding="utf-8")
    same = file_sha256(tmp_path / "b.txt")
    assert upload_name("b.txt", same, tmp_path, taken) == "b.txt"  # the same upload again
    assert upload_name("b.txt", "other", tmp_path, taken) == "b-2.txt"  # another file of that name
