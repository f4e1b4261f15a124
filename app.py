"""学习助手 web app: `python app.py` (or `make run`) serves it on 127.0.0.1:7860 by default.

Thin shell: settings -> components -> index the corpus if missing or stale -> Gradio UI.
"""

from rag.settings import load_settings
from rag.system import build_system
from rag.ui import launch


def main() -> None:
    system = build_system(load_settings())
    summary = system.ingestor.ingest([system.settings.corpus.path], progress=True)
    for line in summary.lines():
        print(line)
    print(f"预热完成 warmed up in {system.warm_up():.1f} s")
    launch(system)


if __name__ == "__main__":
    main()
