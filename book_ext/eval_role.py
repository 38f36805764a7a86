"""``{eval}`name``` in the HTML build: the text ``bookcode.display.say`` published.

myst-nb's own ``{eval}`` role needs a live kernel (``execute_notebooks: inline``), which
this book does not use: in inline mode cells tagged ``remove-cell`` run late, so numbers
they compute are missing where the text uses them (MyST-NB#418), and there is no
jupyter-cache. The book executes in cache mode, and this role reads the same name from
the notebook's glue records instead; ``say`` writes one per name. A live notebook with
jupyterlab-myst evaluates the same ``{eval}`name``` in the kernel, where ``say`` bound
the name to the same text.

A name that no cell published is a build warning (an error under ``-W``).
"""

from myst_nb.core.variables import (
    RetrievalError,
    create_warning,
    render_variable_outputs,
)
from myst_nb.ext.glue.utils import retrieve_glue_data
from myst_nb.ext.utils import RoleBase


class EvalFromGlue(RoleBase):
    """The ``eval`` role of this book (replaces myst-nb's)."""

    def run(self):
        try:
            data = retrieve_glue_data(self.document, self.text)
        except RetrievalError as exc:
            msg = f"{{eval}}`{self.text}`: {exc} (publish it with bookcode's say())"
            return [], [
                create_warning(self.document, msg, subtype="eval", line=self.line)
            ]
        data.metadata["strip_text_quotes"] = True
        nodes = render_variable_outputs(
            [data], self.document, self.line, self.source, inline=True
        )
        return nodes, []


def setup(app):
    app.setup_extension("myst_nb")
    app.add_role("eval", EvalFromGlue(), override=True)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
