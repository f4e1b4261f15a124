"""20 chat users x 10 questions through the chat tab's own handler while an administrator uploads a
document through the knowledge-base tab's: no request fails or shows a server path, answers to
questions the upload does not touch are each what one user alone gets from the index before or after
one of the uploads (never a mix, never citing the upload), and the lexical index is updated exactly
once per generation. Latency idle and during the upload is printed (run with -s); speed is judged by
`rag bench`, not here."""

from __future__ import annotations

import itertools
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

USERS, QUESTIONS_PER_USER = 20, 10
DEADLINE_S = 600  # users keep asking while the uploads last, for at most this long
PAUSE_S = 0.2  # between one user's questions
QUESTIONS = [
    "未来产业有哪些特征？",
    "什么是新质生产力？",
    "银发经济是什么？",
    "具身智能是指什么？",
    "脑机接口是什么？",
    "发展未来产业需要处理好哪几对关系？",
    "习近平总书记在浙江考察时对未来产业提出了什么要求？",
    "量子科技的发展重点有哪些？",
    "生物制造是一种什么样的产业？",
    "如何做红烧肉？",
]
# Uploads about something no question asks (tea growing): they must not change their answers. Three
# files, one after the other: three new generations for the readers to notice.
UPLOADS = {
    f"茶园管理{k}.md": f"# 茶园管理手册（{k}）\n\n"
    + "\n\n".join(
        f"## 第{i}节 茶园管理\n\n" + "".join(f"茶园第{i}片第{j}号地块在{season}需要修剪茶树并施用有机肥料。" for j in range(12))
        for i in range(1, 4)
    )
    + "\n"
    for k, season in ((1, "春季"), (2, "夏季"), (3, "秋季"))
}


def _ask(chat, question: str) -> tuple[str, float, float, str]:
    """One chat turn through the handler the web page calls: (final answer, start, end, error)."""
    t0 = time.perf_counter()
    try:
        *_, last = chat.respond(question, [], None, 10, [], "")  # the handler's final yield
        history = last[0]
        return history[-1]["content"], t0, time.perf_counter(), ""
    except Exception as exc:  # what Gradio would show the user
        return "", t0, time.perf_counter(), f"{type(exc).__name__}: {exc}"


def _user(chat, k: int, done: threading.Event) -> list[tuple[str, str, float, float, str]]:
    """One reader: ten questions, then more while ``done`` is not set (bounded), with a short pause
    between questions as a reader takes."""
    out, deadline = [], time.monotonic() + DEADLINE_S
    for i in itertools.count():
        if (i >= QUESTIONS_PER_USER and done.is_set()) or time.monotonic() > deadline:
            return out
        q = QUESTIONS[(k + i) % len(QUESTIONS)]
        out.append((q, *_ask(chat, q)))
        time.sleep(PAUSE_S)


def _users(chat, pool, done: threading.Event) -> list[tuple[str, str, float, float, str]]:
    jobs = [pool.submit(_user, chat, k, done) for k in range(USERS)]
    return [r for f in jobs for r in f.result(timeout=DEADLINE_S + 300)]


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) * 1000 if values else float("nan")


@pytest.mark.slow
def test_twenty_users_chat_while_a_document_is_uploaded(corpus_system, tmp_path):
    from rag.kb import add_uploads
    from rag.system import build_system
    from rag.ui import ChatHandlers

    home = tmp_path / "home"
    shutil.copytree(corpus_system.settings.home, home)  # our own index: the upload must not reach other tests
    system = build_system(corpus_system.settings.model_copy(update={"home": home}))
    system.warm_up()
    chat = ChatHandlers(system)
    before = {q: _ask(chat, q)[0] for q in QUESTIONS}

    files = []
    for name, text in UPLOADS.items():
        files.append(tmp_path / name)
        files[-1].write_text(text, encoding="utf-8")
    # What one user alone gets at each state of the index: before, and after each upload. Adding
    # documents changes BM25's term statistics, so an answer may change a little with the index;
    # under concurrency every answer must still be one of these, never a mix or an error.
    ref_home = tmp_path / "ref-home"
    shutil.copytree(corpus_system.settings.home, ref_home)
    ref_system = build_system(corpus_system.settings.model_copy(update={"home": ref_home}))
    ref_chat = ChatHandlers(ref_system)
    states = [{q: _ask(ref_chat, q)[0] for q in QUESTIONS}]
    for f in files:
        assert not add_uploads(ref_system, [f]).failed
        states.append({q: _ask(ref_chat, q)[0] for q in QUESTIONS})
    assert states[0] == before  # the same index answers the same way
    span: dict[str, float] = {}
    uploaded = threading.Event()

    def admin() -> None:  # as the 资料库 tab does, one file per upload
        span["start"] = time.perf_counter()
        span["failed"] = any(add_uploads(system, [f]).failed for f in files)
        span["end"] = time.perf_counter()
        uploaded.set()

    with ThreadPoolExecutor(USERS) as pool:
        idle_done = threading.Event()
        idle_done.set()
        idle = _users(chat, pool, idle_done)  # ten questions each, nothing else happening
        uploader = threading.Thread(target=admin)
        uploader.start()
        busy = _users(chat, pool, uploaded)  # the same readers, asking until the uploads are done
        uploader.join(timeout=600)
    after = {q: _ask(chat, q)[0] for q in QUESTIONS}

    assert not span["failed"] and "end" in span
    assert set(UPLOADS) <= {r.source for r in system.store.file_records().values()}
    errors = [(q, err) for q, _, _, _, err in idle + busy if err]
    assert errors == []
    state = str(home)
    assert not [a for _, a, _, _, _ in idle + busy if state in a or "/tmp" in a or "Errno" in a]
    assert after == states[-1]  # as if the uploads had been made with nobody asking
    allowed = {q: {st[q] for st in states} for q in QUESTIONS}
    assert [(q, a) for q, a, *_ in busy if a not in allowed[q]] == []  # each answer is one of an index state's
    assert not [a for a in after.values() if "茶园" in a]  # the uploads are about none of these questions
    assert [q for q in QUESTIONS if ("资料中未找到" in after[q]) != ("资料中未找到" in before[q])] == []
    builds = system.retriever.builds
    assert len(builds) == len(set(builds)) and len(builds) >= 2  # one update per generation, the uploads' included
    assert builds[-1] == system.store.generation()
    assert system.retriever.retrieve("茶园秋季修剪茶树", top_k=3)[0].metadata["source"] == "茶园管理3.md"  # searchable now

    idle_lat = [e - s for _, _, s, e, _ in idle]
    during = [e - s for _, _, s, e, _ in busy if s < span["end"] and e > span["start"]]
    print(
        f"\nconcurrency: {len(idle) + len(busy)} requests, {len(errors)} errors; "
        f"idle p50 {_pct(idle_lat, 50):.0f} ms p95 {_pct(idle_lat, 95):.0f} ms; "
        f"during the uploads ({len(during)} requests, {len(files)} uploads in {span['end'] - span['start']:.1f} s) "
        f"p50 {_pct(during, 50):.0f} ms p95 {_pct(during, 95):.0f} ms; index updates {len(builds)}"
    )
