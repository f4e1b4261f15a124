"""A real browser against the real app: headless Debian Chromium driven by Playwright.

One app per module (`python app.py` on a free loopback port, stopped at the end). It serves two
corpus documents, or the whole corpus when RAG_TEST_CORPUS_CACHE holds a prebuilt index (then
start-up embeds nothing). Each test checks one thing a participant or administrator hits
(issue 13): the exported file holds the latest turn, one source line per passage, the phone
layout, the copy button, feedback confirmation, example questions that ask, a Word upload's
title, delete confirmation, Chinese upload labels. Screenshots go to test-output/.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import CORPUS, ROOT, stop_process

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
OUT = ROOT / "test-output"
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(folder: Path, corpus: Path, env_extra: dict | None = None, home_from: str | None = None):
    """Start app.py on loopback; returns (url, process). Waits at most 10 minutes for start-up."""
    home = folder / "home"
    if home_from and Path(home_from, "chroma").is_dir():
        shutil.copytree(home_from, home, dirs_exist_ok=True)
    port = _free_port()
    env = dict(os.environ, RAG_HOME=str(home), RAG_CORPUS__PATH=str(corpus), RAG_APP__PORT=str(port), **(env_extra or {}))
    env.pop("GRADIO_SERVER_PORT", None)
    env.pop("GRADIO_SERVER_NAME", None)
    log_path = folder / "app.log"
    log = open(log_path, "w")
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 600
    while time.time() < deadline:
        if proc.poll() is not None:
            pytest.fail("app exited:\n" + log_path.read_text())
        try:
            urllib.request.urlopen(url, timeout=2)
            return url, proc
        except OSError:
            time.sleep(1)
    proc.kill()
    pytest.fail("app did not start:\n" + log_path.read_text())


def stop_app(proc) -> None:
    stop_process(proc)


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    folder = tmp_path_factory.mktemp("browser-app")
    cache = os.environ.get("RAG_TEST_CORPUS_CACHE")
    if cache and Path(cache, "chroma").is_dir():
        corpus = CORPUS  # the cached index is of the whole corpus: nothing to embed
    else:
        corpus = folder / "corpus"
        corpus.mkdir()
        for prefix in ("003", "004"):
            src = next(CORPUS.glob(f"{prefix}_*.txt"))
            shutil.copy(src, corpus / src.name)
        shutil.copy(CORPUS / "catalog.yaml", corpus / "catalog.yaml")
    url, proc = start_app(folder, corpus, home_from=cache)
    yield url
    stop_app(proc)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    OUT.mkdir(exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


def open_page(browser, url: str, viewport=DESKTOP, **kw):
    ctx = browser.new_context(viewport=viewport, locale="zh-CN", **kw)
    page = ctx.new_page()
    page.set_default_timeout(60_000)
    page.goto(url)
    page.locator("#question textarea").wait_for()
    return ctx, page


def ask(page, question: str) -> None:
    from playwright.sync_api import expect

    before = page.locator("#chat .message-row, #chat [data-testid='bot']").count()
    page.locator("#question textarea").fill(question)
    page.click("#send")
    expect(page.locator("#chat-status, #sources")).not_to_have_count(0)
    page.wait_for_function(
        "n => document.querySelectorAll(\"#chat .message-row, #chat [data-testid='bot']\").length >= n + 2",
        arg=before,
        timeout=60_000,
    )
    page.wait_for_timeout(300)


@pytest.mark.slow
def test_chat_sources_refusal_and_desktop_screenshot(app_url, browser):
    from playwright.sync_api import expect

    ctx, page = open_page(browser, app_url)
    sources = page.locator("#sources")
    expect(sources).to_contain_text("点击回答中的")  # a hint, not "no sources", before any question
    expect(sources).not_to_contain_text("无引用来源")
    ask(page, "银发经济是什么？")
    chat = page.locator("#chat")
    expect(chat).to_contain_text("银发经济是向老年人提供产品或服务")
    expect(sources).to_contain_text("发展银发经济利当前惠长远")
    expect(sources).to_contain_text("林宝")
    expect(sources).not_to_contain_text(".txt")  # titles, not hash file names
    page.locator('#chat a[href="#src-1-1"]').first.click()
    expect(page.locator("#src-1-1")).to_have_attribute("open", "")
    page.screenshot(path=str(OUT / "desktop-chat.png"))

    ask(page, "梅西在哪个俱乐部踢球？")
    expect(chat).to_contain_text("资料中未找到")
    expect(sources).to_contain_text("无引用来源")
    ctx.close()


@pytest.mark.slow
def test_one_source_line_per_passage(app_url, browser):
    """Every passage listed once, in the panel and in the answer's own list (item 2)."""
    ctx, page = open_page(browser, app_url)
    ask(page, "发展银发经济有什么意义？")
    entries = page.locator("#sources details.source")
    assert entries.count() >= 1
    summaries = entries.locator("summary").all_inner_texts()
    passages = entries.locator(".passage").all_text_contents()
    assert len(set(passages)) == len(passages) == len(summaries)
    bubble = (
        page.locator("#chat .message-row").last.inner_text()
        if page.locator("#chat .message-row").count()
        else page.locator("#chat").inner_text()
    )
    listed = [line.strip() for line in bubble.split("来源")[-1].splitlines() if line.strip().startswith("[")]
    assert listed and len(listed) == len(summaries)
    ctx.close()


@pytest.mark.slow
def test_empty_question_adds_no_turn(app_url, browser):
    from playwright.sync_api import expect

    ctx, page = open_page(browser, app_url)
    page.locator("#question textarea").fill("   ")
    page.click("#send")
    expect(page.locator("#chat-status")).to_contain_text("不能为空")
    expect(page.locator("#chat")).not_to_contain_text("（空）")
    expect(page.locator("#chat button[aria-label='赞'], #chat button[aria-label='Like']")).to_have_count(0)
    ctx.close()


@pytest.mark.slow
def test_export_contains_the_latest_turn(app_url, browser, tmp_path):
    """The first click downloads, and the file holds every turn so far (item 1)."""
    from playwright.sync_api import expect

    ctx, page = open_page(browser, app_url)
    ask(page, "银发经济是什么？")
    ask(page, "发展银发经济有什么意义？")
    expect(page.locator("#export")).to_be_enabled()
    with page.expect_download(timeout=30_000) as d:
        page.click("#export")
    path = tmp_path / "export.md"
    d.value.save_as(str(path))
    text = path.read_text(encoding="utf-8")
    assert "银发经济是什么" in text and "发展银发经济有什么意义" in text and "来源" in text
    ctx.close()


@pytest.mark.slow
def test_copy_button_copies_the_answer_and_feedback_is_confirmed(app_url, browser):
    from playwright.sync_api import expect

    ctx, page = open_page(browser, app_url, permissions=["clipboard-read", "clipboard-write"])
    ask(page, "银发经济是什么？")
    copy = page.locator("#copy-answer")
    expect(copy).to_be_visible()
    copy.click()
    expect(copy).to_contain_text("已复制")
    text = page.evaluate("navigator.clipboard.readText()")
    assert text.startswith("银发经济") and "来源：" in text and "#src-" not in text
    page.locator("#chat button[aria-label='赞'], #chat button[aria-label='Like']").last.click()
    expect(page.locator("#chat-status")).to_contain_text("已记录您的反馈")
    ctx.close()


@pytest.mark.slow
def test_example_question_is_asked_when_clicked(app_url, browser):
    from playwright.sync_api import expect

    ctx, page = open_page(browser, app_url)
    first = page.locator(".gallery-item, button.gallery-item, [data-testid='examples'] button").first
    question = first.inner_text().strip()
    first.click()
    expect(page.locator("#chat")).to_contain_text(question)
    expect(page.locator("#sources details, #sources .empty").first).to_be_visible()
    ctx.close()


@pytest.mark.slow
def test_phone_layout(app_url, browser):
    """390×844: the question box and 提问 are on screen at load; every tab header shows; a tapped
    [n] can be followed back to the answer (item 3)."""
    from playwright.sync_api import expect

    ctx, page = open_page(browser, app_url, PHONE, is_mobile=True, has_touch=True)
    for sel in ("#question textarea", "#send"):
        box = page.locator(sel).bounding_box()
        assert box and box["y"] + box["height"] <= PHONE["height"], f"{sel} below the fold: {box}"
    for name in ("学习问答", "资料库", "出题", "评测"):
        expect(page.get_by_role("tab", name=name)).to_be_visible()
    page.screenshot(path=str(OUT / "phone-start.png"))
    ask(page, "银发经济是什么？")
    page.screenshot(path=str(OUT / "phone-answer.png"))
    page.locator('#chat a[href="#src-1-1"]').first.click()
    back = page.locator("#back-to-answer")
    expect(back).to_be_visible()
    page.wait_for_timeout(800)
    page.screenshot(path=str(OUT / "phone-source.png"))
    back.click()
    page.wait_for_timeout(800)
    marker = page.locator('#chat a[href="#src-1-1"]').first.bounding_box()
    assert marker and 0 <= marker["y"] <= PHONE["height"]
    ctx.close()


@pytest.mark.slow
def test_kb_word_upload_title_labels_and_delete_confirmation(app_url, browser, tmp_path):
    """Chinese upload labels, the table stays visible, a Word file titled by its title, the chat
    filter lists it at once, and deleting asks first (items 7–9; issue 11, item 8)."""
    import docx
    from playwright.sync_api import expect

    d = docx.Document()
    d.add_heading("关于推动脑机接口产业创新发展的实施意见", level=0)
    d.add_heading("一、总体目标", level=1)
    d.add_paragraph("脑机接口是指在人或动物大脑与外部设备之间创建的直接连接。")
    path = tmp_path / "brain.docx"
    d.save(str(path))

    ctx, page = open_page(browser, app_url)
    page.get_by_role("tab", name="资料库").click()
    table = page.locator("#doc-table")
    expect(table).to_contain_text("新质生产力理论版")
    kb_text = page.locator("#component-0, body").first.inner_text()
    assert "Drop File Here" not in kb_text and "Upload" not in page.locator("#upload").inner_text()
    expect(page.locator("#upload")).to_contain_text("上传")
    page.locator("input[data-testid$='-upload-button']").set_input_files(str(path))
    expect(page.locator("#kb-status")).to_contain_text("已入库", timeout=180_000)
    expect(table).to_contain_text("关于推动脑机接口产业创新发展的实施意见")
    expect(table).not_to_contain_text("《一、总体目标》")
    page.screenshot(path=str(OUT / "desktop-kb.png"))

    # the chat's document filter offers the new document without a restart
    page.get_by_role("tab", name="学习问答").click()
    page.locator("#chat-settings").get_by_text("设置").first.click()
    page.locator("#doc-filter input").click()
    expect(page.get_by_role("option", name="关于推动脑机接口产业创新发展的实施意见（上传：brain.docx）")).to_be_visible()
    page.keyboard.press("Escape")

    page.get_by_role("tab", name="资料库").click()
    page.locator("#delete-target input").click()
    page.get_by_role("option", name="关于推动脑机接口产业创新发展的实施意见 · 上传：brain.docx").click()
    page.click("#delete")
    confirm = page.locator("#delete-confirm")
    expect(confirm).to_be_visible()
    expect(confirm).to_contain_text("确定删除《关于推动脑机接口产业创新发展的实施意见》")
    expect(table).to_contain_text("brain.docx")  # nothing deleted yet
    page.click("#delete-yes")
    expect(page.locator("#kb-status")).to_contain_text("已删除")
    expect(table).not_to_contain_text("brain.docx")
    expect(confirm).to_be_hidden()
    ctx.close()
