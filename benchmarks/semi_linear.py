"""Is there structure in the unlabelled audio that *any* semi-supervised learner can use?

Issue #14 asks why the AAE (and FixMatch) gain nothing from the unlabelled emotion audio at
10 % labels. This benchmark takes the deep models out of the question: on the same (fold,
seed) splits and the same normalisation as the deep models (:func:`method_screen.
utterance_split`), it compares, on utterance statistics (mean and std over time of each
normalised mel band):

- ``lr``: logistic regression on the labelled utterances only (the linear reference of
  ``method_screen.py``);
- ``self_training``: the same classifier, self-trained on the unlabelled utterances
  (:class:`sklearn.semi_supervised.SelfTrainingClassifier`: predictions with probability
  >= ``--threshold`` become labels, repeatedly; Yarowsky 1995);
- ``label_spreading``: graph-based label propagation over the labelled and unlabelled
  utterances (:class:`sklearn.semi_supervised.LabelSpreading`, k-nearest-neighbour graph on
  standardised statistics; Zhou et al. 2004), the textbook method under the cluster and
  manifold assumptions;
- ``lr_all``: logistic regression with every training utterance labelled (the ceiling the
  unlabelled audio could at most lift ``lr`` to).

If the classical learners gain nothing either, the unlabelled utterances do not form
emotion clusters a learner could follow, and the deep models' lack of gain is the data's,
not (only) the recipe's.

    OMP_NUM_THREADS=1 python benchmarks/semi_linear.py --folds 0 1 2 3 4 --seeds 0 1 2 3

Writes ``benchmarks/results/NAME.json`` and ``NAME.md`` (default NAME ``semi_linear``).
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

from calibration import classifier  # noqa: E402  (benchmarks/calibration.py)
from method_screen import FIELD, SETTINGS, utterance_split  # noqa: E402

RESULTS = HERE / "results"
METHODS = ("lr", "self_training", "label_spreading", "lr_all")


def fit_predict(method: str, split: dict, *, threshold: float, neighbours: int
                ) -> dict[str, np.ndarray]:
    """Train ``method`` on ``split`` (:func:`utterance_split`); predicted emotion names of the
    test and cross-corpus utterances."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.semi_supervised import LabelSpreading, SelfTrainingClassifier

    (x_lab, y_lab), (x_unl, y_unl) = split["labelled"], split["unlabelled"]
    names = np.unique(np.concatenate([y_lab, y_unl]))  # class index -> name
    code = {n: i for i, n in enumerate(names)}
    if method == "lr":
        model = classifier().fit(x_lab, y_lab)
    elif method == "lr_all":
        model = classifier().fit(np.concatenate([x_lab, x_unl]), np.concatenate([y_lab, y_unl]))
    else:
        x = np.concatenate([x_lab, x_unl])  # (n_lab + n_unl, D)
        # the unlabelled rows are -1: their true names are never read
        y = np.concatenate([[code[n] for n in y_lab], np.full(len(x_unl), -1)]).astype(int)
        if method == "self_training":
            model = SelfTrainingClassifier(classifier(), threshold=threshold).fit(x, y)
        elif method == "label_spreading":
            model = make_pipeline(StandardScaler(), LabelSpreading(
                kernel="knn", n_neighbors=neighbours, max_iter=200)).fit(x, y)
        else:
            raise ValueError(f"unknown method {method!r}; choose one of {METHODS}")
    out = {}
    for part in ("test", FIELD):
        pred = model.predict(split[part][0])
        out[part] = names[pred] if pred.dtype.kind in "iu" else pred
    return out


def run(args) -> list[dict]:
    from sklearn.metrics import balanced_accuracy_score

    rows = []
    for seed in args.seeds:
        for fold in args.folds:
            split = utterance_split(args.preset, args.setting, fraction=args.fraction,
                                    fold=fold, seed=seed)
            for method in METHODS:
                pred = fit_predict(method, split, threshold=args.threshold,
                                   neighbours=args.neighbours)
                rows.append({"method": method, "fold": fold, "seed": seed,
                             "uar": float(balanced_accuracy_score(split["test"][1],
                                                                  pred["test"])),
                             "cross_uar": float(balanced_accuracy_score(split[FIELD][1],
                                                                        pred[FIELD])),
                             "n_labelled": len(split["labelled"][1]),
                             "n_unlabelled": len(split["unlabelled"][1])})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def paired(rows: list[dict], method: str, key: str) -> str:
    """``method`` − ``lr``, mean ± standard error in UAR points (wins / pairs)."""
    from sertutor.experiments import paired_gains

    g = next(g for g in paired_gains(rows, reference="lr", key=key, group="method",
                                     pair=("fold", "seed"), by=()) if g["method"] == method)
    return (f"{100 * g['gain_mean']:+.1f} ± {100 * g['gain_se']:.1f} "
            f"({g['wins']}/{g['n']})")


def split_arguments(doc: str, *, setting: str, name: str) -> argparse.ArgumentParser:
    """The options of a benchmark over the deep models' (fold, seed) splits: ``--preset``,
    ``--setting``, ``--fraction``, ``--folds``, ``--seeds`` and ``--name``."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--preset", default="classroom")
    parser.add_argument("--setting", default=setting, choices=list(SETTINGS))
    parser.add_argument("--fraction", type=float, default=0.1)
    parser.add_argument("--folds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    parser.add_argument("--name", default=name)
    return parser


def write_results(args, command: str, lines: list[str], rows: list[dict]) -> None:
    """Write ``results/NAME.md`` (``lines``) and ``NAME.json`` (command, args, rows)
    atomically, and print the summary."""
    from sertutor.storage import atomic_write_text

    RESULTS.mkdir(exist_ok=True)
    atomic_write_text(RESULTS / f"{args.name}.md", "\n".join(lines) + "\n")
    atomic_write_text(RESULTS / f"{args.name}.json",
                      json.dumps({"command": command, "args": vars(args), "rows": rows},
                                 indent=1))
    print("\n".join(lines))


def main() -> None:
    parser = split_arguments(__doc__, setting="both", name="semi_linear")
    parser.add_argument("--threshold", type=float, default=0.8,
                        help="self-training: probability a prediction needs to become a label")
    parser.add_argument("--neighbours", type=int, default=7,
                        help="label spreading: neighbours in the k-NN graph")
    args = parser.parse_args()
    t0 = time.perf_counter()
    rows = run(args)
    command = "OMP_NUM_THREADS=1 python benchmarks/semi_linear.py " + " ".join(sys.argv[1:])
    n_lab = np.mean([r["n_labelled"] for r in rows])
    n_unl = np.mean([r["n_unlabelled"] for r in rows])
    lines = [f"# Classical semi-supervised learners on utterance statistics: {args.name}", "",
             f"Command: `{command}`, {time.strftime('%Y-%m-%d')}, CPU, "
             f"{time.perf_counter() - t0:.0f} s.", "",
             f"Preset `{args.preset}`, setting `{args.setting}` "
             f"({SETTINGS[args.setting]}), label fraction {args.fraction}: on average "
             f"{n_lab:.0f} labelled and {n_unl:.0f} unlabelled training utterances; folds "
             f"{args.folds} × seeds {args.seeds}, the deep models' own splits. Self-training "
             f"threshold {args.threshold}, label-spreading graph of {args.neighbours} "
             "neighbours.", "",
             "UAR mean over the pairs; gain over `lr` (labelled utterances only) paired by "
             "(fold, seed), points, mean ± standard error (wins / pairs).", "",
             "| method | held-out UAR | gain | synth-field UAR | gain |",
             "|---|---|---|---|---|"]
    for m in METHODS:
        mine = [r for r in rows if r["method"] == m]
        gain = "–" if m == "lr" else paired(rows, m, "uar")
        cross = "–" if m == "lr" else paired(rows, m, "cross_uar")
        lines.append(f"| {m} | {np.mean([r['uar'] for r in mine]):.3f} | {gain} | "
                     f"{np.mean([r['cross_uar'] for r in mine]):.3f} | {cross} |")
    write_results(args, command, lines, rows)


if __name__ == "__main__":
    main()
