"""学习助手 web app: `python app.py` (or `make run`) serves it on 127.0.0.1:7860 by default.

Thin shell: check settings and the port (one Chinese line and exit 2 if wrong) -> components ->
index the corpus if missing or stale -> warm up -> Gradio UI.
"""

import sys

from rag.preflight import StartupError, preflight


def main() -> None:
    try:
        settings, host, port = preflight()
    except StartupError as exc:
        print(exc, file=sys.stderr)
        sys.exit(2)
    from rag.system import build_system  # the heavy imports (Chroma, Gradio) only once the checks pass
    from rag.ui import launch

    system = build_system(settings)
    summary = system.ingestor.ingest([system.settings.corpus.path], progress=True)
    for line in summary.lines():
        print(line)
    print(f"预热完成 warmed up in {system.warm_up():.1f} s")
    print(f"学习助手 http://{host}:{port}")
    launch(system, host=host, port=port)


if __name__ == "__main__":
    main()
