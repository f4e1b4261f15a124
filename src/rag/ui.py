"""Gradio Blocks: 学习问答 (chat with visible, verifiable citations) and 资料库 (knowledge base).

The handlers only parse input and call library functions (answerer, conversation, kb, render).
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
from .render import CLICK_JS, _esc, answer_plain, md_text, message_markdown, plain_html, sources_html  # noqa: E402
from .retrieve import Filters  # noqa: E402

CSS = """
#sources .source{border:1px solid var(--border-color-primary);border-radius:6px;margin:6px 0;padding:4px 8px}
#sources .source:target{outline:2px solid var(--color-accent)}
#sources mark{background:#fde68a;padding:0 1px}
#sources .passage{font-size:0.92em;line-height:1.7;margin:6px 0;color:var(--body-text-color-subdued)}
#sources .source.flash{outline:2px solid var(--color-accent);background:var(--background-fill-secondary)}
#sources .hint,#sources .empty{color:var(--body-text-color-subdued);font-size:0.9em}
#sources a.back{font-size:0.85em}
#back-to-answer{position:fixed;right:12px;bottom:16px;z-index:1000;padding:8px 14px;border-radius:18px;border:none;
  background:var(--button-primary-background-fill);color:var(--button-primary-text-color);box-shadow:0 2px 8px rgba(0,0,0,.25)}
#chat-status:empty{display:none}
.verbatim{white-space:pre-wrap;line-height:1.6}
#chat:has(.placeholder-content){height:140px !important}
#chat .placeholder-content{min-height:0 !important}
@media (max-width: 768px){
  #chat{height:min(460px,55vh) !important}
  #chat:has(.placeholder-content){height:110px !important}
}
"""
_HEADERS = ["标题", "作者", "文本块", "入库时间", "来源", "文件"]

# Copies the hidden plain-text answer; navigator.clipboard needs a secure context (localhost or
# https), so a plain-http LAN address falls back to a selected textarea and execCommand.
COPY_JS = """
(text) => {
  const btn = document.querySelector('#copy-answer');
  const done = (ok) => { if (!btn) return; const old = '复制本轮回答';
    btn.textContent = ok ? '已复制 ✓' : '复制失败，请手动选择文字'; setTimeout(() => { btn.textContent = old; }, 1500); };
  if (!text) { done(false); return; }
  const fallback = () => { const t = document.createElement('textarea'); t.value = text; document.body.appendChild(t);
    t.select(); let ok = false; try { ok = document.execCommand('copy'); } catch (e) {} t.remove(); done(ok); };
  if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(text).then(() => done(true), fallback);
  else fallback();
}
"""


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
    return sorted(((f"{r.title or r.source}" + (f"（上传：{r.source}）" if r.origin == "上传" else ""), r.source)
                   for r in rows), key=lambda x: x[0])


class ChatHandlers:
    """The 学习问答 tab's callbacks; one Conversation per browser session (gr.State).

    ``respond`` yields (chat, sources, searched query, conversation, question box, plain-text
    answer for the copy button, status line, export button).
    """

    def __init__(self, system):
        self.system = system
        self.feedback_log = system.settings.home / "feedback.jsonl"

    def respond(self, message: str, history: list, conv: Conversation | None, top_k: int, docs: list[str],
                answer_mode: str = ""):
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
        offline = answer_mode == EXTRACTIVE_MODE and hasattr(answerer, "fallback")
        if offline:
            answerer = answerer.fallback
        try:
            query = conv.rewrite(message) if offline else rewrite(self.system, conv, message)
            kwargs = dict(top_k=int(top_k), filters=Filters(sources=list(docs or [])), query=query)
            if hasattr(answerer, "stream"):  # an LLM: show its words as they arrive, then the checked answer
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
        return ([], sources_html(None, 0), "", Conversation(), "", "", "",
                gr.update(value=None, interactive=False))

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
        choices = [(f"{r.title or r.source} · {r.origin}" + (f"：{r.source}" if r.origin == "上传" else ""), r.source)
                   for r in docs]
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
            items = build_quiz(self.system, int(n), tuple(types or ()), int(seed), list(docs or []) or None,
                               (topic or "").strip() or None, writer or "rules", stats)
        except QuizError as exc:
            return f"**{_esc(str(exc))}**", None, ""
        folder = Path(tempfile.mkdtemp(prefix="rag-quiz-"))
        files = export(items, folder / f"学习测试.{fmt}", "学习测试")
        from .exports import to_markdown

        note = (f"其中大模型出题 {stats['llm_kept']} 道；未通过原文核对而改用规则出题 {stats['llm_dropped']} 道，"
                f"调用失败 {stats['llm_errors']} 次。") if writer == "llm" else ""
        # The preview shows the quiz's text verbatim: quoted document text is never rendered as markup.
        return (f"已生成 {len(items)} 道题（种子 {int(seed)}）。{note}", [str(f) for f in files],
                plain_html(to_markdown(items, "学习测试")))

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
        return (f"已作答 {stats['answered']} 题，其中拒答 {stats['refused']} 题；有问题的行 {stats['errors']} 个"
                f"（见输出文件的“错误”列）。"), str(out)


class EvalHandlers:
    """The 评测 tab: the latest report's tables and charts; a run on the dev split."""

    def __init__(self, system, reports: Path = Path("evals/reports")):
        self.system, self.reports = system, reports

    def latest(self):
        folders = sorted(p for p in self.reports.glob("*") if (p / "report.md").exists()) if self.reports.exists() else []
        if not folders:
            return "尚无评测报告：点击下方按钮在开发集（dev）上运行一次。", None, None
        folder = folders[-1]
        text = "\n".join(line for line in (folder / "report.md").read_text(encoding="utf-8").splitlines()
                         if not line.startswith("!["))
        # One chart of each kind per question set (by_config-own.png, …); the first set's are shown.
        charts = [next(iter(sorted(folder.glob(f"{kind}-own.png")) + sorted(folder.glob(f"{kind}*.png"))), None)
                  for kind in ("by_config", "by_type")]
        return (f"**{folder.name}**\n\n" + text, *(str(c) if c is not None else None for c in charts))

    def run_dev(self, request: gr.Request, progress=gr.Progress()):
        if _role(self.system.settings, getattr(request, "username", None)) not in ("admin", "trainer"):
            return ("当前账号无权运行评测。", None, None)
        from .evaluate import evaluate
        from .report import write_report

        progress(0, desc="评测中（开发集）…")
        run = evaluate(self.system.settings, "dev", None, progress=False,
                       callback=lambda i, n: progress(i / n, desc=f"评测中 {i}/{n}"))
        write_report(run, self.reports)
        return self.latest()


def build_ui(system) -> gr.Blocks:
    """The whole app; ``system`` comes from ``rag.system.build_system``."""
    settings = system.settings
    chat, kb, ev, tr = ChatHandlers(system), KBHandlers(system), EvalHandlers(system), TrainerHandlers(system)
    choices = doc_choices(system)
    with gr.Blocks(title="学习助手", analytics_enabled=False) as demo:
        gr.Markdown("## 学习助手 · 未来产业与新质生产力学习资料问答\n回答均摘自资料原文，并逐句标注出处；资料中没有的内容会如实说明。")
        with gr.Tabs():
            with gr.Tab("学习问答", id="chat"):
                conv = gr.State(Conversation())
                with gr.Row():
                    with gr.Column(scale=3):
                        # Sized by its content up to max_height: an empty chat does not push the
                        # question box below a phone's screen. Markdown is on (links to sources);
                        # all document text in it is escaped (render.md_text); no LaTeX.
                        bot = gr.Chatbot(label="对话", elem_id="chat", height=None, min_height=120, max_height=560,
                                         latex_delimiters=[], buttons=[], autoscroll=True,
                                         placeholder="请在下方输入问题，或点击示例问题。")
                        searched = gr.Markdown(elem_id="searched")
                        with gr.Row(equal_height=True):
                            box = gr.Textbox(placeholder="请输入问题", show_label=False,
                                             scale=5, min_width=160, elem_id="question", max_lines=4)
                            send = gr.Button("提问", variant="primary", scale=1, min_width=64, elem_id="send")
                        note = gr.Markdown(elem_id="chat-status")
                        examples = gr.Examples(examples=[[q] for q in settings.app.examples], inputs=[box], label="示例问题（点击即提问）")
                        with gr.Row():
                            clear = gr.Button("清空对话", size="sm", min_width=80, elem_id="clear")
                            copy = gr.Button("复制本轮回答", size="sm", min_width=80, elem_id="copy-answer")
                            export = gr.DownloadButton("导出对话", size="sm", min_width=80, interactive=False, elem_id="export")
                        plain = gr.Textbox(visible=False, elem_id="answer-plain")
                    with gr.Column(scale=2):
                        gr.Markdown("#### 来源")
                        sources = gr.HTML(sources_html(None, 0), elem_id="sources")
                        with gr.Accordion("设置", open=False, elem_id="chat-settings"):
                            top_k = gr.Slider(3, 20, value=settings.retrieval.top_k, step=1, label="检索段落数")
                            docs = gr.Dropdown(choices=choices, multiselect=True, label="只在这些文档中检索（不选则全部）",
                                               elem_id="doc-filter")
                            modes = answer_modes(settings)
                            mode = gr.Radio(modes, value=modes[0], label="回答方式", visible=len(modes) > 1)
                outs = [bot, sources, searched, conv, box, plain, note, export]
                ins = [box, bot, conv, top_k, docs, mode]
                for trigger in (box.submit, send.click):
                    trigger(chat.respond, ins, outs, show_progress_on=[bot])
                examples.load_input_event.then(chat.respond, ins, outs, show_progress_on=[bot])
                clear.click(chat.clear, None, outs)
                bot.like(chat.feedback, [conv], [note])
                copy.click(None, [plain], None, js=COPY_JS)
                # Documents uploaded (in any session) since the page loaded can be chosen at once.
                docs.focus(lambda: gr.update(choices=doc_choices(system)), None, docs, show_progress="hidden")
            with gr.Tab("资料库", id="kb", visible=False) as kb_tab:
                gr.Markdown("已索引的文档。可上传 .txt / .md / .pdf / .docx（单个文件上限 "
                            f"{settings.app.max_upload_mb:g} MB），选择文件后立即入库；删除文档会同时删除其全部文本块，需确认。")
                table = gr.Dataframe(headers=_HEADERS, interactive=False, elem_id="doc-table", wrap=True)
                status = gr.Markdown(elem_id="kb-status")
                with gr.Row():
                    up = gr.UploadButton("选择文件并上传入库", file_count="multiple", file_types=[".txt", ".md", ".pdf", ".docx"],
                                         variant="primary", elem_id="upload")
                    with gr.Column():
                        target = gr.Dropdown(label="选择要删除的文档", choices=[], elem_id="delete-target")
                        rm = gr.Button("删除文档…", variant="stop", elem_id="delete")
                        with gr.Column(visible=False, elem_id="delete-confirm", variant="panel") as confirm_box:
                            confirm_text = gr.Markdown()
                            with gr.Row():
                                yes = gr.Button("确认删除", variant="stop", elem_id="delete-yes")
                                no = gr.Button("取消", elem_id="delete-no")
                pending = gr.State(None)
            with gr.Tab("出题", id="trainer", visible=False) as trainer_tab:
                gr.Markdown("#### 出题\n从资料原文生成填空、选择、判断、简答题，每题附答案与出处；相同种子生成相同试卷。")
                with gr.Row():
                    q_n = gr.Slider(4, 60, value=20, step=1, label="题量")
                    q_seed = gr.Number(value=7, precision=0, label="随机种子")
                    q_fmt = gr.Radio(["docx", "xlsx", "md", "json"], value="docx", label="导出格式")
                with gr.Row():
                    q_types = gr.CheckboxGroup(choices=[("填空题", "fill"), ("选择题", "choice"), ("判断题", "judge"), ("简答题", "short")],
                                               value=["fill", "choice", "judge", "short"], label="题型")
                    q_docs = gr.Dropdown(choices=choices, multiselect=True, label="限定文档（不选则全部）")
                    q_topic = gr.Textbox(label="主题（可选）", placeholder="例如：新质生产力")
                    q_writer = gr.Radio([("规则（离线）", "rules"), ("大模型出题（逐题核对原文）", "llm")], value="rules",
                                        label="出题方式", visible=settings.llm.provider != "extractive")
                q_btn = gr.Button("生成试卷", variant="primary", elem_id="make-quiz")
                q_status = gr.Markdown(elem_id="quiz-status")
                q_files = gr.File(label="下载（Word 为试卷与答案两份文件）", file_count="multiple")
                with gr.Accordion("预览", open=False):
                    q_preview = gr.HTML(elem_id="quiz-preview")
                q_btn.click(tr.quiz, [q_n, q_types, q_seed, q_docs, q_topic, q_fmt, q_writer], [q_status, q_files, q_preview])
                q_docs.focus(lambda: gr.update(choices=doc_choices(system)), None, q_docs, show_progress="hidden")
                gr.Markdown("#### 批量答题\n上传题目清单：.jsonl / .csv / .xlsx（题目列表头为 question、题目或问题）/ .txt（每行一题）。"
                            "选择题（题干后写 A. … B. …，或 A–D 列）会给出所选选项。")
                with gr.Row():
                    b_file = gr.File(label="题目文件", file_types=[".jsonl", ".csv", ".xlsx", ".txt"])
                    with gr.Column():
                        b_fmt = gr.Radio(["xlsx", "csv", "docx", "jsonl"], value="xlsx", label="输出格式")
                        b_col = gr.Textbox(label="题目列名（可选）")
                        b_btn = gr.Button("开始答题", variant="primary")
                b_status = gr.Markdown()
                b_out = gr.File(label="下载答题结果")
                b_btn.click(tr.batch, [b_file, b_fmt, b_col], [b_status, b_out])
            with gr.Tab("评测", id="eval"):
                gr.Markdown("最近一次评测报告（指标定义见 docs/eval.md）。调参只在开发集（dev）上进行；对外报告用测试集（test）。")
                run_btn = gr.Button("在开发集上运行评测", elem_id="run-eval")
                with gr.Row():
                    chart1 = gr.Image(label="按配置", interactive=False)
                    chart2 = gr.Image(label="按题型", interactive=False)
                report_md = gr.Markdown(elem_id="eval-report")
                run_btn.click(ev.run_dev, None, [report_md, chart1, chart2])

        listed = [table, target, docs, q_docs]
        # The progress bar shows on the status line only: the table and delete box stay usable.
        up.upload(kb.upload, [up], [status, *listed], show_progress_on=[status])
        rm.click(kb.ask_delete, [target], [status, confirm_box, confirm_text, pending])
        yes.click(kb.delete, [pending], [status, *listed, confirm_box, pending])
        no.click(kb.cancel, None, [status, confirm_box, pending])

        def on_load(request: gr.Request):
            # Tabs a participant may not use are not shown at all (their headers included).
            allowed = _role(settings, getattr(request, "username", None)) in ("admin", "trainer")
            return (gr.update(visible=allowed), gr.update(visible=allowed), *kb.refresh(), *ev.latest())

        demo.load(on_load, None, [kb_tab, trainer_tab, *listed, report_md, chart1, chart2])
    return demo


def launch(system, **overrides) -> None:
    """Launch on the configured host/port (127.0.0.1 by default), analytics off."""
    settings = system.settings
    demo = build_ui(system)
    demo.queue(default_concurrency_limit=4)
    demo.launch(
        server_name=overrides.get("host", settings.app.host),
        server_port=overrides.get("port", settings.app.port),
        auth=_auth(settings),
        auth_message="请登录学习助手",
        max_file_size=int(settings.app.max_upload_mb * 1024 * 1024),
        ssr_mode=False,
        show_error=True,
        css=CSS,
        head=CLICK_JS,
        footer_links=[],
        prevent_thread_lock=overrides.get("prevent_thread_lock", False),
        quiet=overrides.get("quiet", False),
    )


def feedback_records(system) -> list[dict]:
    """The feedback log (for tests and evaluators)."""
    path = system.settings.home / "feedback.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


__all__ = ["build_ui", "launch", "ChatHandlers", "KBHandlers", "TrainerHandlers", "EvalHandlers", "feedback_records"]
