"""Statistics pooling in the encoder (issue #14): ``model.pooling = "stats"``."""

import numpy as np
import pytest
import torch
from torch import nn

from sertutor.config import MODEL_VARIANTS, get_config
from sertutor.models import MultiTaskAAE
from sertutor.models.encoder import Encoder, pooled_size


@pytest.mark.parametrize("preset", ["tiny", "classroom"])
def test_stats_pooling_shapes(preset):
    cfg = get_config(preset, model__pooling="stats")
    enc = Encoder(cfg.model, cfg.features)
    L = len(cfg.model.channels)
    c_last, m_last = cfg.model.channels[-1], pooled_size(cfg.features.n_mels, L)
    # mean and std over time per (channel, mel row): 2 * c_L * m_L inputs to h
    assert enc.to_hidden.in_features == 2 * c_last * m_last
    flat = Encoder(get_config(preset, model__pooling="flatten").model, cfg.features)
    assert flat.to_hidden.in_features == c_last * m_last * enc.feature_shape[2]
    x = torch.randn(5, cfg.features.n_channels, cfg.features.n_mels,
                    cfg.features.segment_frames)  # (B, C, n_mels, T)
    h = enc(x)
    assert h.shape == (5, cfg.model.hidden_dim)
    assert torch.isfinite(h).all()


@pytest.mark.parametrize("variant", MODEL_VARIANTS)
def test_every_variant_runs_with_stats_pooling(variant):
    cfg = get_config("tiny", model__pooling="stats", model__variant=variant)
    model = MultiTaskAAE(model=cfg.model, features=cfg.features, n_speakers=3)
    x = torch.randn(4, 1, cfg.features.n_mels, cfg.features.segment_frames)
    out = model(x)
    assert out.y.shape == (4, cfg.model.n_emotions) and out.z.shape == (4, cfg.model.z_dim)
    if model.has_decoder:
        assert out.recon.shape == x.shape  # the decoder does not depend on the pooling
    out.y_logits.sum().backward()  # gradients flow through mean and std
    grads = [p.grad for p in model.encoder.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)


def test_stats_pooling_ignores_the_order_of_time_steps():
    cfg = get_config("tiny", model__pooling="stats")
    enc = Encoder(cfg.model, cfg.features).eval()
    c_last, m_last, t_last = enc.feature_shape
    enc.blocks = nn.Identity()  # feed the last feature map directly
    fmap = torch.randn(3, c_last, m_last, t_last)  # (B, c_L, m_L, t_L)
    shuffled = fmap[..., torch.randperm(t_last)]
    torch.testing.assert_close(enc(fmap), enc(shuffled))
    # ... but not the level or the spread over time
    assert not torch.allclose(enc(fmap), enc(fmap * 2.0))
    flat = Encoder(get_config("tiny", model__pooling="flatten").model, cfg.features).eval()
    flat.blocks = nn.Identity()
    assert not torch.allclose(flat(fmap), flat(shuffled))  # flatten sees the order


def test_an_unknown_pooling_is_refused():
    import dataclasses

    cfg = get_config("tiny")
    with pytest.raises(ValueError, match="pooling must be one of"):
        Encoder(dataclasses.replace(cfg.model, pooling="max"), cfg.features)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from sertutor.pipeline import prepare_data

    return prepare_data(get_config("tiny"), progress=False,
                        data_dir=tmp_path_factory.mktemp("sertutor-data"))


def test_stats_pooled_full_model_learns_on_tiny(tiny):
    from sertutor.evaluate import evaluate_segments
    from sertutor.pipeline import build_model
    from sertutor.train import Trainer

    # 300 steps: with t_L times fewer weights into h it fits the training set more slowly
    # than "flatten" (which the other tests give 150), and generalises as well
    cfg = get_config("tiny", model__pooling="stats", train__steps=300, train__eval_every=50,
                     train__patience=10)
    torch.manual_seed(0)
    model = build_model(cfg, n_speakers=len(tiny.label_maps.speakers))
    trainer = Trainer(model, tiny.streams, config=cfg, device="cpu", progress=False).fit()
    first = np.mean([h["emotion"] for h in trainer.history[:10]])
    last = np.mean([h["emotion"] for h in trainer.history[-10:]])
    assert last < 0.7 * first  # the emotion loss falls
    fit = evaluate_segments(trainer.model, tiny.streams.labelled,
                            emotions=tiny.label_maps.emotions)
    assert fit["uar"] > 0.6, fit  # well above chance (0.25) on the training speakers
    held_out = evaluate_segments(trainer.model, tiny.test, emotions=tiny.label_maps.emotions)
    assert held_out["uar"] > 0.35, held_out
