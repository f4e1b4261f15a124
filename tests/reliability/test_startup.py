"""Start-up mistakes are reported in one Chinese line, before any ingest or warm-up, with a non-zero
exit: a busy port, a non-numeric port, a malformed user list. Gradio's own GRADIO_SERVER_NAME /
GRADIO_SERVER_PORT are honoured; ours win when both are set. Every process is bounded."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import stop_process

ROOT = Path(__file__).resolve().parents[2]


def _run_app(tmp_path: Path, timeout: float = 60, **env: str) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("RAG_", "GRADIO_SERVER_"))}
    full.update(RAG_HOME=str(tmp_path / "home"), PYTHONPATH=str(ROOT / "src"), **env)
    return subprocess.run(
        [sys.executable, str(ROOT / "app.py")], env=full, cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


def _one_line_error(r: subprocess.CompletedProcess, tmp_path: Path, expected: str) -> None:
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert r.returncode == 2, r.stderr
    assert len(lines) == 1 and expected in lines[0], r.stderr
    assert "Traceback" not in r.stderr + r.stdout
    assert not (tmp_path / "home" / "chroma").exists()  # said before any ingest


@pytest.fixture()
def busy_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_busy_port_reported_before_ingest(tmp_path, busy_port):
    r = _run_app(tmp_path, RAG_APP__PORT=str(busy_port))
    _one_line_error(r, tmp_path, f"端口 {busy_port} 已被占用")


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"RAG_APP__PORT": "abc"}, "app.port = 'abc' 应为整数（环境变量 RAG_APP__PORT）"),
        ({"RAG_APP__PORT": "70000"}, "app.port = '70000' 应不大于 65535"),
        ({"RAG_APP__USERS": '{"student": '}, "环境变量 RAG_APP__USERS 不是合法的 JSON"),
        ({"RAG_APP__USERS": '["student"]'}, "app.users = ['student'] 应为 JSON 对象"),
        ({"RAG_APP__USERS": '{"student": "pw:boss"}'}, "角色 'boss' 无效"),
        ({"GRADIO_SERVER_PORT": "abc"}, "GRADIO_SERVER_PORT = 'abc' 应为 1–65535 的整数"),
        ({"GRADIO_SERVER_NAME": "no-such-host.invalid"}, "无法解析监听地址 'no-such-host.invalid'"),
    ],
)
def test_bad_settings_reported_in_one_line(tmp_path, env, expected):
    _one_line_error(_run_app(tmp_path, **env), tmp_path, expected)


def test_gradio_port_variable_honoured_and_ours_win(tmp_path, busy_port):
    r = _run_app(tmp_path, GRADIO_SERVER_PORT=str(busy_port))
    _one_line_error(r, tmp_path, f"端口 {busy_port} 已被占用")  # Gradio's variable is read
    r = _run_app(tmp_path, GRADIO_SERVER_PORT=str(_free_port()), RAG_APP__PORT=str(busy_port))
    _one_line_error(r, tmp_path, f"端口 {busy_port} 已被占用")  # ours wins over Gradio's


def test_resolve_address_order(monkeypatch):
    from rag.preflight import resolve_address
    from rag.settings import load_settings

    for var in ("RAG_APP__HOST", "RAG_APP__PORT", "GRADIO_SERVER_NAME", "GRADIO_SERVER_PORT"):
        monkeypatch.delenv(var, raising=False)
    assert resolve_address(load_settings("no-such.yaml")) == ("127.0.0.1", 7860)
    monkeypatch.setenv("GRADIO_SERVER_NAME", "0.0.0.0")
    monkeypatch.setenv("GRADIO_SERVER_PORT", "7999")
    assert resolve_address(load_settings("no-such.yaml")) == ("0.0.0.0", 7999)
    monkeypatch.setenv("RAG_APP__HOST", "127.0.0.1")
    monkeypatch.setenv("RAG_APP__PORT", "8123")
    assert resolve_address(load_settings("no-such.yaml")) == ("127.0.0.1", 8123)


@pytest.mark.slow
def test_app_serves_on_the_gradio_server_port(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("新质生产力是创新起主导作用的先进生产力质态。", encoding="utf-8")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAG_", "GRADIO_SERVER_"))}
    env.update(
        RAG_HOME=str(tmp_path / "home"),
        RAG_CORPUS__PATH=str(docs),
        PYTHONPATH=str(ROOT / "src"),
        GRADIO_SERVER_NAME="127.0.0.1",
        GRADIO_SERVER_PORT=str(port),
    )
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py")], env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        status, deadline = None, time.monotonic() + 240
        while status is None and time.monotonic() < deadline and proc.poll() is None:
            try:
                status = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).status
            except OSError:
                time.sleep(1)
        assert status == 200, proc.stdout.read() if proc.poll() is not None else "no answer on the port"
    finally:
        stop_process(proc, 20)
