"""The reviewer app in a real browser: uvicorn on 127.0.0.1 + Debian's chromium driven by Playwright.

Log in as the 无锡 city reviewer, open the application, click flags, and check by DOM positions that
the viewer shows the evidence page with the highlighted box inside the visible page image (and, by
pixels, over the mark the generated original carries there); then dismiss a flag with a comment
and see the decision survive a reload. A screenshot is written to docs/screenshots/.
"""

from __future__ import annotations

import io
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from test_web import PASSWORD, build_world, key_of

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync"]

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    import uvicorn

    from pipeline.web import create_app

    world = build_world(tmp_path)
    app = create_app(world.results, world.samples, world.db_url)
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def browser():
    if not CHROMIUM.exists():
        pytest.fail("Debian chromium is required: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


def _rect(page, selector: str) -> dict:
    r = page.eval_on_selector(selector, "e => { const r = e.getBoundingClientRect();"
                                        " return {x: r.left, y: r.top, r: r.right, b: r.bottom, w: r.width, h: r.height}; }")
    assert r["w"] > 0 and r["h"] > 0, f"{selector} has no size: {r}"
    return r


def _inside(inner: dict, outer: dict, slack: float = 1.0) -> bool:
    return (inner["x"] >= outer["x"] - slack and inner["y"] >= outer["y"] - slack
            and inner["r"] <= outer["r"] + slack and inner["b"] <= outer["b"] + slack)


def _assert_highlight_visible(page, flag_n: int, ev: int, doc: int, page_no: int) -> dict:
    page.wait_for_function(
        "([d, p]) => { const e = document.getElementById('page'); const i = document.getElementById('page-img');"
        " return e.dataset.doc === String(d) && e.dataset.page === String(p) && i.complete && i.naturalWidth > 0"
        " && i.getAttribute('src').endsWith(`/documents/${d}/pages/${p}/view.jpg`); }",
        arg=[doc, page_no], timeout=15000)
    box = f"#ev-{flag_n}-{ev}.box.hl"
    page.wait_for_selector(box, state="visible", timeout=5000)
    assert page.locator(".box.hl").count() == 1
    b, img, stage = _rect(page, box), _rect(page, "#page-img"), _rect(page, "#stage")
    assert _inside(b, img), f"highlight {b} not inside the page image {img}"
    assert _inside(b, stage), f"highlight {b} scrolled out of the viewer {stage}"
    return b


def test_reviewer_clicks_a_flag_sees_its_evidence_and_dismisses_it(server, browser):
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))

    page.goto(server + "/")
    assert "/login" in page.url
    page.fill("input[name=username]", "wuxi")
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-submit")
    page.wait_for_selector("table#queue")
    assert page.locator("tr[data-app]").evaluate_all("rs => rs.map(r => r.dataset.app)") == ["APP-WX"]
    page.click("a[href='/applications/APP-WX']")
    page.wait_for_function("() => { const i = document.getElementById('page-img'); return i.complete && i.naturalWidth > 0; }")
    assert page.get_attribute("#page", "data-page") == "1"
    assert page.locator("#thumbs .thumb").count() == 2

    # Flag 0 (SEAL_MISSING, evidence on page 2 of the contract): the viewer jumps to page 2.
    page.click("li[data-flag='0'] .flag-head")
    _assert_highlight_visible(page, 0, 0, doc=0, page_no=2)
    assert page.locator("#thumbs .thumb.current").get_attribute("data-page") == "2"
    assert page.locator("#overlay .box.seal").count() == 1 and page.locator("#overlay .box.field").count() == 1

    # Flag 2 (invoice totals): another document; the box sits on the dark mark drawn into the original.
    page.click("li[data-flag='2'] .flag-head")
    b = _assert_highlight_visible(page, 2, 0, doc=1, page_no=1)
    pad = 0.25
    clip = {"x": b["x"] + b["w"] * pad, "y": b["y"] + b["h"] * pad, "width": b["w"] * (1 - 2 * pad),
            "height": b["h"] * (1 - 2 * pad)}
    inner = np.asarray(Image.open(io.BytesIO(page.screenshot(clip=clip))).convert("L"))
    assert inner.mean() < 110, "the highlighted box is not over the mark"

    # Zoom in: the page grows, the highlight stays on the image.
    before = _rect(page, "#page-img")
    page.click("#zoom-in")
    after = _rect(page, "#page-img")
    assert after["w"] > before["w"] * 1.2
    page.click("li[data-flag='2'] .flag-head")
    _assert_highlight_visible(page, 2, 0, doc=1, page_no=1)

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "web-application-flag.png"))

    # Dismiss flag 2 with a comment; the decision is shown, and still there after a reload.
    key = key_of("INVOICE_TOTAL_INCONSISTENT")
    item = f"li#flag-{key}"
    page.fill(f"{item} textarea[name=comment]", "金额与税额之和差 0.01 元，属四舍五入")
    with page.expect_navigation():
        page.click(f"{item} button[value=dismiss]")
    for _ in range(2):
        page.wait_for_selector(f"{item}.decided.dismiss")
        assert "金额与税额之和差 0.01 元，属四舍五入" in page.inner_text(f"{item} .decision-state")
        assert "wuxi" in page.inner_text(f"{item} .decision-state")
        _assert_highlight_visible(page, 2, 0, doc=1, page_no=1)  # back on its evidence (#flag-<key>)
        page.reload()
    assert page.locator("li.flag.decided").count() == 1
    assert not problems, problems


def test_queue_city_filter_and_export_page_in_the_browser(server, browser):
    """Province reviewer: filter the queue by city, open the export from the panel; the CSP lets
    every page work (no console errors), and the export lays out for print."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(server + "/login")
    page.fill("input[name=username]", "prov")
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-submit")
    page.wait_for_selector("table#queue")
    ids = "rs => rs.map(r => r.dataset.app)"
    assert page.locator("tr[data-app]").evaluate_all(ids) == ["APP-NJ", "APP-WX"]
    page.select_option("select[name=city]", "3202")
    with page.expect_navigation():
        page.click("form.filters button[type=submit]")
    assert page.locator("tr[data-app]").evaluate_all(ids) == ["APP-WX"]
    page.click("a[href='/applications/APP-WX']")
    page.wait_for_function("() => { const i = document.getElementById('page-img'); return i.complete && i.naturalWidth > 0; }")
    # thumbnails follow the first page image
    page.wait_for_function("() => document.querySelectorAll('#thumbs img[src]').length === 2")
    page.click("#export-html")
    page.wait_for_selector("#export-flags")
    page.emulate_media(media="print")
    assert page.eval_on_selector("body", "b => getComputedStyle(b).maxWidth") == "none"  # @media print applied
    assert "无锡某某科技有限公司" in page.inner_text("body")
    assert not problems, problems
