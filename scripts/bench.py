"""Benchmark what readers and maintainers wait for; write a Markdown table (`make
bench`).

Measures, on this machine, the median of several runs where it is cheap enough:
  * per chapter: cold-kernel execution time (live explorers, as a learner runs it; and
    static, as the build runs it) and the peak resident memory of the kernel;
  * the book: clean build time and no-change rebuild time; built HTML size per chapter
    page;
  * the full test suite time (the README's test command, minus the virtual-environment
    set-up);
  * every live explorer: update latency p50/p95 over 40 random slider changes, appended
    to each live run;
  * bookcode: one training step of a digits MLP, matrix form vs the per-example loop of
    chapter 3, and vs PyTorch when it is installed (an optional extra, never a book
    dependency).

The table goes to benchmarks/results.md (included by the book's Performance page). The
raw figures are kept in benchmarks/raw.json, so `--only` re-measures some chapters and
keeps the others' latest figures (each row says when it was measured); figures of
chapters that no longer exist are dropped. Usage: python scripts/bench.py [--repeat 3]
[--quick] [--skip-suite] [--only 03_,05_]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "results.md"
RAW = ROOT / "benchmarks" / "raw.json"
GOALS = {
    "chapter_s": 20.0,
    "chapter_mb": 600.0,
    "build_s": 240.0,
    "rebuild_s": 20.0,
    "suite_s": 600.0,
    "latency_ms": 100.0,
    "loop_ratio": 50.0,
    "torch_ratio": 1.5,
    "page_mb": 3.0,
}

_RUNNER = r"""
import json, sys, time, nbformat
from nbclient import NotebookClient
path, extra = sys.argv[1], sys.argv[2]
nb = nbformat.read(path, as_version=4)
n_cells, marks = len(nb.cells), {}
if extra:
    nb.cells.append(nbformat.v4.new_code_cell(extra))
t0 = time.perf_counter()
client = NotebookClient(nb, timeout=600, kernel_name="python3",
                        resources={"metadata": {"path": sys.argv[3]}})
client.on_cell_start = lambda cell, cell_index: marks.setdefault(
    cell_index, time.perf_counter())
client.execute()
end = time.perf_counter()
out = ""
if extra:  # the chapter's own time ends where the appended cell starts
    end = marks[n_cells]
    out = "".join(o.get("text", "") for o in nb.cells[-1].outputs
                  if o.get("output_type") == "stream")
print(json.dumps({"seconds": end - t0, "extra": out}))
"""

# Appended to a chapter to time its live explorers: random slider values, many updates
# each.
_LATENCY = r"""
import json as _json, time as _time, numpy as _np
from bookcode.display import widgets as _w
_rng = _np.random.default_rng(0)
_res = []
for _i, _ex in enumerate(_w.instances()):
    _names = list(_ex.sliders)
    _times = []
    _full0 = _ex.frames.full_renders if _ex.frames is not None else None
    for _k in range(40):
        _vals = {}
        for _n in _names:
            _s = _ex.sliders[_n]
            if hasattr(_s, "options") and _s.options:
                _o = _s.options[_rng.integers(len(_s.options))]
                _vals[_n] = _o[1] if isinstance(_o, tuple) else _o
            else:
                _u = _rng.uniform(_s.min, _s.max)
                _vals[_n] = (float(_s.base ** _u) if hasattr(_s, "base")
                             else type(_s.value)(_u))
        _t = _time.perf_counter()
        _ex.update(**_vals)
        _times.append(_time.perf_counter() - _t)
    _res.append({"explorer": _i + 1, "p50": float(_np.percentile(_times, 50)),
                 "p95": float(_np.percentile(_times, 95)),
                 "full_renders": (None if _full0 is None
                                  else _ex.frames.full_renders - _full0)})
print(_json.dumps(_res))
"""


sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_chapters import busy_processes  # noqa: E402


def run_chapter(path, static, extra=""):
    env = dict(
        os.environ, BOOKCODE_STATIC="1" if static else "0", BOOKCODE_PROGRESS="0"
    )
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(var, "1")
    env.pop("MPLBACKEND", None)
    proc = subprocess.Popen(
        [sys.executable, "-c", _RUNNER, str(path), extra, str(path.parent)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=path.parent,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    out, err = proc.stdout.read(), proc.stderr.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{path.name} failed:\n{err[-3000:]}")
    result = json.loads(out.strip().splitlines()[-1])
    result["peak_mb"] = (
        usage.ru_maxrss / 1024
    )  # KiB on Linux; the largest of the runner and its kernel
    return result


def timed(cmd, **kw):
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(map(str, cmd))} "
            f"failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    return time.perf_counter() - t0


def training_step_ratio(repeat):
    """Seconds per training step of a 64-32-10 sigmoid MLP on a digits batch of 64:
    matrix vs loop (vs torch)."""
    from bookcode import data, losses, network, optim
    from bookcode.experiments import backprop_loop

    Xtr, ytr, _, _ = data.digits(rng=0)
    X, T = Xtr[:64], losses.one_hot(ytr[:64], 10)
    net = network.mlp(
        [64, 32, 10], activation="sigmoid", output_activation="sigmoid", rng=0
    )
    loss, sgd = losses.get("half_sse"), optim.SGD(0.01)

    def matrix_step():
        Y = net.forward(X)
        net.backward(loss.grad(Y, T))
        sgd.step(net)

    W1, b1, W2, b2 = (
        net[0].W.copy(),
        net[0].b.copy(),
        net[2].W.copy(),
        net[2].b.copy(),
    )

    def loop_step():
        _, g = backprop_loop.gradients_loop(X, T, W1, b1, W2, b2)
        for p, k in ((W1, "W1"), (b1, "b1"), (W2, "W2"), (b2, "b2")):
            p -= 0.01 * g[k]

    def best(fn, n):
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            times.append((time.perf_counter() - t0) / n)
        return float(np.median(times))

    t_matrix, t_loop = best(matrix_step, 200), best(loop_step, 2)
    result = {
        "matrix_ms": t_matrix * 1e3,
        "loop_ms": t_loop * 1e3,
        "loop_ratio": t_loop / t_matrix,
    }
    try:
        import torch
    except ImportError:
        result["torch_ms"] = None
        return result
    torch.set_num_threads(1)
    model = torch.nn.Sequential(
        torch.nn.Linear(64, 32),
        torch.nn.Sigmoid(),
        torch.nn.Linear(32, 10),
        torch.nn.Sigmoid(),
    )
    model = model.double()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    Xt, Tt = torch.from_numpy(X), torch.from_numpy(T)

    def torch_step():
        opt.zero_grad()
        out = 0.5 * ((model(Xt) - Tt) ** 2).sum()
        out.backward()
        opt.step()

    result["torch_ms"] = best(torch_step, 200) * 1e3
    result["torch_ratio"] = t_matrix * 1e3 / result["torch_ms"]
    return result


def ok(value, goal, lower_is_better=True):
    if value is None:
        return "–"
    met = value <= goal if lower_is_better else value >= goal
    return "✓" if met else "✗ (missed)"


def main(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs per chapter measurement (median reported)",
    )
    ap.add_argument(
        "--quick",
        action="store_true",
        help="one run each, skip the clean build and the test suite",
    )
    ap.add_argument(
        "--skip-suite", action="store_true", help="do not time the full test suite"
    )
    ap.add_argument(
        "--only",
        default="",
        help="comma-separated parts of chapter file names to re-measure",
    )
    args = ap.parse_args(argv)
    repeat = 1 if args.quick else args.repeat
    all_chapters = sorted((ROOT / "chapters").glob("*.ipynb"))
    wanted = [w for w in args.only.split(",") if w]
    chapters = [
        p for p in all_chapters if not wanted or any(w in p.name for w in wanted)
    ]
    raw = json.loads(RAW.read_text()) if RAW.exists() else {}
    raw = {
        k: v
        for k, v in raw.items()
        if k in {p.stem for p in all_chapters} or k in ("_book", "_suite")
    }
    today = dt.date.today().isoformat()
    # the suite first: it is also the check that everything measured below works
    suite = None
    if not (args.quick or args.skip_suite):
        suite = timed(
            [
                sys.executable,
                "-m",
                "pytest",
                "tests",
                "chapters",
                "--nbval-lax",
                "--nbval-current-env",
                "-n",
                "auto",
                "-q",
            ],
            cwd=ROOT,  # as `make test` runs it
            env=dict(os.environ, BOOK_GRADERS=str(ROOT / ".venv" / "graders")),
        )
        print(f"suite {suite:.0f} s", flush=True)
        raw["_suite"] = {"date": today, "seconds": suite}
        RAW.parent.mkdir(exist_ok=True)
        RAW.write_text(json.dumps(raw, indent=1, sort_keys=True) + "\n")
    elif (
        "_suite" in raw
    ):  # not re-measured: the latest figure (its date is in the table)
        suite = raw["_suite"]["seconds"]
    for nb in chapters:
        live = [
            run_chapter(nb, static=False, extra=_LATENCY) for _ in range(repeat)
        ]  # then its explorers' latency
        static = [run_chapter(nb, static=True) for _ in range(repeat)]
        with busy_processes(
            2
        ):  # as on a shared Binder node: two processes spinning beside the kernel
            busy = [run_chapter(nb, static=False) for _ in range(repeat)]
        lats = [json.loads(r["extra"].strip().splitlines()[-1]) for r in live]
        raw[nb.stem] = {
            "date": today,
            "runs": repeat,
            "load": os.getloadavg()[0],
            "live_s": float(np.median([r["seconds"] for r in live])),
            "static_s": float(np.median([r["seconds"] for r in static])),
            "busy_s": float(np.median([r["seconds"] for r in busy])),
            "peak_mb": float(max(r["peak_mb"] for r in live + static)),
            "latency": [
                [
                    i["explorer"],
                    float(np.median([run[k]["p50"] for run in lats])) * 1e3,
                    float(np.median([run[k]["p95"] for run in lats])) * 1e3,
                    [run[k]["full_renders"] for run in lats],
                ]
                for k, i in enumerate(lats[0])
            ],
        }
        r = raw[nb.stem]
        print(
            f"{nb.stem}: live {r['live_s']:.1f} s, static {r['static_s']:.1f} s, busy "
            f"{r['busy_s']:.1f} s, peak {r['peak_mb']:.0f} MB",
            flush=True,
        )
        RAW.parent.mkdir(exist_ok=True)
        RAW.write_text(json.dumps(raw, indent=1, sort_keys=True) + "\n")
    rows = [
        (
            k,
            v["live_s"],
            v["static_s"],
            v.get("busy_s"),
            v["peak_mb"],
            v["date"],
            v["runs"],
        )
        for k, v in sorted(raw.items())
        if not k.startswith("_")
    ]
    lat_rows = [
        (k, i, p50, p95)
        for k, v in sorted(raw.items())
        if not k.startswith("_")
        for i, p50, p95, *_ in v["latency"]
    ]

    build = rebuild = None
    sizes = {}
    with tempfile.TemporaryDirectory() as tmp:
        if not args.quick:
            build = timed(
                [
                    sys.executable,
                    str(ROOT / "scripts" / "build_book.py"),
                    "--out",
                    tmp,
                    "--force",
                ],
                cwd=ROOT,
            )
            rebuild = timed(
                [sys.executable, str(ROOT / "scripts" / "build_book.py"), "--out", tmp],
                cwd=ROOT,
            )
            for nb in all_chapters:
                page = Path(tmp) / "_build" / "html" / "chapters" / f"{nb.stem}.html"
                if page.exists():  # a chapter not in _toc.yml has no page
                    sizes[nb.stem] = page.stat().st_size / 1e6
            print(f"build {build:.0f} s, rebuild {rebuild:.1f} s", flush=True)
    book = json.loads(RAW.read_text()).get("_book", {}) if RAW.exists() else {}
    if build is not None:
        book = {"date": today, "build_s": build, "rebuild_s": rebuild, "page_mb": sizes}
    else:  # not re-measured: the latest figures, for the chapters that still exist
        build, rebuild = book.get("build_s"), book.get("rebuild_s")
        sizes = {
            k: v
            for k, v in book.get("page_mb", {}).items()
            if k in {p.stem for p in all_chapters}
        }
    raw["_book"] = book
    RAW.parent.mkdir(exist_ok=True)
    RAW.write_text(json.dumps(raw, indent=1, sort_keys=True) + "\n")
    step = training_step_ratio(max(repeat, 3))

    cpu = platform.processor() or platform.machine()
    try:
        model = next(
            l.split(":", 1)[1].strip()
            for l in open("/proc/cpuinfo")
            if l.startswith("model name")
        )
        cpu = model
    except (OSError, StopIteration):
        pass
    lines = [
        f"Measured {dt.date.today().isoformat()} on {os.cpu_count()} cores ({cpu}), "
        f"Python {platform.python_version()}, numpy {np.__version__}; each chapter "
        "figure is the median of the runs given in its last column; the book build, "
        "rebuild and test suite are one run each. Goals from the project's "
        "performance issue; ✗ marks a missed goal.",
        "",
        "The busy run is a live run with two processes spinning beside the kernel (a "
        "shared Binder node, a laptop doing other work).",
        "",
        "| Chapter | live run (s) | static run (s) | busy run (s) | peak RSS (MB) | "
        "page (MB) | goals: ≤ 20 s, ≤ 600 MB, ≤ 3 MB | measured (runs) |",
        "|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for name, live_s, static_s, busy_s, mb, date, runs in rows:
        page = sizes.get(name)
        slowest = max(t for t in (live_s, static_s, busy_s) if t is not None)
        verdict = " ".join(
            [
                ok(slowest, GOALS["chapter_s"]),
                ok(mb, GOALS["chapter_mb"]),
                ok(page, GOALS["page_mb"]),
            ]
        )
        busy_text = "–" if busy_s is None else f"{busy_s:.1f}"
        lines.append(
            f"| {name} | {live_s:.1f} | {static_s:.1f} | {busy_text} | {mb:.0f} | "
            f"{'–' if page is None else f'{page:.2f}'} | {verdict} | {date} ({runs}) |"
        )
    lines += ["", "| Book and suite | seconds | goal |", "|---|---:|---|"]
    lines.append(
        "| clean build (`make book` from scratch, executes every chapter) | "
        f"{'–' if build is None else f'{build:.0f}'} | ≤ 240 "
        f"{ok(build, GOALS['build_s'])} |"
    )
    lines.append(
        f"| no-change rebuild | {'–' if rebuild is None else f'{rebuild:.1f}'} | ≤ 20 "
        f"{ok(rebuild, GOALS['rebuild_s'])} |"
    )
    suite_when = f", measured {raw['_suite']['date']}" if "_suite" in raw else ""
    lines.append(
        f"| full test suite (`make test` without the venv set-up{suite_when}) | "
        f"{'–' if suite is None else f'{suite:.0f}'} | ≤ 600 "
        f"{ok(suite, GOALS['suite_s'])} |"
    )
    lines += [
        "",
        "| Live explorer | p50 (ms) | p95 (ms) | goal p95 ≤ 100 ms |",
        "|---|---:|---:|---|",
    ]
    for name, i, p50, p95 in lat_rows:
        lines.append(
            f"| {name} #{i} | {p50:.0f} | {p95:.0f} | {ok(p95, GOALS['latency_ms'])} |"
        )
    lines += [
        "",
        "| Training step, 64-32-10 sigmoid MLP, batch 64 (digits) | ms per step | "
        "ratio | goal |",
        "|---|---:|---:|---|",
        f"| bookcode, matrix form | {step['matrix_ms']:.3f} | 1 | |",
        f"| per-example loop (chapter 3) | {step['loop_ms']:.1f} | "
        f"{step['loop_ratio']:.0f}× slower | ≥ 50× "
        f"{ok(step['loop_ratio'], GOALS['loop_ratio'], lower_is_better=False)} |",
    ]
    if step.get("torch_ms") is not None:
        lines.append(
            f"| PyTorch CPU, float64, 1 thread | {step['torch_ms']:.3f} | "
            f"bookcode/torch = {step['torch_ratio']:.2f} | ≤ 1.5 "
            f"{ok(step['torch_ratio'], GOALS['torch_ratio'])} |"
        )
    else:
        lines.append(
            "| PyTorch CPU | not installed | – | optional: `pip install torch` and "
            "re-run |"
        )
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"\nwritten to {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
