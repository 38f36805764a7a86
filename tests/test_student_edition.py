"""The student edition (scripts/student_edition.py) and the student HTML book
(scripts/build_student_book.py).

The reference for "what is a solution" is computed here independently of the script: the
lines between the markers and the fenced {solution} blocks, found with regular
expressions of this file.
"""

import ast
import hashlib
import html
import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import student_edition as se  # noqa: E402

CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
SOLUTION_BLOCK = re.compile(
    r"^(?P<f>`{3,}|:{3,})\{solution\}.*?\n(?P=f)[ \t]*$", re.M | re.S
)
MARKED = re.compile(
    r"^[ \t]*### BEGIN SOLUTION[ \t]*\n(?P<body>.*?)^[ \t]*### END SOLUTION[ \t]*$",
    re.M | re.S,
)
EVAL_USE, SAY_DEF = se.EVAL_USE, se.SAY_DEF
NOT_ATTEMPTED = "not attempted yet"


def _source(path):
    return nbformat.read(path, as_version=4)


def _text(nb, kind=None):
    return "\n".join(c.source for c in nb.cells if kind is None or c.cell_type == kind)


def _solutions(nb):
    """(solution code blocks, solution directive texts) of a source notebook."""
    return (
        [m["body"] for m in MARKED.finditer(_text(nb, "code"))],
        [m.group(0) for m in SOLUTION_BLOCK.finditer(_text(nb, "markdown"))],
    )


def _distinctive(block, outside):
    """Lines of a solution block (stripped, 10+ characters) that occur nowhere outside
    the solutions."""
    return [
        s
        for s in (line.strip() for line in block.splitlines())
        if len(s) >= 10 and s not in outside
    ]


def _outside(nb):
    """The source text that is not part of a solution block or directive."""
    return (
        MARKED.sub("", _text(nb, "code"))
        + "\n"
        + SOLUTION_BLOCK.sub("", _text(nb, "markdown"))
    )


def _digest(folder):
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(Path(folder).glob("*.ipynb"))
    }


@pytest.fixture(scope="module")
def editions():
    """{chapter path: (source notebook, student notebook, report)}, made in memory."""
    out = {}
    for path in CHAPTERS:
        nb = _source(path)
        student, report = se.make_student_notebook(nb, path.relative_to(ROOT))
        out[path] = (nb, student, report)
    return out


# --- the transformation on the real chapters ------------------------------------------


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_no_solution_text_is_left(path, editions):
    nb, student, report = editions[path]
    code_blocks, directives = _solutions(nb)
    assert code_blocks and len(directives) >= 5, (
        "every chapter has marked solution code and >= 5 solutions"
    )
    outside, text = _outside(nb), _text(student)
    for block in code_blocks + directives:
        lines = _distinctive(block, outside)
        assert lines, (
            f"no distinctive line in a solution of {path.name}: the check would be "
            "empty"
        )
        leaked = [line for line in lines if line in text]
        assert not leaked, (
            f"{path.name}: solution text left in the student edition: {leaked[:3]}"
        )
    assert (
        "{solution" not in text
        and "BEGIN SOLUTION" not in text
        and "END SOLUTION" not in text
    )
    assert (report.stubs, report.directives) == (len(code_blocks), len(directives))


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_exercises_checkers_and_published_numbers_survive(path, editions):
    nb, student, _ = editions[path]
    for needle in ("```{exercise}", "check_"):
        assert _text(student).count(needle) == _text(nb).count(needle), needle
    used = set(EVAL_USE.findall("\n".join(se._prose(c) for c in student.cells)))
    glued = set(SAY_DEF.findall(_text(student, "code")))
    assert used <= glued, (
        f"the student edition quotes unpublished numbers {sorted(used - glued)}"
    )
    _, directives = _solutions(nb)
    only_in_solutions = set(EVAL_USE.findall("\n".join(directives))) - used
    assert only_in_solutions, (
        f"{path.name}: the solutions quote no computed number, so this check is empty"
    )
    assert not only_in_solutions & glued, (
        "numbers quoted only in solutions are still computed in the student edition"
    )


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_stubs_keep_signature_and_docstring(path, editions):
    nb, student, _ = editions[path]
    source_cells = {c.id: c for c in nb.cells}
    stubbed = [
        c
        for c in student.cells
        if c.cell_type == "code" and "raise NotImplementedError()" in c.source
    ]
    assert stubbed
    for cell in stubbed:
        original = source_cells[cell.id]
        before = {
            f.name: f
            for f in ast.walk(ast.parse(original.source))
            if isinstance(f, ast.FunctionDef)
        }
        after = {
            f.name: f
            for f in ast.walk(ast.parse(cell.source))
            if isinstance(f, ast.FunctionDef)
        }
        assert before.keys() == after.keys()
        for name, f in after.items():
            assert ast.dump(f.args) == ast.dump(before[name].args), (
                f"{name}: signature changed"
            )
            assert ast.get_docstring(f) == ast.get_docstring(before[name]), (
                f"{name}: docstring changed"
            )
            body = f.body[1:] if ast.get_docstring(f) else f.body
            assert [ast.unparse(s) for s in body] == ["raise NotImplementedError()"]
        assert not {"hide-input", "hide-cell", "remove-cell"} & set(
            cell.metadata.get("tags", [])
        ), "a stub must be visible to the learner"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_outputs_and_widget_state_cleared(path):
    nb = _source(path)  # as saved after a run: outputs, counts, widget state
    nb.metadata["widgets"] = {
        "application/vnd.jupyter.widget-state+json": {"state": {}}
    }
    for i, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
        cell.outputs, cell.execution_count = (
            [nbformat.v4.new_output("stream", text="x")],
            i + 1,
        )
    student, _ = se.make_student_notebook(nb, path.name)
    assert "widgets" not in student.metadata
    for cell in student.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    nbformat.validate(student)


def test_the_sources_are_only_read(tmp_path, capsys):
    before = _digest(ROOT / "chapters")
    assert se.main(["--out", str(tmp_path / "student")]) == 0
    assert _digest(ROOT / "chapters") == before
    assert sorted(p.name for p in (tmp_path / "student").glob("*.ipynb")) == [
        p.name for p in CHAPTERS
    ]
    printed = capsys.readouterr().out
    for path in CHAPTERS:  # one report line per chapter, with the counts
        assert re.search(
            rf"^{path.stem}: \d+ solution code block\(s\) stubbed, \d+ solution "
            r"directive\(s\) removed",
            printed,
            re.M,
        ), printed


def test_refuses_to_overwrite(tmp_path, capsys):
    out = tmp_path / "student"
    assert se.main(["--out", str(out)]) == 0
    (out / "01_gradient_descent.ipynb").write_text("my edits")
    assert se.main(["--out", str(out)]) == 1
    assert "exists; use --force" in capsys.readouterr().err
    assert (out / "01_gradient_descent.ipynb").read_text() == "my edits"
    assert se.main(["--out", str(out), "--force"]) == 0
    assert json.loads((out / "01_gradient_descent.ipynb").read_text())["cells"]
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep")
    assert se.main(["--out", str(foreign), "--force"]) == 1
    assert (
        "not written by this script" in capsys.readouterr().err
        and (foreign / "notes.txt").exists()
    )
    assert se.main(["--out", str(ROOT / "chapters"), "--force"]) == 1
    assert "holds the sources" in capsys.readouterr().err


def test_student_book_tree(tmp_path):
    import build_student_book
    import yaml

    before = _digest(ROOT / "chapters")
    reports = build_student_book.make_tree(tmp_path / "book")
    assert _digest(ROOT / "chapters") == before and len(reports) == len(CHAPTERS)
    chapters = tmp_path / "book" / "chapters"
    assert sorted(p.name for p in chapters.iterdir()) == [p.name for p in CHAPTERS]
    assert "{solution" not in "".join(
        p.read_text(encoding="utf-8") for p in chapters.iterdir()
    )
    assert (tmp_path / "book" / "_toc.yml").read_bytes() == (
        ROOT / "_toc.yml"
    ).read_bytes()
    config = yaml.safe_load(
        (tmp_path / "book" / "_config.yml").read_text(encoding="utf-8")
    )
    assert (
        config["title"].endswith("student edition")
        and config["sphinx"]["config"]["hide_solutions"] is True
    )
    assert (
        not config["launch_buttons"]["binderhub_url"]
        and not config["launch_buttons"]["jupyterhub_url"]
    )
    build_student_book.make_tree(
        tmp_path / "class", repository_url="https://example.org/class/repo", branch="b"
    )
    config = yaml.safe_load(
        (tmp_path / "class" / "_config.yml").read_text(encoding="utf-8")
    )
    assert (
        config["repository"]["url"] == "https://example.org/class/repo"
        and config["repository"]["branch"] == "b"
    )
    assert config["launch_buttons"]["binderhub_url"]


# --- errors: named file and cell, exit code 1, nothing written ------------------------


def _write_chapter(folder, cells):
    folder.mkdir(exist_ok=True)
    nb = nbformat.v4.new_notebook(cells=cells)
    nbformat.write(nb, folder / "09_demo.ipynb")


def _code(src):
    return nbformat.v4.new_code_cell(src)


def _md(src):
    return nbformat.v4.new_markdown_cell(src)


BROKEN = [
    (
        [_md("# t"), _code("def f(x):\n    ### BEGIN SOLUTION\n    return x\n")],
        "cell 1",
        "never closed",
    ),
    (
        [_code("def f(x):\n    return x\n    ### END SOLUTION\n")],
        "cell 0",
        "without a '### BEGIN SOLUTION'",
    ),
    (
        [
            _code(
                "def f(x):\n    ### BEGIN SOLUTION\n    ### BEGIN SOLUTION\n    return "
                "x\n    ### END SOLUTION\n"
            )
        ],
        "line 3",
        "nested",
    ),
    (
        [_code("def f(x):\n    # BEGIN SOLUTION\n    return x\n    # END SOLUTION\n")],
        "line 2",
        "malformed marker",
    ),
    (
        [_md("````{solution} ex-a\n:class: dropdown\n\ntext\n```\n")],
        "cell 0",
        "never closed",
    ),
    ([_md("```{solution-start} ex-a\n```\n")], "cell 0", "gated"),
]


@pytest.mark.parametrize(
    "cells, where, what",
    BROKEN,
    ids=["unclosed", "end-only", "nested", "misspelt", "open-directive", "gated"],
)
def test_malformed_input_gives_a_clear_error(tmp_path, capsys, cells, where, what):
    _write_chapter(tmp_path / "chapters", cells)
    assert (
        se.main(
            [
                "--chapters",
                str(tmp_path / "chapters"),
                "--out",
                str(tmp_path / "student"),
            ]
        )
        == 1
    )
    err = capsys.readouterr().err
    assert "09_demo.ipynb" in err and where in err and what in err, err
    assert not (tmp_path / "student").exists()


def test_invalid_json_and_invalid_notebook(tmp_path, capsys):
    folder = tmp_path / "chapters"
    _write_chapter(folder, [_code("1")])
    (folder / "10_bad.ipynb").write_text('{"cells": [', encoding="utf-8")
    assert se.main(["--chapters", str(folder), "--out", str(tmp_path / "s")]) == 1
    assert "10_bad.ipynb: not a valid notebook" in capsys.readouterr().err
    (folder / "10_bad.ipynb").write_text(
        json.dumps(
            {
                "cells": [{"cell_type": "code"}],
                "metadata": {},
                "nbformat": 4,
                "nbformat_minor": 5,
            }
        ),
        encoding="utf-8",
    )
    assert se.main(["--chapters", str(folder), "--out", str(tmp_path / "s")]) == 1
    assert "10_bad.ipynb: not a valid notebook" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()


def test_cells_that_only_serve_the_solutions_go_and_their_users_are_caught(
    tmp_path, capsys
):
    hidden = {"tags": ["remove-cell"]}
    cells = [
        _md("Shown: {eval}`kept`."),
        _code("from bookcode.display import say\nsay('kept', 1)"),
        _md("```{solution} ex-a\nThe answer is {eval}`answer`.\n```"),
        nbformat.v4.new_code_cell(
            "secret = 42.0\nsay('answer', secret, '.2f')", metadata=hidden
        ),
        nbformat.v4.new_code_cell("assert secret > 0", metadata=hidden),
    ]
    student, report = se.make_student_notebook(
        nbformat.v4.new_notebook(cells=cells), "demo.ipynb"
    )
    assert (
        len(report.support_cells) == 2
        and "secret" not in _text(student)
        and "say('kept'" in _text(student)
    )
    cells.append(
        _code("print(secret)")
    )  # a visible cell needs the removed number: refuse
    _write_chapter(tmp_path / "chapters", cells)
    assert (
        se.main(
            ["--chapters", str(tmp_path / "chapters"), "--out", str(tmp_path / "s")]
        )
        == 1
    )
    assert "cell 5" in capsys.readouterr().err


# --- the fences of MyST ---------------------------------------------------------------


def test_solution_directives_with_nested_fences():
    text = "\n".join(
        [
            "Intro.",
            "",
            "````{solution} ex-a",
            ":class: dropdown",
            "",
            "Answer A.",
            "",
            "```python",
            "secret_a = 1",
            "```",
            "````",
            "",
            ":::{solution} ex-b",
            "Answer B.",
            ":::",
            "",
            "````{admonition} Box",
            "Kept.",
            "",
            "```{solution} ex-c",
            "Answer C.",
            "```",
            "",
            "````",
            "",
            "```python",
            "# a code block that shows the syntax is kept:",
            "```{solution} ex-d",
            "```",
            "",
            "~~~",
            "```{solution} inside a tilde code block",
            "~~~",
            "",
            "Outro.",
        ]
    )
    out, removed = se.strip_solution_directives(text, "demo")
    assert len(removed) == 3
    for gone in ("Answer A", "secret_a", "Answer B", "Answer C"):
        assert gone not in out
    for kept in (
        "Intro.",
        "````{admonition} Box",
        "Kept.",
        "```{solution} ex-d",
        "inside a tilde",
        "Outro.",
    ):
        assert kept in out
    assert "\n\n\n" not in out


def test_marker_indentation_and_several_blocks():
    src = (
        "def f(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END "
        "SOLUTION\n\ndef g(x):\n    if x:\n        ### BEGIN SOLUTION\n        return "
        "3\n        ### END SOLUTION\n    return 0"
    )
    out, n, removed = se.stub_solutions(src, "demo")
    assert n == 2 and [line.strip() for line in removed] == ["return 2 * x", "return 3"]
    assert "    # YOUR CODE HERE\n    raise NotImplementedError()" in out
    assert (
        "        # YOUR CODE HERE\n        raise NotImplementedError()\n    return 0"
        in out
    )
    ast.parse(out)
    kept, n, _ = se.stub_solutions(src, "demo", keep_markers=True)
    assert kept == src and n == 2


# --- nbgrader -------------------------------------------------------------------------


def test_nbgrader_source_keeps_markers_and_marks_cells(editions):
    for path, (nb, _student, _) in editions.items():
        source, _ = se.make_student_notebook(nb, path.name, nbgrader=True)
        code = _text(source, "code")
        assert (
            code.count("### BEGIN SOLUTION")
            == _text(nb, "code").count("### BEGIN SOLUTION")
            > 0
        )
        assert "{solution" not in _text(source, "markdown")
        graded = [
            c for c in source.cells if c.metadata.get("nbgrader", {}).get("grade")
        ]
        assert graded and all(
            c.source.startswith("assert ") and "check_" in c.source for c in graded
        )
        assert all(
            c.metadata["nbgrader"]["solution"]
            for c in source.cells
            if "### BEGIN SOLUTION" in c.source
        )


# nbgrader's ClearSolutions on every chapter, and both tools end to end on one:
# tests/test_graders.py


# --- listings of the book's code that answer an exercise ------------------------------

# The book functions whose bodies are the answers of checked exercises, per chapter (the
# expression the chapter passes to show_source). A listing of one of them must be marked
# answer_to= so the student edition cuts its body.
ANSWER_LISTINGS = {
    "01_gradient_descent": {"descent.gradient_descent", "gradcheck.numerical_gradient"},
    "03_backprop": {"layers.Linear.backward"},
    "04_activations": {"activations.elu_derivative"},
    "06_taming_gradients": {"optim.clip_by_global_norm", "optim._scale_to_norm"},
    "07_initialization": {"init.he_normal"},
    "08_batchnorm": {"batchnorm.batchnorm_backward"},
    "09_residual": {"Residual.backward"},
    "11_recurrent": {"RNN.backward"},
    "12_modern_training": {"Adam._direction"},
}
LISTING = re.compile(r"show_source\((?P<obj>[\w.]+)(?P<rest>[^)]*)\)")


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_answer_listings_are_marked_and_cut(path, editions):
    nb, student, report = editions[path]
    answers = ANSWER_LISTINGS.get(path.stem, set())
    listed = {m["obj"]: m["rest"] for m in LISTING.finditer(_text(nb, "code"))}
    assert answers <= listed.keys(), (
        f"{path.name}: the table names listings the chapter no longer shows"
    )
    unmarked = [obj for obj in answers if "answer_to=" not in listed[obj]]
    assert not unmarked, (
        f"{path.name}: listings that answer an exercise lack answer_to=: {unmarked}"
    )
    cut = {
        m["obj"]
        for m in LISTING.finditer(_text(student, "code"))
        if "body=False" in m["rest"]
    }
    marked = {obj for obj, rest in listed.items() if "answer_to=" in rest}
    assert cut == marked and report.listings_hidden == len(marked)
    assert "body=False" not in _text(nb, "code"), (
        "body=False is the student edition's, not the source's"
    )
    for mode in (
        "nbgrader",
        "otter",
    ):  # what nbgrader and Otter hand out is made from these: cut there too
        other, _ = se.make_student_notebook(nb, path.relative_to(ROOT), **{mode: True})
        assert {
            m["obj"]
            for m in LISTING.finditer(_text(other, "code"))
            if "body=False" in m["rest"]
        } == marked


@pytest.mark.parametrize(
    "source, what",
    [
        ('show_source(f, answer_to="ex-nope")', "not an exercise of this chapter"),
        ("show_source(f, answer_to=LABEL)", "string literal"),
        ('print(f, answer_to="ex-a")', "not print"),
        ('show_source(f, answer_to="ex-a", body=True)', "set by the student edition"),
    ],
)
def test_answer_listing_marks_are_checked(source, what):
    with pytest.raises(se.StudentEditionError, match=what):
        se.hide_answer_listings(source, "cell 3", {"ex-a", "ex-b"})


def test_answer_listing_cut_keeps_the_rest_of_the_cell():
    source = (
        "x = 1\n%matplotlib inline\nshow_source(display.f,\n"
        '            answer_to="ex-a")  # listing\nshow_source(g)'
    )
    out, n = se.hide_answer_listings(source, "cell 3", {"ex-a"})
    assert n == 1 and out == source.replace('"ex-a")', '"ex-a", body=False)')
    assert se.hide_answer_listings("show_source(g)", "cell 3", set()) == (
        "show_source(g)",
        0,
    )


# --- slow: the student notebooks run, the student HTML has no solutions ---------------


@pytest.fixture(scope="module")
def student_build(tmp_path_factory):
    """The student HTML book, built once, strictly (an error in any student notebook
    fails it), without touching chapters/: (HTML folder, folder of the executed student
    notebooks)."""
    before = _digest(ROOT / "chapters")
    tmp = tmp_path_factory.mktemp("student-book")
    out, executed = tmp / "html", tmp / "executed"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "build_student_book.py"),
            "--out",
            str(out),
            "--executed",
            str(executed),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert proc.returncode == 0, (
        f"student build failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    )
    assert _digest(ROOT / "chapters") == before
    return out, executed


@pytest.mark.slow
@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_student_notebook_runs_and_its_checkers_say_not_attempted(path, student_build):
    nb = nbformat.read(student_build[1] / path.name, as_version=4)
    errors = [
        (i, o.get("ename"), o.get("evalue"))
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code"
        for o in c.outputs
        if o.output_type == "error"
    ]
    assert not errors, f"{path.name}: errors in the student edition: {errors[:2]}"
    first_stub = next(
        i for i, c in enumerate(nb.cells) if "raise NotImplementedError()" in c.source
    )
    checkers = [
        c
        for c in nb.cells[first_stub:]
        if c.cell_type == "code" and "check_" in c.source
    ]
    assert checkers, f"{path.name}: no checker cell after the first stub"
    for cell in checkers:
        printed = "".join(
            o.get("text", "") for o in cell.outputs if o.output_type == "stream"
        )
        assert NOT_ATTEMPTED in printed and "Traceback" not in printed, printed


def _html_text(page):
    return " ".join(
        html.unescape(re.sub(r"<[^>]+>", "", page.read_text(encoding="utf-8"))).split()
    )


def _prose_runs(markdown):
    """Runs of 6+ plain words (no quotes or markup) from MyST text: math, roles, code
    and list markers taken out."""
    text = re.sub(r"^(`{3,}|:{3,}).*$", "|", markdown, flags=re.M)  # fence lines
    text = re.sub(r"\$\$.*?\$\$", "|", text, flags=re.S)
    text = re.sub(
        r"\$[^$\n]*\$|\{[\w:-]+\}`[^`]*`|`[^`]*`|^:\w+:.*$|^\s*(\d+\.|-)\s",
        "|",
        text,
        flags=re.M,
    )
    runs = (" ".join(r.split()) for r in re.split(r"[^A-Za-z0-9 ,.;()\n-]", text))
    return [r.strip(" ,") for r in runs if len(r.strip(" ,").split()) >= 6]


def _answer_body(expression):
    """The lines of a book function's listing that ``body=False`` leaves out
    (``expression`` as in the chapter)."""
    import importlib

    import bookcode
    from bookcode.adam import Adam
    from bookcode.display import show_source
    from bookcode.recurrent import RNN
    from bookcode.residual import Residual

    head, _, rest = expression.partition(".")
    by_name = {"Residual": Residual, "RNN": RNN, "Adam": Adam}  # chapters 9, 11, 12
    if head in by_name:
        obj = by_name[head]
    elif head in bookcode._MODULES:  # the framework
        obj = importlib.import_module(f"bookcode.{head}")
    else:  # the chapters' experiments (descent, ...)
        obj = importlib.import_module(f"bookcode.experiments.{head}")
    for name in rest.split("."):
        obj = getattr(obj, name)
    full = show_source(obj, docstring=False).source.splitlines()
    kept = set(
        show_source(
            obj, docstring=False, answer_to="ex", body=False
        ).source.splitlines()
    )
    return [line for line in full if line not in kept]


@pytest.mark.slow
def test_student_html_has_exercises_and_no_solutions(student_build):
    out = student_build[0]
    package = "\n".join(
        p.read_text(encoding="utf-8")
        for p in sorted((ROOT / "src" / "bookcode").rglob("*.py"))
    )
    for path in CHAPTERS:
        nb = _source(path)
        page = out / "chapters" / f"{path.stem}.html"
        raw, text = page.read_text(encoding="utf-8"), _html_text(page)
        assert not re.search(r'class="[^"]*\bsolution\b', raw), (
            f"{page.name}: a solution element is in the page"
        )
        code_blocks, directives = _solutions(nb)
        outside = (
            _outside(nb) + package
        )  # the chapters show bookcode's own code, which is no secret
        for block in code_blocks:
            leaked = [
                s for s in _distinctive(block, outside) if " ".join(s.split()) in text
            ]
            assert not leaked, f"{page.name}: solution code in the HTML: {leaked[:2]}"
        plain = " ".join(SOLUTION_BLOCK.sub("", _text(nb, "markdown")).split())
        runs = [r for d in directives for r in _prose_runs(d) if r not in plain]
        assert len(runs) >= len(directives), (
            f"{page.name}: too few distinctive phrases in the solutions"
        )
        leaked = [r for r in runs if r in text]
        assert not leaked, f"{page.name}: solution text in the HTML: {leaked[:2]}"
        # positive controls: the same extraction finds the exercises, the stubs and the
        # checkers
        exercises = re.findall(
            r"^`{3,}\{exercise\}.*?^`{3,}$", _text(nb, "markdown"), re.M | re.S
        )
        runs = [r for e in exercises for r in _prose_runs(e)]
        assert runs and all(r in text for r in runs), [
            r for r in runs if r not in text
        ][:2]
        signatures = [
            line
            for b in MARKED.finditer(_text(nb, "code"))
            for line in re.findall(
                r"^def \w+\(.*\):$", _text(nb, "code")[: b.start()], re.M
            )[-1:]
        ]  # the def around each block
        assert signatures and all(sig in text for sig in signatures), signatures
        n_checks = len(re.findall(r"^ex\.check_\w+\(", _text(nb, "code"), re.M))
        assert n_checks and text.count(NOT_ATTEMPTED) == n_checks
        # the listings that answer an exercise show their signature, not their body
        assert text.count("the body is the answer to exercise") == len(
            ANSWER_LISTINGS.get(path.stem, ())
        )
        for obj in ANSWER_LISTINGS.get(path.stem, ()):
            body = [
                s
                for s in (
                    line.strip() for line in _answer_body(obj)
                )  # lines found nowhere else in the
                if len(s) >= 20 and package.count(s) == 1
            ]  # package (other listings may show them)
            assert body, obj
            leaked = [s for s in body if " ".join(s.split()) in text]
            assert not leaked, (
                f"{page.name}: the body of {obj} is in the student HTML: {leaked[:2]}"
            )
