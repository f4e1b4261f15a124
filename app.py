"""学习助手 entry point: `python app.py` starts the interactive app.

Until the Gradio web app lands this is the terminal chat loop; it stays a thin shell over the
library (build from settings, ensure the index, then hand over to the UI).
"""

from rag.cli import cli

if __name__ == "__main__":
    cli(["chat"], obj={})
