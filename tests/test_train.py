"""The training loop, evaluation, checkpoints, resumption and the pipeline, on the tiny preset."""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pytest
import torch

from semi_helpers import InterruptAt
from sertutor.config import MODEL_VARIANTS, get_config
from sertutor.evaluate import (classification_metrics, concordance_cc, evaluate_all,
                               pool_utterances, uar, weighted_accuracy)
from sertutor.pipeline import build_model, load_trained, prepare_data, train_and_evaluate
from sertutor.train import (AdversarialCollapseWarning, Trainer, TrainingDivergedError,
                            load_checkpoint)


# ------------------------------------------------------------------------------- metrics
def test_uar_and_wa_on_imbalanced_labels():
    y_true = [0] * 8 + [1] * 2
    y_pred = [0] * 10  # always the majority class
    assert weighted_accuracy(y_true, y_pred) == pytest.approx(0.8)
    assert uar(y_true, y_pred) == pytest.approx(0.5)  # recall 1.0 and 0.0


def test_classification_metrics_confusion_and_recall():
    m = classification_metrics([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 2, 0],
                               labels=["neutral", "happy", "sad", "angry"])
    assert m["confusion"] == [[1, 1, 0, 0], [0, 1, 0, 0], [1, 0, 2, 0], [0, 0, 0, 0]]
    assert m["per_class_recall"] == pytest.approx({"neutral": 0.5, "happy": 1.0, "sad": 2 / 3})
    assert m["uar"] == pytest.approx((0.5 + 1.0 + 2 / 3) / 3)  # angry is absent: not averaged
    assert m["n"] == 6


def test_metric_inputs_are_checked():
    with pytest.raises(ValueError, match="differ in length"):
        uar([0, 1], [0])
    with pytest.raises(ValueError, match="zero utterances"):
        uar([], [])


def test_concordance_cc_values():
    x = np.array([-1.5, -0.5, 0.5, 1.5])  # zero mean, so -x is a perfect anti-concordance
    assert concordance_cc(x, x) == pytest.approx(1.0)
    assert concordance_cc(-x, x) == pytest.approx(-1.0)
    # a shift of 1 costs what Pearson's r forgives: 2*1.25 / (1.25 + 1.25 + 1)
    assert concordance_cc(x + 1.0, x) == pytest.approx(2.5 / 3.5)
    with pytest.raises(ValueError, match="at least 2 rated"):
        concordance_cc(x, [np.nan, np.nan, np.nan, 1.0])


def test_pool_utterances_means_per_utterance():
    values = np.array([[1.0, 0.0], [0.0, 1.0], [0.2, 0.8]])
    ids, pooled = pool_utterances(values, np.array([5, 5, 7]))
    assert ids.tolist() == [5, 7]
    np.testing.assert_allclose(pooled, [[0.5, 0.5], [0.2, 0.8]])


# ---------------------------------------------------------------------------- tiny data
@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("sertutor-data")


@pytest.fixture(scope="module")
def tiny(data_dir):
    cfg = get_config("tiny")
    return prepare_data(cfg, test_corpora=("synth-field",), progress=False, data_dir=data_dir)


@pytest.fixture(scope="module")
def tiny_low_labels(data_dir):
    cfg = get_config("tiny", train__label_fraction=0.3)
    return prepare_data(cfg, progress=False, data_dir=data_dir)


def _trainer(data, variant="full", **train):
    cfg = get_config("tiny", model__variant=variant,
                     **{f"train__{k}": v for k, v in train.items()})
    torch.manual_seed(cfg.train.seed)
    model = build_model(cfg, n_speakers=len(data.label_maps.speakers))
    return Trainer(model, data.streams, config=cfg, device="cpu", progress=False)


def test_prepare_data_is_speaker_independent(tiny):
    m = tiny.manifests
    train_spk, test_spk = set(m["emotion_train"]["speaker"]), set(m["emotion_test"]["speaker"])
    assert train_spk and test_spk and not (train_spk & test_spk)
    s = tiny.streams
    assert len(s.labelled) > 0 and s.unlabelled is None  # label fraction 1.0
    assert (s.labelled.emotion >= 0).all()
    assert (s.aux.emotion == -1).all() and (s.aux.speaker >= 0).all()
    assert tiny.test.x.shape[1:] == (1, 32, 64)  # (C, n_mels, frames) of the tiny preset


def test_label_fraction_moves_labels_to_unlabelled_stream(tiny_low_labels):
    s = tiny_low_labels.streams
    assert s.unlabelled is not None
    assert (s.unlabelled.emotion == -1).all()
    assert torch.isnan(s.unlabelled.arousal).all()  # dimensional labels hidden too
    n_lab = len(torch.unique(s.labelled.utt))
    n_unl = len(torch.unique(s.unlabelled.utt))
    assert 0.15 < n_lab / (n_lab + n_unl) < 0.5


@pytest.mark.parametrize("variant", MODEL_VARIANTS)
def test_each_variant_runs_its_phases(tiny_low_labels, variant):
    trainer = _trainer(tiny_low_labels, variant)
    logs = trainer.train_step()
    model = trainer.model
    assert ("recon" in logs) == model.has_decoder
    assert ("d_z" in logs and "generator" in logs) == model.has_adversaries
    assert ("speaker" in logs and "gender" in logs) == model.has_aux_heads
    assert ("consistency" in logs and "pseudo_share" in logs) == model.has_consistency
    assert "emotion" in logs and all(math.isfinite(v) for v in logs.values())


@pytest.mark.parametrize("variant", MODEL_VARIANTS)
def test_unlabelled_stream_is_drawn_only_by_unsupervised_phases(tiny_low_labels, variant):
    trainer = _trainer(tiny_low_labels, variant)
    drawn, batch = [], trainer._batch
    trainer._batch = lambda segments, *weights: drawn.append(segments) or batch(segments, *weights)
    trainer.train_step()
    uses_unlabelled = any(s is tiny_low_labels.streams.unlabelled for s in drawn)
    m = trainer.model
    assert uses_unlabelled == (m.has_decoder or m.has_adversaries or m.has_consistency)


@pytest.fixture(scope="module")
def emotion_speakers(data_dir):
    cfg = get_config("tiny", train__label_fraction=0.3, train__speaker_corpora="aux+emotion")
    return prepare_data(cfg, progress=False, data_dir=data_dir)


def test_emotion_corpus_training_speakers_can_join_the_speaker_classes(emotion_speakers,
                                                                       tiny_low_labels):
    """train.speaker_corpora = "aux+emotion": the emotion corpus's training speakers become
    speaker classes too, and their segments carry them, labelled or not; validation and test
    speakers never do."""
    from sertutor.data.labels import speaker_keys

    m, maps = emotion_speakers.manifests, emotion_speakers.label_maps
    fit_keys = set(speaker_keys(m["emotion_train"]))
    assert fit_keys and set(maps.speakers) == set(tiny_low_labels.label_maps.speakers) | fit_keys
    assert not set(speaker_keys(m["emotion_test"])) & set(maps.speakers)
    s = emotion_speakers.streams
    assert (s.labelled.speaker >= 0).all() and (s.unlabelled.speaker >= 0).all()
    assert (s.val.speaker == -1).all() and (emotion_speakers.test.speaker == -1).all()
    assert (tiny_low_labels.streams.labelled.speaker == -1).all()  # "aux": unknown speakers
    with pytest.raises(ValueError, match="train.speaker_corpora must be one of"):
        get_config("tiny", train__speaker_corpora="emotion")


@pytest.mark.parametrize("variant, streams", [("mtl", ("aux", "labelled")),
                                              ("full", ("aux", "labelled", "unlabelled"))])
def test_speaker_loss_reads_every_drawn_segment_whose_speaker_is_known(
        emotion_speakers, monkeypatch, variant, streams):
    """The speaker cross-entropy's targets are the aux batch's speakers, then the labelled
    batch's, then (for a model that draws it) the unlabelled batch's."""
    from sertutor import losses

    trainer = _trainer(emotion_speakers, variant, speaker_corpora="aux+emotion")
    n_speakers = len(emotion_speakers.label_maps.speakers)
    targets, cross_entropy = [], losses.cross_entropy
    monkeypatch.setattr(losses, "cross_entropy", lambda logits, target, *a, **k: (
        targets.append(target) if logits.shape[1] == n_speakers else None)
        or cross_entropy(logits, target, *a, **k))
    b = trainer.draw_batches()
    logs = trainer.supervised_phase(b)
    s = emotion_speakers.streams
    expected = torch.cat([getattr(s, name).speaker[getattr(b, f"idx_{name[0]}")]
                          for name in streams])
    assert len(targets) == 1 and torch.equal(targets[0], expected)
    assert (expected >= 0).all() and math.isfinite(logs["speaker"])


@pytest.mark.parametrize("variant, per_phase", [("full", 3), ("ae", 2), ("mtl", 1)])
def test_optimizer_steps_once_per_phase_or_once_per_step(tiny_low_labels, variant, per_phase):
    """train.optimizer_steps: "per_phase" steps the main Adam after each phase that updates
    the encoder, "per_step" once on the phases' summed gradients."""
    counts = {}
    for mode in ("per_phase", "per_step"):
        trainer = _trainer(tiny_low_labels, variant, optimizer_steps=mode)
        calls, step = [], trainer.opt.step
        trainer.opt.step = lambda *a, _c=calls, _s=step, **k: _c.append(1) or _s(*a, **k)
        for _ in range(2):
            trainer.train_step()
            trainer.step_count += 1
        counts[mode] = len(calls)
    assert counts == {"per_phase": 2 * per_phase, "per_step": 2}


def test_one_step_per_training_step_follows_the_summed_gradient(tiny_low_labels):
    """"per_step" takes the phases' gradients at the same weights: the encoder's gradient
    when Adam steps is the sum of what each phase sent, and a model with only a supervised
    phase trains exactly as with "per_phase"."""
    trainer = _trainer(tiny_low_labels, "ae", optimizer_steps="per_step")
    seen, update = [], trainer._update

    def recording(optimizer, loss):
        before = [p.grad.clone() if p.grad is not None else torch.zeros_like(p)
                  for p in trainer.model.encoder.parameters()]
        update(optimizer, loss)
        seen.append([p.grad - b for p, b in zip(trainer.model.encoder.parameters(), before)])

    trainer._update = recording
    step, at_step = trainer.opt.step, []
    trainer.opt.step = lambda *a, **k: at_step.append(
        [p.grad.clone() for p in trainer.model.encoder.parameters()]) or step(*a, **k)
    trainer.train_step()
    assert len(seen) == 2 and len(at_step) == 1  # reconstruction and supervised phases
    for total, recon, sup in zip(at_step[0], *seen):
        torch.testing.assert_close(total, recon + sup)
    assert any(torch.count_nonzero(g) for g in seen[0])  # the reconstruction sent a gradient
    losses = {}
    for mode in ("per_phase", "per_step"):
        trainer = _trainer(tiny_low_labels, "baseline", optimizer_steps=mode)
        losses[mode] = [trainer.train_step()["emotion"] for _ in range(3)]
    assert losses["per_phase"] == losses["per_step"]
    with pytest.raises(ValueError, match="phase_optimizers"):
        get_config("tiny", train__phase_optimizers=True, train__optimizer_steps="per_step")


def test_w_adv_y_zero_drops_the_categorical_prior_from_the_encoder(tiny_low_labels):
    """train.w_adv_y = 0: the generator update no longer asks the emotion codes to look like
    one-hot samples (the classifier layer to_y gets no gradient from it); to_z still does."""
    grads = {}
    for w_adv_y in (1.0, 0.0):
        trainer = _trainer(tiny_low_labels, "aae", w_adv_y=w_adv_y)
        update = trainer._update
        seen = []

        def recording(optimizer, loss, _update=update, _seen=seen, _t=trainer):
            _update(optimizer, loss)
            if optimizer is _t.opt:
                _seen.append({n: p.grad.clone() for n, p in
                              _t.model.latent.named_parameters() if p.grad is not None})

        trainer._update = recording
        trainer.regularisation_phase(trainer.draw_batches())
        grads[w_adv_y] = seen[-1]
    assert torch.count_nonzero(grads[1.0]["to_y.weight"]) > 0
    assert torch.count_nonzero(grads[0.0].get("to_y.weight", torch.zeros(1))) == 0
    assert torch.count_nonzero(grads[0.0]["to_z.weight"]) > 0


def test_speaker_grad_ramp_follows_dann_and_reaches_the_configured_scale(tiny_low_labels):
    """train.speaker_grad_ramp = R: the reversal's scale is model.speaker_grad times
    2 / (1 + exp(-10 t / R)) - 1 at step t < R, the full scale after; 0 means no ramp."""
    trainer = _trainer(tiny_low_labels, "mtl", speaker_grad_ramp=100)
    head, scales = trainer.model.speaker_head, {}
    for t in (0, 20, 50, 100, 300):
        trainer.step_count = t
        trainer.supervised_phase(trainer.draw_batches())
        scales[t] = head.grad_scale
    assert scales[0] == 0.0 and scales[100] == scales[300] == -1.0
    assert scales[20] == pytest.approx(-(2 / (1 + math.exp(-2)) - 1))  # -0.76
    assert -1.0 < scales[50] < scales[20] < 0.0
    plain = _trainer(tiny_low_labels, "mtl")
    plain.supervised_phase(plain.draw_batches())
    assert plain.model.speaker_head.grad_scale == -1.0
    with pytest.raises(ValueError, match="train.speaker_grad_ramp"):
        get_config("tiny", train__speaker_grad_ramp=-5)


def test_speaker_conditioned_decoder_reads_each_rows_speaker(data_dir, monkeypatch):
    """model.decoder_speaker_dim = d: the emotion corpus's training speakers get indices too,
    the reconstruction phase hands the decoder every row's speaker, its embedding learns
    (the unknown speaker's row stays zero), and the speaker head still learns only the
    auxiliary corpus's speakers."""
    from sertutor import losses

    cfg = get_config("tiny", train__label_fraction=0.3, model__decoder_speaker_dim=8)
    data = prepare_data(cfg, progress=False, data_dir=data_dir)
    s, n_speakers = data.streams, len(data.label_maps.speakers)
    assert (s.labelled.speaker >= 0).all() and (s.unlabelled.speaker >= 0).all()
    assert (data.test.speaker == -1).all()
    torch.manual_seed(0)
    model = build_model(cfg, n_speakers=n_speakers)
    assert model.decoder.speaker_embedding.weight.shape == (n_speakers + 1, 8)
    trainer = Trainer(model, s, config=cfg, device="cpu", progress=False)

    seen, reconstruct = [], model.decoder.reconstruct  # the phase's one call of the decoder
    monkeypatch.setattr(model.decoder, "reconstruct",
                        lambda y, z, speaker=None: seen.append(speaker)
                        or reconstruct(y, z, speaker))
    b = trainer.draw_batches()
    before = model.decoder.speaker_embedding.weight.detach().clone()
    trainer.reconstruction_phase(b)
    assert len(seen) == 1 and torch.equal(seen[0], b.field_all(s, "speaker"))
    assert (seen[0] >= 0).all() and len(seen[0]) == len(b.x_all)
    after = model.decoder.speaker_embedding.weight.detach()
    moved = (after != before).any(dim=1)
    assert moved[seen[0].unique()].all() and not after[-1].any()  # row n_speakers: unknown

    targets, cross_entropy = [], losses.cross_entropy
    monkeypatch.setattr(losses, "cross_entropy", lambda logits, target, *a, **k: (
        targets.append(target) if logits.shape[1] == n_speakers else None)
        or cross_entropy(logits, target, *a, **k))
    trainer.supervised_phase(b)
    assert torch.equal(targets[0], s.aux.speaker[b.idx_a])  # speaker_corpora = "aux"

    model.eval()
    y, z = torch.eye(4)[[0, 1]], torch.zeros(2, cfg.model.z_dim)
    with torch.no_grad():
        unknown = model.decode(y, z)  # no speaker: the zero embedding for every row
        assert torch.equal(unknown, model.decode(y, z, torch.tensor([-1, n_speakers + 5])))
        assert not torch.equal(unknown, model.decode(y, z, torch.tensor([0, 1])))
    with pytest.raises(ValueError, match="speaker as an integer tensor of shape"):
        model.decode(y, z, torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="model.decoder_speaker_dim"):
        get_config("tiny", model__decoder_speaker_dim=-1)
    plain = build_model(get_config("tiny"), n_speakers=n_speakers)
    assert plain.decoder.speaker_embedding is None
    assert sum(p.numel() for p in plain.decoder.parameters()) \
        < sum(p.numel() for p in model.decoder.parameters())


def test_full_model_learns_beyond_chance(tiny):
    trainer = _trainer(tiny, "full", steps=150, eval_every=50, patience=10)
    trainer.fit()
    first = np.mean([h["emotion"] for h in trainer.history[:10]])
    last = np.mean([h["emotion"] for h in trainer.history[-10:]])
    assert last < 0.7 * first  # the emotion loss falls
    recon = [h["recon"] for h in trainer.history]
    assert np.mean(recon[-10:]) < np.mean(recon[:10])  # and so does reconstruction
    from sertutor.evaluate import evaluate_segments

    fit = evaluate_segments(trainer.model, tiny.streams.labelled,
                            emotions=tiny.label_maps.emotions)
    assert fit["uar"] > 0.6, fit  # it learns the training speakers' emotions (chance 0.25)
    held_out = evaluate_segments(trainer.model, tiny.test, emotions=tiny.label_maps.emotions)
    # and generalises to unseen speakers beyond chance (0.25; 2 test speakers, 40 utterances)
    assert held_out["uar"] > 0.35, held_out


@pytest.mark.parametrize("ema_decay", [0.0, 0.9])  # 0.9: the moving average is restored too
def test_resume_gives_the_same_final_model(tiny_low_labels, tmp_path, ema_decay):
    kw = dict(steps=40, eval_every=10, patience=100, ema_decay=ema_decay)
    straight = _trainer(tiny_low_labels, "full", **kw)
    straight.out_dir = tmp_path / "a"
    straight.fit()

    broken = _trainer(tiny_low_labels, "full", **kw)
    broken.out_dir = tmp_path / "b"
    broken.callbacks.append(InterruptAt(25))
    with pytest.raises(KeyboardInterrupt):
        broken.fit()
    state = load_checkpoint(tmp_path / "b" / "checkpoint.pt")
    assert state["step"] == 20
    assert (state["ema"] is None) if not ema_decay else int(state["ema"]["n_averaged"]) == 20

    resumed = _trainer(tiny_low_labels, "full", **kw)
    resumed.out_dir = tmp_path / "b"
    resumed.fit(resume_from=tmp_path / "b" / "checkpoint.pt")
    assert resumed.step_count == straight.step_count == 40
    assert resumed.evals == straight.evals
    for key, value in straight.model.state_dict().items():
        torch.testing.assert_close(resumed.model.state_dict()[key], value, rtol=0, atol=0)


def test_checkpoint_is_weights_only(tiny, tmp_path):
    trainer = _trainer(tiny, "baseline", steps=2, eval_every=2)
    path = trainer.save(tmp_path / "ok.pt")
    state = torch.load(path, weights_only=True)  # plain tensors and containers only
    assert state["step"] == 0 and "config" in state

    class Evil:
        def __reduce__(self):
            return (print, ("this must never run",))

    bad = tmp_path / "evil.pt"
    torch.save({"format": 1, "payload": Evil()}, bad)
    with pytest.raises(ValueError, match="not a loadable sertutor checkpoint"):
        load_checkpoint(bad)
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        load_checkpoint(tmp_path / "missing.pt")
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(2)}, other)
    with pytest.raises(ValueError, match="not a sertutor checkpoint"):
        load_checkpoint(other)


def test_nan_loss_raises_with_step_and_name(tiny, monkeypatch):
    import sertutor.losses as L

    trainer = _trainer(tiny, "baseline")
    monkeypatch.setattr(L, "cross_entropy", lambda *a, **k: torch.tensor(float("nan"),
                                                                          requires_grad=True))
    with pytest.raises(TrainingDivergedError, match="step 0: emotion = nan"):
        trainer.train_step()


def test_collapsed_adversarial_game_is_reported(tiny):
    trainer = _trainer(tiny, "aae")
    trainer.history = [{"step": i, "acc_d_z": 1.0, "acc_d_y": 0.6} for i in range(40)]
    with pytest.warns(AdversarialCollapseWarning, match="D_z accuracy 1.00"):
        trainer._check_collapse()
    trainer.collapse_warned = False
    trainer.history = [{"step": i, "acc_d_z": 0.6, "acc_d_y": 0.55} for i in range(40)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        trainer._check_collapse()  # a healthy game: no warning


def test_early_stopping_keeps_best_weights(tiny):
    trainer = _trainer(tiny, "baseline", steps=400, eval_every=10, patience=2)
    # validation never improves after the first pass (BatchNorm statistics would still move
    # with lr 0, so the scores are fixed here)
    trainer.validate = lambda: {"uar": 0.5, "wa": 0.5}
    trainer.fit()
    assert trainer.stopped_early and trainer.step_count == 30
    assert trainer.best_step == 10


def test_pipeline_metrics_and_reload(tiny, tmp_path):
    cfg = get_config("tiny", train__steps=30, train__eval_every=15)
    trainer, metrics = train_and_evaluate(cfg, tiny, device="cpu", out_dir=tmp_path,
                                          progress=False)
    for key in ("uar", "wa", "macro_f1", "per_class_recall", "confusion", "labels"):
        assert key in metrics
    assert np.array(metrics["confusion"]).sum() == len(np.unique(tiny.test.utt))
    assert "synth-field" in metrics["cross_corpus"]
    assert {"arousal", "valence", "gender_accuracy"} <= set(metrics)
    # the default trains the speaker head as an adversary (weight 0.3, its gradient into h
    # reversed): the head itself still learns the auxiliary speakers, so it is scored
    assert cfg.train.w_speaker == 0.3 and cfg.model.speaker_grad == -1.0
    assert 0.0 <= metrics["speaker_accuracy"] <= 1.0
    # evaluate_all alone follows the config the data was prepared with: with no speaker loss
    # (train.w_speaker = 0) the head is untrained and not scored, unless asked for
    unheaded = dataclasses.replace(tiny, config=get_config("tiny", train__w_speaker=0.0))
    assert "speaker_accuracy" not in evaluate_all(trainer.model, unheaded, device="cpu")
    scored = evaluate_all(trainer.model, unheaded, device="cpu", speaker_head=True)
    assert 0.0 <= scored["speaker_accuracy"] <= 1.0
    model, config, meta = load_trained(tmp_path / "checkpoint.pt")
    assert config == cfg and meta["label_maps"]["speakers"]
    x = tiny.test.x[:4]
    trainer.model.eval()
    torch.testing.assert_close(model(x).y, trainer.model(x).y)


def test_linear_probe_reads_encoded_labels_and_not_noise():
    from sertutor.evaluate import linear_probe

    rng = np.random.default_rng(0)
    labels = np.repeat(["a", "b", "c", "d"], 25)  # (100,)
    noise = rng.normal(size=(100, 8))
    encoded = noise.copy()
    encoded[:, 0] += 5.0 * (labels == "b") - 5.0 * (labels == "c")
    encoded[:, 1] += 5.0 * (labels == "d")
    assert linear_probe(encoded, labels) > 0.9
    assert linear_probe(noise, labels) < 0.45  # chance is 0.25
    with pytest.raises(ValueError, match="one row per label"):
        linear_probe(noise[:10], labels)
    with pytest.raises(ValueError, match="class sizes"):
        linear_probe(noise[:6], labels[:6])


def test_paired_gains_cancel_the_folds_shared_difficulty():
    from sertutor.experiments import paired_gains

    # fold 1 is 20 points harder for both models; full is exactly 5 points better on each
    rows = [{"variant": v, "fraction": 0.1, "seed": s, "uar": u}
            for v, s, u in [("baseline", 0, 0.60), ("full", 0, 0.65),
                            ("baseline", 1, 0.40), ("full", 1, 0.45),
                            ("baseline", 2, 0.50), ("full", 2, 0.55), ("mtl", 2, 0.40)]]
    gains = {(g["variant"], g["fraction"]): g for g in paired_gains(rows)}
    assert gains[("full", 0.1)]["n"] == 3
    assert gains[("full", 0.1)]["gain_mean"] == pytest.approx(0.05)
    assert gains[("full", 0.1)]["gain_std"] == pytest.approx(0.0, abs=1e-12)  # unpaired sd: 0.1
    assert gains[("mtl", 0.1)]["n"] == 1 and gains[("mtl", 0.1)]["gain_mean"] == pytest.approx(-0.1)
    assert gains[("full", 0.1)]["wins"] == 3 and gains[("mtl", 0.1)]["wins"] == 0


def test_paired_gains_pair_on_named_fields():
    from sertutor.experiments import paired_gains

    # a sweep: arms paired by (fold, seed); (fold 0, seed 1) has no reference run
    rows = [{"arm": a, "fold": f, "seed": s, "uar": u}
            for a, f, s, u in [("ref", 0, 0, 0.5), ("long", 0, 0, 0.6),
                               ("ref", 1, 0, 0.3), ("long", 1, 0, 0.2),
                               ("long", 0, 1, 0.9)]]
    (gain,) = paired_gains(rows, reference="ref", group="arm", pair=("fold", "seed"),
                          by=())
    assert gain["arm"] == "long" and gain["n"] == 2 and gain["wins"] == 1
    assert gain["gain_mean"] == pytest.approx(0.0)
    assert gain["gain_std"] == pytest.approx(np.std([0.1, -0.1], ddof=1))


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_training_learns_and_checkpoints_load_on_cpu(tiny, tmp_path):
    cfg = get_config("tiny", model__variant="full", train__steps=150, train__eval_every=50,
                     train__patience=10)
    torch.manual_seed(0)
    model = build_model(cfg, n_speakers=len(tiny.label_maps.speakers))
    trainer = Trainer(model, tiny.streams, config=cfg, device="cuda", progress=False,
                      out_dir=tmp_path)
    assert trainer.streams.labelled.x.is_cuda  # the tiny corpus fits: kept on the GPU
    trainer.fit()
    first = np.mean([h["emotion"] for h in trainer.history[:10]])
    last = np.mean([h["emotion"] for h in trainer.history[-10:]])
    assert last < 0.7 * first  # learning happens under bf16 autocast
    state = load_checkpoint(tmp_path / "checkpoint.pt", map_location="cpu")
    cpu_model = build_model(cfg, n_speakers=len(tiny.label_maps.speakers))
    cpu_model.load_state_dict(state["model"])
    from sertutor.evaluate import evaluate_segments

    on_cpu = evaluate_segments(cpu_model, tiny.test, emotions=tiny.label_maps.emotions,
                               device="cpu")
    on_gpu = evaluate_segments(trainer.model, tiny.test, emotions=tiny.label_maps.emotions,
                               device="cuda")
    assert abs(on_cpu["uar"] - on_gpu["uar"]) <= 0.05  # same weights, same answers
