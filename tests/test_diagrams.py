"""bookcode.display.diagrams: each diagram is a figure the book can show (column width,
no small text) and names what it must."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from bookcode.display import diagrams, plotting  # noqa: E402

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
    try:
        assert fig.get_figwidth() <= plotting.HOUSE_WIDTH
        texts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text()]
        assert min(t.get_fontsize() for t in texts) >= plotting.MIN_FONT
        words = " ".join(t.get_text() for t in texts)
        for word in EXPECTED[name]:
            assert word in words, f"{name}: no {word!r}"
        fig.canvas.draw()  # the mathtext parses
    finally:
        plt.close(fig)
