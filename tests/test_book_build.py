"""Slow tests: the strict book build (fixture ``built`` in conftest.py), its HTML as an
offline product, and the determinism of a chapter."""

import base64
import hashlib
import json
import os
import re
import subprocess
import sys
import tarfile
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml
from _book import ROOT, chapter_notebooks, glued_values, toc_files

pytestmark = pytest.mark.slow
PAGE_LIMIT = 3 * 1024 * 1024  # bytes; frames of the static explorers included


def test_strict_build_produces_every_page(built):
    html, log = built
    for f in toc_files():
        page = html / (f + ".html")
        assert page.exists(), f"missing page {page}"
    assert not re.search(r"WARNING: ", log), "the build logged Sphinx warnings"


def test_chapter_pages_execute_and_embed_static_explorers(built):
    html, _ = built
    for nb in chapter_notebooks():
        page = html / "chapters" / (nb.stem + ".html")
        text = page.read_text(encoding="utf-8")
        assert "Traceback (most recent call last)" not in text, (
            f"{page.name}: an error trace is in the page"
        )
        assert "{eval}" not in text and "{glue" not in text, (
            f"{page.name}: raw role syntax in the page"
        )
        assert "&lt;Figure size" not in text and "<Figure size" not in text, (
            f"{page.name}: a figure was rendered as text (kernel without the inline "
            "backend?)"
        )
        assert "application/vnd.jupyter.widget-state+json" in text, (
            f"{page.name}: no embedded widget state"
        )
        assert "StackModel" in text and "LinkModel" in text, (
            f"{page.name}: explorer frames are not linked to sliders"
        )
        size = page.stat().st_size
        assert size <= PAGE_LIMIT, (
            f"{page.name} weighs {size / 1e6:.2f} MB (limit 3 MB)"
        )


FIGURE = re.compile(
    r'<figure[^>]*\bid="(?P<id>[^"]+)"[^>]*>(?P<body>.*?)</figure>', re.S
)


def test_figures_are_the_outputs_of_their_cells_numbered_and_captioned(built):
    """Every figure a chapter draws is the output of the cell that draws it (cell
    metadata ``mystnb.figure``, see ``bookcode.display.prose``): in the page it is one
    image with its number and caption, under the name ``{numref}`` links to; no figure
    is lost and none is shown twice."""
    html, _ = built
    for nb_path in chapter_notebooks():
        nb = json.loads(nb_path.read_text(encoding="utf-8"))
        figures = {
            c["metadata"]["mystnb"]["figure"]["name"]: "".join(c["source"])
            for c in nb["cells"]
            if c["metadata"].get("mystnb", {}).get("figure")
        }
        assert figures, f"{nb_path.name}: draws no figure"
        for name, src in figures.items():
            assert src.count("show_figure(") == 1, (
                f"{nb_path.name}: the cell of {name} must show exactly one figure"
            )
        text = (html / "chapters" / (nb_path.stem + ".html")).read_text("utf-8")
        shown = {}
        for m in FIGURE.finditer(text):
            shown.setdefault(m["id"], []).append(m["body"])
        for name in figures:
            bodies = shown.get(name, [])
            assert len(bodies) == 1, (
                f"{nb_path.stem}: figure {name} appears {len(bodies)} times"
            )
            body = bodies[0]
            assert body.count("<img") == 1, f"{nb_path.stem}: {name} is not one image"
            assert re.search(r'caption-number">Fig\. \d+\.\d+', body), (
                f"{nb_path.stem}: {name} has no figure number"
            )
            caption = re.sub(r"<[^>]+>", "", body.split("caption-text", 1)[-1])
            assert len(caption.split()) >= 8, f"{nb_path.stem}: {name}: no caption"
        assert "`" not in "".join(b for v in shown.values() for b in v), (
            f"{nb_path.stem}: a caption shows raw role syntax"
        )


# --- the HTML as an offline product ---------------------------------------------------

# attributes through which a page makes the browser load something (anchors <a href>
# only link)
LOADING = {
    "script": ("src",),
    "link": ("href",),
    "img": ("src", "srcset"),
    "iframe": ("src",),
    "frame": ("src",),
    "source": ("src", "srcset"),
    "video": ("src", "poster"),
    "audio": ("src",),
    "track": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "input": ("src",),
    "image": ("href", "xlink:href"),
    "use": ("href", "xlink:href"),
}
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]+)|@import\s+['"]([^'"]+)""")


class _Refs(HTMLParser):
    """Every resource a page loads: (tag, attribute, value, all attributes), plus its
    inline CSS."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.refs, self.css, self._in_style = [], [], False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in LOADING.get(tag, ()):
            for value in (
                [v.strip().split()[0] for v in attrs[name].split(",") if v.strip()]
                if name == "srcset" and attrs.get(name)
                else [attrs.get(name)]
            ):
                if value:
                    self.refs.append((tag, name, value, attrs))
        if attrs.get("style"):
            self.css.append(attrs["style"])
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.css.append(data)


def _parse(page):
    parser = _Refs()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def _pages(html):
    """The site's pages (not the theme's template snippets under _static/)."""
    return sorted(
        p
        for p in html.rglob("*.html")
        if p.relative_to(html).parts[0] not in ("_static", "_sources")
    )


def _offsite(url):
    return bool(
        urlsplit(url).scheme in ("http", "https", "ftp", "ws", "wss")
        or url.startswith("//")
    )


def _local_file(html, page, url):
    """The file in the built site that a same-site ``url`` on ``page`` refers to."""
    path = unquote(urlsplit(url).path)
    return (
        (html / path.lstrip("/"))
        if path.startswith("/")
        else (page.parent / path).resolve()
    )


def _css_urls(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return [a or b for a, b in CSS_URL.findall(text)]


def test_pages_load_nothing_from_other_sites(built):
    html, _ = built
    pages = _pages(html)
    assert len(pages) >= len(toc_files())
    bad, stylesheets = [], set()
    for page in pages:
        parsed = _parse(page)
        for tag, attr, url, _attrs in parsed.refs:
            where = f"{page.relative_to(html)}: <{tag} {attr}={url!r}>"
            if _offsite(url):
                bad.append(where)
            elif urlsplit(url).scheme not in ("data", "blob"):
                target = _local_file(html, page, url)
                if not target.exists():
                    bad.append(where + " (missing file)")
                elif target.suffix == ".css":
                    stylesheets.add(target)
        bad += [
            f"{page.relative_to(html)}: inline CSS url({u})"
            for css in parsed.css
            for u in _css_urls(css)
            if _offsite(u)
        ]
    seen = set()
    while (
        stylesheets
    ):  # the stylesheets the pages load, and what they @import or url() in turn
        sheet = stylesheets.pop()
        seen.add(sheet)
        for u in _css_urls(sheet.read_text(encoding="utf-8", errors="replace")):
            if _offsite(u):
                bad.append(f"{sheet.relative_to(html)}: url({u})")
            elif urlsplit(u).scheme not in ("data", "blob") and u.split("?")[
                0
            ].endswith(".css"):
                target = _local_file(html, sheet, u)
                if target.exists() and target not in seen:
                    stylesheets.add(target)
    assert not bad, (
        "pages load resources from other sites (or missing files):\n" + "\n".join(bad)
    )


def test_integrity_attributes_match_the_files_served(built):
    html, _ = built
    checked = 0
    for page in _pages(html):
        for _tag, _attr, url, attrs in _parse(page).refs:
            if "integrity" not in attrs:
                continue
            data = _local_file(html, page, url).read_bytes()
            for value in attrs[
                "integrity"
            ].split():  # SRI allows several hashes; one must match
                algo, _, want = value.partition("-")
                got = base64.b64encode(hashlib.new(algo, data).digest()).decode()
                if got == want:
                    break
            else:
                pytest.fail(
                    f"{page.relative_to(html)}: integrity of {url} does not match the "
                    "file served"
                )
            checked += 1
    print(f"{checked} integrity attributes checked")


def test_chapters_load_mathjax_and_widgets_from_the_book_and_link_to_binder(built):
    html, _ = built
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    repo = urlsplit(config["repository"]["url"]).path.strip("/")
    hub = config["launch_buttons"]["binderhub_url"].rstrip("/")
    binder = f"{hub}/v2/gh/{repo}/{config['repository']['branch']}"
    for name in (f for f in toc_files() if f.startswith("chapters/")):
        page = html / (name + ".html")
        scripts = [url for tag, _, url, _ in _parse(page).refs if tag == "script"]
        for asset in ("tex-chtml.js", "require.js", "embed-amd.js"):
            found = [u for u in scripts if urlsplit(u).path.endswith("/" + asset)]
            assert found and all("_static/" in u for u in found), (
                f"{page.name} does not load {asset} from _static/"
            )
        assert f'href="{binder}?urlpath=lab/tree/{name}.ipynb"' in page.read_text(
            encoding="utf-8"
        ), f"{page.name}: no Binder launch button opening {name}.ipynb"


def test_vendored_files_are_the_registry_files_with_their_licences(built):
    """Every file under _static/npm/<package>/ is byte-identical to the one in the npm
    tarball whose sha512 is the integrity the registry publishes (pinned in
    book_ext/book_html.py), and every package ships a licence."""
    html, _ = built
    cache = Path(os.environ.get("BOOK_VENDOR_CACHE") or ROOT / ".vendor-cache")
    packages = sorted((html / "_static" / "npm").iterdir())
    assert {p.name.rsplit("-", 1)[0] for p in packages} == {
        "mathjax",
        "requirejs",
        "html-manager",
    }
    for folder in packages:
        prov = json.loads((folder / "PROVENANCE.json").read_text())
        assert prov["licence_files"] and all(
            (folder / f).is_file() for f in prov["licence_files"]
        ), folder.name
        assert any(f.startswith("LICENSE") for f in prov["licence_files"]), (
            f"{folder.name}: no LICENSE file"
        )
        tarball = (
            cache
            / f"{prov['name'].replace('@', '').replace('/', '-')}-{prov['version']}.tgz"
        )
        digest = (
            "sha512-"
            + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
        )
        assert digest == prov["integrity"], (
            f"{tarball.name}: sha512 differs from the registry's integrity"
        )
        served = {
            f.relative_to(folder).as_posix(): f
            for f in folder.rglob("*")
            if f.is_file()
        }
        served.pop("PROVENANCE.json")
        if "LICENSE.txt" in prov["licence_files"]:
            served.pop(
                "LICENSE.txt"
            )  # the licence text book_ext adds for packages that ship none
        with tarfile.open(tarball) as tar:
            for member in tar:
                rel = member.name.split("/", 1)[1]
                if member.isfile() and rel in served:
                    same = (
                        tar.extractfile(member).read() == served.pop(rel).read_bytes()
                    )
                    assert same, f"{folder.name}/{rel} differs from the registry's file"
        assert not served, (
            f"{folder.name}: files not in {tarball.name}: {sorted(served)[:5]}"
        )


def test_chapter1_glued_values_are_deterministic():
    import nbformat
    from nbclient import NotebookClient

    path = ROOT / "chapters" / "01_gradient_descent.ipynb"
    runs = []
    env_before = os.environ.get("BOOKCODE_STATIC")
    os.environ["BOOKCODE_STATIC"] = "0"
    try:
        for _ in range(2):
            nb = nbformat.read(path, as_version=4)
            NotebookClient(
                nb,
                timeout=300,
                kernel_name="python3",
                resources={"metadata": {"path": str(path.parent)}},
            ).execute()
            runs.append(glued_values(nb))
    finally:
        if env_before is not None:
            os.environ["BOOKCODE_STATIC"] = env_before
    assert runs[0], "chapter 1 glued nothing"
    assert runs[0] == runs[1]


# --- fetching the vendored assets -----------------------------------------------------


def _book_html():
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "book_html_under_test", ROOT / "book_ext" / "book_html.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_build_without_registry_or_cache_stops_with_a_clear_message(tmp_path):
    env = dict(
        os.environ,
        BOOK_VENDOR_CACHE=str(tmp_path / "empty-cache"),
        npm_config_registry="http://127.0.0.1:9",
    )
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "build_book.py"),
            "--out",
            str(tmp_path),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "cannot download mathjax@3.2.2 from the npm registry" in log, log[-3000:]
    assert "needs the registry once" in log, log[-3000:]
    assert not (tmp_path / "_build" / "html" / "index.html").exists()


@pytest.mark.parametrize("tamper", ["registry integrity", "tarball bytes"])
def test_a_tarball_is_used_only_if_it_matches_the_pinned_integrity(
    tmp_path, monkeypatch, tamper
):
    """A fake registry on localhost serves requirejs with a wrong integrity in its
    metadata, or wrong bytes."""
    import functools
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from sphinx.errors import ExtensionError

    book_html = _book_html()
    pkg = book_html.REQUIREJS
    tarball = b"not the real tarball"
    meta = {
        "dist": {
            "integrity": pkg.integrity
            if tamper == "tarball bytes"
            else book_html.sri(tarball, "sha512")
        }
    }

    class Registry(BaseHTTPRequestHandler):
        def do_GET(self, base):
            body = (
                tarball
                if self.path.endswith(".tgz")
                else json.dumps(
                    {"dist": {**meta["dist"], "tarball": f"{base}/r.tgz"}}
                ).encode()
            )
            self.send_response(200)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Registry)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    Registry.do_GET = functools.partialmethod(Registry.do_GET, base)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("npm_config_registry", base)
        (tmp_path / pkg.tarball_name).write_bytes(
            b"a corrupt cached copy"
        )  # not used: its hash is wrong
        match = "pins" if tamper == "registry integrity" else "downloaded tarball has"
        with pytest.raises(ExtensionError, match=match):
            book_html.fetch(pkg, tmp_path)
    finally:
        server.shutdown()
        server.server_close()
    assert (
        tmp_path / pkg.tarball_name
    ).read_bytes() == b"a corrupt cached copy"  # nothing bad was cached
