"""Screen issue #14's method changes with paired runs: which make `full` beat `baseline`?

Each *setting* is a set of config overrides of a preset (the changes under test); every
setting trains `baseline` and `full` on the same (fold, seed) pairs, so the method's gain
(`full` − `baseline`) and each change's effect on a model (setting − `today`) are paired:

- ``today``: the defaults before issue #14 (per-corpus normalisation, flattening encoder);
- ``speaker``: ``features.normalise = "speaker"`` (each speaker normalised with the statistics
  of their own audio);
- ``stats``: ``model.pooling = "stats"`` (mean and std over time before h);
- ``both``: the two together;
- ``speaker_last``, ``speaker_loss``, ``both_last``, ``both_loss`` (not run unless asked
  for): speaker normalisation (and, for ``both_*``, statistics pooling) with
  ``train.select = "last"`` (no selection) or ``"loss"`` (validation loss);
- ``both_smooth``, ``both_pooled`` (not run unless asked for): ``both`` with the decoder
  reconstructing the segment smoothed over 25 or 95 frames (``train.recon_smooth_frames``).
- ``both_trans``, ``both_nospk``, ``both_seg48``, ``both_loss``: the test speakers' audio in
  the unlabelled stream, no speaker head, 48-frame segments, validation-loss selection;
- session 8 (``full`` only; each changes what the baseline lacks): ``both_z32`` (a 32-dim
  style code), ``both_recon01`` (``train.w_recon = 0.1``), ``both_utt1`` / ``both_utt4``
  (utterance agreement, ``train.w_utterance``), ``both_ramp`` (``train.rampup_steps = 300``),
  ``both_phaseopt`` (one Adam per phase, ``train.phase_optimizers``);
- session 9: ``both_pre300`` (300 unsupervised pre-training steps, ``train.pretrain_steps``);
- session 10: ``both_seg192`` (2 s segments, hop 1 s: nearer an utterance-level code),
  ``both_specaug`` / ``both_strongaug`` (the labelled segments augmented, ``train.augment``),
  ``both_denoise`` (a denoising autoencoder, ``train.recon_corrupt``), ``both_drop5`` /
  ``both_wd1e3`` (dropout 0.5 on h, weight decay 1e-3);
- session 11: ``both_uttseg3`` / ``both_uttseg5`` (each labelled utterance classified from the
  mean logits of 3 or 5 of its segments, ``train.utterance_segments``) and their control
  ``both_bs48`` (48 labelled segments a step, drawn independently);
- session 12: ``both_ema`` (validation and the kept weights read an exponential moving average
  of the weights, ``train.ema_decay``): the defaults since session 13. Every other setting
  pins ``train.ema_decay = 0``, the default when its rows were recorded.
- sessions 14-15: ``both_ema_nospk`` (no speaker head's loss, the defaults of sessions
  15-16; every other setting pins ``train.w_speaker = 0.3``), ``both_ema_nogender``,
  ``both_ema_nodim``, ``both_ema_noaux``;
- session 16: ``both_ema_spkadv`` (a speaker adversary: the speaker head's gradient into h
  reversed, ``model.speaker_grad = -1``; today's defaults since session 17, every other
  setting pins ``model.speaker_grad = 1``) and ``both_ema_nospk_balance`` (class-balanced
  labelled batches, ``train.balance = "class"``);
- session 17: ``both_ema_spkadv1`` (the speaker adversary with weight 1.0);
- session 18: ``both_ema_spkemo`` (the speaker adversary also on the emotion corpus's own
  training speakers, ``train.speaker_corpora = "aux+emotion"``) and ``both_ema_noy`` (today's
  defaults without the categorical prior's generator loss, ``train.w_adv_y = 0``) and
  ``both_ema_joint`` (today's defaults with one optimiser step per training step,
  ``train.optimizer_steps = "per_step"``) and ``both_ema_spkramp`` (the speaker adversary's
  scale ramped in over the 700 steps as DANN's, ``train.speaker_grad_ramp = 700``);
- session 19: ``both_ema_smooth95`` (today's defaults, the decoder's target smoothed over 95
  frames, ``train.recon_smooth_frames = 95``) and ``both_ema_spkadv06`` (the speaker
  adversary with weight 0.6) and ``both_ema_spkdec`` (today's defaults with a
  speaker-conditioned decoder, ``model.decoder_speaker_dim = 16``), ``both_ema_spkdec1``
  (the same with the speaker adversary's weight 1.0);
- session 20: ``both_ema_prosody`` (today's defaults, the decoder also rebuilding each
  utterance's 18 prosodic descriptors, ``model.decoder_prosody = True``);
- session 22: ``both_ema_prosody_w03`` and ``both_ema_prosody_w3`` (today's defaults with the
  prosody target's weight ``train.w_prosody`` 0.3 and 3.0 instead of 1).

Runs go through :func:`benchmarks.sweep.run_all` (one process per worker, one CPU thread each),
so a row is the same as a sweep's, with the cross-corpus UAR on synth-field added.

A **linear reference** is computed on the same folds: logistic regression (standardise +
multinomial LR, :func:`benchmarks.calibration.classifier`) on utterance statistics, the mean
and standard deviation over time of each mel band of the log-mel, normalised exactly as the deep
models' input is (the setting's normalisation). It is trained once on the labelled utterances
the deep models see at the screen's label fraction, and once on all the training speakers'
utterances with their labels (fraction 1.0); the validation speakers are left out, as they
are from the deep models' training.

    OMP_NUM_THREADS=1 python benchmarks/method_screen.py --folds 0 1 2 --seeds 0

Writes ``benchmarks/results/NAME.json`` and ``NAME.md`` (default NAME ``method_screen``), with
the command. ``--from-rows`` re-summarises the rows of earlier runs without training.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import sweep  # noqa: E402  (benchmarks/sweep.py)

RESULTS = HERE / "results"
FIELD = "synth-field"

def _both(**changes) -> dict:
    """``both``'s overrides (per-speaker normalisation and statistics pooling, the defaults
    since issue #14's first session) plus ``changes`` (SECTION__FIELD)."""
    return {"features__normalise": "speaker", "model__pooling": "stats", **changes}


#: The changes under test: setting -> config overrides.
SETTINGS: dict[str, dict] = {
    # the defaults before issue #14 (spelled out: the preset's defaults are now `both`'s)
    "today": {"features__normalise": "corpus", "model__pooling": "flatten"},
    "speaker": {"features__normalise": "speaker", "model__pooling": "flatten"},
    "stats": {"features__normalise": "corpus", "model__pooling": "stats"},
    "both": _both(),
    # model selection without one speaker's UAR (train.select), with speaker normalisation
    # (recorded when the encoder flattened by default, so they keep that pooling)
    "speaker_last": {"features__normalise": "speaker", "model__pooling": "flatten",
                     "train__select": "last"},
    "speaker_loss": {"features__normalise": "speaker", "model__pooling": "flatten",
                     "train__select": "loss"},
    "both_last": _both(train__select="last"),
    # what the decoder reconstructs: the segment smoothed over 25 frames (~1/4 s, longer than
    # a syllable) or over 95 (almost the whole segment: its average spectrum and slow drift)
    "both_smooth": _both(train__recon_smooth_frames=25),
    "both_pooled": _both(train__recon_smooth_frames=95),
    # shorter segments: twice the examples per utterance (screened at 100 % labels)
    "both_seg48": _both(features__segment_frames=48, features__segment_hop=24),
    "both_loss": _both(train__select="loss"),
    # transductive: the test speakers' audio (never their labels) joins the unlabelled stream
    "both_trans": _both(train__unlabelled="train+test"),
    # no speaker head: with per-speaker normalisation the speaker task must find identity in
    # features whose per-speaker mean and spread were removed (a lead of method_parts_f01.md)
    "both_nospk": _both(train__w_speaker=0.0),
    # a bigger style code: a 1 s segment is mostly phonetic content, which an 8-dim z cannot
    # carry, so the decoder also reads it from y = softmax(y_logits) and pulls y away from
    # emotion; with room in z, y is left to what the labels and D_y ask of it
    "both_z32": _both(model__z_dim=32),
    # reconstruction as a regulariser: a tenth of its weight, so the content it is dominated
    # by does not outweigh the emotion cross-entropy in the shared encoder
    "both_recon01": _both(train__w_recon=0.1),
    # utterance agreement: two segments of one unlabelled utterance should get the same
    # emotion posterior (emotion belongs to the utterance, the words differ between them)
    "both_utt1": _both(train__w_utterance=1.0),
    "both_utt4": _both(train__w_utterance=4.0),
    # the unsupervised weights ramp up over the first 300 steps (Laine & Aila 2017): the
    # priors do not lock in the classifier's first guesses on unlabelled audio
    "both_ramp": _both(train__rampup_steps=300),
    # one Adam per phase: the reconstruction and generator gradients no longer enter the
    # moment estimates that scale the supervised phase's steps
    "both_phaseopt": _both(train__phase_optimizers=True),
    # session 9: 300 unsupervised steps (reconstruction and priors, no labels, the encoder's
    # Adam to themselves) before the 700 of the full schedule, then a fresh optimiser
    "both_pre300": _both(train__pretrain_steps=300),
    # session 10: 2 s segments (192 frames, hop 96) instead of 1 s: closer to an utterance-level
    # code (most classroom utterances, 1-3.5 s, become one to three segments), so each
    # statistics-pooled h summarises more of the utterance the emotion belongs to
    "both_seg192": _both(features__segment_frames=192, features__segment_hop=96),
    # session 10: the labelled segments augmented in the supervised phase (train.augment):
    # SpecAugment masks only, or fixmatch's strong view (masks, level shift, noise)
    "both_specaug": _both(train__augment="specaugment"),
    "both_strongaug": _both(train__augment="strong"),
    # a more regularised supervised CNN (the baseline at 100 % labels ties the linear model,
    # while the autoencoder's reconstruction, a regulariser, lifts it 6 points): more
    # dropout on h, or ten times the weight decay
    "both_drop5": _both(model__dropout=0.5),
    "both_wd1e3": _both(train__weight_decay=1e-3),
    # a denoising autoencoder: the encoder reads masked segments, the decoder restores them
    "both_denoise": _both(train__recon_corrupt="specaugment"),
    # session 11: utterance-level training (train.utterance_segments): each labelled utterance
    # predicted from the mean logits of 3 (or 5) of its segments, the emotion belonging to the
    # utterance; and its control, the same 48 labelled segments a step drawn independently
    "both_uttseg3": _both(train__utterance_segments=3),
    "both_uttseg5": _both(train__utterance_segments=5),
    "both_bs48": _both(train__batch_size=48),
    # session 12: validation reads, and a run keeps, an exponential moving average of the
    # weights (train.ema_decay; with its warm-up the average spans ~n/9 steps at step n,
    # 12 at step 100, 78 at step 700): one validation speaker's noisy UAR then chooses
    # among smoother weights, and a model's early best steps are less of a lucky draw
    "both_ema": _both(train__ema_decay=0.99),
    # session 14, goal 3: with the defaults of then, which auxiliary head costs `mtl` (and so
    # `full`) its transfer to synth-field? Each drops one head's loss from that default.
    # `both_ema_nospk` was the defaults of sessions 15-16 (train.w_speaker = 0)
    "both_ema_nospk": _both(train__ema_decay=0.99, train__w_speaker=0.0),
    "both_ema_nogender": _both(train__ema_decay=0.99, train__w_gender=0.0),
    "both_ema_nodim": _both(train__ema_decay=0.99, train__w_dimensional=0.0),
    # neither auxiliary-corpus loss: its audio still passes through the encoder (batch norm)
    "both_ema_noaux": _both(train__ema_decay=0.99, train__w_speaker=0.0, train__w_gender=0.0),
    # session 16: a speaker adversary instead of no speaker head: the head still learns the
    # auxiliary corpus's speakers (weight 0.3) but its gradient into h is reversed
    # (model.speaker_grad = -1, Ganin & Lempitsky 2015), so h is asked to hide who speaks;
    # today's defaults since session 17
    "both_ema_spkadv": _both(train__ema_decay=0.99, train__w_speaker=0.3,
                             model__speaker_grad=-1.0),
    # session 17: a stronger speaker adversary, weight 1.0 instead of the paper's 0.3
    "both_ema_spkadv1": _both(train__ema_decay=0.99, train__w_speaker=1.0,
                              model__speaker_grad=-1.0),
    # session 18: the adversary also hides the emotion corpus's own training speakers, read
    # from every emotion segment a step draws (train.speaker_corpora = "aux+emotion")
    "both_ema_spkemo": _both(train__ema_decay=0.99, train__w_speaker=0.3,
                             model__speaker_grad=-1.0, train__speaker_corpora="aux+emotion"),
    # session 18: today's defaults, the encoder no longer pushed to fool D_y (the categorical
    # prior on the emotion codes, the cluster assumption's term; train.w_adv_y = 0)
    "both_ema_noy": _both(train__ema_decay=0.99, train__w_speaker=0.3,
                          model__speaker_grad=-1.0, train__w_adv_y=0.0),
    # session 18: one Adam step per training step on the summed gradients of the phases,
    # instead of one after each phase (train.optimizer_steps = "per_step")
    "both_ema_joint": _both(train__ema_decay=0.99, train__w_speaker=0.3,
                            model__speaker_grad=-1.0, train__optimizer_steps="per_step"),
    # session 18: the adversary's gradient scale ramped in over the run, DANN's schedule
    "both_ema_spkramp": _both(train__ema_decay=0.99, train__w_speaker=0.3,
                              model__speaker_grad=-1.0, train__speaker_grad_ramp=700),
    # session 19: today's defaults with a decoder that reconstructs the segment smoothed over
    # 95 frames (train.recon_smooth_frames: level and spectral balance, no syllables), the
    # target a time-pooled code can carry; and the speaker adversary at weight 0.6, between
    # the 0.3 of today and the 1.0 of session 17
    "both_ema_smooth95": _both(train__ema_decay=0.99, train__w_speaker=0.3,
                               model__speaker_grad=-1.0, train__recon_smooth_frames=95),
    "both_ema_spkadv06": _both(train__ema_decay=0.99, train__w_speaker=0.6,
                               model__speaker_grad=-1.0),
    # session 19: today's defaults with a speaker-conditioned decoder (a 16-dim learnt
    # embedding of who speaks beside [y, z], model.decoder_speaker_dim): reconstruction no
    # longer needs the speaker in the codes the adversary asks to hide it from
    "both_ema_spkdec": _both(train__ema_decay=0.99, train__w_speaker=0.3,
                             model__speaker_grad=-1.0, model__decoder_speaker_dim=16),
    # and with the stronger adversary of session 17 (weight 1.0)
    "both_ema_spkdec1": _both(train__ema_decay=0.99, train__w_speaker=1.0,
                              model__speaker_grad=-1.0, model__decoder_speaker_dim=16),
    # session 20: the decoder also rebuilds each utterance's prosodic descriptors
    # (model.decoder_prosody, sertutor.features.prosody), on today's defaults
    "both_ema_prosody": _both(train__ema_decay=0.99, train__w_speaker=0.3,
                              model__speaker_grad=-1.0, model__decoder_prosody=True),
    # session 22: the prosody target's weight (train.w_prosody, 1 by default) at a third and
    # at three times, on today's defaults
    "both_ema_prosody_w03": _both(train__ema_decay=0.99, train__w_speaker=0.3,
                                  model__speaker_grad=-1.0, model__decoder_prosody=True,
                                  train__w_prosody=0.3),
    "both_ema_prosody_w3": _both(train__ema_decay=0.99, train__w_speaker=0.3,
                                 model__speaker_grad=-1.0, model__decoder_prosody=True,
                                 train__w_prosody=3.0),
    # session 16: class-balanced labelled batches (train.balance = "class"), the last
    # untested schedule, on today's defaults (no speaker head)
    "both_ema_nospk_balance": _both(train__ema_decay=0.99, train__w_speaker=0.0,
                                    train__balance="class"),
}
# Sessions 5-12 measured every setting without a moving average of the weights, the default
# until session 13 made it 0.99; each setting but `both_ema` keeps the meaning of its
# recorded rows (so `both` is now the previous defaults, and `both_ema` today's).
# Sessions 5-14 trained the speaker head with weight 0.3, the default until session 15 made
# it 0: each setting keeps that weight unless it names its own (so `both_ema` keeps its
# rows' meaning). Sessions 5-16 sent the speaker head's gradient into h unchanged
# (model.speaker_grad = 1) until session 17 made the head an adversary (-1) and put its
# weight back to 0.3: `both_ema_spkadv` is today's defaults for every model but the
# decoder's targets. Sessions 5-20 trained the paper's decoder (log-mels only) until session
# 21 made the prosody target the default (model.decoder_prosody = True): `both_ema_prosody`
# is today's defaults, and every other setting keeps the paper's decoder.
#: Fields every setting pins to the value its rows were trained with (a pin is no change).
PINNED = {"train__ema_decay": 0.0, "train__w_speaker": 0.3, "model__speaker_grad": 1.0,
          "model__decoder_prosody": False}
for _overrides in SETTINGS.values():
    for _key, _value in PINNED.items():
        _overrides.setdefault(_key, _value)
#: The settings a plain run screens.
DEFAULT_SETTINGS = ("today", "speaker", "stats", "both")
MODELS = ("baseline", "full")


def arm_name(model: str, setting: str) -> str:
    return f"{model}@{setting}"


#: Overrides that change only the decoder: a model without one would repeat another arm.
DECODER_ONLY = {"train__recon_smooth_frames", "train__w_recon", "model__z_dim",
                "train__recon_corrupt", "model__decoder_prosody", "train__w_prosody",
                "train__pretrain_steps"}  # pre-training: the models with a decoder only
#: Overrides that change only the unlabelled stream or the losses on it, which the baseline
#: and mtl never draw.
UNLABELLED_ONLY = {"train__unlabelled", "train__w_utterance",
                   "train__rampup_steps", "train__phase_optimizers"}
#: Overrides that change only the auxiliary heads' losses.
AUX_ONLY = {"train__w_speaker", "train__w_gender", "train__w_dimensional",
            "model__speaker_grad"}


def _features(setting: str) -> dict:
    return {k: v for k, v in SETTINGS[setting].items() if k.startswith("features__")}


def _linear_rows(setting: str, linear: list[dict]) -> tuple[list[dict], str]:
    """The linear rows that serve ``setting``, and where they come from.

    The linear model reads only the features, so a change to the network or its training
    shares the reference of every setting with the same feature overrides: the rows of
    ``setting`` itself first, then theirs, one row per (fraction, fold, seed).
    """
    names = sorted({r["arm"].split("@", 1)[1] for r in linear})
    same = [setting] + [o for o in names if o != setting and o in SETTINGS
                        and setting in SETTINGS and _features(o) == _features(setting)]
    rows, seen = [], set()
    for name in same:
        for r in linear:
            key = (r["fraction"], r["fold"], r["seed"])
            if r["arm"] == f"linear@{name}" and key not in seen:
                seen.add(key)
                rows.append(r)
    used = [n for n in same if any(r["arm"] == f"linear@{n}" for r in rows)]
    return rows, " + ".join(used) if used and used != [setting] else setting


def _repeats_another_arm(model: str, setting: str) -> bool:
    """Whether ``model`` ignores what ``setting`` changes: its arm would repeat the arm of a
    setting listed before it in :data:`SETTINGS` (the same overrides but for fields the model
    does not use: a decoder's target without a decoder, a head's weight without heads, the
    unlabelled stream's losses without a phase that reads it)."""
    from sertutor.models import VARIANT_PARTS

    parts = VARIANT_PARTS[model]
    uses_unlabelled = parts.decoder or parts.adversaries or parts.consistency
    ignored = (set() if parts.decoder else DECODER_ONLY) \
        | (set() if parts.aux_heads else AUX_ONLY) \
        | (set() if uses_unlabelled else UNLABELLED_ONLY)

    def used(name: str) -> dict:
        return {k: v for k, v in SETTINGS[name].items() if k not in ignored}

    names = list(SETTINGS)
    return any(used(other) == used(setting) for other in names[:names.index(setting)])


def make_arms(settings: list[str], models: list[str], extra: dict | None = None) -> dict:
    """Sweep arms ``MODEL@SETTING``: the model variant plus the setting's overrides (a setting
    that changes only what a model does not use is not run for it)."""
    return {arm_name(m, s): {"variant": m, "overrides": {**SETTINGS[s], **(extra or {})}}
            for s in settings for m in models if not _repeats_another_arm(m, s)}


# ------------------------------------------------------------------------ linear reference
def utterance_stats(fs, normaliser) -> np.ndarray:
    """Per utterance, mean and std over time of every (channel, mel band) of the normalised
    log-mel, shape (n, 2 * C * n_mels); ``normaliser`` as in ``PreparedData.normalisers``."""
    from sertutor.data.dataset import speaker_keys
    from sertutor.features import SpeakerNormStats
    from sertutor.features import utterance_stats as stats_of

    keys = speaker_keys(fs.manifest)
    return stats_of([normaliser.apply(f, key) if isinstance(normaliser, SpeakerNormStats)
                     else normaliser.apply(f) for f, key in zip(fs.features, keys)])


def utterance_split(preset: str, setting: str, *, fraction: float, fold: int,
                    seed: int, with_ids: bool = False) -> dict:
    """The deep models' own (fold, seed) split as utterance statistics and emotion names.

    Returns ``{"labelled", "unlabelled", "test", FIELD: (x, y)}``: ``x`` of shape
    (n, 2 * C * n_mels) (:func:`utterance_stats`, normalised as the setting's deep models'
    input is), ``y`` the emotion names (n,). The unlabelled rows keep their true names, for
    the upper bound; a semi-supervised learner must not read them. With ``with_ids`` also
    ``"utt_ids"``: ``{name: (n,) utterance ids}`` of the same rows.
    """
    from sertutor.pipeline import prepare_data
    from sertutor.storage import data_dir

    cfg = sweep._arm_config(preset, {"variant": "baseline", "overrides": SETTINGS[setting]},
                            fraction=fraction, seed=seed)
    data = prepare_data(cfg, fold=fold, progress=False, data_dir=data_dir(), aux_corpus=None,
                        test_corpora=(FIELD,))
    fsets, norm = data.feature_sets, data.normalisers["emotion"]

    def xy(name, normaliser):
        fs = fsets[name]
        return utterance_stats(fs, normaliser), fs.manifest["emotion"].to_numpy(dtype=str)

    out = {name: xy(name, norm) for name in ("labelled", "test")}
    out["unlabelled"] = xy("unlabelled", norm) if len(fsets["unlabelled"]) else \
        (np.zeros((0, out["labelled"][0].shape[1])), np.zeros(0, str))
    out[FIELD] = xy(FIELD, data.normalisers[FIELD])
    if with_ids:
        out["utt_ids"] = {name: fsets[name].manifest["utt_id"].to_numpy(dtype=str)
                          for name in ("labelled", "unlabelled", "test", FIELD)}
    return out


def linear_reference(preset: str, setting: str, *, fraction: float, fold: int,
                     seed: int) -> list[dict]:
    """Logistic regression on utterance statistics, on the deep models' own (fold, seed) split.

    Returns two rows, ``arm`` ``linear@SETTING``: one trained on the labelled utterances of
    ``fraction``, one (``fraction`` 1.0) on all the training speakers' utterances.
    """
    from calibration import classifier  # benchmarks/calibration.py
    from sklearn.metrics import balanced_accuracy_score

    t0 = time.perf_counter()
    split = utterance_split(preset, setting, fraction=fraction, fold=fold, seed=seed)
    (x_lab, y_lab), (x_unl, y_unl) = split["labelled"], split["unlabelled"]
    (x_te, y_te), (x_f, y_f) = split["test"], split[FIELD]
    rows = []
    for frac, (x_tr, y_tr) in ((fraction, (x_lab, y_lab)),
                               (1.0, (np.concatenate([x_lab, x_unl]),
                                      np.concatenate([y_lab, y_unl])))):
        model = classifier().fit(x_tr, y_tr)
        rows.append({"arm": f"linear@{setting}", "fraction": frac, "fold": fold, "seed": seed,
                     "uar": float(balanced_accuracy_score(y_te, model.predict(x_te))),
                     "cross_uar": {FIELD: float(balanced_accuracy_score(
                         y_f, model.predict(x_f)))},
                     "n_train": int(len(y_tr)),
                     "seconds": round(time.perf_counter() - t0, 1), "device": "CPU"})
    return rows


# ---------------------------------------------------- speaker normalisation's caveat
#: How much of a test speaker's audio their normalisation statistics come from.
SPEAKER_AUDIO = {
    "all": "all of their audio (what prepare_data does)",
    "angry+neutral": "only their angry and neutral takes (an unbalanced speaker)",
    "3 utterances": "3 of their 4-class utterances, drawn at random (a short enrolment)",
}


def test_normalisers(data, seed: int) -> dict:
    """``PreparedData.normalisers["emotion"]`` with each test speaker's statistics refitted
    on less of their audio, one per :data:`SPEAKER_AUDIO` entry. The emotion labels pick the
    unbalanced subset only to *simulate* such a speaker; the statistics never read them."""
    from sertutor.data.dataset import speaker_keys
    from sertutor.features import SpeakerNormStats

    norm, fs = data.normalisers["emotion"], data.feature_sets["test"]
    keys = speaker_keys(fs.manifest)
    emotion = fs.manifest["emotion"].to_numpy(dtype=str)
    rng = np.random.default_rng(seed)
    out = {"all": norm}
    for variant in ("angry+neutral", "3 utterances"):
        speakers, counts = dict(norm.speakers), dict(norm.n_utterances)
        for key in sorted(set(keys)):
            rows = np.flatnonzero(keys == key)
            if variant == "angry+neutral":
                rows = rows[np.isin(emotion[rows], ["angry", "neutral"])]
            else:
                rows = np.sort(rng.permutation(rows)[:3])
            one = SpeakerNormStats.fit([fs.features[i] for i in rows], [key] * len(rows),
                                       reference=norm.reference, prior_utts=norm.prior_utts)
            speakers[key], counts[key] = one.speakers[key], len(rows)
        out[variant] = SpeakerNormStats(reference=norm.reference, speakers=speakers,
                                        n_utterances=counts, prior_utts=norm.prior_utts)
    return out


def robustness(preset: str, setting: str, models: list[str], *, fraction: float, fold: int,
               seed: int, extra: dict | None = None) -> list[dict]:
    """Held-out UAR when the test speakers' statistics come from less of their audio.

    Trains each model once (and the linear reference) on the (fold, seed) split of a
    speaker-normalised ``setting``, then scores the same test utterances normalised each way
    of :data:`SPEAKER_AUDIO`. Rows: ``arm``, ``fold``, ``seed``, ``speaker_audio``, ``uar``.
    """
    from calibration import classifier  # benchmarks/calibration.py
    from sklearn.metrics import balanced_accuracy_score

    from sertutor.data.dataset import make_segments
    from sertutor.evaluate import evaluate_segments
    from sertutor.pipeline import prepare_data, train_and_evaluate
    from sertutor.storage import data_dir

    if SETTINGS[setting].get("features__normalise") != "speaker":
        raise ValueError(f"setting {setting!r} does not normalise per speaker")
    rows = []
    fs_test = None
    for model in ["linear", *models]:
        spec = {"variant": "baseline" if model == "linear" else model,
                "overrides": {**SETTINGS[setting], **(extra or {})}}
        cfg = sweep._arm_config(preset, spec, fraction=fraction, seed=seed)
        t0 = time.perf_counter()
        data = prepare_data(cfg, fold=fold, progress=False, data_dir=data_dir(),
                            aux_corpus=None if model == "linear" else "synth-aux")
        fs_test = data.feature_sets["test"]
        y_te = fs_test.manifest["emotion"].to_numpy(dtype=str)
        norms = test_normalisers(data, seed)
        if model == "linear":
            fs_lab = data.feature_sets["labelled"]
            clf = classifier().fit(utterance_stats(fs_lab, data.normalisers["emotion"]),
                                   fs_lab.manifest["emotion"].to_numpy(dtype=str))
            score = {v: float(balanced_accuracy_score(y_te, clf.predict(
                utterance_stats(fs_test, n)))) for v, n in norms.items()}
        else:
            trainer, _ = train_and_evaluate(cfg, data, device="cpu", progress=False)
            fc = cfg.features
            score = {v: evaluate_segments(
                trainer.model, make_segments(fs_test, stats=n, frames=fc.segment_frames,
                                             hop=fc.segment_hop, label_maps=data.label_maps),
                emotions=data.label_maps.emotions)["uar"] for v, n in norms.items()}
        for v, u in score.items():
            row = {"arm": arm_name(model, setting), "fraction": fraction, "fold": fold,
                   "seed": seed, "speaker_audio": v, "uar": u,
                   "seconds": round(time.perf_counter() - t0, 1)}
            print(json.dumps(row), flush=True)
            rows.append(row)
    return rows


def summarise_robustness(rows: list[dict]) -> str:
    """Mean UAR per arm and speaker-audio variant, and the paired drop from ``all``."""
    lines = ["| arm | test speakers' statistics from | n | held-out UAR | drop from `all`, "
             "paired (± se) |", "|---|---|---|---|---|"]
    for arm in sorted({r["arm"] for r in rows}):
        ref = {(r["fold"], r["seed"]): r["uar"] for r in rows
               if r["arm"] == arm and r["speaker_audio"] == "all"}
        for v in SPEAKER_AUDIO:
            mine = [r for r in rows if r["arm"] == arm and r["speaker_audio"] == v]
            if not mine:
                continue
            d = np.array([r["uar"] - ref[(r["fold"], r["seed"])] for r in mine
                          if (r["fold"], r["seed"]) in ref])
            drop = "–" if v == "all" or not len(d) else \
                f"{d.mean():+.3f} ± {d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else 0:.3f}"
            lines.append(f"| {arm} | {v}: {SPEAKER_AUDIO[v]} | {len(mine)} | "
                         f"{np.mean([r['uar'] for r in mine]):.3f} | {drop} |")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------ summary
def _gain(rows: list[dict], arm: str, reference: str, key: str = "uar") -> dict | None:
    """Paired gain of ``arm`` over ``reference`` (on ``key``; ``cross`` for synth-field)."""
    from sertutor.experiments import paired_gains

    def value(r):
        return r.get("cross_uar", {}).get(FIELD) if key == "cross" else r[key]

    mine = [{**r, "value": value(r)} for r in rows if r["arm"] in (arm, reference)]
    g = paired_gains(mine, reference=reference, key="value", group="arm",
                     pair=("fold", "seed"), by=())
    return g[0] if g else None


def _fmt_gain(g: dict | None) -> str:
    if not g:
        return "–"
    return f"{g['gain_mean']:+.3f} ± {g['gain_se']:.3f} ({g['wins']}/{g['n']})"


def summarise(rows: list[dict], settings: list[str], models: list[str],
              fraction: float, baseline_setting: str = "both",
              reference_setting: str = "today") -> tuple[dict, str]:
    """The tables: per arm; the method's gain per setting; each change's effect (setting −
    ``reference_setting``, the same model); linear."""
    deep = [r for r in rows if not r["arm"].startswith("linear@")]
    out: dict = {"arms": [], "method_gain": [], "change_effect": [], "linear": []}
    lines = ["## Every arm", "",
             "| arm | n | held-out UAR mean ± sd | synth-field UAR mean | mean best step |",
             "|---|---|---|---|---|"]
    for s in settings:
        for m in models:
            arm = arm_name(m, s)
            mine = [r for r in deep if r["arm"] == arm]
            if not mine:
                continue
            uar = np.array([r["uar"] for r in mine])
            field = [r["cross_uar"][FIELD] for r in mine if FIELD in r.get("cross_uar", {})]
            entry = {"arm": arm, "n": len(mine), "uar_mean": float(uar.mean()),
                     "uar_std": float(uar.std(ddof=1)) if len(uar) > 1 else 0.0,
                     "field_uar_mean": float(np.mean(field)) if field else None,
                     "best_step_mean": float(np.mean([r["best_step"] for r in mine]))}
            out["arms"].append(entry)
            fu = f"{entry['field_uar_mean']:.3f}" if field else "–"
            lines.append(f"| {arm} | {entry['n']} | {entry['uar_mean']:.3f} ± "
                         f"{entry['uar_std']:.3f} | {fu} | {entry['best_step_mean']:.0f} |")
    lines += ["", f"## Gain over `baseline` at label fraction {fraction}, paired by "
              "(fold, seed)", "",
              "Mean ± standard error of the paired difference (wins / pairs). A setting that "
              "changes only what `baseline` lacks (the decoder's target) is compared with "
              f"`baseline@{baseline_setting}`.", "",
              "| model | setting | held-out UAR gain | synth-field UAR gain |",
              "|---|---|---|---|"]
    have = {r["arm"] for r in deep}
    for m in models:
        if m == "baseline":
            continue
        for s in settings:
            ref = arm_name("baseline", s) if arm_name("baseline", s) in have \
                else arm_name("baseline", baseline_setting)
            g = _gain(deep, arm_name(m, s), ref)
            gf = _gain(deep, arm_name(m, s), ref, key="cross")
            if g is None:
                continue
            out["method_gain"].append({"model": m, "setting": s, "reference": ref,
                                       "held_out": g, "field": gf})
            lines.append(f"| {m} | {s} | {_fmt_gain(g)} | {_fmt_gain(gf)} |")
    ref_s = reference_setting
    lines += ["", f"## Each change's effect on each model: setting − `{ref_s}`, paired", "",
              "| model | setting | held-out UAR gain | synth-field UAR gain |",
              "|---|---|---|---|"]
    for m in models:
        for s in settings:
            if s == ref_s:
                continue
            g = _gain(deep, arm_name(m, s), arm_name(m, ref_s))
            gf = _gain(deep, arm_name(m, s), arm_name(m, ref_s), key="cross")
            out["change_effect"].append({"model": m, "setting": s, "held_out": g,
                                         "field": gf})
            lines.append(f"| {m} | {s} | {_fmt_gain(g)} | {_fmt_gain(gf)} |")
    linear = [r for r in rows if r["arm"].startswith("linear@")]
    if linear:
        lines += ["", "## Linear reference on the same folds and normalisation", "",
                  "Logistic regression on utterance log-mel mean/std, normalised as the deep "
                  "models' input. `baseline` − linear is paired by (fold, seed) at the same "
                  "label fraction (only the fraction the deep models ran at).", "",
                  "| normalisation (setting) | label fraction | n | linear held-out UAR | "
                  "linear synth-field UAR | `baseline` − linear | `full` − linear |",
                  "|---|---|---|---|---|---|---|"]
        for s in settings:
            shared, source = _linear_rows(s, linear)
            for frac in sorted({r["fraction"] for r in linear}):
                mine = [r for r in shared if r["fraction"] == frac]
                if not mine:
                    continue
                at = [{**r, "arm": "linear"} for r in mine]
                gains = {}
                for m in ("baseline", "full"):
                    d = [r for r in deep if r["arm"] == arm_name(m, s)
                         and abs(r["fraction"] - frac) < 1e-9]
                    gains[m] = _gain([*at, *d], arm_name(m, s), "linear") if d else None
                entry = {"setting": s, "fraction": frac, "n": len(mine),
                         "uar_mean": float(np.mean([r["uar"] for r in mine])),
                         "field_uar_mean": float(np.mean([r["cross_uar"][FIELD]
                                                          for r in mine])),
                         "baseline_minus_linear": gains["baseline"],
                         "full_minus_linear": gains["full"]}
                out["linear"].append(entry)
                label = s if source == s else f"{s} (linear of {source})"
                lines.append(f"| {label} | {frac} | {len(mine)} | {entry['uar_mean']:.3f} | "
                             f"{entry['field_uar_mean']:.3f} | {_fmt_gain(gains['baseline'])} "
                             f"| {_fmt_gain(gains['full'])} |")
    return out, "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="classroom")
    parser.add_argument("--name", default="method_screen")
    parser.add_argument("--settings", nargs="+", default=list(DEFAULT_SETTINGS),
                        choices=list(SETTINGS))
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--fraction", type=float, default=0.1)
    parser.add_argument("--baseline-setting", default="both", choices=list(SETTINGS),
                        help="the baseline a setting without its own baseline arm is "
                             "compared with")
    parser.add_argument("--reference-setting", default="today", choices=list(SETTINGS),
                        help="each change's effect on a model is paired against this "
                             "setting of the same model")
    parser.add_argument("--folds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--override", nargs="*", default=[], metavar="SECTION__FIELD=JSON",
                        help="extra overrides for every arm, e.g. train__val_fraction=0.0")
    parser.add_argument("--emotion-corpus", default=None, metavar="SPEC",
                        help="train and test on this corpus instead of synth-emo, e.g. "
                             "ravdess:/tmp/espeak-ravdess (benchmarks/espeak_ravdess.py); "
                             "deep arms only (use with --no-linear)")
    parser.add_argument("--no-linear", action="store_true", help="skip the linear reference")
    parser.add_argument("--no-deep", action="store_true", help="only the linear reference")
    parser.add_argument("--robustness", action="store_true",
                        help="instead of the screen: how much per-speaker normalisation loses "
                             "when a test speaker's statistics come from an unbalanced or "
                             "short sample of their audio (speaker-normalised settings only)")
    parser.add_argument("--from-rows", nargs="+", default=None, metavar="FILE",
                        help="train nothing: summarise the rows of these result JSON or "
                             ".partial.jsonl files")
    parser.add_argument("--skip-done", nargs="+", default=[], metavar="FILE",
                        help="result JSON / .partial.jsonl files whose runs need not be redone")
    args = parser.parse_args()
    extra = {k: json.loads(v) for k, v in (o.split("=", 1) for o in args.override)}
    arms = make_arms(args.settings, args.models, extra)
    if args.emotion_corpus:
        if not args.no_linear:
            parser.error("--emotion-corpus needs --no-linear (the linear reference reads "
                         "synth-emo)")
        for spec in arms.values():
            spec["emotion_corpus"] = args.emotion_corpus

    from sertutor.storage import atomic_write_text

    if args.robustness:
        RESULTS.mkdir(exist_ok=True)
        t0 = time.perf_counter()
        rows = [r for s in args.settings for seed in args.seeds for fold in args.folds
                for r in robustness(args.preset, s, args.models, fraction=args.fraction,
                                    fold=fold, seed=seed, extra=extra)]
        command = ("OMP_NUM_THREADS=1 python benchmarks/method_screen.py "
                   + " ".join(sys.argv[1:]))
        md = (f"# Per-speaker normalisation with less of a test speaker's audio: {args.name}"
              f"\n\nCommand: `{command}`, {time.strftime('%Y-%m-%d')}, CPU, "
              f"{time.perf_counter() - t0:.0f} s.\n\nPreset `{args.preset}`, label fraction "
              f"{args.fraction}, folds {args.folds} × seeds {args.seeds}. Each model is "
              "trained once (training speakers normalised with all their audio); the same "
              "test utterances are then normalised with statistics from all of each test "
              "speaker's audio, from only their angry and neutral takes, or from 3 of their "
              "utterances (shrunk towards the corpus statistics as `speaker_prior_utts` says)."
              "\n\n" + summarise_robustness(rows))
        atomic_write_text(RESULTS / f"{args.name}.json", json.dumps(
            {"name": args.name, "command": command, "rows": rows}, indent=2))
        atomic_write_text(RESULTS / f"{args.name}.md", md)
        print(md)
        return

    def read(path):
        text = Path(path).read_text()
        if str(path).endswith(".jsonl"):
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        return json.loads(text)["rows"]

    RESULTS.mkdir(exist_ok=True)
    t0 = time.perf_counter()
    if args.from_rows:
        unique = {}
        for r in (r for f in args.from_rows for r in read(f)):
            unique.setdefault((r["arm"], r["fraction"], r["fold"], r["seed"]), r)
        # the deep rows at this fraction; the linear reference keeps both of its fractions
        rows = [r for r in unique.values() if r["fold"] in args.folds
                and r["seed"] in args.seeds and (r["arm"].startswith("linear@")
                                                 or abs(r["fraction"] - args.fraction) < 1e-9)]
    else:
        done_rows = [r for f in args.skip_done for r in read(f)]
        done = {(r["arm"], r["fold"], r["seed"]) for r in done_rows}
        rows = [r for r in done_rows if r["arm"] in arms or r["arm"].startswith("linear@")]
        if not args.no_linear:
            for s in args.settings:
                for seed in args.seeds:
                    for fold in args.folds:
                        if (f"linear@{s}", fold, seed) in done:
                            continue
                        new = linear_reference(args.preset, s, fraction=args.fraction,
                                               fold=fold, seed=seed)
                        with open(RESULTS / f"{args.name}.linear.partial.jsonl", "a") as fh:
                            for r in new:
                                print(json.dumps(r), flush=True)
                                fh.write(json.dumps(r) + "\n")
                        rows += new
        if not args.no_deep:
            rows += sweep.run_all(args.preset, arms, fraction=args.fraction, folds=args.folds,
                                  seeds=args.seeds, device=args.device, workers=args.workers,
                                  name=args.name, skip=done, test_corpora=(FIELD,))
    rows.sort(key=lambda r: (r["arm"], r["fraction"], r["fold"], r["seed"]))
    summary, md = summarise(rows, args.settings, args.models, args.fraction,
                            baseline_setting=args.baseline_setting,
                            reference_setting=args.reference_setting)
    seconds = round(time.perf_counter() - t0, 1)
    import torch

    command = "OMP_NUM_THREADS=1 python benchmarks/method_screen.py " + " ".join(sys.argv[1:])
    where = ", ".join(sorted({r.get("device", "?") for r in rows}))
    result = {"name": args.name, "command": command, "date": time.strftime("%Y-%m-%d"),
              "device": where, "preset": args.preset, "fraction": args.fraction,
              "settings": {s: SETTINGS[s] for s in args.settings}, "extra_overrides": extra,
              "folds": args.folds, "seeds": args.seeds, "seconds": seconds,
              "summary": summary, "rows": rows}
    atomic_write_text(RESULTS / f"{args.name}.json", json.dumps(result, indent=2))
    settings_text = "; ".join(f"`{s}`: " + (", ".join(f"{k}={v}" for k, v in o.items()) or
                                            "the preset") for s, o in result["settings"].items())
    head = [f"# Method screen: {args.name}", "",
            f"Command: `{command}`, {result['date']}, {where}, torch {torch.__version__}, "
            + (f"{seconds:.0f} s." if not args.from_rows else
               "summarising earlier rows (their files name the commands)."), "",
            f"Preset `{args.preset}`, label fraction {args.fraction}, folds {args.folds} × "
            f"seeds {args.seeds}. Settings: {settings_text}."
            + (f" Every arm also: {extra}." if extra else ""), "",
            "A screen, not a confirmation: few pairs, and the best of several settings on "
            "the same pairs is biased upwards. Confirm a winner on fresh seeds.", "", ""]
    atomic_write_text(RESULTS / f"{args.name}.md", "\n".join(head) + md)
    if not args.from_rows and not args.no_deep:
        (RESULTS / f"sweep_{args.name}.partial.jsonl").unlink(missing_ok=True)
    if not args.from_rows:
        (RESULTS / f"{args.name}.linear.partial.jsonl").unlink(missing_ok=True)
    print("\n".join(head) + md)


if __name__ == "__main__":
    main()
