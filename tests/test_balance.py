"""Class-balanced labelled batches (``train.balance = "class"``): every emotion equally likely
in the supervised phase's batch, however many labelled segments each class has."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from semi_helpers import low_label_trainer
from sertutor.config import get_config


def test_balance_must_be_a_known_mode():
    with pytest.raises(ValueError, match=r"train\.balance must be one of \['none', 'class'\]"):
        get_config("tiny", train__balance="classes")


def _class_shares(trainer, n_batches: int = 400) -> torch.Tensor:
    emotion = trainer.streams.labelled.emotion
    drawn = torch.cat([emotion[trainer.draw_batches().idx_l] for _ in range(n_batches)])
    return torch.bincount(drawn, minlength=4).double() / len(drawn)  # (K,)


def test_class_balance_evens_out_an_unbalanced_labelled_stream(low_labels):
    # make the labelled stream unbalanced: keep every segment of class 0, a third of the rest
    lab = low_labels.streams.labelled
    keep = (lab.emotion == 0) | (torch.arange(len(lab.emotion)) % 3 == 0)
    rows = keep.nonzero().flatten()
    unbalanced = dataclasses.replace(low_labels, streams=dataclasses.replace(
        low_labels.streams, labelled=lab.subset(rows)))
    present = torch.bincount(unbalanced.streams.labelled.emotion, minlength=4)
    assert (present > 0).all()
    stream_share = present.double() / present.sum()
    assert stream_share[0] > 0.4  # the test needs a clearly unbalanced stream

    plain = _class_shares(low_label_trainer(unbalanced, "baseline"))
    balanced = _class_shares(low_label_trainer(unbalanced, "baseline", balance="class"))
    assert torch.allclose(plain, stream_share, atol=0.05)  # uniform over segments
    assert torch.allclose(balanced, torch.full((4,), 0.25, dtype=torch.float64), atol=0.04)


def test_class_balanced_training_learns(low_labels):
    trainer = low_label_trainer(low_labels, "baseline", balance="class", steps=60,
                                select="last")
    trainer.fit()
    emotion = [h["emotion"] for h in trainer.history]
    assert len(emotion) == 60
    assert sum(emotion[-10:]) < 0.8 * sum(emotion[:10])
