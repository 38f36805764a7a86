"""Sphinx extension for the built HTML book as a product: it works offline and its pages
log no errors.

**Offline assets.** The pages load MathJax, RequireJS and the Jupyter widgets HTML
manager from the book's own static files, never from a CDN, so a built page works with
no network. At ``config-inited`` this extension

1. makes sure the npm tarballs pinned in :data:`PACKAGES` are in the cache folder
   (``.vendor-cache/`` in the book, or ``$BOOK_VENDOR_CACHE``): a tarball is downloaded
   from the npm registry only if it is missing, and is accepted only if its sha512
   equals both the pinned value and the registry's ``dist.integrity`` (rebuilds need no
   network);
2. unpacks the files the book needs, with each package's licence, into a staging folder
   that Sphinx copies to ``_build/html/_static/npm/<name>-<version>/``;
3. points Sphinx at them: ``mathjax_path`` (+ ``mathjax_options``), ``html_static_path``
   and myst-nb's ``nb_ipywidgets_js`` (with ``static/offline-widgets.js``, the glue
   between the widgets manager, these files and MathJax 3). With ``book_html_sri: true``
   (in ``sphinx: config:``) the scripts also get ``integrity`` attributes computed from
   the staged files, so they always match; it is off by default because browsers then
   refuse to run them from ``file://`` pages (no CORS there), and same-site hashes add
   no protection the HTML itself lacks.

If a tarball is needed and the registry cannot be reached, the build stops with an error
that says so; it never falls back to a CDN. To update a package, change its version and
integrity below (``npm view <name>@<version> dist.integrity``).

**No console errors.** It also removes two errors every page logged: a Sphinx 7 bug that
writes inline scripts added after ``builder-inited`` twice (sphinx-thebe's ``const
THEBE_JS_URL`` then throws "Identifier 'THEBE_JS_URL' has already been declared"; see
:func:`_normalise_inline_scripts`), and pydata-sphinx-theme's "Got invalid theme mode"
when no ``default_mode`` is configured (set to its documented ``"auto"``, which is what
the theme falls back to anyway).
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import json
import os
import re
import shutil
import tarfile
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
REGISTRY = "https://registry.npmjs.org"
STATIC_PREFIX = "npm"  # the packages land in _static/npm/<name>-<version>/
WIDGETS_GLUE_JS = "offline-widgets.js"  # in book_ext/static/


@dataclass(frozen=True)
class Package:
    """One npm package: what to fetch, how to check it, which files the book serves."""

    name: str
    version: str
    integrity: str  # the registry's dist.integrity (sha512 of the tarball), pinned here
    files: tuple[
        str, ...
    ]  # glob patterns relative to the package root ("package/" in the tarball)
    licence: tuple[str, ...] = ()  # licence files in the tarball, or ...
    licence_fallback: str = (
        ""  # ... a file in book_ext/licenses/ for packages that ship none
    )

    @property
    def folder(self) -> str:
        return f"{self.name.rsplit('/', 1)[-1]}-{self.version}"

    @property
    def tarball_name(self) -> str:
        return f"{self.name.replace('@', '').replace('/', '-')}-{self.version}.tgz"


PACKAGES = (
    Package(
        "mathjax",
        "3.2.2",
        "sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw==",
        # the combined TeX + CommonHTML component, plus everything it may load later:
        # TeX extensions (autoload), fonts, the other output renderer and the
        # accessibility/speech parts the reader can switch on in its menu
        files=(
            "es5/tex-chtml.js",
            "es5/input/**",
            "es5/output/**",
            "es5/ui/**",
            "es5/a11y/**",
            "es5/sre/**",
        ),
        licence=("LICENSE",),
    ),
    Package(
        "requirejs",
        "2.3.8",
        "sha512-7/cTSLOdYkNBNJcDMWf+luFvMriVm7eYxp4BcFCsAX0wF421Vyce5SXP17c+Jd5otXKGNehIonFlyQXSowL6Mw==",
        files=("require.js",),
        # the tarball has none; require.js's header says MIT
        licence_fallback="requirejs-LICENSE.txt",
    ),
    Package(
        "@jupyter-widgets/html-manager",
        "1.0.15",
        "sha512-5thBIV6ymNgmPVOHvzx+gGy8ZSKmSazhtGw4/c4xJDVzRhG9PTeQsRjF3FUTopvFi//SABeNz1yp47bCrJ3CQA==",
        # embed-amd.js defines every module it needs (base, controls, html-manager); the
        # rest are its icon fonts
        files=(
            "dist/embed-amd.js",
            "dist/*.woff2",
            "dist/*.woff",
            "dist/*.ttf",
            "dist/*.eot",
            "dist/*.svg",
        ),
        licence=(
            "dist/embed.js.LICENSE.txt",
        ),  # notices of the libraries bundled in it
        # ipywidgets' BSD-3-Clause (package.json: "BSD-3-Clause")
        licence_fallback="html-manager-LICENSE.txt",
    ),
)
MATHJAX, REQUIREJS, HTML_MANAGER = PACKAGES


# --- hashes ---------------------------------------------------------------------------


def sri(data: bytes, algorithm: str = "sha384") -> str:
    """A Subresource Integrity value ("sha384-<base64>") of ``data``."""
    digest = hashlib.new(algorithm, data).digest()
    return f"{algorithm}-{base64.b64encode(digest).decode()}"


def file_sri(path: Path, algorithm: str = "sha384") -> str:
    return sri(Path(path).read_bytes(), algorithm)


# --- fetching -------------------------------------------------------------------------


def cache_dir(srcdir: Path) -> Path:
    return Path(
        os.environ.get("BOOK_VENDOR_CACHE") or Path(srcdir) / ".vendor-cache"
    ).resolve()


def registry_url() -> str:
    return (
        os.environ.get("npm_config_registry")
        or os.environ.get("NPM_CONFIG_REGISTRY")
        or REGISTRY
    ).rstrip("/")


def _get(url: str, timeout: float = 60.0, attempts: int = 3) -> bytes:
    for attempt in range(1, attempts + 1):
        try:
            with urllib.request.urlopen(
                urllib.request.Request(url, headers={"User-Agent": "book-html-assets"}),
                timeout=timeout,
            ) as response:
                return response.read()
        except (urllib.error.URLError, OSError) as exc:
            if attempt == attempts:
                raise
            logger.info(f"[book_html] {url}: {exc}; retrying")
            time.sleep(attempt)
    raise AssertionError("unreachable")


def fetch(pkg: Package, cache: Path) -> Path:
    """Return the path of ``pkg``'s verified tarball in ``cache``, downloading it only
    if it is not there yet."""
    path = cache / pkg.tarball_name
    if path.exists() and sri(path.read_bytes(), "sha512") == pkg.integrity:
        return path
    registry = registry_url()
    meta_url = f"{registry}/{urllib.parse.quote(pkg.name, safe='@')}/{pkg.version}"
    logger.info(f"[book_html] fetching {pkg.name}@{pkg.version} from {registry}")
    try:
        meta = json.loads(_get(meta_url))
        dist = meta["dist"]
        if dist.get("integrity") != pkg.integrity:
            raise ExtensionError(
                "[book_html] the npm registry reports integrity "
                f"{dist.get('integrity')!r} for {pkg.name}@{pkg.version}, but "
                f"book_ext/book_html.py pins {pkg.integrity!r}; not using it"
            )
        data = _get(dist["tarball"])
    except (urllib.error.URLError, OSError, ValueError, KeyError) as exc:
        raise ExtensionError(
            f"[book_html] cannot download {pkg.name}@{pkg.version} from the npm "
            f"registry ({meta_url}): {exc}.\nThe book serves MathJax, RequireJS and "
            "the Jupyter widgets manager from its own files and needs the registry "
            f"once to fetch them into {cache} (later builds work offline). Connect to "
            "the network, point npm_config_registry at a mirror, or put the tarball "
            f"{path.name} ({pkg.integrity}) there."
        ) from exc
    got = sri(data, "sha512")
    if got != pkg.integrity:
        raise ExtensionError(
            f"[book_html] {pkg.name}@{pkg.version}: downloaded tarball has {got}, "
            f"expected {pkg.integrity}; not using it"
        )
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=cache, delete=False, suffix=".part") as tmp:
        tmp.write(data)
    os.replace(tmp.name, path)  # atomic: concurrent builds never see half a tarball
    return path


# --- staging --------------------------------------------------------------------------


def _wanted(relpath: str, patterns) -> bool:
    return any(
        fnmatch.fnmatchcase(relpath, p) for p in patterns
    )  # fnmatch's * also matches "/"


def _unpack(pkg: Package, tarball: Path, dest: Path) -> None:
    """Copy the files the book serves (and the licence) from ``tarball`` to ``dest``."""
    found, licences = set(), []
    with tarfile.open(tarball, "r:gz") as tar:
        for member in tar.getmembers():
            if not member.isfile():
                continue
            rel = member.name.split("/", 1)[
                1
            ]  # strip the tarball's top folder ("package/")
            if ".." in Path(rel).parts:
                raise ExtensionError(
                    f"[book_html] {pkg.name}: unsafe path {member.name!r} in the "
                    "tarball"
                )
            is_licence = rel in pkg.licence
            if not (is_licence or _wanted(rel, pkg.files)):
                continue
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(tar.extractfile(member).read())
            found.update(p for p in pkg.files if _wanted(rel, (p,)))
            if is_licence:
                licences.append(rel)
    missing = sorted(set(pkg.files) - found)
    if missing:
        raise ExtensionError(
            f"[book_html] {pkg.name}@{pkg.version}: nothing in the tarball matches "
            f"{missing}"
        )
    if pkg.licence_fallback:
        shutil.copyfile(HERE / "licenses" / pkg.licence_fallback, dest / "LICENSE.txt")
        licences.append("LICENSE.txt")
    if not licences:
        raise ExtensionError(
            f"[book_html] {pkg.name}@{pkg.version}: no licence file to ship"
        )
    (dest / "PROVENANCE.json").write_text(
        json.dumps(
            {
                "name": pkg.name,
                "version": pkg.version,
                "integrity": pkg.integrity,
                "source": f"{REGISTRY}/{pkg.name}/{pkg.version} (dist.tarball)",
                "licence_files": licences,
            },
            indent=2,
        )
        + "\n"
    )


def stage(cache: Path) -> Path:
    """Return a folder holding ``npm/<name>-<version>/...`` for every package, unpacking
    it if needed."""
    key = hashlib.sha256(
        Path(__file__).read_bytes()  # PACKAGES and the unpacking code
        + b"".join(
            (HERE / "licenses" / p.licence_fallback).read_bytes()
            for p in PACKAGES
            if p.licence_fallback
        )
    ).hexdigest()[:16]
    site = cache / f"static-{key}"
    if (site / ".complete").exists():
        return site
    tarballs = {pkg: fetch(pkg, cache) for pkg in PACKAGES}
    tmp = Path(tempfile.mkdtemp(prefix=".static-", dir=cache))
    for pkg, tarball in tarballs.items():
        _unpack(pkg, tarball, tmp / STATIC_PREFIX / pkg.folder)
    (tmp / ".complete").write_text(key + "\n")
    tmp.chmod(0o755)
    try:
        os.replace(tmp, site)
    except OSError:  # another build staged the same folder meanwhile
        shutil.rmtree(tmp, ignore_errors=True)
    for old in cache.glob("static-*"):  # earlier versions
        if old != site:
            shutil.rmtree(old, ignore_errors=True)
    return site


def served(site: Path, pkg: Package, relpath: str) -> tuple[str, Path]:
    """(path relative to _static, file on disk) of one file of ``pkg``."""
    rel = f"{STATIC_PREFIX}/{pkg.folder}/{relpath}"
    return rel, site / rel


# --- Sphinx ---------------------------------------------------------------------------


def configure(app, config) -> None:
    """config-inited: fetch and stage the assets, then point MathJax and the widgets
    manager at them."""
    site = stage(cache_dir(Path(app.srcdir)))
    config.html_static_path = [
        *config.html_static_path,
        str(site),
        str(HERE / "static"),
    ]

    def attrs(path: Path, **extra) -> dict:
        # Subresource Integrity only if asked for: browsers refuse integrity-checked
        # scripts on file:// pages (no CORS there), so with it the book works only when
        # served over http(s).
        return (
            {"integrity": file_sri(path), "crossorigin": "anonymous", **extra}
            if config.book_html_sri
            else extra
        )

    mathjax, mathjax_file = served(site, MATHJAX, "es5/tex-chtml.js")
    config.mathjax_path = mathjax
    config.mathjax_options = {**config.mathjax_options, **attrs(mathjax_file)}

    require, require_file = served(site, REQUIREJS, "require.js")
    embed, embed_file = served(site, HTML_MANAGER, "dist/embed-amd.js")
    modules = re.findall(
        r'^define\("([^"]+)"', embed_file.read_text(encoding="utf-8"), re.M
    )  # AMD modules in it
    # order matters: RequireJS, then the glue (where the manager's fonts are; MathJax
    # 3), then the manager
    config.nb_ipywidgets_js = {
        require: attrs(require_file),
        WIDGETS_GLUE_JS: attrs(
            HERE / "static" / WIDGETS_GLUE_JS,
            **{
                "data-assets": embed.rsplit("/", 1)[0] + "/",
                "data-modules": json.dumps(modules),
            },
        ),
        embed: attrs(embed_file),
    }

    # pydata-sphinx-theme logs "Got invalid theme mode: ." on every page unless
    # default_mode is set
    config.html_context = {"default_mode": "auto", **config.html_context}


def _normalise_inline_scripts(app) -> None:
    """builder-inited: give inline scripts one spelling of "no file" so Sphinx writes
    each of them once.

    Sphinx 7 hands a script added with ``app.add_js_file(None, body=...)`` to the
    builder as filename ``None`` and, when it writes the pages, adds it again from its
    registry as filename ``""``; the two do not compare equal, so the page gets the
    script twice. For sphinx-thebe's ``const THEBE_JS_URL = ...`` that is a SyntaxError
    in every page. Fixed upstream in Sphinx 8 (sphinx-doc/sphinx#13402, "replace None
    filename with '' before passing to HTML builder"), which Jupyter Book 1 (Sphinx 7)
    cannot use; this applies the same change to this build's builder.
    """
    builder = app.builder
    original = getattr(builder, "add_js_file", None)
    if original is None or getattr(original, "_book_normalised", False):
        return

    def add_js_file(filename, **kwargs):
        return original(filename or "", **kwargs)

    add_js_file._book_normalised = True
    builder.add_js_file = add_js_file


def setup(app):
    app.add_config_value(
        "book_html_sri", False, "html", bool
    )  # integrity attributes on the vendored scripts
    app.connect(
        "config-inited", configure, priority=400
    )  # before myst-nb and Sphinx validate these settings
    app.connect(
        "builder-inited", _normalise_inline_scripts, priority=0
    )  # before extensions add inline scripts
    app.add_css_file("book.css")  # static/book.css: the code column (88 characters)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
