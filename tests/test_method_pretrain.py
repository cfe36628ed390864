"""Unsupervised pre-training (``train.pretrain_steps``): the opening steps run only the
reconstruction and prior phases, then the full schedule starts with a fresh main optimiser."""

from __future__ import annotations

import pytest
import torch

from semi_helpers import low_label_trainer


def test_pretraining_runs_only_the_unsupervised_phases_then_the_full_schedule(low_labels):
    trainer = low_label_trainer(low_labels, "full", pretrain_steps=6, steps=4, eval_every=2)
    assert trainer.total_steps == 10 and trainer.pretraining
    heads = {k: v.clone() for k, v in trainer.model.speaker_head.state_dict().items()}
    for _ in range(6):
        logs = trainer.train_step()
        trainer.step_count += 1
        assert {"recon", "d_z", "d_y", "generator"} <= set(logs)
        assert "emotion" not in logs and "speaker" not in logs
    # the supervised heads have not moved while the model pre-trained
    for k, v in trainer.model.speaker_head.state_dict().items():
        assert torch.equal(v, heads[k]), k
    assert not trainer.pretraining
    trainer.fit()  # the remaining 4 steps of the full schedule
    assert trainer.step_count == 10
    assert all("emotion" in h for h in trainer.history)  # fit() logged the full steps only
    assert [e["step"] for e in trainer.evals] == [8, 10]  # validation after pre-training
    assert trainer.best_step in (8, 10)
    assert any(not torch.equal(v, heads[k])
               for k, v in trainer.model.speaker_head.state_dict().items())


def test_the_main_optimiser_starts_afresh_after_pretraining(low_labels):
    trainer = low_label_trainer(low_labels, "ae", pretrain_steps=3, steps=2)
    for _ in range(3):
        trainer.train_step()
        trainer.step_count += 1
    first = next(iter(trainer.model.encoder.parameters()))
    assert int(trainer.opt.state[first]["step"]) == 3  # the reconstruction's own steps
    trainer.train_step()
    # emptied, then two updates (reconstruction, supervised) in the first full step
    assert int(trainer.opt.state[first]["step"]) == 2


def test_pretraining_lowers_the_reconstruction_error(low_labels):
    trainer = low_label_trainer(low_labels, "ae", pretrain_steps=60, steps=1, select="last")
    trainer.fit()
    recon = [h["recon"] for h in trainer.history[:60]]
    assert sum(recon[-10:]) < 0.9 * sum(recon[:10])


@pytest.mark.parametrize("variant", ["baseline", "mtl", "fixmatch"])
def test_models_without_unsupervised_phases_do_not_pretrain(low_labels, variant):
    trainer = low_label_trainer(low_labels, variant, pretrain_steps=50, steps=3)
    assert trainer.pretrain_steps == 0 and trainer.total_steps == 3
    trainer.fit()
    assert trainer.step_count == 3 and "emotion" in trainer.history[0]


def test_default_is_no_pretraining(low_labels):
    trainer = low_label_trainer(low_labels, "full")
    assert trainer.pretrain_steps == 0 and not trainer.pretraining
    assert trainer.total_steps == trainer.cfg.steps


@pytest.mark.parametrize("value", [-1, 2.5])
def test_pretrain_steps_is_validated(value):
    from sertutor.config import get_config

    with pytest.raises(ValueError, match="train.pretrain_steps"):
        get_config("tiny", train__pretrain_steps=value)


def test_the_dashboard_counts_the_pretraining_steps(low_labels):
    from sertutor.widgets import TrainingDashboard

    dash = TrainingDashboard()
    dash.on_train_start(low_label_trainer(low_labels, "aae", pretrain_steps=7, steps=5))
    assert dash.total_steps == 12
