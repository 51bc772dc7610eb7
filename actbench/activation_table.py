"""The table `actbench activations` prints: every activation in the catalogue with its default
parameters, its initialiser and its formula."""

from __future__ import annotations

from rich.table import Table

from actbench.activations import CATALOGUE
from actbench.naming import activation_label

# How to write one, printed under the table.
HOW_TO_WRITE = (
    "Write one as a name (relu), a label as printed above (leaky_relu(alpha=0.2)) or a mapping "
    "({name: leaky_relu, alpha: 0.2}); your own as 'package.module:function' (Glorot initialiser unless the model sets one)."
)


def activation_table() -> Table:
    """Formulas wrap inside their column on a narrow terminal; piped output keeps one line per activation."""
    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column("name (default parameters)", no_wrap=True)
    table.add_column("initialiser", no_wrap=True)
    table.add_column("formula")
    for info in CATALOGUE.values():
        aliases = f" (also: {', '.join(info.aliases)})" if info.aliases else ""
        table.add_row(activation_label(info.name, info.defaults), info.initializer, info.summary + aliases)
    return table
