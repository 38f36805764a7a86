"""bookcode.display.diagrams: each diagram is a figure the book can show (column width,
no small text) and names what it must."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from bookcode.display import diagrams, plotting, prose  # noqa: E402

EXPECTED = {
    "layer_protocol": ["forward", "backward", "cache", "grads"],
    "batchnorm_flow": ["mu_B", "gamma", "cache", "project out the mean"],
    "residual_blocks": ["post-activation", "pre-activation", "identity", "BN", "ReLU"],
    "lstm_cell": [
        *("$c_{t-1}$", "$c_t$", "$h_{t-1}$", "$h_t$", "$x_t$"),
        *("$f_t$", "$i_t$", "$g_t$", "$o_t$", "forget", "cell state"),
        r"$\partial E/\partial c_{t-1} = \partial E/\partial c_t \circ f_t",
    ],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_diagram_fits_the_column_with_legible_labels(name):
    with matplotlib.rc_context():  # the house style, for this test only
        plotting.use_style()
        fig = getattr(diagrams, name)()
    texts = [t.get_text() for t in fig.findobj(Text) if t.get_visible()]
    for word in EXPECTED[name]:
        assert any(word in t for t in texts), f"{name}: no {word!r}"
    # the rules of every figure of the book: column width, nothing outside the canvas,
    # no text below 9 pt (show_figure raises otherwise; it also draws, so the mathtext
    # parses, and closes the figure)
    prose.show_figure(fig)
    assert not plt.fignum_exists(fig.number)


def test_the_lstm_gradient_runs_back_along_the_cell_state():
    # one dashed arrow in the backward colour, from c_t on the right to c_{t-1} on
    # the left, straight along the highway; its label in the same colour
    from matplotlib.colors import same_color
    from matplotlib.text import Annotation

    fig = diagrams.lstm_cell()
    labels = {t.get_text(): t for t in fig.findobj(Text)}
    back = [
        a
        for a in fig.findobj(Annotation)
        if same_color(a.arrow_patch.get_edgecolor(), diagrams.BACKWARD)
    ]
    assert len(back) == 1 and back[0].arrow_patch.get_linestyle() not in ("-", "solid")
    (x_head, y_head), (x_tail, y_tail) = back[0].xy, back[0].xyann
    start, end = labels["$c_t$"].get_position(), labels["$c_{t-1}$"].get_position()
    assert y_head == y_tail > start[1] == end[1]  # just above the highway
    assert x_tail > start[0] - 1 and x_head < end[0] + 1
    grad = next(t for s, t in labels.items() if s.startswith(r"$\partial E/"))
    assert same_color(grad.get_color(), diagrams.BACKWARD)
    plt.close(fig)
