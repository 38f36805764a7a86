import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402
from numpy.testing import assert_allclose  # noqa: E402
from PIL import Image  # noqa: E402

from bookcode.display import plotting  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _legend_texts(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_use_style_sets_palette_and_figure_size():
    with matplotlib.rc_context():
        plotting.use_style()
        cycle = [c["color"] for c in matplotlib.rcParams["axes.prop_cycle"]]
        assert [to_hex(c).upper() for c in cycle] == [
            c.upper() for c in plotting.PALETTE
        ]
        assert tuple(matplotlib.rcParams["figure.figsize"]) == (6.4, 4.0)
        assert matplotlib.rcParams["axes.grid"]
        assert plotting.SEQUENTIAL_CMAP in matplotlib.colormaps
    assert len(set(plotting.PALETTE)) == len(plotting.PALETTE) == 8


class _Square:
    name = "square"

    def __call__(self, x):
        return x**2

    def derivative(self, x):
        return 2 * x


def test_plot_functions_draws_curve_and_derivative():
    x = np.linspace(-2, 2, 101)
    ax = plotting.plot_functions({"sq": _Square(), "sin": np.sin}, x=x)
    lines = ax.get_lines()
    assert len(lines) == 4
    assert _legend_texts(ax) == ["sq", "sq′", "sin", "sin′ (numerical)"]
    assert_allclose(lines[1].get_ydata(), 2 * x)
    assert (
        lines[1].get_linestyle() == "--"
        and lines[0].get_color() == lines[1].get_color()
    )
    assert_allclose(
        lines[3].get_ydata()[1:-1], np.cos(x[1:-1]), atol=2e-3
    )  # finite-difference fallback
    assert ax.get_xlabel() == "x" and "f′(x)" in ax.get_ylabel()
    ax2 = plotting.plot_functions([_Square()], derivatives=False)
    assert len(ax2.get_lines()) == 1 and _legend_texts(ax2) == ["square"]


def test_plot_functions_bad_input():
    with pytest.raises(TypeError, match="callable"):
        plotting.plot_functions({"bad": 3})
    with pytest.raises(ValueError, match="element-wise"):
        plotting.plot_functions({"sum": np.sum})
    with pytest.raises(TypeError, match="Axes"):
        plotting.plot_functions({"sin": np.sin}, ax="axes")
    with pytest.raises(ValueError, match="at least one"):
        plotting.plot_functions({})


def test_plot_curves_stops_at_divergence_and_marks_it():
    curves = {"ok": [3.0, 2.0, 1.0], "blows up": [1.0, 10.0, 1e3, np.inf, np.nan, 5.0]}
    ax = plotting.plot_curves(curves, ylabel="loss", logy=True)
    ok, bad, cross = ax.get_lines()
    assert_allclose(bad.get_xdata(), [0, 1, 2]) and assert_allclose(
        bad.get_ydata(), [1, 10, 1e3]
    )
    assert cross.get_marker() == "x"
    assert_allclose(cross.get_xydata(), [[3, 1e3]])
    assert [t.get_text() for t in ax.texts] == ["diverged"]
    assert (
        ax.get_yscale() == "log"
        and ax.get_xlabel() == "epoch"
        and ax.get_ylabel() == "loss"
    )
    assert _legend_texts(ax) == ["ok", "blows up"]


def test_plot_curves_finite_curves_have_no_marker_and_nan_from_start_is_marked():
    ax = plotting.plot_curves({"a": [1, 2, 3]}, xlabel="step", ylabel="accuracy")
    assert len(ax.get_lines()) == 1 and not ax.texts and ax.get_xlabel() == "step"
    ax = plotting.plot_curves({"nan": [np.nan, 1.0]})
    assert [line.get_marker() for line in ax.get_lines()].count("x") == 1 and len(
        ax.texts
    ) == 1


def test_plot_curves_bad_input():
    with pytest.raises(TypeError, match="dict"):
        plotting.plot_curves([1, 2, 3])
    with pytest.raises(ValueError, match="1-D"):
        plotting.plot_curves({"a": np.ones((2, 2))})
    with pytest.raises(TypeError, match="real numbers"):
        plotting.plot_curves({"a": ["x", "y"]})


def test_plot_per_layer_grouped_bars_and_lines():
    ax = plotting.plot_per_layer(
        {"sigmoid": [1e-1, 1e-2, 1e-3], "relu": [1.0, np.inf, 2.0]}, "gradient norm"
    )
    bars = ax.patches
    assert len(bars) == 5  # the inf bar is not drawn ...
    assert [t.get_text() for t in ax.texts] == ["inf"]  # ... but labelled
    assert_allclose(
        sorted(b.get_x() + b.get_width() / 2 for b in bars), [0.8, 1.2, 1.8, 2.8, 3.2]
    )
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "3"]
    assert (
        ax.get_ylabel() == "gradient norm"
        and ax.get_xlabel() == "layer"
        and ax.get_yscale() == "log"
    )
    ax = plotting.plot_per_layer([0.5, 1.0, 2.0, 4.0], "std", logy=False, kind="line")
    (line,) = ax.get_lines()
    assert_allclose(line.get_xydata(), [[1, 0.5], [2, 1], [3, 2], [4, 4]])
    assert ax.get_legend() is None


def test_plot_per_layer_bad_input():
    with pytest.raises(ValueError, match="kind"):
        plotting.plot_per_layer([1, 2], "x", kind="pie")
    with pytest.raises(ValueError, match="1-D"):
        plotting.plot_per_layer(np.ones((2, 2)), "x")


def test_decision_boundary_regions_match_classes():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (60, 2))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)  # three classes

    def predict(Z):  # scores, one column per class
        return np.column_stack(
            [-Z[:, 0], Z[:, 0], 4 * (Z[:, 1] - 0.5) + np.abs(Z[:, 0])]
        )

    ax = plotting.plot_decision_boundary(predict, X, y, resolution=50)
    (cs,) = [c for c in ax.collections if hasattr(c, "levels")]
    assert len(cs.levels) - 1 == 3
    assert (
        sum(len(p.vertices) > 0 for p in cs.get_paths()) == 3
    )  # every class has a region
    scatters = [c for c in ax.collections if c is not cs]
    assert len(scatters) == 3 and sum(len(s.get_offsets()) for s in scatters) == 60
    assert _legend_texts(ax) == ["class 0", "class 1", "class 2"]
    assert ax.get_xlabel() == "$x_1$" and ax.get_ylabel() == "$x_2$"


def test_decision_boundary_thresholds_single_scores():
    X = np.array([[-1.0, 0.0], [1.0, 0.0]])
    ax = plotting.plot_decision_boundary(
        lambda Z: Z[:, 0] * 0.3, X, np.array([0, 1]), threshold=0.0, resolution=20
    )
    (cs,) = [c for c in ax.collections if hasattr(c, "levels")]
    assert sum(len(p.vertices) > 0 for p in cs.get_paths()) == 2


def test_decision_boundary_bad_input():
    X, y = np.zeros((4, 2)), np.array([0, 1, 0, 1])
    with pytest.raises(TypeError, match="predict must be callable"):
        plotting.plot_decision_boundary("f", X, y)
    with pytest.raises(ValueError, match="shape"):
        plotting.plot_decision_boundary(lambda Z: Z[:, 0], X, y[:3])
    with pytest.raises(ValueError, match="2 columns"):
        plotting.plot_decision_boundary(lambda Z: Z[:, 0], np.zeros((4, 3)), y)
    with pytest.raises(ValueError, match="predict must return"):
        plotting.plot_decision_boundary(lambda Z: Z[:5, 0], X, y, resolution=10)


def test_layer_histograms_one_panel_per_layer_with_shared_range():
    rng = np.random.default_rng(0)
    values = [rng.standard_normal((30, 10)) * s for s in (1.0, 0.5, 0.1)] + [
        np.array([0.0, np.nan])
    ]
    fig, axes = plotting.plot_layer_histograms(values, bins=20)
    assert len(axes) == 4 and len(fig.axes) == 4
    assert [a.get_title() for a in axes] == ["layer 1", "layer 2", "layer 3", "layer 4"]
    steps = [
        a.patches[0] for a in axes
    ]  # one StepPatch per panel (cheap to draw), not one bar per bin
    assert [len(a.patches) for a in axes] == [1] * 4 and all(
        len(p.get_data().values) == 20 for p in steps
    )
    assert all(a.get_xlim() == axes[0].get_xlim() for a in axes)
    assert_allclose(axes[0].get_xlim(), (values[0].min(), values[0].max()))
    assert steps[0].get_data().values.sum() == 300
    assert_allclose(
        steps[0].get_data().edges, np.linspace(values[0].min(), values[0].max(), 21)
    )
    assert [t.get_text() for t in axes[3].texts] == ["1 NaN/inf"]
    fig2, axs = plt.subplots(1, 2)
    _, out = plotting.plot_layer_histograms(
        [np.ones(3), np.zeros(3)], range=(-1, 2), axes=axs
    )
    assert out[0] is axs[0] and axs[1].get_xlim() == (-1.0, 2.0)


def test_layer_histograms_bad_input():
    with pytest.raises(TypeError, match="one array per layer"):
        plotting.plot_layer_histograms(np.ones((3, 4)))
    with pytest.raises(ValueError, match="range"):
        plotting.plot_layer_histograms([np.ones(3)], range=(2, 1))
    _, ax = plt.subplots()
    with pytest.raises(ValueError, match="expected 2 Axes"):
        plotting.plot_layer_histograms([np.ones(3), np.ones(3)], axes=[ax])


def _bowl(X, Y):
    return X**2 + 10 * Y**2


def test_contours_with_paths_and_a_diverging_path():
    good = np.array([[-2.0, 1.0], [-1.0, 0.5], [-0.2, 0.1]])
    bad = np.array([[1.0, 1.0], [-3.0, -3.0], [1e250, -1e250], [np.inf, np.nan]])
    ax = plotting.plot_contours(
        _bowl,
        (-3, 3),
        (-2, 2),
        levels=12,
        paths={"GD": good, "large η": bad},
        log_levels=True,
    )
    (cs,) = [c for c in ax.collections if hasattr(c, "levels")]
    assert len(cs.levels) == 12 and np.all(np.diff(np.log(cs.levels)) > 0)
    lines = ax.get_lines()
    assert len(lines) == 6  # path, start, end for each path
    assert_allclose(lines[0].get_xydata(), good)
    assert lines[1].get_marker() == "o" and lines[2].get_marker() == "*"
    assert_allclose(
        lines[3].get_xydata(), bad[:2]
    )  # stops before the huge and the NaN points
    assert lines[5].get_marker() == "x"
    assert _legend_texts(ax) == ["GD", "large η (diverged)"]
    assert ax.get_xlim() == (-3.0, 3.0) and ax.get_ylim() == (-2.0, 2.0)
    plotting.figure_to_png(ax.figure)  # renders without error


def test_contours_linear_levels_without_paths():
    ax = plotting.plot_contours(
        _bowl, (-1, 1), (-1, 1), levels=5, resolution=40, xlabel="a", ylabel="b"
    )
    (cs,) = [c for c in ax.collections if hasattr(c, "levels")]
    assert_allclose(
        cs.levels, np.linspace(0, 11, 5), atol=0.02
    )  # grid min 0 at the centre-ish, max 11
    assert ax.get_legend() is None and ax.get_xlabel() == "a" and not ax.get_lines()


def test_contours_bad_input():
    with pytest.raises(ValueError, match=r"shape \(k, 2\)"):
        plotting.plot_contours(_bowl, (-1, 1), (-1, 1), paths={"p": np.zeros((3, 3))})
    with pytest.raises(ValueError, match="xlim"):
        plotting.plot_contours(_bowl, (1, -1), (-1, 1))
    with pytest.raises(ValueError, match="grid shape"):
        plotting.plot_contours(lambda X, Y: X[0], (-1, 1), (-1, 1))
    with pytest.raises(TypeError, match="f must be callable"):
        plotting.plot_contours(None, (-1, 1), (-1, 1))
    with pytest.raises(ValueError, match="positive"):
        plotting.plot_contours(
            lambda X, Y: -_bowl(X, Y), (-1, 1), (-1, 1), log_levels=True
        )


def test_figure_to_png_is_valid_small_and_closes_the_figure():
    ax = plotting.plot_contours(
        _bowl, (-3, 3), (-2, 2), paths={"p": np.array([[-2.0, 1.0], [0.0, 0.0]])}
    )
    fig = ax.figure
    fig.set_size_inches(6.4, 4.0)
    raw = io.BytesIO()
    fig.savefig(raw, format="png", dpi=72)
    png = plotting.figure_to_png(fig, dpi=72)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    img = Image.open(io.BytesIO(png))
    assert (
        img.size == Image.open(raw).size == (int(6.4 * 72), int(4.0 * 72))
    )  # matplotlib truncates
    assert img.mode == "P" and len(img.getcolors()) <= 96
    assert len(png) < len(raw.getvalue())
    assert not plt.fignum_exists(fig.number)


def test_figure_to_png_bad_input():
    with pytest.raises(TypeError, match="Figure"):
        plotting.figure_to_png(plt.subplots()[1])
    with pytest.raises(ValueError, match="256"):
        plotting.figure_to_png(plt.figure(), colors=1000)
    with pytest.raises(ValueError, match="dpi"):
        plotting.figure_to_png(plt.figure(), dpi=0)


def test_rgba_to_png_round_trip_and_bad_input():
    rgba = np.zeros((3, 5, 4), dtype=np.uint8)
    rgba[..., 0], rgba[..., 3] = 200, 255
    img = Image.open(
        io.BytesIO(plotting.rgba_to_png(rgba, colors=None, optimize=False))
    )
    assert img.size == (5, 3) and img.convert("RGBA").getpixel((4, 2)) == (
        200,
        0,
        0,
        255,
    )
    for bad in (
        np.zeros((3, 5, 3), dtype=np.uint8),
        np.zeros((3, 5, 4)),
        np.zeros((0, 5, 4), dtype=np.uint8),
    ):
        with pytest.raises(ValueError, match=r"\(H, W, 4\) uint8"):
            plotting.rgba_to_png(bad)
    with pytest.raises(ValueError, match="256"):
        plotting.rgba_to_png(rgba, colors=300)


def test_check_legible_refuses_what_a_reader_could_not_read():
    check = plotting.check_legible
    with pytest.raises(TypeError, match="expected a matplotlib Figure"):
        check("fig", "here")
    fig = plt.figure(figsize=(6.6, 2.0))
    fig.text(0.5, 0.5, "fits", fontsize=10)
    check(fig, "here")  # shown cropped (a figure) or whole (an explorer frame)
    check(fig, "here", cropped=False)
    plt.close(fig)
    fig.canvas.draw()
    check(fig, "here", drawn=True)  # measured on the last drawing, even once closed
    fig.text(0.0, 0.2, "at the left edge", fontsize=10)
    fig.text(1.02, 0.5, "beyond the right edge", fontsize=10)
    wide = r"here: the figure is 8\.\d\d in wide.*beyond the right edge"
    with pytest.raises(ValueError, match=wide):
        check(fig, "here")  # cropped: the text widens the image past the column
    with pytest.raises(ValueError, match="cut off"):
        check(fig, "here", cropped=False)  # whole: the text is lost
    small = plt.figure(figsize=(3.0, 2.0))
    small.text(0.1, 0.5, "tiny", fontsize=8)
    with pytest.raises(ValueError, match=r"text below 9 pt.*tiny"):
        check(small, "here")
    plt.close("all")
