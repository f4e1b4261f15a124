"""Idempotent, failure-isolated and interruption-safe ingestion with the real model and Chroma."""

import os
import re
import signal
import subprocess
import sys
import time

from rag.chunking import Chunker
from rag.system import build_system

from conftest import ROOT, read_corpus


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


def test_killed_ingest_leaves_index_usable_and_next_run_completes(settings, tmp_path):
    docs = tmp_path / "docs"
    _write(docs, "small.txt", "新质生产力是创新起主导作用的先进生产力质态。发展新质生产力是推动高质量发展的内在要求。")
    env = dict(os.environ, RAG_HOME=str(settings.home), PYTHONUNBUFFERED="1")
    cmd = [sys.executable, "-m", "rag.cli", "ingest", str(docs)]
    subprocess.run(cmd, env=env, cwd=ROOT, check=True, capture_output=True, timeout=300)

    big = _speech_doc(50)
    expected = {c.id for c in Chunker(settings.chunking).chunk_text(big, "big.md")}
    _write(docs, "big.md", big)
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    seen = b""
    done = 0
    deadline = time.time() + 180
    while time.time() < deadline and proc.poll() is None and done < 32:
        seen += proc.stderr.read1(4096)
        counts = re.findall(rb"\| *(\d+)/(\d+) \[", seen)
        done = max((int(a) for a, b in counts if int(b) == len(expected)), default=0)
    proc.send_signal(signal.SIGKILL)  # mid-file: some batches written, no file record yet
    proc.wait(timeout=30)
    assert 32 <= done < len(expected)

    system = build_system(settings)
    records = system.store.file_records()
    assert "small.txt" in records and "big.md" not in records
    partial = set(system.store.ids_for_source("big.md"))
    assert partial and partial < expected
    hits = system.retriever.retrieve("新质生产力是什么")  # the previous index is usable
    assert any(h.metadata["source"] == "small.txt" for h in hits[:3])

    summary = system.ingestor.ingest([docs], progress=False)
    assert summary.added == ["big.md"] and summary.unchanged == ["small.txt"] and not summary.failed
    assert summary.chunks_embedded == len(expected - partial)  # only what was missing
    assert set(system.store.ids_for_source("big.md")) == expected
    assert system.store.count() == len(expected) + 1
