"""Slow: every chapter on "other machines" (scripts/run_chapters.py, CI_PROFILES there).

The strict build runs the chapters as they are (seed offset 0, this CPU's SIMD path),
and nbval runs them with seed offset 1 (tests/conftest.py). These tests run every
chapter again under the profiles that a reader's machine may differ by: numpy's baseline
SIMD path with OpenBLAS's generic kernel, and another seed offset with two processes
spinning beside the kernels. A chapter passes when every cell runs, i.e. every claim it
asserts holds there too.
"""

import sys

import pytest
from _book import ROOT, chapter_notebooks

sys.path.insert(0, str(ROOT / "scripts"))
import run_chapters  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("profile", run_chapters.CI_PROFILES)
def test_every_chapter_holds_its_claims_under(profile):
    results = run_chapters.run(profile, chapter_notebooks(), jobs=2)
    assert set(results) == {p.name for p in chapter_notebooks()}
    failed = {name: failures for name, (_, failures) in results.items() if failures}
    report = "\n".join(
        f"{name}: {line}" for name, failures in failed.items() for line in failures
    )
    assert not failed, (
        f"under the profile {profile!r} (python scripts/run_chapters.py --profile "
        f"{profile}):\n{report}"
    )


def test_profiles_name_what_they_change():
    env, busy = run_chapters.profile_env("other-cpu+seed-4+busy")
    assert (
        env["BOOKCODE_SEED_OFFSET"] == "4"
        and env["OPENBLAS_CORETYPE"]
        and env["NPY_DISABLE_CPU_FEATURES"]
    )
    assert busy == 2
    assert run_chapters.profile_env("default") == ({}, 0)
    with pytest.raises(SystemExit, match="unknown profile"):
        run_chapters.profile_env("fast-cpu")
