"""Which utterance features make emotion linear? Log-mel statistics against prosodic descriptors.

Issue #14's session 20 asks what a decoder should rebuild so that unlabelled audio teaches a
model emotion. This benchmark takes the network out of the question: on the deep models' own
(fold, seed) splits (:func:`method_screen.utterance_split`), logistic regression
(:func:`calibration.classifier`) reads, per utterance,

- ``logmel``: the mean and standard deviation over time of each normalised log-mel band
  (128 numbers; the linear reference of ``method_screen.py``);
- ``prosody``: the 18 eGeMAPS-like descriptors of :mod:`sertutor.features.prosody` (pitch,
  loudness, spectral balance, voicing, tempo), z-scored within each speaker over all of the
  speaker's audio (:func:`sertutor.data.prosody.speaker_prosody`): what
  ``model.decoder_prosody`` asks the decoder to rebuild;
- ``both``: the two side by side.

Each is trained on the labelled utterances of ``--fraction`` and on every training
utterance (``all``). If 18 descriptors separate the emotions better than 128 log-mel
statistics with few labels, codes that carry them need fewer labels too.

    OMP_NUM_THREADS=1 python benchmarks/prosody_linear.py --folds 0 1 2 3 4 --seeds 0 1 2 3

Writes ``benchmarks/results/NAME.json`` and ``NAME.md`` (default NAME ``prosody_linear``).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from calibration import classifier  # noqa: E402  (benchmarks/calibration.py)
from method_screen import FIELD, utterance_split  # noqa: E402
from semi_linear import split_arguments, write_results  # noqa: E402

FEATURES = ("logmel", "prosody", "both")
CORPORA = {"emotion": "synth-emo", FIELD: FIELD}


def descriptor_tables(preset: str) -> dict[str, dict[str, np.ndarray]]:
    """``{"emotion" | FIELD: {utt_id: (18,)}}``, each corpus z-scored within its speakers."""
    from sertutor.config import get_config
    from sertutor.data.prepare import _corpus_features, _feature_cache
    from sertutor.data.prosody import speaker_prosody
    from sertutor.storage import data_dir

    cfg, folder = get_config(preset), data_dir()
    return {role: speaker_prosody(_corpus_features(spec, preset=cfg, features=cfg.features,
                                                   progress=False, data_dir=folder),
                                  cache_dir=_feature_cache(folder))
            for role, spec in CORPORA.items()}


def features_of(split: dict, tables: dict, name: str, feature: str) -> np.ndarray:
    """The ``feature`` matrix of split part ``name``: (n, 128), (n, 18) or (n, 146)."""
    from sertutor.features import PROSODY_NAMES

    ids = split["utt_ids"][name]
    table = tables[FIELD if name == FIELD else "emotion"]
    pros = np.stack([table[u] for u in ids]) if len(ids) else np.zeros((0, len(PROSODY_NAMES)))
    pros = np.nan_to_num(pros)  # an undefined descriptor reads as the speaker's mean
    return {"logmel": split[name][0], "prosody": pros,
            "both": np.hstack([split[name][0], pros])}[feature]


def score(model, split: dict, tables: dict, name: str, feature: str) -> float:
    """UAR of a fitted classifier on split part ``name``."""
    from sklearn.metrics import balanced_accuracy_score

    x = features_of(split, tables, name, feature)
    return float(balanced_accuracy_score(split[name][1], model.predict(x)))


def run(args) -> list[dict]:
    tables = descriptor_tables(args.preset)
    rows = []
    for seed in args.seeds:
        for fold in args.folds:
            split = utterance_split(args.preset, args.setting, fraction=args.fraction,
                                    fold=fold, seed=seed, with_ids=True)
            for feature in FEATURES:
                for train, names in (("fraction", ["labelled"]),
                                     ("all", ["labelled", "unlabelled"])):
                    x_tr = np.concatenate([features_of(split, tables, n, feature)
                                           for n in names])
                    y_tr = np.concatenate([split[n][1] for n in names])
                    model = classifier().fit(x_tr, y_tr)
                    rows.append({"feature": feature, "train": train, "fold": fold,
                                 "seed": seed,
                                 "uar": score(model, split, tables, "test", feature),
                                 "cross_uar": score(model, split, tables, FIELD, feature)})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def paired(rows: list[dict], feature: str, train: str, key: str) -> str:
    """``feature`` − ``logmel`` trained on the same utterances, points, mean ± se (wins/n)."""
    from sertutor.experiments import paired_gains

    mine = [r for r in rows if r["train"] == train]
    g = next(g for g in paired_gains(mine, reference="logmel", key=key, group="feature",
                                     pair=("fold", "seed"), by=()) if g["feature"] == feature)
    return (f"{100 * g['gain_mean']:+.1f} ± {100 * g['gain_se']:.1f} "
            f"({g['wins']}/{g['n']})")


def main() -> None:
    args = split_arguments(__doc__, setting="both_ema", name="prosody_linear").parse_args()
    t0 = time.perf_counter()
    rows = run(args)
    command = "OMP_NUM_THREADS=1 python benchmarks/prosody_linear.py " + " ".join(sys.argv[1:])
    lines = [f"# Log-mel statistics or prosodic descriptors for a linear model: {args.name}",
             "", f"Command: `{command}`, {time.strftime('%Y-%m-%d')}, CPU, "
             f"{time.perf_counter() - t0:.0f} s.", "",
             f"Preset `{args.preset}`, setting `{args.setting}`, label fraction "
             f"{args.fraction}, folds {args.folds} × seeds {args.seeds}: the deep models' "
             "own splits. Logistic regression on each utterance's log-mel statistics "
             "(`logmel`, 128 numbers), its 18 prosodic descriptors z-scored within the "
             "speaker (`prosody`), or both; trained on the labelled utterances (`fraction`) "
             "or on every training utterance (`all`). Gain over `logmel` trained on the same "
             "utterances, paired by (fold, seed), points, mean ± standard error (wins / "
             "pairs).", "",
             "| features | trained on | held-out UAR | gain | synth-field UAR | gain |",
             "|---|---|---|---|---|---|"]
    for train in ("fraction", "all"):
        for feature in FEATURES:
            mine = [r for r in rows if r["feature"] == feature and r["train"] == train]
            gain = "–" if feature == "logmel" else paired(rows, feature, train, "uar")
            cross = "–" if feature == "logmel" else paired(rows, feature, train, "cross_uar")
            lines.append(f"| {feature} | {train} | {np.mean([r['uar'] for r in mine]):.3f} | "
                         f"{gain} | {np.mean([r['cross_uar'] for r in mine]):.3f} | "
                         f"{cross} |")
    write_results(args, command, lines, rows)


if __name__ == "__main__":
    main()
