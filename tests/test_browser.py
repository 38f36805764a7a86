"""Slow: the built book in a real browser. Debian's chromium, driven by Selenium through
Debian's chromedriver (no browser downloads), loads the strict build (fixture ``built``
in conftest.py) served on localhost, with every other host unreachable; it also opens
the chapters from file://, as a reader who double-clicks the HTML would.

For every page: no JavaScript console errors, no request leaves the site, every formula
typeset by MathJax and no raw TeX in the visible text. For every chapter: every slider
of every explorer changes the figure it shows. The search page finds a chapter.
Screenshots and per-page weights go to _build/screenshots/ for inspection.
"""

import base64
import functools
import json
import re
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from _book import ROOT, toc_files
from _chromium import chromium

pytestmark = pytest.mark.slow
CHAPTERS = [
    f for f in toc_files() if f.startswith("chapters/")
]  # the chapter pages the book has

SHOTS = ROOT / "_build" / "screenshots"
SEARCH_TERM, SEARCH_HIT = "steepest", "chapters/01_gradient_descent"
WAIT = 30  # seconds for a page to load, typeset and render its widgets

# What a page looks like once it has settled: every formula typeset, every widget view
# rendered.
SETTLED_JS = """
const done = arguments[arguments.length - 1];
const views = document.querySelectorAll(
  'script[type="application/vnd.jupyter.widget-view+json"]').length;
const rendered = document.querySelectorAll(
  '.widget-subarea > .jupyter-widgets').length;
const mj = window.MathJax && window.MathJax.startup && window.MathJax.startup.promise;
(mj || Promise.resolve()).then(
  () => done({ready: document.readyState === 'complete', views, rendered}),
  (e) => done({error: String(e)}));
"""
# Visible text outside code, where raw TeX would mean MathJax did not run.
PROSE_JS = """
const skip = new Set(
  ['PRE', 'CODE', 'SCRIPT', 'STYLE', 'TEXTAREA', 'NOSCRIPT', 'MJX-CONTAINER']);
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
const out = [];
for (let n = walker.nextNode(); n; n = walker.nextNode()) {
  let e = n.parentElement, ok = true;
  for (let a = e; a; a = a.parentElement) {
    if (skip.has(a.tagName)) { ok = false; break; }
  }
  if (ok && e.checkVisibility()) out.push(n.nodeValue);
}
return out.join(' ');
"""
MATH_JS = """
const math = Array.from(document.querySelectorAll('.math'));
return {math: math.length,
        typeset: math.filter(e => e.querySelector('mjx-container')).length,
        errors: document.querySelectorAll('mjx-merror').length,
        containers: document.querySelectorAll('mjx-container').length};
"""
# Shown code (code cells, listings of bookcode's source, code in the text): its longest
# line, and whether 88 characters of it fit the width of its block (ruff's line length).
CODE_JS = """
const blocks = Array.from(document.querySelectorAll('div[class*="highlight-"] pre'))
  .filter(p => !p.closest('.output.stream, .output.traceback, .output.text_plain'));
let longest = 0, where = '';
for (const p of blocks) {
  for (const line of p.textContent.split('\\n')) {
    if (line.length > longest) { longest = line.length; where = line; }
  }
}
const shown = blocks.find(p => p.checkVisibility() && p.clientWidth > 0);
let fits = null;
if (shown) {
  const st = getComputedStyle(shown);
  const g = document.createElement('canvas').getContext('2d');
  g.font = `${st.fontWeight} ${st.fontSize} ${st.fontFamily}`;
  const pad = parseFloat(st.paddingLeft) + parseFloat(st.paddingRight);
  const room = shown.clientWidth - pad;
  fits = {room, need: g.measureText('0'.repeat(88)).width};
}
return {blocks: blocks.length, longest, where, fits};
"""
# Is the page wider than the window (a horizontal scroll of the whole page)? And each
# display equation wider than its box: does the box scroll, with a visible hint?
WIDTH_JS = """
const W = document.documentElement.clientWidth;
const wide = [];
if (document.documentElement.scrollWidth > W) {
  for (const e of document.querySelectorAll('article *')) {
    const r = e.getBoundingClientRect();
    if (r.right <= W + 1 || !r.width) continue;
    let inside = false;   // inside a box that scrolls or clips: not widening the page
    for (let a = e.parentElement; a && !inside; a = a.parentElement)
      inside = getComputedStyle(a).overflowX !== 'visible';
    if (!inside) wide.push(`${e.tagName}: ${e.textContent.slice(0, 60)}`);
  }
}
const eqs = Array.from(document.querySelectorAll('mjx-container[display="true"]'));
const scrolled = eqs.filter(m => m.scrollWidth > m.clientWidth + 1);
const silent = scrolled.filter(m => {
  const s = getComputedStyle(m);
  return !['auto', 'scroll'].includes(s.overflowX)
    || !s.backgroundImage.includes('gradient');
});
return {window: W, page: document.documentElement.scrollWidth, wide: wide.slice(0, 3),
        scrolled: scrolled.length, silent: silent.length};
"""
# Every numbered figure: drawn size (natural width, px) and shown size.
FIGURES_JS = """
return Array.from(document.querySelectorAll('article figure img')).map(i => ({
  id: i.closest('figure').id, natural: i.naturalWidth,
  shown: i.getBoundingClientRect().width}));
"""
# A figure or an explorer frame may be shown at no less than this fraction of the size
# it was drawn at. With the floor of 9 pt at 100 dpi (12.5 px) that show_figure and
# explorer enforce (plotting.check_legible), text in a figure is then at least 12 px on
# screen at 1280 px, the size of the page's own small print.
SHOWN_AT_LEAST = 0.96
PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True}
# The size an explorer's visible frame is drawn at (natural width, px) and shown at.
FRAME_SIZE_JS = """
return Array.from(arguments[0].querySelectorAll('img'))
  .filter(im => im.checkVisibility())
  .map(im => [im.naturalWidth, im.getBoundingClientRect().width]);
"""
# The images an explorer shows: [width, height, pixel hash] of each visible <img>.
SHOWN_JS = """
const imgs = Array.from(arguments[0].querySelectorAll('img'));
return imgs.filter(im => im.checkVisibility()).map(im => {
  if (!im.complete || !im.naturalWidth) return [0, 0, 0];
  const c = document.createElement('canvas');
  c.width = im.naturalWidth; c.height = im.naturalHeight;
  const g = c.getContext('2d'); g.drawImage(im, 0, 0);
  const p = g.getImageData(0, 0, c.width, c.height).data;
  let h = 0; for (let i = 0; i < p.length; i++) h = (Math.imul(h, 31) + p[i]) >>> 0;
  return [c.width, c.height, h];
});
"""


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site(built):
    html, _ = built
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Quiet, directory=str(html))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield html, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    with chromium(window="1280,1000", script_timeout=WAIT) as driver:
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd(
            "Network.setCacheDisabled", {"cacheDisabled": True}
        )  # every page weighed in full
        yield driver


def _drain(driver):
    driver.get("about:blank")
    driver.get_log("browser")
    driver.get_log("performance")


def visit(driver, url, allowed_prefixes):
    """Load ``url``, wait until it has settled, and return :func:`collect` for it."""
    _drain(driver)
    driver.get(url)
    deadline = time.monotonic() + WAIT
    while True:
        state = driver.execute_async_script(SETTLED_JS)
        assert "error" not in state, f"{url}: MathJax failed: {state['error']}"
        if state["ready"] and state["rendered"] >= state["views"]:
            break
        assert time.monotonic() < deadline, (
            f"{url}: widgets not rendered after {WAIT} s: {state}"
        )
        time.sleep(0.2)
    time.sleep(0.5)  # let late requests (fonts) and errors arrive
    return collect(driver, allowed_prefixes)


def collect(driver, allowed_prefixes):
    """What the page logged since the last look: (console errors, requests to URLs
    outside ``allowed_prefixes``, bytes received, number of requests)."""
    errors = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    offsite, received, n = [], 0, 0
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            n += 1
            request_url = message["params"]["request"]["url"]
            if not request_url.startswith(allowed_prefixes):
                offsite.append(f"request left the site: {request_url[:200]}")
        elif message["method"] == "Network.loadingFinished":
            received += message["params"].get("encodedDataLength", 0)
    return errors, offsite, received, n


def check_math(driver, where):
    math = driver.execute_script(MATH_JS)
    assert math["typeset"] == math["math"], (
        f"{where}: {math['math'] - math['typeset']} formulas not typeset"
    )
    assert math["errors"] == 0, (
        f"{where}: {math['errors']} MathJax errors (mjx-merror) in the page"
    )
    prose = driver.execute_script(PROSE_JS)
    for raw in ("$$", "\\frac", "\\begin{"):
        assert raw not in prose, (
            f"{where}: raw TeX {raw!r} visible: "
            f"...{prose[prose.find(raw) - 80 :][:200]}..."
        )
    return math["containers"]


def check_code_fits(driver, where):
    """Shown code has lines of at most 88 characters, and 88 fit the page column."""
    r = driver.execute_script(CODE_JS)
    assert r["blocks"] > 0, f"{where}: no code block found (did the theme change?)"
    assert r["longest"] <= 88, (
        f"{where}: a shown line of {r['longest']} characters: {r['where'][:100]!r}"
    )
    assert r["fits"] is not None, f"{where}: no visible code block to measure"
    assert r["fits"]["need"] <= r["fits"]["room"], (
        f"{where}: 88 characters of code need {r['fits']['need']:.0f} px, the column "
        f"gives {r['fits']['room']:.0f} px"
    )
    return r


def check_figures(driver, where):
    """Figures are drawn at the size they are shown at 1280 px, so their text is as
    large as show_figure guarantees (no figure shrunk to fit the column)."""
    figures = driver.execute_script(FIGURES_JS)
    small = [
        f"{f['id']} ({f['natural']} px drawn, {f['shown']:.0f} shown)"
        for f in figures
        if f["natural"] == 0 or f["shown"] < SHOWN_AT_LEAST * f["natural"]
    ]
    assert not small, f"{where}: figures shrunk below their drawn size: {small}"
    return len(figures)


def check_width(driver, where):
    """No page is wider than the window; an equation wider than the column scrolls in
    its own box, which shows that it does (a shadow at the hidden edge)."""
    w = driver.execute_script(WIDTH_JS)
    assert w["page"] <= w["window"], (
        f"{where}: the page is {w['page']} px wide in a {w['window']} px window: "
        f"{w['wide']}"
    )
    assert w["silent"] == 0, (
        f"{where}: {w['silent']} of {w['scrolled']} equations wider than the column "
        "are cut with no hint"
    )
    return w["scrolled"]


def check_explorers(driver, where, shots_prefix=None):
    """Move every slider of every explorer on the page one step; each move must change
    the figure shown. Each explorer's frame is shown at its drawn size, like a figure
    (explorer() checks the fonts of every frame as show_figure does a figure's)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    explorers = [
        box
        for box in driver.find_elements(By.CSS_SELECTOR, ".widget-subarea")
        if box.find_elements(By.CSS_SELECTOR, ".noUi-handle")
    ]
    for i, box in enumerate(explorers):
        handles = box.find_elements(By.CSS_SELECTOR, ".noUi-handle")
        readouts = box.find_elements(By.CSS_SELECTOR, ".widget-readout")
        for j, handle in enumerate(handles):
            driver.execute_script(
                "arguments[0].scrollIntoView({block: 'center'})", handle
            )
            before = _shown(driver, box, lambda shown: True)
            assert len(before) == 1, (
                f"{where}: explorer {i} shows {len(before)} images, expected one frame"
            )
            if j == 0:
                [(natural, shown)] = driver.execute_script(FRAME_SIZE_JS, box)
                assert shown >= SHOWN_AT_LEAST * natural, (
                    f"{where}: explorer {i}'s frame is drawn {natural} px wide and "
                    f"shown at {shown:.0f} px: its text is shrunk below 12 px"
                )
            text = readouts[j].text
            at_end = handle.get_attribute("aria-valuenow") == handle.get_attribute(
                "aria-valuemax"
            )
            handle.send_keys(Keys.ARROW_LEFT if at_end else Keys.ARROW_RIGHT)
            after = _shown(driver, box, lambda shown: shown != before)
            assert readouts[j].text != text, (
                f"{where}: explorer {i}, slider {j} did not move"
            )
            assert len(after) == 1 and after != before, (
                f"{where}: explorer {i}, slider {j} moved ({text} -> "
                f"{readouts[j].text}) but the figure did not change"
            )
        if shots_prefix:
            box.screenshot(str(SHOTS / f"{shots_prefix}-explorer{i + 1}.png"))
    return len(explorers)


def _shown(driver, box, done, timeout=5):
    """The explorer's visible images once they are loaded and ``done(images)`` holds (or
    the timeout passed)."""
    deadline = time.monotonic() + timeout
    while True:
        shown = driver.execute_script(SHOWN_JS, box)
        if (
            all(width > 0 for width, _, _ in shown) and done(shown)
        ) or time.monotonic() > deadline:
            return shown
        time.sleep(0.1)


def screenshot(driver, path):
    """The whole page, not just the window."""
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    clip = {
        "x": 0,
        "y": 0,
        "width": size["width"],
        "height": min(size["height"], 30000),
        "scale": 1,
    }
    data = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {"format": "png", "captureBeyondViewport": True, "clip": clip},
    )["data"]
    path.write_bytes(base64.b64decode(data))


def test_every_page_works_offline_in_a_browser(site, browser):
    html, base = site
    SHOTS.mkdir(parents=True, exist_ok=True)
    allowed = (base, f"blob:{base.rstrip('/')}/", "data:", "about:")
    report, problems = {}, []
    for name in toc_files():
        where = name + ".html"
        errors, offsite, received, n = visit(browser, base + where, allowed)
        problems += [f"{where}: {e}" for e in errors + offsite]
        formulas = check_math(browser, where)
        check_width(browser, where)
        explorers = 0
        if name in CHAPTERS:
            assert formulas > 0, f"{where}: a chapter without typeset math"
            check_code_fits(browser, where)
            assert check_figures(browser, where) > 0, f"{where}: no figure found"
            explorers = check_explorers(browser, where, shots_prefix=Path(name).name)
            assert explorers >= 1, f"{where}: no explorer with a slider"
            errors, offsite, _, _ = collect(
                browser, allowed
            )  # anything moving the sliders logged
            problems += [
                f"{where} (after moving sliders): {e}" for e in errors + offsite
            ]
        screenshot(browser, SHOTS / (Path(name).name + ".png"))
        report[where] = {
            "html_bytes": (html / where).stat().st_size,
            "bytes_received": received,
            "requests": n,
            "formulas": formulas,
            "explorers": explorers,
        }
    (SHOTS / "pages.json").write_text(json.dumps(report, indent=2) + "\n")
    assert not problems, "\n".join(problems)


def test_every_page_fits_a_phone(site, browser):
    """At 390 px (a phone), no page is wider than the screen and no equation is cut
    silently (it scrolls in its box, with a shadow at the hidden edge)."""
    _, base = site
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
    try:
        scrolled = 0
        for name in toc_files():
            browser.get(base + name + ".html")
            browser.execute_async_script(SETTLED_JS)
            scrolled += check_width(browser, name + ".html")
        assert scrolled > 0, "no equation is wider than a phone: is the check alive?"
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_search_finds_a_chapter(site, browser):
    html, base = site
    from selenium.webdriver.common.by import By

    chapter = html / (SEARCH_HIT + ".html")
    assert SEARCH_TERM in chapter.read_text(encoding="utf-8").lower(), (
        "pick a search term the chapter contains"
    )
    errors, offsite, _, _ = visit(
        browser,
        f"{base}search.html?q={SEARCH_TERM}",
        (base, f"blob:{base.rstrip('/')}/", "data:", "about:"),
    )
    assert not errors and not offsite, errors + offsite
    deadline = time.monotonic() + WAIT
    while not (
        links := browser.find_elements(
            By.CSS_SELECTOR, "#search-results ul.search li a"
        )
    ):
        assert time.monotonic() < deadline, f"no search results for {SEARCH_TERM!r}"
        time.sleep(0.2)
    hrefs = [a.get_attribute("href") for a in links]
    assert any(SEARCH_HIT + ".html" in h for h in hrefs), (
        f"{SEARCH_HIT} not among the results {hrefs}"
    )
    screenshot(browser, SHOTS / "search.png")


def test_chapters_work_from_file_urls(site, browser):
    """Opened as files (no server, no network): math typeset, sliders change the figure,
    no console errors."""
    html, _ = site
    if any(
        "integrity=" in script
        for name in CHAPTERS
        for script in re.findall(
            r"<script[^>]*>", (html / f"{name}.html").read_text("utf-8")
        )
    ):
        pytest.skip(
            "book_html_sri is on: browsers refuse integrity-checked scripts on file:// "
            "pages (no CORS)"
        )
    allowed = (html.as_uri() + "/", "blob:null/", "data:", "about:")
    problems = []
    for name in CHAPTERS:
        where = f"file://.../{name}.html"
        errors, offsite, _, _ = visit(
            browser, (html / f"{name}.html").as_uri(), allowed
        )
        assert check_math(browser, where) > 0
        assert check_explorers(browser, where) >= 1
        errors2, offsite2, _, _ = collect(browser, allowed)
        problems += [f"{where}: {e}" for e in errors + offsite + errors2 + offsite2]
    assert not problems, "\n".join(problems)
