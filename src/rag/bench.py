"""The benchmark: a table to compare run to run (medians and percentiles, not one-off timings).

Rows: ingest of the corpus into a fresh embedded Chroma (first run and unchanged re-run), the
raw embedding throughput of the model alone on the same chunks, retrieval and full-answer
latency p50/p95 over the question list, peak memory, and retrieval latency on a synthetic
corpus ``scale`` times larger (real texts reshuffled, random unit vectors: only search cost is
measured there), and on it the time for an upload's chunks to become searchable by BM25 and for a
deleted document's to leave it (only new chunks are tokenised; the bm25s matrix is rebuilt from the
cached tokens).
"""

from __future__ import annotations

import json
import random
import resource
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from .settings import Settings

BENCH_QUESTIONS = "bench_questions.txt"  # in the project's evals/ (settings.evals)


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def _questions(path: str | None, evals: Path) -> list[str]:
    p = Path(path) if path else evals / BENCH_QUESTIONS
    if p.suffix == ".jsonl":
        return [json.loads(line)["question"] for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [line.strip() for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]


def _latencies(fn, items: list[str]) -> list[float]:
    fn(items[0])  # warm-up
    out = []
    for item in items:
        t0 = time.perf_counter()
        fn(item)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def run_bench(settings: Settings, questions_path: str | None = None, scale: int = 100, skip_ingest: bool = False) -> str:
    from .system import build_system

    rows: list[tuple[str, str, str]] = []
    questions = _questions(questions_path, settings.evals)
    with tempfile.TemporaryDirectory(prefix="rag-bench-") as tmp:
        s = settings.model_copy(update={"home": Path(tmp) / "home"})
        system = build_system(s)
        texts: list[str] = []
        if not skip_ingest:
            t0 = time.perf_counter()
            summary = system.ingestor.ingest([s.corpus.path], progress=False)
            first = time.perf_counter() - t0
            n = system.store.count()
            t0 = time.perf_counter()
            system.ingestor.ingest([s.corpus.path], progress=False)
            rerun = time.perf_counter() - t0
            cli = _cli_rerun(s)
            texts = [t for _, t, _ in system.store.iter_all()]
            chunks = _embed_texts(system)
            t0 = time.perf_counter()
            system.embedder.embed_passages(chunks)
            raw = time.perf_counter() - t0
            n_sent = system.store.sentences.count()
            rows += [
                (
                    "ingest, first run",
                    f"{first:.1f} s",
                    f"{n / first:.1f} chunks/s ({n} chunks, {summary.chunks_embedded} embedded, +{n_sent} sentence vectors)",
                ),
                (
                    "embedding alone, same chunks",
                    f"{raw:.1f} s",
                    f"{len(chunks) / raw:.1f} chunks/s; ingest/raw = {first / raw:.2f}x "
                    "(the excess is the answerer's sentence vectors)",
                ),
                ("ingest, unchanged re-run", f"{rerun * 1000:.0f} ms", "in process; no embedding work"),
                ("`rag ingest`, unchanged, new process", f"{cli:.2f} s", "includes start-up and model load"),
            ]
        else:
            system.ingestor.ingest([s.corpus.path], progress=False)
            texts = [t for _, t, _ in system.store.iter_all()]
        retr = _latencies(lambda q: system.retriever.retrieve(q), questions)
        system.retriever.clear_caches()  # each question's vector is computed again, as for a new question
        full = _latencies(lambda q: system.answerer.ask(q), questions)
        rows += [
            (f"retrieval, corpus ({len(questions)} q)", f"p50 {_pct(retr, 50):.1f} ms", f"p95 {_pct(retr, 95):.1f} ms"),
            (f"full answer, corpus ({len(questions)} q)", f"p50 {_pct(full, 50):.1f} ms", f"p95 {_pct(full, 95):.1f} ms"),
        ]
        if scale > 1:
            rows += _synthetic_rows(s, system, texts, scale, questions)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows.append(("peak memory (RSS)", f"{peak:.0f} MB", ""))
    width = max(len(r[0]) for r in rows)
    lines = [f"{'measure':{width}}  {'value':>16}  detail", "-" * (width + 40)]
    lines += [f"{a:{width}}  {b:>16}  {c}" for a, b, c in rows]
    return "\n".join(lines)


def _cli_rerun(settings: Settings) -> float:
    """Wall time of a fresh `rag ingest` process on an unchanged index."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, RAG_HOME=str(settings.home), RAG_CORPUS__PATH=str(settings.corpus.path))
    t0 = time.perf_counter()
    # From the project folder, so the process reads the same settings.yaml whatever the working directory.
    subprocess.run(
        [sys.executable, "-m", "rag.cli", "ingest", "--quiet"], env=env, check=True, capture_output=True, cwd=settings.root
    )
    return time.perf_counter() - t0


def _embed_texts(system) -> list[str]:
    from .chunking import Chunk

    return [Chunk(cid, text, meta).embed_text for cid, text, meta in system.store.iter_all()]


def _synthetic_rows(settings: Settings, system, texts: list[str], scale: int, questions: list[str]) -> list[tuple[str, str, str]]:
    """Retrieval over ``scale`` x the corpus: reshuffled real sentences, random unit vectors."""
    from .chunking import split_sentences
    from .retrieve import Retriever
    from .store import open_store

    rng = random.Random(7)
    sentences = [s for t in texts for s in split_sentences(t)]
    n = len(texts) * scale
    store = open_store(
        settings.model_copy(update={"store": settings.store.model_copy(update={"collection": "synthetic"})}),
        "random-unit-vectors",
        system.embedder.dim,
    )
    t0 = time.perf_counter()
    np_rng = np.random.default_rng(7)
    batch = 5000
    for start in range(0, n, batch):
        m = min(batch, n - start)
        vecs = np_rng.standard_normal((m, system.embedder.dim)).astype(np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        docs = ["".join(rng.sample(sentences, 4)) for _ in range(m)]
        metas = [
            {"source": f"synthetic-{(start + i) % 500}.txt", "title": "synthetic", "section": "", "order": start + i}
            for i in range(m)
        ]
        store.upsert([f"s{start + i}" for i in range(m)], docs, metas, vecs)
    store.bump_generation()
    build = time.perf_counter() - t0
    retriever = Retriever(settings.retrieval, store, system.embedder, settings.home / "cache")
    t0 = time.perf_counter()
    _ = retriever.chunks  # build the lexical index once, as a long-running app does
    bm25_build = time.perf_counter() - t0
    t0 = time.perf_counter()
    _ = Retriever(settings.retrieval, store, system.embedder, settings.home / "cache").chunks  # a restart: the caches
    bm25_restart = time.perf_counter() - t0
    lat = _latencies(lambda q: retriever.retrieve(q), questions)
    upload, remove = _update_timings(store, retriever, texts, np_rng, system.embedder.dim)
    return [
        (
            f"synthetic corpus {scale}x: load",
            f"{build:.1f} s",
            f"{n} chunks; BM25 build from scratch {bm25_build:.1f} s, from its caches (restart) {bm25_restart:.1f} s",
        ),
        (
            f"retrieval, {scale}x corpus ({len(questions)} q)",
            f"p50 {statistics.median(lat):.1f} ms",
            f"p95 {_pct(lat, 95):.1f} ms",
        ),
        (
            f"upload into the {scale}x index",
            f"{upload[0]:.2f} s",
            f"{upload[1]} new chunks searchable (only they are tokenised; the bm25s matrix is rebuilt; embedding not included)",
        ),
        (f"delete a document from the {scale}x index", f"{remove[0]:.2f} s", f"{remove[1]} chunks gone from BM25"),
    ]


def _update_timings(store, retriever, texts: list[str], np_rng, dim: int) -> tuple[tuple[float, int], tuple[float, int]]:
    """Seconds from an upload's chunks being stored (generation bumped) to their being found by BM25,
    and the same for deleting them: the lexical index is updated, not rebuilt."""
    docs = texts[:150]
    ids = [f"upload-{i}" for i in range(len(docs))]
    vecs = np_rng.standard_normal((len(docs), dim)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    metas = [{"source": "bench-upload.txt", "title": "上传文档", "section": "", "order": i} for i in range(len(docs))]
    store.upsert(ids, docs, metas, vecs)
    store.bump_generation()
    t0 = time.perf_counter()
    chunks = retriever.chunks
    added = time.perf_counter() - t0
    assert all(i in chunks for i in ids), "uploaded chunks missing from the BM25 index"
    store.delete(ids)
    store.bump_generation()
    t0 = time.perf_counter()
    chunks = retriever.chunks
    removed = time.perf_counter() - t0
    assert not any(i in chunks for i in ids), "deleted chunks still in the BM25 index"
    return (added, len(ids)), (removed, len(ids))
