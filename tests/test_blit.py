"""Tests of bookcode.display.blit: blitted frames equal full redraws, and the background
is renewed when it must be."""

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from bookcode.display.blit import BlitFrames  # noqa: E402
from bookcode.display.plotting import figure_to_png  # noqa: E402
from bookcode.display.widgets import explorer  # noqa: E402

X = np.linspace(0, 1, 50)


def make():
    """A figure like an explorer's: two axes, fixed limits, a changing line, title,
    legend and a static curve."""
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(4, 2.4), layout="none")
    # axes whose drawings overlap could differ in the overlap (blit docstring); margins
    # keep every label on the canvas (explorer frames must be legible)
    fig.subplots_adjust(wspace=0.6, left=0.15, right=0.97, bottom=0.22, top=0.86)
    ax0.plot(X, X**2, color="0.6", label="fixed")
    (line,) = ax0.plot(X, X, color="C1", label="a = ?")
    ax0.set(xlim=(0, 1), ylim=(-2, 2), xlabel="x", ylabel="y")
    leg = ax0.legend(loc="lower left", fontsize=9)
    (dots,) = ax1.semilogy(X, np.exp(X), ".")
    ax1.set_ylim(0.1, 100)
    title = ax0.set_title("")

    def update(a):
        line.set_ydata(a * np.sin(6 * X))
        leg.get_texts()[1].set_text(f"a = {a:g}")
        dots.set_ydata(np.exp(a * X))
        title.set_text(f"a = {a:g}")
        return [line, leg, dots, title]

    return fig, update


def rgba(png):
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))


@pytest.mark.parametrize("a", [0.5, -1.3, 1.9])
def test_blitted_frames_equal_a_full_redraw(a):
    fig, update = make()
    frames = BlitFrames(fig, update, dpi=50)
    for first in (1.0, -0.7):  # a background from other values, then blits
        frames.render({"a": first})
    blitted = rgba(frames.render({"a": a}))
    assert frames.full_renders == 1
    ref_fig, ref_update = make()
    ref_update(a=a)
    full = rgba(figure_to_png(ref_fig, dpi=50, colors=None, optimize=False))
    assert blitted.shape == full.shape
    np.testing.assert_array_equal(
        blitted, full
    )  # Agg is deterministic: the same pixels


def test_background_is_renewed_when_the_axes_change():
    fig, update = make()
    ax0 = fig.axes[0]
    state = {}

    def wrapped(a):
        out = update(a)
        if "ylim" in state:
            ax0.set_ylim(*state["ylim"])
        if "ticks" in state:
            ax0.set_xticks(state["ticks"])
        if "label" in state:
            ax0.set_xlabel(state["label"])
        return out

    frames = BlitFrames(fig, wrapped, dpi=40)
    frames.render({"a": 1.0})
    frames.render({"a": 0.3})
    assert frames.full_renders == 1
    for key, value, expected in (
        ("ylim", (-3, 3), 2),
        ("ticks", [0, 0.25, 1], 3),
        ("label", "time", 4),
    ):
        state[key] = value
        png = frames.render({"a": 0.7})
        assert frames.full_renders == expected, key
        ref_fig, ref_update = make()
        ref_update(a=0.7)
        ref_fig.axes[0].set_ylim(*state["ylim"])
        if "ticks" in state:
            ref_fig.axes[0].set_xticks(state["ticks"])
        if "label" in state:
            ref_fig.axes[0].set_xlabel(state["label"])
        np.testing.assert_array_equal(
            rgba(png), rgba(figure_to_png(ref_fig, dpi=40, colors=None, optimize=False))
        )
        frames.render({"a": 0.2})  # unchanged axes again: blitted
        assert frames.full_renders == expected


def test_an_artist_no_longer_returned_stays_in_the_picture():
    fig, ax = plt.subplots(figsize=(2, 2), layout="none")
    ax.set(xlim=(0, 1), ylim=(0, 1))
    ax.axis("off")
    square = ax.fill_between([0.4, 0.6], 0.4, 0.6, color="red")
    calls = []

    def update(show):
        calls.append(show)
        square.set_color("red" if show == "red" else "blue")
        return [square] if len(calls) < 3 else []

    frames = BlitFrames(fig, update, dpi=30)
    centre = lambda png: tuple(rgba(png)[30, 30, :3])  # noqa: E731
    assert centre(frames.render({"show": "red"})) == (255, 0, 0)
    assert centre(frames.render({"show": "blue"})) == (0, 0, 255)
    assert centre(frames.render({"show": "red"})) == (
        255,
        0,
        0,
    )  # now drawn in the background
    assert frames.full_renders == 2 and not square.get_animated()


def test_bad_input_is_explained():
    fig, update = make()
    with pytest.raises(TypeError, match="Figure"):
        BlitFrames(fig.axes[0], update)
    with pytest.raises(TypeError, match="update"):
        BlitFrames(fig, "update")
    with pytest.raises(TypeError, match="list of artists it changed"):
        BlitFrames(fig, lambda a: fig).render({"a": 1})
    with pytest.raises(TypeError, match="not a matplotlib artist"):
        BlitFrames(fig, lambda a: [a]).render({"a": 1})
    leg = fig.axes[0].get_legend()
    with pytest.raises(ValueError, match="not one of its texts"):
        BlitFrames(fig, lambda a: [leg.get_texts()[0]]).render({"a": 1})
    other, ax = plt.subplots()
    (stray,) = ax.plot([0, 1])
    with pytest.raises(ValueError, match="direct child"):
        BlitFrames(fig, lambda a: [stray]).render({"a": 1})
    plt.close("all")
    with pytest.raises(TypeError, match="figure must be a matplotlib Figure"):
        explorer(update, {"a": [1, 2]}, figure=update)


def test_explorer_with_a_figure_live_and_static():
    fig, update = make()
    calls = []

    def draw(a):
        calls.append(a)
        return update(a)

    e = explorer(
        draw,
        {"a": [0.5, 1.0, 1.5]},
        figure=fig,
        dpi=40,
        live_ranges={"a": (0.1, 2.0, 0.1)},
    )
    assert (
        plt.get_fignums() == []
    )  # the explorer owns the figure: the notebook does not show it twice
    e.update(a=1.23)
    ref_fig, ref_update = make()
    ref_update(a=1.23)
    np.testing.assert_array_equal(
        rgba(e.image.value),
        rgba(figure_to_png(ref_fig, dpi=40, colors=None, optimize=False)),
    )
    assert e.frames.full_renders == 1 and calls == [0.5, 1.23]
    fig2, update2 = make()
    s = explorer(
        lambda a: update2(a), {"a": [0.5, 1.0, 1.5]}, figure=fig2, dpi=40, static=True
    )
    frames = [rgba(img.value) for img in s.stack.children]
    assert len(frames) == 3 and s.frames.full_renders == 1
    assert not np.array_equal(frames[0], frames[1]) and not np.array_equal(
        frames[1], frames[2]
    )


def test_explorer_refuses_an_illegible_figure():
    fig, update = make()

    def draw(a):
        changed = update(a)
        changed[-1].set_fontsize(12 - 2 * a)  # the title: 8 pt at a = 2
        return changed

    with pytest.raises(ValueError, match=r"draw\(a=2\).*text below 9 pt"):
        explorer(draw, {"a": [1, 2]}, figure=fig, static=True)
