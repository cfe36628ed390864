"""Models: shapes per variant, which parts exist, gradients, learning, input validation."""

import math

import pytest
import torch

from sertutor import losses
from sertutor.config import MODEL_VARIANTS, Config, get_config
from sertutor.models import (VARIANT_PARTS, Encoder, MultiTaskAAE, pooled_size,
                             sample_categorical_prior, sample_gaussian_prior, scale_gradient)

N_SPEAKERS = 6

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

# (name, preset, config overrides): the tiny and classroom feature shapes, and an awkward one
# (3 channels, sizes not divisible by 2^3) on a tiny-width model with three conv blocks.
SHAPES = {
    "tiny": ("tiny", {}),
    "classroom": ("classroom", {}),
    "odd": ("tiny", {"features__n_mels": 40, "features__segment_frames": 50,
                     "features__deltas": True, "model__channels": (4, 8, 8)}),
}


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models gain nothing from threads, and on a shared 2-core machine they lose a lot."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def build(shape="tiny", variant="full", **overrides):
    preset, shape_overrides = SHAPES[shape]
    cfg = get_config(preset, model__variant=variant, **shape_overrides, **overrides)
    torch.manual_seed(0)
    return MultiTaskAAE.from_config(cfg, n_speakers=N_SPEAKERS), cfg


def batch(cfg, b=3, seed=0):
    f = cfg.features
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, f.n_channels, f.n_mels, f.segment_frames, generator=g)


# ---- shapes and parts ------------------------------------------------------------------------

@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("variant", MODEL_VARIANTS)
def test_forward_shapes_and_missing_parts(shape, variant):
    model, cfg = build(shape, variant)
    m, b = cfg.model, 3
    x = batch(cfg, b)
    out = model(x)
    parts = VARIANT_PARTS[variant]
    assert (model.has_decoder, model.has_adversaries, model.has_aux_heads,
            model.has_consistency) == tuple(parts)

    assert out.h.shape == (b, m.hidden_dim)
    assert out.y_logits.shape == out.y.shape == (b, m.n_emotions)
    torch.testing.assert_close(out.y.sum(1), torch.ones(b))
    assert out.z.shape == (b, m.z_dim)
    if parts.decoder:
        assert out.recon.shape == x.shape  # exact, also for sizes not divisible by 2^L
    else:
        assert out.recon is None
    aux = [out.speaker_logits, out.gender_logits, out.arousal_logits, out.valence_logits,
           out.arousal, out.valence]
    if parts.aux_heads:
        assert out.speaker_logits.shape == (b, N_SPEAKERS)
        assert out.gender_logits.shape == (b, 2)
        assert out.arousal_logits.shape == out.valence_logits.shape == (b, m.n_bins)
        assert out.arousal.shape == out.valence.shape == (b,)
        for v in (out.arousal, out.valence):
            assert ((v >= 1) & (v <= 5)).all()
    else:
        assert all(a is None for a in aux)
    if parts.adversaries:
        assert model.discriminate_z(out.z).shape == (b,)
        assert model.discriminate_y(out.y).shape == (b,)
    else:
        with pytest.raises(RuntimeError, match="no discriminators"):
            model.discriminate_y(out.y)


@pytest.mark.parametrize("n_mels,frames,n_blocks", [(32, 64, 2), (40, 50, 3), (37, 23, 3),
                                                    (64, 96, 3), (5, 3, 4)])
def test_pooled_size_matches_encoder_and_decode_is_exact(n_mels, frames, n_blocks):
    cfg = get_config("tiny", model__variant="ae", model__channels=(4,) * n_blocks,
                     features__n_mels=n_mels, features__segment_frames=frames)
    model = MultiTaskAAE.from_config(cfg)
    x = torch.randn(2, 1, n_mels, frames)
    fmap = model.encoder.blocks(x)
    assert fmap.shape[1:] == model.encoder.feature_shape == (4, pooled_size(n_mels, n_blocks),
                                                             pooled_size(frames, n_blocks))
    assert pooled_size(n_mels, n_blocks) == math.ceil(n_mels / 2 ** n_blocks)
    assert model(x).recon.shape == x.shape
    assert model.decode(torch.zeros(7, 4), torch.zeros(7, 4)).shape == (7, 1, n_mels, frames)


def test_parameters_differ_per_variant_and_groups_are_disjoint():
    models = {v: build("tiny", v)[0] for v in MODEL_VARIANTS}
    n = {v: m.n_parameters() for v, m in models.items()}
    assert n["baseline"] < n["ae"] < n["aae"] < n["full"]
    assert n["baseline"] < n["mtl"] < n["full"]

    base_keys = models["baseline"].state_dict().keys()
    assert all(k.startswith(("encoder.", "latent.")) for k in base_keys), base_keys
    assert models["baseline"].discriminator_parameters() == []
    assert not any(k.startswith(("d_z", "d_y", "speaker", "gender", "dimensional"))
                   for k in models["ae"].state_dict())
    assert not any(k.startswith(("decoder", "d_z"))
                   for k in models["mtl"].state_dict())

    for model in models.values():
        main = {id(p) for p in model.main_parameters()}
        disc = {id(p) for p in model.discriminator_parameters()}
        assert not main & disc
        assert main | disc == {id(p) for p in model.parameters()}
        assert (len(disc) > 0) == model.has_adversaries
        assert model.n_parameters() == model.n_parameters("main") + \
            model.n_parameters("discriminators")
        disc_modules = [model.d_z, model.d_y] if model.has_adversaries else []
        assert disc == {id(p) for d in disc_modules for p in d.parameters()}

    def rows(model):  # first column of describe()'s table
        return {line.split()[0] for line in model.describe().splitlines()[2:]}

    assert rows(models["full"]) == {"encoder", "latent", "decoder", "d_z", "d_y", "speaker_head",
                                    "gender_head", "dimensional_head", "main", "discriminators",
                                    "total"}
    assert rows(models["baseline"]) == {"encoder", "latent", "main", "total"}
    assert rows(models["mtl"]) == {"encoder", "latent", "speaker_head", "gender_head",
                                   "dimensional_head", "main", "total"}


def test_every_loss_reaches_the_encoder_and_discriminator_loss_does_not():
    model, cfg = build("tiny", "full")
    x = batch(cfg, 6)
    n = x.shape[0]
    emotion = torch.tensor([0, 1, 2, 3, -1, -1])
    speaker = torch.arange(n) % N_SPEAKERS
    gender = torch.arange(n) % 2
    rating = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0, float("nan")])
    arousal_bin = torch.tensor([0, 1, 2, 0, 1, 2])

    def encoder_grad(loss_fn):
        model.zero_grad(set_to_none=True)
        loss = loss_fn(model(x))
        assert torch.isfinite(loss)
        loss.backward()
        grads = [p.grad for p in model.encoder.parameters()]
        return sum(0.0 if g is None else g.abs().sum().item() for g in grads)

    reaching = {
        "reconstruction": lambda o: losses.reconstruction_loss(o.recon, x),
        "generator_z": lambda o: losses.generator_loss(model.discriminate_z(o.z)),
        "generator_y": lambda o: losses.generator_loss(model.discriminate_y(o.y)),
        "emotion": lambda o: losses.cross_entropy(o.y_logits, emotion),
        "speaker": lambda o: losses.cross_entropy(o.speaker_logits, speaker),
        "gender": lambda o: losses.cross_entropy(o.gender_logits, gender),
        "arousal_bins": lambda o: losses.cross_entropy(o.arousal_logits, arousal_bin),
        "arousal_ccc": lambda o: losses.ccc_loss(o.arousal, rating),
        "valence_ccc": lambda o: losses.ccc_loss(o.valence, rating),
    }
    for name, fn in reaching.items():
        assert encoder_grad(fn) > 0, f"{name} loss does not reach the encoder"

    def disc_loss(o):
        real_z = sample_gaussian_prior(n, cfg.model.z_dim, std=cfg.model.prior_std)
        real_y = sample_categorical_prior(n, cfg.model.n_emotions)
        return (losses.discriminator_loss(model.discriminate_z(real_z),
                                          model.discriminate_z(o.z.detach()))
                + losses.discriminator_loss(model.discriminate_y(real_y),
                                            model.discriminate_y(o.y.detach())))

    assert encoder_grad(disc_loss) == 0
    assert all(p.grad is not None and torch.isfinite(p.grad).all()
               for p in model.discriminator_parameters())


@pytest.mark.parametrize("scale", [1.0, 0.5, 0.0, -1.0])
def test_scale_gradient_is_identity_forward_and_scales_backward(scale):
    x = torch.randn(3, 5, requires_grad=True)
    y = scale_gradient(x, scale=scale)
    assert torch.equal(y, x)
    weights = torch.randn(3, 5)
    (y * weights).sum().backward()
    assert torch.allclose(x.grad, scale * weights)


def test_speaker_adversary_reverses_the_gradient_into_h_not_into_the_head():
    """model.speaker_grad = -1: the speaker head learns as with +1, the encoder gets the
    opposite push (gradient reversal); 0 leaves the encoder alone."""
    x = None
    speaker = torch.arange(6) % N_SPEAKERS
    grads = {}
    for scale in (1.0, -1.0, 0.0):
        model, cfg = build("tiny", "mtl", model__dropout=0.0, model__speaker_grad=scale)
        model.eval()  # batch norm on running statistics: the same function for every scale
        x = batch(cfg, 6) if x is None else x
        losses.cross_entropy(model(x).speaker_logits, speaker).backward()
        grads[scale] = ([p.grad.clone() for p in model.encoder.parameters()],
                        [p.grad.clone() for p in model.speaker_head.parameters()])
    for learn, reverse, probe in zip(grads[1.0][0], grads[-1.0][0], grads[0.0][0]):
        assert torch.allclose(reverse, -learn, atol=1e-6)
        assert torch.count_nonzero(probe) == 0
    assert any(torch.count_nonzero(g) for g in grads[1.0][0])
    for learn, reverse in zip(grads[1.0][1], grads[-1.0][1]):
        assert torch.allclose(reverse, learn)


def test_speaker_grad_must_be_finite_and_old_configs_keep_the_speaker_task():
    with pytest.raises(ValueError, match="model.speaker_grad must be a finite number"):
        get_config("tiny", model__speaker_grad=float("nan"))
    saved = get_config("tiny").to_dict()
    del saved["model"]["speaker_grad"]  # a config saved before the field existed
    assert Config.from_dict(saved).model.speaker_grad == 1.0


# ---- learning actually happens -----------------------------------------------------------

def test_autoencoder_learns_to_reconstruct_a_fixed_batch():
    model, cfg = build("tiny", "ae", model__dropout=0.0)
    f = cfg.features
    # a structured, compressible batch: each segment mixes three smooth mel-time patterns
    g = torch.Generator().manual_seed(1)
    mel = torch.linspace(0, 1, f.n_mels)[:, None]
    time = torch.linspace(0, 1, f.segment_frames)[None, :]
    patterns = torch.stack([torch.sin(6 * mel) * torch.cos(4 * time),
                            torch.cos(3 * mel + 9 * time), (mel - 0.5) * (time - 0.3) * 4])
    x = torch.einsum("bk,kmt->bmt", torch.randn(8, 3, generator=g), patterns)[:, None]

    opt = torch.optim.Adam(model.main_parameters(), lr=3e-3)
    history = []
    for _ in range(150):
        loss = losses.reconstruction_loss(model(x).recon, x)
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append(loss.item())
    first, last = history[0], sum(history[-10:]) / 10
    assert last < 0.2 * first, f"reconstruction loss {first:.3f} -> {last:.3f}"


def test_baseline_fits_a_tiny_labelled_batch():
    model, cfg = build("tiny", "baseline")
    x = batch(cfg, 8, seed=2)
    target = torch.arange(8) % cfg.model.n_emotions
    opt = torch.optim.Adam(model.main_parameters(), lr=3e-3)
    for _ in range(40):
        loss = losses.cross_entropy(model(x).y_logits, target)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        accuracy = (model(x).y_logits.argmax(1) == target).float().mean().item()
    assert accuracy == 1.0


# ---- validation ------------------------------------------------------------------------------

def test_bad_inputs_raise_naming_the_expected_shape():
    model, cfg = build("tiny", "full")
    good = batch(cfg, 2)
    with pytest.raises(ValueError, match=r"\(B, C=1, n_mels=32, T=64\).*unsqueeze"):
        model(good[:, 0])  # 3-D: channel axis missing
    with pytest.raises(ValueError, match=r"n_mels=32"):
        model(torch.randn(2, 3, 32, 64))  # wrong channel count
    with pytest.raises(ValueError, match=r"n_mels=32"):
        model(torch.randn(2, 1, 40, 64))  # wrong mel size
    with pytest.raises(ValueError, match=r"T=64"):
        model(torch.randn(2, 1, 32, 63))  # wrong segment length
    with pytest.raises(TypeError):
        model(good.numpy())
    with pytest.raises(TypeError, match="floating"):
        model(good.long())
    with pytest.raises(ValueError, match="decode expects"):
        model.decode(torch.zeros(2, 4), torch.zeros(2, 5))
    with pytest.raises(ValueError, match=r"\(B, 4\)"):
        model.discriminate_z(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="n_speakers"):
        MultiTaskAAE(model=cfg.model, features=cfg.features)  # full needs speakers
    baseline, _ = build("tiny", "baseline")
    with pytest.raises(RuntimeError, match="no decoder"):
        baseline.decode(torch.zeros(2, 4), torch.zeros(2, 4))


def test_prior_samplers():
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    z = sample_gaussian_prior(4000, 3, std=2.0, generator=g1)
    assert z.shape == (4000, 3) and z.dtype == torch.float32
    assert abs(z.std().item() - 2.0) < 0.1 and abs(z.mean().item()) < 0.1
    torch.testing.assert_close(z, sample_gaussian_prior(4000, 3, std=2.0, generator=g2))
    y = sample_categorical_prior(4000, 4, generator=torch.Generator().manual_seed(0))
    assert y.shape == (4000, 4) and y.dtype == torch.float32
    assert (y.sum(1) == 1).all() and set(y.unique().tolist()) == {0.0, 1.0}
    assert (y.mean(0) - 0.25).abs().max() < 0.05  # uniform classes


def test_encoder_module_alone():
    cfg = get_config("tiny")
    h = Encoder(cfg.model, cfg.features)(torch.randn(2, 1, 32, 64))
    assert h.shape == (2, cfg.model.hidden_dim)


# ---- precision and devices ---------------------------------------------------------------

def _train_step_all_losses(model, cfg, x):
    out = model(x)
    n = x.shape[0]
    dev = x.device
    real_z = sample_gaussian_prior(n, cfg.model.z_dim, std=cfg.model.prior_std, device=dev)
    fake_z_logits = model.discriminate_z(out.z)
    terms = [losses.reconstruction_loss(out.recon, x),
             losses.generator_loss(fake_z_logits),
             losses.discriminator_loss(model.discriminate_z(real_z), fake_z_logits.detach()),
             losses.cross_entropy(out.y_logits, torch.arange(n, device=dev) % 4),
             losses.cross_entropy(out.speaker_logits, torch.arange(n, device=dev) % N_SPEAKERS),
             losses.ccc_loss(out.arousal, torch.linspace(1, 5, n, device=dev))]
    for t in terms:
        assert t.dtype == torch.float32 and torch.isfinite(t), t
    return out, sum(terms)


def test_cpu_bf16_autocast_keeps_losses_float32():
    model, cfg = build("tiny", "full")
    x = batch(cfg, 4)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out, total = _train_step_all_losses(model, cfg, x)
    assert out.recon.dtype == torch.bfloat16  # the model did run in bf16
    total.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.encoder.parameters())


@pytest.mark.cuda
@cuda
@pytest.mark.parametrize("variant", MODEL_VARIANTS)
def test_cuda_forward_backward_with_bf16_autocast(variant):
    model, cfg = build("classroom", variant)
    model = model.cuda()
    x = batch(cfg, 8).cuda()
    opt = torch.optim.Adam(model.main_parameters(), lr=1e-3)
    for _ in range(2):
        with torch.autocast("cuda", dtype=torch.bfloat16):
            out = model(x)
            loss = losses.cross_entropy(out.y_logits, torch.arange(8, device="cuda") % 4)
            if model.has_decoder:
                loss = loss + losses.reconstruction_loss(out.recon, x)
            if model.has_aux_heads:
                loss = loss + losses.ccc_loss(out.valence, torch.linspace(1, 5, 8, device="cuda"))
        assert loss.dtype == torch.float32 and torch.isfinite(loss)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert out.y.device.type == "cuda"
    if model.has_decoder:
        assert out.recon.shape == x.shape


@pytest.mark.cuda
@cuda
def test_cuda_full_all_losses_under_autocast():
    model, cfg = build("tiny", "full")
    model = model.cuda()
    x = batch(cfg, 6).cuda()
    with torch.autocast("cuda", dtype=torch.bfloat16):
        out, total = _train_step_all_losses(model, cfg, x)
    total.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.main_parameters()
               if p.grad is not None)
