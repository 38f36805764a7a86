import pytest

from bookcode.display import show_source
from bookcode.gradcheck import rel_error


def test_show_source_renders_fenced_python():
    block = show_source(rel_error)
    md = block._repr_markdown_()
    assert md.startswith("```python\ndef rel_error(")
    assert "np.linalg.norm(a - b)" in md
    assert '"""Relative error' in md


def test_show_source_without_docstring():
    md = show_source(rel_error, docstring=False)._repr_markdown_()
    assert "def rel_error(a, b):" in md and "Relative error" not in md
    assert "np.linalg.norm(a - b)" in md


def test_show_source_bad_input():
    with pytest.raises(TypeError, match="function, method or class"):
        show_source(42)


def test_answer_listing_without_its_body():
    from bookcode.activations import elu_derivative
    from bookcode.layers import Linear

    full = show_source(Linear.backward, answer_to="ex-bp-linear").source
    cut = show_source(Linear.backward, answer_to="ex-bp-linear", body=False).source
    assert (
        full.startswith("def backward(self, dY):") and "X.T" in full
    )  # the instructor listing is the answer
    assert cut.splitlines() == [
        "def backward(self, dY):",
        "    ...  # the body is the answer to exercise ex-bp-linear: write it yourself",
    ]
    # decorators and the docstring stay (unless docstring=False), the body goes
    cut = show_source(elu_derivative, answer_to="ex-act-elu", body=False).source
    assert (
        cut.startswith("@np.errstate")
        and "Derivative of ELU" in cut
        and "np.where" not in cut
    )
    assert "np.where" in show_source(elu_derivative).source
    no_doc = show_source(
        elu_derivative, docstring=False, answer_to="ex-act-elu", body=False
    ).source
    assert "Derivative of ELU" not in no_doc and no_doc.rstrip().endswith(
        "write it yourself"
    )
    # answer_to alone changes nothing: the instructor edition shows the whole listing
    assert (
        show_source(Linear.backward, answer_to="ex-bp-linear").source
        == show_source(Linear.backward).source
    )


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"body": False}, ValueError, "answer_to"),
        ({"answer_to": "", "body": False}, TypeError, "exercise label"),
        ({"answer_to": 3}, TypeError, "exercise label"),
        ({"answer_to": "ex-a", "body": 0}, TypeError, "True or False"),
    ],
)
def test_answer_listing_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        show_source(rel_error, **kwargs)
    from bookcode.layers import Linear

    with pytest.raises(TypeError, match="signature"):
        show_source(Linear, answer_to="ex-a", body=False)
