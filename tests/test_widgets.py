"""Tests of bookcode.display.widgets: live and static explorers, their wiring and their
input checks."""

import io

import matplotlib

matplotlib.use("Agg")

import ipywidgets as widgets  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from ipywidgets.widgets.widget_link import Link  # noqa: E402
from numpy.testing import assert_allclose  # noqa: E402
from PIL import Image  # noqa: E402

from bookcode.display.plotting import figure_to_png  # noqa: E402
from bookcode.display.widgets import MAX_FRAMES, STATIC_ENV, explorer  # noqa: E402

GREEN = {"x": 0.2, "y": 0.8}


def colour(a, b="x", c=0.5):
    """The colour a frame must have: red from a, green from b, blue from c."""
    return np.array([a / 4, GREEN[b], c])


class Draw:
    """A draw function whose figure is one flat colour that encodes the values; counts
    its calls."""

    def __init__(self):
        self.calls = []

    def __call__(self, **values):
        self.calls.append(values)
        return plt.figure(figsize=(0.5, 0.5), facecolor=colour(**values))


def pixel(png):
    """The colour (0..1) at the centre of a PNG image."""
    img = Image.open(io.BytesIO(png)).convert("RGB")
    return np.array(img.getpixel((img.width // 2, img.height // 2))) / 255


@pytest.fixture(autouse=True)
def _no_env(monkeypatch):
    monkeypatch.delenv(STATIC_ENV, raising=False)


def test_live_builds_sliders_and_redraws():
    draw = Draw()
    e = explorer(
        draw, {"a": [1, 2, 3], "b": ["x", "y"]}, labels={"a": "α (red)"}, dpi=20
    )
    assert not e.static and e.stack is None and e.links == []
    a, b = e.sliders["a"], e.sliders["b"]
    assert isinstance(a, widgets.SelectionSlider) and not a.continuous_update
    assert (a.description, b.description) == ("α (red)", "b")
    assert [label for label, _ in a.options] == ["1", "2", "3"]
    assert list(e.children[:2]) == [a, b] and e.image in e.children
    assert_allclose(pixel(e.image.value), colour(1, "x"), atol=1 / 255)
    first = e.image.value
    e.update(a=3)  # programmatic update
    assert e.values == {"a": 3, "b": "x"} and e.image.value != first
    assert_allclose(pixel(e.image.value), colour(3, "x"), atol=1 / 255)
    b.value = "y"  # as if the reader moved the slider
    assert_allclose(pixel(e.image.value), colour(3, "y"), atol=1 / 255)
    n = len(draw.calls)
    e.update(a=2, b="x")  # two sliders moved, one redraw
    assert draw.calls[n:] == [{"a": 2, "b": "x"}]
    assert_allclose(pixel(e.image.value), colour(2, "x"), atol=1 / 255)
    assert plt.get_fignums() == []  # every figure was closed


def test_live_ranges_give_free_sliders():
    draw = Draw()
    grid = {"a": [0.5, 1.0], "b": ["x", "y"], "c": [2, 4]}
    e = explorer(
        lambda a, b, c: draw(a=a, b=b, c=c / 8),
        grid,
        dpi=20,
        live_ranges={"a": (0.01, 3.0, 0.1, "log"), "c": (0, 8, 1)},
    )
    a, b, c = (e.sliders[k] for k in "abc")
    assert isinstance(a, widgets.FloatLogSlider) and isinstance(
        b, widgets.SelectionSlider
    )
    assert isinstance(c, widgets.IntSlider) and (c.min, c.max, c.step, c.value) == (
        0,
        8,
        1,
        2,
    )
    assert_allclose([a.min, a.max, a.value], [np.log10(0.01), np.log10(3.0), 0.5])
    e.update(a=2.37, c=7)  # values that are not on the grid
    assert draw.calls[-1] == {"a": 2.37, "b": "x", "c": 7 / 8}
    assert_allclose(pixel(e.image.value), colour(2.37, "x", 7 / 8), atol=1 / 255)
    f = explorer(draw, {"a": [0.5, 1.5]}, live_ranges={"a": (0.0, 3.0, 0.25)}, dpi=20)
    assert isinstance(f.sliders["a"], widgets.FloatSlider)
    for bad in (5.0, 0.0, -1.0, "2"):
        with pytest.raises(ValueError, match="outside the slider's range"):
            e.update(a=bad)
    with pytest.raises(ValueError, match="not one of the grid values"):
        e.update(b="z")


def test_live_draw_error_on_slider_change_is_shown_not_raised():
    def draw(a):
        if a == 2:
            raise RuntimeError("boom at a=2")
        return Draw()(a=a)

    e = explorer(draw, {"a": [1, 2]}, dpi=20)
    e.sliders["a"].value = 2
    assert "boom at a=2" in e.error.value
    e.sliders["a"].value = 1
    assert e.error.value == ""
    with pytest.raises(RuntimeError, match="boom"):  # programmatic updates do raise
        e.update(a=2)


def test_static_two_sliders_nested_stacks_and_links():
    draw = Draw()
    va, vb = [1, 2, 3], ["x", "y"]
    e = explorer(draw, {"a": va, "b": vb}, static=True, dpi=20)
    assert e.static and e.image is None and len(draw.calls) == 6
    a, b = e.sliders["a"], e.sliders["b"]
    assert isinstance(a, widgets.SelectionSlider) and [lab for lab, _ in b.options] == [
        "x",
        "y",
    ]
    outer = e.stack
    assert isinstance(outer, widgets.Stack) and len(outer.children) == 3
    for i, inner in enumerate(outer.children):
        assert isinstance(inner, widgets.Stack) and len(inner.children) == 2
        for j, frame in enumerate(inner.children):
            assert isinstance(frame, widgets.Image)
            assert_allclose(pixel(frame.value), colour(va[i], vb[j]), atol=1 / 255)
            assert frame.value == figure_to_png(draw(a=va[i], b=vb[j]), dpi=20)
    links = {(link.source, link.target) for link in e.links}
    assert len(e.links) == 4 and all(isinstance(link, Link) for link in e.links)
    assert ((a, "index"), (outer, "selected_index")) in links
    for inner in outer.children:
        assert ((b, "index"), (inner, "selected_index")) in links
    note = [c for c in e.children if isinstance(c, widgets.HTML)]
    assert len(note) == 1 and "Precomputed frames for 6 combinations" in note[0].value
    e.update(
        a=3, b="y"
    )  # Python-side Stacks follow too (in the browser the jslinks do it)
    assert (a.index, b.index, outer.selected_index) == (2, 1, 2)
    assert [inner.selected_index for inner in outer.children] == [1, 1, 1]
    assert plt.get_fignums() == []


def test_static_one_and_three_sliders():
    draw = Draw()
    e = explorer(draw, {"a": [0.5, 1.5, 2.5, 3.5]}, static=True, note=False, dpi=20)
    assert len(e.stack.children) == 4 and len(e.links) == 1
    assert not any(isinstance(c, widgets.HTML) for c in e.children)
    assert_allclose(pixel(e.stack.children[2].value), colour(2.5), atol=1 / 255)
    e = explorer(draw, {"a": [1, 2]}, static=True, note="Frames <of> runs", dpi=20)
    notes = [c.value for c in e.children if isinstance(c, widgets.HTML)]
    assert notes == [
        "<small><i>Frames &lt;of&gt; runs</i></small>"
    ]  # the text, escaped
    grid = {"a": [1, 3], "b": ["x", "y"], "c": [0.0, 1.0]}
    e = explorer(draw, grid, static=True, dpi=20)
    assert len(e.links) == 1 + 2 + 4
    for i in range(2):
        for j in range(2):
            for k in range(2):
                frame = e.stack.children[i].children[j].children[k]
                want = colour(grid["a"][i], grid["b"][j], grid["c"][k])
                assert_allclose(pixel(frame.value), want, atol=1 / 255)


def test_environment_variable_chooses_the_mode(monkeypatch):
    grid = {"a": [1, 2]}
    assert not explorer(Draw(), grid, dpi=20).static
    monkeypatch.setenv(STATIC_ENV, "1")
    assert explorer(Draw(), grid, dpi=20).static
    assert not explorer(Draw(), grid, dpi=20, static=False).static
    monkeypatch.setenv(STATIC_ENV, "0")
    assert not explorer(Draw(), grid, dpi=20).static
    assert explorer(Draw(), grid, dpi=20, static=True).static
    monkeypatch.setenv(STATIC_ENV, "maybe")
    with pytest.raises(ValueError, match="BOOKCODE_STATIC must be '1'"):
        explorer(Draw(), grid, dpi=20)


def test_live_ranges_are_ignored_in_static_mode():
    e = explorer(
        Draw(),
        {"a": [1.0, 2.0]},
        static=True,
        dpi=20,
        live_ranges={"a": (0.5, 3.0, 0.1)},
    )
    assert (
        isinstance(e.sliders["a"], widgets.SelectionSlider)
        and len(e.stack.children) == 2
    )


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(draw=42), TypeError, "draw"),
        (dict(grid=[("a", [1, 2])]), TypeError, "grid must be a dict"),
        (dict(grid={}), ValueError, "1 to 3 entries"),
        (dict(grid={k: [1, 2] for k in "abcd"}), ValueError, "got 4"),
        (dict(grid={1: [1, 2]}), TypeError, "parameter names"),
        (dict(grid={"a": []}), ValueError, "empty"),
        (dict(grid={"a": "xy"}), TypeError, "list of slider values"),
        (dict(grid={"a": 3}), TypeError, "list of slider values"),
        (dict(grid={"a": [0.1, 0.1]}), ValueError, "duplicate values"),
        (dict(grid={"a": [1, 1.0]}), ValueError, "duplicate values"),
        (dict(grid={"a": [1, None]}), TypeError, "numbers or strings"),
        (dict(grid={"a": [1, float("nan")]}), ValueError, "finite"),
        (
            dict(grid={"a": list(range(9)), "b": list(range(8))}),
            ValueError,
            f"at most {MAX_FRAMES} frames",
        ),
        (dict(labels={"z": "zed"}), ValueError, "unknown name 'z'"),
        (dict(labels={"a": 3}), TypeError, r"labels\['a'\] must be a string"),
        (dict(labels=["a"]), TypeError, "labels must be a dict"),
        (dict(static="yes"), TypeError, "static must be True, False or None"),
        (dict(live_ranges={"z": (0, 1, 0.1)}), ValueError, "unknown name 'z'"),
        (dict(live_ranges={"a": (0, 1)}), TypeError, r"\(min, max, step\)"),
        (dict(live_ranges={"a": (0, 4, 0.1, "lin")}), ValueError, "only be 'log'"),
        (dict(live_ranges={"a": (3, 0, 0.1)}), ValueError, "min < max"),
        (dict(live_ranges={"a": (0, 4, 0)}), ValueError, "step"),
        (dict(live_ranges={"a": (0, 4, 0.1, "log")}), ValueError, "min must be > 0"),
        (dict(live_ranges={"a": (2, 4, 0.1)}), ValueError, "within live_ranges"),
        (
            dict(live_ranges={"a": ("0", 4, 0.1)}),
            TypeError,
            "min must be a finite number",
        ),
        (dict(dpi=0), ValueError, "dpi"),
        (dict(dpi=7.5), TypeError, "dpi"),
        (dict(note=1), TypeError, "note must be True, False or a str"),
    ],
)
def test_bad_inputs(kwargs, exc, match):
    args = dict(draw=Draw(), grid={"a": [1, 2]})
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        explorer(args.pop("draw"), args.pop("grid"), dpi=args.pop("dpi", 20), **args)


@pytest.mark.parametrize("static", [False, True])
def test_draw_must_return_a_figure(static):
    def returns_axes(a):
        return plt.subplots()[1]

    with pytest.raises(
        TypeError, match=r"draw\(a=1\) must return a matplotlib.figure.Figure, got Axes"
    ):
        explorer(returns_axes, {"a": [1, 2]}, static=static)
    with pytest.raises(TypeError, match="got NoneType"):
        explorer(lambda a: None, {"a": [1, 2]}, static=static)
    assert plt.get_fignums() == []  # the stray figure of the Axes was closed


def test_update_rejects_unknown_names_and_repr():
    def draw_red(a):
        return Draw()(a=a)

    e = explorer(draw_red, {"a": [1, 2]}, static=True, dpi=20)
    assert repr(e) == "Explorer(static, draw='draw_red', values={'a': 1})"
    with pytest.raises(ValueError, match=r"unknown name\(s\) \['z'\]"):
        e.update(z=1)
    with pytest.raises(ValueError, match="not one of the grid values"):
        e.update(a=7)


def test_instances_lists_created_explorers():
    import matplotlib.pyplot as plt

    from bookcode.display import widgets as W

    def draw(a):
        fig, ax = plt.subplots()
        ax.plot([0, a])
        return fig

    before = len(W.instances())
    ex = W.explorer(draw, {"a": [1, 2]}, static=False)
    assert W.instances()[-1] is ex and len(W.instances()) == before + 1


def _frame(width=6.6, font=10.0, text_at=0.5):
    fig = plt.figure(figsize=(width, 2.0))
    fig.text(text_at, 0.5, "label", fontsize=font)
    return fig


def test_frames_are_drawn_at_the_size_they_are_shown():
    """At the default 100 dpi a 6.6 in frame is 660 px: the page column at 1280 px, so
    its text is shown at its drawn size (tests/test_browser.py checks the page)."""
    e = explorer(lambda a: _frame(), {"a": [1, 2]})
    assert Image.open(io.BytesIO(e.image.value)).size == (660, 200)
    plt.close("all")


@pytest.mark.parametrize("static", [False, True])
@pytest.mark.parametrize(
    "kw, match",
    [
        ({"width": 7.0}, "7.00 x 2.00 in"),
        ({"font": 8.0}, "text below 9 pt"),
        ({"text_at": 0.97}, "cut off"),
        ({"text_at": -0.02}, "cut off"),
    ],
)
def test_illegible_frames_are_refused(static, kw, match):
    with pytest.raises(ValueError, match=match) as err:
        explorer(lambda a: _frame(**kw), {"a": [1, 2]}, static=static)
    assert "explorer frame draw(a=1)" in str(err.value)
    assert plt.get_fignums() == []  # the refused frame was closed


def test_a_later_static_frame_is_checked_too():
    with pytest.raises(ValueError, match=r"draw\(a=2\).*text below 9 pt"):
        explorer(lambda a: _frame(font=12 - 2 * a), {"a": [1, 2]}, static=True)
    plt.close("all")
