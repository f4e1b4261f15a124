"""The 时间线 tab and the 汇编 button in a real browser (headless Debian Chromium via Playwright),
against the real app (tests/test_ui_browser.py starts it). Screenshots go to test-output/."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from test_ui_browser import DESKTOP, OUT, browser, open_page, start_app, stop_app  # noqa: F401  (browser: fixture)

from conftest import CORPUS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    """The app over the collection of dated speech excerpts (001), which the timeline is about (the
    chat tests' app holds two newspaper pages only); the whole cached corpus when a cache is given."""
    folder = tmp_path_factory.mktemp("timeline-app")
    cache = os.environ.get("RAG_TEST_CORPUS_CACHE")
    if cache and Path(cache, "chroma").is_dir():
        corpus = CORPUS
    else:
        corpus = folder / "corpus"
        corpus.mkdir()
        src = next(CORPUS.glob("001_*.txt"))
        shutil.copy(src, corpus / src.name)
        shutil.copy(CORPUS / "catalog.yaml", corpus / "catalog.yaml")
    url, proc = start_app(folder, corpus, home_from=cache)
    yield url
    stop_app(proc)


def test_timeline_tab_chart_table_filter_and_passage(app_url, browser):  # noqa: F811
    from playwright.sync_api import expect

    ctx, page = open_page(browser, app_url, {"width": 1440, "height": 1100})
    page.get_by_role("tab", name="时间线").click()
    status = page.locator("#timeline-status")
    expect(status).to_contain_text("共", timeout=60_000)
    plot = page.locator("#timeline-plot img")
    expect(plot).to_be_visible(timeout=30_000)
    table = page.locator("#timeline-table")
    expect(table).to_contain_text("考察", timeout=30_000)
    all_rows = table.locator("tbody tr").count()
    assert all_rows >= 1

    page.locator("#timeline-topic textarea, #timeline-topic input").first.fill("新质生产力")
    page.click("#timeline-filter")
    expect(status).to_contain_text("主题“新质生产力”", timeout=60_000)
    expect(table).to_contain_text("在黑龙江考察时强调", timeout=30_000)
    page.wait_for_timeout(500)
    table.get_by_text("在黑龙江考察时强调").first.click()
    detail = page.locator("#timeline-detail")
    expect(detail).to_contain_text("习近平总书记关于未来产业的重要论述30则", timeout=30_000)
    expect(detail).to_contain_text("2023-09-08", timeout=30_000)
    expect(detail.locator("mark")).not_to_have_count(0)
    page.wait_for_timeout(500)
    page.screenshot(path=str(OUT / "desktop-timeline.png"), full_page=True)

    page.locator("#timeline-topic textarea, #timeline-topic input").first.fill("红烧肉的做法")
    page.click("#timeline-filter")
    expect(status).to_contain_text("没有与该主题相关的带日期原文", timeout=60_000)
    ctx.close()


def test_digest_button_beside_quiz(app_url, browser, tmp_path):  # noqa: F811
    from playwright.sync_api import expect

    ctx, page = open_page(browser, app_url, DESKTOP)
    page.get_by_role("tab", name="出题").click()
    expect(page.locator("#make-digest")).to_be_visible()
    page.get_by_label("主题（可选）").fill("新质生产力")
    page.click("#make-digest")
    expect(page.locator("#quiz-status")).to_contain_text("已生成汇编", timeout=120_000)
    expect(page.locator("#quiz-status")).to_contain_text("收录")
    ctx.close()


def test_phone_shows_every_tab_header(app_url, browser):  # noqa: F811
    """390×844: the 时间线 tab makes five headers; none is hidden in a "more" menu."""
    from playwright.sync_api import expect

    from test_ui_browser import PHONE

    ctx, page = open_page(browser, app_url, PHONE, is_mobile=True, has_touch=True)
    for name in ("学习问答", "时间线", "资料库", "出题", "评测"):
        expect(page.get_by_role("tab", name=name)).to_be_visible()
    page.get_by_role("tab", name="时间线").click()
    expect(page.locator("#timeline-plot img")).to_be_visible(timeout=60_000)
    page.screenshot(path=str(OUT / "phone-timeline.png"), full_page=True)
    ctx.close()
