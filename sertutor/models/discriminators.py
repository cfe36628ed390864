"""The adversarial priors: discriminators D_z and D_y and the prior samplers.

In an adversarial autoencoder (Makhzani et al. 2016) the encoder's codes are pushed towards a
chosen prior distribution not by a KL term (as in a VAE) but by a game, as in a GAN:

- a discriminator D sees codes drawn from the prior ("real") and codes the encoder produced
  from data ("fake") and learns to tell them apart, and
- the encoder, acting as the generator, learns to produce codes D takes for prior samples.

When D can no longer tell, the codes are distributed like the prior. sertutor uses two:

- ``D_z`` (:class:`GaussianPriorDiscriminator`) on the style code z, prior N(0, std^2 I), and
- ``D_y`` (:class:`CategoricalPriorDiscriminator`) on the emotion code y = softmax(logits),
  prior: one-hot vectors of uniformly drawn classes. Fooling D_y forces y towards confident,
  near one-hot predictions used equally often, which is what lets unlabelled data shape the
  emotion classifier (Makhzani et al. 2016, section 5).

Each discriminator is a small MLP returning one logit per sample: positive means "this looks
like a sample of the prior". The losses are in :mod:`sertutor.losses`.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..config import ModelConfig
from .encoder import NEG_SLOPE

__all__ = ["PriorDiscriminator", "GaussianPriorDiscriminator", "CategoricalPriorDiscriminator",
           "sample_gaussian_prior", "sample_categorical_prior"]


class PriorDiscriminator(nn.Module):
    """An MLP ``in_dim -> hidden -> hidden -> 1``: one "is this a prior sample?" logit per row.

    Parameters
    ----------
    in_dim : int
        Size of the code it judges.
    hidden : int
        Hidden units of both hidden layers.
    """

    def __init__(self, in_dim: int, hidden: int):
        super().__init__()
        self.in_dim = in_dim
        self.net = nn.Sequential(
            nn.Linear(in_dim, hidden), nn.LeakyReLU(NEG_SLOPE),
            nn.Linear(hidden, hidden), nn.LeakyReLU(NEG_SLOPE),
            nn.Linear(hidden, 1),
        )

    def forward(self, code: torch.Tensor) -> torch.Tensor:
        """Judge codes.

        Parameters
        ----------
        code : Tensor, shape (B, in_dim)

        Returns
        -------
        logits : Tensor, shape (B,)
            ``sigmoid(logits)`` is D's probability that each code was drawn from the prior.
        """
        if code.ndim != 2 or code.shape[1] != self.in_dim:
            raise ValueError(f"{type(self).__name__} expects codes of shape (B, {self.in_dim}), "
                             f"got {tuple(code.shape)}")
        return self.net(code).squeeze(1)  # (B, 1) -> (B,)


class GaussianPriorDiscriminator(PriorDiscriminator):
    """D_z: tells samples of the Gaussian prior p(z) from style codes z ~ q(z|x)."""

    def __init__(self, model: ModelConfig):
        super().__init__(model.z_dim, model.disc_hidden)


class CategoricalPriorDiscriminator(PriorDiscriminator):
    """D_y: tells one-hot samples of the categorical prior p(y) from emotion codes y ~ q(y|x)."""

    def __init__(self, model: ModelConfig):
        super().__init__(model.n_emotions, model.disc_hidden)


def sample_gaussian_prior(n: int, dim: int, *, std: float = 1.0,
                          device: torch.device | str | None = None,
                          generator: torch.Generator | None = None) -> torch.Tensor:
    """Draw ``n`` samples of the style prior p(z) = N(0, std^2 I).

    Parameters
    ----------
    n, dim : int
        Number of samples and their size (``ModelConfig.z_dim``).
    std : float
        Standard deviation (``ModelConfig.prior_std``).
    device : torch.device or str, optional
        Where to create them (the model's device).
    generator : torch.Generator, optional
        For reproducible draws; it must live on ``device``.

    Returns
    -------
    Tensor, shape (n, dim), float32
    """
    return std * torch.randn(n, dim, device=device, generator=generator)


def sample_categorical_prior(n: int, k: int, *, device: torch.device | str | None = None,
                             generator: torch.Generator | None = None) -> torch.Tensor:
    """Draw ``n`` samples of the emotion prior p(y): one-hot vectors of uniform classes.

    Parameters
    ----------
    n, k : int
        Number of samples and number of classes (``ModelConfig.n_emotions``).
    device : torch.device or str, optional
        Where to create them.
    generator : torch.Generator, optional
        For reproducible draws; it must live on ``device``.

    Returns
    -------
    Tensor, shape (n, k), float32
        Each row has a single 1.
    """
    classes = torch.randint(0, k, (n,), device=device, generator=generator)  # (n,)
    return F.one_hot(classes, num_classes=k).float()  # (n, k)
