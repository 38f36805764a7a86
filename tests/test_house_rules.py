"""The book's house rules (STYLE.md), checked on every run."""

import importlib
import inspect
import pkgutil
import re
import subprocess

import pytest
from _book import ROOT, chapter_notebooks, load, toc_files

import bookcode

NOTEBOOKS = chapter_notebooks()


def test_there_are_chapters():
    assert NOTEBOOKS, "no chapter notebooks found in chapters/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_committed_clean(path):
    nb = load(path)
    ks = nb["metadata"].get("kernelspec", {})
    assert ks.get("name") == "python3", (
        f"{path.name}: kernelspec must be python3, got {ks}"
    )
    assert nb["metadata"].get("language_info", {}).get("name", "python") == "python"
    assert "widgets" not in nb["metadata"], (
        f"{path.name}: widget state committed; strip it"
    )
    for i, cell in enumerate(nb["cells"]):
        assert "user_expressions" not in cell.get("metadata", {}), (
            f"{path.name} cell {i}: committed with the values JupyterLab computed for "
            "its {eval} roles (metadata user_expressions); strip them"
        )
        if cell["cell_type"] == "code":
            assert not cell.get("outputs"), (
                f"{path.name} cell {i}: committed with outputs"
            )
            assert cell.get("execution_count") is None, (
                f"{path.name} cell {i}: has an execution count"
            )
            src = "".join(cell["source"])
            assert "sys.path" not in src, (
                f"{path.name} cell {i}: no sys.path hacks; import the installed "
                "bookcode"
            )
            assert not re.search(
                r"np\.random\.(seed|rand|default_rng|Generator|RandomState|PCG64)\b",
                src,
            ), (
                f"{path.name} cell {i}: make generators with bookcode.rng(seed) "
                "(BOOKCODE_SEED_OFFSET shifts it), never numpy's global random state "
                "or np.random.default_rng"
            )


def _caption(cell):
    """The caption of the figure a code cell makes (its ``mystnb.figure`` metadata)."""
    return (
        cell.get("metadata", {}).get("mystnb", {}).get("figure", {}).get("caption", "")
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_chapter_anatomy(path):
    """STYLE.md's anatomy: objectives box, numbered equations, summary, >= 5 exercises,
    an explorer, references."""
    nb = load(path)
    md = "\n".join(
        "".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"
    )
    code = "\n".join(
        "".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"
    )
    assert md.lstrip().startswith("# "), (
        f"{path.name}: first cell must start with the chapter title"
    )
    assert "What you'll learn" in md, (
        f"{path.name}: missing the 'What you'll learn' admonition"
    )
    assert re.search(r"\$\$\s*\([\w:-]+\)", md), (
        f"{path.name}: no numbered equation ($$ ... $$ (label))"
    )
    assert re.search(r"^#+ Summary", md, re.M), f"{path.name}: no Summary section"
    assert len(re.findall(r"```\{exercise\}", md)) >= 5, (
        f"{path.name}: fewer than 5 exercises"
    )
    assert len(re.findall(r"```\{solution\}", md)) >= 5, (
        f"{path.name}: exercises need solutions"
    )
    assert "solution-start" not in md, (
        f"{path.name}: use the plain {{solution}} directive (gated form breaks the "
        "build)"
    )
    assert "explorer(" in code, (
        f"{path.name}: no explorer (bookcode.display.widgets.explorer)"
    )
    assert "{cite" in md, f"{path.name}: no citations"
    # every number the prose (text and figure captions) shows is published by a code
    # cell with say(), once: the HTML reads the value from when say() ran, a live
    # notebook the name's current value, so a name said twice could differ
    prose = "\n".join(
        "".join(c["source"]) if c["cell_type"] == "markdown" else _caption(c)
        for c in nb["cells"]
    )
    used = set(re.findall(r"\{eval\}`(\w+)`", prose))
    said = re.findall(r"""\bsay\(\s*["'](\w+)["']""", code)
    assert used <= set(said), (
        f"{path.name}: prose uses unpublished names {sorted(used - set(said))}"
    )
    twice = sorted({n for n in said if said.count(n) > 1})
    assert not twice, f"{path.name}: names published more than once: {twice}"
    assert not re.search(r"\{glue(:\w+)?\}", prose), (
        f"{path.name}: a glue role (a live notebook cannot show it); use {{eval}}"
    )
    # coding exercises: solution code is marked for the student edition and checked
    assert "### BEGIN SOLUTION" in code and "### END SOLUTION" in code, (
        f"{path.name}: no marked solution code"
    )
    assert code.count("### BEGIN SOLUTION") == code.count("### END SOLUTION")
    assert "bookcode.exercises" in code or "from bookcode.exercises" in code, (
        f"{path.name}: no exercise checker"
    )


def test_toc_and_chapters_agree():
    files = toc_files()
    for f in files:
        matches = list(ROOT.glob(f + ".*"))
        assert matches, f"_toc.yml names {f}, which does not exist"
    listed = {f for f in files if f.startswith("chapters/")}
    present = {f"chapters/{p.stem}" for p in NOTEBOOKS}
    assert present <= listed, (
        f"chapters missing from _toc.yml: {sorted(present - listed)}"
    )


def test_requirements_have_compatible_ranges():
    """The .in files (and pyproject.toml) say what is compatible; the .txt files are
    their exact, hashed locks."""
    for name in ("requirements.in", "requirements-test.in", "requirements-graders.in"):
        for line in (ROOT / name).read_text().splitlines():
            line = line.split("#")[0].strip()
            if not line or line == "-r requirements.in":
                continue
            assert "==" not in line, (
                f"{name}: exact pin {line!r}; use a compatible range (the lock pins)"
            )
            assert ">=" in line and "<" in line.replace("<=", ""), (
                f"{name}: {line!r} needs a lower and an upper bound"
            )
            assert not line.startswith("-e"), (
                f"{name}: no editable installs (Binder runs `pip install .`)"
            )


@pytest.mark.parametrize(
    "lock, source",
    [
        ("requirements.txt", "requirements.in"),
        ("requirements-test.txt", "requirements-test.in"),
        ("requirements-graders.txt", "requirements-graders.in"),
    ],
)
def test_locks_pin_every_package_with_hashes(lock, source):
    text = (ROOT / lock).read_text()
    assert (
        f"uv pip compile --universal --python-version 3.10 --generate-hashes {source}"
        in text
    ), f"{lock} is not the output of `make lock` for {source}"
    entries = re.findall(
        r"^([A-Za-z0-9_.\[\]-]+)(\S*)(.*?)(?=^\S|\Z)", text, re.M | re.S
    )
    packages = [
        (name, pin, rest) for name, pin, rest in entries if not name.startswith("#")
    ]
    assert len(packages) > 50, f"{lock}: only {len(packages)} packages"
    for name, pin, rest in packages:
        assert pin.startswith("==") and "--hash=sha256:" in rest, (
            f"{lock}: {name} is not pinned with a hash"
        )
    direct = {
        re.split(r"[<>=~! \[]", line.split("#")[0].strip())[0].lower()
        for path in ("requirements.in", source)
        for line in (ROOT / path).read_text().splitlines()
        if line.split("#")[0].strip() and not line.startswith("-r")
    }
    locked = {name.lower() for name, _, _ in packages}
    assert direct <= locked, f"{lock} lacks {sorted(direct - locked)}: run `make lock`"


def test_repository_url_in_one_place():
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    if not tracked:
        pytest.skip("not a git checkout")
    url = re.search(
        r"^\s*url:\s*(\S+)", (ROOT / "_config.yml").read_text(), re.M
    ).group(1)
    holders = [
        f
        for f in tracked
        if (ROOT / f).is_file() and url in (ROOT / f).read_text(errors="ignore")
    ]
    assert holders == ["_config.yml"], (
        f"the repository URL must appear only in _config.yml, found in {holders}"
    )


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make book" in readme and "make test" in readme
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test\s*$", ci, re.M), (
        ".ci/run must call the README's test command"
    )


def test_config_needs_no_network():
    cfg = (ROOT / "_config.yml").read_text()
    assert "intersphinx_mapping" not in cfg, (
        "remote intersphinx inventories need the network at build time"
    )
    assert "execute_notebooks: cache" in cfg or "execute_notebooks: force" in cfg
    assert "nb_execution_raise_on_error: true" in cfg


def _public_objects():
    for info in pkgutil.walk_packages(bookcode.__path__, "bookcode."):
        if info.name.rsplit(".", 1)[-1].startswith("_"):
            continue
        mod = importlib.import_module(info.name)
        names = getattr(mod, "__all__", None) or [
            n for n in vars(mod) if not n.startswith("_")
        ]
        for name in names:
            obj = getattr(mod, name)
            if (
                inspect.isfunction(obj) or inspect.isclass(obj)
            ) and obj.__module__ == mod.__name__:
                yield f"{info.name}.{name}", obj


def test_public_docstrings_name_their_chapter():
    missing = [
        name
        for name, obj in _public_objects()
        if not obj.__doc__
        or ("chapters/" not in obj.__doc__ and not inspect.isclass(obj))
    ]
    assert not missing, (
        f"public bookcode functions without a docstring naming their chapter: {missing}"
    )


def test_performance_page_reports_every_chapter():
    """benchmarks/results.md (written by `make bench`, included by performance.md) must
    cover every chapter, so a new chapter cannot land without its measured execution
    time, memory and explorer latency."""
    results = ROOT / "benchmarks" / "results.md"
    assert results.exists(), "benchmarks/results.md is missing: run `make bench`"
    text = results.read_text(encoding="utf-8")
    assert "{include} benchmarks/results.md" in (ROOT / "performance.md").read_text(
        encoding="utf-8"
    )
    rows = {
        line.split("|")[1].strip()
        for line in text.splitlines()
        if line.startswith("| ")
    }
    missing = [p.stem for p in NOTEBOOKS if p.stem not in rows]
    assert not missing, (
        f"benchmarks/results.md has no row for {missing}: re-run `make bench`"
    )
    explorers = {
        line.split("|")[1].strip().split(" #")[0]
        for line in text.splitlines()
        if " #" in line
    }
    assert not [p.stem for p in NOTEBOOKS if p.stem not in explorers], (
        "an explorer latency row is missing"
    )
