"""Exercises of ``tutorials/04_adversarial_prior.ipynb``: the discriminator's and the
generator's losses, and reading a collapsed adversarial game."""

from __future__ import annotations

import math

from ._core import Incorrect, call_learner, exercise, expect_number

_LOG2 = math.log(2.0)


def _logit_cases():
    """(real_logits, fake_logits) pairs: chance, a confident D, a fooled D, unequal sizes."""
    import torch

    g = torch.Generator().manual_seed(4)
    return [
        (torch.zeros(6), torch.zeros(6)),  # chance: 2 log 2
        (torch.randn(8, generator=g) * 2 + 1.5, torch.randn(8, generator=g) * 2 - 1.0),
        (torch.tensor([-3.0, -2.0, -4.0]), torch.tensor([5.0, 3.0, 4.0])),  # D fooled
        (torch.randn(5, generator=g), torch.randn(11, generator=g) * 3),  # different sizes
        (torch.tensor([-120.0, 35.0]), torch.tensor([-60.0, 110.0, -30.0])),  # saturated
    ]


def _as_float(out, what):
    return expect_number(out, what=what)


@exercise(
    "04.discriminator_loss",
    title="Implement the discriminator's loss",
    hint="Binary cross-entropy with target 1 for prior samples and 0 for the encoder's codes: "
         "F.binary_cross_entropy_with_logits works on logits directly (and stays finite for "
         "large logits); add the two halves' means.",
    solution='''
import torch
import torch.nn.functional as F

def discriminator_loss(real_logits, fake_logits):
    real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return real + fake        # -E[log sigma(D(prior))] - E[log(1 - sigma(D(code)))]
''')
def _discriminator_loss(answer):
    import torch
    import torch.nn.functional as F

    # deferred: torch, only when this check runs (grading start-up)
    from ..losses import discriminator_loss

    for k, (real, fake) in enumerate(_logit_cases(), start=1):
        out = call_learner(answer, real.clone(), fake.clone(), what="discriminator_loss")
        if hasattr(out, "requires_grad") and hasattr(out, "detach"):
            try:
                nan = bool(torch.isnan(out.detach().float()).any())
            except TypeError:
                nan = False
            if nan or bool(torch.isinf(out.detach().float()).any()):
                big = float(torch.cat([real, fake]).abs().max())
                raise Incorrect(f"Test {k} (logits as large as {big:.0f}) "
                                f"gave {out.detach()}: log(sigmoid(x)) underflows for large "
                                f"logits. Use F.binary_cross_entropy_with_logits (or "
                                f"F.logsigmoid), which works on the logits directly.")
        got = _as_float(out, what=f"discriminator_loss on test {k}")
        expected = float(discriminator_loss(real, fake))
        if abs(got - expected) <= 1e-4 * max(1.0, abs(expected)):
            continue
        swapped = float(discriminator_loss(fake, real))
        mean_all = float(F.binary_cross_entropy_with_logits(
            torch.cat([real, fake]), torch.cat([torch.ones_like(real), torch.zeros_like(fake)])))
        where = f"real logits {[round(v, 2) for v in real.tolist()]}, fake logits " \
                f"{[round(v, 2) for v in fake.tolist()]}"
        if abs(got - swapped) <= 1e-4 * max(1.0, abs(swapped)):
            raise Incorrect(f"Test {k} ({where}): you returned {got:.4f}, which is the loss with "
                            f"the labels swapped. Prior samples are 'real' (target 1), the "
                            f"encoder's codes 'fake' (target 0). Expected {expected:.4f}.")
        if abs(got - mean_all) <= 1e-4 * max(1.0, abs(mean_all)):
            raise Incorrect(f"Test {k} ({where}): you returned {got:.4f}, the mean over all "
                            f"logits together. sertutor adds the mean of the real half and the "
                            f"mean of the fake half (so chance is 2 log 2 = 1.386); expected "
                            f"{expected:.4f}.")
        if k == 1:
            raise Incorrect(f"With all logits 0 (D cannot tell) the loss is 2 log 2 = "
                            f"{2 * _LOG2:.4f}; you returned {got:.4f}.")
        raise Incorrect(f"Test {k} ({where}): you returned {got:.4f}; "
                        f"sertutor.losses.discriminator_loss gives {expected:.4f}.")
    return ("Matches sertutor.losses.discriminator_loss, also for saturated logits. At chance "
            "it is 2 log 2 = 1.386.")


@exercise(
    "04.generator_loss",
    title="Implement the encoder's (generator's) loss",
    hint="The encoder wants D to call its codes real: binary cross-entropy of D's logits for "
         "the codes with target 1 (the non-saturating form, -E[log sigma(D(code))]).",
    solution='''
import torch
import torch.nn.functional as F

def generator_loss(fake_logits):
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
''')
def _generator_loss(answer):
    import torch
    import torch.nn.functional as F

    # deferred: torch, only when this check runs (grading start-up)
    from ..losses import generator_loss

    for k, (_, fake) in enumerate(_logit_cases(), start=1):
        out = call_learner(answer, fake.clone(), what="generator_loss")
        got = _as_float(out, what=f"generator_loss on test {k}")
        expected = float(generator_loss(fake))
        if abs(got - expected) <= 1e-4 * max(1.0, abs(expected)):
            continue
        where = f"fake logits {[round(v, 2) for v in fake.tolist()]}"
        minimax = float(-F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))
        fake_target0 = -minimax
        if abs(got - minimax) <= 1e-4 * max(1.0, abs(minimax)):
            raise Incorrect(f"Test {k} ({where}): you returned {got:.4f}, the minimax form "
                            f"E[log(1 - sigma(D))]. Its gradient vanishes while D confidently "
                            f"rejects the codes; use the non-saturating -E[log sigma(D)]: "
                            f"expected {expected:.4f}.")
        if abs(got - fake_target0) <= 1e-4 * max(1.0, abs(fake_target0)):
            raise Incorrect(f"Test {k} ({where}): you returned {got:.4f}, the discriminator's "
                            f"target (codes = 0). The encoder wants the opposite: target 1. "
                            f"Expected {expected:.4f}.")
        raise Incorrect(f"Test {k} ({where}): you returned {got:.4f}; "
                        f"sertutor.losses.generator_loss gives {expected:.4f}.")
    return "Matches sertutor.losses.generator_loss. At chance it is log 2 = 0.693."


_COLLAPSE_CHOICES = {
    "a": "The codes match the prior so well that D is always right.",
    "b": "D has won: it tells codes from prior samples every time, the generator loss keeps "
         "growing and the encoder's codes are not being pulled towards the prior.",
    "c": "D has stopped learning, so its accuracy is stuck.",
    "d": "Everything is fine: an accuracy of 1 is the goal of the game.",
}


@exercise(
    "04.collapse",
    title="Interpret a discriminator accuracy stuck at 1",
    hint="What would D's accuracy be if the codes really looked like prior samples? What does "
         "a D that is always right mean for the generator's loss?",
    solution='''
answer_collapse = "b"   # D wins every round; at equilibrium its accuracy would be about 0.5
''')
def _collapse(answer):
    if not isinstance(answer, str) or answer.strip().lower().strip("()") not in _COLLAPSE_CHOICES:
        raise Incorrect(f"Answer with one letter of {sorted(_COLLAPSE_CHOICES)}, got {answer!r}.")
    choice = answer.strip().lower().strip("()")
    if choice == "a":
        raise Incorrect("If the codes matched the prior, D could not tell them apart and its "
                        "accuracy would hover around 0.5, not 1.")
    if choice == "c":
        raise Incorrect("A D that stopped learning sits near chance or drifts; an accuracy of "
                        "exactly 1 means it separates the two perfectly: it is winning.")
    if choice == "d":
        raise Incorrect("The game's equilibrium is D at about 0.5: it cannot tell codes from "
                        "prior samples. At 1 the encoder is losing every round.")
    return ("Right. Remedies: a smaller discriminator learning rate (train.disc_lr), a larger "
            "adversarial weight (train.w_adv) or fewer D updates; sertutor's Trainer warns "
            "(AdversarialCollapseWarning) when an accuracy sits at 0 or 1.")
