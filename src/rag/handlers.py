"""The web app's callbacks, one class per tab: they parse input and call library functions
(answerer, conversation, kb, render, quiz, batch, evaluate) and hold no retrieval or answer logic.
``rag.ui`` lays them out in Gradio Blocks.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402

from .answer import QuestionError, check_question  # noqa: E402
from .conversation import Conversation, rewrite  # noqa: E402
from .kb import add_uploads, delete_document, list_documents  # noqa: E402
from .render import _esc, answer_plain, md_text, message_markdown, plain_html, sources_html  # noqa: E402
from .retrieve import Filters  # noqa: E402


def _role(settings, username: str | None) -> str:
    """admin/trainer may manage documents; participant may only chat. No login: admin."""
    if not settings.app.users:
        return "admin"
    entry = settings.app.users.get(username or "", "")
    return entry.split(":", 1)[1] if ":" in entry else "participant"


def _auth(settings):
    if not settings.app.users:
        return None

    def check(user: str, password: str) -> bool:
        entry = settings.app.users.get(user)
        return entry is not None and entry.split(":", 1)[0] == password

    return check


EXTRACTIVE_MODE = "摘录式（离线）"


def answer_modes(settings) -> list[str]:
    """The answer modes the settings panel offers: the chat model first when one is configured."""
    if settings.llm.provider == "extractive":
        return [EXTRACTIVE_MODE]
    return [f"大模型（{settings.llm.model or settings.llm.provider}，引文核实）", EXTRACTIVE_MODE]


def doc_choices(system) -> list[tuple[str, str]]:
    """(label, source) for the document filters: titles, with the file name only for uploads."""
    rows = list_documents(system)
    return sorted(
        ((f"{r.title or r.source}" + (f"（上传：{r.source}）" if r.origin == "上传" else ""), r.source) for r in rows),
        key=lambda x: x[0],
    )


class ChatHandlers:
    """The 学习问答 tab's callbacks; one Conversation per browser session (gr.State).

    ``respond`` yields (chat, sources, searched query, conversation, question box, plain-text
    answer for the copy button, status line, export button).
    """

    def __init__(self, system):
        self.system = system
        self.feedback_log = system.settings.home / "feedback.jsonl"

    def respond(self, message: str, history: list, conv: Conversation | None, top_k: int, docs: list[str], answer_mode: str = ""):
        """Answer ``message``: an LLM's words stream as they arrive, an extractive answer (well
        under a second) appears whole. A bad question changes nothing but the status line, and
        stays in the box to be corrected. ``answer_mode`` EXTRACTIVE_MODE answers offline even
        when a chat model is configured."""
        conv = conv or Conversation()
        history = list(history or [])
        keep = gr.update()
        try:
            message = check_question(message, self.system.settings.answer.max_question_chars)
        except QuestionError as exc:
            yield history, keep, keep, conv, keep, keep, f"⚠ {_esc(str(exc))}", keep
            return
        history.append({"role": "user", "content": md_text(message)})
        answerer = self.system.answerer
        offline = answer_mode == EXTRACTIVE_MODE and answerer.offline is not answerer
        if offline:
            answerer = answerer.offline
        try:
            query = conv.rewrite(message) if offline else rewrite(self.system, conv, message)
            kwargs = dict(top_k=int(top_k), filters=Filters(sources=list(docs or [])), query=query)
            if answerer.streams:  # an LLM: show its words as they arrive, then the checked answer
                history.append({"role": "assistant", "content": ""})
                ans = None
                for part in answerer.stream(message, **kwargs):
                    if isinstance(part, str):
                        history[-1] = {"role": "assistant", "content": history[-1]["content"] + md_text(part)}
                        yield list(history), keep, "", conv, "", keep, "", keep
                    else:
                        ans = part
                history.pop()
            else:
                ans = answerer.ask(message, **kwargs)
        except QuestionError as exc:
            history.pop()
            yield history, keep, keep, conv, message, keep, f"⚠ {_esc(str(exc))}", keep
            return
        conv.add(message, query, ans)
        turn = len(conv.turns)
        conv.bubbles[len(history)] = turn - 1
        searched = f"实际检索：{md_text(query)}" if query != message else ""
        history.append({"role": "assistant", "content": message_markdown(ans, turn)})
        export = gr.update(value=self.export(conv), interactive=True)
        yield history, sources_html(ans, turn), searched, conv, "", answer_plain(ans), "", export

    def clear(self):
        return ([], sources_html(None, 0), "", Conversation(), "", "", "", gr.update(value=None, interactive=False))

    def feedback(self, data: gr.LikeData, conv: Conversation | None) -> str:
        """Append 👍/👎 with the question, answer and sources to the feedback log; say so."""
        if not conv or not conv.turns:
            return ""
        index = data.index if isinstance(data.index, int) else data.index[0]
        if index not in conv.bubbles:
            return ""  # feedback on an error message or a user message
        t = conv.turns[conv.bubbles[index]]
        liked = data.liked is True or str(data.liked).lower() == "like"
        record = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "liked": liked,
            "question": t.question,
            "query": t.query,
            "answer": t.answer.answer,
            "sources": [{"n": c.n, "source": c.source, "title": c.title, "quote": c.quote} for c in t.answer.citations],
        }
        self.feedback_log.parent.mkdir(parents=True, exist_ok=True)
        with self.feedback_log.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        return f"已记录您的反馈（{'👍 有帮助' if liked else '👎 没帮助'}）：第 {conv.bubbles[index] + 1} 轮回答。谢谢！"

    def export(self, conv: Conversation | None) -> str | None:
        """The whole conversation so far as a Markdown file, citations included. Written after
        every answer, so the download button always holds the latest turn when it is clicked."""
        if not conv or not conv.turns:
            return None
        folder = Path(tempfile.mkdtemp(prefix="rag-export-"))
        path = folder / f"学习助手对话-{time.strftime('%Y%m%d-%H%M%S')}-{len(conv.turns)}轮.md"
        path.write_text(conv.markdown(), encoding="utf-8")
        return str(path)


class KBHandlers:
    """The 资料库 tab's callbacks; managing documents needs the admin or trainer role.

    Deleting takes two steps (choose, then confirm in a box that names the document). Corpus
    documents (资料库) can be deleted only by an admin; trainers may delete uploads.
    """

    def __init__(self, system):
        self.system = system

    def _role(self, request: gr.Request | None) -> str:
        return _role(self.system.settings, getattr(request, "username", None))

    def _allowed(self, request: gr.Request | None) -> bool:
        return self._role(request) in ("admin", "trainer")

    def table(self):
        """The document table and the delete dropdown (titles, never bare hash names)."""
        docs = list_documents(self.system)
        rows = [[r.title, r.authors, r.chunks, r.ingested, r.origin, r.source] for r in docs]
        choices = [
            (f"{r.title or r.source} · {r.origin}" + (f"：{r.source}" if r.origin == "上传" else ""), r.source) for r in docs
        ]
        return rows, gr.update(choices=choices, value=None)

    def refresh(self):
        """Table, delete dropdown and both document filters, after the documents changed."""
        choices = doc_choices(self.system)
        return (*self.table(), gr.update(choices=choices), gr.update(choices=choices))

    def upload(self, files, request: gr.Request, progress=gr.Progress(track_tqdm=True)):
        if not self._allowed(request):
            return ("当前账号无权管理资料（需要培训师或管理员账号）。", *self.refresh())
        if not files:
            return ("请先选择文件。", *self.refresh())
        paths = [f if isinstance(f, str) else getattr(f, "name", str(f)) for f in files]
        progress(0, desc="入库中…")
        summary = add_uploads(self.system, paths, progress=True)
        lines = [f"已入库：{'、'.join(summary.added + summary.changed)}"] if summary.added or summary.changed else []
        lines += [f"未变化（已在库中）：{'、'.join(summary.unchanged)}"] if summary.unchanged else []
        lines += [f"重复上传：{_esc(a)} 与已入库的 {_esc(b)} 内容相同，已跳过" for a, b in summary.duplicates.items()]
        lines += [f"失败：{_esc(reason)}" for reason in summary.failed.values()]
        return ("\n\n".join(lines) or "没有可处理的文件。", *self.refresh())

    def _doc(self, source: str | None):
        return next((r for r in list_documents(self.system) if r.source == source), None)

    def ask_delete(self, source: str | None, request: gr.Request):
        """Step 1: name the document and what deleting it removes; show the confirm box."""
        hide = gr.update(visible=False)
        if not self._allowed(request):
            return "当前账号无权管理资料（需要培训师或管理员账号）。", hide, "", None
        doc = self._doc(source)
        if doc is None:
            return "请先在下拉框中选择要删除的文档。", hide, "", None
        if doc.origin != "上传" and self._role(request) != "admin":
            return (f"《{_esc(doc.title)}》是资料库核心文档，只有管理员可以删除。", hide, "", None)
        warn = "**这是资料库核心文档**，删除后问答将不再引用它，需重新入库才能恢复。" if doc.origin != "上传" else ""
        text = f"确定删除《{_esc(doc.title)}》（{doc.origin}，{doc.chunks} 个文本块）吗？{warn}"
        return "", gr.update(visible=True), text, doc.source

    def delete(self, source: str | None, request: gr.Request):
        """Step 2 (confirmed): delete, with the same role rules as step 1."""
        hide = gr.update(visible=False)
        doc = self._doc(source)
        if not self._allowed(request):
            return ("当前账号无权管理资料（需要培训师或管理员账号）。", *self.refresh(), hide, None)
        if doc is None:
            return ("请先在下拉框中选择要删除的文档。", *self.refresh(), hide, None)
        if doc.origin != "上传" and self._role(request) != "admin":
            return (f"《{_esc(doc.title)}》是资料库核心文档，只有管理员可以删除。", *self.refresh(), hide, None)
        n = delete_document(self.system, doc.source)
        return (f"已删除《{_esc(doc.title)}》（{n} 个文本块）。", *self.refresh(), hide, None)

    def cancel(self):
        return "已取消删除。", gr.update(visible=False), None


class TrainerHandlers:
    """The 出题与批量答题 tab: generate a quiz and download it; answer an uploaded question list."""

    def __init__(self, system):
        self.system = system

    def _allowed(self, request) -> bool:
        return _role(self.system.settings, getattr(request, "username", None)) in ("admin", "trainer")

    def quiz(self, n, types, seed, docs, topic, fmt, writer="rules", request: gr.Request = None):
        from .exports import export
        from .quiz import QuizError, build_quiz

        if not self._allowed(request):
            return "当前账号无权出题（需要培训师或管理员账号）。", None, ""
        try:
            stats: dict = {}
            items = build_quiz(
                self.system,
                int(n),
                tuple(types or ()),
                int(seed),
                list(docs or []) or None,
                (topic or "").strip() or None,
                writer or "rules",
                stats,
            )
        except QuizError as exc:
            return f"**{_esc(str(exc))}**", None, ""
        folder = Path(tempfile.mkdtemp(prefix="rag-quiz-"))
        files = export(items, folder / f"学习测试.{fmt}", "学习测试")
        from .exports import to_markdown

        note = (
            (
                f"其中大模型出题 {stats['llm_kept']} 道；未通过原文核对而改用规则出题 {stats['llm_dropped']} 道，"
                f"调用失败 {stats['llm_errors']} 次。"
            )
            if writer == "llm"
            else ""
        )
        # The preview shows the quiz's text verbatim: quoted document text is never rendered as markup.
        return (
            f"已生成 {len(items)} 道题（种子 {int(seed)}）。{note}",
            [str(f) for f in files],
            plain_html(to_markdown(items, "学习测试")),
        )

    def batch(self, file, fmt, column, request: gr.Request, progress=gr.Progress(track_tqdm=True)):
        from .batch import BatchError, answer_file

        if not self._allowed(request):
            return "当前账号无权批量答题（需要培训师或管理员账号）。", None
        if not file:
            return "请先上传题目文件（.jsonl / .csv / .xlsx / .txt）。", None
        src = Path(file if isinstance(file, str) else file.name)
        out = Path(tempfile.mkdtemp(prefix="rag-answers-")) / f"{src.stem}-答案.{fmt}"
        try:
            stats = answer_file(self.system.answerer, src, out, progress=True, column=(column or "").strip() or None)
        except BatchError as exc:
            return f"**{_esc(str(exc))}**", None
        return (
            f"已作答 {stats['answered']} 题，其中拒答 {stats['refused']} 题；有问题的行 {stats['errors']} 个"
            f"（见输出文件的“错误”列）。"
        ), str(out)


class EvalHandlers:
    """The 评测 tab: the latest report's tables and charts; a run on the dev split."""

    def __init__(self, system, reports: Path | None = None):
        self.system, self.reports = system, reports or system.settings.evals / "reports"

    def latest(self):
        folders = sorted(p for p in self.reports.glob("*") if (p / "report.md").exists()) if self.reports.exists() else []
        if not folders:
            return "尚无评测报告：点击下方按钮在开发集（dev）上运行一次。", None, None
        folder = folders[-1]
        text = "\n".join(
            line for line in (folder / "report.md").read_text(encoding="utf-8").splitlines() if not line.startswith("![")
        )
        # One chart of each kind per question set (by_config-own.png, …); the first set's are shown.
        charts = [
            next(iter(sorted(folder.glob(f"{kind}-own.png")) + sorted(folder.glob(f"{kind}*.png"))), None)
            for kind in ("by_config", "by_type")
        ]
        return (f"**{folder.name}**\n\n" + text, *(str(c) if c is not None else None for c in charts))

    def run_dev(self, request: gr.Request, progress=gr.Progress()):
        if _role(self.system.settings, getattr(request, "username", None)) not in ("admin", "trainer"):
            return ("当前账号无权运行评测。", None, None)
        from .evaluate import evaluate
        from .report import write_report

        progress(0, desc="评测中（开发集）…")
        run = evaluate(
            self.system.settings, "dev", None, progress=False, callback=lambda i, n: progress(i / n, desc=f"评测中 {i}/{n}")
        )
        write_report(run, self.reports)
        return self.latest()


def feedback_records(system) -> list[dict]:
    """The feedback log (for tests and evaluators)."""
    path = system.settings.home / "feedback.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


TIMELINE_HEADERS = ["日期", "类别", "场合 / 文章", "首句（有主题时为最相关的一句）", "段数"]
TIMELINE_HINT = '<div class="sources hint">点击右侧表格中的一行，这里显示该条原文及其出处。</div>'


class TimelineHandlers:
    """The 时间线 tab: the chart (gr.Plot of a matplotlib figure), a table of the entries beside it,
    and the passages of the entry chosen in the table with their citations."""

    def __init__(self, system):
        self.system = system

    def show(self, topic: str = ""):
        """(status line, figure, table rows, entries for the table's rows, detail panel)."""
        from .timeline import TimelineError, build_timeline
        from .timeline_chart import figure

        topic = (topic or "").strip()
        try:
            tl = build_timeline(self.system, topic or None)
        except TimelineError as exc:
            keep = gr.update()
            return f"⚠ {_esc(str(exc))}", keep, keep, keep, keep
        rows = [[e.date_label, e.kind, e.where, e.sentence, len(e.passages)] for e in tl.entries]
        status = _esc(tl.summary()) + ("" if tl.entries else " 没有与该主题相关的带日期原文。")
        return status, figure(tl), rows, tl.entries, TIMELINE_HINT

    def select(self, entries, evt: gr.SelectData):
        """The passages of the chosen row, each with its citation and the representative sentence marked."""
        from .render import highlight, source_label

        row = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        if not entries or row is None or not 0 <= int(row) < len(entries):
            return TIMELINE_HINT
        e = entries[int(row)]
        items = [f'<div class="entry-head"><b>{_esc(e.date_label)}</b> ［{_esc(e.kind)}］ {_esc(e.where)}</div>']
        for c, q in zip(e.citations, e.quotes, strict=False):
            items.append(
                f'<details class="source" open><summary>{source_label(c)}</summary>'
                f'<div class="passage">{highlight(c.text, q)}</div></details>'
            )
        return '<div class="sources">' + "".join(items) + "</div>"


class DigestHandlers:
    """The 汇编 button of the 出题 tab: a topic digest as Word (or Markdown) to download."""

    def __init__(self, system):
        self.system = system

    def digest(self, topic, docs, fmt, request: gr.Request = None):
        from .digest import DigestError, build_digest, export

        if _role(self.system.settings, getattr(request, "username", None)) not in ("admin", "trainer"):
            return "当前账号无权生成汇编（需要培训师或管理员账号）。", None, ""
        topic = (topic or "").strip()
        if not topic:
            return "**请先在“主题”中填写汇编的主题，例如：新质生产力。**", None, ""
        try:
            d = build_digest(self.system, topic, list(docs or []) or None)
        except DigestError as exc:
            return f"**{_esc(str(exc))}**", None, ""
        ext = "md" if fmt == "md" else "docx"
        path = export(d, Path(tempfile.mkdtemp(prefix="rag-digest-")) / f"学习材料汇编-{topic[:20]}.{ext}")
        from .digest import _toc

        preview = "\n".join([d.summary(), "", "目录", *_toc(d)])
        return (f"已生成汇编（{'Markdown' if ext == 'md' else 'Word'}）：{_esc(d.summary())}", [str(path)], plain_html(preview))
