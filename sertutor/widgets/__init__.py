"""Plotly figures and ipywidgets apps.

:mod:`sertutor.widgets.figures` holds plain plotly figures (usable in exported HTML and in the
``report.html`` of a run); the interactive apps build on them. Import cost stays low: plotly
is imported only when a figure is made.
"""

from .figures import confusion_figure, embed_2d, latent_figure, training_curves_figure

__all__ = ["confusion_figure", "training_curves_figure", "latent_figure", "embed_2d"]
