"""Slow: chapters opened live in JupyterLab read like their pages.

A JupyterLab server from this environment (the one Binder and ``make lab`` give:
JupyterLab and jupyterlab-myst from requirements.txt) serves copies of two chapters.
Debian's chromium, offline as in test_browser.py, opens each, runs all cells as a
learner would (Run All) and checks the DOM:

- every figure is the output of the cell that draws it, one rendered image in place;
- no raw role or directive syntax in the text (``{eval}``, ``{glue``, ``{exercise}``, a
  fence), admonitions and exercises rendered as boxes, math typeset;
- every number the text shows ({eval}`name`) was evaluated in the kernel and appears in
  the text as the very string ``say()`` published;
- every explorer's slider, moved, makes the kernel redraw its figure;
- no cell failed, and the kernel never imported myst_nb, nbformat or jsonschema (whose
  imports cost seconds with JupyterLab's server packages installed).
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid

import nbformat
import pytest
from _book import ROOT
from _chromium import chromium

pytestmark = pytest.mark.slow
CHAPTERS = ["03_backprop.ipynb", "06_taming_gradients.ipynb"]
RUN_TIMEOUT = 300  # seconds for one chapter's Run All on a busy 2-core machine
# JupyterLab settings for the test: every cell in the DOM (no virtual scrolling, so the
# whole chapter can be inspected) and no news pop-up (it would fetch from the internet)
SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {
        "windowingMode": "none"
    },
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}
# roles jupyterlab-myst renders (an unknown one, e.g. {glue:text}`x`, shows its bare
# body "x", which no DOM check can tell from text)
LIVE_ROLES = {"eval", "eq", "numref", "ref", "cite:p", "cite:t", "doc", "mod", "math"}
RAW = re.compile(
    r"\{(eval|glue[:\w]*|exercise|solution|admonition|numref|eq|cite[:\w]*)\}"
)

# The notebook under test (window.bookNotebook: its path), in focus or not.
FIND = """Array.from(window.jupyterapp.shell.widgets('main'))
  .find(x => x.sessionContext && x.context.path === window.bookNotebook)"""
PANEL = FIND + ".node"
# The notebook panel in view and its kernel's state.
STATE_JS = """
const app = window.jupyterapp;
const w = app && (FIND);
if (w && app.shell.currentWidget !== w) app.shell.activateById(w.id);
const s = w && w.sessionContext;
const k = s && s.session && s.session.kernel;
const dialog = document.querySelector('.jp-Dialog .jp-mod-accept');
if (dialog) dialog.click();   // e.g. "select a kernel": take the default
const code = w ? w.content.widgets.filter(c => c.model.type === 'code') : [];
return {ready: !!(w && w.content && w.content.widgets.length),
        kernel: k ? k.status : null,
        // code cells not run yet, or running (prompt [*])
        pending: code.filter(c => c.model.executionCount === null ||
          c.node.querySelector('.jp-InputArea-prompt').innerText.includes('*')).length};
"""
RUN_ALL_JS = """
const done = arguments[arguments.length - 1];
window.jupyterapp.commands.execute('notebook:run-all-cells')
  .then(() => done('ok'), e => done('error: ' + e));
"""
# Per cell: type, rendered text, images shown, metadata the kernel's answers went to.
CELLS_JS = """
const w = (FIND);
return w.content.widgets.map(cell => {
  const m = cell.model;
  const node = cell.node;
  const imgs = Array.from(node.querySelectorAll('.jp-OutputArea-output img'));
  return {
    type: m.type,
    text: m.type === 'markdown' ?
      (node.querySelector('div.myst') || node)
        .textContent  // with the text of folded solutions
      : '',
    html_math: node.querySelectorAll('.katex, mjx-container').length,
    boxes: node.querySelectorAll('aside, .admonition, [class*="admonition"]').length,
    images: imgs.map(i => [i.complete, i.naturalWidth, i.naturalHeight]),
    outputs: m.type === 'code' ? m.outputs.toJSON() : [],
    user_expressions: m.getMetadata('user_expressions') || null,
    figure: (m.getMetadata('mystnb') || {}).figure || null,
  };
});
"""
# Run code in the kernel of the notebook in view; returns its stdout.
KERNEL_JS = """
const done = arguments[arguments.length - 1];
const k = (FIND).sessionContext.session.kernel;
let out = '';
const f = k.requestExecute({code: arguments[0], store_history: false});
f.onIOPub = msg => { if (msg.header.msg_type === 'stream') out += msg.content.text; };
f.done.then(() => done(out), e => done('error: ' + e));
"""

STATE_JS, CELLS_JS, KERNEL_JS = (
    js.replace("(FIND)", FIND) for js in (STATE_JS, CELLS_JS, KERNEL_JS)
)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on copies of the chapters: (base URL, token, folder)."""
    folder = tmp_path_factory.mktemp("lab")
    for name in CHAPTERS:
        shutil.copy(ROOT / "chapters" / name, folder / name)
    settings = tmp_path_factory.mktemp("lab-settings")
    for rel, value in SETTINGS.items():
        (settings / rel).parent.mkdir(parents=True, exist_ok=True)
        (settings / rel).write_text(json.dumps(value))
    port, token = _free_port(), uuid.uuid4().hex
    env = dict(os.environ, JUPYTERLAB_SETTINGS_DIR=str(settings))
    env.pop("BOOKCODE_SEED_OFFSET", None)
    log = open(folder / "lab.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--allow-root",
            f"--port={port}",
            "--ServerApp.ip=127.0.0.1",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={folder}",
            "--LabApp.expose_app_in_browser=True",
        ],
        cwd=folder,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                assert proc.poll() is None, (
                    "JupyterLab did not start:\n" + (folder / "lab.log").read_text()
                )
                assert time.monotonic() < deadline, "JupyterLab not up after 60 s"
                time.sleep(0.5)
        yield base, token, folder
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def browser():
    with chromium(window="1400,1000", script_timeout=RUN_TIMEOUT) as driver:
        yield driver


def _wait(driver, what, ok, timeout):
    deadline = time.monotonic() + timeout
    while True:
        state = driver.execute_script(STATE_JS)
        if ok(state):
            return state
        assert time.monotonic() < deadline, f"{what} after {timeout} s: {state}"
        time.sleep(0.5)


def _said(nb):
    """{name: the text say() published} from a source notebook: not known before it
    runs, so only the names."""
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    return set(re.findall(r"""\bsay\(\s*["'](\w+)["']""", code))


@pytest.mark.parametrize("name", CHAPTERS)
def test_a_chapter_run_live_reads_like_its_page(lab, browser, name):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    base, token, folder = lab
    source = nbformat.read(ROOT / "chapters" / name, as_version=4)
    browser.get(f"{base}/lab/tree/{name}?token={token}")
    browser.execute_script("window.bookNotebook = arguments[0]", name)
    _wait(browser, "notebook not open", lambda s: s["ready"], 90)
    _wait(browser, "kernel not idle", lambda s: s["kernel"] == "idle", 90)

    # a click gives the notebook the focus, so that Run All (the command acts on the
    # notebook in focus) runs this one
    panel = browser.execute_script(f"return {PANEL}")
    panel.find_element(By.CSS_SELECTOR, ".jp-Cell .jp-InputPrompt").click()
    started = time.monotonic()
    assert browser.execute_async_script(RUN_ALL_JS) == "ok"
    _wait(
        browser,
        "Run All did not finish",
        lambda s: s["kernel"] == "idle" and s["pending"] == 0,
        RUN_TIMEOUT,
    )
    ran = time.monotonic() - started
    time.sleep(2)  # the last markdown cells' expressions and images
    cells = browser.execute_script(CELLS_JS)
    assert len(cells) == len(source.cells), "the notebook in the browser is another one"
    where = lambda i: f"{name} cell {i}"  # noqa: E731

    # no cell failed
    for i, c in enumerate(cells):
        errors = [o for o in c["outputs"] if o.get("output_type") == "error"]
        assert not errors, f"{where(i)} failed: {errors[0].get('evalue')}"

    # figures in place: each figure cell shows its one image, loaded
    figures = [(i, c) for i, c in enumerate(cells) if c["figure"]]
    expected = [c for c in source.cells if c.metadata.get("mystnb", {}).get("figure")]
    assert figures and len(figures) == len(expected)
    for i, c in figures:
        shown = [img for img in c["images"] if img[0] and img[1] > 100]
        assert len(shown) == 1, (
            f"{where(i)}: figure {c['figure']['name']} shows {len(c['images'])} images"
        )

    # the text: no raw syntax, boxes and math rendered, every number evaluated
    markdown = [(i, c) for i, c in enumerate(cells) if c["type"] == "markdown"]
    said, used = _said(source), set()
    for i, c in markdown:
        raw = RAW.search(c["text"]) or re.search(r"^(```|:::)", c["text"], re.M)
        assert not raw, f"{where(i)}: raw MyST in the text: {raw.group(0)!r}"
        src = source.cells[i].source
        roles = set(re.findall(r"\{([\w:-]+)\}`", src)) - LIVE_ROLES
        assert not roles, f"{where(i)}: roles a live notebook cannot show: {roles}"
        names = re.findall(r"\{eval\}`(\w+)`", src)
        if names:
            results = c["user_expressions"] or []
            assert [r["expression"] for r in results] == names, (
                f"{where(i)}: the {len(names)} numbers were not all evaluated"
            )
            for r in results:
                value = r["result"]
                assert value["status"] == "ok", (
                    f"{where(i)}: {r['expression']} failed in the kernel: {value}"
                )
                text = value["data"]["text/plain"]
                assert text and "'" not in text and text in c["text"], (
                    f"{where(i)}: {r['expression']} = {text!r} is not in the text"
                )
            used |= set(names)
        if "$" in src:
            assert c["html_math"] > 0, f"{where(i)}: math not typeset"
        if re.search(r"^```\{(exercise|admonition|note|warning|tip)", src, re.M):
            assert c["boxes"] > 0, f"{where(i)}: exercise/admonition not rendered"
    assert used and used <= said

    # the explorers run live: a slider moved, the kernel redraws the figure
    sliders = browser.find_elements(By.CSS_SELECTOR, ".jp-OutputArea .noUi-handle")
    assert sliders, f"{name}: no explorer slider"
    handle = sliders[0]
    box = handle.find_element(
        By.XPATH, "ancestor::div[contains(@class,'jp-OutputArea')]"
    )
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", handle)
    pixels = "return Array.from(arguments[0].querySelectorAll('img')).map(i => i.src)"
    before = browser.execute_script(pixels, box)
    handle.send_keys(Keys.ARROW_RIGHT)
    deadline = time.monotonic() + 30
    while browser.execute_script(pixels, box) == before:
        assert time.monotonic() < deadline, f"{name}: the explorer did not redraw"
        time.sleep(0.2)

    # the kernel never paid for myst_nb / nbformat / jsonschema
    loaded = browser.execute_async_script(
        KERNEL_JS,
        "import sys; print(sorted(m for m in ('myst_nb', 'nbformat', 'jsonschema', "
        "'rfc3987_syntax') if m in sys.modules))",
    )
    assert loaded.strip() == "[]", f"{name}: the kernel imported {loaded.strip()}"
    print(f"{name}: Run All in JupyterLab took {ran:.1f} s")
