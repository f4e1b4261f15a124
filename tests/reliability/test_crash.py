"""kill -9 in the middle of writes: of `rag ingest` at three points, and of an upload (the app's
upload handler, ``kb.add_uploads``, in its own process). After each kill the next start-up
brings the store and the file registry back into agreement; nothing unregistered is cited."""

from __future__ import annotations

import re
import sys

import pytest

from rag.chunking import Chunker
from rag.kb import list_documents
from rag.system import build_system

from .conftest import assert_agrees, cli_env, kill_when, run_cli
from conftest import read_corpus

pytestmark = pytest.mark.slow


def _speech(n: int, start: int = 0) -> str:
    text = read_corpus("001")
    body = text[text.index("# 习近平总书记关于未来产业的重要论述") :]
    return body[start : start + 600 * n]


def _docs_agree(env) -> dict[str, int]:
    """`rag docs` (a fresh process: start-up recovery runs first) lists what the store holds."""
    out = run_cli(["docs"], env).stdout
    if "索引为空" in out:
        return {}
    listed = {m[0]: int(m[1]) for m in re.findall(r"^(\S+)\s+(\d+)\s+\d{4}-", out, re.M)}
    files, chunks = map(int, re.search(r"共 (\d+) 个文件，(\d+) 个文本块", out).groups())
    assert files == len(listed) and chunks == sum(listed.values()), out
    return listed


def test_kill_rag_ingest_at_three_points(settings, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    files = {
        "a_big.md": _speech(25),
        "b_mid.md": _speech(12, 600 * 30),
        "c_small.txt": "新质生产力是创新起主导作用的先进生产力质态。",
    }
    for name, text in files.items():
        (docs / name).write_text(text, encoding="utf-8")
    chunker = Chunker(settings.chunking)
    expected = {name: {c.id for c in chunker.chunk_text(text, name)} for name, text in files.items()}
    assert len(expected["a_big.md"]) > 40 and len(expected["b_mid.md"]) > 20  # more than one batch each
    env = cli_env(settings.home)
    cmd = [sys.executable, "-m", "rag.cli", "ingest", str(docs)]

    # 1. early: the first file's embedding has begun, no chunk written yet
    kill_when(cmd, env, lambda p: "a_big.md" in p)
    assert _docs_agree(env) == {}
    # 2. mid-file: some batches of the first file written, its record not yet
    kill_when(cmd, env, lambda p: p.get("a_big.md", (0, 0))[0] >= 32)
    assert _docs_agree(env) == {}
    system = build_system(settings)
    assert_agrees(system)
    assert system.store.count() == 0  # the half-written file was rolled back, not cited
    # 3. between files: the first file committed, the second not started writing
    kill_when(cmd, env, lambda p: "b_mid.md" in p)
    assert _docs_agree(env) == {"a_big.md": len(expected["a_big.md"])}

    done = run_cli(["ingest", str(docs), "--quiet"], env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "unchanged: 1" in done.stdout  # a_big.md was kept from the killed run
    system = build_system(settings)
    assert_agrees(system)
    assert {s: set(ids) for s, ids in system.store.chunk_sources().items()} == expected  # = a clean ingest
    assert _docs_agree(env) == {name: len(ids) for name, ids in expected.items()}


UPLOAD = """
import sys
from rag.kb import add_uploads
from rag.settings import load_settings
from rag.system import build_system
add_uploads(build_system(load_settings()), [sys.argv[1]], progress=True)
"""


def test_kill_during_upload_then_restart(settings, tmp_path):
    base = tmp_path / "base"
    base.mkdir()
    (base / "base.txt").write_text("银发经济是向老年人提供产品或服务的经济活动的总和。", encoding="utf-8")
    system = build_system(settings)
    system.ingestor.ingest([base], progress=False)
    up = tmp_path / "讲话摘编.md"
    up.write_text(_speech(25), encoding="utf-8")
    n_up = len(Chunker(settings.chunking).chunk_text(up.read_text(encoding="utf-8"), up.name))

    kill_when(
        [sys.executable, "-c", UPLOAD, str(up)], cli_env(settings.home), lambda p: 32 <= p.get("讲话摘编.md", (0, 0))[0] < n_up
    )

    system = build_system(settings)  # the app starting again
    assert any("讲话摘编.md" in line for line in system.recovered)
    assert_agrees(system)
    assert set(system.store.file_records()) == {"base.txt"}
    assert [r.source for r in list_documents(system)] == ["base.txt"]
    assert not any((settings.home / "uploads").iterdir())  # the half-done upload left no copy
    ans = system.answerer.ask("习近平总书记关于未来产业是怎么论述的？")
    assert {c.source for c in ans.citations} <= {"base.txt"}
    assert all(h.metadata["source"] == "base.txt" for h in system.retriever.retrieve("未来产业 习近平 考察"))
