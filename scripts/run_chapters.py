"""Run the chapters as a reader on another machine would: other seeds, another
floating-point path, a busy CPU.

Each *profile* is an environment the chapters are executed in (fresh kernels, top to
bottom). A chapter passes a profile when every cell runs without error, i.e. every claim
its cells assert holds there too. ``make test`` runs the profiles in ``CI_PROFILES``
(tests/test_profiles.py); the default profile is the strict book build itself.

    python scripts/run_chapters.py --profile other-cpu          # every chapter, one
    profile python scripts/run_chapters.py --profile seed-3 --only 05_  # one chapter,
    seed offset 3 python scripts/run_chapters.py --profile all --keep-going   # every
    profile; report every failing cell

Profiles:
  default     the machine as it is seed-K      BOOKCODE_SEED_OFFSET=K (any K >= 0):
  every seed in bookcode and the chapters shifted by K other-cpu   numpy's baseline SIMD
  path (NPY_DISABLE_CPU_FEATURES) and OpenBLAS's generic Prescott kernel busy        two
  processes spinning beside the kernels, as on a shared Binder node or a laptop doing
  other work
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# numpy >= 2.4 names its x86 feature groups X86_V2..V4; disabling a group this CPU lacks
# is harmless.
BASELINE_SIMD = "X86_V3 X86_V4 AVX512_ICL AVX512_SPR"
PROFILES = {
    "default": {},
    "other-cpu": {
        "NPY_DISABLE_CPU_FEATURES": BASELINE_SIMD,
        "OPENBLAS_CORETYPE": "Prescott",
    },
    "busy": {},
}
BUSY_PROCESSES = {"busy": 2}
# What make test runs besides the strict build (offset 0, this CPU): nbval runs the
# chapters with seed offset 1 (tests/conftest.py), and these profiles run them again.
CI_PROFILES = ("other-cpu", "seed-2+busy")


def profile_env(name: str) -> tuple[dict, int]:
    """(environment variables, number of busy processes) of a profile name; names
    combine with '+'."""
    env, busy = {}, 0
    for part in name.split("+"):
        if part.startswith("seed-") and part[5:].isdigit():
            env["BOOKCODE_SEED_OFFSET"] = part[5:]
        elif part in PROFILES:
            env.update(PROFILES[part])
            busy = max(busy, BUSY_PROCESSES.get(part, 0))
        else:
            raise SystemExit(
                f"unknown profile {part!r}; expected one of {', '.join(PROFILES)} or "
                "seed-K"
            )
    return env, busy


def kernel_env(extra: dict) -> dict:
    """The environment a chapter's kernel gets: the book build's (tests, one BLAS
    thread) plus a profile."""
    env = dict(os.environ)
    env.setdefault("BOOKCODE_STATIC", "0")
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    env.pop("MPLBACKEND", None)
    env.update(extra)
    return env


@contextmanager
def busy_processes(n: int):
    """``n`` processes that spin on the CPU for as long as the block runs."""
    procs = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)
    ]
    try:
        yield
    finally:
        for p in procs:
            p.kill()
            p.wait()


def execute(
    path: str, env: dict, out: str | None, keep_going: bool, timeout: int = 600
):
    """Execute one notebook in a fresh kernel; returns (name, seconds, [failing cells as
    text])."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    os.environ.clear()
    os.environ.update(env)
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        allow_errors=keep_going,
        resources={"metadata": {"path": str(path.parent)}},
    )
    t0 = time.perf_counter()
    failures = []
    try:
        client.execute()
    except CellExecutionError as err:
        failures.append(str(err).strip().splitlines()[-1][:400])
    seconds = time.perf_counter() - t0
    for i, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error" and keep_going:
                first = (
                    cell.source.strip().splitlines()[0][:80]
                    if cell.source.strip()
                    else ""
                )
                failures.append(
                    f"cell {i} ({first}): {output['ename']}: {output['evalue'][:300]}"
                )
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, Path(out) / path.name)
    return path.name, seconds, failures


def run(
    profile: str,
    chapters: list[Path],
    *,
    jobs: int = 2,
    out: Path | None = None,
    keep_going=False,
):
    """Execute ``chapters`` under ``profile``; returns {chapter name: (seconds,
    failures)}."""
    extra, busy = profile_env(profile)
    env = kernel_env(extra)
    results = {}
    with (
        busy_processes(busy),
        ProcessPoolExecutor(max(1, min(jobs, len(chapters)))) as pool,
    ):
        futures = [
            pool.submit(execute, str(p), env, str(out) if out else None, keep_going)
            for p in chapters
        ]
        for f in futures:
            name, seconds, failures = f.result()
            results[name] = (seconds, failures)
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--profile",
        action="append",
        required=True,
        help="a profile (repeatable; 'all' = seed-1, seed-2, other-cpu, busy)",
    )
    parser.add_argument(
        "--only", default="", help="run the chapters whose file name contains this text"
    )
    parser.add_argument(
        "--jobs", type=int, default=2, help="chapters executed at once (default 2)"
    )
    parser.add_argument(
        "--out", type=Path, help="write the executed notebooks to OUT/<profile>/"
    )
    parser.add_argument(
        "--keep-going",
        action="store_true",
        help="run every cell and report every failing one",
    )
    args = parser.parse_args(argv)
    profiles = [
        p
        for name in args.profile
        for p in (
            ["seed-1", "seed-2", "other-cpu", "busy"] if name == "all" else [name]
        )
    ]
    chapters = [
        p for p in sorted((ROOT / "chapters").glob("*.ipynb")) if args.only in p.name
    ]
    if not chapters:
        raise SystemExit(f"no chapter matches {args.only!r}")
    failed = 0
    for profile in profiles:
        t0 = time.perf_counter()
        results = run(
            profile,
            chapters,
            jobs=args.jobs,
            out=args.out / profile if args.out else None,
            keep_going=args.keep_going,
        )
        print(f"== {profile}: {time.perf_counter() - t0:.0f} s", flush=True)
        for name, (seconds, failures) in results.items():
            print(
                f"  {name:40s} {seconds:6.1f} s  {'ok' if not failures else 'FAILED'}",
                flush=True,
            )
            for line in failures:
                print(f"      {line}", flush=True)
            failed += bool(failures)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
