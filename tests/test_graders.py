"""nbgrader and Otter-Grader, end to end: the assignment made from the book's markers, a
right and a wrong submission, graded by the real tools.

The tools run in their own environment, .venv/graders (`make graders`, which `make test`
runs first: nbgrader, Otter-Grader, myst-nb and bookcode from requirements-graders.txt).
`make test` sets BOOK_GRADERS to it: then a missing environment fails these tests;
without BOOK_GRADERS they use .venv/graders if it is there and skip if not.

To keep the grading fast, the end-to-end tests grade one chapter (01_gradient_descent,
two coding exercises) cut down to what its coding exercises need to run: every markdown
cell, the solution and checker cells, and the code cells they depend on (its imports).
The notebook tests run every chapter in full; here each run takes seconds, not half a
minute. The commands are those of instructors.md, "Grading with the checkers".
"""

import csv
import json
import os
import re
import shutil
import subprocess
import symtable
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import student_edition as se  # noqa: E402

CHAPTER = ROOT / "chapters" / "01_gradient_descent.ipynb"
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
CHECKER = re.compile(r"^\s*(?:\w+\.)*check_(\w+)\(", re.M)
# The commands of instructors.md, "Grading with the checkers", as these tests run them.
GENERATE = ["nbgrader", "generate_assignment", "ch01"]
AUTOGRADE = ["nbgrader", "autograde", "ch01"]
EXPORT = ["nbgrader", "export"]
ASSIGN = ["otter", "assign", CHAPTER.name, "dist"]
RUN = [
    "otter",
    "run",
    "-a",
    "dist/autograder/01_gradient_descent-autograder_*.zip",
    "-o",
    "results",
]


# --- the grading environment ----------------------------------------------------------


@pytest.fixture(scope="module")
def graders(tmp_path_factory):
    """Environment variables that put the grading environment first on PATH (nbgrader
    calls `alembic` from it) and keep the user's Jupyter kernels and configuration out
    (the kernel "python3" is the environment's own)."""
    configured = os.environ.get("BOOK_GRADERS")
    env = Path(configured).resolve() if configured else ROOT / ".venv" / "graders"
    if not (env / ".installed").exists() or not (env / "bin" / "python").exists():
        if configured:
            pytest.fail(
                f"BOOK_GRADERS={configured}, but there is no grading environment "
                "there: run `make graders`"
            )
        pytest.skip(
            "no grading environment in .venv/graders: `make graders` makes it (make "
            "test does)"
        )
    home = tmp_path_factory.mktemp("jupyter")
    variables = {
        k: v
        for k, v in os.environ.items()
        if k not in ("JUPYTER_PATH", "PYTHONPATH", "PYTHONHOME")
    }
    variables.update(
        PATH=f"{env / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        VIRTUAL_ENV=str(env),
        JUPYTER_DATA_DIR=str(home / "data"),
        JUPYTER_CONFIG_DIR=str(home / "config"),
    )
    return variables


def _run(args, cwd, env, timeout=600):
    """Run a command of the grading environment (``args[0]``: ``nbgrader``, ``otter``,
    ``python``)."""
    args = [str(Path(env["VIRTUAL_ENV"]) / "bin" / args[0]), *args[1:]]
    proc = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, (
        f"{' '.join(map(str, args))} "
        f"failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    )
    return proc


# --- the chapter, its answers and the submissions -------------------------------------


def _free_and_bound(source):
    """(global names a code cell reads, names it binds at the top level), from Python's
    symbol tables."""
    try:
        table = symtable.symtable(se.MAGIC.sub(r"\1pass", source), "cell", "exec")
    except SyntaxError:
        return set(), set()
    read = set()

    def walk(t):
        for s in t.get_symbols():
            if s.is_referenced() if t.get_type() == "module" else s.is_global():
                read.add(s.get_name())
        for child in t.get_children():
            walk(child)

    walk(table)
    return read, {
        s.get_name()
        for s in table.get_symbols()
        if s.is_assigned() or s.is_imported() or s.is_namespace()
    }


def exercises_only(nb):
    """``nb`` with only the code cells its coding exercises need: the solution and
    checker cells, and the cells that bind a name they (or a kept cell) read,
    transitively. Markdown cells stay."""
    kept, needed = [], set()
    for cell in reversed(nb.cells):
        if cell.cell_type == "code":
            read, bound = _free_and_bound(cell.source)
            if not (
                BEGIN in cell.source or CHECKER.match(cell.source) or bound & needed
            ):
                continue
            needed |= read
        kept.append(cell)
    nb.cells = kept[::-1]
    return nb


@pytest.fixture(scope="module")
def chapter(tmp_path_factory):
    """(folder with the cut-down chapter, the cut-down source notebook)."""
    folder = tmp_path_factory.mktemp("chapter") / "chapters"
    folder.mkdir()
    nb = exercises_only(nbformat.read(CHAPTER, as_version=4))
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert (
        sum(BEGIN in s for s in code) == 2
        and len(CHECKER.findall("\n".join(code))) == 2
    ), (
        "the end-to-end tests expect two coding exercises in "
        "chapters/01_gradient_descent"
    )
    assert any("import bookcode.exercises.ch01 as ex" in s for s in code), (
        "the cut lost the chapter's imports"
    )
    nbformat.write(nb, folder / CHAPTER.name)
    return folder, nb


def answers(nb, *, wrong_first=False):
    """The code of each solution cell of source notebook ``nb`` without its markers, as
    a learner would write it.

    With ``wrong_first``, the first exercise has a sign error: the first subtraction in
    its marked block becomes an addition (in 01_gradient_descent, the step goes
    uphill).
    """
    out = []
    for cell in (c for c in nb.cells if c.cell_type == "code" and BEGIN in c.source):
        lines, inside, mutated = [], False, not (wrong_first and not out)
        for line in cell.source.split("\n"):
            if line.strip() in (BEGIN, END):
                inside = line.strip() == BEGIN
                continue
            if inside and not mutated and " - " in line:
                line, mutated = line.replace(" - ", " + ", 1), True
            lines.append(line)
        assert mutated, (
            "no subtraction in the first solution block to turn into a sign error"
        )
        out.append("\n".join(lines))
    return out


def submit(release, answer_cells, codes):
    """A copy of the released notebook with the learner's code in its answer cells."""
    nb = nbformat.read(release, as_version=4)
    cells = [c for c in nb.cells if answer_cells(c)]
    assert len(cells) == len(codes) and all(
        "raise NotImplementedError()" in c.source for c in cells
    )
    for cell, code in zip(cells, codes):
        cell.source = code
    return nb


def student_stubs(nb):
    """The stubbed cells of the student edition of source notebook ``nb``."""
    student, _ = se.make_student_notebook(nb, CHAPTER.name)
    return [
        c.source
        for c in student.cells
        if c.cell_type == "code" and "raise NotImplementedError()" in c.source
    ]


# --- nbgrader -------------------------------------------------------------------------


@pytest.mark.slow
def test_nbgrader_generate_submit_autograde(chapter, graders, tmp_path):
    folder, source = chapter
    course = tmp_path / "course"
    assert (
        se.main(
            [
                "--nbgrader",
                "--chapters",
                str(folder),
                "--out",
                str(tmp_path / "nbgrader-source"),
            ]
        )
        == 0
    )
    (course / "source" / "ch01").mkdir(parents=True)
    shutil.copy(tmp_path / "nbgrader-source" / CHAPTER.name, course / "source" / "ch01")
    _run(GENERATE, course, graders)
    release = course / "release" / "ch01" / CHAPTER.name

    released = nbformat.read(release, as_version=4)
    ids = [
        c.metadata["nbgrader"]["grade_id"]
        for c in released.cells
        if "nbgrader" in c.metadata
    ]
    assert ids == [
        "gradient_descent",
        "check_gradient_descent",
        "central_difference",
        "check_central_difference",
    ]
    stubs = [
        c.source
        for c in released.cells
        if c.metadata.get("nbgrader", {}).get("solution")
    ]
    assert stubs == student_stubs(source), (
        "nbgrader's ClearSolutions and the student edition differ"
    )
    is_answer = lambda c: c.metadata.get("nbgrader", {}).get("solution", False)
    for student, nb in [
        ("right", submit(release, is_answer, answers(source))),
        ("wrong", submit(release, is_answer, answers(source, wrong_first=True))),
        ("unchanged", released),
    ]:
        (course / "submitted" / student / "ch01").mkdir(parents=True)
        nbformat.write(nb, course / "submitted" / student / "ch01" / CHAPTER.name)
    _run(AUTOGRADE, course, graders)

    _run(EXPORT, course, graders)
    with open(course / "grades.csv", newline="") as f:
        scores = {
            row["student_id"]: [float(row["score"]), float(row["max_score"])]
            for row in csv.DictReader(f)
        }
    assert scores == {
        "right": [2.0, 2.0],
        "wrong": [1.0, 2.0],
        "unchanged": [0.0, 2.0],
    }, scores
    graded = nbformat.read(
        course / "autograded" / "wrong" / "ch01" / CHAPTER.name, as_version=4
    )
    printed = "".join(
        o.get("text", "") for c in graded.cells for o in c.get("outputs", [])
    )
    assert (
        "\u2718 gradient_descent: check 1 of" in printed
        and "\u2714 central_difference: all" in printed
    ), "the checkers' messages are not in the graded notebook"


# --- Otter-Grader ---------------------------------------------------------------------


@pytest.mark.slow
def test_otter_assign_submit_run(chapter, graders, tmp_path):
    folder, source = chapter
    master = tmp_path / "master"
    assert se.main(["--otter", "--chapters", str(folder), "--out", str(master)]) == 0
    # otter assign also runs the tests against the solutions: a test that fails on the
    # book's own code stops it
    _run(ASSIGN, master, graders)
    release = master / "dist" / "student" / CHAPTER.name
    (autograder,) = master.glob(RUN[3])

    released = nbformat.read(release, as_version=4)
    is_answer = lambda c: "otter_answer_cell" in c.metadata.get("tags", [])
    assert [c.source for c in released.cells if is_answer(c)] == student_stubs(
        source
    ), "Otter's student notebook and the student edition have different stubs"
    assert not any("BEGIN SOLUTION" in c.source for c in released.cells)

    results = {}
    for student, codes in [
        ("right", answers(source)),
        ("wrong", answers(source, wrong_first=True)),
    ]:
        nbformat.write(submit(release, is_answer, codes), master / f"{student}.ipynb")
        shutil.rmtree(master / "results", ignore_errors=True)
        (master / "results").mkdir()
        _run(
            [
                *RUN[:3],
                str(autograder.relative_to(master)),
                *RUN[4:],
                f"{student}.ipynb",
            ],
            master,
            graders,
        )
        tests = json.loads((master / "results" / "results.json").read_text())["tests"]
        results[student] = {t["name"]: t for t in tests if "score" in t}
    scores = {
        s: {q: [t["score"], t["max_score"]] for q, t in r.items()}
        for s, r in results.items()
    }
    assert scores == {
        "right": {"gradient_descent": [1.0, 1.0], "central_difference": [1.0, 1.0]},
        "wrong": {"gradient_descent": [0.0, 1.0], "central_difference": [1.0, 1.0]},
    }, scores
    assert (
        "\u2718 gradient_descent: check 1 of"
        in results["wrong"]["gradient_descent"]["output"]
    ), "Otter's report does not show the checker's hint"


def test_the_guide_gives_the_grading_environment_and_the_commands_the_tests_run():
    guide = (ROOT / "instructors.md").read_text(encoding="utf-8")
    section = guide[
        guide.index("## Grading with the checkers") : guide.index(
            "## Running the book for a class"
        )
    ]
    recipe = re.search(
        r"^\$\(GRADERS_STAMP\):.*\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text(), re.M
    )[1]
    installs = [
        line.strip()
        for line in recipe.splitlines()
        if " pip install " in line and "--upgrade" not in line
    ]
    assert (
        len(installs) == 2
        and "--require-hashes -r requirements-graders.txt" in installs[0]
    ), installs
    for install in installs:
        assert (
            install.replace("$(GRADERS)", ".venv/graders").replace(" --quiet", "")
            in section
        ), install
    assert (
        "$(PYTHON) -m venv $(GRADERS)" in recipe
        and "python3 -m venv .venv/graders" in section
    )
    requirements = (ROOT / "requirements-graders.in").read_text()
    for name in re.findall(r"^([\w.\[\]-]+)[<>=]", requirements, re.M):
        assert name in section, (
            f"{name} is in requirements-graders.in but not in the guide"
        )
    for command in (
        GENERATE,
        AUTOGRADE,
        EXPORT,
        ASSIGN,
        RUN,
        ["--nbgrader", "--out"],
        ["--otter", "--out"],
    ):
        assert " ".join(command) in section, " ".join(command)


# --- every chapter through both tools, without running it -----------------------------

THROUGH_BOTH = """\
import sys, nbformat
from pathlib import Path
from nbgrader.preprocessors import ClearSolutions
import otter.assign
nbgrader_source, otter_master, out = map(Path, sys.argv[1:])
for path in sorted(nbgrader_source.glob("*.ipynb")):
    released, _ = ClearSolutions().preprocess(nbformat.read(path, as_version=4), {})
    nbformat.write(released, out / ("nbgrader-" + path.name))
for path in sorted(otter_master.glob("*.ipynb")):
    otter.assign.main(str(path), str(out / path.stem), no_run_tests=True)
"""


@pytest.mark.slow
def test_every_chapter_gives_the_student_edition_stubs_in_both_tools(graders, tmp_path):
    """nbgrader's ClearSolutions and `otter assign` (tests not run) on every chapter:
    the student notebooks they make have the student edition's stubs, cell for cell."""
    for flag in ("nbgrader", "otter"):
        assert se.main([f"--{flag}", "--out", str(tmp_path / flag)]) == 0
    (tmp_path / "out").mkdir()
    _run(
        [
            "python",
            "-c",
            THROUGH_BOTH,
            tmp_path / "nbgrader",
            tmp_path / "otter",
            tmp_path / "out",
        ],
        tmp_path,
        graders,
    )
    for path in CHAPTERS:
        stubs = student_stubs(nbformat.read(path, as_version=4))
        nbgrader = nbformat.read(
            tmp_path / "out" / f"nbgrader-{path.name}", as_version=4
        )
        assert [
            c.source
            for c in nbgrader.cells
            if c.metadata.get("nbgrader", {}).get("solution")
        ] == stubs, path
        otter = nbformat.read(
            tmp_path / "out" / path.stem / "student" / path.name, as_version=4
        )
        assert [
            c.source
            for c in otter.cells
            if "otter_answer_cell" in c.metadata.get("tags", [])
        ] == stubs, path
        assert (
            len(
                list(
                    (tmp_path / "out" / path.stem / "autograder").glob(
                        "*-autograder_*.zip"
                    )
                )
            )
            == 1
        )


# --- every chapter: the two instructor versions are well formed -----------------------


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_grade_ids_and_otter_questions(path):
    nb = nbformat.read(path, as_version=4)
    checks = CHECKER.findall(
        "\n".join(
            c.source
            for c in nb.cells
            if c.cell_type == "code" and se.CHECK_CALL.match(c.source)
        )
    )
    nbgrader, _ = se.make_student_notebook(nb, path.name, nbgrader=True)
    ids = [
        c.metadata["nbgrader"]["grade_id"]
        for c in nbgrader.cells
        if "nbgrader" in c.metadata
    ]
    assert len(ids) == len(set(ids)) and all(
        re.fullmatch(r"[a-z][a-z0-9_]*(-\d+)?", i) for i in ids
    ), ids
    tests = [
        c.metadata["nbgrader"]["grade_id"]
        for c in nbgrader.cells
        if c.metadata.get("nbgrader", {}).get("grade")
    ]
    assert tests == [f"check_{name}" for name in checks]

    otter, _ = se.make_student_notebook(nb, path.name, otter=True)
    raw = [c.source.split("\n")[0] for c in otter.cells if c.cell_type == "raw"]
    assert raw[0] == "# ASSIGNMENT CONFIG" and otter.cells[0].cell_type == "raw"
    block = [
        "# BEGIN QUESTION",
        "# BEGIN SOLUTION",
        "# END SOLUTION",
        "# BEGIN TESTS",
        "# END TESTS",
        "# END QUESTION",
    ]
    assert raw[1:] == block * len(checks)
    names = [
        re.search(r"^name: (\w+)$", c.source, re.M)[1]
        for c in otter.cells
        if c.cell_type == "raw" and c.source.startswith("# BEGIN QUESTION")
    ]
    assert names == checks
    code = "\n".join(c.source for c in otter.cells if c.cell_type == "code")
    assert BEGIN not in code and code.count("# BEGIN SOLUTION NO PROMPT") == code.count(
        "# END SOLUTION"
    ) == "\n".join(c.source for c in nb.cells).count(BEGIN)
    assert not any(
        se.CHECK_CALL.match(c.source) for c in otter.cells if c.cell_type == "code"
    ), "a checker cell is left outside its question"


def test_otter_needs_a_checker_after_each_solution(tmp_path, capsys):
    cells = [
        nbformat.v4.new_code_cell("import numpy as np"),
        nbformat.v4.new_code_cell(f"def f(x):\n    {BEGIN}\n    return x\n    {END}"),
        nbformat.v4.new_markdown_cell("No checker here."),
    ]
    (tmp_path / "chapters").mkdir()
    nbformat.write(
        nbformat.v4.new_notebook(cells=cells), tmp_path / "chapters" / "09_demo.ipynb"
    )
    assert (
        se.main(
            [
                "--otter",
                "--chapters",
                str(tmp_path / "chapters"),
                "--out",
                str(tmp_path / "m"),
            ]
        )
        == 1
    )
    err = capsys.readouterr().err
    assert (
        "09_demo.ipynb, cell 1" in err
        and "checker cell" in err
        and not (tmp_path / "m").exists()
    )
