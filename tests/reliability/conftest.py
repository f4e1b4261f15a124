"""Helpers of the reliability suite: run a real subprocess and SIGKILL it at a chosen point of
its progress output, with bounded waits; check that the store and the file registry agree."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# tqdm's embedding bar of one file: "嵌入 a_big.md:  42%|████      | 32/76 [..."
_BAR = re.compile(r"嵌入 ([^:\r\n]+):\s*\d+%\|[^|\r\n]*\|\s*(\d+)/(\d+)")


def cli_env(home: Path) -> dict:
    return dict(os.environ, RAG_HOME=str(home), PYTHONUNBUFFERED="1", PYTHONPATH=str(ROOT / "src"))


def progress(stderr_text: str) -> dict[str, tuple[int, int]]:
    """The latest (done, total) of each file's embedding bar seen so far."""
    out: dict[str, tuple[int, int]] = {}
    for name, done, total in _BAR.findall(stderr_text):
        out[name.strip()] = (max(int(done), out.get(name.strip(), (0, 0))[0]), int(total))
    return out


def kill_when(cmd: list[str], env: dict, ready, timeout: float = 300) -> str:
    """Start ``cmd``, read its stderr until ``ready(progress)`` is true, then SIGKILL it.
    Returns the stderr read; fails if the point is not reached within ``timeout`` seconds."""
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    chunks: list[bytes] = []
    reader = threading.Thread(target=lambda: [chunks.append(b) for b in iter(lambda: proc.stderr.read1(4096), b"")], daemon=True)
    reader.start()
    deadline = time.time() + timeout
    try:
        while time.time() < deadline and proc.poll() is None:
            text = b"".join(chunks).decode("utf-8", "replace")
            if ready(progress(text)):
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=30)
                return text
            time.sleep(0.02)
        text = b"".join(chunks).decode("utf-8", "replace")
        raise AssertionError(f"kill point not reached (exit {proc.poll()}):\n{text[-2000:]}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)


def run_cli(args: list[str], env: dict, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rag.cli", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


def assert_agrees(system) -> None:
    """Every chunk in the store belongs to a registered file, in the number its record says."""
    records = system.store.file_records()
    by_source = system.store.chunk_sources()
    assert set(by_source) <= set(records), f"chunks without a file record: {set(by_source) - set(records)}"
    assert {s: len(ids) for s, ids in by_source.items()} == {s: r.chunks for s, r in records.items()}
    assert system.store.count() == sum(r.chunks for r in records.values())
    assert system.store.pending() == []


def pytest_collection_modifyitems(config, items) -> None:
    """Every test of this folder carries the ``reliability`` marker (``pytest -m reliability``)."""
    import pytest

    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.reliability)
