"""Helpers of the training tests (with the ``low_labels`` fixture of ``conftest.py``)."""

from __future__ import annotations

from sertutor.train import Callback


class InterruptAt(Callback):
    """Stop a run as Ctrl-C would, at the end of step ``at`` (for the resumption tests)."""

    def __init__(self, at: int):
        self.at = at

    def on_step_end(self, trainer, step, logs):
        if step == self.at:
            raise KeyboardInterrupt


def low_label_trainer(data, variant: str, **train):
    """A CPU :class:`~sertutor.train.Trainer` of ``variant`` on ``low_labels``' data, seeded,
    with ``train`` as ``train.*`` overrides of the tiny preset."""
    import torch

    from sertutor.config import get_config
    from sertutor.pipeline import build_model
    from sertutor.train import Trainer

    cfg = get_config("tiny", model__variant=variant, train__label_fraction=0.3,
                     **{f"train__{k}": v for k, v in train.items()})
    torch.manual_seed(0)
    model = build_model(cfg, n_speakers=len(data.label_maps.speakers))
    return Trainer(model, data.streams, config=cfg, device="cpu", progress=False)
