"""Build the student HTML book: the book as rendered from the student edition (no
solutions anywhere).

It copies the book's sources (config, table of contents, pages, bibliography, Sphinx
extension) to a temporary folder, puts the student edition of every chapter
(scripts/student_edition.py) in place of chapters/, and builds that copy strictly,
executing every chapter. So the HTML shows exactly what a learner's notebook shows: the
exercises, the stubs `raise NotImplementedError()` and the checker cells, whose output
says "not attempted yet". The solution directives and the solution code are not hidden
in the page, they are not in it. The sources are not touched, and the main build's cache
is not used (a full build takes a few minutes).

The copy's configuration differs in three places: the title says "student edition",
`hide_solutions` is on (a second safety net), and the Binder/JupyterHub launch buttons
are removed, since they would open the chapters with solutions from the book's
repository. With --repository-url they point at that repository instead (a class
repository holding the student notebooks in chapters/).

Usage: python scripts/build_student_book.py [--out _build/student-html]
[--repository-url URL] [--branch main]
       [--no-strict] [--jobs N] [--executed DIR] [--keep-tree]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import build_book  # noqa: E402  (scripts next to this one)
import student_edition  # noqa: E402

ROOT = student_edition.ROOT
STAMP = (
    ".student-html"  # marks a folder this script wrote; only such a folder is replaced
)
NOT_COPIED = {
    ".git",
    ".venv",
    "_build",
    ".vendor-cache",
    "student",
    "tests",
    "src",
    "scripts",
    "chapters",
    ".pytest_cache",
    ".ipynb_checkpoints",
    "__pycache__",
    ".ci",
}


def make_tree(dest: Path, repository_url=None, branch=None):
    """Copy the book to ``dest`` with the student edition as chapters/; returns the
    chapter reports."""
    shutil.copytree(
        ROOT,
        dest,
        ignore=lambda d, names: [
            n for n in names if n in NOT_COPIED or n.endswith(".egg-info")
        ],
    )
    reports = student_edition.write_student_edition(
        ROOT / "chapters", dest / "chapters"
    )
    for extra in ("README.md", student_edition.STAMP):
        (dest / "chapters" / extra).unlink()
    config_path = dest / "_config.yml"
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    config["title"] = f"{config.get('title', 'The book')} — student edition"
    config.setdefault("sphinx", {}).setdefault("config", {})["hide_solutions"] = True
    if repository_url:
        config.setdefault("repository", {})["url"] = repository_url
        if branch:
            config["repository"]["branch"] = branch
    else:
        launch = config.setdefault("launch_buttons", {})
        launch["binderhub_url"] = launch["jupyterhub_url"] = ""
        launch["colab_url"] = ""
    config_path.write_text(
        yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8"
    )
    return reports


def copy_executed(tree: Path, dest: Path):
    """Write the executed student notebooks, with their outputs, from the build's
    execution cache into ``dest``."""
    import nbformat
    from jupyter_cache import get_cache

    cache = get_cache(str(tree / "_build" / ".jupyter_cache"))
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for path in sorted((tree / "chapters").glob("*.ipynb")):
        record = cache.match_cache_notebook(nbformat.read(path, as_version=4))
        nbformat.write(cache.get_cache_bundle(record.pk).nb, dest / path.name)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--out",
        default=str(ROOT / "_build" / "student-html"),
        help="where the HTML goes (default: _build/student-html); replaced if this "
        "script wrote it",
    )
    ap.add_argument(
        "--repository-url",
        help="repository for the launch buttons (default: no launch buttons)",
    )
    ap.add_argument("--branch", help="branch of --repository-url")
    ap.add_argument(
        "--no-strict",
        action="store_true",
        help="do not turn Sphinx warnings into errors",
    )
    ap.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="chapters executed in parallel",
    )
    ap.add_argument(
        "--executed", help="also copy the executed student notebooks into this folder"
    )
    ap.add_argument(
        "--keep-tree",
        action="store_true",
        help="keep the temporary source tree (for debugging)",
    )
    args = ap.parse_args(argv)

    out = Path(args.out).resolve()
    if out.exists() and any(out.iterdir()) and not (out / STAMP).exists():
        print(
            f"error: {out} exists and was not written by this script; remove it or "
            "choose --out",
            file=sys.stderr,
        )
        return 1
    tree = Path(tempfile.mkdtemp(prefix="student-book-")) / "book"
    try:
        reports = make_tree(tree, args.repository_url, args.branch)
    except student_edition.StudentEditionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        shutil.rmtree(tree.parent)
        return 1
    for report in reports:
        print(report)

    env = build_book.build_env(static=True)
    env.setdefault(
        "BOOK_VENDOR_CACHE", str(ROOT / ".vendor-cache")
    )  # the main build's vendored JS, no refetch
    rc = build_book.jupyter_book_build(
        tree, tree, strict=not args.no_strict, jobs=args.jobs, env=env
    )
    if rc == 0 and args.executed:
        copy_executed(tree, Path(args.executed).resolve())
    if rc == 0:
        if out.exists():
            shutil.rmtree(out)
        shutil.copytree(tree / "_build" / "html", out)
        (out / STAMP).write_text("written by scripts/build_student_book.py\n")
        print(f"open {out / 'index.html'}")
    if args.keep_tree:
        print(f"source tree kept in {tree}")
    else:
        shutil.rmtree(tree.parent)
    return rc


if __name__ == "__main__":
    sys.exit(main())
