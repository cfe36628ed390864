"""The losses of the multi-task semi-supervised AAE, one small function each.

Every loss casts its inputs to float32 first, so the model can run under
``torch.autocast("cuda", dtype=torch.bfloat16)`` while the losses (sums of many small terms,
logs of probabilities) are still computed in full precision. Where a batch can lack labels
(unlabelled audio has no emotion, the auxiliary corpus has no arousal), the loss returns 0
with its gradient graph intact instead of NaN, so it can always be added to the total.

Notation: B is the batch size, sigma the logistic sigmoid, E the mean over the batch.

======================  =====================================================================
reconstruction_loss     (1/N) sum over valid (b, c, m, t) of (x_hat - x)^2
smooth_time             x averaged over a k-frame window in time (a reconstruction target)
strong_augment          SpecAugment masks, a level shift and noise (fixmatch's strong view)
pseudo_label_loss       (1/B) sum_b keep[b] * CE(logits[b], pseudo[b])            (FixMatch)
discriminator_loss      -E[log sigma(D(prior sample))] - E[log(1 - sigma(D(encoder code)))]
generator_loss          -E[log sigma(D(encoder code))]        (non-saturating)
cross_entropy           -E over labelled rows of log softmax(logits)[target]
ccc                     2 s_xy / (s_x^2 + s_y^2 + (mu_x - mu_y)^2)
ccc_loss                1 - ccc
======================  =====================================================================

The nn.Module versions (``ReconstructionLoss``, ...) just call the functions; use whichever
reads better.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

# The prior samplers live with the discriminators; re-exported here because the regularisation
# phase of training uses them right next to discriminator_loss and generator_loss.
from .models.discriminators import sample_categorical_prior, sample_gaussian_prior

__all__ = [
    "reconstruction_loss", "prosody_loss", "discriminator_loss", "generator_loss",
    "cross_entropy", "ccc", "ccc_loss", "discriminator_accuracy", "smooth_time", "strong_augment",
    "pseudo_label_loss", "utterance_agreement_loss", "sample_gaussian_prior",
    "sample_categorical_prior", "ReconstructionLoss", "DiscriminatorLoss", "GeneratorLoss",
    "CrossEntropy", "CCCLoss", "UtteranceAgreementLoss",
]


# ---- reconstruction -------------------------------------------------------------------------

def prosody_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error of predicted prosodic descriptors, over the defined ones only.

    With the descriptors d (B, P) of each row's utterance, z-scored within its speaker
    (:mod:`sertutor.features.prosody`), and m[b, p] = 1 where d[b, p] is defined (not NaN)::

        L = sum_{b,p} m[b,p] (d_hat[b,p] - d[b,p])^2 / sum_{b,p} m[b,p]

    An undefined descriptor (the pitch of an unvoiced utterance, a row without audio) is no
    target; if none is defined the loss is 0.

    Parameters
    ----------
    pred, target : Tensor, shape (B, P)

    Returns
    -------
    Tensor, scalar float32
    """
    if pred.shape != target.shape or pred.ndim != 2:
        raise ValueError(f"pred and target must both have shape (B, P), got "
                         f"{tuple(pred.shape)} and {tuple(target.shape)}")
    defined = torch.isfinite(target)  # (B, P)
    error = torch.where(defined, pred.float() - target.float(), 0.0)  # (B, P)
    return (error ** 2).sum() / defined.sum().clamp(min=1)


def reconstruction_loss(recon: torch.Tensor, target: torch.Tensor,
                        mask: torch.Tensor | None = None) -> torch.Tensor:
    """Mean squared error between a reconstruction and its input, over valid frames only.

    With a mask m (B, T) of valid frames::

        L = sum_{b,c,f,t} m[b,t] (x_hat[b,c,f,t] - x[b,c,f,t])^2 / (C F sum_{b,t} m[b,t])

    Masked frames (padding at the end of a short utterance) count neither in the sum nor in the
    denominator, and may even hold NaN. If every frame is masked the loss is 0.

    Parameters
    ----------
    recon, target : Tensor, shape (B, C, n_mels, T)
    mask : Tensor of bool, shape (B, T), optional
        True for real frames. None: every frame counts.

    Returns
    -------
    Tensor, scalar float32
    """
    if recon.shape != target.shape:
        raise ValueError(f"recon and target shapes differ: {tuple(recon.shape)} vs "
                         f"{tuple(target.shape)}")
    error = recon.float() - target.float()  # (B, C, n_mels, T)
    if mask is None:
        return (error ** 2).mean()
    if mask.shape != (recon.shape[0], recon.shape[-1]):
        raise ValueError(f"mask must have shape (B, T) = {(recon.shape[0], recon.shape[-1])}, "
                         f"got {tuple(mask.shape)}")
    valid = mask.bool()[:, None, None, :].expand_as(error)  # (B, 1, 1, T) -> (B, C, n_mels, T)
    # zero the error in padded frames *before* squaring, with where rather than "* mask": that
    # way NaN in the padding reaches neither the loss nor, through the backward pass, the grads
    error = torch.where(valid, error, 0.0)
    return (error ** 2).sum() / valid.sum().clamp(min=1)


def smooth_time(x: torch.Tensor, frames: int) -> torch.Tensor:
    """Moving average of log-mel segments over ``frames`` frames in time (same shape).

    A reconstruction target that keeps what changes slowly (level, spectral balance, their
    drift across the segment) and drops what changes at the rate of syllables (phonetic
    content, which neither the emotion code nor a small style code can carry)::

        s[b, c, m, t] = mean of x[b, c, m, t'] over |t' - t| <= frames // 2 (inside the segment)

    Parameters
    ----------
    x : Tensor, shape (B, C, n_mels, T)
    frames : int
        Window length; 0 or 1 returns ``x`` unchanged.

    Returns
    -------
    Tensor, shape (B, C, n_mels, T)
    """
    if frames < 0:
        raise ValueError(f"frames must be >= 0, got {frames}")
    if frames <= 1:
        return x
    if x.ndim != 4:
        raise ValueError(f"expected segments of shape (B, C, n_mels, T), got {tuple(x.shape)}")
    k = min(frames, x.shape[-1])
    k = k if k % 2 else k - 1  # an odd window centred on each frame keeps the length
    if k <= 1:
        return x
    b, c, m, t = x.shape
    flat = x.float().reshape(b * c, m, t)  # (B*C, n_mels, T)
    smooth = F.avg_pool1d(flat, kernel_size=k, stride=1, padding=k // 2,
                          count_include_pad=False)  # (B*C, n_mels, T)
    return smooth.reshape(b, c, m, t).to(x.dtype)


def strong_augment(x: torch.Tensor, *, generator: torch.Generator | None = None,
                   n_masks: int = 2, max_mel: float = 0.15, max_time: float = 0.2,
                   level_std: float = 0.3, noise_std: float = 0.1) -> torch.Tensor:
    """A strongly augmented copy of normalised log-mel segments (FixMatch's strong view).

    SpecAugment (Park et al. 2019): ``n_masks`` bands of up to ``max_mel`` of the mel axis and
    ``n_masks`` spans of up to ``max_time`` of the frames are set to 0 (the normalised mean),
    independently per segment; then a random level shift (one value per segment, std
    ``level_std``) and Gaussian noise (std ``noise_std``) are added.

    Parameters
    ----------
    x : Tensor, shape (B, C, n_mels, T)
    generator : torch.Generator, optional
        Source of randomness (CPU), for reproducible training.

    Returns
    -------
    Tensor, shape (B, C, n_mels, T), a new tensor
    """
    if x.ndim != 4:
        raise ValueError(f"expected segments of shape (B, C, n_mels, T), got {tuple(x.shape)}")
    b, _, m, t = x.shape

    def rand(*shape):
        return torch.rand(*shape, generator=generator).to(x.device)

    def span_mask(n: int, max_share: float) -> torch.Tensor:  # (B, n) True inside a span
        pos = torch.arange(n, device=x.device)  # (n,)
        keep = torch.zeros(b, n, dtype=torch.bool, device=x.device)
        for _ in range(n_masks):
            width = (rand(b, 1) * max_share * n).floor()  # (B, 1)
            start = (rand(b, 1) * (n - width + 1)).floor()  # (B, 1)
            keep |= (pos >= start) & (pos < start + width)  # (B, n)
        return keep

    mel_mask = span_mask(m, max_mel)[:, None, :, None]  # (B, 1, n_mels, 1)
    time_mask = span_mask(t, max_time)[:, None, None, :]  # (B, 1, 1, T)
    out = x.masked_fill(mel_mask | time_mask, 0.0)  # (B, C, n_mels, T)
    level = torch.randn(b, 1, 1, 1, generator=generator).to(x.device) * level_std
    noise = torch.randn(x.shape, generator=generator).to(x.device) * noise_std
    return out + level.to(x.dtype) + noise.to(x.dtype)


def pseudo_label_loss(logits: torch.Tensor, pseudo: torch.Tensor,
                      keep: torch.Tensor) -> torch.Tensor:
    """FixMatch's unlabelled loss: cross-entropy against confident pseudo-labels only.

    ::

        L_u = (1/B) sum_b keep[b] * (-log softmax(logits[b])[pseudo[b]])

    The mean is over the whole batch, confident or not, as in Sohn et al. (2020): while few
    predictions are confident the term is small, and it grows as the model becomes sure.

    Parameters
    ----------
    logits : Tensor, shape (B, K)
        Predictions on the strongly augmented views.
    pseudo : Tensor of int64, shape (B,)
    keep : Tensor of bool, shape (B,)

    Returns
    -------
    Tensor, scalar float32
    """
    if logits.ndim != 2 or pseudo.shape != logits.shape[:1] or keep.shape != logits.shape[:1]:
        raise ValueError(f"expected logits (B, K), pseudo (B,) and keep (B,), got "
                         f"{tuple(logits.shape)}, {tuple(pseudo.shape)}, {tuple(keep.shape)}")
    per_row = F.cross_entropy(logits.float(), pseudo, reduction="none")  # (B,)
    return (keep.float() * per_row).mean()


def utterance_agreement_loss(logits_a: torch.Tensor, logits_b: torch.Tensor,
                             valid: torch.Tensor) -> torch.Tensor:
    """Two segments of one utterance should get the same emotion posterior.

    Emotion is a property of the utterance, while the model sees ~1 s segments of it: two
    segments of one unlabelled utterance say different words in the same emotional state. The
    squared distance between their posteriors (the Pi-model's consistency term, Laine & Aila,
    *Temporal ensembling for semi-supervised learning*, ICLR 2017, with a second segment of the
    utterance as the second view instead of a second augmentation)::

        L_utt = (1/B) sum_b valid[b] * sum_k (softmax(a_b)_k - softmax(b_b)_k)^2

    Both views get gradients. ``valid`` is False for a segment whose utterance has no other
    segment; the mean is over the whole batch, so such rows count as zero.

    Parameters
    ----------
    logits_a, logits_b : Tensor, shape (B, K)
        Emotion logits of each segment and of another segment of its utterance.
    valid : Tensor of bool, shape (B,)

    Returns
    -------
    Tensor, scalar float32, in [0, 2]
    """
    if logits_a.ndim != 2 or logits_b.shape != logits_a.shape \
            or valid.shape != logits_a.shape[:1]:
        raise ValueError(f"expected logits_a (B, K), logits_b (B, K) and valid (B,), got "
                         f"{tuple(logits_a.shape)}, {tuple(logits_b.shape)}, "
                         f"{tuple(valid.shape)}")
    p_a = logits_a.float().softmax(dim=1)  # (B, K)
    p_b = logits_b.float().softmax(dim=1)  # (B, K)
    per_row = (p_a - p_b).pow(2).sum(dim=1)  # (B,)
    return (valid.float() * per_row).mean()


# ---- adversarial ----------------------------------------------------------------------------

def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """The discriminator's binary cross-entropy: prior samples are "real" (1), codes "fake" (0).

    ::

        L_D = -E_{c ~ p(c)}[log sigma(D(c))] - E_{x}[log(1 - sigma(D(q(c|x))))]

    (the sum of the two halves' means). Pass the encoder's codes *detached* when updating D, so
    this loss trains only the discriminator. At chance (all logits 0) it equals 2 log 2 ~ 1.386.

    Parameters
    ----------
    real_logits : Tensor, shape (B_real,)
        D's logits for samples of the prior.
    fake_logits : Tensor, shape (B_fake,)
        D's logits for the encoder's codes.

    Returns
    -------
    Tensor, scalar float32
    """
    real_logits, fake_logits = real_logits.float(), fake_logits.float()
    real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return real + fake


def generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """The encoder's adversarial loss: make D call its codes "real" (non-saturating form).

    ::

        L_G = -E_{x}[log sigma(D(q(c|x)))]

    Minimising log(1 - sigma(D)) instead (the minimax form) gives almost no gradient while D
    confidently rejects the codes, which is exactly when the encoder most needs one
    (Goodfellow et al. 2014). At chance it equals log 2 ~ 0.693.

    Parameters
    ----------
    fake_logits : Tensor, shape (B,)
        D's logits for the encoder's codes (not detached: the gradient must reach the encoder).

    Returns
    -------
    Tensor, scalar float32
    """
    fake_logits = fake_logits.float()
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


@torch.no_grad()
def discriminator_accuracy(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> float:
    """Share of prior samples D calls real (logit > 0) and codes it calls fake (logit <= 0).

    About 0.5 means D cannot tell (the codes match the prior, or D is not learning); near 1.0
    for long means D has won and the encoder gets no useful signal (watch for collapse).

    Returns
    -------
    float in [0, 1]
    """
    correct = (real_logits > 0).sum() + (fake_logits <= 0).sum()
    total = real_logits.numel() + fake_logits.numel()
    return correct.item() / max(total, 1)


# ---- supervised -----------------------------------------------------------------------------

def cross_entropy(logits: torch.Tensor, target: torch.Tensor, ignore_index: int = -1, *,
                  weight: torch.Tensor | None = None) -> torch.Tensor:
    """Cross-entropy over the labelled rows; rows whose target is ``ignore_index`` are skipped.

    ::

        L = -sum_{b labelled} w[y_b] log softmax(logits_b)[y_b] / sum_{b labelled} w[y_b]

    (w = 1 without class weights). Unlike ``torch.nn.functional.cross_entropy``, a batch with
    no labelled row gives 0, not NaN, and the result is still connected to ``logits``, so
    ``loss.backward()`` works (with zero gradients).

    Parameters
    ----------
    logits : Tensor, shape (B, K)
    target : Tensor of int, shape (B,)
        Class indices in [0, K), or ``ignore_index`` for unlabelled rows.
    ignore_index : int
        Target value meaning "no label" (sertutor's datasets use -1).
    weight : Tensor, shape (K,), optional
        Class weights (e.g. inverse class frequencies, to train for unweighted recall).

    Returns
    -------
    Tensor, scalar float32
    """
    logits, target = logits.float(), target.long()
    per_row = F.cross_entropy(logits, target, weight=weight, ignore_index=ignore_index,
                              reduction="none")  # (B,), 0 where ignored
    labelled = target != ignore_index  # (B,)
    if weight is None:
        norm = labelled.sum()
    else:
        safe_target = torch.where(labelled, target, 0)  # any valid index for ignored rows
        norm = (weight.float()[safe_target] * labelled).sum()
    return per_row.sum() / norm.clamp(min=torch.finfo(torch.float32).tiny)


# ---- dimensional: concordance correlation coefficient --------------------------------------

def ccc(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Lin's concordance correlation coefficient, skipping NaN targets.

    ::

        rho_c = 2 s_xy / (s_x^2 + s_y^2 + (mu_x - mu_y)^2)

    with means mu, (biased) variances s^2 and covariance s_xy over the valid pairs. Unlike
    Pearson's r, rho_c also punishes a shift or a rescaling: it is 1 only when pred equals
    target exactly, -1 for pred = 2 mu - target, and the standard score of the AVEC challenges
    for arousal and valence. ``eps`` keeps the denominator positive: with fewer than two valid
    pairs or constant, equal inputs the result is 0.

    Parameters
    ----------
    pred, target : Tensor, same shape (any; all elements are pooled)
        Predictions and ratings; NaN in ``target`` marks a missing rating.

    Returns
    -------
    Tensor, scalar float32 in [-1, 1]
    """
    if pred.shape != target.shape:
        raise ValueError(f"pred and target shapes differ: {tuple(pred.shape)} vs "
                         f"{tuple(target.shape)}")
    x, y = pred.float().flatten(), target.float().flatten()
    valid = ~torch.isnan(y)  # (N,)
    n = valid.sum().clamp(min=1)
    x, y = torch.where(valid, x, 0.0), torch.where(valid, y, 0.0)  # missing pairs -> 0
    mu_x, mu_y = x.sum() / n, y.sum() / n
    dx, dy = torch.where(valid, x - mu_x, 0.0), torch.where(valid, y - mu_y, 0.0)
    var_x, var_y = (dx ** 2).sum() / n, (dy ** 2).sum() / n
    cov_xy = (dx * dy).sum() / n
    return 2 * cov_xy / (var_x + var_y + (mu_x - mu_y) ** 2 + eps)


def ccc_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``1 - ccc(pred, target)``, in [0, 2]; 0 (graph intact) when no target is valid.

    Because CCC is computed over the whole batch, it is not a sum of per-sample terms: use
    batches of more than a handful of rated samples.
    """
    has_ratings = (~torch.isnan(target)).any()
    return (1.0 - ccc(pred, target)) * has_ratings  # * False -> 0 for unrated batches


# ---- nn.Module wrappers ---------------------------------------------------------------------

class ReconstructionLoss(nn.Module):
    """Masked mean squared error; see :func:`reconstruction_loss`."""

    def forward(self, recon, target, mask=None):
        return reconstruction_loss(recon, target, mask)


class DiscriminatorLoss(nn.Module):
    """-E[log sigma(D(prior))] - E[log(1 - sigma(D(code)))]; see :func:`discriminator_loss`."""

    def forward(self, real_logits, fake_logits):
        return discriminator_loss(real_logits, fake_logits)


class GeneratorLoss(nn.Module):
    """-E[log sigma(D(code))]; see :func:`generator_loss`."""

    def forward(self, fake_logits):
        return generator_loss(fake_logits)


class CrossEntropy(nn.Module):
    """Cross-entropy that skips unlabelled rows and gives 0 for none; see :func:`cross_entropy`."""

    def __init__(self, ignore_index: int = -1, weight: torch.Tensor | None = None):
        super().__init__()
        self.ignore_index = ignore_index
        self.register_buffer("weight", weight)  # moves with .to(device); None is allowed

    def forward(self, logits, target):
        return cross_entropy(logits, target, self.ignore_index, weight=self.weight)


class UtteranceAgreementLoss(nn.Module):
    """sum_k (p_a - p_b)^2 between two segments of one utterance; see
    :func:`utterance_agreement_loss`."""

    def forward(self, logits_a, logits_b, valid):
        return utterance_agreement_loss(logits_a, logits_b, valid)


class CCCLoss(nn.Module):
    """1 - rho_c; see :func:`ccc_loss`."""

    def forward(self, pred, target):
        return ccc_loss(pred, target)
