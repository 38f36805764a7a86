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
