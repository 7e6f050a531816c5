"""A matplotlib backend for scripts: ``plt.show()`` hands every open figure to the run's outputs.

Selected by the script runner with ``MPLBACKEND=module://tasks.scripting.mplbackend`` (and
``matplotlib.use`` when matplotlib was imported already). Drawing is Agg's; ``show`` keeps each
figure as SVG (`tasks.scripting.outputs.add_figure`) and closes it, as Jupyter's inline backend
does after a cell. Figures a script leaves open are kept at the end of the run as well.
"""

from __future__ import annotations

from typing import Any

from matplotlib.backend_bases import FigureManagerBase
from matplotlib.backends.backend_agg import FigureCanvasAgg

from tasks.scripting import outputs

FigureCanvas = FigureCanvasAgg
FigureManager = FigureManagerBase


def show(*_args: Any, **_kwargs: Any) -> None:
    """Keep every open figure as an output of the run and close them."""
    outputs.flush_figures()
