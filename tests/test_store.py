"""Chroma server mode: a real `chroma run` on loopback, started and stopped by the test."""

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag.system import build_system


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
@pytest.mark.server
def test_server_mode_ingest_and_retrieve(settings, tmp_path):
    chroma = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
    port = _free_port()
    proc = subprocess.Popen(
        [chroma, "run", "--path", str(tmp_path / "server-data"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.3)
        s = settings.model_copy(update={"store": settings.store.model_copy(update={"mode": "server", "port": port})})
        system = build_system(s)
        docs = tmp_path / "docs"
        docs.mkdir()
        (docs / "a.txt").write_text("脑机接口是指在人或动物大脑与外部设备之间创建的直接连接。", encoding="utf-8")
        summary = system.ingestor.ingest([docs], progress=False)
        assert summary.added == ["a.txt"]
        again = system.ingestor.ingest([docs], progress=False)
        assert again.unchanged == ["a.txt"] and again.chunks_embedded == 0
        hits = system.retriever.retrieve("脑机接口")
        assert hits and hits[0].metadata["source"] == "a.txt"
        assert not (s.home / "chroma").exists()  # nothing stored locally in server mode
    finally:
        proc.terminate()
        proc.wait(timeout=30)
