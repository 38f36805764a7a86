"""Build the HTML book (called by `make book` and by the strict build test).

Jupyter-cache keys executed notebooks on their cell sources only, so a change in
`src/bookcode` (or in the requirements) would otherwise leave stale outputs in the book.
This script stamps the build with a hash of those files; when the hash changes it clears
the execution cache and makes Sphinx re-read every page.

Before Sphinx runs, the chapters that are not in the execution cache are executed in
parallel (one process per core, `--jobs`) and stored in the cache, where myst-nb finds
them; Sphinx itself would run them one after another. A chapter that fails here is left
out of the cache, so the build runs it again and reports the error as usual.

Usage: python scripts/build_book.py [--out DIR] [--force] [--no-strict] [--live-widgets]
[--jobs N]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Files whose change must re-execute every chapter (the notebooks themselves are tracked
# by jupyter-cache).
STAMPED = [
    "src/bookcode/**/*.py",
    "requirements-test.txt",
    "pyproject.toml",
    "_config.yml",
]
# Environment variables that change what the chapters compute (a build with other seeds
# re-executes them).
STAMPED_ENV = ["BOOKCODE_SEED_OFFSET"]


def code_hash(root: Path) -> str:
    h = hashlib.sha256()
    for pattern in STAMPED:
        for path in sorted(root.glob(pattern)):
            h.update(str(path.relative_to(root)).encode())
            h.update(path.read_bytes())
    for var in STAMPED_ENV:
        h.update(f"{var}={os.environ.get(var, '')}".encode())
    return h.hexdigest()


def _execute(path: Path, timeout: int):
    """Execute one chapter in a fresh kernel (run in a worker process); returns (path,
    notebook, seconds, error)."""
    import nbformat
    from jupyter_cache.executors.utils import single_nb_execution

    nb = nbformat.read(path, as_version=4)
    result = single_nb_execution(
        nb,
        cwd=str(path.parent),
        timeout=timeout,
        allow_errors=False,
        meta_override=True,
    )
    return (
        path,
        nb,
        result.time,
        None if result.err is None else f"{type(result.err).__name__}: {result.err}",
    )


def preexecute(chapters: Path, cache_dir: Path, jobs: int) -> None:
    """Execute the chapters missing from the jupyter-cache at ``cache_dir`` in parallel
    and add them to it."""
    from concurrent.futures import ProcessPoolExecutor

    import nbformat
    import yaml
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    timeout = int(config.get("execute", {}).get("timeout", 30))
    cache = get_cache(str(cache_dir))
    todo = []
    for path in sorted(chapters.glob("*.ipynb")):
        try:
            cache.match_cache_notebook(nbformat.read(path, as_version=4))
        except KeyError:
            todo.append(path)
    if not todo or jobs < 2:
        return
    print(
        f"executing {len(todo)} chapter(s) in {min(jobs, len(todo))} processes",
        flush=True,
    )
    t0 = time.perf_counter()
    with ProcessPoolExecutor(min(jobs, len(todo))) as pool:
        for path, nb, seconds, error in pool.map(_execute, todo, [timeout] * len(todo)):
            if error:
                last = [line for line in error.splitlines() if line.strip()][-1][:300]
                print(
                    f"  {path.name}: failed ({last}); the build will run it again and "
                    "report it",
                    flush=True,
                )
                continue
            cache.cache_notebook_bundle(
                CacheBundleIn(nb, str(path), data={"execution_seconds": seconds}),
                check_validity=False,
                overwrite=True,
            )
            print(f"  {path.name}: {seconds:.1f} s", flush=True)
    print(f"executed in {time.perf_counter() - t0:.1f} s", flush=True)


def build_env(static: bool = True) -> dict:
    """The environment the chapters run in while the book is built."""
    env = dict(os.environ)
    env["BOOKCODE_STATIC"] = "1" if static else "0"
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    # The chapters multiply small matrices: one BLAS thread is faster than several, and
    # timings stay stable.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(var, "1")
    env.pop(
        "MPLBACKEND", None
    )  # the kernels must use the inline backend, or figures become text
    return env


def jupyter_book_build(
    source: Path,
    out: Path,
    *,
    strict=True,
    static=True,
    all_pages=True,
    jobs=1,
    env=None,
) -> int:
    """Execute the chapters of ``source`` missing from the cache (in parallel), then run
    ``jupyter-book build``.

    The HTML goes to ``out/_build/html``; returns the exit code. Also used by
    scripts/build_student_book.py.
    """
    env = build_env(static) if env is None else env
    cmd = [
        str(Path(sys.executable).with_name("jupyter-book")),
        "build",
        str(source),
        "--path-output",
        str(out),
        "--builder",
        "html",
    ]
    if strict:
        cmd += ["-W", "--keep-going"]
    if all_pages:
        cmd += ["--all"]
    t0 = time.perf_counter()
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)  # the kernels started by preexecute inherit it
    try:
        preexecute(source / "chapters", out / "_build" / ".jupyter_cache", jobs)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    print("$", " ".join(cmd), flush=True)
    rc = subprocess.call(cmd, cwd=source, env=env)
    print(
        f"build finished in {time.perf_counter() - t0:.1f} s with exit code {rc}",
        flush=True,
    )
    return rc


def vendored_assets_ready() -> bool:
    """Fetch (or find in the cache) the vendored browser assets before any chapter runs,
    so that a machine with neither the npm registry nor the cache learns it in a second,
    not after every chapter has been executed."""
    sys.path.insert(0, str(ROOT / "book_ext"))
    try:
        import book_html
        from sphinx.errors import ExtensionError

        try:
            book_html.stage(book_html.cache_dir(ROOT))
        except ExtensionError as exc:
            print(exc, file=sys.stderr, flush=True)
            return False
        return True
    finally:
        sys.path.remove(str(ROOT / "book_ext"))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--out",
        default=str(ROOT),
        help="output root; the HTML goes to OUT/_build/html (default: the repo)",
    )
    ap.add_argument(
        "--force",
        action="store_true",
        help="re-execute every notebook and re-read every page",
    )
    ap.add_argument(
        "--no-strict",
        action="store_true",
        help="do not turn Sphinx warnings into errors",
    )
    ap.add_argument(
        "--live-widgets",
        action="store_true",
        help="build explorers in live mode (no precomputed frames; sliders need a "
        "kernel)",
    )
    ap.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="chapters executed in parallel before Sphinx runs (default: the number of "
        "cores)",
    )
    args = ap.parse_args(argv)

    out = Path(args.out).resolve()
    build = out / "_build"
    stamp = build / ".bookcode-stamp"
    digest = code_hash(ROOT)
    stale = args.force or not stamp.exists() or stamp.read_text().strip() != digest
    if stale and (build / ".jupyter_cache").exists():
        print(
            "bookcode, requirements or config changed: clearing the execution cache",
            flush=True,
        )
        shutil.rmtree(build / ".jupyter_cache")

    if not vendored_assets_ready():
        return 2
    rc = jupyter_book_build(
        ROOT,
        out,
        strict=not args.no_strict,
        static=not args.live_widgets,
        all_pages=stale,
        jobs=args.jobs,
    )
    if rc == 0:
        build.mkdir(parents=True, exist_ok=True)
        stamp.write_text(digest + "\n")
        print(f"open {build / 'html' / 'index.html'}")
    elif stamp.exists():
        stamp.unlink()  # a failed build must not be mistaken for an up-to-date one
    return rc


if __name__ == "__main__":
    sys.exit(main())
