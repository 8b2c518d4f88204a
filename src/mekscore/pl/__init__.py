"""Plots of verdicts and sample-level scores (matplotlib; no ``plt.show()``).

Each function draws into ``ax`` when given, otherwise into a new pyplot figure,
and returns the Axes.
"""

from ._composition import composition
from ._effects import effect_sizes
from ._heatmap import contrast_overview, verdict_heatmap
from ._samples import sample_scores
from ._style import VERDICT_COLORS

__all__ = [
    "VERDICT_COLORS",
    "composition",
    "contrast_overview",
    "effect_sizes",
    "sample_scores",
    "verdict_heatmap",
]
