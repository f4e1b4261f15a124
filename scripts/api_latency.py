"""Latency of the OpenAI-compatible API against the answerer alone, measured with the `openai` client.

Serves the API from a thread on a free loopback port over the index in RAG_HOME (default .rag;
the corpus is ingested first if stale), then asks the questions of evals/bench_questions.txt:
each question's first asking through the API (cold), the answerer alone on the same questions
(asked again), the API non-streaming and streaming (asked again), and 4 concurrent clients asking
every question 4 times. Prints a table: requests, errors, p50/p95 in ms. No timing is asserted.

    PYTHONPATH=src python scripts/api_latency.py
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import openai

from rag.api import Background
from rag.settings import load_settings
from rag.system import build_system


def _timed(fn) -> tuple[float, bool]:
    t0 = time.perf_counter()
    try:
        fn()
        ok = True
    except openai.APIError as exc:
        print(f"error: {exc}")
        ok = False
    return (time.perf_counter() - t0) * 1000, ok


def main() -> None:
    questions = [q.strip() for q in Path("evals/bench_questions.txt").read_text(encoding="utf-8").splitlines() if q.strip()]
    settings = load_settings()
    system = build_system(settings)
    system.ingestor.ingest([settings.corpus.path], progress=False)
    system.warm_up()
    server = Background(system).start()
    client = openai.OpenAI(base_url=server.base_url, api_key="unused", max_retries=0, timeout=120)
    model = settings.api.model

    def ask(q: str) -> None:
        client.chat.completions.create(model=model, messages=[{"role": "user", "content": q}])

    first: list[float] = []

    def ask_streaming(q: str) -> None:
        t0 = time.perf_counter()
        seen = False
        for chunk in client.chat.completions.create(model=model, messages=[{"role": "user", "content": q}], stream=True):
            if not seen and chunk.choices and chunk.choices[0].delta.content:
                first.append((time.perf_counter() - t0) * 1000)
                seen = True

    rows = [
        ("API, first asking (cold)", [_timed(lambda q=q: ask(q)) for q in questions]),
        ("answerer alone (asked again)", [_timed(lambda q=q: system.answerer.ask(q)) for q in questions]),
        ("API non-streaming (asked again)", [_timed(lambda q=q: ask(q)) for q in questions]),
        ("API streaming, whole reply", [_timed(lambda q=q: ask_streaming(q)) for q in questions]),
    ]
    with ThreadPoolExecutor(4) as pool:
        t0 = time.perf_counter()
        concurrent = list(pool.map(lambda q: _timed(lambda: ask(q)), questions * 4))
        wall = time.perf_counter() - t0
    rows.append((f"API, 4 concurrent clients ({len(concurrent) / wall:.0f} req/s)", concurrent))
    server.stop()
    print(f"{'measure':44} {'requests':>8} {'errors':>6} {'p50 ms':>7} {'p95 ms':>7}")
    for name, results in rows:
        ms = [r[0] for r in results]
        print(
            f"{name:44} {len(results):>8} {sum(not r[1] for r in results):>6} "
            f"{np.percentile(ms, 50):>7.0f} {np.percentile(ms, 95):>7.0f}"
        )
    print(
        f"{'API streaming, first text':44} {len(first):>8} {'':>6} {np.percentile(first, 50):>7.0f} "
        f"{np.percentile(first, 95):>7.0f}"
    )


if __name__ == "__main__":
    main()
