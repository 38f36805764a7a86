"""The package layout and its import rules (pyproject.toml's [tool.importlinter],
checked by import-linter).

The framework sits at the top of bookcode; bookcode.experiments, bookcode.display and
bookcode.exercises build on it (src/bookcode/__init__.py). The linter's contracts name
the framework's modules one by one, so a test keeps that list complete, and a positive
control shows that the linter catches a broken rule.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "src" / "bookcode"
LINT = Path(sys.executable).with_name("lint-imports")
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
SUBPACKAGES = ("experiments", "display", "exercises")


def _contract(contract_id):
    return next(c for c in CONFIG["contracts"] if c["id"] == contract_id)


def _lint(cwd, env=None):
    return subprocess.run(
        [str(LINT), "--no-cache"],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_the_layout_is_framework_plus_three_subpackages():
    packages = sorted(p.parent.name for p in PKG.glob("*/__init__.py"))
    assert packages == sorted(SUBPACKAGES)
    for name in SUBPACKAGES:
        doc = (PKG / name / "__init__.py").read_text().split('"""')[1]
        assert "import" in doc, (
            f"bookcode.{name}'s docstring must say what it may import"
        )


def test_the_framework_contract_names_every_top_level_module():
    modules = {f"bookcode.{p.stem}" for p in PKG.glob("*.py") if p.stem != "__init__"}
    assert set(_contract("framework")["source_modules"]) == modules, (
        "a new top-level module is part of the framework: add it to the 'framework' "
        "contract in pyproject.toml (or move it into bookcode.experiments or "
        "bookcode.display)"
    )


def test_import_rules_hold():
    proc = _lint(ROOT)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert f"{len(CONFIG['contracts'])} kept, 0 broken" in proc.stdout


@pytest.mark.parametrize(
    "module, line, contract",
    [
        ("layers.py", "from .display import plotting", "The framework never imports"),
        ("optim.py", "import matplotlib", "The framework never imports"),
        (
            "experiments/gradient_flow.py",
            "from ..display import plotting",
            "Experiments return arrays",
        ),
        (
            "display/panels.py",
            "from ..experiments import stacked",
            "Display helpers show results",
        ),
    ],
)
def test_the_linter_catches_a_broken_rule(tmp_path, module, line, contract):
    # a copy of the package with one forbidden import, found first on the path
    shutil.copytree(PKG, tmp_path / "src" / "bookcode")
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    with open(tmp_path / "src" / "bookcode" / module, "a") as f:
        f.write(f"\n{line}  # a broken rule\n")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tmp_path / "src")}
    proc = _lint(tmp_path, env)
    assert proc.returncode != 0, proc.stdout[-2000:]
    # the report wraps long contract names over lines: join them before looking for
    # "<name> BROKEN"
    report = " ".join(proc.stdout.split())
    broken = [
        name
        for name in (c["name"] for c in CONFIG["contracts"])
        if f"{name} BROKEN" in report or f"{name}BROKEN" in report
    ]
    assert any(name.startswith(contract) for name in broken), proc.stdout[-2000:]
