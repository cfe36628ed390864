"""Issue #14's utterance-agreement term: two segments of one unlabelled utterance should get
the same emotion posterior (``train.w_utterance``, :func:`sertutor.losses.
utterance_agreement_loss`, :func:`sertutor.data.segments.sibling_segments`)."""

from __future__ import annotations

import pytest
import torch

from semi_helpers import low_label_trainer
from sertutor import losses as L
from sertutor.config import get_config
from sertutor.data.segments import sibling_segments
from sertutor.train import load_checkpoint


# ------------------------------------------------------------------ sibling_segments
@pytest.mark.parametrize("shuffled", [False, True])
def test_a_sibling_is_another_segment_of_the_same_utterance(shuffled):
    utt = torch.tensor([0, 0, 0, 1, 2, 2, 3, 3, 3, 3])
    if shuffled:  # rows of one utterance need not be next to each other
        utt = utt[torch.randperm(len(utt), generator=torch.Generator().manual_seed(1))]
    idx = torch.arange(len(utt)).repeat(200)
    sib, has = sibling_segments(utt, idx, generator=torch.Generator().manual_seed(0))
    assert sib.shape == idx.shape and has.dtype == torch.bool
    assert torch.equal(utt[sib], utt[idx])
    single = (utt == 1).nonzero().item()
    assert torch.equal(has, idx != single)  # utterance 1 has one segment: no sibling
    assert torch.equal(sib != idx, has)  # never itself when there is another
    # every other segment of a 4-segment utterance is drawn, about equally often
    row = (utt == 3).nonzero()[0].item()
    drawn = sib[idx == row]
    others = set((utt == 3).nonzero().flatten().tolist()) - {row}
    assert set(drawn.tolist()) == others
    counts = torch.bincount(drawn, minlength=len(utt))[sorted(others)]
    assert counts.min() > 40  # 200 draws over 3 siblings


def test_sibling_segments_checks_its_input():
    with pytest.raises(ValueError, match="expected utt"):
        sibling_segments(torch.zeros(2, 2, dtype=torch.long), torch.tensor([0]))
    with pytest.raises(IndexError, match=r"idx must lie in \[0, 3\)"):
        sibling_segments(torch.tensor([0, 0, 1]), torch.tensor([3]))


# ------------------------------------------------------------------ the loss
def test_agreement_loss_is_the_squared_distance_of_posteriors_on_valid_rows():
    a = torch.tensor([[2.0, 0.0], [0.0, 0.0], [5.0, -5.0]])
    b = torch.tensor([[0.0, 2.0], [0.0, 0.0], [-5.0, 5.0]])
    valid = torch.tensor([True, True, False])
    p, q = a.softmax(1), b.softmax(1)
    expected = ((p - q) ** 2).sum(1)[:2].sum() / 3  # the mean is over the whole batch
    assert L.utterance_agreement_loss(a, b, valid).item() == pytest.approx(expected.item())
    assert L.utterance_agreement_loss(a, a, torch.ones(3, dtype=torch.bool)).item() == 0.0
    # opposite one-hot posteriors: the largest value, 2
    big = torch.tensor([[50.0, -50.0]])
    assert L.utterance_agreement_loss(big, -big, torch.tensor([True])).item() \
        == pytest.approx(2.0)
    assert L.UtteranceAgreementLoss()(a, b, valid).item() == pytest.approx(expected.item())
    with pytest.raises(ValueError, match="expected logits_a"):
        L.utterance_agreement_loss(a, b[:2], valid)


def test_agreement_gradient_pulls_both_views_together():
    a = torch.tensor([[1.0, -1.0]], requires_grad=True)
    b = torch.tensor([[-1.0, 1.0]], requires_grad=True)
    L.utterance_agreement_loss(a, b, torch.tensor([True])).backward()
    assert a.grad[0, 0] > 0 > a.grad[0, 1]  # a descends towards b's class ...
    assert b.grad[0, 1] > 0 > b.grad[0, 0]  # ... and b towards a's


@pytest.mark.parametrize("value", [-0.5, float("nan")])
def test_w_utterance_is_validated(value):
    with pytest.raises(ValueError, match="train.w_utterance"):
        get_config("tiny", train__w_utterance=value)


# ------------------------------------------------------------------ in the trainer
def test_the_trainer_draws_siblings_and_logs_the_term_only_when_asked(low_labels):
    off = low_label_trainer(low_labels, "full")
    b = off.draw_batches()
    assert b.x_u2 is None and "utterance" not in off.train_step()
    on = low_label_trainer(low_labels, "full", w_utterance=1.0)
    b = on.draw_batches()
    u = on.streams.unlabelled
    assert b.x_u2.shape == b.x_u.shape and b.has_u2.shape == (len(b.x_u),)
    # each sibling is a segment of the same utterance: find it among that utterance's rows
    for row in range(len(b.x_u)):
        same = (u.utt == u.utt[b.idx_u[row]]).nonzero().flatten()
        assert any(torch.equal(b.x_u2[row], u.x[int(i)]) for i in same)
    logs = on.train_step()
    assert 0.0 <= logs["utterance"] <= 2.0 and "emotion" in logs


def test_the_term_makes_sibling_posteriors_agree(low_labels):
    """With a heavy weight and no other unsupervised pressure, trained segments of one
    unlabelled utterance end up closer in posterior than untrained ones."""

    def disagreement(trainer):
        trainer.model.eval()
        g = torch.Generator().manual_seed(5)
        u = trainer.streams.unlabelled
        idx = torch.randint(len(u), (256,), generator=g)
        sib, has = sibling_segments(u.utt, idx, generator=g)
        with torch.no_grad():
            p = trainer.model.encode(u.x[idx]).y
            q = trainer.model.encode(u.x[sib]).y
        return ((p - q) ** 2).sum(1)[has].mean().item()

    plain = low_label_trainer(low_labels, "ae", steps=60, w_recon=0.0, select="last")
    plain.fit()
    tied = low_label_trainer(low_labels, "ae", steps=60, w_recon=0.0, select="last",
                             w_utterance=20.0)
    tied.fit()
    assert disagreement(tied) < 0.5 * disagreement(plain)


# ------------------------------------------------------------------ the ramp-up
def test_rampup_rises_from_near_zero_to_one_then_stays(low_labels):
    import math

    trainer = low_label_trainer(low_labels, "full", rampup_steps=100)
    seen = []
    for step in (0, 50, 99, 100, 500):
        trainer.step_count = step
        seen.append(trainer.rampup())
    assert seen[0] == pytest.approx(math.exp(-5)) and seen[1] == pytest.approx(math.exp(-1.25))
    assert seen[0] < seen[1] < seen[2] < 1.0 == seen[3] == seen[4]
    plain = low_label_trainer(low_labels, "full")
    assert plain.rampup() == 1.0  # the default: no ramp


def test_the_ramp_scales_the_unsupervised_losses_only(low_labels, monkeypatch):
    """At step 0 of a ramp, the gradient the reconstruction sends to the encoder is the
    ramp's factor times the one without the ramp."""
    def encoder_grad(trainer):
        b = trainer.draw_batches()
        seen = {}
        real = trainer._update

        def spy(opt, loss):
            trainer.opt.zero_grad(set_to_none=True)
            loss.backward()
            seen["g"] = torch.cat([p.grad.flatten() for p in trainer.model.encoder.parameters()
                                   if p.grad is not None])
        monkeypatch.setattr(trainer, "_update", spy)
        trainer.reconstruction_phase(b)
        monkeypatch.setattr(trainer, "_update", real)
        return seen["g"]

    ramped = encoder_grad(low_label_trainer(low_labels, "aae", rampup_steps=50))
    plain = encoder_grad(low_label_trainer(low_labels, "aae"))
    assert torch.allclose(ramped, plain * low_label_trainer(low_labels, "aae",
                                                   rampup_steps=50).rampup(), atol=1e-9)
    assert ramped.abs().sum() < 0.01 * plain.abs().sum()


@pytest.mark.parametrize("value", [-1, 2.5])
def test_rampup_steps_is_validated(value):
    with pytest.raises(ValueError, match="train.rampup_steps"):
        get_config("tiny", train__rampup_steps=value)


# ------------------------------------------------------------------ one Adam per phase
def test_phase_optimizers_keep_each_phase_moments_apart_and_resume(low_labels, tmp_path):
    shared = low_label_trainer(low_labels, "aae")
    assert shared.phase_opts == {}
    own = low_label_trainer(low_labels, "aae", phase_optimizers=True, steps=3)
    assert set(own.phase_opts) == {"reconstruction", "generator"}
    own.train_step()
    # each optimiser stepped once: the supervised one holds only the supervised moments
    for opt in (own.opt, *own.phase_opts.values()):
        steps = {int(st["step"]) for st in opt.state.values()}
        assert steps == {1}
    moments = [next(iter(o.state.values()))["exp_avg_sq"] for o in
               (own.opt, own.phase_opts["reconstruction"], own.phase_opts["generator"])]
    assert not torch.allclose(moments[0], moments[1])
    # a checkpoint carries them
    path = own.save(tmp_path / "ck.pt")
    again = low_label_trainer(low_labels, "aae", phase_optimizers=True, steps=3)
    again.load_state_dict(load_checkpoint(path))
    for name, opt in own.phase_opts.items():
        a = next(iter(opt.state.values()))["exp_avg_sq"]
        b = next(iter(again.phase_opts[name].state.values()))["exp_avg_sq"]
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match="train.phase_optimizers"):
        get_config("tiny", train__phase_optimizers="yes")
