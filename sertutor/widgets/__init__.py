"""Plotly figures and ipywidgets apps, each usable in one line from a notebook.

>>> from sertutor.widgets import LatentExplorer, ConfusionMatrix      # doctest: +SKIP
>>> LatentExplorer(model, "synth-emo", config=config, meta=meta)      # doctest: +SKIP

- :class:`LatentExplorer`: a 2-D map (UMAP / PCA / t-SNE) of utterances' codes; click to hear.
- :class:`ConfusionMatrix`: counts and recall, UAR and WA, two models side by side.
- :class:`TrainingDashboard`: a training callback drawing every phase's losses live.
- :class:`PriorSampler`: decode a chosen emotion and style code into a log-mel and sound.
- :class:`VoiceLab`: the synthetic voice's emotion cues on sliders.
- :func:`collect_utterances`: run a model over utterances once, for any of the above.

Every widget also gives a plain plotly figure (``static_figure()``) for ``report.html`` and
exported notebooks; :mod:`sertutor.widgets.figures` holds the figure functions they share.

Importing this package is cheap: the names above are loaded on first use (module
``__getattr__``), so torch, plotly and ipywidgets are imported only then.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Public name -> submodule that defines it.
_EXPORTS = {
    "LatentExplorer": "latent",
    "ConfusionMatrix": "confusion",
    "TrainingDashboard": "dashboard",
    "PriorSampler": "prior",
    "VoiceLab": "voicelab",
    "collect_utterances": "utterances",
    "Utterances": "utterances",
    "confusion_figure": "figures",
    "confusion_comparison_figure": "figures",
    "training_curves_figure": "figures",
    "latent_figure": "figures",
    "utterance_figure": "figures",
    "embed_2d": "figures",
    "spectrogram_grid_figure": "figures",
}

__all__ = [
    "ConfusionMatrix",
    "LatentExplorer",
    "PriorSampler",
    "TrainingDashboard",
    "Utterances",
    "VoiceLab",
    "collect_utterances",
    "confusion_comparison_figure",
    "confusion_figure",
    "embed_2d",
    "latent_figure",
    "spectrogram_grid_figure",
    "training_curves_figure",
    "utterance_figure",
]
assert sorted(__all__) == sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Import the submodule defining ``name`` on first access."""
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
