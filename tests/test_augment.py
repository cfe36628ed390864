"""Augmentation of the labelled segments in the supervised phase (``train.augment``)."""

from __future__ import annotations

import pytest
import torch

from semi_helpers import low_label_trainer
from sertutor.config import get_config


def test_augment_must_be_a_known_mode():
    with pytest.raises(ValueError, match=r"train\.augment.*'none', 'specaugment', 'strong'"):
        get_config("tiny", train__augment="mixup")


def test_no_augmentation_returns_the_segments_themselves(low_labels):
    trainer = low_label_trainer(low_labels, "baseline")
    x = torch.randn(6, 1, 32, 64)
    assert trainer.augment(x) is x


def test_specaugment_only_masks(low_labels):
    trainer = low_label_trainer(low_labels, "baseline", augment="specaugment")
    x = torch.randn(64, 1, 32, 64) + 5.0  # no value is 0 before masking
    out = trainer.augment(x)
    assert out.shape == x.shape
    masked = out == 0
    assert torch.equal(out[~masked], x[~masked])  # every other value is untouched
    share = masked.float().mean(dim=(1, 2, 3))  # (B,) masked share of each segment
    assert 0.0 < float(share.mean()) < 0.6  # at most 2 x 15 % of the bands, 2 x 20 % of frames
    assert not torch.equal(masked[0], masked[1])  # each segment draws its own masks


def test_strong_augmentation_also_shifts_and_adds_noise(low_labels):
    trainer = low_label_trainer(low_labels, "baseline", augment="strong")
    x = torch.randn(8, 1, 32, 64)
    out = trainer.augment(x)
    assert out.shape == x.shape and not torch.equal(out, x)
    assert int((out == 0).sum()) == 0  # the masked cells got the level shift and noise too


def test_training_with_augmentation_learns_and_leaves_other_streams_alone(low_labels):
    trainer = low_label_trainer(low_labels, "mtl", augment="specaugment", steps=40,
                                select="last")
    seen = []
    original = trainer.augment

    def spy(x):
        seen.append(len(x))
        return original(x)

    trainer.augment = spy
    trainer.fit()
    # only the labelled batch goes through it, once per step; the auxiliary batch does not
    assert seen == [trainer.cfg.batch_size] * 40
    emotion = [h["emotion"] for h in trainer.history]
    assert sum(emotion[-10:]) < sum(emotion[:10])


def test_denoising_reconstruction_reads_masked_segments_and_restores_clean_ones(low_labels):
    trainer = low_label_trainer(low_labels, "ae", recon_corrupt="specaugment", steps=60,
                                select="last")
    b = trainer.draw_batches()
    inputs = []
    net = trainer.net

    def spy(phase, x=None, **kw):
        if phase == "reconstruct":
            inputs.append(x)
        return net(phase, x, **kw)

    trainer.net = spy
    trainer.reconstruction_phase(b)
    x_in, x_all = inputs[0], b.x_all
    assert x_in.shape == x_all.shape and not torch.equal(x_in, x_all)
    changed = x_in != x_all
    assert bool((x_in[changed] == 0).all())  # only masked cells differ
    trainer.net = net
    trainer.fit()
    recon = [h["recon"] for h in trainer.history]
    assert sum(recon[-10:]) < 0.9 * sum(recon[:10])  # it learns to restore them


def test_recon_corrupt_must_be_known():
    with pytest.raises(ValueError, match=r"train\.recon_corrupt"):
        get_config("tiny", train__recon_corrupt="dropout")
