"""Slow: what Binder (repo2docker) does with this repository, as far as it can be done
on this machine.

A copy of the repository (the files git would give a clone, plus new untracked ones), a
fresh virtual environment, ``pip install -r requirements.txt``, then ``pip install .``
(not editable, as repo2docker does), then chapter 1 executed by nbclient from that
environment, with ``chapters/`` as the working directory, as the Binder launch button
opens it. The kernel must import ``bookcode`` from that environment's site-packages, not
from a source tree.
"""

import json
import os
import shutil
import subprocess
import sys

import pytest
from _book import ROOT

pytestmark = pytest.mark.slow
CHAPTER = "01_gradient_descent.ipynb"
IGNORED = {
    ".git",
    ".venv",
    "_build",
    ".vendor-cache",
    ".pytest_cache",
    "__pycache__",
    ".ipynb_checkpoints",
}

RUN_CHAPTER = """
import json, sys
import nbformat
from nbclient import NotebookClient

path = sys.argv[1]
nb = nbformat.read(path, as_version=4)
nb.cells.append(nbformat.v4.new_code_cell(
    "import json, os, sys, bookcode\\n"
    "print(json.dumps({'bookcode': bookcode.__file__, 'prefix': sys.prefix,\\n"
    "                  'cwd': os.getcwd()}))"))
NotebookClient(nb, timeout=600, kernel_name="python3",
               resources={"metadata": {"path": "."}}).execute()
print("KERNEL " + nb.cells[-1].outputs[0]["text"].strip())
"""


def _repository_files():
    """Paths (relative to ROOT) a clone would contain, plus untracked files that are not
    git-ignored."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        files = [f for f in out.split("\0") if f]
    except (OSError, subprocess.CalledProcessError):
        files = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*") if p.is_file()]
    return [
        f for f in files if not IGNORED & set(f.split("/")) and (ROOT / f).is_file()
    ]


def _run(cmd, cwd, env, timeout=1800):
    proc = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, (
        f"{' '.join(map(str, cmd))} "
        f"failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    )
    return proc.stdout


def test_chapter_runs_after_requirements_then_pip_install_dot(tmp_path):
    repo, venv = tmp_path / "repo", tmp_path / "venv"
    for f in _repository_files():
        (repo / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / f, repo / f)
    assert (repo / "chapters" / CHAPTER).exists() and (repo / "pyproject.toml").exists()

    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    env = {
        k: v
        # nothing from this test run may leak into the environment
        for k, v in os.environ.items()
        if k
        not in (
            "PYTHONPATH",
            "PYTHONHOME",
            "VIRTUAL_ENV",
            "BOOKCODE_STATIC",
            "BOOKCODE_PROGRESS",
            "MPLBACKEND",
            "JUPYTER_PATH",
            "JUPYTER_DATA_DIR",
            "JUPYTER_CONFIG_DIR",
        )
    }
    env.update(
        PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        VIRTUAL_ENV=str(venv),
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PYDEVD_DISABLE_FILE_VALIDATION="1",
    )
    _run(
        [python, "-m", "pip", "install", "--quiet", "-r", "requirements.txt"], repo, env
    )
    _run([python, "-m", "pip", "install", "--quiet", "."], repo, env)

    out = _run([python, "-c", RUN_CHAPTER, CHAPTER], repo / "chapters", env)
    kernel = json.loads(out.split("KERNEL ", 1)[1].splitlines()[0])
    site_packages = venv.resolve() / "lib"
    bookcode_file = os.path.realpath(kernel["bookcode"])
    assert os.path.realpath(kernel["prefix"]) == str(venv.resolve()), (
        f"the kernel ran in {kernel['prefix']}"
    )
    assert (
        bookcode_file.startswith(str(site_packages))
        and "site-packages" in bookcode_file
    ), (
        f"bookcode imported from {bookcode_file}, not from the new environment's "
        "site-packages"
    )
    assert os.path.realpath(kernel["cwd"]) == str((repo / "chapters").resolve())
