"""benchmarks/phase_gradients.py: what each phase sends to the encoder and how far each
optimiser step moves it, on the tiny preset."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import phase_gradients  # noqa: E402  (benchmarks/phase_gradients.py)
from sertutor.config import get_config  # noqa: E402
from sertutor.pipeline import build_model  # noqa: E402
from sertutor.train import Trainer  # noqa: E402


def _trainer(data, mode: str) -> Trainer:
    cfg = get_config("tiny", model__variant="full", train__label_fraction=0.3,
                     train__optimizer_steps=mode)
    torch.manual_seed(0)
    model = build_model(cfg, n_speakers=len(data.label_maps.speakers))
    return Trainer(model, data.streams, config=cfg, device="cpu", progress=False)


@pytest.mark.parametrize("mode", ["per_phase", "per_step"])
def test_each_phase_is_measured_and_the_trainer_is_left_as_it_was(low_labels, mode):
    trainer = _trainer(low_labels, mode)
    grads, moves, cosines = phase_gradients.encoder_gradients(trainer, 3)
    assert set(grads) == set(phase_gradients.PHASES)
    assert all(len(v) == 3 and all(g > 0 for g in v) for v in grads.values())
    # the supervised gradient dominates the encoder's (issue #14, session 8)
    assert min(grads["supervised_phase"]) > max(grads["reconstruction_phase"])
    if mode == "per_phase":  # three updates a step, each moving the encoder
        assert set(moves) == set(phase_gradients.PHASES) == set(cosines)
        assert all(c == pytest.approx(1.0) for c in cosines["supervised_phase"])
    else:  # one update a step
        assert set(moves) == {"one step"} and not cosines
    assert all(len(v) == 3 and all(m > 0 for m in v) for v in moves.values())
    # the wrappers are gone: a plain step trains again
    assert "_update" not in vars(trainer) and "step" not in vars(trainer.opt)
    assert all(name not in vars(trainer) for name in phase_gradients.PHASES)
    trainer.train_step()
