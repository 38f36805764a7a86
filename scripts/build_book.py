"""Build the HTML book (called by `make book` and by the strict build test).

Jupyter-cache keys executed notebooks on their cell sources only, so a change in `src/bookcode` (or in the
requirements) would otherwise leave stale outputs in the book. This script stamps the build with a hash of those
files; when the hash changes it clears the execution cache and makes Sphinx re-read every page.

Usage: python scripts/build_book.py [--out DIR] [--force] [--no-strict] [--live-widgets]
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
# Files whose change must re-execute every chapter (the notebooks themselves are tracked by jupyter-cache).
STAMPED = ["src/bookcode/**/*.py", "requirements.txt", "pyproject.toml", "_config.yml"]


def code_hash(root: Path) -> str:
    h = hashlib.sha256()
    for pattern in STAMPED:
        for path in sorted(root.glob(pattern)):
            h.update(str(path.relative_to(root)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(ROOT), help="output root; the HTML goes to OUT/_build/html (default: the repo)")
    ap.add_argument("--force", action="store_true", help="re-execute every notebook and re-read every page")
    ap.add_argument("--no-strict", action="store_true", help="do not turn Sphinx warnings into errors")
    ap.add_argument("--live-widgets", action="store_true",
                    help="build explorers in live mode (no precomputed frames; sliders need a kernel)")
    args = ap.parse_args(argv)

    out = Path(args.out).resolve()
    build = out / "_build"
    stamp = build / ".bookcode-stamp"
    digest = code_hash(ROOT)
    stale = args.force or not stamp.exists() or stamp.read_text().strip() != digest
    if stale and (build / ".jupyter_cache").exists():
        print("bookcode, requirements or config changed: clearing the execution cache", flush=True)
        shutil.rmtree(build / ".jupyter_cache")

    cmd = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(ROOT), "--path-output", str(out), "--builder", "html"]
    if not args.no_strict:
        cmd += ["-W", "--keep-going"]
    if stale:
        cmd += ["--all"]
    env = dict(os.environ)
    env["BOOKCODE_STATIC"] = "0" if args.live_widgets else "1"
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    # The chapters multiply small matrices: one BLAS thread is faster than several, and timings stay stable.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(var, "1")
    env.pop("MPLBACKEND", None)  # the kernels must use the inline backend, or glued figures become text
    print("$", " ".join(cmd), flush=True)
    t0 = time.perf_counter()
    rc = subprocess.call(cmd, cwd=ROOT, env=env)
    print(f"build finished in {time.perf_counter() - t0:.1f} s with exit code {rc}", flush=True)
    if rc == 0:
        build.mkdir(parents=True, exist_ok=True)
        stamp.write_text(digest + "\n")
        print(f"open {build / 'html' / 'index.html'}")
    elif stamp.exists():
        stamp.unlink()  # a failed build must not be mistaken for an up-to-date one
    return rc


if __name__ == "__main__":
    sys.exit(main())
