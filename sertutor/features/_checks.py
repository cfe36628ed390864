"""Checks of the arguments every feature module takes: the settings and feature arrays.

Private to :mod:`sertutor.features`: each check raises a ``TypeError`` / ``ValueError`` that
names the argument and the shape it should have, so a student's mistake is reported where it
is made rather than as a shape error deep inside torch.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import numpy as np
import torch
from torch import Tensor

from ..config import FeatureConfig


def check_config(config: FeatureConfig | None) -> FeatureConfig:
    """``config``, or ``FeatureConfig()`` when None; raises if the settings cannot work."""
    if config is None:
        return FeatureConfig()
    if not isinstance(config, FeatureConfig):
        raise TypeError(f"config must be a FeatureConfig, got {type(config).__name__}")
    if config.win_length > config.n_fft:
        raise ValueError(f"config: window of {config.win_length} samples is longer than "
                         f"n_fft={config.n_fft}")
    if config.hop_length < 1:
        raise ValueError(f"config: hop of {config.hop_length} samples; need at least 1")
    if config.power not in (1.0, 2.0):
        raise ValueError(f"config: power must be 1.0 (magnitude) or 2.0 (power), "
                         f"got {config.power}")
    return config


def check_features(x: Any, *, name: str, ndim: tuple[int, ...], shape_text: str) -> None:
    """Raise unless ``x`` is a floating-point numpy array or tensor with ``ndim`` axes."""
    if not isinstance(x, (np.ndarray, Tensor)):
        raise TypeError(f"{name} must be a numpy array or tensor of shape {shape_text}, got "
                        f"{type(x).__name__}")
    if x.ndim not in ndim:
        raise ValueError(f"{name} must have shape {shape_text}, got shape {tuple(x.shape)}")
    floating = x.is_floating_point() if isinstance(x, Tensor) \
        else np.issubdtype(x.dtype, np.floating)
    if not floating:
        raise ValueError(f"{name} must be floating point, got dtype {x.dtype}")


_DEVICE_CACHE: dict[tuple, tuple[Tensor, ...]] = {}


def cached_on_device(build: Callable[[FeatureConfig], tuple[Tensor, ...]], c: FeatureConfig,
                     device: torch.device) -> tuple[Tensor, ...]:
    """``build(c)`` (fixed tensors such as a window and a mel filterbank) on ``device``, built
    once per builder, settings and device (at most 16 entries are kept)."""
    key = (build.__module__, build.__qualname__, dataclasses.astuple(c), str(device))
    found = _DEVICE_CACHE.get(key)
    if found is None:
        if len(_DEVICE_CACHE) > 16:
            _DEVICE_CACHE.clear()
        found = _DEVICE_CACHE[key] = tuple(t.to(device) for t in build(c))
    return found
