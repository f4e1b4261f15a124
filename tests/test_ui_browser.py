"""A real browser against the real app: headless Debian Chromium driven by Playwright.

The test starts `python app.py` on a free loopback port (it indexes two corpus documents),
asks a corpus question and an off-corpus one, uploads a document, and saves screenshots
under test-output/.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from conftest import CORPUS, ROOT

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
OUT = ROOT / "test-output"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def app_url(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for prefix in ("003", "004"):
        src = next(CORPUS.glob(f"{prefix}_*.txt"))
        shutil.copy(src, corpus / src.name)
    shutil.copy(CORPUS / "catalog.yaml", corpus / "catalog.yaml")
    port = _free_port()
    env = dict(os.environ, RAG_HOME=str(tmp_path / "home"), RAG_CORPUS__PATH=str(corpus), RAG_APP__PORT=str(port))
    log = open(tmp_path / "app.log", "w")
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 300
    while time.time() < deadline:
        assert proc.poll() is None, (tmp_path / "app.log").read_text()
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            time.sleep(1)
    else:
        pytest.fail("app did not start:\n" + (tmp_path / "app.log").read_text())
    yield url
    proc.terminate()
    proc.wait(timeout=30)


@pytest.mark.slow
def test_browser_chat_refusal_and_upload(app_url, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    OUT.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(app_url)
        box = page.locator("#question textarea")
        box.wait_for(timeout=60_000)

        box.fill("银发经济是什么？")
        page.click("#send")
        expect(page.locator("#sources details").first).to_be_visible(timeout=60_000)
        chat = page.locator("#chat")
        expect(chat).to_contain_text("银发经济是向老年人提供产品或服务")
        expect(chat).to_contain_text("[1]")
        expect(page.locator("#sources")).to_contain_text("发展银发经济利当前惠长远")
        expect(page.locator("#sources")).to_contain_text("林宝")
        page.locator('#chat a[href="#src-1-1"]').first.click()
        expect(page.locator("#src-1-1")).to_have_attribute("open", "")
        page.screenshot(path=str(OUT / "chat.png"), full_page=True)

        box.fill("梅西在哪个俱乐部踢球？")
        page.click("#send")
        expect(chat).to_contain_text("资料中未找到", timeout=60_000)
        expect(page.locator("#sources")).to_contain_text("无引用来源")
        page.screenshot(path=str(OUT / "refusal.png"), full_page=True)

        doc = tmp_path / "测试上传.md"
        doc.write_text("# 测试上传\n\n脑机接口是指在人或动物大脑与外部设备之间创建的直接连接。\n", encoding="utf-8")
        page.get_by_role("tab", name="资料库").click()
        expect(page.locator("#doc-table")).to_contain_text("004_5a518f614c3346c7.txt", timeout=30_000)
        page.locator("#upload-files input[type=file]").set_input_files(str(doc))
        page.wait_for_timeout(1500)
        page.click("#upload")
        expect(page.locator("#kb-status")).to_contain_text("已入库", timeout=120_000)
        expect(page.locator("#doc-table")).to_contain_text("测试上传.md")
        page.screenshot(path=str(OUT / "kb.png"), full_page=True)
        browser.close()
