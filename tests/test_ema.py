"""An exponential moving average of the weights (``train.ema_decay``): what validation reads and
what a run keeps. That a resumed run restores it: ``test_train.py``'s resumption test."""

from __future__ import annotations

import pytest
import torch

from semi_helpers import low_label_trainer
from sertutor.config import get_config
from sertutor.data.manifest import emotion_labels
from sertutor.evaluate import evaluate_segments
from sertutor.train import Callback, ema_avg_fn


def test_ema_decay_is_checked():
    for bad in (1.0, -0.1, "0.9"):
        with pytest.raises(ValueError, match=r"train\.ema_decay.*\[0, 1\)"):
            get_config("tiny", train__ema_decay=bad)
    with pytest.raises(ValueError, match="decay must be a number in"):
        ema_avg_fn(decay=1.0)


def test_the_update_warms_up_then_uses_the_decay():
    update = ema_avg_fn(decay=0.99)
    avg, cur = torch.zeros(3), torch.ones(3)
    # first update after the copy: d = min(0.99, 2 / 11), the average moves 9/11 of the way
    torch.testing.assert_close(update(avg, cur, torch.tensor(1)), torch.full((3,), 9 / 11))
    # far on: d = 0.99
    torch.testing.assert_close(update(avg, cur, torch.tensor(10_000)), torch.full((3,), 0.01))
    counter = torch.tensor(7)  # an integer buffer takes the current value
    assert int(update(torch.tensor(3), counter, torch.tensor(5))) == 7


class _Weights(Callback):
    """Record the trained weights (and buffers) after every step."""

    def __init__(self):
        self.states = []

    def on_step_end(self, trainer, step, logs):
        self.states.append({k: v.detach().clone() for k, v in trainer.model.state_dict().items()})


def test_a_run_keeps_the_moving_average_of_its_weights(low_labels):
    kw = dict(steps=30, eval_every=10, patience=100, select="last")
    plain = low_label_trainer(low_labels, "ae", ema_decay=0.0, **kw)
    assert plain.ema is None and plain.state_dict()["ema"] is None
    weights = _Weights()
    plain.callbacks.append(weights)
    plain.fit()

    averaged = low_label_trainer(low_labels, "ae", ema_decay=0.9, **kw)
    averaged.fit()
    # the average computed by hand from the weights of each step (the same batches: the
    # average draws no random numbers)
    expected = dict(weights.states[0])
    for n, state in enumerate(weights.states[1:], start=1):
        d = min(0.9, (1 + n) / (10 + n))
        expected = {k: (d * expected[k] + (1 - d) * v if v.is_floating_point() else v)
                    for k, v in state.items()}
    kept = averaged.model.state_dict()
    for key, value in expected.items():
        torch.testing.assert_close(kept[key], value, rtol=1e-4, atol=1e-5)
    final = weights.states[-1]
    assert any(not torch.allclose(kept[k], final[k]) for k in final
               if final[k].is_floating_point())  # the average is not the last step


class _Validated(Callback):
    """Record, at every validation, the weights validation read and the trained ones."""

    def __init__(self):
        self.read, self.trained = {}, {}

    def on_eval_end(self, trainer, step, metrics):
        self.read[step] = {k: v.clone() for k, v in trainer.eval_model.state_dict().items()}
        self.trained[step] = {k: v.clone() for k, v in trainer.model.state_dict().items()}


def test_selection_keeps_the_averaged_weights_it_validated(low_labels):
    trainer = low_label_trainer(low_labels, "baseline", steps=60, eval_every=10, patience=100,
                                ema_decay=0.95)
    seen = _Validated()
    trainer.callbacks.append(seen)
    trainer.fit()
    assert trainer.eval_model is trainer.ema.module  # validation reads the average
    kept, best = trainer.model.state_dict(), trainer.best_step
    for key, value in seen.read[best].items():
        torch.testing.assert_close(kept[key], value, rtol=0, atol=0)
    assert any(not torch.allclose(kept[k], v) for k, v in seen.trained[best].items()
               if v.is_floating_point())
    again = evaluate_segments(trainer.model, low_labels.streams.val, device="cpu",
                              emotions=emotion_labels(trainer.model.model_config.n_emotions))
    assert trainer.best_uar == pytest.approx(again["uar"])
