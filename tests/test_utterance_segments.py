"""Utterance-level training of the emotion head (``train.utterance_segments``): each labelled
utterance is predicted from the mean emotion logits of k of its segments."""

from __future__ import annotations

import pytest
import torch

from semi_helpers import low_label_trainer
from sertutor import losses as L
from sertutor.config import get_config


def test_utterance_segments_must_be_a_positive_int():
    with pytest.raises(ValueError, match=r"train\.utterance_segments.*integer >= 1"):
        get_config("tiny", train__utterance_segments=0)
    with pytest.raises(ValueError, match=r"train\.utterance_segments"):
        get_config("tiny", train__utterance_segments=2.5)


def test_one_segment_draws_no_more_views(low_labels):
    trainer = low_label_trainer(low_labels, "baseline")
    assert trainer.draw_batches().x_l_more is None


def test_more_views_are_segments_of_the_same_utterances(low_labels):
    k = 3
    trainer = low_label_trainer(low_labels, "baseline", utterance_segments=k)
    b = trainer.draw_batches()
    lab = low_labels.streams.labelled
    n = len(b.x_l)
    assert b.x_l_more.shape == (n * (k - 1),) + tuple(b.x_l.shape[1:])
    # find each extra view's row in the stream: it belongs to its row's utterance
    x_all = lab.x[:]  # (N, C, n_mels, T)
    for j in range(k - 1):
        for r in range(n):
            view = b.x_l_more[j * n + r]
            rows = (x_all == view).flatten(1).all(1).nonzero().flatten()
            assert len(rows) >= 1
            assert int(lab.utt[b.idx_l[r]]) in set(lab.utt[rows].tolist())


def test_the_loss_is_the_cross_entropy_of_the_mean_logits(low_labels):
    k = 2
    trainer = low_label_trainer(low_labels, "baseline", utterance_segments=k)
    model = trainer.model
    model.dropout.p = 0.0  # train mode then computes what eval mode does
    b = trainer.draw_batches()
    with torch.no_grad():
        y = model(torch.cat([b.x_l, b.x_l_more]), reconstruct=False).y_logits  # (2B, K)
    n = len(b.x_l)
    target = low_labels.streams.labelled.emotion[b.idx_l]
    pooled = float(L.cross_entropy((y[:n] + y[n:]) / 2, target))  # mean of the 2 views
    per_segment = float(L.cross_entropy(y[:n], target))
    assert pooled != pytest.approx(per_segment, abs=1e-4)  # the test can tell them apart
    logs = trainer.supervised_phase(b)  # computes the loss before its update
    assert logs["emotion"] == pytest.approx(pooled, rel=1e-5)


def test_utterance_level_training_learns(low_labels):
    trainer = low_label_trainer(low_labels, "mtl", utterance_segments=3, steps=60,
                                select="last")
    trainer.fit()
    emotion = [h["emotion"] for h in trainer.history]
    assert sum(emotion[-10:]) < 0.8 * sum(emotion[:10])
    for h in trainer.history:  # the auxiliary heads still read their own batch
        assert "speaker" in h and "gender" in h


def test_auxiliary_heads_read_the_auxiliary_rows_after_every_view(low_labels):
    trainer = low_label_trainer(low_labels, "mtl", utterance_segments=3)
    model = trainer.model
    model.dropout.p = 0.0
    b = trainer.draw_batches()
    with torch.no_grad():  # the supervised phase's one pass: every view, then the aux batch
        out = model(torch.cat([b.x_l, b.x_l_more, b.x_a]), reconstruct=False)
    aux = low_labels.streams.aux
    n_a = len(b.x_a)
    expected = float(L.cross_entropy(out.speaker_logits[-n_a:], aux.speaker[b.idx_a]))
    wrong = float(L.cross_entropy(out.speaker_logits[len(b.x_l):len(b.x_l) + n_a],
                                  aux.speaker[b.idx_a]))
    assert expected != pytest.approx(wrong, abs=1e-4)
    logs = trainer.supervised_phase(b)
    assert logs["speaker"] == pytest.approx(expected, rel=1e-5)
