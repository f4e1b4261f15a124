"""Gradio Blocks: 学习问答 (chat with visible, verifiable citations), 资料库 (knowledge base),
出题 (quizzes and batch answering) and 评测 (evaluation). Layout, styles and launch only; the
callbacks are in ``rag.handlers``.
"""

from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402

from .conversation import Conversation  # noqa: E402
from .handlers import (  # noqa: E402
    EXTRACTIVE_MODE,
    TIMELINE_HEADERS,
    TIMELINE_HINT,
    ChatHandlers,
    DigestHandlers,
    EvalHandlers,
    KBHandlers,
    TimelineHandlers,
    TrainerHandlers,
    _auth,
    _role,
    answer_modes,
    doc_choices,
    feedback_records,
)
from .render import CLICK_JS, sources_html  # noqa: E402

CSS = """
#sources .source{border:1px solid var(--border-color-primary);border-radius:6px;margin:6px 0;padding:4px 8px}
#sources .source:target{outline:2px solid var(--color-accent)}
#sources mark{background:#fde68a;padding:0 1px}
#sources .passage{font-size:0.92em;line-height:1.7;margin:6px 0;color:var(--body-text-color-subdued)}
#sources .source.flash{outline:2px solid var(--color-accent);background:var(--background-fill-secondary)}
#sources .hint,#sources .empty{color:var(--body-text-color-subdued);font-size:0.9em}
#sources a.back{font-size:0.85em}
#timeline-detail .source{border:1px solid var(--border-color-primary);border-radius:6px;margin:6px 0;padding:4px 8px}
#timeline-detail mark{background:#fde68a;padding:0 1px}
#timeline-detail .passage{font-size:0.92em;line-height:1.7;margin:6px 0}
#timeline-detail .hint{color:var(--body-text-color-subdued);font-size:0.9em}
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


def _input_row(placeholder: str, box_id: str, max_lines: int, label: str, button_id: str) -> tuple[gr.Textbox, gr.Button]:
    """A text box and its primary button on one row (the question, the timeline's topic)."""
    with gr.Row(equal_height=True):
        box = gr.Textbox(placeholder=placeholder, show_label=False, scale=5, min_width=160, elem_id=box_id, max_lines=max_lines)
        button = gr.Button(label, variant="primary", scale=1, min_width=64, elem_id=button_id)
    return box, button


def build_ui(system) -> gr.Blocks:
    """The whole app; ``system`` comes from ``rag.system.build_system``."""
    settings = system.settings
    chat, kb, ev, tr = ChatHandlers(system), KBHandlers(system), EvalHandlers(system), TrainerHandlers(system)
    tlh, dg = TimelineHandlers(system), DigestHandlers(system)
    choices = doc_choices(system)
    with gr.Blocks(title="学习助手", analytics_enabled=False) as demo:
        gr.Markdown(f"## {settings.app.title}\n{settings.app.subtitle}")
        with gr.Tabs(overflow_behavior="wrap"):  # every tab header stays visible on a phone (a second row)
            with gr.Tab("学习问答", id="chat"):
                conv = gr.State(Conversation())
                with gr.Row():
                    with gr.Column(scale=3):
                        # Sized by its content up to max_height: an empty chat does not push the
                        # question box below a phone's screen. Markdown is on (links to sources);
                        # all document text in it is escaped (render.md_text); no LaTeX.
                        bot = gr.Chatbot(
                            label="对话",
                            elem_id="chat",
                            height=None,
                            min_height=120,
                            max_height=560,
                            latex_delimiters=[],
                            buttons=[],
                            autoscroll=True,
                            placeholder="请在下方输入问题，或点击示例问题。",
                        )
                        searched = gr.Markdown(elem_id="searched")
                        box, send = _input_row("请输入问题", "question", 4, "提问", "send")
                        note = gr.Markdown(elem_id="chat-status")
                        examples = gr.Examples(
                            examples=[[q] for q in settings.app.examples], inputs=[box], label="示例问题（点击即提问）"
                        )
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
                            docs = gr.Dropdown(
                                choices=choices, multiselect=True, label="只在这些文档中检索（不选则全部）", elem_id="doc-filter"
                            )
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
            with gr.Tab("时间线", id="timeline"):
                gr.Markdown(
                    "带日期的原文（重要论述的场合与日期、文章的发表日期）按时间排列，按场合类别着色。"
                    "输入主题可只看论及该主题的原文（与问答相同的检索与判定）；点击表格中的一行查看原文与出处。"
                )
                tl_topic, tl_btn = _input_row(
                    "主题，例如：新质生产力、人工智能、海洋（留空显示全部）", "timeline-topic", 1, "筛选", "timeline-filter"
                )
                tl_status = gr.Markdown(elem_id="timeline-status")
                tl_plot = gr.Plot(label="论述时间线", elem_id="timeline-plot", format="png")
                tl_entries = gr.State([])
                with gr.Row():
                    with gr.Column(scale=3):
                        tl_table = gr.Dataframe(
                            headers=TIMELINE_HEADERS,
                            interactive=False,
                            wrap=True,
                            elem_id="timeline-table",
                            max_height=420,
                            column_widths=["15%", "9%", "30%", "38%", "8%"],
                        )
                    with gr.Column(scale=2):
                        tl_detail = gr.HTML(TIMELINE_HINT, elem_id="timeline-detail")
                tl_outs = [tl_status, tl_plot, tl_table, tl_entries, tl_detail]
                for trigger in (tl_topic.submit, tl_btn.click):
                    trigger(tlh.show, [tl_topic], tl_outs, show_progress_on=[tl_plot])
                tl_table.select(tlh.select, [tl_entries], [tl_detail])
            with gr.Tab("资料库", id="kb", visible=False) as kb_tab:
                gr.Markdown(
                    "已索引的文档。可上传 .txt / .md / .pdf / .docx（单个文件上限 "
                    f"{settings.app.max_upload_mb:g} MB），选择文件后立即入库；删除文档会同时删除其全部文本块，需确认。"
                )
                table = gr.Dataframe(headers=_HEADERS, interactive=False, elem_id="doc-table", wrap=True)
                status = gr.Markdown(elem_id="kb-status")
                with gr.Row():
                    up = gr.UploadButton(
                        "选择文件并上传入库",
                        file_count="multiple",
                        file_types=[".txt", ".md", ".pdf", ".docx"],
                        variant="primary",
                        elem_id="upload",
                    )
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
                    q_types = gr.CheckboxGroup(
                        choices=[("填空题", "fill"), ("选择题", "choice"), ("判断题", "judge"), ("简答题", "short")],
                        value=["fill", "choice", "judge", "short"],
                        label="题型",
                    )
                    q_docs = gr.Dropdown(choices=choices, multiselect=True, label="限定文档（不选则全部）")
                    q_topic = gr.Textbox(label="主题（可选）", placeholder="例如：新质生产力")
                    q_writer = gr.Radio(
                        [("规则（离线）", "rules"), ("大模型出题（逐题核对原文）", "llm")],
                        value="rules",
                        label="出题方式",
                        visible=settings.llm.provider != "extractive",
                    )
                with gr.Row():
                    q_btn = gr.Button("生成试卷", variant="primary", elem_id="make-quiz")
                    d_btn = gr.Button("生成汇编（按主题）", elem_id="make-digest")
                q_status = gr.Markdown(elem_id="quiz-status")
                q_files = gr.File(label="下载（Word 为试卷与答案两份文件）", file_count="multiple")
                with gr.Accordion("预览", open=False):
                    q_preview = gr.HTML(elem_id="quiz-preview")
                q_btn.click(tr.quiz, [q_n, q_types, q_seed, q_docs, q_topic, q_fmt, q_writer], [q_status, q_files, q_preview])
                # 汇编: every passage about the topic, verbatim with citations (Word, or Markdown when md is chosen).
                d_btn.click(dg.digest, [q_topic, q_docs, q_fmt], [q_status, q_files, q_preview])
                q_docs.focus(lambda: gr.update(choices=doc_choices(system)), None, q_docs, show_progress="hidden")
                gr.Markdown(
                    "#### 批量答题\n上传题目清单：.jsonl / .csv / .xlsx（题目列表头为 question、题目或问题）/ .txt（每行一题）。"
                    "选择题（题干后写 A. … B. …，或 A–D 列）会给出所选选项。"
                )
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
                gr.Markdown(
                    "最近一次评测报告（指标定义见 docs/eval.md）。调参只在开发集（dev）上进行；对外报告用测试集（test）。"
                )
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
        demo.load(tlh.show, None, tl_outs)  # the whole timeline; a topic narrows it
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


__all__ = [
    "build_ui",
    "launch",
    "EXTRACTIVE_MODE",
    "answer_modes",
    "ChatHandlers",
    "KBHandlers",
    "TrainerHandlers",
    "EvalHandlers",
    "feedback_records",
]
