"""The instructor guide (instructors.md) covers every chapter and exercise, and its
tables match the chapters."""

import json
import re
import sys

import pytest
import yaml
from _book import ROOT, chapter_notebooks

sys.path.insert(0, str(ROOT / "scripts"))
import instructor_guide as guide  # noqa: E402

GUIDE = (ROOT / "instructors.md").read_text(encoding="utf-8")
NOTEBOOKS = chapter_notebooks()


def _markdown(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return "\n".join(
        "".join(c["source"]) for c in cells if c["cell_type"] == "markdown"
    )


def test_generated_tables_are_up_to_date():
    assert guide.splice(GUIDE, guide.render(guide.chapters())) == GUIDE, (
        "instructors.md is out of date: run python scripts/instructor_guide.py --write"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_chapter_its_time_and_its_exercises_are_in_the_guide(path):
    md = _markdown(path)
    assert f"{{doc}}`chapters/{path.stem}`" in GUIDE
    time = " ".join(
        re.search(r"\*\*Time\*\*(.*?)\n(\n|```)", md, re.S).group(1).split()
    )
    assert f"{{doc}}`chapters/{path.stem}`** — {time}" in GUIDE, (
        f"the guide's time for {path.stem} is not {time!r}"
    )
    first_objective = re.search(
        r"\*\*You will learn to\*\*\n- (.*?)\n(- |\n)", md, re.S
    ).group(1)
    assert " ".join(first_objective.split()) in GUIDE
    labels = re.findall(r"^`{3,}\{exercise\}.*\n:label:\s*(\S+)", md, re.M)
    assert len(labels) >= 5
    for label in labels:
        assert f"{{ref}}`{label}`" in GUIDE, f"exercise {label} is not in the guide"


def test_guide_refers_only_to_existing_exercises():
    labels = {
        label
        for p in NOTEBOOKS
        for label in re.findall(r"^:label:\s*(\S+)", _markdown(p), re.M)
    }
    refs = set(re.findall(r"\{ref\}`([^`<]+)`", GUIDE))
    assert refs and refs <= labels, f"unknown labels {sorted(refs - labels)}"
    docs = set(re.findall(r"\{doc\}`([^`<]+)`", GUIDE))
    assert all(list(ROOT.glob(d + ".*")) for d in docs), docs


def test_guide_is_in_the_book_and_linked_from_the_introduction():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    reference = next(p for p in toc["parts"] if p.get("caption") == "Reference")
    assert {"file": "instructors"} in reference["chapters"]
    intro = (ROOT / "intro.md").read_text(encoding="utf-8")
    section = intro[intro.index("(for-instructors)=") :].split("\n## ")[
        1
    ]  # up to the next heading
    assert section.startswith("For instructors") and "{doc}`instructors`" in section


def test_documented_commands_exist():
    for script, options in (
        ("student_edition.py", ["--out", "--force", "--nbgrader"]),
        ("build_student_book.py", ["--repository-url"]),
    ):
        assert f"scripts/{script}" in GUIDE
        text = (ROOT / "scripts" / script).read_text(encoding="utf-8")
        for option in options:
            assert f'"{option}"' in text and option in GUIDE, option
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert (
        "scripts/student_edition.py" in readme
        and "scripts/build_student_book.py" in readme
    )


def test_generator_refuses_a_mismatch(monkeypatch):
    chs = guide.chapters()
    monkeypatch.setitem(guide.EXERCISES, "ex-not-there", ("conceptual", 5))
    with pytest.raises(ValueError, match="only in the script .*ex-not-there"):
        guide.render(chs)
    monkeypatch.delitem(guide.EXERCISES, "ex-not-there")
    monkeypatch.setitem(guide.EXERCISES, "ex-gd-implement", ("conceptual", 15))
    with pytest.raises(
        ValueError,
        match="ex-gd-implement: kind 'conceptual', but checker check_gradient_descent",
    ):
        guide.render(chs)
    with pytest.raises(ValueError, match="needs the lines"):
        guide.splice("no markers here", "block")
