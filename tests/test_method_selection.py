"""Model selection options (issue #14): ``train.select = "uar" | "loss" | "last"``."""

import math

import pytest
import torch

from sertutor.config import get_config
from sertutor.pipeline import build_model, prepare_data
from sertutor.train import Callback, Trainer, load_checkpoint


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return prepare_data(get_config("tiny", train__label_fraction=0.3), progress=False,
                        data_dir=tmp_path_factory.mktemp("sertutor-data"))


def _trainer(data, **train):
    cfg = get_config("tiny", model__variant="full",
                     **{f"train__{k}": v for k, v in train.items()})
    torch.manual_seed(0)
    model = build_model(cfg, n_speakers=len(data.label_maps.speakers))
    return Trainer(model, data.streams, config=cfg, device="cpu", progress=False)


def test_select_last_trains_every_step_and_keeps_the_final_weights(tiny):
    class Snapshot(Callback):  # the weights right after the last step
        def on_step_end(self, trainer, step, logs):
            if step == 60:
                self.state = {k: v.clone() for k, v in trainer.model.state_dict().items()}

    snap = Snapshot()
    # the trained weights themselves: with a moving average (the default) a run keeps the
    # final average instead (tests/test_ema.py)
    t = _trainer(tiny, select="last", steps=60, eval_every=10, patience=1, ema_decay=0.0)
    t.callbacks.append(snap)
    t.fit()
    assert t.step_count == 60 and not t.stopped_early  # patience 1 would have stopped "uar"
    assert t.best_step == 60 and t.best_state is None
    assert len(t.evals) == 6  # validation is still logged
    assert all(torch.equal(snap.state[k], v) for k, v in t.model.state_dict().items())


def test_select_loss_keeps_the_step_of_the_lowest_validation_loss(tiny, tmp_path):
    t = _trainer(tiny, select="loss", steps=60, eval_every=10, patience=100)
    t.out_dir = tmp_path
    t.fit()
    losses = [(e["loss"], e["step"]) for e in t.evals]
    assert len(losses) == 6 and all(math.isfinite(v) and v > 0 for v, _ in losses)
    assert t.best_step == min(losses)[1]
    assert t.best_score == pytest.approx(-min(losses)[0])
    # the kept weights are those of that step: their validation loss is the minimum
    assert t._validation_loss() == pytest.approx(min(losses)[0], rel=1e-5)
    # a checkpoint restores the score, and one without it (older format) reads the UAR
    state = load_checkpoint(tmp_path / "checkpoint.pt")
    again = _trainer(tiny, select="loss", steps=60, eval_every=10, patience=100)
    again.load_state_dict(state)
    assert again.best_score == pytest.approx(t.best_score)
    state["best"] = state["best"][:5]
    again.load_state_dict(state)
    assert again.best_score == pytest.approx(again.best_uar)


def test_select_uar_is_the_default_and_unknown_values_are_refused(tiny):
    assert get_config("classroom").train.select == "uar"
    t = _trainer(tiny, steps=20, eval_every=10)
    t.fit()
    assert t.best_score == t.best_uar == max(e["uar"] for e in t.evals)
    bad = _trainer(tiny, steps=10, eval_every=10)
    bad.cfg.select = "accuracy"  # past the config's own checks
    with pytest.raises(ValueError, match="select must be one of"):
        bad.fit()
