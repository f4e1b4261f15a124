"""Start-up checks of the web app, run before any ingest or warm-up, so a mistake is reported in
one Chinese line within a second instead of as a traceback minutes later.

Settings must load (see ``settings.describe_settings_error``); the address is resolved (our
``app.host``/``app.port`` from the settings file or ``RAG_APP__HOST``/``RAG_APP__PORT`` win; else
Gradio's own ``GRADIO_SERVER_NAME``/``GRADIO_SERVER_PORT``; else the defaults 127.0.0.1:7860); and
the port must be free to listen on.
"""

from __future__ import annotations

import errno
import os
import socket

from .settings import ConfigError, Settings, load_settings


class StartupError(RuntimeError):
    """The app cannot start as configured; the message is one line in Chinese."""


def resolve_address(settings: Settings) -> tuple[str, int]:
    """(host, port): ours when set explicitly, else Gradio's environment variables, else defaults."""
    app = settings.app
    host = app.host if "host" in app.model_fields_set else os.environ.get("GRADIO_SERVER_NAME") or app.host
    port = app.port
    if "port" not in app.model_fields_set and os.environ.get("GRADIO_SERVER_PORT", "").strip():
        raw = os.environ["GRADIO_SERVER_PORT"].strip()
        if not raw.isdigit() or not 1 <= int(raw) <= 65535:
            raise StartupError(f"设置错误：环境变量 GRADIO_SERVER_PORT = {raw!r} 应为 1–65535 的整数")
        port = int(raw)
    return host, port


def check_port(host: str, port: int) -> None:
    """Raise StartupError unless something can listen on host:port now (as Gradio's server would:
    with SO_REUSEADDR, so a port merely in TIME_WAIT counts as free)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise StartupError(f"无法解析监听地址 {host!r}（{exc}）：请检查 app.host / RAG_APP__HOST / GRADIO_SERVER_NAME") from exc
    family, kind, proto, _, addr = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(addr)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise StartupError(
                    f"端口 {port} 已被占用（{host}）：请关闭占用它的程序，或换一个端口，例如 RAG_APP__PORT={port + 1}"
                ) from exc
            raise StartupError(f"无法在 {host}:{port} 上监听（{exc.strerror or exc}）：请检查 app.host / app.port") from exc


def preflight(settings: Settings | None = None) -> tuple[Settings, str, int]:
    """Settings, host and port the app will use; StartupError when any of them cannot work."""
    if settings is None:
        try:
            settings = load_settings()
        except ConfigError as exc:
            raise StartupError(str(exc)) from exc
    host, port = resolve_address(settings)
    check_port(host, port)
    return settings, host, port
