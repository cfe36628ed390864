"""Losses: hand-computed values, masking, empty batches, gradients, precision, devices."""

import math

import pytest
import torch
import torch.nn.functional as F

from sertutor import losses
from sertutor.losses import (ccc, ccc_loss, cross_entropy, discriminator_accuracy,
                             discriminator_loss, generator_loss, reconstruction_loss)

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


# ---- CCC -------------------------------------------------------------------------------------

def test_ccc_known_values():
    t = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0])
    assert ccc(t, t).item() == pytest.approx(1.0, abs=1e-6)
    centred = t - t.mean()
    assert ccc(-centred, centred).item() == pytest.approx(-1.0, abs=1e-6)
    # a constant offset c: rho_c = 2 s^2 / (2 s^2 + c^2), with s^2 = 2 (biased variance)
    assert ccc(t + 1.0, t).item() == pytest.approx(4 / 5, abs=1e-6)
    assert ccc(t + 1.0, t).item() < 1.0
    # scaling: pred = 2t, s_x^2 = 8, s_xy = 4, (mu_x - mu_y)^2 = 9 -> 8 / 19
    assert ccc(2 * t, t).item() == pytest.approx(8 / 19, abs=1e-6)
    assert ccc_loss(t, t).item() == pytest.approx(0.0, abs=1e-6)


def test_ccc_skips_nan_targets_and_handles_no_targets():
    pred = torch.tensor([1.0, 2.5, 3.0, 100.0, 4.0], requires_grad=True)
    target = torch.tensor([1.5, 2.0, 3.5, float("nan"), 4.0])
    keep = torch.tensor([0, 1, 2, 4])
    expected = ccc(pred.detach()[keep], target[keep])
    got = ccc(pred, target)
    torch.testing.assert_close(got, expected)
    got.backward()
    assert torch.isfinite(pred.grad).all() and pred.grad[3] == 0  # the unrated sample

    pred.grad = None
    empty = ccc_loss(pred, torch.full((5,), float("nan")))
    assert empty.item() == 0.0 and empty.requires_grad
    empty.backward()
    assert torch.isfinite(pred.grad).all()


def test_ccc_gradients_are_finite_for_constant_predictions():
    pred = torch.full((6,), 3.0, requires_grad=True)
    loss = ccc_loss(pred, torch.tensor([1.0, 2, 3, 4, 5, 3]))
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(pred.grad).all()
    with pytest.raises(ValueError, match="shapes differ"):
        ccc(torch.zeros(3), torch.zeros(4))


# ---- adversarial ----------------------------------------------------------------------------

def test_bce_values():
    zeros = torch.zeros(4)
    assert discriminator_loss(zeros, zeros).item() == pytest.approx(2 * math.log(2))
    assert generator_loss(zeros).item() == pytest.approx(math.log(2))
    # logit 1 on a real sample: -log sigma(1) = log(1 + e^-1); logit -2 on a fake: log(1 + e^-2)
    value = discriminator_loss(torch.tensor([1.0]), torch.tensor([-2.0])).item()
    assert value == pytest.approx(math.log1p(math.exp(-1)) + math.log1p(math.exp(-2)))
    assert generator_loss(torch.tensor([2.0, -1.0])).item() == pytest.approx(
        (math.log1p(math.exp(-2)) + math.log1p(math.exp(1))) / 2)
    # a perfect discriminator has ~0 loss, and then the generator's loss is large
    big = torch.full((3,), 30.0)
    assert discriminator_loss(big, -big).item() < 1e-6
    assert generator_loss(-big).item() == pytest.approx(30.0, rel=1e-4)


def test_discriminator_accuracy():
    assert discriminator_accuracy(torch.tensor([1.0, 2.0]), torch.tensor([-1.0, -3.0])) == 1.0
    assert discriminator_accuracy(torch.tensor([1.0, -2.0]), torch.tensor([1.0, -3.0])) == 0.5
    assert discriminator_accuracy(torch.tensor([-1.0]), torch.tensor([1.0, 2.0, 3.0])) == 0.0


def test_generator_gradient_pushes_fake_logits_up():
    fake = torch.tensor([-3.0, 0.0, 3.0], requires_grad=True)
    generator_loss(fake).backward()
    assert (fake.grad < 0).all()  # gradient descent raises every fake logit
    assert fake.grad[0].abs() > fake.grad[2].abs()  # strongest where D rejects most


# ---- reconstruction ------------------------------------------------------------------------

def test_masked_mse_ignores_masked_frames():
    g = torch.Generator().manual_seed(0)
    target = torch.randn(2, 3, 4, 5, generator=g)
    recon = torch.randn(2, 3, 4, 5, generator=g, requires_grad=True)
    mask = torch.tensor([[True, True, True, False, False], [True, True, True, True, True]])
    # garbage in the padding must not matter, not even NaN
    target_padded = target.clone()
    target_padded[0, :, :, 3:] = float("nan")
    loss = reconstruction_loss(recon, target_padded, mask)
    expected = torch.cat([((recon[0, :, :, :3] - target[0, :, :, :3]) ** 2).flatten(),
                          ((recon[1] - target[1]) ** 2).flatten()]).mean()
    torch.testing.assert_close(loss, expected)
    loss.backward()
    assert torch.isfinite(recon.grad).all() and (recon.grad[0, :, :, 3:] == 0).all()

    torch.testing.assert_close(reconstruction_loss(recon, target),
                               F.mse_loss(recon, target))
    nothing = reconstruction_loss(recon, target, torch.zeros(2, 5, dtype=torch.bool))
    assert nothing.item() == 0.0
    with pytest.raises(ValueError, match="mask must have shape"):
        reconstruction_loss(recon, target, mask[:, :4])
    with pytest.raises(ValueError, match="shapes differ"):
        reconstruction_loss(recon, target[:, :1])


# ---- cross-entropy ------------------------------------------------------------------------

def test_cross_entropy_matches_torch_on_labelled_rows():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(5, 4, generator=g)
    target = torch.tensor([0, -1, 3, 2, -1])
    labelled = target >= 0
    expected = F.cross_entropy(logits[labelled], target[labelled])
    torch.testing.assert_close(cross_entropy(logits, target), expected)
    weight = torch.tensor([1.0, 2.0, 0.5, 3.0])
    torch.testing.assert_close(cross_entropy(logits, target, weight=weight),
                               F.cross_entropy(logits[labelled], target[labelled], weight=weight))
    # uniform logits: log K per row
    assert cross_entropy(torch.zeros(3, 4), torch.tensor([0, 1, 2])).item() == \
        pytest.approx(math.log(4))


def test_cross_entropy_all_ignored_is_zero_not_nan():
    logits = torch.randn(3, 4, requires_grad=True)
    loss = cross_entropy(logits, torch.full((3,), -1))
    assert loss.item() == 0.0 and not torch.isnan(loss)
    assert loss.requires_grad and loss.grad_fn is not None
    loss.backward()
    assert (logits.grad == 0).all()
    weighted = cross_entropy(logits, torch.full((3,), -1), weight=torch.ones(4))
    assert weighted.item() == 0.0
    assert torch.isnan(F.cross_entropy(logits, torch.full((3,), -1), ignore_index=-1))  # why


# ---- precision, modules, devices -----------------------------------------------------------

def test_bf16_inputs_give_float32_losses():
    logits = torch.randn(4, 3).bfloat16()
    values = [cross_entropy(logits, torch.tensor([0, 1, 2, -1])),
              discriminator_loss(logits[:, 0], logits[:, 1]), generator_loss(logits[:, 0]),
              reconstruction_loss(logits, torch.zeros(4, 3)),
              ccc(logits[:, 0], torch.tensor([1.0, 2.0, 3.0, 4.0]))]
    assert all(v.dtype == torch.float32 for v in values)


def test_module_wrappers_equal_functions():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(6, generator=g), torch.randn(6, generator=g)
    logits, target = torch.randn(6, 3, generator=g), torch.tensor([0, 1, 2, -1, 0, 1])
    x, y = torch.randn(2, 1, 3, 4, generator=g), torch.randn(2, 1, 3, 4, generator=g)
    assert losses.CCCLoss()(a, b) == ccc_loss(a, b)
    assert losses.DiscriminatorLoss()(a, b) == discriminator_loss(a, b)
    assert losses.GeneratorLoss()(a) == generator_loss(a)
    assert losses.CrossEntropy()(logits, target) == cross_entropy(logits, target)
    assert losses.ReconstructionLoss()(x, y) == reconstruction_loss(x, y)
    weighted = losses.CrossEntropy(weight=torch.tensor([1.0, 2.0, 3.0]))
    assert "weight" in dict(weighted.named_buffers())


@pytest.mark.cuda
@cuda
def test_losses_on_cuda():
    dev = "cuda"
    logits = torch.randn(6, 4, device=dev, requires_grad=True)
    target = torch.tensor([0, 1, -1, 3, -1, 2], device=dev)
    rating = torch.tensor([1.0, 2, float("nan"), 4, 5, 3], device=dev)
    with torch.autocast(dev, dtype=torch.bfloat16):
        lin = torch.nn.Linear(4, 4).to(dev)
        out = lin(logits)  # bf16
    total = (cross_entropy(out, target) + ccc_loss(out[:, 0], rating)
             + discriminator_loss(out[:, 1], out[:, 2]) + generator_loss(out[:, 3])
             + reconstruction_loss(out, torch.zeros_like(logits)))
    assert total.dtype == torch.float32 and torch.isfinite(total)
    total.backward()
    assert torch.isfinite(logits.grad).all()
    assert cross_entropy(out, torch.full((6,), -1, device=dev)).item() == 0.0
