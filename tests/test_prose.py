"""bookcode.display.prose: say() publishes what both readers of {eval} read, and
show_figure() makes a figure its cell's one output."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from IPython.core.interactiveshell import InteractiveShell  # noqa: E402
from IPython.core.pylabtools import select_figure_formats  # noqa: E402

from bookcode.display import prose  # noqa: E402


@pytest.fixture
def shell(monkeypatch):
    """An IPython shell whose displayed outputs are recorded: [(data, metadata)]."""
    ip = InteractiveShell.instance()
    select_figure_formats(ip, {"png"})  # as the inline backend of a kernel does
    published = []
    monkeypatch.setattr(
        ip.display_pub,
        "publish",
        lambda data, metadata=None, **kw: published.append((data, metadata or {})),
    )
    yield ip, published
    for name in [k for k in ip.user_ns if k.startswith("t_")]:
        del ip.user_ns[name]


def test_text_reads_as_itself():
    t = prose.Text("0.12")
    assert repr(t) == "0.12" and str(t) == "0.12" and t == "0.12"


def test_outside_ipython_say_only_formats():
    assert prose.say("t_x", np.float64(0.123456), ".2f") == "0.12"
    assert prose.say("t_y", 0.5, ".0%") == "50%"
    assert prose.say("t_z", 1234567, ",d") == "1,234,567"
    assert prose.say("t_w", "ReLU") == "ReLU"


@pytest.mark.parametrize("name", ["a-b", "1x", "", "for", "x y"])
def test_a_name_must_be_an_identifier(name):
    with pytest.raises(ValueError, match="identifier"):
        prose.say(name, 1.0)


def test_bad_arguments_say_what_was_expected():
    with pytest.raises(TypeError, match="name must be a str"):
        prose.say(3, 1.0)
    with pytest.raises(TypeError, match="format spec"):
        prose.say("t_a", 1.0, 2)
    with pytest.raises(ValueError, match=r"cannot format 'abc' \(str\) with '.2f'"):
        prose.say("t_a", "abc", ".2f")


def test_in_a_kernel_say_binds_the_name_and_writes_mystnbs_glue_record(shell):
    ip, published = shell
    assert prose.say("t_lr", np.float64(0.0123), ".1e") is None  # no echo in a cell
    assert repr(ip.user_ns["t_lr"]) == "1.2e-02"  # what a live {eval}`t_lr` shows
    # what the HTML build reads: exactly the record myst_nb.glue writes for that text
    from myst_nb import glue

    glue("t_lr", prose.Text("1.2e-02"), display=False)
    assert len(published) == 2 and published[0] == published[1]
    data, metadata = published[0]
    assert data == {"application/papermill.record/text/plain": "1.2e-02"}
    assert metadata["scrapbook"]["name"] == "t_lr"


def test_show_figure_shows_one_image_and_closes_the_figure(shell):
    _, published = shell
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    prose.show_figure(fig)
    assert not plt.fignum_exists(fig.number)
    assert len(published) == 1 and "image/png" in published[0][0]
    with pytest.raises(TypeError, match="expected a matplotlib Figure, got Axes"):
        prose.show_figure(ax)


def test_show_figure_refuses_a_figure_wider_than_the_column_or_tiny_text(shell):
    _, published = shell
    before = set(plt.get_fignums())
    fig = plt.figure(figsize=(9.6, 3.8))
    with pytest.raises(ValueError, match=r"9.60 in wide.*figsize=\(6.6, h\)"):
        prose.show_figure(fig)
    # a fixed layout (constrained layout, on after plotting.use_style, would make room)
    fig, ax = plt.subplots(figsize=(6.6, 3), layout="none")
    ax.plot([0, 1], label="a long label")
    ax.legend(loc="upper left", bbox_to_anchor=(1, 1))  # outside the canvas
    with pytest.raises(ValueError, match=r"in wide \(with what is drawn outside"):
        prose.show_figure(fig)
    fig, ax = plt.subplots(figsize=(6.6, 3))
    ax.set_title("fine")
    ax.text(0, 0, "too small", fontsize=8)
    with pytest.raises(ValueError, match=r"below 9 pt.*too small"):
        prose.show_figure(fig)
    # nothing shown, and none of the refused figures left open
    assert not published and set(plt.get_fignums()) <= before
