"""Is the synthetic data as hard as it should be? A simple speaker-independent baseline.

Features: per utterance, the mean and standard deviation over time of a log-mel spectrogram
(librosa, 25 ms window, 10 ms hop, 64 mel bands, dB): 128 numbers. Classifier: standardise +
multinomial logistic regression (scikit-learn). Targets the synthesis is tuned to:

- ``synth-emo`` 4-class UAR, leave-one-speaker-out: between chance and perfect, 55-80 %;
- ``synth-field`` UAR of a model trained on all of ``synth-emo`` (each corpus standardised
  with its own statistics): lower than the within-corpus UAR;
- ``synth-aux`` gender accuracy (5-fold GroupKFold by speaker): > 90 %;
- ``synth-aux`` speaker identification (half of each speaker's utterances to train, half to
  test): well above chance (1 / n_speakers).

Writes ``benchmarks/results/calibration.md`` and ``calibration.json``.

    OMP_NUM_THREADS=1 python benchmarks/calibration.py [--preset classroom] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sklearn.linear_model import LogisticRegression, Ridge  # noqa: E402
from sklearn.metrics import balanced_accuracy_score, confusion_matrix  # noqa: E402
from sklearn.model_selection import GroupKFold, LeaveOneGroupOut  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from sertutor.config import get_config  # noqa: E402
from sertutor.data.manifest import EMOTIONS, EMOTIONS_EXTENDED  # noqa: E402
from sertutor.data.synth import generate_corpus  # noqa: E402


def logmel_stats(audio: np.ndarray, sr: int = 16000) -> np.ndarray:
    """Mean and SD over time of a 64-band log-mel spectrogram (25 ms / 10 ms): shape (128,)."""
    import librosa

    mel = librosa.feature.melspectrogram(y=audio.astype(np.float32), sr=sr, n_fft=512,
                                         win_length=400, hop_length=160, n_mels=64)
    db = librosa.power_to_db(mel, ref=1.0, top_db=None)  # absolute level is information
    return np.concatenate([db.mean(axis=1), db.std(axis=1)])


def features(df) -> np.ndarray:
    return np.stack([logmel_stats(a) for a in df.audio])


def classifier(c: float = 0.1):
    return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=3000))


def ccc(x: np.ndarray, y: np.ndarray) -> float:
    mx, my = x.mean(), y.mean()
    cov = np.mean((x - mx) * (y - my))
    return float(2 * cov / (x.var() + y.var() + (mx - my) ** 2))


def loso_predict(x, y, groups, c=0.1):
    pred = np.empty_like(y)
    for tr, te in LeaveOneGroupOut().split(x, y, groups):
        pred[te] = classifier(c).fit(x[tr], y[tr]).predict(x[te])
    return pred


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="classroom")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    ap.add_argument("--c", type=float, default=0.1, help="inverse L2 strength of the LR")
    ap.add_argument("--other-seeds", default="1,2",
                    help="extra SynthConfig seeds for the emotion UARs (robustness; '' for none)")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    data, gen_s = {}, {}
    for name in ("synth-emo", "synth-field", "synth-aux"):
        t = time.perf_counter()
        df = generate_corpus(name, preset=args.preset)
        gen_s[name] = time.perf_counter() - t
        data[name] = (df, features(df))
        print(f"{name}: {len(df)} utterances, generated in {gen_s[name]:.1f} s", flush=True)
    res: dict = {"preset": args.preset, "generation_s": gen_s}

    # --- synth-emo: speaker-independent 4-class and 8-class ------------------------------
    emo, xe = data["synth-emo"]
    core = (emo.emotion != "").to_numpy()
    y4 = emo.emotion[core].to_numpy()
    g4 = emo.speaker[core].to_numpy()
    p4 = loso_predict(xe[core], y4, g4, args.c)
    res["emo_uar_4class_loso"] = balanced_accuracy_score(y4, p4)
    res["emo_confusion_4class"] = confusion_matrix(y4, p4, labels=list(EMOTIONS)).tolist()
    per_spk = {s: balanced_accuracy_score(y4[g4 == s], p4[g4 == s]) for s in np.unique(g4)}
    res["emo_uar_4class_per_speaker"] = per_spk
    y8 = emo.emotion_extended.to_numpy()
    p8 = loso_predict(xe, y8, emo.speaker.to_numpy(), args.c)
    res["emo_uar_8class_loso"] = balanced_accuracy_score(y8, p8)
    res["emo_confusion_8class"] = confusion_matrix(y8, p8, labels=list(EMOTIONS_EXTENDED)).tolist()
    # arousal / valence regression (ridge, LOSO), CCC
    for dim in ("arousal", "valence"):
        yd = emo[dim].to_numpy()
        pd_ = np.empty_like(yd)
        for tr, te in LeaveOneGroupOut().split(xe, yd, emo.speaker):
            pd_[te] = make_pipeline(StandardScaler(), Ridge(alpha=30.0)).fit(
                xe[tr], yd[tr]).predict(xe[te])
        res[f"emo_{dim}_ccc_loso"] = ccc(yd, pd_)

    # --- cross-corpus: train on synth-emo, test on synth-field -----------------------------
    field, xf = data["synth-field"]
    yf = field.emotion.to_numpy()
    xe_n = StandardScaler().fit_transform(xe[core])  # per-corpus normalisation
    xf_n = StandardScaler().fit_transform(xf)
    model = LogisticRegression(C=args.c, max_iter=3000).fit(xe_n, y4)
    pf = model.predict(xf_n)
    res["field_uar_cross_corpus"] = balanced_accuracy_score(yf, pf)
    res["field_confusion_cross_corpus"] = confusion_matrix(yf, pf, labels=list(EMOTIONS)).tolist()
    res["field_uar_within_loso"] = balanced_accuracy_score(
        yf, loso_predict(xf, yf, field.speaker.to_numpy(), args.c))

    # --- synth-aux: gender and speaker -----------------------------------------------------
    aux, xa = data["synth-aux"]
    ga = aux.gender.to_numpy()
    spk = aux.speaker.to_numpy()
    pg = np.empty_like(ga)
    for tr, te in GroupKFold(n_splits=5).split(xa, ga, spk):
        pg[te] = classifier(args.c).fit(xa[tr], ga[tr]).predict(xa[te])
    res["aux_gender_acc_groupkfold"] = float(np.mean(pg == ga))
    rep = aux.groupby("speaker").cumcount().to_numpy()
    tr, te = rep % 2 == 0, rep % 2 == 1
    ps = classifier(1.0).fit(xa[tr], spk[tr]).predict(xa[te])
    res["aux_speaker_acc_half_split"] = float(np.mean(ps == spk[te]))
    res["aux_speaker_chance"] = 1.0 / len(np.unique(spk))

    # --- other master seeds: are the emotion numbers robust to the draw of speakers? -------
    res["seeds"] = {int(get_config(args.preset).synth.seed): {
        "emo_uar": res["emo_uar_4class_loso"], "field_uar": res["field_uar_cross_corpus"]}}
    for seed in [int(s) for s in args.other_seeds.split(",") if s.strip()]:
        cfg = get_config(args.preset, synth__seed=seed)
        e = generate_corpus("synth-emo", preset=cfg)
        e = e[e.emotion != ""].reset_index(drop=True)
        f = generate_corpus("synth-field", preset=cfg)
        xe_s, xf_s = features(e), features(f)
        ye = e.emotion.to_numpy()
        uar = balanced_accuracy_score(ye, loso_predict(xe_s, ye, e.speaker.to_numpy(), args.c))
        m = LogisticRegression(C=args.c, max_iter=3000).fit(
            StandardScaler().fit_transform(xe_s), ye)
        fu = balanced_accuracy_score(f.emotion, m.predict(StandardScaler().fit_transform(xf_s)))
        res["seeds"][seed] = {"emo_uar": uar, "field_uar": fu}
        print(f"seed {seed}: emo UAR {uar:.3f}, field UAR {fu:.3f}", flush=True)
    res["total_s"] = time.perf_counter() - t0

    cmd = "OMP_NUM_THREADS=1 python benchmarks/calibration.py" + (
        f" --preset {args.preset}" if args.preset != "classroom" else "")
    args.out.mkdir(parents=True, exist_ok=True)
    stem = "calibration" if args.preset == "classroom" else f"calibration-{args.preset}"
    (args.out / f"{stem}.json").write_text(json.dumps(res, indent=2, default=float) + "\n")
    (args.out / f"{stem}.md").write_text(report(res, cmd, data))
    print(report(res, cmd, data))
    return 0


def _cm(cm, labels) -> str:
    head = "| true \\ predicted | " + " | ".join(labels) + " |\n"
    head += "|---|" + "---:|" * len(labels) + "\n"
    return head + "".join(f"| {lab} | " + " | ".join(str(v) for v in row) + " |\n"
                          for lab, row in zip(labels, cm))


def report(res: dict, cmd: str, data: dict) -> str:
    def pct(v):
        return f"{100 * v:.1f} %"

    n = {k: len(v[0]) for k, v in data.items()}
    spk = {k: v[0].speaker.nunique() for k, v in data.items()}
    ok = {
        "emo": 0.55 <= res["emo_uar_4class_loso"] <= 0.80,
        "field": res["field_uar_cross_corpus"] < res["emo_uar_4class_loso"],
        "gender": res["aux_gender_acc_groupkfold"] > 0.90,
        "speaker": res["aux_speaker_acc_half_split"] > 10 * res["aux_speaker_chance"],
    }
    mark = {True: "yes", False: "**NO**"}
    lines = [
        "# Calibration of the synthetic corpora",
        "",
        f"Command: `{cmd}`",
        "",
        f"Preset `{res['preset']}`: synth-emo {n['synth-emo']} utterances / {spk['synth-emo']} "
        f"speakers, synth-field {n['synth-field']} / {spk['synth-field']}, synth-aux "
        f"{n['synth-aux']} / {spk['synth-aux']}. Generation (in memory, 1 thread): "
        + ", ".join(f"{k} {v:.1f} s" for k, v in res["generation_s"].items())
        + f"; whole script {res['total_s']:.0f} s.",
        "",
        "Baseline: per-utterance mean and SD of a 64-band log-mel spectrogram (librosa, 25 ms / "
        "10 ms, dB), standardised, multinomial logistic regression (C = 0.1; C = 1 for the "
        "120-way speaker task). Speaker-independent: leave-one-speaker-out for emotion, "
        "GroupKFold(5) by speaker for gender. Cross-corpus: trained on all synth-emo 4-class "
        "utterances, each corpus standardised with its own statistics, tested on synth-field.",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs (shared); "
        f"Python {platform.python_version()}.",
        "",
        "| measure | value | target | met |",
        "|---|---:|---|---|",
        f"| synth-emo 4-class UAR (LOSO) | {pct(res['emo_uar_4class_loso'])} | 55-80 % "
        f"| {mark[ok['emo']]} |",
        f"| synth-field UAR, trained on synth-emo | {pct(res['field_uar_cross_corpus'])} | "
        f"< synth-emo UAR | {mark[ok['field']]} |",
        f"| synth-aux gender accuracy (GroupKFold) | {pct(res['aux_gender_acc_groupkfold'])} | "
        f"> 90 % | {mark[ok['gender']]} |",
        f"| synth-aux speaker accuracy (half split) | {pct(res['aux_speaker_acc_half_split'])} | "
        f"well above chance ({pct(res['aux_speaker_chance'])}) | {mark[ok['speaker']]} |",
        f"| synth-emo 8-class UAR (LOSO), for reference | {pct(res['emo_uar_8class_loso'])} | "
        "chance 12.5 % | |",
        f"| synth-field 4-class UAR within the corpus (LOSO), for reference | "
        f"{pct(res['field_uar_within_loso'])} | | |",
        f"| synth-emo arousal CCC (ridge, LOSO), for reference | {res['emo_arousal_ccc_loso']:.2f}"
        " | | |",
        f"| synth-emo valence CCC (ridge, LOSO), for reference | {res['emo_valence_ccc_loso']:.2f}"
        " | | |",
        "",
        "The same two emotion measures for other master seeds (`SynthConfig.seed`: other "
        "speakers, texts and recordings), to show the calibration is not one lucky draw:",
        "",
        "| seed | synth-emo 4-class UAR (LOSO) | synth-field UAR (cross-corpus) |",
        "|---:|---:|---:|",
        *[f"| {k} | {pct(v['emo_uar'])} | {pct(v['field_uar'])} |"
          for k, v in res["seeds"].items()],
        "",
        "Per-speaker 4-class UAR on synth-emo (expressiveness differs by speaker): "
        + ", ".join(f"{k} {100 * v:.0f}" for k, v in res["emo_uar_4class_per_speaker"].items())
        + ".",
        "",
        "synth-emo 4-class confusion (LOSO, counts):",
        "",
        _cm(res["emo_confusion_4class"], EMOTIONS),
        "synth-field confusion (trained on synth-emo, counts):",
        "",
        _cm(res["field_confusion_cross_corpus"], EMOTIONS),
        "synth-emo 8-class confusion (LOSO, counts):",
        "",
        _cm(res["emo_confusion_8class"], EMOTIONS_EXTENDED),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
