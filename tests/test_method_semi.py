"""Issue #14's semi-supervised options: the smoothed reconstruction target, FixMatch's strong
view and pseudo-label loss, the ``fixmatch`` model, and the trainer's phases as methods."""

from __future__ import annotations

import inspect

import pytest
import torch

from semi_helpers import low_label_trainer
from sertutor import losses as L
from sertutor.config import MODEL_VARIANTS, PAPER_VARIANTS, get_config
from sertutor.models import MultiTaskAAE
from sertutor.pipeline import prepare_data
from sertutor.train import Batches, Trainer


# ------------------------------------------------------------------ smooth_time
def test_smooth_time_is_a_centred_moving_average_that_keeps_the_shape():
    x = torch.arange(10.0).reshape(1, 1, 1, 10).repeat(2, 1, 3, 1)  # (2, 1, 3, 10)
    s = L.smooth_time(x, 3)
    assert s.shape == x.shape
    assert torch.allclose(s[0, 0, 0, 1:-1], x[0, 0, 0, 1:-1])  # a ramp is its own average
    assert s[0, 0, 0, 0] == pytest.approx(0.5)  # edges average only frames inside
    step = torch.zeros(1, 1, 2, 8)
    step[..., 4:] = 1.0
    s = L.smooth_time(step, 5)
    assert s[0, 0, 0, 3] == pytest.approx(2 / 5) and s[0, 0, 0, 4] == pytest.approx(3 / 5)


def test_smooth_time_removes_fast_changes_and_passes_0_and_1_through():
    t = torch.arange(96.0)
    fast = torch.sin(t * 3.14159 / 2).reshape(1, 1, 1, 96)  # period of 4 frames
    assert L.smooth_time(fast, 25).abs().max() < 0.1 * fast.abs().max()
    x = torch.randn(2, 1, 4, 16)
    assert L.smooth_time(x, 0) is x and L.smooth_time(x, 1) is x
    even = L.smooth_time(x, 100)  # longer than the segment: clipped to an odd window <= T
    assert even.shape == x.shape and torch.isfinite(even).all()
    with pytest.raises(ValueError, match="frames must be >= 0"):
        L.smooth_time(x, -1)
    with pytest.raises(ValueError, match=r"\(B, C, n_mels, T\)"):
        L.smooth_time(torch.randn(4, 16), 3)


# -------------------------------------------------------------- strong_augment
def test_strong_augment_masks_bands_and_frames_and_is_reproducible():
    x = torch.ones(8, 1, 32, 64)
    a = L.strong_augment(x, generator=torch.Generator().manual_seed(0), level_std=0.0,
                         noise_std=0.0)
    b = L.strong_augment(x, generator=torch.Generator().manual_seed(0), level_std=0.0,
                         noise_std=0.0)
    assert torch.equal(a, b) and a.shape == x.shape
    assert (a == 0).any() and (a == 1).any() and torch.equal(x, torch.ones_like(x))  # a copy
    zero_rows = (a[:, 0] == 0).all(dim=-1).sum(dim=1)  # (B,) mel bands masked entirely
    assert (zero_rows <= 2 * int(0.15 * 32)).all()
    c = L.strong_augment(x, generator=torch.Generator().manual_seed(1))
    assert not torch.equal(a, c)
    with pytest.raises(ValueError, match=r"\(B, C, n_mels, T\)"):
        L.strong_augment(torch.ones(32, 64))


# ----------------------------------------------------------- pseudo_label_loss
def test_pseudo_label_loss_counts_only_kept_rows_but_averages_over_all():
    logits = torch.tensor([[4.0, 0.0], [0.0, 4.0], [1.0, 1.0]])
    pseudo = torch.tensor([0, 0, 1])
    ce = torch.nn.functional.cross_entropy(logits, pseudo, reduction="none")
    keep = torch.tensor([True, True, False])
    assert L.pseudo_label_loss(logits, pseudo, keep).item() == pytest.approx(
        float(ce[:2].sum() / 3))
    assert L.pseudo_label_loss(logits, pseudo, torch.zeros(3, dtype=torch.bool)).item() == 0.0
    with pytest.raises(ValueError, match="expected logits"):
        L.pseudo_label_loss(logits, pseudo[:2], keep)


# ------------------------------------------------------------------ the models
def test_fixmatch_is_a_comparison_not_one_of_the_papers_models():
    assert "fixmatch" in MODEL_VARIANTS and "fixmatch" not in PAPER_VARIANTS
    cfg = get_config("tiny", model__variant="fixmatch")
    model = MultiTaskAAE.from_config(cfg)
    assert model.has_consistency and not (model.has_decoder or model.has_adversaries
                                          or model.has_aux_heads)
    base = MultiTaskAAE.from_config(get_config("tiny", model__variant="baseline"))
    assert model.n_parameters() == base.n_parameters()  # the baseline's parts, nothing more


@pytest.mark.parametrize("field,value", [("confidence", 1.5), ("confidence", -0.1),
                                         ("w_consistency", -1.0),
                                         ("recon_smooth_frames", -2),
                                         ("recon_smooth_frames", 2.5),
                                         ("unlabelled", "test"), ("unlabelled", 1)])
def test_new_train_fields_are_validated(field, value):
    with pytest.raises(ValueError, match=f"train.{field}"):
        get_config("tiny", **{f"train__{field}": value})


def test_transductive_unlabelled_stream_adds_the_test_audio_without_any_label(
        low_labels, tmp_path_factory):
    cfg = get_config("tiny", train__label_fraction=0.3, train__unlabelled="train+test")
    data = prepare_data(cfg, progress=False, data_dir=tmp_path_factory.mktemp("data_t"))
    plain, both = low_labels.streams.unlabelled, data.streams.unlabelled
    test = data.test
    assert len(both) == len(plain) + len(test)  # the same split, plus every test segment
    assert torch.equal(both.x[:len(plain)], plain.x)
    # the test segments, normalised as at test time, every label hidden (gender too)
    added = both.subset(torch.arange(len(plain), len(both)))
    assert torch.equal(added.x, test.x)
    assert (added.emotion == -1).all() and (added.gender == -1).all()
    assert (added.speaker == -1).all() and added.arousal.isnan().all()
    assert (test.emotion >= 0).all()  # the test set itself keeps its labels for scoring
    # the training speakers' hidden-label segments keep their gender for the auxiliary head
    assert (both.gender[:len(plain)] == plain.gender).all()
    assert torch.equal(data.streams.labelled.x, low_labels.streams.labelled.x)


def test_fixmatch_uses_confident_pseudo_labels_only(low_labels):
    # a softmax never reaches 1 exactly
    never = low_label_trainer(low_labels, "fixmatch", confidence=1.0)
    logs = never.train_step()
    assert logs["pseudo_share"] == 0.0 and logs["consistency"] == 0.0
    always = low_label_trainer(low_labels, "fixmatch", confidence=0.0)
    logs = always.train_step()
    assert logs["pseudo_share"] == 1.0 and logs["consistency"] > 0.0


def test_fixmatch_learns_beyond_chance(low_labels):
    trainer = low_label_trainer(low_labels, "fixmatch", steps=120, eval_every=40, patience=10)
    trainer.fit()
    shares = [h["pseudo_share"] for h in trainer.history]
    assert max(shares[-20:]) > 0.0  # the model grew confident enough to pseudo-label
    assert trainer.best_uar > 0.3  # 4 classes: chance is 0.25


def test_the_smoothed_target_is_what_the_decoder_is_scored_on(low_labels, monkeypatch):
    seen = []
    real = L.reconstruction_loss
    monkeypatch.setattr(L, "reconstruction_loss",
                        lambda recon, target, mask=None: seen.append(target) or
                        real(recon, target, mask))
    trainer = low_label_trainer(low_labels, "ae", recon_smooth_frames=15)
    batches = trainer.draw_batches()
    trainer.reconstruction_phase(batches)
    assert torch.allclose(seen[0], L.smooth_time(batches.x_all, 15))
    assert not torch.allclose(seen[0], batches.x_all)


def test_phases_are_named_methods_that_train_step_runs_in_order(low_labels, monkeypatch):
    trainer = low_label_trainer(low_labels, "full")
    order = []
    for name in ("draw_batches", "reconstruction_phase", "regularisation_phase",
                 "supervised_phase"):
        method = getattr(trainer, name)
        monkeypatch.setattr(trainer, name, lambda *a, _m=method, _n=name:
                            order.append(_n) or _m(*a))
    trainer.train_step()
    assert order == ["draw_batches", "reconstruction_phase", "regularisation_phase",
                     "supervised_phase"]
    b = trainer.draw_batches.__wrapped__() if hasattr(trainer.draw_batches, "__wrapped__") \
        else Trainer.draw_batches(trainer)
    assert isinstance(b, Batches)
    assert b.n_emotion == len(b.x_l) + len(b.x_u)
    assert b.x_all.shape[0] == b.n_emotion + len(b.x_a)
    assert b.mask_all(trainer.streams).shape == (b.x_all.shape[0], b.x_all.shape[-1])
    # each phase's source reads on its own (tutorial 05 prints them)
    assert "def reconstruction_phase" in inspect.getsource(Trainer.reconstruction_phase)


def test_a_pair_next_to_recorded_rows_paired_by_fold_and_seed():
    from sertutor.experiments import pair_vs_recorded

    pair = {"reference": "baseline", "variant": "full", "fraction": 0.1, "fold": 0, "seed": 0,
            "steps": 200, "baseline_uar": 0.5, "full_uar": 0.55, "gain": 0.05}
    rows = [{"variant": v, "fraction": 0.1, "fold": f, "seed": s, "uar": u}
            for f, s, b, g in ((0, 0, 0.5, 0.6), (0, 1, 0.4, 0.4), (1, 0, 0.6, 0.5))
            for v, u in (("baseline", b), ("full", g))]
    out = pair_vs_recorded(pair, rows)
    assert out[0]["n"] == 1 and out[0]["gain"] == 0.05
    recorded = out[1]
    # three (fold, seed) pairs: (0, 0) and (0, 1) share a fold but are different pairs
    assert recorded["n"] == 3 and recorded["wins"] == 1
    assert recorded["gain"] == pytest.approx((0.1 + 0.0 - 0.1) / 3)
    assert "(fold, seed) pairs" in recorded["what"]
