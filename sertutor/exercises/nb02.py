"""Exercises of ``tutorials/02_supervised_baseline.ipynb``: UAR, WA and reading a confusion."""

from __future__ import annotations

from ._core import Incorrect, call_learner, exercise, expect_number, expect_type

EMOTIONS = ("neutral", "happy", "sad", "angry")

# Confusion matrices the UAR checker feeds the learner's function (rows: true, columns:
# predicted). The last one has a class with no utterance at all (an all-zero row).
_UAR_CASES = (
    [[9, 6, 1, 0], [5, 9, 0, 2], [3, 0, 13, 0], [0, 10, 0, 6]],
    [[80, 0, 0, 0], [10, 0, 0, 0], [5, 0, 0, 0], [5, 0, 0, 0]],  # always "neutral"
    [[50, 3, 7], [2, 8, 0], [1, 1, 3]],  # imbalanced, 3 classes
    [[4, 1, 0, 0], [0, 0, 0, 0], [1, 0, 3, 1], [0, 2, 0, 6]],  # no "happy" utterance
)


def _reference_uar(cm) -> float:
    import numpy as np

    cm = np.asarray(cm, dtype=float)
    support = cm.sum(axis=1)
    present = support > 0
    return float((np.diag(cm)[present] / support[present]).mean())


@exercise(
    "02.uar_from_confusion",
    title="Implement UAR from a confusion matrix",
    hint="Recall of class i = cm[i, i] / cm[i, :].sum() (rows are the true classes); UAR is "
         "the mean of the recalls over the classes that have utterances.",
    solution='''
import numpy as np

def uar_from_confusion(cm):
    cm = np.asarray(cm, dtype=float)            # rows: true class, columns: predicted
    support = cm.sum(axis=1)                    # utterances per true class
    present = support > 0                       # classes absent from the test set don't count
    recall = np.diag(cm)[present] / support[present]
    return float(recall.mean())
''')
def _uar_from_confusion(answer):
    import numpy as np

    for cm in _UAR_CASES:
        arr = np.asarray(cm, dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = call_learner(answer, arr.copy(), what="uar_from_confusion")
        expected = _reference_uar(arr)
        try:
            nan = bool(np.isnan(float(out)))
        except (TypeError, ValueError):
            nan = False
        if nan:
            raise Incorrect(f"For the matrix {cm}, which has a class with no utterance (an "
                            f"all-zero row), you returned nan: 0 / 0 for that class's recall. "
                            f"Leave such classes out of the mean (as sertutor.evaluate.uar "
                            f"does); expected {expected:.4f}.")
        got = expect_number(out, what=f"uar_from_confusion of a {arr.shape[0]}-class matrix")
        if np.isclose(got, expected, atol=1e-9):
            continue
        wa = np.trace(arr) / arr.sum()
        precision = np.diag(arr) / np.where(arr.sum(0) > 0, arr.sum(0), np.nan)
        if np.isclose(got, wa):
            raise Incorrect(f"For the matrix {cm} you returned {got:.4f}: that is the weighted "
                            f"accuracy (trace / total). UAR averages the per-class recalls, "
                            f"so every class counts the same; expected {expected:.4f}.")
        if np.isclose(got, np.nanmean(precision)):
            raise Incorrect(f"For the matrix {cm} you returned {got:.4f}: that is the mean "
                            f"precision (you divided by column sums). Rows are the true "
                            f"classes: recall divides by row sums. Expected {expected:.4f}.")
        with np.errstate(invalid="ignore", divide="ignore"):
            all_rows = np.nan_to_num(np.diag(arr) / arr.sum(1)).mean()
        if np.isclose(got, all_rows):
            raise Incorrect(f"For the matrix {cm}, which has a class with no utterance (an "
                            f"all-zero row), you returned {got}. Leave such classes out of the "
                            f"mean (as sertutor.evaluate.uar does); expected {expected:.4f}.")
        raise Incorrect(f"For the matrix {cm} you returned {got:.4f}; expected {expected:.4f} "
                        f"(the mean over classes of cm[i, i] / cm[i, :].sum()).")
    return ("Your function agrees with sertutor.evaluate.uar on four matrices, including one "
            "where always answering 'neutral' has WA 0.80 but UAR 0.25.")


@exercise(
    "02.chance_uar",
    title="UAR and WA of a classifier that always answers 'neutral'",
    hint="Recall of neutral is 1, recall of every other class is 0; WA counts utterances.",
    solution='''
# 80 neutral, 10 happy, 5 sad, 5 angry; the classifier always says "neutral"
answer_chance = {"wa": 80 / 100, "uar": (1 + 0 + 0 + 0) / 4}   # {"wa": 0.8, "uar": 0.25}
''')
def _chance_uar(answer):
    import collections.abc

    if not isinstance(answer, collections.abc.Mapping):
        raise Incorrect(f"Expected a dict {{'wa': ..., 'uar': ...}}, got {type(answer).__name__}.")
    missing = {"wa", "uar"} - set(answer)
    if missing:
        raise Incorrect(f"Your dict lacks the key(s) {sorted(missing)}; give both 'wa' and "
                        f"'uar'.")
    wa = expect_number(answer["wa"], what="the WA")
    u = expect_number(answer["uar"], what="the UAR")
    if abs(wa - 0.25) < 1e-6 and abs(u - 0.8) < 1e-6:
        raise Incorrect("You swapped them: WA (plain accuracy) is 80/100 = 0.8, UAR (mean "
                        "recall over the 4 classes) is 0.25.")
    if abs(wa - 0.8) > 1e-6:
        raise Incorrect(f"WA: you gave {wa:.4g}. WA is the share of utterances classified "
                        f"correctly: the 80 neutral ones of 100, so 0.8.")
    if abs(u - 0.25) > 1e-6:
        raise Incorrect(f"UAR: you gave {u:.4g}. Recalls are neutral 1, happy 0, sad 0, angry "
                        f"0; their mean is 0.25 = 1/K, the chance level, whatever the class "
                        f"sizes.")
    return ("A useless classifier scores WA 0.80 on this imbalanced set but UAR 0.25: that is "
            "why SER papers report UAR.")


@exercise(
    "02.most_confused",
    title="Which emotion is most often mistaken for which?",
    hint="Ignore the diagonal (correct answers) and find the largest count; rows are the true "
         "emotions, columns the predictions. The matrix is "
         "sertutor.pretrained.recorded_metrics('classroom')['confusion'].",
    solution='''
import numpy as np
from sertutor import pretrained

rec = pretrained.recorded_metrics("classroom")
cm = np.array(rec["confusion"])
np.fill_diagonal(cm, 0)                                   # only the mistakes
i, j = np.unravel_index(cm.argmax(), cm.shape)
answer_confused = (rec["labels"][i], rec["labels"][j])    # (true, predicted) = ("angry", "happy")
''')
def _most_confused(answer):
    import numpy as np

    # deferred: torch, only when this check runs (grading start-up)
    from .. import pretrained

    rec = pretrained.recorded_metrics("classroom")
    labels = list(rec["labels"])
    cm = np.array(rec["confusion"])
    off = cm.copy()
    np.fill_diagonal(off, 0)
    i, j = np.unravel_index(off.argmax(), off.shape)
    expected = (labels[i], labels[j])
    if isinstance(answer, str) or not isinstance(answer, (tuple, list)) or len(answer) != 2:
        raise Incorrect(f"Expected a pair (true emotion, predicted emotion) such as "
                        f"('sad', 'neutral'), got {answer!r}.")
    expect_type(answer[0], str, what="the true emotion")
    expect_type(answer[1], str, what="the predicted emotion")
    got = (answer[0].strip().lower(), answer[1].strip().lower())
    for name in got:
        if name not in labels:
            raise Incorrect(f"{name!r} is not one of the classes {labels}.")
    if got == expected:
        return (f"{cm[i, j]} of the {cm[i].sum()} {expected[0]} test utterances were called "
                f"{expected[1]}. Both are high-arousal emotions (loud, fast, high F0): the "
                f"model hears arousal well and valence poorly, as SER models of real speech do.")
    if got == expected[::-1]:
        raise Incorrect(f"Right pair, wrong direction: rows are the true emotions. "
                        f"{got[0]} -> {got[1]} happened "
                        f"{cm[labels.index(got[0]), labels.index(got[1])]} "
                        f"times; the other way round more often.")
    if got[0] == got[1]:
        raise Incorrect("That is a diagonal cell: correct predictions, not a confusion.")
    count = cm[labels.index(got[0]), labels.index(got[1])]
    raise Incorrect(f"{got[0]} -> {got[1]} happened {count} times; another off-diagonal cell "
                    f"is larger (its count is {off.max()}).")
